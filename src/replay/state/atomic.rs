//! Writing a state file whole or not at all: the bytes go to a temporary file beside the target,
//! are synced, and the temporary file is renamed over the target, then the directory is synced.
//! A run killed at any point leaves either the previous file or the new one, never a mixture. A
//! run killed while saving leaves its temporary file, named after the state
//! (`.<name>.meterflow-save-XXXXXX`), so that the next run holding the state's lock removes it.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::Path;

use crate::output::file::{folder, sync_folder};

/// Replaces `path` with `bytes` atomically.
pub(crate) fn save(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = folder(path);
    let mut temp = tempfile::Builder::new().prefix(&temp_prefix(path)).tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    sync_folder(dir)
}

/// Removes the temporary files that runs killed while saving `path` left; to be called with the
/// state's lock held, when no save of it can be under way. Returns how many were removed.
pub(crate) fn remove_stale(path: &Path) -> io::Result<usize> {
    let prefix = temp_prefix(path);
    let mut removed = 0;
    for entry in std::fs::read_dir(folder(path))? {
        let entry = entry?;
        if entry.file_name().as_encoded_bytes().starts_with(prefix.as_encoded_bytes()) {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// `.<name>.meterflow-save-`: hidden, and told apart from the temporary files of other states.
fn temp_prefix(path: &Path) -> OsString {
    let mut prefix = OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".meterflow-save-");
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_file_and_leaves_nothing_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("day.state");
        save(&path, b"first").unwrap();
        save(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(entries(dir.path()), ["day.state"]);
    }

    #[test]
    fn stale_temporary_files_of_this_state_are_removed_and_no_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("day.state");
        save(&path, b"kept").unwrap();
        for name in [".day.state.meterflow-save-a1", ".day.state.meterflow-save-b2", ".other.state.meterflow-save-c3"] {
            std::fs::write(dir.path().join(name), b"half").unwrap();
        }
        assert_eq!(remove_stale(&path).unwrap(), 2);
        assert_eq!(entries(dir.path()), [".other.state.meterflow-save-c3", "day.state"]);
    }

    #[test]
    fn a_failed_save_keeps_the_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("day.state");
        save(&path, b"kept").unwrap();
        // A directory in the target's place makes the rename fail after the data was written.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("inside"), b"x").unwrap();
        assert!(save(&blocked, b"new").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"kept");
        assert_eq!(entries(dir.path()), ["blocked", "day.state"]);
    }
}

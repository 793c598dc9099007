//! Output files that are complete under their own names: each is written as `<name>.partial`,
//! created fresh without following a link (an existing `.partial`, a leftover or a planted link,
//! is removed first, so nothing is ever written through it), and renamed over `<name>` only once
//! complete, so the previous file stays in place until then.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// `<path>.partial`.
pub(crate) fn partial_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".partial");
    PathBuf::from(name)
}

/// Creates `partial` as a new file: whatever is under that name (a file, a symbolic or hard link)
/// is removed, and the file is created only if the name is still free, never through a link.
pub(crate) fn create_partial(partial: &Path) -> io::Result<File> {
    match fs::remove_file(partial) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let no_follow = i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits()).unwrap_or_default();
    OpenOptions::new().write(true).create_new(true).custom_flags(no_follow).open(partial)
}

/// Gives `partial` its own name `path`, replacing the previous file of that name in one step.
pub(crate) fn commit(partial: &Path, path: &Path) -> io::Result<()> {
    fs::rename(partial, path)
}

/// Writes `bytes` to `path` as a whole: under its `.partial` name, then renamed. A path that is
/// not a plain file (a device, a FIFO, a symbolic link) is written in place, never replaced.
pub(crate) fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if !plain_file_or_absent(path) {
        return fs::write(path, bytes);
    }
    let partial = partial_name(path);
    let mut file = create_partial(&partial)?;
    file.write_all(bytes)?;
    drop(file);
    commit(&partial, path)
}

/// Whether `path` is a plain file or nothing yet: what may be written aside and renamed over.
pub(crate) fn plain_file_or_absent(path: &Path) -> bool {
    match fs::symlink_metadata(path) {
        Ok(meta) => meta.file_type().is_file(),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_link_is_replaced_and_its_target_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("input.csv");
        fs::write(&target, "keep\n").unwrap();
        let out = dir.path().join("out.csv");
        let partial = partial_name(&out);
        std::os::unix::fs::symlink(&target, &partial).unwrap();
        create_partial(&partial).unwrap().write_all(b"new\n").unwrap();
        assert!(!fs::symlink_metadata(&partial).unwrap().file_type().is_symlink());
        fs::remove_file(&partial).unwrap();
        fs::hard_link(&target, &partial).unwrap();
        create_partial(&partial).unwrap().write_all(b"new\n").unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep\n");
    }

    #[test]
    fn the_previous_file_stays_until_the_new_one_is_whole() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.svg");
        fs::write(&out, "old").unwrap();
        let partial = partial_name(&out);
        let mut file = create_partial(&partial).unwrap();
        file.write_all(b"new").unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), "old");
        commit(&partial, &out).unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), "new");
        write_whole(&out, b"newer").unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), "newer");
        assert!(!partial.exists());
    }
}

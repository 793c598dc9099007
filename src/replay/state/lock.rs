//! One run at a time on a state file: an advisory lock (`flock`) on the file itself, held from
//! before it is read until the run ends, so a second run on the same state is refused instead of
//! reading the same state and saving over the first run's. A save replaces the file by a rename, so
//! the lock is taken on the file the name holds and checked to be still that file once taken. A
//! state that does not exist yet is created empty to hold the lock: an empty file is a state no
//! run has saved, and a run that does not save removes the empty file it created.

use super::atomic;
use rustix::fs::{FlockOperation, flock};
use std::cell::Cell;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A state file locked for this run.
pub(crate) struct Locked {
    file: File,
    path: PathBuf,
    /// This run created the file empty to lock it.
    created: bool,
    saved: Cell<bool>,
}

/// Why a state file could not be locked.
#[derive(Debug)]
pub(crate) enum LockError {
    /// Another run holds it.
    Busy,
    Io(io::Error),
}

impl Locked {
    /// Locks `path`, creating it empty when it does not exist, removes what runs killed while
    /// saving it left, and reads it (empty: no state saved yet).
    pub(crate) fn take(path: &Path) -> Result<(Locked, Vec<u8>), LockError> {
        loop {
            let (mut file, created) = match OpenOptions::new().read(true).write(true).create_new(true).open(path) {
                Ok(file) => (file, true),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match File::open(path) {
                    Ok(file) => (file, false),
                    // Removed in between: create it again.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(LockError::Io(e)),
                },
                Err(e) => return Err(LockError::Io(e)),
            };
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => return Err(LockError::Busy),
                Err(e) => return Err(LockError::Io(e.into())),
            }
            // A run that saved between the open and the lock replaced the file: lock the new one.
            if !is_at(&file, path) {
                continue;
            }
            atomic::remove_stale(path).map_err(LockError::Io)?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).map_err(LockError::Io)?;
            return Ok((Locked { file, path: path.to_path_buf(), created, saved: Cell::new(false) }, bytes));
        }
    }

    /// The state was saved: the file this run created, if it did, is now a state.
    pub(crate) fn saved(&self) {
        self.saved.set(true);
    }
}

impl Drop for Locked {
    /// The empty file a run created to lock a new state goes when that run saved nothing: the
    /// lock is still held, so no other run uses it yet.
    fn drop(&mut self) {
        if self.created && !self.saved.get() && is_at(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Whether `path` names the file `file` is open on.
fn is_at(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_a_new_state_left_unsaved_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state");
        let (first, bytes) = Locked::take(&path).unwrap();
        assert!(bytes.is_empty());
        assert!(matches!(Locked::take(&path), Err(LockError::Busy)));
        drop(first);
        assert!(!path.exists(), "the empty file made to hold the lock is gone");
        fs::write(&path, b"saved").unwrap();
        let (second, bytes) = Locked::take(&path).unwrap();
        assert_eq!(bytes, b"saved");
        drop(second);
        assert_eq!(fs::read(&path).unwrap(), b"saved", "a state this run did not create stays");
    }

    #[test]
    fn a_state_replaced_by_a_save_is_locked_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state");
        fs::write(&path, b"one").unwrap();
        let (first, _) = Locked::take(&path).unwrap();
        atomic::save(&path, b"two").unwrap();
        first.saved();
        // The first run still holds the lock of the file it replaced; the new file is free.
        let (second, bytes) = Locked::take(&path).unwrap();
        assert_eq!(bytes, b"two");
        assert!(matches!(Locked::take(&path), Err(LockError::Busy)));
        drop((first, second));
    }
}

//! Output files that are complete under their own names: each is written as `<name>.partial`,
//! created fresh without following a link (an existing `.partial`, a leftover or a planted link,
//! is removed first, so nothing is ever written through it), and renamed over `<name>` only once
//! complete, so the previous file stays in place until then. A file that will replace another
//! has its writing to disk started as it grows (see [`Replacing`]).

use rustix::fs::{Advice, fadvise};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::num::NonZeroU64;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Bytes of a [`Replacing`] file whose writing to disk is started at once.
const SETTLE_BYTES: u64 = 8 << 20;
/// `statfs`'s file system type of ext2, ext3 and ext4.
const EXT4_SUPER_MAGIC: i128 = 0xEF53;

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

/// The folder holding `path` (`.` for a bare name).
pub(crate) fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a rename in `dir` durable: without it a power loss may bring back the old name.
#[cfg(unix)]
pub(crate) fn sync_folder(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
pub(crate) fn sync_folder(_dir: &Path) -> io::Result<()> {
    Ok(())
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

/// A `.partial` file that will be renamed over an existing file, with the kernel's writing to
/// disk started for every 8 MiB as soon as they are written (`posix_fadvise` with `DONTNEED`:
/// it starts the writeback of the range's dirty pages, then drops only pages already clean, and
/// the pages of a range just written are dirty or being written). Renaming over an existing
/// file on ext4 (its default `auto_da_alloc`) allocates and starts writing every dirty page of
/// the new file inside the `rename`, and the replaced file's pages still being written are waited
/// for there too: about 35 ms for the seed pipeline's 36 MB output when the previous run's output
/// was written a moment before, all of it after the last row, on the run's critical path. Started
/// as the file grows, that work runs on the thread writing it while the jobs still run, and the
/// file has mostly reached the disk when the next run replaces it. A file that replaces nothing
/// is left to the kernel's own timing, as before: the `rename` then starts nothing; so is a file
/// on another file system (see [`written_at_rename`]).
pub(crate) struct Replacing {
    file: File,
    written: u64,
    /// Bytes from the start whose writing has been started.
    settled: u64,
}

impl Replacing {
    pub(crate) fn new(file: File) -> Replacing {
        Replacing { file, written: 0, settled: 0 }
    }
}

impl Write for Replacing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        let whole = (self.written - self.settled) / SETTLE_BYTES * SETTLE_BYTES;
        if let Some(len) = NonZeroU64::new(whole) {
            // Advice only: a file system that ignores it writes the file as before.
            let _ = fadvise(&self.file, self.settled, Some(len), Advice::DontNeed);
            self.settled += whole;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Whether `file` is on a file system that starts writing a file renamed over another inside the
/// `rename` (ext4, unless mounted with `noauto_da_alloc`): only there does [`Replacing`] move
/// work rather than add it (elsewhere a file replaced again within the kernel's writeback delay
/// may never have been written at all).
pub(crate) fn written_at_rename(file: &File) -> bool {
    rustix::fs::fstatfs(file).is_ok_and(|fs| i128::from(fs.f_type) == EXT4_SUPER_MAGIC)
}

/// Whether `path` is a plain file that a `.partial` file will be renamed over.
pub(crate) fn replaces(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_file())
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
    fn a_replacing_file_starts_its_writeback_by_whole_steps_and_keeps_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        assert!(!replaces(&out));
        fs::write(&out, "old").unwrap();
        assert!(replaces(&out));
        std::os::unix::fs::symlink(&out, dir.path().join("link.csv")).unwrap();
        assert!(!replaces(&dir.path().join("link.csv")));
        let partial = partial_name(&out);
        let mut file = Replacing::new(create_partial(&partial).unwrap());
        // Rows of 1,000 bytes: the 8 MiB steps fall inside writes, never at their ends.
        let mut expected = Vec::new();
        for i in 0..20_000u32 {
            let row = format!("{i:0>999}\n");
            file.write_all(row.as_bytes()).unwrap();
            expected.extend_from_slice(row.as_bytes());
            let settled = (expected.len() as u64) / SETTLE_BYTES * SETTLE_BYTES;
            assert_eq!((file.written, file.settled), (expected.len() as u64, settled), "row {i}");
        }
        assert_eq!(file.settled, 2 * SETTLE_BYTES);
        file.flush().unwrap();
        drop(file);
        assert_eq!(fs::read_to_string(&out).unwrap(), "old");
        commit(&partial, &out).unwrap();
        assert!(fs::read(&out).unwrap() == expected);
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

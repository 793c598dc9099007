//! A regular input file must be read whole. A file truncated while the run reads it (a log
//! rotated with `copytruncate`, an input rewritten in place) ends early, at a line end as often as
//! not, so its rows would pass for the whole input and the run would exit 0 with the windows of
//! the lost rows missing. [`Whole`] notes the file's size when it is opened and fails the read
//! that meets the end of the file before that many bytes were read. A file that grows while it is
//! read is read to the end it has when the reader gets there, as any reader of a file does.

use std::fs::File;
use std::io::{self, Read};

/// A regular file, failing at an end of file met before the size it had when opened.
pub(crate) struct Whole<R> {
    file: R,
    /// The bytes from where reading starts to the end of the file, when opened.
    opened: u64,
    read: u64,
}

impl Whole<File> {
    pub(crate) fn open(path: &str) -> io::Result<Whole<File>> {
        let file = File::open(path)?;
        let opened = file.metadata()?.len();
        Ok(Whole { file, opened, read: 0 })
    }
}

impl Whole<io::Stdin> {
    /// stdin redirected from a regular file (`< day.csv`), read from where its offset stands (a
    /// shell may have read part of it first). `None` when stdin is not a regular file.
    pub(crate) fn stdin() -> Option<Whole<io::Stdin>> {
        let stdin = io::stdin();
        let stat = rustix::fs::fstat(&stdin).ok()?;
        if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::RegularFile {
            return None;
        }
        let at = rustix::fs::seek(&stdin, rustix::fs::SeekFrom::Current(0)).ok()?;
        let opened = u64::try_from(stat.st_size).ok()?.saturating_sub(at);
        Some(Whole { file: stdin, opened, read: 0 })
    }
}

impl<R: Read> Read for Whole<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read += n as u64;
        if n == 0 && !buf.is_empty() && self.read < self.opened {
            return Err(io::Error::other(format!(
                "the file was truncated while it was read: it held {} bytes when opened, and ended after {}; the \
                 rows past that point were not read, so this run's results would be incomplete",
                self.opened, self.read
            )));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_file_truncated_while_it_is_read_fails_at_its_new_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, "timestamp,asset,point,value\nline two\nline three\n").unwrap();
        let mut whole = Whole::open(path.to_str().unwrap()).unwrap();
        let mut head = [0u8; 28];
        whole.read_exact(&mut head).unwrap();
        // Cut at the end of line two, a line end: the end of input would look like any other.
        File::options().write(true).open(&path).unwrap().set_len(37).unwrap();
        let mut rest = Vec::new();
        let e = whole.read_to_end(&mut rest).unwrap_err();
        assert_eq!(rest, b"line two\n");
        assert!(e.to_string().contains("held 48 bytes when opened, and ended after 37"), "{e}");
    }

    #[test]
    fn a_file_read_whole_or_grown_while_read_ends_as_usual() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, "a\nb\n").unwrap();
        let mut whole = Whole::open(path.to_str().unwrap()).unwrap();
        File::options().append(true).open(&path).unwrap().write_all(b"c\n").unwrap();
        let mut all = String::new();
        whole.read_to_string(&mut all).unwrap();
        assert_eq!(all, "a\nb\nc\n");
        assert_eq!(whole.read(&mut [0u8; 8]).unwrap(), 0);
    }
}

//! An input read ahead on a thread of its own, for a run with `--idle-timeout`, whose readers
//! then all parse on the jobs' thread. Between two rows that thread must be free to look at the
//! idle clock while the input is silent, so it must not wait inside a reader: it asks
//! [`Pumped::wait`] whether a whole line is at hand, and reads a row only once one is. A reader
//! is only ever handed whole lines (the fast reader: all it has room for; the general reader and
//! JSON lines, whose buffers the question would not see: one per read), so no whole line waits in
//! a reader's buffer while the jobs' thread waits for input.

use super::live::Idle;
use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Bytes the reading thread asks for at a time.
const PIECE_BYTES: usize = 1 << 16;

/// Pieces read ahead at most.
const PIECES: usize = 16;

/// What the reading thread has handed over and the reader not yet taken.
struct Lines {
    bytes: Vec<u8>,
    /// Where the untaken bytes start.
    start: usize,
    pieces: Receiver<io::Result<Vec<u8>>>,
    /// One line per read (else every whole line there is room for).
    one_line: bool,
    /// The input ended (after `bytes`).
    ended: bool,
    /// The read that failed after `bytes`.
    error: Option<io::Error>,
}

impl Lines {
    /// Whether a read returns without waiting: a whole line is at hand, or the input ended.
    fn ready(&self) -> bool {
        self.ended || self.error.is_some() || memchr::memchr(b'\n', &self.bytes[self.start..]).is_some()
    }

    fn take(&mut self, piece: Result<io::Result<Vec<u8>>, ()>) {
        match piece {
            Ok(Ok(piece)) => {
                if self.start == self.bytes.len() {
                    self.bytes.clear();
                    self.start = 0;
                }
                self.bytes.extend_from_slice(&piece);
            }
            Ok(Err(e)) => self.error = Some(e),
            Err(()) => self.ended = true,
        }
    }

    /// Takes what has arrived, without waiting.
    fn gather(&mut self) {
        loop {
            match self.pieces.try_recv() {
                Ok(piece) => self.take(Ok(piece)),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => return self.take(Err(())),
            }
        }
    }
}

/// The reader's end of a pumped input (a clone asks [`Pumped::wait`]).
#[derive(Clone)]
pub(crate) struct Pumped {
    lines: Arc<Mutex<Lines>>,
    idle: Idle,
}

impl Pumped {
    /// Reads `source` on a thread of its own, after `first` (bytes already read from it), for a
    /// reader handed one line per read or (`one_line` false) all the whole lines it has room for.
    pub(crate) fn start(
        first: Vec<u8>,
        mut source: Box<dyn Read + Send>,
        idle: Idle,
        one_line: bool,
    ) -> io::Result<Pumped> {
        let (tx, rx) = mpsc::sync_channel(PIECES);
        std::thread::Builder::new().name("meterflow-read".into()).spawn(move || {
            loop {
                let mut piece = vec![0; PIECE_BYTES];
                match source.read(&mut piece) {
                    Ok(0) => return,
                    Ok(n) => {
                        piece.truncate(n);
                        if tx.send(Ok(piece)).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        })?;
        let lines = Lines { bytes: first, start: 0, pieces: rx, one_line, ended: false, error: None };
        Ok(Pumped { lines: Arc::new(Mutex::new(lines)), idle })
    }

    fn lock(&self) -> MutexGuard<'_, Lines> {
        self.lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a whole line (or the end of the input) is at hand now: a read returns without
    /// waiting.
    pub(crate) fn at_hand(&self) -> bool {
        let mut lines = self.lock();
        lines.gather();
        lines.ready()
    }

    /// Waits up to `wait` for a whole line (or the end of the input): whether a read now returns
    /// without waiting. Runs the idle hook first when none is at hand, as a live input does
    /// before it waits.
    pub(crate) fn wait(&self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let mut lines = self.lock();
        lines.gather();
        if lines.ready() {
            return true;
        }
        self.idle.call();
        while !lines.ready() {
            match lines.pieces.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(piece) => lines.take(Ok(piece)),
                Err(RecvTimeoutError::Timeout) => return false,
                Err(RecvTimeoutError::Disconnected) => lines.take(Err(())),
            }
        }
        true
    }
}

impl Read for Pumped {
    /// Whole lines (one, or all there is room for), waiting for one when none has all arrived: a
    /// part of a line only when the line is longer than `buf`, and at the end of the input.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut lines = self.lock();
        lines.gather();
        if !lines.ready() {
            self.idle.call();
            while !lines.ready() {
                let piece = lines.pieces.recv().map_err(|_| ());
                lines.take(piece);
            }
        }
        let rest = &lines.bytes[lines.start..];
        let room = &rest[..rest.len().min(buf.len())];
        let last = if lines.one_line { memchr::memchr(b'\n', room) } else { memchr::memrchr(b'\n', room) };
        let n = match last {
            Some(i) => i + 1,
            // No line ends within reach: the end of input's last bytes, or a line longer than `buf`.
            None => room.len(),
        };
        if n == 0 {
            return match lines.error.take() {
                Some(e) => Err(e),
                None => Ok(0),
            };
        }
        buf[..n].copy_from_slice(&rest[..n]);
        lines.start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn lines_come_one_per_read_and_a_wait_says_when_a_whole_one_is_at_hand() {
        let (reader, mut writer) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut pumped = Pumped::start(b"h\na\nb".to_vec(), Box::new(reader), Idle::default(), true).unwrap();
        let mut buf = [0u8; 64];
        assert!(pumped.wait(Duration::ZERO));
        assert_eq!(pumped.read(&mut buf).unwrap(), 2);
        assert_eq!(pumped.read(&mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"a\n");
        // "b" has no line end yet: nothing whole is at hand while the input is silent.
        assert!(!pumped.wait(Duration::from_millis(20)));
        writer.write_all(b"c\nd\n").unwrap();
        assert!(pumped.wait(Duration::from_secs(60)));
        assert_eq!(pumped.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"bc\n");
        assert_eq!(pumped.read(&mut buf).unwrap(), 2);
        writer.write_all(b"e").unwrap();
        drop(writer);
        assert!(pumped.wait(Duration::from_secs(60)), "the end of input is at hand");
        assert_eq!(pumped.read(&mut buf).unwrap(), 1);
        assert_eq!(pumped.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn a_failed_read_comes_after_the_bytes_before_it() {
        struct Failing(bool);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if std::mem::replace(&mut self.0, true) {
                    return Err(io::Error::other("gone"));
                }
                buf[..3].copy_from_slice(b"x,y");
                Ok(3)
            }
        }
        let mut pumped = Pumped::start(Vec::new(), Box::new(Failing(false)), Idle::default(), true).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(pumped.read(&mut buf).unwrap(), 3);
        assert_eq!(pumped.read(&mut buf).unwrap_err().to_string(), "gone");
    }

    #[test]
    fn the_fast_reader_is_handed_every_whole_line_there_is_room_for() {
        let mut pumped = Pumped::start(b"a\nbb\ncc".to_vec(), Box::new(io::empty()), Idle::default(), false).unwrap();
        let mut buf = [0u8; 6];
        assert_eq!(pumped.read(&mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"a\nbb\n");
        assert_eq!(pumped.read(&mut buf[..1]).unwrap(), 1, "a line longer than the room, in parts");
        assert_eq!(pumped.read(&mut buf).unwrap(), 1, "the end of input's last bytes");
        assert_eq!(pumped.read(&mut buf).unwrap(), 0);
    }
}

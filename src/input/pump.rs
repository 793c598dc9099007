//! An input read ahead on a thread of its own, for a run with `--idle-timeout`, whose readers
//! then all parse on the jobs' thread. Between two rows that thread must be free to look at the
//! idle clock while the input is silent, so it must not wait inside a reader: it asks
//! [`Pumped::wait`] whether a whole row is at hand, and reads one only once one is. A reader is
//! only ever handed whole rows (see [`Framing`]: the fast reader all the lines it has room for;
//! the general reader one CSV record per read, which a quoted field may spread over lines; JSON
//! lines one line per read, since the question would not see what their buffers hold), so no
//! whole row waits in a reader's buffer while the jobs' thread waits for input.
//!
//! The thread says when the input ends: a thread that stops without saying so (a panic) is a
//! failed read, never an end of input.

use super::live::Idle;
use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Bytes the reading thread asks for at a time.
const PIECE_BYTES: usize = 1 << 16;

/// Pieces read ahead at most, beyond [`HELD_BYTES`].
const PIECES: usize = 8;

/// Untaken bytes past which no more pieces are taken from the reading thread until the reader has
/// taken some, unless no whole row is among them: as much as the fast reader takes at a time.
const HELD_BYTES: usize = 1 << 19;

/// How a reader is handed the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Every whole line there is room for (the fast reader, which takes only whole lines).
    Lines,
    /// One line per read (JSON lines).
    Line,
    /// One CSV record per read, split as the general reader's csv crate splits them with this
    /// delimiter (a quoted field may hold line ends).
    Records(u8),
}

/// What the reading thread hands over.
enum Piece {
    Bytes(Vec<u8>),
    End,
    Failed(io::Error),
}

/// What the reading thread has handed over and the reader not yet taken.
struct Ahead {
    bytes: Vec<u8>,
    /// Where the untaken bytes start.
    start: usize,
    pieces: Receiver<Piece>,
    framing: Framing,
    /// [`Framing::Records`]: the csv crate's own record splitter, fed every byte once.
    records: Option<Box<csv_core::Reader>>,
    /// The end of the first whole row after `start`, once found; rows are looked for from
    /// `scanned` on.
    row_end: Option<usize>,
    scanned: usize,
    /// The input ended (after `bytes`).
    ended: bool,
    /// The read that failed after `bytes`, and whether it was handed out.
    error: Option<io::Error>,
    failed: bool,
}

impl Ahead {
    /// Whether a read returns without waiting: a whole row is at hand, or the input ended or failed.
    fn ready(&mut self) -> bool {
        self.ended || self.failed || self.error.is_some() || self.row_end().is_some()
    }

    /// The end of the first whole row after `start`.
    fn row_end(&mut self) -> Option<usize> {
        if self.row_end.is_none() {
            self.scanned = self.scanned.max(self.start);
            let rest = &self.bytes[self.scanned..];
            let found = match &mut self.records {
                None => memchr::memchr(b'\n', rest).map(|i| i + 1),
                Some(records) => record_end(records, rest),
            };
            self.scanned = found.map_or(self.bytes.len(), |n| self.scanned + n);
            self.row_end = found.map(|_| self.scanned);
        }
        self.row_end
    }

    fn take(&mut self, piece: Piece) {
        match piece {
            Piece::Bytes(piece) => {
                // The bytes taken go once they are half: the buffer stays about what is untaken.
                if self.start > 0 && 2 * self.start >= self.bytes.len() {
                    self.bytes.drain(..self.start);
                    self.scanned = self.scanned.saturating_sub(self.start);
                    self.row_end = self.row_end.map(|end| end - self.start);
                    self.start = 0;
                }
                self.bytes.extend_from_slice(&piece);
            }
            Piece::End => self.ended = true,
            Piece::Failed(e) => self.error = Some(e),
        }
    }

    /// The reading thread is gone: after the end of the input, or after a failed read, that is
    /// all; without either, it stopped abnormally.
    fn gone(&mut self) {
        if !self.ended && self.error.is_none() && !self.failed {
            self.error = Some(io::Error::other("the thread reading it stopped"));
        }
    }

    fn closed(&self) -> bool {
        self.ended || self.failed || self.error.is_some()
    }

    /// Takes what has arrived, without waiting, while fewer than [`HELD_BYTES`] are untaken or
    /// no whole row is among them.
    fn gather(&mut self) {
        while !self.closed() && (self.bytes.len() - self.start < HELD_BYTES || !self.ready()) {
            match self.pieces.try_recv() {
                Ok(piece) => self.take(piece),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => self.gone(),
            }
        }
    }

    /// Hands out the next `n` untaken bytes.
    fn advance(&mut self, n: usize) {
        self.start += n;
        if self.row_end.is_some_and(|end| end <= self.start) {
            self.row_end = None;
        }
    }
}

/// Where the first record of `bytes` ends, for `records`, which has been fed every byte before
/// them; `None` when no record ends in them (all are then fed).
fn record_end(records: &mut csv_core::Reader, bytes: &[u8]) -> Option<usize> {
    // Where records end is all that is wanted: the fields go to a scratch buffer, overwritten.
    let (mut fields, mut ends) = ([0u8; 4096], [0usize; 64]);
    let mut fed = 0;
    // An empty input would tell the splitter that the input has ended.
    while fed < bytes.len() {
        let (result, n, _, _) = records.read_record(&bytes[fed..], &mut fields, &mut ends);
        fed += n;
        if result == csv_core::ReadRecordResult::Record {
            return Some(fed);
        }
    }
    None
}

/// The reader's end of a pumped input (a clone asks [`Pumped::wait`]).
#[derive(Clone)]
pub(crate) struct Pumped {
    ahead: Arc<Mutex<Ahead>>,
    idle: Idle,
}

impl Pumped {
    /// Reads `source` on a thread of its own, after `first` (bytes already read from it), for a
    /// reader handed it as `framing` says.
    pub(crate) fn start(
        first: Vec<u8>,
        mut source: Box<dyn Read + Send>,
        idle: Idle,
        framing: Framing,
    ) -> io::Result<Pumped> {
        let (tx, rx) = mpsc::sync_channel(PIECES);
        std::thread::Builder::new().name("meterflow-read".into()).spawn(move || {
            loop {
                let mut piece = vec![0; PIECE_BYTES];
                let next = match source.read(&mut piece) {
                    Ok(0) => Piece::End,
                    Ok(n) => {
                        piece.truncate(n);
                        Piece::Bytes(piece)
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Piece::Failed(e),
                };
                let last = !matches!(next, Piece::Bytes(_));
                if tx.send(next).is_err() || last {
                    return;
                }
            }
        })?;
        let records = match framing {
            Framing::Records(delimiter) => Some(Box::new(csv_core::ReaderBuilder::new().delimiter(delimiter).build())),
            Framing::Lines | Framing::Line => None,
        };
        let ahead = Ahead {
            bytes: first,
            start: 0,
            pieces: rx,
            framing,
            records,
            row_end: None,
            scanned: 0,
            ended: false,
            error: None,
            failed: false,
        };
        Ok(Pumped { ahead: Arc::new(Mutex::new(ahead)), idle })
    }

    fn lock(&self) -> MutexGuard<'_, Ahead> {
        self.ahead.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a whole row (or the end of the input) is at hand now: a read returns without
    /// waiting.
    pub(crate) fn at_hand(&self) -> bool {
        let mut ahead = self.lock();
        ahead.gather();
        ahead.ready()
    }

    /// Waits up to `wait` for a whole row (or the end of the input): whether a read now returns
    /// without waiting. Runs the idle hook first when none is at hand, as a live input does
    /// before it waits.
    pub(crate) fn wait(&self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let mut ahead = self.lock();
        ahead.gather();
        if ahead.ready() {
            return true;
        }
        self.idle.call();
        while !ahead.ready() {
            match ahead.pieces.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(piece) => ahead.take(piece),
                Err(RecvTimeoutError::Timeout) => return false,
                Err(RecvTimeoutError::Disconnected) => ahead.gone(),
            }
        }
        true
    }
}

impl Read for Pumped {
    /// Whole rows as [`Framing`] says, waiting for one when none has all arrived: a part of a row
    /// only when the row is longer than `buf`, and at the end of the input.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut ahead = self.lock();
        ahead.gather();
        if !ahead.ready() {
            self.idle.call();
            while !ahead.ready() {
                match ahead.pieces.recv() {
                    Ok(piece) => ahead.take(piece),
                    Err(_) => ahead.gone(),
                }
            }
        }
        let start = ahead.start;
        let room = start + buf.len().min(ahead.bytes.len() - start);
        let end = match ahead.framing {
            Framing::Lines => memchr::memrchr(b'\n', &ahead.bytes[start..room]).map(|i| start + i + 1),
            Framing::Line | Framing::Records(_) => ahead.row_end().filter(|&end| end <= room),
        };
        // No row ends within reach: the end of input's last bytes, or a row longer than `buf`.
        let n = end.unwrap_or(room) - start;
        if n == 0 {
            if let Some(e) = ahead.error.take() {
                ahead.failed = true;
                return Err(e);
            }
            if ahead.failed {
                return Err(io::Error::other("the input failed before"));
            }
            return Ok(0);
        }
        buf[..n].copy_from_slice(&ahead.bytes[start..start + n]);
        ahead.advance(n);
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
        let mut pumped = Pumped::start(b"h\na\nb".to_vec(), Box::new(reader), Idle::default(), Framing::Line).unwrap();
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
        let mut pumped = Pumped::start(Vec::new(), Box::new(Failing(false)), Idle::default(), Framing::Line).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(pumped.read(&mut buf).unwrap(), 3);
        assert_eq!(pumped.read(&mut buf).unwrap_err().to_string(), "gone");
        assert!(pumped.read(&mut buf).is_err(), "a failed input does not end normally on a second look");
    }

    #[test]
    fn a_reading_thread_that_panics_is_a_failed_read_not_an_end_of_input() {
        struct Panics(bool);
        impl Read for Panics {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                assert!(!std::mem::replace(&mut self.0, true), "the decoder's bug");
                buf[..4].copy_from_slice(b"a,b\n");
                Ok(4)
            }
        }
        for framing in [Framing::Lines, Framing::Line, Framing::Records(b',')] {
            let mut pumped = Pumped::start(Vec::new(), Box::new(Panics(false)), Idle::default(), framing).unwrap();
            let mut buf = [0u8; 64];
            assert_eq!(pumped.read(&mut buf).unwrap(), 4);
            let e = pumped.read(&mut buf).unwrap_err();
            assert_eq!(e.to_string(), "the thread reading it stopped", "{framing:?}");
            assert!(pumped.wait(Duration::ZERO), "{framing:?}: a read now returns at once, with the error");
        }
    }

    #[test]
    fn a_csv_record_is_at_hand_once_its_quoted_line_ends_have_arrived() {
        let (reader, mut writer) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut pumped =
            Pumped::start(b"a;b\n".to_vec(), Box::new(reader), Idle::default(), Framing::Records(b';')).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(pumped.read(&mut buf).unwrap(), 4);
        // A quoted field holding a line end and a `;`: the record is not whole at the line end.
        writer.write_all(b"1;\"two\n").unwrap();
        assert!(!pumped.wait(Duration::from_millis(20)));
        // The rest of it, a record whose quote is mid-field (text, as the csv crate reads it), and
        // a blank line, which belongs to no record.
        writer.write_all(b"li;nes\"\n2;x\"y\n\n").unwrap();
        assert!(pumped.wait(Duration::from_secs(60)));
        assert_eq!(pumped.read(&mut buf).unwrap(), 15);
        assert_eq!(&buf[..15], b"1;\"two\nli;nes\"\n");
        assert!(pumped.at_hand());
        assert_eq!(pumped.read(&mut buf).unwrap(), 6);
        assert_eq!(&buf[..6], b"2;x\"y\n");
        assert!(!pumped.wait(Duration::from_millis(20)), "a blank line is no record");
        // A record longer than the room comes in parts; the last record needs no line end.
        writer.write_all(b"3;\"long\"\n4;5").unwrap();
        drop(writer);
        assert!(pumped.wait(Duration::from_secs(60)));
        assert_eq!(pumped.read(&mut buf[..4]).unwrap(), 4);
        assert_eq!(&buf[..4], b"\n3;\"");
        assert_eq!(pumped.read(&mut buf).unwrap(), 6);
        assert_eq!(pumped.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"4;5");
        assert_eq!(pumped.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn what_is_held_stays_bounded_however_far_the_input_is_ahead() {
        // 8 MiB of lines, all there at once, taken one line at a time.
        let line = b"2024-01-01T00:00:00Z,m1,R,1\n";
        let input = line.repeat((8 << 20) / line.len());
        let mut pumped =
            Pumped::start(Vec::new(), Box::new(io::Cursor::new(input.clone())), Idle::default(), Framing::Line)
                .unwrap();
        let (mut buf, mut taken, mut most) = ([0u8; 64], 0, 0);
        loop {
            let n = pumped.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            assert_eq!(&buf[..n], line);
            taken += n;
            most = most.max(pumped.lock().bytes.len());
        }
        assert_eq!(taken, input.len());
        // Taken bytes go once they are half of what is held.
        assert!(most <= 2 * (HELD_BYTES + PIECE_BYTES), "held {most} bytes");
    }

    #[test]
    fn the_fast_reader_is_handed_every_whole_line_there_is_room_for() {
        let mut pumped =
            Pumped::start(b"a\nbb\ncc".to_vec(), Box::new(io::empty()), Idle::default(), Framing::Lines).unwrap();
        let mut buf = [0u8; 6];
        assert_eq!(pumped.read(&mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"a\nbb\n");
        assert_eq!(pumped.read(&mut buf[..1]).unwrap(), 1, "a line longer than the room, in parts");
        assert_eq!(pumped.read(&mut buf).unwrap(), 1, "the end of input's last bytes");
        assert_eq!(pumped.read(&mut buf).unwrap(), 0);
    }

    /// Hands out its bytes a few at a time, as a pipe fed in small writes would.
    struct Trickle(Vec<u8>, usize, u64);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.2 = self.2.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let n = ((self.2 >> 60) as usize + 1).min(buf.len()).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    /// Whatever the bytes (quotes, doubled quotes, quotes mid-field, CR, blank lines, a last record
    /// without a line end) and however they arrive, each read of the read-ahead is one whole
    /// record as the csv crate reads it straight from the bytes.
    #[test]
    fn each_read_is_one_record_as_the_csv_crate_reads_it() {
        let records = |bytes: &[u8]| -> Vec<csv::ByteRecord> {
            let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
            csv.byte_records().map(Result::unwrap).collect()
        };
        let alphabet = b"ab,\"\"\n\n\r ";
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            seed >> 33
        };
        for _ in 0..500 {
            let text: Vec<u8> = (0..next() % 60).map(|_| alphabet[next() as usize % alphabet.len()]).collect();
            let source = Box::new(Trickle(text.clone(), 0, next()));
            let mut pumped = Pumped::start(Vec::new(), source, Idle::default(), Framing::Records(b',')).unwrap();
            let (mut buf, mut reads) = ([0u8; 128], Vec::new());
            while let n @ 1.. = pumped.read(&mut buf).unwrap() {
                reads.push(buf[..n].to_vec());
            }
            let shown = String::from_utf8_lossy(&text);
            assert_eq!(reads.concat(), text, "{shown:?}");
            // Each read alone is one record (the last: none, when only blank lines are left).
            let mut through = Vec::new();
            for (k, read) in reads.iter().enumerate() {
                let alone = records(read);
                assert!(alone.len() == 1 || (k + 1 == reads.len() && alone.is_empty()), "{shown:?}: {reads:?}");
                through.extend(alone);
            }
            assert_eq!(through, records(&text), "{shown:?}");
        }
    }
}

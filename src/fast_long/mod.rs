//! The readings of one input, fast: plain long-format CSV is cut into chunks of whole lines and
//! parsed by [`chunk`] (on worker threads with `--threads` above 1, see [`workers`]), and
//! whatever the fast path does not take with certainty is left to the general reader
//! ([`LongReader`]). The general reader owns the meaning of every row; this module only makes the
//! common case fast:
//!
//! - the header is always read by the general reader, which finds the columns;
//! - from the first line the fast path does not take (quotes, a missing-value marker, another
//!   timestamp layout, a malformed row, ...), the general reader reads the rest of the input, with
//!   line numbers continuing, so messages, skips and counts are its own.
//!
//! Readings come out in batches, in input order, with run-wide name ids: the same readings in the
//! same order as the general reader alone would give, whatever the number of threads.

mod chunk;
mod names;
mod source;
mod workers;

pub use chunk::{Chunk, Layout, Role};
pub use names::{Parser, Translation};

use crate::engine::Reading;
use crate::input::{InputCounts, LongReader};
use crate::intern::Names;
use anyhow::{Context, Result, anyhow};
use source::Source;
use std::io::{self, Cursor, Read};
use workers::Workers;

/// Readings the general reader hands out per batch.
const GENERAL_BATCH: usize = 4096;

/// Where chunks come from: this thread, or worker threads.
enum Feed {
    Inline(Box<Inline>),
    Workers(Workers),
}

/// Reading and parsing on the calling thread.
struct Inline {
    source: Source,
    spare: Option<Chunk>,
    layout: Layout,
    parser: Parser,
}

impl Feed {
    fn next(&mut self) -> Option<Chunk> {
        match self {
            Feed::Workers(w) => w.next(),
            Feed::Inline(inline) => {
                let mut chunk = inline.spare.take().unwrap_or_default();
                chunk.fill(&mut inline.source);
                chunk.parse(&inline.layout, &mut inline.parser);
                Some(chunk)
            }
        }
    }

    fn recycle(&mut self, chunk: Chunk) {
        match self {
            Feed::Workers(w) => w.recycle(chunk),
            Feed::Inline(inline) => inline.spare = Some(chunk),
        }
    }

    /// What was read and not handed out, and the rest of the input.
    fn into_rest(self) -> (Vec<Chunk>, Source) {
        match self {
            Feed::Workers(w) => w.into_rest(),
            Feed::Inline(inline) => (Vec::new(), inline.source),
        }
    }
}

enum Mode {
    Fast(Feed),
    General(LongReader),
    Done,
}

/// The readings of one input.
pub struct InputReader {
    file: String,
    /// The header line as read (with its line end), to start the general reader on a remainder.
    header: Vec<u8>,
    mode: Mode,
    /// Line number of the first line of the next chunk.
    next_line: u64,
    /// The chunk whose readings were handed out last.
    current: Option<Chunk>,
    translation: Translation,
    general_batch: Vec<Reading>,
    /// An error met after a batch that was handed out first.
    deferred: Option<anyhow::Error>,
}

impl InputReader {
    /// Reads the header of `source` (named `file` in messages). `threads` above 1 parses on that
    /// many worker threads.
    pub fn open(file: &str, mut source: Box<dyn Read + Send>, threads: usize) -> Result<InputReader> {
        let mut bytes = Vec::new();
        let header_end = loop {
            if let Some(i) = memchr::memchr(b'\n', &bytes) {
                break i + 1;
            }
            let len = bytes.len();
            bytes.resize(len + (1 << 16), 0);
            let n = loop {
                match source.read(&mut bytes[len..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            }
            .with_context(|| format!("failed to read the header of {file}"))?;
            bytes.truncate(len + n);
            if n == 0 {
                break bytes.len();
            }
        };
        let rest = bytes.split_off(header_end);
        let header = bytes;
        let line = header.strip_suffix(b"\n").unwrap_or(&header);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mode = if line.is_empty() || memchr::memchr2(b'"', b'\r', line).is_some() {
            // A quoted or CR-split header may span lines, and the csv crate skips blank lines
            // before it: the general reader reads such an input all through.
            Mode::General(LongReader::new(file, Box::new(Cursor::new([header.as_slice(), &rest].concat()).chain(source)))?)
        } else {
            let layout = layout(&LongReader::new(file, Box::new(Cursor::new(header.clone())))?);
            let source = Source::new(source, rest);
            if threads > 1 {
                Mode::Fast(Feed::Workers(Workers::start(threads, source, layout).with_context(|| format!("failed to start threads to read {file}"))?))
            } else {
                Mode::Fast(Feed::Inline(Box::new(Inline { source, spare: None, layout, parser: Parser::new(0) })))
            }
        };
        Ok(InputReader {
            file: file.to_string(),
            header,
            mode,
            next_line: 2,
            current: None,
            translation: Translation::default(),
            general_batch: Vec::new(),
            deferred: None,
        })
    }

    /// The next readings, `None` at end of input. Rows with a missing value are counted and skipped.
    pub fn next_batch(&mut self, names: &mut Names, counts: &mut InputCounts) -> Result<Option<&[Reading]>> {
        loop {
            match std::mem::replace(&mut self.mode, Mode::Done) {
                Mode::Fast(mut feed) => {
                    if let Some(done) = self.current.take() {
                        self.next_line += done.readings.len() as u64;
                        if let Some(stop) = done.stop {
                            self.mode = Mode::General(self.general_from(feed, done, stop)?);
                            continue;
                        }
                        feed.recycle(done);
                    }
                    let Some(mut chunk) = feed.next() else {
                        return Err(anyhow!("failed to read {}: a parsing thread stopped", self.file));
                    };
                    if let Some(e) = chunk.error.take() {
                        return Err(anyhow::Error::new(e).context(format!("failed to read {}", self.file)));
                    }
                    if chunk.end {
                        return Ok(None);
                    }
                    chunk.intern(names, &mut self.translation);
                    counts.rows += chunk.readings.len() as u64;
                    self.mode = Mode::Fast(feed);
                    return Ok(Some(&self.current.insert(chunk).readings));
                }
                Mode::General(mut reader) => {
                    self.general_batch.clear();
                    while self.general_batch.len() < GENERAL_BATCH {
                        match reader.next(names, counts) {
                            Ok(Some(reading)) => self.general_batch.push(reading),
                            Ok(None) => break,
                            Err(e) => {
                                self.deferred = Some(e);
                                break;
                            }
                        }
                    }
                    if self.general_batch.len() == GENERAL_BATCH {
                        self.mode = Mode::General(reader);
                    }
                    if self.general_batch.is_empty() {
                        continue;
                    }
                    return Ok(Some(&self.general_batch));
                }
                Mode::Done => {
                    return match self.deferred.take() {
                        Some(e) => Err(e),
                        None => Ok(None),
                    };
                }
            }
        }
    }

    /// The general reader over the input from `stop` in chunk `done` on.
    fn general_from(&mut self, feed: Feed, done: Chunk, stop: usize) -> Result<LongReader> {
        let (later, source) = feed.into_rest();
        let mut rest = done.raw()[stop..].to_vec();
        let mut failure = None;
        for chunk in later {
            rest.extend_from_slice(chunk.raw());
            if chunk.error.is_some() {
                failure = chunk.error;
                break;
            }
        }
        let tail: Box<dyn Read> = match failure {
            Some(e) => Box::new(FailingRead(Some(e))),
            None => Box::new(Cursor::new(source.leftover).chain(source.inner)),
        };
        let stream = Cursor::new(std::mem::take(&mut self.header)).chain(Cursor::new(rest)).chain(tail);
        // The header is line 1 of the new stream; its line 2 is our `next_line`.
        Ok(LongReader::new(&self.file, Box::new(stream))?.with_line_offset(self.next_line - 2))
    }
}

/// The columns of the general reader's header as the fast path's layout.
fn layout(reader: &LongReader) -> Layout {
    let c = reader.columns();
    let mut roles = vec![Role::Other; c.width];
    roles[c.timestamp] = Role::Timestamp;
    roles[c.asset] = Role::Asset;
    roles[c.point] = Role::Point;
    roles[c.value] = Role::Value;
    if let Some(m) = c.model {
        roles[m] = Role::Model;
    }
    Layout { delimiter: b',', roles }
}

/// Stands for an input that failed after some bytes: hands out the error it failed with.
struct FailingRead(Option<io::Error>);

impl Read for FailingRead {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(self.0.take().unwrap_or_else(|| io::Error::other("the input failed before")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reading with its names, comparable across name tables.
    type Row = (i64, u64, String, String, Option<String>);

    fn rows(readings: &[Reading], names: &Names) -> Vec<Row> {
        readings
            .iter()
            .map(|r| {
                let model = (r.model != crate::engine::NO_MODEL).then(|| names.models.name(r.model).to_string());
                (r.ts, r.value.to_bits(), names.assets.name(r.asset).to_string(), names.points.name(r.point).to_string(), model)
            })
            .collect()
    }

    /// Everything the fast reader gives for `text`: rows, counts, and the error that ended it.
    fn fast(text: &[u8], threads: usize) -> (Vec<Row>, InputCounts, Option<String>) {
        let (mut names, mut counts, mut out) = (Names::default(), InputCounts::default(), Vec::new());
        let mut reader = match InputReader::open("in.csv", Box::new(Cursor::new(text.to_vec())), threads) {
            Ok(reader) => reader,
            Err(e) => return (out, counts, Some(format!("{e:#}"))),
        };
        loop {
            match reader.next_batch(&mut names, &mut counts) {
                Ok(Some(batch)) => out.extend(rows(batch, &names)),
                Ok(None) => return (out, counts, None),
                Err(e) => return (out, counts, Some(format!("{e:#}"))),
            }
        }
    }

    /// The same from the general reader alone.
    fn general(text: &[u8]) -> (Vec<Row>, InputCounts, Option<String>) {
        let (mut names, mut counts, mut out) = (Names::default(), InputCounts::default(), Vec::new());
        let mut reader = match LongReader::new("in.csv", Box::new(Cursor::new(text.to_vec()))) {
            Ok(reader) => reader,
            Err(e) => return (out, counts, Some(format!("{e:#}"))),
        };
        loop {
            match reader.next(&mut names, &mut counts) {
                Ok(Some(r)) => out.extend(rows(&[r], &names)),
                Ok(None) => return (out, counts, None),
                Err(e) => return (out, counts, Some(format!("{e:#}"))),
            }
        }
    }

    /// Plain meter rows spanning several chunks, with `odd` put in as line `at` (1 = header).
    fn big_input(odd: &str, at: usize) -> Vec<u8> {
        let mut text = b"timestamp,device,point,value\n".to_vec();
        for i in 2..120_000usize {
            if i == at {
                text.extend_from_slice(odd.as_bytes());
                continue;
            }
            let ms = 1_704_067_200_000 + i as i64 * 997;
            let mut stamp = Vec::new();
            crate::time::format_timestamp(ms, &mut stamp);
            let line = format!("{},meter{:03},Reading,{}.{:03}\n", String::from_utf8_lossy(&stamp), i % 700, i % 97, i % 1000);
            text.extend_from_slice(line.as_bytes());
        }
        text
    }

    fn assert_same(text: &[u8], what: &str) {
        let expected = general(text);
        for threads in [1, 2, 3] {
            let actual = fast(text, threads);
            assert_eq!(actual.1, expected.1, "{what}, {threads} threads: counts");
            assert_eq!(actual.2, expected.2, "{what}, {threads} threads: error");
            assert!(actual.0 == expected.0, "{what}, {threads} threads: readings differ ({} vs {})", actual.0.len(), expected.0.len());
        }
    }

    #[test]
    fn small_inputs_read_as_the_general_reader_reads_them() {
        let cases: &[(&str, &str)] = &[
            ("plain", "timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,Reading,1.5\n2024-01-01T00:00:15.250Z,m2,Reading,-3\n"),
            ("no final newline", "timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,Reading,1.5"),
            ("CRLF", "timestamp,asset,point,value\r\n2024-01-01T00:00:00Z,m1,Reading,1.5\r\n2024-01-01T00:00:15Z,m1,Reading,2\r\n"),
            ("markers", "Time,Device,PointId,Val\n2024-01-01T00:00:00Z,m1,Reading,NA\n2024-01-01T00:00:15Z,m1,Reading,2\n"),
            ("quotes", "timestamp,asset,point,value\n2024-01-01T00:00:00Z,\"m,1\",Reading,1\n2024-01-01T00:00:15Z,m1,Reading,2\n"),
            ("quoted header", "\"timestamp\",asset,point,value\n2024-01-01T00:00:00Z,m1,Reading,1\n"),
            ("BOM and model", "\u{feff}timestamp,model,asset,point,value,extra\n2024-01-01T00:00:00Z,,m1,Reading,1,x\n2024-01-01T00:00:00Z,EM,m1,Reading,1,y\n"),
            ("epoch milliseconds", "timestamp,asset,point,value\n1704067200000,m1,Reading,1\n"),
            ("blank lines", "timestamp,asset,point,value\n\n2024-01-01T00:00:00Z,m1,Reading,1\n\n"),
            ("blank line before the header", "\ntimestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,Reading,1\n"),
            ("bad value", "timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:00:15Z,m1,Reading,abc\n"),
            ("short row", "timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:00:15Z,m1,Reading\n"),
            ("header only", "timestamp,asset,point,value\n"),
            ("empty", ""),
            ("no point column", "timestamp,asset,value\n2024-01-01T00:00:00Z,m1,1\n"),
        ];
        for (what, text) in cases {
            assert_same(text.as_bytes(), what);
        }
    }

    #[test]
    fn a_line_the_fast_path_leaves_hands_the_rest_over_with_line_numbers() {
        let ts = "2024-01-01T10:00:00Z";
        for (odd, at) in [
            (format!("{ts},m1,Reading,\n"), 70_000),
            (format!("{ts},\"m1\",Reading,1\n"), 50_000),
            (format!("{ts},m1,Reading,1\n\n"), 30_001),
            (format!("{ts},m1,Reading,oops\n"), 90_000),
            (format!("{ts},m1,Reading\n"), 2),
            (format!("{ts},m1,Reading,1,2\n"), 119_999),
        ] {
            assert_same(&big_input(&odd, at), &format!("{odd:?} at line {at}"));
        }
        let (rows, counts, error) = fast(&big_input(&format!("{ts},m1,Reading,oops\n"), 90_000), 2);
        assert_eq!(error.as_deref(), Some("in.csv:90000: column 4 (value): invalid value \"oops\": expected a finite number"));
        assert_eq!((rows.len(), counts.rows), (89_998, 89_999));
    }
}

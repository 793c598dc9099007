//! The readings of one input, fast. Plain long-format CSV (see `fast_layout` for what that
//! excludes) is cut into chunks of whole lines and parsed by `chunk`, on worker threads with
//! `--threads` above 1 (see `workers`). Whatever the fast path does not take with certainty is
//! left to the general [`Reader`], which owns the meaning of every row; this module only makes the
//! common case fast:
//!
//! - the general reader reads the header, finds the columns, and says whether the fast path
//!   applies; when it does not, it reads the whole input;
//! - from the first line the fast path does not take (quotes, a missing value, another timestamp
//!   layout, a malformed row, ...), the general reader reads the rest of the input, with line
//!   numbers continuing, so messages, skips and counts are its own.
//!
//! Readings come out one at a time, in input order, with run-wide name ids and the counts of the
//! general reader: the same readings in the same order as the general reader alone would give,
//! whatever the number of threads.

mod chunk;
mod fields;
mod layout;
mod lines;
mod names;
mod workers;

pub use chunk::Chunk;
pub use layout::{Layout, ReadNames, Role};
pub use names::{Parser, Translation};

use super::columns::{Fields, Source as Column};
use super::jsonl::{JsonLines, is_json_lines, json_revisions};
use super::options::Layout as FileLayout;
use super::pump::{Framing, Pumped};
use super::reader::Tally;
use super::timestamp::TimeFormat;
use super::{BadRows, InputCounts, InputOptions, Reader, parquet, source};
use crate::engine::Reading;
use crate::engine::names::{Interner, Names};
use anyhow::{Context, Result, anyhow};
use lines::Source;
use std::collections::HashSet;
use std::io::{self, Cursor, Read};
use std::sync::Arc;
use workers::Workers;

/// What [`InputReader::next_at_hand`] gives.
pub(crate) enum AtHand {
    Reading(Reading),
    /// An input read ahead (`--idle-timeout`) has no whole row at hand: not the end.
    Waiting,
    End,
}

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

    /// The input after the chunks handed out.
    fn into_rest(self) -> Box<dyn Read + Send> {
        match self {
            Feed::Workers(w) => Box::new(w.into_unparsed()),
            Feed::Inline(inline) => inline.source.remainder(),
        }
    }
}

enum Mode {
    Fast(Feed),
    General(Box<Reader>),
    Json(Box<JsonLines>),
    Done,
}

/// The readings of one input.
pub struct InputReader {
    file: String,
    /// The header line (prepared, with its line end), to start the general reader on a remainder.
    header: Vec<u8>,
    delimiter: u8,
    /// The run's input options, for the general reader that takes over part-way.
    options: InputOptions,
    mode: Mode,
    /// Line number of the first line of the current chunk.
    chunk_line: u64,
    /// The chunk whose readings are being handed out, and how many were.
    current: Option<Chunk>,
    taken: usize,
    translation: Translation,
    /// The input carries meterflow's `emit` and `revision` columns.
    revisions: bool,
    /// The general reader's tally once it has finished (the fast path has none to give).
    tally: Tally,
    /// The input of the general reader or JSON lines, read ahead (`--idle-timeout`).
    pumped: Option<Pumped>,
}

impl InputReader {
    /// Whether every reading of the rows read so far has been handed out: only a wide row, read
    /// by the general reader, gives more than one.
    pub(crate) fn between_rows(&self) -> bool {
        match &self.mode {
            Mode::General(reader) => reader.between_rows(),
            Mode::Fast(_) | Mode::Json(_) | Mode::Done => true,
        }
    }

    /// Whether the input has a quality column (read by the general reader: the fast path declines it).
    pub(crate) fn has_quality_column(&self) -> bool {
        matches!(&self.mode, Mode::General(r) if r.columns().quality.is_some())
    }

    /// What the rows read so far carried (see [`Tally`]).
    pub(crate) fn tally(&self) -> &Tally {
        match &self.mode {
            Mode::General(reader) => reader.tally(),
            _ => &self.tally,
        }
    }

    /// Whether the input is the output of an `--emit updates` run, whose rows carry `emit` and
    /// `revision` (CSV columns, or keys of the first JSON line): each row is then a revision of
    /// its key (see [`crate::engine::Pipeline::push_revision`]).
    pub(crate) fn carries_revisions(&self) -> bool {
        self.revisions
    }
}

/// Whether a CSV header line names both an `emit` and a `revision` column.
fn names_revisions(line: &[u8], delimiter: u8) -> bool {
    let names: Vec<String> = line
        .split(|&b| b == delimiter)
        .map(|n| String::from_utf8_lossy(n).trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    names.iter().any(|n| n == "emit") && names.iter().any(|n| n == "revision")
}

/// Bytes after a failed header read for the fixes the first rows suggest.
const HINT_BYTES: u64 = 1 << 16;

impl InputReader {
    /// Reads the header of `source` (named `file` in messages). `threads` above 1 parses on that
    /// many worker threads.
    pub fn open(
        file: &str,
        source: Box<dyn Read + Send>,
        options: &InputOptions,
        names: &mut Names,
        threads: usize,
    ) -> Result<InputReader> {
        let source = parquet::csv_view(source, file, options.delimiter.unwrap_or(b','), options.numbers)?;
        let source: Box<dyn Read + Send> = match options.max_line_bytes {
            Some(cap) => Box::new(source::LineCap::new(source, file, cap)),
            None => source,
        };
        let (mut source, detected) = source::prepare(source).with_context(|| format!("failed to read {file}"))?;
        let delimiter = options.delimiter.unwrap_or(detected);
        let (header, rest) =
            read_header(&mut source).with_context(|| format!("failed to read the header of {file}"))?;
        if is_json_lines(&header) {
            let revisions = json_revisions(&header);
            let (all, pumped) = whole(file, [header.as_slice(), &rest].concat(), source, options, Framing::Line)?;
            return Ok(InputReader {
                revisions,
                file: file.to_string(),
                header: Vec::new(),
                delimiter,
                options: options.clone(),
                mode: Mode::Json(Box::new(JsonLines::new(file, all, options)?.read_ahead(pumped.clone()))),
                chunk_line: 2,
                current: None,
                taken: 0,
                translation: Translation::default(),
                tally: Tally::default(),
                pumped,
            });
        }
        let line = header.strip_suffix(b"\n").unwrap_or(&header);
        let revisions = options.layout == FileLayout::Long && names_revisions(line, delimiter);
        // A quoted header may span lines, a CR may end it early, and the csv crate skips blank
        // lines before it: the general reader reads such an input all through.
        let plain_header = !line.is_empty() && memchr::memchr2(b'"', b'\r', line).is_none();
        let layout = if plain_header {
            let head = match Reader::prepared(file, Box::new(Cursor::new(header.clone())), delimiter, options, names) {
                Ok(head) => head,
                // Read again with the first rows, for the fixes they suggest.
                Err(e) => {
                    let mut head = [header.as_slice(), &rest].concat();
                    let _ = (&mut source).take(HINT_BYTES).read_to_end(&mut head);
                    let head = Box::new(Cursor::new(head));
                    return Err(Reader::prepared(file, head, delimiter, options, names).err().unwrap_or(e));
                }
            };
            fast_layout(&head, options, delimiter, names)
        } else {
            None
        };
        let mut pumped = None;
        let mut translation = Translation::default();
        let mode = match layout {
            None => {
                let all;
                let first = [header.as_slice(), &rest].concat();
                (all, pumped) = whole(file, first, source, options, Framing::Records(delimiter))?;
                let reader = Reader::prepared(file, all, delimiter, options, names)?.read_ahead(pumped.clone());
                Mode::General(Box::new(reader))
            }
            Some(layout) if options.idle_clock => {
                let read_ahead = Pumped::start(rest, source, options.idle.clone(), Framing::Lines)
                    .with_context(|| format!("failed to start a thread to read {file}"))?;
                pumped = Some(read_ahead.clone());
                let source = Source::new(Box::new(read_ahead), Vec::new());
                let parser = translation.parser();
                Mode::Fast(Feed::Inline(Box::new(Inline { source, spare: None, layout, parser })))
            }
            Some(layout) => {
                let source = Source::new(source, rest);
                if threads > 1 {
                    let parsers = (0..threads).map(|_| translation.parser()).collect();
                    Mode::Fast(Feed::Workers(
                        Workers::start(parsers, source, layout, options.idle.clone())
                            .with_context(|| format!("failed to start threads to read {file}"))?,
                    ))
                } else {
                    let parser = translation.parser();
                    Mode::Fast(Feed::Inline(Box::new(Inline { source, spare: None, layout, parser })))
                }
            }
        };
        Ok(InputReader {
            revisions,
            file: file.to_string(),
            header,
            delimiter,
            options: options.clone(),
            mode,
            chunk_line: 2,
            current: None,
            taken: 0,
            translation,
            tally: Tally::default(),
            pumped,
        })
    }

    /// The next reading, `None` at end of input. Counts as [`Reader::next`] does, and like it
    /// sends bad rows to `bad_rows`.
    #[inline]
    pub fn next(
        &mut self,
        names: &mut Names,
        counts: &mut InputCounts,
        bad_rows: &mut BadRows,
    ) -> Result<Option<Reading>> {
        loop {
            match self.next_at_hand(names, counts, bad_rows)? {
                AtHand::Reading(reading) => return Ok(Some(reading)),
                AtHand::End => return Ok(None),
                AtHand::Waiting => while !self.wait(std::time::Duration::from_secs(1)) {},
            }
        }
    }

    /// As [`InputReader::next`], except that an input read ahead (`--idle-timeout`) gives
    /// [`AtHand::Waiting`] instead of waiting inside the reader when no whole row is at hand.
    #[inline]
    pub(crate) fn next_at_hand(
        &mut self,
        names: &mut Names,
        counts: &mut InputCounts,
        bad_rows: &mut BadRows,
    ) -> Result<AtHand> {
        if let Some(&reading) = self.current.as_ref().and_then(|c| c.readings.get(self.taken)) {
            self.taken += 1;
            counts.fast_row();
            return Ok(AtHand::Reading(reading));
        }
        self.next_slow(names, counts, bad_rows)
    }

    /// The readings of the current chunk not yet handed out, in input order, for the caller to
    /// take as a run instead of one [`InputReader::next`] each: it marks those it took with
    /// [`InputReader::took`] and counts each as a row with [`InputCounts::fast_row`], as `next`
    /// would have. Empty when the next reading needs `next` (a new chunk, the general reader).
    #[inline]
    pub(crate) fn pending(&self) -> &[Reading] {
        match &self.current {
            Some(chunk) => &chunk.readings[self.taken..],
            None => &[],
        }
    }

    /// Waits up to `wait` for a whole row of an input read ahead (`--idle-timeout`): whether
    /// [`InputReader::next`] may now be called without waiting for the input. A wait that ends
    /// without one tells the general reader that the input is silent (see
    /// [`Reader::input_silent`]). An input not read ahead answers at once, and `next` waits for
    /// the input itself.
    pub(crate) fn wait(&mut self, wait: std::time::Duration) -> bool {
        // A chunk whose readings are used up and that hands the rest to the general reader needs no wait.
        let handing_over = self.current.as_ref().is_some_and(|c| c.stop.is_some());
        if !self.pending().is_empty() || handing_over {
            return true;
        }
        let waited = |pumped: &Option<Pumped>| pumped.as_ref().is_none_or(|p| p.wait(wait));
        match &mut self.mode {
            Mode::General(reader) if reader.holds_rows() => true,
            Mode::General(reader) => waited(&self.pumped) || reader.input_silent(),
            Mode::Fast(Feed::Inline(_)) | Mode::Json(_) => waited(&self.pumped),
            Mode::Fast(Feed::Workers(_)) | Mode::Done => true,
        }
    }

    /// The first `n` readings of [`InputReader::pending`] were handed out.
    #[inline]
    pub(crate) fn took(&mut self, n: usize) {
        self.taken += n;
    }

    /// The next reading once the current chunk is used up.
    fn next_slow(&mut self, names: &mut Names, counts: &mut InputCounts, bad_rows: &mut BadRows) -> Result<AtHand> {
        loop {
            match std::mem::replace(&mut self.mode, Mode::Done) {
                Mode::Fast(mut feed) => {
                    if let Some(done) = self.current.take() {
                        self.chunk_line += done.readings.len() as u64;
                        if let Some(stop) = done.stop {
                            self.mode = Mode::General(Box::new(self.general_from(feed, done, stop, names)?));
                            continue;
                        }
                        feed.recycle(done);
                    }
                    // A chunk without readings (lines of points no job reads, bad rows) must not
                    // leave this thread waiting inside the reader while the input is silent.
                    if self.pumped.as_ref().is_some_and(|p| !p.at_hand()) {
                        self.mode = Mode::Fast(feed);
                        return Ok(AtHand::Waiting);
                    }
                    let Some(mut chunk) = feed.next() else {
                        return Err(anyhow!("failed to read {}: a parsing thread stopped", self.file));
                    };
                    if let Some(e) = chunk.error.take() {
                        return Err(anyhow::Error::new(e).context(format!("failed to read {}", self.file)));
                    }
                    if chunk.end {
                        return Ok(AtHand::End);
                    }
                    chunk.intern(names, &mut self.translation);
                    self.current = Some(chunk);
                    self.taken = 0;
                    self.mode = Mode::Fast(feed);
                    if let Some(&reading) = self.current.as_ref().and_then(|c| c.readings.get(self.taken)) {
                        self.taken += 1;
                        counts.fast_row();
                        return Ok(AtHand::Reading(reading));
                    }
                }
                Mode::General(mut reader) => {
                    let at = at_hand(reader.next(names, counts, bad_rows)?, || reader.take_waiting());
                    match at {
                        AtHand::End => self.tally = reader.tally().clone(),
                        _ => self.mode = Mode::General(reader),
                    }
                    return Ok(at);
                }
                Mode::Json(mut reader) => {
                    let at = at_hand(reader.next(names, counts, bad_rows)?, || reader.take_waiting());
                    if !matches!(at, AtHand::End) {
                        self.mode = Mode::Json(reader);
                    }
                    return Ok(at);
                }
                Mode::Done => return Ok(AtHand::End),
            }
        }
    }

    /// The general reader over the input from `stop` in chunk `done` on.
    fn general_from(&mut self, feed: Feed, done: Chunk, stop: usize, names: &mut Names) -> Result<Reader> {
        // The header is line 1 of the new stream, so its line 2 is the line the fast path stopped at.
        let first = [std::mem::take(&mut self.header).as_slice(), &done.raw()[stop..]].concat();
        let framing = Framing::Records(self.delimiter);
        let stream;
        (stream, self.pumped) = whole(&self.file, first, feed.into_rest(), &self.options, framing)?;
        Ok(Reader::prepared(&self.file, stream, self.delimiter, &self.options, names)?
            .with_line_offset(self.chunk_line - 2)
            .read_ahead(self.pumped.clone()))
    }
}

/// What a reader on this thread gave: a reading; `None` because no whole row was at hand
/// (`waiting`, an input read ahead); or `None` at the end.
fn at_hand(next: Option<Reading>, waiting: impl FnOnce() -> bool) -> AtHand {
    match next {
        Some(reading) => AtHand::Reading(reading),
        None if waiting() => AtHand::Waiting,
        None => AtHand::End,
    }
}

/// `first` (bytes read from the input) then the rest of the input, `source`, for a reader on
/// this thread; under `--idle-timeout` read ahead (see [`super::pump`]) and handed over as
/// `framing` says, with the handle that tells when a whole row is at hand.
fn whole(
    file: &str,
    first: Vec<u8>,
    source: Box<dyn Read + Send>,
    options: &InputOptions,
    framing: Framing,
) -> Result<(Box<dyn Read + Send>, Option<Pumped>)> {
    if !options.idle_clock {
        return Ok((Box::new(Cursor::new(first).chain(source)), None));
    }
    let pumped = Pumped::start(first, source, options.idle.clone(), framing)
        .with_context(|| format!("failed to start a thread to read {file}"))?;
    Ok((Box::new(pumped.clone()), Some(pumped)))
}

/// The first line of `source` with its newline (the whole input when it has none), and the bytes
/// read past it.
fn read_header(source: &mut Box<dyn Read + Send>) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut bytes = Vec::new();
    let mut searched = 0;
    let header_end = loop {
        if let Some(i) = memchr::memchr(b'\n', &bytes[searched..]) {
            break searched + i + 1;
        }
        searched = bytes.len();
        bytes.resize(searched + (1 << 16), 0);
        let n = loop {
            match source.read(&mut bytes[searched..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        bytes.truncate(searched + n);
        if n == 0 {
            break bytes.len();
        }
    };
    let rest = bytes.split_off(header_end);
    Ok((bytes, rest))
}

/// Delimiters the fast path splits on. Its timestamp and number parsers read up to the end of
/// their syntax, not to the next delimiter, so a delimiter that can occur inside a timestamp or a
/// number (a space, `.`, `:`, `-`, a digit, ...) would join what the csv crate splits.
const FAST_DELIMITERS: &[u8] = b",;\t|";

/// The fast path's layout of the columns the general reader found, or `None` when some option
/// asks for what only the general reader does: wide rows, constant or renamed names, several
/// timestamp columns, a time format or zone, interval-end stamps, a missing-value marker that reads
/// as a number, a delimiter outside [`FAST_DELIMITERS`] or that is the decimal separator (a `,`
/// inside an unquoted number), or one column given two roles (which the general reader refuses).
fn fast_layout(reader: &Reader, options: &InputOptions, delimiter: u8, names: &Names) -> Option<Layout> {
    if !FAST_DELIMITERS.contains(&delimiter) || options.numbers.decimal == delimiter {
        return None;
    }
    let c = reader.columns();
    let plain_time = matches!(options.time.format, TimeFormat::Auto)
        && options.time.zone.is_none()
        && options.interval_end.is_none();
    // The fast path takes finite numbers only, so a marker such as `NaN` still reaches the general reader.
    let numeric_marker = options.null_values.iter().any(|m| options.numbers.parse(m.trim().as_bytes()).is_some());
    if options.layout != FileLayout::Long || !plain_time || numeric_marker {
        return None;
    }
    let (&[time], Column::Column(asset), Fields::Long { point: Column::Column(point), value, renames }) =
        (c.time.as_slice(), c.asset, &c.fields)
    else {
        return None;
    };
    // Quality codes are rare in meter exports; the general reader takes them.
    if !renames.is_empty() || c.quality.is_some() {
        return None;
    }
    let mut roles = vec![Role::Other; c.width];
    let assigned = [(time, Role::Timestamp), (asset, Role::Asset), (*point, Role::Point), (*value, Role::Value)];
    for (column, role) in assigned.into_iter().chain(c.model.map(|m| (m, Role::Model))) {
        match roles.get_mut(column) {
            Some(slot) if *slot == Role::Other => *slot = role,
            _ => return None,
        }
    }
    Some(Layout { delimiter, roles, numbers: options.numbers, read: read_names(options, names) })
}

/// The names of the points and models the jobs read (see [`InputOptions::read_points`]).
fn read_names(options: &InputOptions, names: &Names) -> Option<Arc<ReadNames>> {
    let marked = |read: &[bool], table: &Interner| -> HashSet<Box<[u8]>> {
        let ids = read.iter().enumerate().filter(|&(_, &r)| r).map(|(id, _)| id);
        ids.filter(|&id| id < table.len()).map(|id| table.name(id as u32).as_bytes().into()).collect()
    };
    let points = marked(options.read_points.as_deref()?, &names.points);
    let models = options.read_models.as_deref().map(|read| marked(read, &names.models));
    Some(Arc::new(ReadNames { points, models }))
}

#[cfg(test)]
mod tests;

//! Rows to [`Reading`]s: a long row gives one reading, a wide row one per non-missing point cell.
//! A row is taken whole or not at all: any bad field makes it a bad row for [`BadRows`]. Records,
//! the joined timestamp text and the readings of a row live in buffers reused from row to row, so
//! the per-row path allocates only when a name is seen for the first time.

use super::InputCounts;
use super::columns::{Columns, Fields, HeaderError, Source};
use super::header_hint;
use super::interval::{IntervalChoice, SeriesText};
use super::name_field::{is_first_name, is_read, name};
use super::number::NumberFormat;
use super::options::InputOptions;
use super::pump::Pumped;
use super::quote_end::{CutShort, QuoteEnd};
use super::rejects::BadRows;
use super::row_time::{timestamp, undecided};
use super::shown::{quoted, shorten};
use super::source;
use super::stamps::Stamps;
use super::timestamp::TimeParser;
use crate::engine::names::{Interner, Names};
use crate::engine::{NO_MODEL, Reading, UNREAD_ASSET};
use anyhow::{Context, Result, bail};
use csv::ByteRecord;
use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;

/// Rows read ahead to infer the interval length of `--interval-end auto`.
const SAMPLE_ROWS: usize = 1000;

/// Reads one input file.
pub struct Reader {
    file: String,
    csv: csv::Reader<Box<dyn Read>>,
    delimiter: u8,
    header: Vec<String>,
    columns: Columns,
    time: TimeParser,
    /// Lower-cased missing-value markers besides the empty field.
    nulls: Vec<Box<[u8]>>,
    record: ByteRecord,
    /// The timestamp text of a row when it spans several columns.
    stamp: Vec<u8>,
    /// Readings of the current row, handed out from `next_reading` on.
    readings: Vec<Reading>,
    next_reading: usize,
    /// See [`Reader::with_line_offset`].
    line_offset: u64,
    /// See [`InputOptions::read_points`] and [`InputOptions::read_models`].
    read_points: Option<Arc<[bool]>>,
    read_models: Option<Arc<[bool]>>,
    /// Wide input: whether some job reads one of its points (else its rows need no asset).
    wide_read: bool,
    numbers: NumberFormat,
    tally: Tally,
    /// What a timestamp becomes once its series is known.
    stamps: Stamps,
    /// Rows read ahead to infer the interval length of `--interval-end auto`, not yet turned
    /// into readings, and the series and instant of those that have a timestamp.
    ahead: VecDeque<ByteRecord>,
    sample: Vec<(SeriesText, i64)>,
    /// The input, when it is read ahead (see [`Reader::read_ahead`]).
    read_ahead: Option<Pumped>,
    /// `next` gave `None` because no row was to be had without waiting (no whole record at hand,
    /// or `--interval-end auto` undecided), not at the end of the input.
    waiting: bool,
}

/// What a run tells its user about the rows a reader took: how many carried a non-zero quality
/// code, which `--points` renames of long input met their point text, and the interval length
/// `--interval-end auto` chose.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub(crate) quality_rows: u64,
    /// By rename, in `--points` order (long input).
    pub(crate) renamed: Vec<bool>,
    pub(crate) interval: Option<IntervalChoice>,
}

impl Reader {
    /// Reads the header of `source` (named `file` in messages) and resolves the columns.
    pub fn new(file: &str, source: Box<dyn Read + Send>, options: &InputOptions, names: &mut Names) -> Result<Reader> {
        let (source, detected) = source::prepare(source).with_context(|| format!("failed to read {file}"))?;
        Reader::prepared(file, source, options.delimiter.unwrap_or(detected), options, names)
    }

    /// [`Reader::new`] for a source that [`source::prepare`] has prepared, with its delimiter.
    pub(crate) fn prepared(
        file: &str,
        source: Box<dyn Read + Send>,
        delimiter: u8,
        options: &InputOptions,
        names: &mut Names,
    ) -> Result<Reader> {
        let source: Box<dyn Read> = Box::new(QuoteEnd::new(source, delimiter));
        let mut csv =
            csv::ReaderBuilder::new().has_headers(true).flexible(true).delimiter(delimiter).from_reader(source);
        let header = csv.byte_headers().with_context(|| format!("failed to read the header of {file}"))?;
        if header.is_empty() || (header.len() == 1 && header[0].trim_ascii().is_empty()) {
            bail!("{file}: the input is empty; expected a header such as timestamp,asset,point,value");
        }
        let header: Vec<String> = header.iter().map(|h| String::from_utf8_lossy(h).trim().to_string()).collect();
        let columns = match Columns::resolve(file, &header, options, names) {
            Ok(columns) => columns,
            Err(e) => return Err(with_hints(e, &mut csv, options)),
        };
        let wide_read = match &columns.fields {
            Fields::Wide { points } => points.iter().any(|&(_, p)| is_read(options.read_points.as_deref(), p)),
            Fields::Long { .. } => true,
        };
        Ok(Reader {
            file: file.to_string(),
            csv,
            delimiter,
            header,
            columns,
            time: options.time.clone(),
            nulls: options.null_values.iter().map(|m| m.as_bytes().into()).collect(),
            record: ByteRecord::new(),
            stamp: Vec::new(),
            readings: Vec::new(),
            next_reading: 0,
            line_offset: 0,
            read_points: options.read_points.clone(),
            read_models: options.read_models.clone(),
            wide_read,
            numbers: options.numbers,
            tally: Tally::default(),
            stamps: Stamps::new(&options.time, options.interval_end),
            ahead: VecDeque::new(),
            sample: Vec::new(),
            read_ahead: None,
            waiting: false,
        })
    }

    /// Numbers lines `offset` higher in messages and the rejects file: for a reader that takes
    /// over a file part-way, its line 2 being the file's line `offset + 2`.
    pub(crate) fn with_line_offset(mut self, offset: u64) -> Reader {
        self.line_offset = offset;
        self
    }

    /// The input is `pumped`, read ahead (`--idle-timeout`): `next` then reads a row only when a
    /// whole record is at hand, and otherwise gives `None` with [`Reader::take_waiting`] true.
    pub(crate) fn read_ahead(mut self, pumped: Option<Pumped>) -> Reader {
        self.read_ahead = pumped;
        self
    }

    /// Whether the last `None` of `next` meant that no row was to be had without waiting (then cleared).
    pub(crate) fn take_waiting(&mut self) -> bool {
        std::mem::take(&mut self.waiting)
    }

    pub(crate) fn columns(&self) -> &Columns {
        &self.columns
    }

    /// Whether every reading of the rows read so far has been handed out (a wide row gives several).
    pub(crate) fn between_rows(&self) -> bool {
        self.next_reading >= self.readings.len()
    }

    /// Whether rows read are waiting to be handed out (the rest of a wide row, or rows read ahead
    /// for `--interval-end auto` once it has decided), so that `next` gives a reading without
    /// reading input.
    pub(crate) fn holds_rows(&self) -> bool {
        !self.stamps.needs_sample() && (!self.between_rows() || !self.ahead.is_empty())
    }

    /// The input, read ahead, has been silent a while: `--interval-end auto` decides on the rows
    /// it has when some series has two readings among them, rather than wait for a thousand that
    /// a live stream may take hours to send. Whether rows are then waiting (see
    /// [`Reader::holds_rows`]).
    pub(crate) fn input_silent(&mut self) -> bool {
        if self.stamps.needs_sample()
            && let Some(choice) = IntervalChoice::from_sample(&self.file, &self.sample, self.ahead.len() as u64, true)
        {
            self.decided(choice);
        }
        self.holds_rows()
    }

    pub(crate) fn tally(&self) -> &Tally {
        &self.tally
    }

    /// The next reading, `None` at end of input (or, read ahead, when no row is to be had
    /// without waiting: see [`Reader::read_ahead`]). Missing values are counted and skipped; bad rows go to
    /// `bad_rows`, which stops the run or records them.
    pub fn next(
        &mut self,
        names: &mut Names,
        counts: &mut InputCounts,
        bad_rows: &mut BadRows,
    ) -> Result<Option<Reading>> {
        if self.stamps.needs_sample() && !self.infer_interval()? {
            self.waiting = true;
            return Ok(None);
        }
        loop {
            if let Some(&reading) = self.readings.get(self.next_reading) {
                self.next_reading += 1;
                return Ok(Some(reading));
            }
            let more = match self.ahead.pop_front() {
                Some(record) => {
                    self.record = record;
                    true
                }
                // A row skipped (a bad row, a point no job reads) must not leave this thread
                // waiting inside the reader while the input is silent.
                None if self.read_ahead.as_ref().is_some_and(|p| !p.at_hand()) => {
                    self.waiting = true;
                    return Ok(None);
                }
                None => self.csv.read_byte_record(&mut self.record).map_err(|e| self.csv_error(e, &self.record))?,
            };
            if !more {
                return Ok(None);
            }
            counts.rows += 1;
            self.readings.clear();
            self.next_reading = 0;
            match self.row(names, counts) {
                Ok(()) => {
                    counts.whole_rows += 1;
                    counts.values += self.columns.value_cells();
                    self.tally.quality_rows += u64::from(self.readings.first().is_some_and(|r| r.quality != 0));
                }
                Err(_) if self.is_header_again() => counts.rows -= 1,
                Err(reason) => {
                    self.readings.clear();
                    let line = self.record.position().map_or(0, |p| p.line()) + self.line_offset;
                    bad_rows.handle(&self.file, line, &reason, &self.record, self.delimiter, counts)?;
                }
            }
        }
    }

    /// `--interval-end auto`: reads up to [`SAMPLE_ROWS`] rows ahead and takes the most common
    /// step between consecutive readings of a series among them as the interval length. Read
    /// ahead, it reads only the rows at hand, and gives `false` when it has not decided yet (see
    /// [`Reader::input_silent`]).
    fn infer_interval(&mut self) -> Result<bool> {
        let mut record = ByteRecord::new();
        while self.ahead.len() < SAMPLE_ROWS {
            if self.read_ahead.as_ref().is_some_and(|p| !p.at_hand()) {
                return Ok(false);
            }
            if !self.csv.read_byte_record(&mut record).map_err(|e| self.csv_error(e, &record))? {
                break;
            }
            if record.len() == self.columns.width
                && let Ok(placed) = timestamp(&record, &self.columns, &mut self.stamp, &self.time)
            {
                self.sample.push((self.columns.series_text(&record), placed.earliest()));
            }
            self.ahead.push_back(record.clone());
        }
        match IntervalChoice::from_sample(&self.file, &self.sample, self.ahead.len() as u64, false) {
            Some(choice) => {
                self.decided(choice);
                Ok(true)
            }
            None => bail!(
                "{}: --interval-end auto: no series has two readings in the first {} rows, so the interval length \
                 cannot be inferred; give it, e.g. --interval-end 30m",
                self.file,
                self.ahead.len()
            ),
        }
    }

    fn decided(&mut self, choice: IntervalChoice) {
        self.stamps.set_interval(choice.length);
        self.tally.interval = Some(choice);
        self.sample = Vec::new();
    }

    /// Whether the current record repeats the header (`cat a.csv b.csv`, each with its header,
    /// perhaps with its own byte-order mark): a header, not a row. Asked of bad rows only, so
    /// the rows that read cost nothing.
    fn is_header_again(&self) -> bool {
        self.record.len() == self.header.len()
            && self.record.iter().zip(&self.header).enumerate().all(|(k, (field, name))| {
                if k == 0 { is_first_name(field, name) } else { field.trim_ascii() == name.as_bytes() }
            })
    }

    /// Turns the current record into readings, or says why it is a bad row.
    fn row(&mut self, names: &mut Names, counts: &mut InputCounts) -> Result<(), String> {
        let Reader {
            record,
            columns: c,
            time,
            nulls,
            stamp,
            readings,
            header,
            read_points,
            read_models,
            wide_read,
            numbers,
            tally,
            stamps,
            ..
        } = self;
        let read = |point: u32| is_read(read_points.as_deref(), point);
        let model_read = |model: u32| model == NO_MODEL || is_read(read_models.as_deref(), model);
        if record.len() != c.width {
            // csv skips blank lines, so a short or long record here is a real problem.
            return Err(format!("expected {} fields as in the header, found {}", c.width, record.len()));
        }
        match &c.fields {
            Fields::Long { point, value, renames } => {
                let value_field = record[*value].trim_ascii();
                if is_missing(value_field, nulls) {
                    counts.missing += 1;
                    if stamps.infers() {
                        let point = match *point {
                            Source::Column(p) => {
                                let raw = record[p].trim_ascii();
                                match renames.iter().find(|(from, _)| **from == *raw) {
                                    Some(&(_, id)) => Some(id),
                                    None => name(raw, true).ok().and_then(|n| names.points.get(n)),
                                }
                            }
                            Source::Constant(id) => Some(id),
                        };
                        if let Some(point) = point.filter(|&p| read(p)) {
                            note_order(record, c, stamp, time, names, stamps, read_models.as_deref(), point);
                        }
                    }
                    return Ok(());
                }
                let placed = timestamp(record, c, stamp, time)?;
                let asset = asset_name(record, c.asset)?;
                let point = match *point {
                    Source::Column(p) => {
                        let raw = record[p].trim_ascii();
                        match renames.iter().position(|(from, _)| **from == *raw) {
                            Some(k) => {
                                if tally.renamed.len() < renames.len() {
                                    tally.renamed.resize(renames.len(), false);
                                }
                                tally.renamed[k] = true;
                                renames[k].1
                            }
                            None => names.points.intern(
                                name(raw, true).map_err(|problem| field_problem(p, "point", "point", raw, problem))?,
                            ),
                        }
                    }
                    Source::Constant(id) => id,
                };
                let model = model_id(record, c.model, names)?;
                // A reading no job reads keeps no asset name, and its timestamp is not resolved
                // per series (nothing uses it).
                let (asset, ts) = match read(point) && model_read(model) {
                    true => {
                        let asset = asset.id(&mut names.assets);
                        let ts = stamps
                            .instant((asset, point), placed)
                            .map_err(|why| undecided(record, c, stamp, time, &why))?;
                        (asset, ts)
                    }
                    false => (UNREAD_ASSET, stamps.unread(placed)),
                };
                let value = match read(point) {
                    true => numbers
                        .parse(value_field)
                        .ok_or_else(|| value_problem(*value, "value", value_field, numbers))?,
                    false => UNREAD_VALUE,
                };
                let quality = quality(record, c.quality)?;
                readings.push(Reading { asset, point, model, ts, value, quality });
            }
            Fields::Wide { points } => {
                let missing =
                    points.iter().filter(|&&(col, _)| is_missing(record[col].trim_ascii(), nulls)).count() as u64;
                if missing < points.len() as u64 {
                    let placed = timestamp(record, c, stamp, time)?;
                    let asset = asset_name(record, c.asset)?;
                    let model = model_id(record, c.model, names)?;
                    // One timestamp serves every point of the row: the asset is the series.
                    let (asset, ts) = match *wide_read && model_read(model) {
                        true => {
                            let asset = asset.id(&mut names.assets);
                            let ts = stamps
                                .instant((asset, u32::MAX), placed)
                                .map_err(|why| undecided(record, c, stamp, time, &why))?;
                            (asset, ts)
                        }
                        false => (UNREAD_ASSET, stamps.unread(placed)),
                    };
                    let quality = quality(record, c.quality)?;
                    for &(col, point) in points {
                        let field = record[col].trim_ascii();
                        if is_missing(field, nulls) {
                            continue;
                        }
                        let value = match read(point) {
                            true => {
                                numbers.parse(field).ok_or_else(|| value_problem(col, &header[col], field, numbers))?
                            }
                            false => UNREAD_VALUE,
                        };
                        readings.push(Reading { asset, point, model, ts, value, quality });
                    }
                } else if stamps.infers() && *wide_read {
                    note_order(record, c, stamp, time, names, stamps, read_models.as_deref(), u32::MAX);
                }
                counts.missing += missing;
            }
        }
        Ok(())
    }

    /// The error `e` of reading `record` (whose position the csv crate set to the record's start).
    fn csv_error(&self, e: csv::Error, record: &ByteRecord) -> anyhow::Error {
        let line = e.position().map_or(0, |p| p.line()) + self.line_offset;
        match e.kind() {
            csv::ErrorKind::Io(io) if let Some(cut) = io.get_ref().and_then(|e| e.downcast_ref::<CutShort>()) => {
                let line = record.position().map_or(0, |p| p.line()) + self.line_offset;
                anyhow::anyhow!("{}:{line}: {cut}", self.file)
            }
            csv::ErrorKind::Io(_) => anyhow::Error::new(e).context(format!("failed to read {}", self.file)),
            _ => anyhow::anyhow!("{}:{line}: malformed CSV: {e}", self.file),
        }
    }
}

/// Rows looked at to propose fixes for a header.
const HINT_ROWS: usize = 50;

/// A header error with the fixes the rows after the header suggest.
fn with_hints(error: anyhow::Error, csv: &mut csv::Reader<Box<dyn Read>>, options: &InputOptions) -> anyhow::Error {
    match error.downcast::<HeaderError>() {
        Ok(mut header) => {
            let rows: Vec<Vec<String>> = csv
                .records()
                .take(HINT_ROWS)
                .filter_map(|r| r.ok())
                .map(|r| r.iter().map(|c| c.trim().to_string()).collect())
                .collect();
            header.hints = header_hint::hints(&header, &rows, options);
            header.into()
        }
        Err(other) => other,
    }
}

fn field_problem(column: usize, name: &str, kind: &str, field: &[u8], problem: &str) -> String {
    format!(
        "column {} ({name}): invalid {kind} {}: {problem}",
        column + 1,
        quoted(&shorten(&String::from_utf8_lossy(field)))
    )
}

/// A value field the number format does not read, with the flag that would read it.
#[cold]
fn value_problem(column: usize, name: &str, field: &[u8], numbers: &NumberFormat) -> String {
    let problem = format!("expected a finite number{}", numbers.hint(field));
    field_problem(column, name, "value", field, &problem)
}

/// A row's asset, checked and not yet interned.
enum Asset<'a> {
    Constant(u32),
    Named(&'a str),
}

impl Asset<'_> {
    #[inline]
    fn id(&self, assets: &mut Interner) -> u32 {
        match *self {
            Asset::Constant(id) => id,
            Asset::Named(name) => assets.intern(name),
        }
    }
}

/// Under `--dst ambiguous=infer`, a row without a value of series (`asset`, `point`) still shows
/// the series' order, so its instant is noted as a reading's would be: skipped, the second rows of
/// a repeated hour whose first rows had no value would read as the first, an hour early. Such a
/// row was never refused, so nothing is refused here either (a timestamp, name or order that does
/// not resolve is passed over), and nothing is interned (a name not met yet has no order to keep).
#[cold]
#[allow(clippy::too_many_arguments)]
fn note_order(
    record: &ByteRecord,
    c: &Columns,
    stamp: &mut Vec<u8>,
    time: &TimeParser,
    names: &Names,
    stamps: &mut Stamps,
    read_models: Option<&[bool]>,
    point: u32,
) {
    let model_read = match c.model.map(|m| record[m].trim_ascii()) {
        None | Some(b"") => true,
        Some(raw) => name(raw, false).ok().and_then(|n| names.models.get(n)).is_some_and(|m| is_read(read_models, m)),
    };
    let asset = match asset_name(record, c.asset) {
        Ok(Asset::Constant(id)) => Some(id),
        Ok(Asset::Named(n)) => names.assets.get(n),
        Err(_) => None,
    };
    if let (true, Some(asset), Ok(placed)) = (model_read, asset, timestamp(record, c, stamp, time)) {
        let _ = stamps.instant((asset, point), placed);
    }
}

#[inline]
fn asset_name(record: &ByteRecord, source: Source) -> Result<Asset<'_>, String> {
    match source {
        Source::Constant(id) => Ok(Asset::Constant(id)),
        Source::Column(c) => {
            let raw = record[c].trim_ascii();
            Ok(Asset::Named(name(raw, true).map_err(|problem| field_problem(c, "asset", "asset", raw, problem))?))
        }
    }
}

#[inline]
fn model_id(record: &ByteRecord, column: Option<usize>, names: &mut Names) -> Result<u32, String> {
    match column.map(|m| (m, record[m].trim_ascii())) {
        None | Some((_, b"")) => Ok(NO_MODEL),
        Some((m, raw)) => Ok(names
            .models
            .intern(name(raw, false).map_err(|problem| field_problem(m, "model", "model", raw, problem))?)),
    }
}

/// The row's quality code: 0 when the input has no quality column or the cell is empty.
#[inline]
fn quality(record: &ByteRecord, column: Option<usize>) -> Result<i32, String> {
    match column.map(|q| (q, record[q].trim_ascii())) {
        None | Some((_, b"")) => Ok(0),
        Some((q, raw)) => std::str::from_utf8(raw)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| field_problem(q, "quality", "quality", raw, "expected an integer quality code")),
    }
}

#[inline]
pub(super) fn is_missing(field: &[u8], nulls: &[Box<[u8]>]) -> bool {
    field.is_empty() || nulls.iter().any(|m| field.eq_ignore_ascii_case(m))
}

/// The value of a reading of a point no job reads: never parsed, never used (the pipeline counts
/// such readings and drops them), so any text passes.
pub(super) const UNREAD_VALUE: f64 = f64::NAN;

#[cfg(test)]
mod tests;

//! JSON lines input: one reading per line as the objects `run --format jsonl` writes,
//! `{"timestamp": "...", "asset": "...", "point": "...", "value": ...}` with an optional `model`
//! (other keys are ignored; `emit` in the first line marks every line a revision, see
//! [`json_revisions`]), so JSON lines output is valid input.
//! An input whose first line starts with `{` is read this way. The timestamp is read with the
//! run's time settings, as a CSV field would be; a value is a number, `true` / `false` (1 / 0),
//! `null` (missing), or a text read as a CSV value field is (missing markers, numbers in the
//! `--decimal` / `--thousands` format), and a
//! value of a point no job reads is not looked at. A line that is not such an object is a bad row.

use super::InputCounts;
use super::name_field::{CONTROL, has_bom, has_control, is_read};
use super::number::NumberFormat;
use super::options::{InputOptions, Layout};
use super::pump::Pumped;
use super::reader::{UNREAD_VALUE, is_missing};
use super::rejects::BadRows;
use super::shown::quoted;
use super::timestamp::TimeParser;
use crate::engine::names::Names;
use crate::engine::{NO_MODEL, Reading, UNREAD_ASSET};
use anyhow::{Context, Result, bail};
use csv::ByteRecord;
use serde::Deserialize;
use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

/// Whether an input whose first line is `header` is JSON lines.
pub(crate) fn is_json_lines(header: &[u8]) -> bool {
    header.trim_ascii_start().starts_with(b"{")
}

/// Whether the first line of a JSON lines input has an `emit` key: the output of an `--emit
/// updates` run, whose lines are revisions.
pub(crate) fn json_revisions(first: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(first.trim_ascii())
        .is_ok_and(|line| line.contains_key("emit"))
}

/// One line, its texts borrowed from the line where they need no unescaping.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    timestamp: Scalar<'a>,
    #[serde(borrow)]
    asset: Cow<'a, str>,
    #[serde(borrow)]
    point: Cow<'a, str>,
    #[serde(borrow)]
    value: Scalar<'a>,
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
}

/// A JSON scalar: what a timestamp or a value may be.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Text(#[serde(borrow)] Cow<'a, str>),
}

/// Reads JSON lines into readings.
pub(crate) struct JsonLines {
    file: String,
    source: BufReader<Box<dyn Read + Send>>,
    line: Vec<u8>,
    /// Lines read so far.
    number: u64,
    time: TimeParser,
    nulls: Vec<Box<[u8]>>,
    /// `--decimal` and `--thousands`, for values written as texts (a JSON number always has a
    /// decimal point).
    numbers: NumberFormat,
    read_points: Option<Arc<[bool]>>,
    read_models: Option<Arc<[bool]>>,
    /// The input, when it is read ahead (see [`JsonLines::read_ahead`]).
    read_ahead: Option<Pumped>,
    /// `next` gave `None` because no whole line was at hand, not at the end of the input.
    waiting: bool,
}

impl JsonLines {
    /// Reads `source` (named `file` in messages) from its first line. The layout and column flags
    /// are CSV's: given for JSON lines, they are refused rather than ignored.
    pub(crate) fn new(file: &str, source: Box<dyn Read + Send>, options: &InputOptions) -> Result<JsonLines> {
        let o = options;
        let csv_flags = [
            ("--wide", o.layout == Layout::Wide),
            ("--time-column", o.time_columns.is_some()),
            ("--asset-column", o.asset_column.is_some()),
            ("--point-column", o.point_column.is_some()),
            ("--value-column", o.value_column.is_some()),
            ("--asset", o.asset.is_some()),
            ("--point", o.point.is_some()),
            ("--points", o.points.is_some()),
            ("--interval-end", o.interval_end.is_some()),
        ];
        if let Some((flag, _)) = csv_flags.iter().find(|(_, given)| *given) {
            bail!(
                "{file}: the input is JSON lines (its first line starts with `{{`), read by the keys timestamp, asset, \
                 point and value: {flag} applies to CSV input"
            );
        }
        Ok(JsonLines {
            file: file.to_string(),
            source: BufReader::with_capacity(1 << 16, source),
            line: Vec::new(),
            number: 0,
            time: options.time.clone(),
            nulls: options.null_values.iter().map(|m| m.as_bytes().into()).collect(),
            numbers: options.numbers,
            read_points: options.read_points.clone(),
            read_models: options.read_models.clone(),
            read_ahead: None,
            waiting: false,
        })
    }

    /// The input is `pumped`, read ahead (`--idle-timeout`): `next` then reads a line only when
    /// a whole one is at hand, and otherwise gives `None` with [`JsonLines::take_waiting`] true.
    pub(crate) fn read_ahead(mut self, pumped: Option<Pumped>) -> JsonLines {
        self.read_ahead = pumped;
        self
    }

    /// Whether the last `None` of `next` meant that no whole line was at hand (then cleared).
    pub(crate) fn take_waiting(&mut self) -> bool {
        std::mem::take(&mut self.waiting)
    }

    /// The next reading, `None` at end of input (or, read ahead, when no whole line is at hand:
    /// see [`JsonLines::read_ahead`]); counts and bad rows as the CSV readers do.
    pub(crate) fn next(
        &mut self,
        names: &mut Names,
        counts: &mut InputCounts,
        bad_rows: &mut BadRows,
    ) -> Result<Option<Reading>> {
        loop {
            // A line skipped (blank, bad, of a point no job reads) must not leave this thread
            // waiting inside the reader while the input is silent.
            if self.source.buffer().is_empty() && self.read_ahead.as_ref().is_some_and(|p| !p.at_hand()) {
                self.waiting = true;
                return Ok(None);
            }
            self.line.clear();
            let n = self
                .source
                .read_until(b'\n', &mut self.line)
                .with_context(|| format!("failed to read {}", self.file))?;
            if n == 0 {
                return Ok(None);
            }
            self.number += 1;
            let text = self.line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            counts.rows += 1;
            let read = (self.read_points.as_deref(), self.read_models.as_deref());
            match reading(text, (&self.time, &self.nulls, self.numbers), read, names) {
                Ok(reading) => {
                    counts.whole_rows += 1;
                    counts.values += 1;
                    match reading {
                        Some(reading) => return Ok(Some(reading)),
                        None => counts.missing += 1,
                    }
                }
                Err(reason) => {
                    let record = ByteRecord::from(vec![text]);
                    bad_rows.handle(&self.file, self.number, &reason, &record, b',', counts)?;
                }
            }
        }
    }
}

/// The reading of one line, `None` for a missing value, or why the line is a bad row.
fn reading(
    text: &[u8],
    (time, nulls, numbers): (&TimeParser, &[Box<[u8]>], NumberFormat),
    (read_points, read_models): (Option<&[bool]>, Option<&[bool]>),
    names: &mut Names,
) -> Result<Option<Reading>, String> {
    let line: Line<'_> = serde_json::from_slice(text).map_err(|e| {
        format!("expected a JSON object with timestamp, asset, point and value (as --format jsonl writes): {e}")
    })?;
    let stamp: Cow<'_, [u8]> = match &line.timestamp {
        Scalar::Text(t) => Cow::Borrowed(t.trim_ascii().as_bytes()),
        Scalar::Number(n) => Cow::Owned(n.to_string().into_bytes()),
        _ => return Err("timestamp: expected a text or a number".to_string()),
    };
    let ts = time.parse(&stamp).map_err(|e| {
        format!("timestamp: invalid timestamp {:?}: {}", String::from_utf8_lossy(&stamp), time.explain(e))
    })?;
    // Names are trimmed as CSV cells are, so a name reads the same in either format.
    let (asset_name, point_name) = (line.asset.trim_ascii(), line.point.trim_ascii());
    for (field, name) in [("asset", asset_name), ("point", point_name)] {
        if name.is_empty() {
            return Err(format!("{field}: expected a non-empty name"));
        }
    }
    let model = line.model.as_deref().map_or("", str::trim_ascii);
    for (field, name) in [("asset", asset_name), ("point", point_name), ("model", model)] {
        if has_bom(name.as_bytes()) {
            return Err(format!("{field}: {name:?}: a name must not hold a byte-order mark (U+FEFF)"));
        }
        if has_control(name.as_bytes()) {
            return Err(format!("{field}: {}: {CONTROL}", quoted(name)));
        }
    }
    let point = names.points.intern(point_name);
    let read = is_read(read_points, point);
    let value = match (&line.value, read) {
        (Scalar::Null, _) => return Ok(None),
        (Scalar::Text(t), _) if is_missing(t.trim().as_bytes(), nulls) => return Ok(None),
        (_, false) => UNREAD_VALUE,
        (Scalar::Bool(b), true) => f64::from(u8::from(*b)),
        (Scalar::Number(n), true) => n.as_f64().filter(|v| v.is_finite()).ok_or("value: expected a finite number")?,
        (Scalar::Text(t), true) => {
            let field = t.trim().as_bytes();
            numbers
                .parse(field)
                .ok_or_else(|| format!("value: invalid value {t:?}: expected a finite number{}", numbers.hint(field)))?
        }
    };
    let model = match model {
        "" => NO_MODEL,
        model => names.models.intern(model),
    };
    // A reading no job reads keeps no asset name.
    let asset = match read && (model == NO_MODEL || is_read(read_models, model)) {
        true => names.assets.intern(asset_name),
        false => UNREAD_ASSET,
    };
    Ok(Some(Reading { asset, point, model, ts, value, quality: 0 }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputSettings;

    fn parse(line: &str, read: Option<&[bool]>, names: &mut Names) -> Result<Option<Reading>, String> {
        let options = InputOptions::from_settings(&InputSettings::default()).unwrap();
        let nulls: Vec<Box<[u8]>> = options.null_values.iter().map(|m| m.as_bytes().into()).collect();
        reading(line.as_bytes(), (&options.time, &nulls, options.numbers), (read, None), names)
    }

    #[test]
    fn a_text_value_is_read_only_for_a_point_a_job_reads() {
        let mut names = Names::default();
        let reading_id = names.points.intern("Reading") as usize;
        let mut read = vec![false; reading_id + 1];
        read[reading_id] = true;
        let line = |point: &str, value: &str| {
            format!(
                "{{\"timestamp\":\"1970-01-01T00:00:01Z\",\"asset\":\"m\\u0031\",\"point\":\"{point}\",\"value\":{value}}}"
            )
        };
        let unread = parse(&line("Level", "\"high\""), Some(&read), &mut names).unwrap().unwrap();
        assert!(unread.value.is_nan());
        // No job reads it: its asset name is not kept.
        assert_eq!((unread.asset, names.assets.len()), (UNREAD_ASSET, 0));
        assert_eq!(
            parse(&line("Reading", "\"high\""), Some(&read), &mut names).unwrap_err(),
            "value: invalid value \"high\": expected a finite number"
        );
        assert_eq!(parse(&line("Reading", "\" 2.5 \""), Some(&read), &mut names).unwrap().unwrap().value, 2.5);
        assert_eq!(parse(&line("Reading", "false"), Some(&read), &mut names).unwrap().unwrap().value, 0.0);
        assert_eq!(parse(&line("Reading", "\"NA\""), Some(&read), &mut names), Ok(None));
        // serde_json itself refuses a number beyond the float range: a bad row all the same.
        assert!(parse(&line("Reading", "1e999"), Some(&read), &mut names).is_err());
    }

    /// A text value is a CSV value field: `--decimal comma --thousands .` reads `"1.234"` as
    /// 1234, as in a CSV file, not as 1.234; a JSON number keeps its decimal point.
    #[test]
    fn a_text_value_is_read_in_the_decimal_and_thousands_format() {
        let settings =
            InputSettings { decimal: Some("comma".into()), thousands: Some(".".into()), ..InputSettings::default() };
        let options = InputOptions::from_settings(&settings).unwrap();
        let nulls: Vec<Box<[u8]>> = options.null_values.iter().map(|m| m.as_bytes().into()).collect();
        let mut names = Names::default();
        let mut value = |value: &str| {
            let line = format!("{{\"timestamp\":1000,\"asset\":\"m\",\"point\":\"p\",\"value\":{value}}}");
            reading(line.as_bytes(), (&options.time, &nulls, options.numbers), (None, None), &mut names)
                .map(|r| r.unwrap().value)
        };
        assert_eq!(value("\"1.234\""), Ok(1234.0));
        assert_eq!(value("\"12,5\""), Ok(12.5));
        assert_eq!(value("1.5"), Ok(1.5));
        assert!(value("\"1.5\"").unwrap_err().contains("--decimal comma is in force"));
    }

    #[test]
    fn timestamps_are_read_with_the_time_settings() {
        let mut names = Names::default();
        let line = |ts: &str| format!("{{\"timestamp\":{ts},\"asset\":\"m\",\"point\":\"p\",\"value\":1}}");
        assert_eq!(parse(&line("1000"), None, &mut names).unwrap().unwrap().ts, 1000);
        assert!(parse(&line("1700000000"), None, &mut names).unwrap_err().contains("--time-format epoch_s"));
        assert_eq!(parse(&line("true"), None, &mut names).unwrap_err(), "timestamp: expected a text or a number");
        assert!(is_json_lines(b"  {\"timestamp\""));
        assert!(!is_json_lines(b"timestamp,asset,point,value"));
    }
}

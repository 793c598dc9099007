//! Reading meter CSV into [`Reading`]s: opening files or stdin, finding the columns by name
//! (with common aliases), and parsing each row without allocating. A malformed row stops the run
//! with an error naming file, line, column and the offending text; missing-value markers are
//! skipped and counted.

use crate::engine::{NO_MODEL, Reading};
use crate::intern::Names;
use crate::time::parse_timestamp;
use anyhow::{Context, Result, bail};
use csv::ByteRecord;
use std::fs::File;
use std::io::{self, Read};

/// Header names recognised for each column, compared case-insensitively.
const TIMESTAMP_NAMES: &[&str] = &["timestamp", "time", "ts", "datetime", "date_time", "event_time", "eventtime"];
const ASSET_NAMES: &[&str] = &["asset", "asset_id", "assetid", "device", "device_id", "deviceid", "meter", "meter_id", "meterid"];
const POINT_NAMES: &[&str] = &["point", "point_id", "pointid", "measurement", "metric"];
const VALUE_NAMES: &[&str] = &["value", "val", "point_value"];
const MODEL_NAMES: &[&str] = &["model", "model_id", "modelid"];

/// Value texts that mean "no reading": skipped and counted, never an error.
const MISSING_MARKERS: &[&str] = &["", "?", "na", "nan", "null"];

/// Opens an input path for reading; `-` is stdin. The reader may move to another thread.
pub fn open(path: &str) -> Result<Box<dyn Read + Send>> {
    if path == "-" {
        return Ok(Box::new(io::stdin()));
    }
    let file = File::open(path).with_context(|| format!("failed to open input {path}"))?;
    Ok(Box::new(file))
}

/// Figures of the input side, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputCounts {
    /// Data rows read (header excluded).
    pub rows: u64,
    /// Rows whose value was a missing-value marker.
    pub missing: u64,
}

/// Where the columns of a long-format input are (0-based), and how many there are.
pub struct Columns {
    pub timestamp: usize,
    pub asset: usize,
    pub point: usize,
    pub value: usize,
    pub model: Option<usize>,
    pub width: usize,
}

/// A long-format reader: one reading per row.
pub struct LongReader {
    file: String,
    csv: csv::Reader<Box<dyn Read>>,
    record: ByteRecord,
    columns: Columns,
    /// Added to line numbers in messages, when this reader continues an input another one began.
    line_offset: u64,
}

impl LongReader {
    /// Reads the header of `source` (named `file` in messages) and finds the columns.
    pub fn new(file: &str, source: Box<dyn Read>) -> Result<LongReader> {
        let mut csv = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(source);
        let header = csv.byte_headers().with_context(|| format!("failed to read the header of {file}"))?.clone();
        if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
            bail!("{file}: the input is empty; expected a header such as timestamp,asset,point,value");
        }
        let names: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let text = String::from_utf8_lossy(h);
                // A UTF-8 byte-order mark may precede the first name.
                let text = if i == 0 { text.trim_start_matches('\u{feff}').to_string() } else { text.into_owned() };
                text.trim().to_ascii_lowercase()
            })
            .collect();
        let find = |role: &str, aliases: &[&str]| -> Result<usize> {
            names.iter().position(|n| aliases.contains(&n.as_str())).with_context(|| {
                format!("{file}:1: no {role} column in the header ({}); expected one named {}", names.join(","), aliases.join(", "))
            })
        };
        let columns = Columns {
            timestamp: find("timestamp", TIMESTAMP_NAMES)?,
            asset: find("asset", ASSET_NAMES)?,
            point: find("point", POINT_NAMES)?,
            value: find("value", VALUE_NAMES)?,
            model: names.iter().position(|n| MODEL_NAMES.contains(&n.as_str())),
            width: header.len(),
        };
        Ok(LongReader { file: file.to_string(), csv, record: ByteRecord::new(), columns, line_offset: 0 })
    }

    /// Numbers lines `offset` further on: for a source that holds the header and then the input
    /// from line `offset + 2` on.
    pub fn with_line_offset(mut self, offset: u64) -> LongReader {
        self.line_offset = offset;
        self
    }

    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// The next reading, `None` at end of input. Rows with a missing value are counted and skipped.
    pub fn next(&mut self, names: &mut Names, counts: &mut InputCounts) -> Result<Option<Reading>> {
        loop {
            let more = self.csv.read_byte_record(&mut self.record).map_err(|e| self.csv_error(e))?;
            if !more {
                return Ok(None);
            }
            counts.rows += 1;
            let line = self.record.position().map_or(0, |p| p.line()) + self.line_offset;
            if self.record.len() != self.columns.width {
                // A blank line in the middle of a file is not a reading; csv already skips them,
                // so a short record here is a real problem.
                bail!("{}:{line}: expected {} fields as in the header, found {}", self.file, self.columns.width, self.record.len());
            }
            let c = &self.columns;
            let value_field = trim(&self.record[c.value]);
            if is_missing(value_field) {
                counts.missing += 1;
                continue;
            }
            let ts = parse_timestamp(trim(&self.record[c.timestamp]))
                .map_err(|e| self.field_error(line, c.timestamp, "timestamp", &e.to_string()))?;
            let value = parse_value(value_field).ok_or_else(|| self.field_error(line, c.value, "value", "expected a finite number"))?;
            let asset = text(trim(&self.record[c.asset])).ok_or_else(|| self.field_error(line, c.asset, "asset", "expected a non-empty UTF-8 name"))?;
            let point = text(trim(&self.record[c.point])).ok_or_else(|| self.field_error(line, c.point, "point", "expected a non-empty UTF-8 name"))?;
            let model = match c.model {
                Some(m) => match trim(&self.record[m]) {
                    b"" => NO_MODEL,
                    bytes => names.models.intern(text(bytes).ok_or_else(|| self.field_error(line, m, "model", "expected a UTF-8 name"))?),
                },
                None => NO_MODEL,
            };
            return Ok(Some(Reading { asset: names.assets.intern(asset), point: names.points.intern(point), model, ts, value }));
        }
    }

    fn field_error(&self, line: u64, column: usize, role: &str, problem: &str) -> anyhow::Error {
        let shown = String::from_utf8_lossy(&self.record[column]);
        anyhow::anyhow!("{}:{line}: column {} ({role}): invalid {role} {shown:?}: {problem}", self.file, column + 1)
    }

    fn csv_error(&self, e: csv::Error) -> anyhow::Error {
        let line = e.position().map_or(0, |p| p.line()) + self.line_offset;
        match e.kind() {
            csv::ErrorKind::Io(_) => anyhow::Error::new(e).context(format!("failed to read {}", self.file)),
            _ => anyhow::anyhow!("{}:{line}: malformed CSV: {e}", self.file),
        }
    }
}

#[inline]
fn trim(field: &[u8]) -> &[u8] {
    field.trim_ascii()
}

#[inline]
fn text(field: &[u8]) -> Option<&str> {
    if field.is_empty() { None } else { std::str::from_utf8(field).ok() }
}

#[inline]
fn is_missing(field: &[u8]) -> bool {
    field.len() <= 4 && MISSING_MARKERS.iter().any(|m| field.eq_ignore_ascii_case(m.as_bytes()))
}

#[inline]
fn parse_value(field: &[u8]) -> Option<f64> {
    let v: f64 = std::str::from_utf8(field).ok()?.parse().ok()?;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str) -> Result<(Vec<Reading>, InputCounts, Names)> {
        let mut names = Names::default();
        let mut counts = InputCounts::default();
        let mut reader = LongReader::new("in.csv", Box::new(io::Cursor::new(text.as_bytes().to_vec())))?;
        let mut out = Vec::new();
        while let Some(r) = reader.next(&mut names, &mut counts)? {
            out.push(r);
        }
        Ok((out, counts, names))
    }

    #[test]
    fn aliases_and_markers() {
        let (rows, counts, names) = read_all("\u{feff}Time,Device,PointId,Val\n1970-01-01T00:00:01Z,m1,Reading,1.5\n1970-01-01T00:00:02Z,m1,Reading,NA\n").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].ts, 1000);
        assert_eq!(rows[0].value, 1.5);
        assert_eq!(names.assets.name(rows[0].asset), "m1");
        assert_eq!(counts, InputCounts { rows: 2, missing: 1 });
    }

    #[test]
    fn malformed_rows_are_located() {
        let err = read_all("timestamp,asset,point,value\n1970-01-01T00:00:01Z,m1,Reading,1\n1970-01-01T00:00:02Z,m1,Reading,abc\n").unwrap_err();
        assert_eq!(err.to_string(), "in.csv:3: column 4 (value): invalid value \"abc\": expected a finite number");
        let err = read_all("timestamp,asset,point,value\n1970-01-01T00:00:01Z,m1,Reading\n").unwrap_err();
        assert_eq!(err.to_string(), "in.csv:2: expected 4 fields as in the header, found 3");
        let err = read_all("timestamp,asset,value\n").unwrap_err();
        assert!(err.to_string().starts_with("in.csv:1: no point column"), "{err}");
    }
}

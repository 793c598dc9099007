//! The one formatter for timestamps and numbers, and the writers of output points (CSV or JSON
//! lines) and of dropped late rows. Rows are formatted into a reused buffer, never with `format!`.

use crate::engine::{Dropped, Emit, Point, Value};
use crate::intern::Names;
use crate::time::format_timestamp;
use std::io::{self, Write};

/// Output encodings of points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Csv,
    Jsonl,
}

/// Writes a float in the shortest form that round-trips, without a trailing `.0` on integers:
/// `12`, `12.5`, `0.30000000000000004`, `1e21`.
#[inline]
pub fn format_number(v: f64, out: &mut Vec<u8>) {
    let mut buffer = ryu::Buffer::new();
    // `format` rather than `format_finite`: the engine writes finite values only, but should one
    // slip through it must read `inf` or `NaN`, never a wrong number.
    let text = buffer.format(v);
    out.extend_from_slice(text.strip_suffix(".0").unwrap_or(text).as_bytes());
}

/// Appends a value; text goes through the format's own quoting.
fn format_value(value: &Value, text: fn(&str, &mut Vec<u8>), out: &mut Vec<u8>) {
    match value {
        Value::Number(v) => format_number(*v, out),
        Value::Count(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Text(s) => text(s, out),
    }
}

/// Appends `field` as a CSV field, quoted only when it must be.
fn csv_field(field: &str, out: &mut Vec<u8>) {
    let needs_quotes = field.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
        || field.starts_with(' ')
        || field.ends_with(' ');
    if !needs_quotes {
        out.extend_from_slice(field.as_bytes());
        return;
    }
    out.push(b'"');
    for b in field.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Appends `text` as a JSON string.
fn json_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn emit_label(emit: Emit) -> &'static str {
    match emit {
        Emit::Final => "final",
        Emit::OnTime => "on_time",
        Emit::Late => "late",
    }
}

/// Writes output points.
pub struct PointWriter {
    out: Box<dyn Write>,
    line: Vec<u8>,
    format: Format,
    /// Whether rows carry `emit` and `revision` (`updates` mode).
    revisions: bool,
}

impl PointWriter {
    /// Wraps `out` and writes the CSV header if the format has one.
    pub fn new(out: Box<dyn Write>, format: Format, revisions: bool) -> io::Result<PointWriter> {
        let mut w = PointWriter { out, line: Vec::with_capacity(128), format, revisions };
        if format == Format::Csv {
            let header: &[u8] = if revisions { b"timestamp,asset,point,value,emit,revision\n" } else { b"timestamp,asset,point,value\n" };
            w.out.write_all(header)?;
        }
        Ok(w)
    }

    pub fn write(&mut self, p: &Point, names: &Names) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        let asset = names.assets.name(p.asset);
        let point = names.points.name(p.point);
        match self.format {
            Format::Csv => {
                format_timestamp(p.ts, line);
                line.push(b',');
                csv_field(asset, line);
                line.push(b',');
                csv_field(point, line);
                line.push(b',');
                format_value(&p.value, csv_field, line);
                if self.revisions {
                    line.push(b',');
                    line.extend_from_slice(emit_label(p.emit).as_bytes());
                    line.push(b',');
                    line.extend_from_slice(itoa::Buffer::new().format(p.revision).as_bytes());
                }
            }
            Format::Jsonl => {
                line.extend_from_slice(b"{\"timestamp\":\"");
                format_timestamp(p.ts, line);
                line.extend_from_slice(b"\",\"asset\":");
                json_string(asset, line);
                line.extend_from_slice(b",\"point\":");
                json_string(point, line);
                line.extend_from_slice(b",\"value\":");
                format_value(&p.value, json_string, line);
                if self.revisions {
                    line.extend_from_slice(b",\"emit\":\"");
                    line.extend_from_slice(emit_label(p.emit).as_bytes());
                    line.extend_from_slice(b"\",\"revision\":");
                    line.extend_from_slice(itoa::Buffer::new().format(p.revision).as_bytes());
                }
                line.push(b'}');
            }
        }
        line.push(b'\n');
        self.out.write_all(line)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Writes rows dropped as late beyond lateness: the reading, the job, the reason, the window it
/// belonged to and the watermark when it arrived.
pub struct LateWriter {
    out: Box<dyn Write>,
    line: Vec<u8>,
}

impl LateWriter {
    pub const HEADER: &'static [u8] = b"timestamp,asset,point,value,job,reason,window_start,window_end,watermark\n";

    pub fn new(mut out: Box<dyn Write>) -> io::Result<LateWriter> {
        out.write_all(Self::HEADER)?;
        Ok(LateWriter { out, line: Vec::with_capacity(160) })
    }

    pub fn write(&mut self, d: &Dropped, job: &str, names: &Names) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        format_timestamp(d.reading.ts, line);
        line.push(b',');
        csv_field(names.assets.name(d.reading.asset), line);
        line.push(b',');
        csv_field(names.points.name(d.reading.point), line);
        line.push(b',');
        format_number(d.reading.value, line);
        line.push(b',');
        csv_field(job, line);
        line.push(b',');
        line.extend_from_slice(d.reason.label().as_bytes());
        line.push(b',');
        format_timestamp(d.window_start, line);
        line.push(b',');
        format_timestamp(d.window_end, line);
        line.push(b',');
        format_timestamp(d.watermark, line);
        line.push(b'\n');
        self.out.write_all(line)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(v: f64) -> String {
        let mut out = Vec::new();
        format_number(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_in_shortest_round_trip_form() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(-3.0), "-3");
        assert_eq!(num(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(num(1e21), "1e21");
        assert_eq!(num(1.5e-7), "1.5e-7");
        for v in [0.1, 1.0 / 3.0, 123456.789, 1e300, -2.5e-300] {
            assert_eq!(num(v).parse::<f64>().unwrap(), v);
        }
    }

    #[test]
    fn csv_quoting() {
        let mut out = Vec::new();
        csv_field("a,b \"c\"", &mut out);
        assert_eq!(out, b"\"a,b \"\"c\"\"\"");
    }
}

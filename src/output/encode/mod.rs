//! Encoders: each output row as bytes, apart from where the bytes go (see [`super::points`] and
//! [`super::late`]). One module per format ([`csv`], [`jsonl`], [`influx`]) and the one number
//! formatter ([`number`]); rows are formatted into a reused buffer, never with `format!`.

pub mod csv;
pub mod influx;
pub mod jsonl;
pub mod number;

use crate::engine::names::Names;
use crate::engine::{Dropped, Emit, Point, Value};
use crate::time::{MS_PER_MINUTE, format_timestamp};
use number::{format_number, format_rounded};
use std::io;

/// Output encodings of points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Csv,
    Jsonl,
    /// InfluxDB line protocol (see [`influx`]).
    Influx,
    /// A Parquet file: not a line format, written by its own destination (`output::parquet`);
    /// its late rows are CSV.
    Parquet,
}

/// Appends a value (numbers rounded to `decimals` places when given); text goes through the
/// format's own quoting.
pub(crate) fn format_value(value: &Value, decimals: Option<u8>, text: fn(&str, &mut Vec<u8>), out: &mut Vec<u8>) {
    match value {
        Value::Number(v) => match decimals {
            Some(n) => format_rounded(*v, usize::from(n), out),
            None => format_number(*v, out),
        },
        Value::Count(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Text(s) => text(s, out),
    }
}

/// How a row's label is spelled in every output.
pub(crate) fn emit_label(emit: Emit) -> &'static str {
    match emit {
        Emit::Final => "final",
        Emit::OnTime => "on_time",
        Emit::Late => "late",
    }
}

/// One point's row as its format needs it: the names and timestamp already encoded.
pub(crate) struct Row<'a> {
    pub(crate) p: &'a Point,
    pub(crate) stamp: &'a [u8],
    pub(crate) asset: &'a [u8],
    pub(crate) point: &'a [u8],
    pub(crate) decimals: Option<u8>,
    /// The label and revision, written in `updates` mode.
    pub(crate) revision: Option<(&'static str, u32)>,
}

/// Encodes output points in one format, keeping what rows repeat: encoded names and the last
/// timestamp's text.
pub struct PointEncoder {
    format: Format,
    /// Whether rows carry `emit` and `revision` (`updates` mode).
    revisions: bool,
    /// The last two minutes written and each one's latest timestamp text, the latest first:
    /// consecutive rows mostly share a minute (a flush shares the window start), so most rows only
    /// rewrite their seconds and milliseconds rather than convert a date again. Two, because a
    /// merge's row for the tick before follows each window's rows: the seed's flush alternates
    /// between two minutes.
    stamps: Stamps,
    /// Each asset and point name encoded for `format` (by id; empty until first written): rows
    /// repeat a few names.
    encoded: [Vec<Vec<u8>>; 2],
    /// `--decimals`: numbers rounded to this many places; `None` writes the shortest round-trip form.
    decimals: Option<u8>,
}

impl PointEncoder {
    pub fn new(format: Format, revisions: bool, decimals: Option<u8>) -> PointEncoder {
        PointEncoder { format, revisions, stamps: Stamps::default(), encoded: [Vec::new(), Vec::new()], decimals }
    }

    /// The bytes the output starts with.
    pub(crate) fn header(&self) -> &'static [u8] {
        match self.format {
            Format::Csv => csv::header(self.revisions),
            Format::Jsonl | Format::Influx | Format::Parquet => b"",
        }
    }

    /// Appends the row of `p` to `line`; a point the format cannot hold is an error and appends
    /// nothing.
    #[inline]
    pub fn point(&mut self, p: &Point, names: &Names, line: &mut Vec<u8>) -> io::Result<()> {
        let [assets, points] = &mut self.encoded;
        let [asset_encoder, point_encoder] = name_encoders(self.format);
        let row = Row {
            p,
            stamp: match self.format {
                Format::Influx | Format::Parquet => b"",
                Format::Csv | Format::Jsonl => cached_timestamp(&mut self.stamps, p.ts),
            },
            asset: encoded_name(assets, p.asset, names.assets.name(p.asset), asset_encoder),
            point: encoded_name(points, p.point, names.points.name(p.point), point_encoder),
            decimals: self.decimals,
            revision: self.revisions.then(|| (emit_label(p.emit), p.revision)),
        };
        match self.format {
            Format::Parquet => return Err(io::Error::other("Parquet is not a line format")),
            Format::Csv => csv::point(&row, line),
            Format::Jsonl => jsonl::point(&row, line),
            Format::Influx => {
                let start = line.len();
                if let Err(e) = influx::point(&row, names, line) {
                    line.truncate(start);
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

/// A name encoded by `encode` as a field of the output format, made once per name.
fn encoded_name<'a>(cache: &'a mut Vec<Vec<u8>>, id: u32, name: &str, encode: fn(&str, &mut Vec<u8>)) -> &'a [u8] {
    let id = id as usize;
    if cache.len() <= id {
        cache.resize_with(id + 1, Vec::new);
    }
    if cache[id].is_empty() {
        encode(name, &mut cache[id]);
    }
    &cache[id]
}

/// How `format` encodes asset and point names.
fn name_encoders(format: Format) -> [fn(&str, &mut Vec<u8>); 2] {
    match format {
        Format::Csv | Format::Parquet => [csv::field, csv::field],
        Format::Jsonl => [jsonl::string, jsonl::string],
        Format::Influx => [influx::tag, influx::measurement],
    }
}

/// Minutes and their timestamp texts (see [`PointEncoder`]); an empty text holds no minute yet.
type Stamps = [(i64, Vec<u8>); 2];

/// `ts` formatted as [`format_timestamp`] does, reusing the text of a minute `stamps` holds when
/// `ts` falls in it: the text ends in `SS.mmmZ`, and everything before depends on the minute only.
/// A minute not held replaces the one used less recently, in its buffer.
fn cached_timestamp(stamps: &mut Stamps, ts: i64) -> &[u8] {
    let minute = ts.div_euclid(MS_PER_MINUTE);
    let held = |(m, text): &(i64, Vec<u8>)| *m == minute && !text.is_empty();
    if !held(&stamps[0]) {
        stamps.swap(0, 1);
        if !held(&stamps[0]) {
            let (m, text) = &mut stamps[0];
            *m = minute;
            text.clear();
            format_timestamp(ts, text);
            return text;
        }
    }
    let text = &mut stamps[0].1;
    let ms = (ts - minute * MS_PER_MINUTE) as u32;
    let at = text.len() - 7;
    for (offset, digit) in [(0, ms / 10_000), (1, ms / 1000 % 10), (3, ms / 100 % 10), (4, ms / 10 % 10), (5, ms % 10)]
    {
        text[at + offset] = b'0' + digit as u8;
    }
    text
}

/// The header of late rows in CSV.
pub(crate) const LATE_HEADER: &[u8] = b"timestamp,asset,point,value,job,reason,window_start,window_end,watermark\n";

/// Starts the field `name` of a late row: a separator unless it is the first, and its key in JSON.
fn late_field(line: &mut Vec<u8>, jsonl: bool, name: &str) {
    match (jsonl, line.is_empty()) {
        (false, true) => {}
        (false, false) => line.push(b','),
        (true, first) => {
            line.extend_from_slice(if first { b"{\"" } else { b",\"" });
            line.extend_from_slice(name.as_bytes());
            line.extend_from_slice(b"\":");
        }
    }
}

/// The row of a reading dropped as late, written into `line` (cleared first): the reading, its job,
/// the reason, the window it belonged to and the watermark when it arrived; as CSV, or as a JSON
/// object when `jsonl`.
pub(crate) fn late_row(d: &Dropped, job: &str, names: &Names, jsonl: bool, line: &mut Vec<u8>) {
    line.clear();
    let text: fn(&str, &mut Vec<u8>) = if jsonl { jsonl::string } else { csv::field };
    let stamp = |ts: i64, line: &mut Vec<u8>| {
        let quote: &[u8] = if jsonl { b"\"" } else { b"" };
        line.extend_from_slice(quote);
        format_timestamp(ts, line);
        line.extend_from_slice(quote);
    };
    late_field(line, jsonl, "timestamp");
    stamp(d.reading.ts, line);
    late_field(line, jsonl, "asset");
    text(names.assets.name(d.reading.asset), line);
    late_field(line, jsonl, "point");
    text(names.points.name(d.reading.point), line);
    late_field(line, jsonl, "value");
    format_number(d.reading.value, line);
    late_field(line, jsonl, "job");
    text(job, line);
    late_field(line, jsonl, "reason");
    text(d.reason.label(), line);
    late_field(line, jsonl, "window_start");
    stamp(d.window_start, line);
    late_field(line, jsonl, "window_end");
    stamp(d.window_end, line);
    late_field(line, jsonl, "watermark");
    stamp(d.watermark, line);
    line.extend_from_slice(if jsonl { b"}\n" } else { b"\n" });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_timestamps_are_format_timestamp() {
        let mut stamps = Stamps::default();
        let year_minus_1 = -62_198_755_200_000 + 61_234;
        let year_10000 = 253_402_300_800_000 + 1_234;
        for ts in [
            0,
            59_999,
            1_000,
            60_000,
            61_234,
            -1,
            -60_000,
            -59_001,
            1_709_208_000_000,
            1_709_208_059_999,
            year_minus_1,
            year_minus_1 + 5,
            year_10000,
            year_10000 + 58_000,
            // A flush's rows: two window rows, then the merge's row of the tick before, per meter.
            1_709_208_600_000,
            1_709_208_600_000,
            1_709_208_000_000,
            1_709_208_601_500,
            1_709_208_000_250,
            1_709_208_600_000,
            1_709_209_200_000,
            1_709_208_600_007,
            1_709_208_000_000,
        ] {
            let mut expected = Vec::new();
            format_timestamp(ts, &mut expected);
            assert_eq!(cached_timestamp(&mut stamps, ts), &expected[..], "{ts}");
        }
    }
}

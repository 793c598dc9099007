//! The one formatter for timestamps and numbers, and the writers of output points (CSV, JSON
//! lines or InfluxDB line protocol) and of dropped late rows, and [`PointSink`], which a database
//! output implements too. Rows are formatted into a reused buffer, never with `format!`.

pub mod database;
pub mod live;
pub mod threaded;

use crate::engine::names::Names;
use crate::engine::{Dropped, Emit, Point, Value};
use crate::time::{MS_PER_MINUTE, format_timestamp};
use std::io::{self, Write};

/// Output encodings of points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Csv,
    Jsonl,
    /// InfluxDB line protocol: `point,asset=ID value=V <ns>`, updates mode adding the fields `emit`
    /// and `revision`. A newer row for the same key overwrites the older, as the store upserts.
    Influx,
}

/// Nanoseconds per millisecond: line protocol timestamps are in nanoseconds.
const NS_PER_MS: i64 = 1_000_000;

/// Writes a float in the shortest form that round-trips, without a trailing `.0` on integers:
/// `12`, `12.5`, `0.30000000000000004`, `1e21`.
///
/// The digits come from `zmij`, which picks the same shortest digits and the same switch to
/// exponent notation as `ryu` (the text this output has always had) at a fraction of the cost;
/// it spells a positive exponent `e+21` where ryu writes `e21`, so the `+` is dropped.
#[inline]
pub fn format_number(v: f64, out: &mut Vec<u8>) {
    let mut buffer = zmij::Buffer::new();
    // `format` rather than `format_finite`: the engine writes finite values only, but should one
    // slip through it must read `inf` or `NaN`, never a wrong number.
    let text = buffer.format(v).as_bytes();
    // An exponent (`e-7`, `e+308`) is at most the last five bytes.
    let tail = text.len().saturating_sub(5);
    match text[tail..].iter().position(|&b| b == b'e').map(|at| tail + at) {
        Some(e) if text.get(e + 1) == Some(&b'+') => {
            out.extend_from_slice(&text[..=e]);
            out.extend_from_slice(&text[e + 2..]);
        }
        Some(_) => out.extend_from_slice(text),
        None => out.extend_from_slice(text.strip_suffix(b".0").unwrap_or(text)),
    }
}

/// Writes a float rounded to `decimals` places (`--decimals`), correctly rounded from its exact
/// binary value (an exact tie, such as 2.5 to 0 places, goes to the even digit), without trailing
/// zeros or a trailing point, and `0` for a negative value that rounds to zero: `2.1700000000000728`
/// to 2 places is `2.17`, `12.5` to 0 places is `12`.
pub fn format_rounded(v: f64, decimals: usize, out: &mut Vec<u8>) {
    let start = out.len();
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{v:.decimals$}");
    if out[start..].contains(&b'.') {
        while out.last() == Some(&b'0') {
            out.pop();
        }
        if out.last() == Some(&b'.') {
            out.pop();
        }
    }
    if &out[start..] == b"-0" {
        out.remove(start);
    }
}

/// Appends a value (numbers rounded to `decimals` places when given); text goes through the
/// format's own quoting.
fn format_value(value: &Value, decimals: Option<u8>, text: fn(&str, &mut Vec<u8>), out: &mut Vec<u8>) {
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

/// Appends `text` with a backslash before each of `special` (line protocol escaping); a line break
/// cannot be written in line protocol at all.
fn influx_escaped(text: &str, special: &[u8], out: &mut Vec<u8>) {
    for b in text.bytes() {
        if special.contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// A measurement name (the point): commas and spaces escaped.
fn influx_measurement(text: &str, out: &mut Vec<u8>) {
    influx_escaped(text, b", ", out);
}

/// A tag value (the asset): commas, equals signs and spaces escaped.
fn influx_tag(text: &str, out: &mut Vec<u8>) {
    influx_escaped(text, b",= ", out);
}

/// A string field value: quoted, with quotes and backslashes escaped.
fn influx_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    influx_escaped(text, b"\"\\", out);
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

/// How a row's label is spelled in every output.
pub fn emit_label(emit: Emit) -> &'static str {
    match emit {
        Emit::Final => "final",
        Emit::OnTime => "on_time",
        Emit::Late => "late",
    }
}

/// Rows are handed to the writer underneath in pieces of about this many bytes.
const HAND_OVER: usize = 1 << 16;

/// Writes output points.
pub struct PointWriter {
    out: Box<dyn Write + Send>,
    /// Rows formatted and not yet handed to `out`: formatting straight into one large buffer and
    /// handing it over a piece at a time spares a copy and a call through `out` per row. Handed
    /// over by [`PointWriter::flush`], when dropped, and whenever it grows past [`HAND_OVER`].
    rows: Vec<u8>,
    format: Format,
    /// Whether rows carry `emit` and `revision` (`updates` mode).
    revisions: bool,
    /// The minute of the last timestamp written and that timestamp's text: consecutive rows
    /// mostly share the minute (a flush shares the window start), so most rows only rewrite their
    /// seconds and milliseconds rather than convert a date again.
    stamp: Option<(i64, Vec<u8>)>,
    /// Each asset and point name encoded for `format` (by id; empty until first written): rows
    /// repeat a few names.
    encoded: [Vec<Vec<u8>>; 2],
    /// `--decimals`: numbers rounded to this many places; `None` writes the shortest round-trip form.
    decimals: Option<u8>,
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
        Format::Csv => [csv_field, csv_field],
        Format::Jsonl => [json_string, json_string],
        Format::Influx => [influx_tag, influx_measurement],
    }
}

/// `ts` formatted as [`format_timestamp`] does, reusing `stamp` when `ts` falls in its minute: the
/// text ends in `SS.mmmZ`, and everything before depends on the minute only.
fn cached_timestamp(stamp: &mut Option<(i64, Vec<u8>)>, ts: i64) -> &[u8] {
    let minute = ts.div_euclid(MS_PER_MINUTE);
    match stamp {
        Some((m, text)) if *m == minute => {
            let ms = (ts - minute * MS_PER_MINUTE) as u32;
            let at = text.len() - 7;
            for (offset, digit) in
                [(0, ms / 10_000), (1, ms / 1000 % 10), (3, ms / 100 % 10), (4, ms / 10 % 10), (5, ms % 10)]
            {
                text[at + offset] = b'0' + digit as u8;
            }
        }
        _ => {
            let mut text = Vec::with_capacity(25);
            format_timestamp(ts, &mut text);
            *stamp = Some((minute, text));
        }
    }
    stamp.as_ref().map_or(&[], |(_, text)| text.as_slice())
}

impl PointWriter {
    /// Wraps `out` and writes the CSV header if the format has one.
    pub fn new(out: Box<dyn Write + Send>, format: Format, revisions: bool) -> io::Result<PointWriter> {
        let mut w = PointWriter {
            out,
            rows: Vec::with_capacity(HAND_OVER + 1024),
            format,
            revisions,
            stamp: None,
            encoded: [Vec::new(), Vec::new()],
            decimals: None,
        };
        if format == Format::Csv {
            let header: &[u8] = if revisions {
                b"timestamp,asset,point,value,emit,revision\n"
            } else {
                b"timestamp,asset,point,value\n"
            };
            w.out.write_all(header)?;
        }
        Ok(w)
    }

    /// Rounds numbers to `decimals` places (`None`: the shortest round-trip form).
    pub fn with_decimals(mut self, decimals: Option<u8>) -> PointWriter {
        self.decimals = decimals;
        self
    }

    pub fn write(&mut self, p: &Point, names: &Names) -> io::Result<()> {
        let line = &mut self.rows;
        let start = line.len();
        let [assets, points] = &mut self.encoded;
        let [asset_encoder, point_encoder] = name_encoders(self.format);
        let asset = encoded_name(assets, p.asset, names.assets.name(p.asset), asset_encoder);
        let point = encoded_name(points, p.point, names.points.name(p.point), point_encoder);
        if self.format == Format::Influx {
            if let Err(e) = influx_line(p, asset, point, self.decimals, self.revisions, names, line) {
                line.truncate(start);
                return Err(e);
            }
            return self.hand_over_when_full();
        }
        let stamp = cached_timestamp(&mut self.stamp, p.ts);
        match self.format {
            Format::Csv => {
                line.extend_from_slice(stamp);
                line.push(b',');
                line.extend_from_slice(asset);
                line.push(b',');
                line.extend_from_slice(point);
                line.push(b',');
                format_value(&p.value, self.decimals, csv_field, line);
                if self.revisions {
                    line.push(b',');
                    line.extend_from_slice(emit_label(p.emit).as_bytes());
                    line.push(b',');
                    line.extend_from_slice(itoa::Buffer::new().format(p.revision).as_bytes());
                }
            }
            Format::Jsonl => {
                line.extend_from_slice(b"{\"timestamp\":\"");
                line.extend_from_slice(stamp);
                line.extend_from_slice(b"\",\"asset\":");
                line.extend_from_slice(asset);
                line.extend_from_slice(b",\"point\":");
                line.extend_from_slice(point);
                line.extend_from_slice(b",\"value\":");
                format_value(&p.value, self.decimals, json_string, line);
                if self.revisions {
                    line.extend_from_slice(b",\"emit\":\"");
                    line.extend_from_slice(emit_label(p.emit).as_bytes());
                    line.extend_from_slice(b"\",\"revision\":");
                    line.extend_from_slice(itoa::Buffer::new().format(p.revision).as_bytes());
                }
                line.push(b'}');
            }
            Format::Influx => unreachable!("written above"),
        }
        line.push(b'\n');
        self.hand_over_when_full()
    }

    #[inline]
    fn hand_over_when_full(&mut self) -> io::Result<()> {
        if self.rows.len() < HAND_OVER { Ok(()) } else { self.hand_over() }
    }

    fn hand_over(&mut self) -> io::Result<()> {
        let written = self.out.write_all(&self.rows);
        self.rows.clear();
        written
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.hand_over()?;
        self.out.flush()
    }
}

impl Drop for PointWriter {
    /// Rows formatted before a run stopped early still reach the writer underneath (which, a
    /// `BufWriter`, writes them out when dropped in turn), as they did when each row was handed
    /// over at once.
    fn drop(&mut self) {
        let _ = self.hand_over();
    }
}

/// Where output points go: a [`PointWriter`] in one of the formats above, or a database table.
pub trait PointSink: Send {
    /// Writes `p`; `jobs` names its job (`Point::job` indexes it) for outputs that record it.
    fn write(&mut self, p: &Point, names: &Names, jobs: &[String]) -> io::Result<()>;
    /// Returns once everything written is in place: in the file, or committed to the database.
    fn flush(&mut self) -> io::Result<()>;
}

impl PointSink for PointWriter {
    fn write(&mut self, p: &Point, names: &Names, _jobs: &[String]) -> io::Result<()> {
        PointWriter::write(self, p, names)
    }

    fn flush(&mut self) -> io::Result<()> {
        PointWriter::flush(self)
    }
}

/// One line of line protocol for `p`; a name with a line break, or a time outside the nanosecond
/// range line protocol holds (1677 to 2262), cannot be written and is an error, never a wrong line.
fn influx_line(
    p: &Point,
    asset: &[u8],
    point: &[u8],
    decimals: Option<u8>,
    revisions: bool,
    names: &Names,
    line: &mut Vec<u8>,
) -> io::Result<()> {
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    if [asset, point].iter().any(|name| name.iter().any(|b| matches!(b, b'\n' | b'\r'))) {
        return Err(invalid(format!(
            "line protocol cannot hold a line break in a name: asset {:?}, point {:?}",
            names.assets.name(p.asset),
            names.points.name(p.point)
        )));
    }
    let Some(ns) = p.ts.checked_mul(NS_PER_MS) else {
        let mut text = Vec::new();
        format_timestamp(p.ts, &mut text);
        return Err(invalid(format!(
            "line protocol cannot hold the time {} (nanoseconds since 1970 must fit 64 bits: years 1677 to 2262)",
            String::from_utf8_lossy(&text)
        )));
    };
    line.extend_from_slice(point);
    line.extend_from_slice(b",asset=");
    line.extend_from_slice(asset);
    line.extend_from_slice(b" value=");
    match p.value {
        // Counts are integers, written with line protocol's integer suffix.
        Value::Count(n) => {
            line.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            line.push(b'i');
        }
        ref value => format_value(value, decimals, influx_string, line),
    }
    if revisions {
        line.extend_from_slice(b",emit=\"");
        line.extend_from_slice(emit_label(p.emit).as_bytes());
        line.extend_from_slice(b"\",revision=");
        line.extend_from_slice(itoa::Buffer::new().format(p.revision).as_bytes());
        line.push(b'i');
    }
    line.push(b' ');
    line.extend_from_slice(itoa::Buffer::new().format(ns).as_bytes());
    line.push(b'\n');
    Ok(())
}

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

/// Writes rows dropped as late beyond lateness: the reading, the job, the reason, the window it
/// belonged to and the watermark when it arrived. As CSV, or as JSON lines with the same fields
/// when points are written as JSON lines (line protocol has no place for them: CSV then).
pub struct LateWriter {
    out: Box<dyn Write + Send>,
    line: Vec<u8>,
    jsonl: bool,
}

impl LateWriter {
    pub const HEADER: &'static [u8] = b"timestamp,asset,point,value,job,reason,window_start,window_end,watermark\n";

    /// A CSV writer, its header written.
    pub fn new(out: Box<dyn Write + Send>) -> io::Result<LateWriter> {
        LateWriter::with_format(out, Format::Csv)
    }

    /// A writer in the encoding that goes with points written as `format`.
    pub fn with_format(mut out: Box<dyn Write + Send>, format: Format) -> io::Result<LateWriter> {
        let jsonl = format == Format::Jsonl;
        if !jsonl {
            out.write_all(Self::HEADER)?;
        }
        Ok(LateWriter { out, line: Vec::with_capacity(160), jsonl })
    }

    pub fn write(&mut self, d: &Dropped, job: &str, names: &Names) -> io::Result<()> {
        let (line, jsonl) = (&mut self.line, self.jsonl);
        line.clear();
        let text: fn(&str, &mut Vec<u8>) = if jsonl { json_string } else { csv_field };
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
    fn numbers_rounded_to_decimals() {
        let rounded = |v: f64, n: usize| {
            let mut out = b"x".to_vec();
            format_rounded(v, n, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(rounded(2.1700000000000728, 2), "x2.17");
        assert_eq!(rounded(2.1700000000000728, 3), "x2.17");
        assert_eq!(rounded(12.0, 2), "x12");
        // Exact ties go to the even digit; 0.35 is a little below 0.35 in binary.
        assert_eq!(
            (rounded(2.5, 0), rounded(3.5, 0), rounded(0.25, 1), rounded(0.35, 1)),
            ("x2".into(), "x4".into(), "x0.2".into(), "x0.3".into())
        );
        assert_eq!(rounded(-0.0004, 3), "x0");
        assert_eq!(rounded(-1.25, 1), "x-1.2");
        assert_eq!(rounded(1500.0, 0), "x1500");
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

    /// The text ryu gives, `.0` stripped: what this output wrote before `zmij` made the digits.
    fn ryu_text(v: f64) -> String {
        let mut buffer = ryu::Buffer::new();
        let text = buffer.format(v);
        text.strip_suffix(".0").unwrap_or(text).to_string()
    }

    #[test]
    fn numbers_byte_for_byte_as_ryu_wrote_them() {
        let mut typical = vec![0.0, -0.0, f64::MIN_POSITIVE, 5e-324, f64::MAX, f64::MIN, f64::INFINITY, -f64::INFINITY];
        typical.push(f64::NAN);
        // Where the fixed and exponent forms meet, on both sides of every power of ten.
        for exp in -330..=310 {
            let p = format!("1e{exp}").parse::<f64>().unwrap();
            typical.extend([p, -p, p.next_up(), p.next_down(), p * 1.5, p * 9.999_999_999_999_999]);
        }
        // The benchmark's merge (`reading * 15.0 / 3600 - 0.5`) over readings with one decimal.
        typical.extend((0..200_000).map(|tenths| f64::from(tenths) / 10.0 * 15.0 / 3600.0 - 0.5));
        typical.extend((0..100_000).map(|i| f64::from(i) * 0.01 - 500.0));
        typical.extend((0..2_000).map(|i| 2f64.powi(i - 1_000)));
        // Random bit patterns: every exponent, every mantissa shape.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        typical.extend((0..2_000_000).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            f64::from_bits(state)
        }));
        for v in typical {
            assert_eq!(num(v), ryu_text(v), "bits {:#018x}", v.to_bits());
        }
    }

    proptest::proptest! {
        #[test]
        fn random_numbers_byte_for_byte_as_ryu_wrote_them(bits: u64) {
            let v = f64::from_bits(bits);
            proptest::prop_assert_eq!(num(v), ryu_text(v));
        }
    }

    #[test]
    fn cached_timestamps_are_format_timestamp() {
        let mut stamp = None;
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
        ] {
            let mut expected = Vec::new();
            format_timestamp(ts, &mut expected);
            assert_eq!(cached_timestamp(&mut stamp, ts), &expected[..], "{ts}");
        }
    }

    #[test]
    fn csv_quoting() {
        let mut out = Vec::new();
        csv_field("a,b \"c\"", &mut out);
        assert_eq!(out, b"\"a,b \"\"c\"\"\"");
    }

    /// A writer whose bytes the test reads back.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn influx_line_protocol_escapes_and_types() {
        let mut names = Names::default();
        let (asset, plain) = (names.assets.intern("m 1,a=b"), names.assets.intern("m2"));
        let point = names.points.intern("Max Reading,10");
        let bad = names.points.intern("two\nlines");
        let at = |asset, point, ts, value, emit, revision| Point {
            job: 0,
            asset,
            point,
            model: 0,
            ts,
            value,
            emit,
            revision,
        };
        let sink = Shared::default();
        let mut w = PointWriter::new(Box::new(sink.clone()), Format::Influx, false).unwrap();
        w.write(&at(asset, point, 1_704_067_800_000, Value::Number(12.5), Emit::Final, 0), &names).unwrap();
        w.write(&at(plain, point, 0, Value::Count(3), Emit::Final, 0), &names).unwrap();
        w.write(&at(plain, point, -1, Value::Text(r#"say "hi" \ ok"#.into()), Emit::Final, 0), &names).unwrap();
        w.write(&at(plain, point, 1, Value::Bool(true), Emit::Final, 0), &names).unwrap();
        let year_2286 = 10_000_000_000_000;
        let late = w.write(&at(plain, point, year_2286, Value::Number(1.0), Emit::Final, 0), &names).unwrap_err();
        assert_eq!(late.kind(), io::ErrorKind::InvalidData);
        assert!(late.to_string().contains("2286-11-20T17:46:40.000Z"), "{late}");
        let broken = w.write(&at(plain, bad, 0, Value::Number(1.0), Emit::Final, 0), &names).unwrap_err();
        assert!(broken.to_string().contains("line break"), "{broken}");
        w.flush().unwrap();
        let mut updates = PointWriter::new(Box::new(sink.clone()), Format::Influx, true).unwrap();
        updates.write(&at(plain, point, 0, Value::Number(1.0), Emit::Late, 2), &names).unwrap();
        // Dropped unflushed: the rows it holds are handed over all the same.
        drop(updates);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "Max\\ Reading\\,10,asset=m\\ 1\\,a\\=b value=12.5 1704067800000000000\n\
             Max\\ Reading\\,10,asset=m2 value=3i 0\n\
             Max\\ Reading\\,10,asset=m2 value=\"say \\\"hi\\\" \\\\ ok\" -1000000\n\
             Max\\ Reading\\,10,asset=m2 value=true 1000000\n\
             Max\\ Reading\\,10,asset=m2 value=1,emit=\"late\",revision=2i 0\n"
        );
    }
}

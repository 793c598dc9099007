//! InfluxDB line protocol: `point,asset=ID value=V <ns>`, updates mode adding the fields `emit`
//! and `revision`. A newer row for the same key overwrites the older, as the store upserts.
//!
//! Escaping follows the line-protocol reference: in the measurement, commas, spaces and
//! backslashes; in tag values, commas, equals signs, spaces and backslashes (a backslash written
//! as two, so a name ending in one cannot escape the separating space); in string fields, double
//! quotes and backslashes. What cannot be escaped is refused: control characters in a name (the
//! parser splits on tab and NUL as on spaces) and line breaks in a string field.

use super::{Row, format_value};
use crate::engine::Value;
use crate::engine::names::Names;
use crate::time::format_timestamp;
use std::io;

/// Nanoseconds per millisecond: line protocol timestamps are in nanoseconds.
const NS_PER_MS: i64 = 1_000_000;

/// Appends `text` with a backslash before each of `special` (line protocol escaping); control
/// characters cannot be written in a name at all (see [`point`]).
fn escaped(text: &str, special: &[u8], out: &mut Vec<u8>) {
    for b in text.bytes() {
        if special.contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// A measurement name (the point): commas, spaces and backslashes escaped.
pub(crate) fn measurement(text: &str, out: &mut Vec<u8>) {
    escaped(text, b", \\", out);
}

/// A tag value (the asset): commas, equals signs, spaces and backslashes escaped.
pub(crate) fn tag(text: &str, out: &mut Vec<u8>) {
    escaped(text, b",= \\", out);
}

/// A string field value: quoted, with quotes and backslashes escaped.
fn string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    escaped(text, b"\"\\", out);
    out.push(b'"');
}

/// One line of line protocol for `p`; a name with a control character, a text value with a line
/// break, or a time outside the nanosecond range line protocol holds (1677 to 2262), cannot be
/// written and is an error, never a wrong line.
pub(crate) fn point(row: &Row<'_>, names: &Names, line: &mut Vec<u8>) -> io::Result<()> {
    let (p, asset, point) = (row.p, row.asset, row.point);
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    if [asset, point].iter().any(|name| name.iter().any(|b| b.is_ascii_control())) {
        return Err(invalid(format!(
            "line protocol cannot hold a control character (line break, tab, NUL, ...) in a name: asset {:?}, point {:?}",
            names.assets.name(p.asset),
            names.points.name(p.point)
        )));
    }
    if let Value::Text(text) = &p.value
        && text.bytes().any(|b| matches!(b, b'\n' | b'\r'))
    {
        return Err(invalid(format!(
            "line protocol cannot hold a line break in a text value: asset {:?}, point {:?}",
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
        ref value => format_value(value, row.decimals, string, line),
    }
    if let Some((emit, revision)) = row.revision {
        line.extend_from_slice(b",emit=\"");
        line.extend_from_slice(emit.as_bytes());
        line.extend_from_slice(b"\",revision=");
        line.extend_from_slice(itoa::Buffer::new().format(revision).as_bytes());
        line.push(b'i');
    }
    line.push(b' ');
    line.extend_from_slice(itoa::Buffer::new().format(ns).as_bytes());
    line.push(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(encode: fn(&str, &mut Vec<u8>), text: &str) -> String {
        let mut out = Vec::new();
        encode(text, &mut out);
        String::from_utf8(out).unwrap()
    }

    /// Every character class the line-protocol reference escapes, in each place it does.
    #[test]
    fn escaping_per_element() {
        assert_eq!(encoded(measurement, r"a,b c=d\e"), r"a\,b\ c=d\\e");
        assert_eq!(encoded(tag, r"a,b c=d\e"), r"a\,b\ c\=d\\e");
        assert_eq!(encoded(tag, "m1\\"), r"m1\\");
        assert_eq!(encoded(string, r#"say "hi" \ bye"#), r#""say \"hi\" \\ bye""#);
    }
}

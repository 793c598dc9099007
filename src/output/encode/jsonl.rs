//! JSON lines: one object per output row, with the same fields as CSV.

use super::{Row, format_value};

/// Appends `text` as a JSON string.
pub(crate) fn string(text: &str, out: &mut Vec<u8>) {
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

/// Appends one point's row.
#[inline]
pub(crate) fn point(row: &Row<'_>, line: &mut Vec<u8>) {
    line.extend_from_slice(b"{\"timestamp\":\"");
    line.extend_from_slice(row.stamp);
    line.extend_from_slice(b"\",\"asset\":");
    line.extend_from_slice(row.asset);
    line.extend_from_slice(b",\"point\":");
    line.extend_from_slice(row.point);
    line.extend_from_slice(b",\"value\":");
    format_value(&row.p.value, row.decimals, string, line);
    if let Some((emit, revision)) = row.revision {
        line.extend_from_slice(b",\"emit\":\"");
        line.extend_from_slice(emit.as_bytes());
        line.extend_from_slice(b"\",\"revision\":");
        line.extend_from_slice(itoa::Buffer::new().format(revision).as_bytes());
    }
    line.extend_from_slice(b"}\n");
}

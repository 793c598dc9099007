//! CSV: output rows `timestamp,asset,point,value` (updates mode adding `emit,revision`), fields
//! quoted only when they must be.

use super::{Row, format_value};

/// The header line of points, with or without the revision columns.
pub(crate) fn header(revisions: bool) -> &'static [u8] {
    if revisions { b"timestamp,asset,point,value,emit,revision\n" } else { b"timestamp,asset,point,value\n" }
}

/// Appends `field` as a CSV field, quoted only when it must be.
pub(crate) fn field(field: &str, out: &mut Vec<u8>) {
    let needs_quotes = field.bytes().any(|b| b == b',' || b == b'"' || b.is_ascii_control())
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

/// Appends one point's row.
#[inline]
pub(crate) fn point(row: &Row<'_>, line: &mut Vec<u8>) {
    line.extend_from_slice(row.stamp);
    line.push(b',');
    line.extend_from_slice(row.asset);
    line.push(b',');
    line.extend_from_slice(row.point);
    line.push(b',');
    format_value(&row.p.value, row.decimals, field, line);
    if let Some((emit, revision)) = row.revision {
        line.push(b',');
        line.extend_from_slice(emit.as_bytes());
        line.push(b',');
        line.extend_from_slice(itoa::Buffer::new().format(revision).as_bytes());
    }
    line.push(b'\n');
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoting() {
        let mut out = Vec::new();
        super::field("a,b \"c\"", &mut out);
        assert_eq!(out, b"\"a,b \"\"c\"\"\"");
    }
}

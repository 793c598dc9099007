//! The dialect of a file's head: byte-order mark, line ends, the delimiter that splits every line
//! into the same number of fields, and whether fields are quoted.

/// Delimiters tried, in order of preference on a tie.
const CANDIDATES: &[u8] = b",;\t|";
/// Lines looked at to choose the delimiter.
const LINES: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dialect {
    pub(crate) bom: bool,
    /// `"CRLF"`, `"LF"` or `"none"` (a single line without end).
    pub(crate) line_ends: &'static str,
    pub(crate) delimiter: u8,
    /// Some field is in double quotes.
    pub(crate) quoted: bool,
}

impl Dialect {
    /// Looks at `head` (decompressed bytes from the start of the file).
    pub(crate) fn of(head: &[u8]) -> Dialect {
        let bom = head.starts_with(b"\xef\xbb\xbf");
        let text = if bom { &head[3..] } else { head };
        let line_ends = match memchr::memchr(b'\n', text) {
            Some(i) if i > 0 && text[i - 1] == b'\r' => "CRLF",
            Some(_) => "LF",
            None => "none",
        };
        let lines: Vec<&[u8]> =
            text.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).take(LINES).collect();
        // A last line cut by the end of the head may be short: it does not vote.
        let whole = if lines.len() > 2 { &lines[..lines.len() - 1] } else { &lines[..] };
        let whole: Vec<&[u8]> = whole.iter().copied().filter(|l| !l.is_empty()).collect();
        let delimiter = CANDIDATES
            .iter()
            .copied()
            .filter_map(|d| {
                let counts: Vec<usize> = whole.iter().map(|l| fields(l, d)).collect();
                let first = *counts.first()?;
                (first > 1 && counts.iter().all(|&c| c == first)).then_some((d, first))
            })
            .fold(None, |best: Option<(u8, usize)>, (d, n)| match best {
                Some((_, m)) if m >= n => best,
                _ => Some((d, n)),
            })
            .map_or(b',', |(d, _)| d);
        Dialect { bom, line_ends, delimiter, quoted: text.contains(&b'"') }
    }

    /// The delimiter as `--delimiter` takes it.
    pub(crate) fn delimiter_text(&self) -> String {
        if self.delimiter == b'\t' { "tab".to_string() } else { (self.delimiter as char).to_string() }
    }
}

/// Fields of one line split at `delimiter` outside double quotes.
fn fields(line: &[u8], delimiter: u8) -> usize {
    let mut quoted = false;
    let mut count = 1;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if b == delimiter && !quoted {
            count += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_crlf_and_bom() {
        let d =
            Dialect::of(b"\xef\xbb\xbfDate;Time;Power\r\n16/12/2006;17:24:00;4,216\r\n16/12/2006;17:25:00;5,360\r\n");
        assert_eq!(d, Dialect { bom: true, line_ends: "CRLF", delimiter: b';', quoted: false });
    }

    #[test]
    fn consistent_count_beats_frequency_and_quotes_hide_delimiters() {
        // The header has more semicolons, but only the comma splits every line alike.
        let d = Dialect::of(b"a;b;c,d\n\"1;2\",3\n\"4;5\",6\n");
        assert_eq!(d.delimiter, b',');
        assert!(d.quoted);
        assert_eq!(d.line_ends, "LF");
        assert_eq!(Dialect::of(b"t\tv\n1\t2\n").delimiter_text(), "tab");
    }
}

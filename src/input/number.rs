//! How value texts write numbers: the decimal separator (`--decimal point|comma`) and an optional
//! thousands separator (`--thousands CHAR`), and the one parser of value fields both readers use.
//! A thousands separator is taken only between groups of exactly three digits in the integer
//! part (`1.234.567,5`), so a text in another convention (`1.5` under `--decimal comma
//! --thousands .`) is refused rather than read as another number.

/// The separators of value texts. The default, `.` and none, is what `str::parse` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberFormat {
    /// `b'.'` or `b','`.
    pub(crate) decimal: u8,
    /// Between groups of three digits of the integer part, when the texts use one.
    pub(crate) thousands: Option<u8>,
}

impl Default for NumberFormat {
    fn default() -> NumberFormat {
        NumberFormat::PLAIN
    }
}

/// Longest value text the non-default formats read (a double needs far fewer characters).
const MAX_TEXT: usize = 64;

impl NumberFormat {
    /// `1.5`, no thousands separator.
    pub(crate) const PLAIN: NumberFormat = NumberFormat { decimal: b'.', thousands: None };

    /// `--decimal` and `--thousands` texts; the error names the flag.
    pub(crate) fn from_texts(decimal: Option<&str>, thousands: Option<&str>) -> Result<NumberFormat, String> {
        let decimal = match decimal.map(str::trim) {
            None | Some("point") => b'.',
            Some("comma") => b',',
            Some(other) => return Err(format!("--decimal: expected point or comma, found {other:?}")),
        };
        let thousands = match thousands {
            None => None,
            Some("space" | " ") => Some(b' '),
            Some(text) => match text.trim() {
                "none" => None,
                "point" | "." => Some(b'.'),
                "comma" | "," => Some(b','),
                "'" | "apostrophe" => Some(b'\''),
                other => {
                    return Err(format!("--thousands: expected `.`, `,`, `'`, `space` or `none`, found {other:?}"));
                }
            },
        };
        if thousands == Some(decimal) {
            return Err(format!(
                "--thousands: the thousands separator {:?} is also the decimal separator",
                char::from(decimal)
            ));
        }
        Ok(NumberFormat { decimal, thousands })
    }

    pub(crate) fn is_plain(&self) -> bool {
        *self == NumberFormat::PLAIN
    }

    /// The `--decimal` text of this format (as the flag and the input config write it).
    pub(crate) fn decimal_text(&self) -> &'static str {
        if self.decimal == b',' { "comma" } else { "point" }
    }

    /// The `--thousands` text, when there is a separator.
    pub(crate) fn thousands_text(&self) -> Option<&'static str> {
        self.thousands.map(|t| match t {
            b'.' => ".",
            b',' => ",",
            b' ' => "space",
            _ => "'",
        })
    }

    /// A value field (trimmed): a finite number in this format, or `true` / `false` (any case)
    /// as 1 / 0, as a boolean merge result is written.
    #[inline]
    pub(crate) fn parse(&self, field: &[u8]) -> Option<f64> {
        if field.eq_ignore_ascii_case(b"true") {
            return Some(1.0);
        }
        if field.eq_ignore_ascii_case(b"false") {
            return Some(0.0);
        }
        self.number(field)
    }

    /// A finite number in this format (no `true` / `false`).
    #[inline]
    pub(crate) fn number(&self, field: &[u8]) -> Option<f64> {
        if self.is_plain() {
            return finite(field);
        }
        let mut text = [0u8; MAX_TEXT];
        finite(self.plain_text(field, &mut text)?)
    }

    /// `field` rewritten in the plain format into `out`: the decimal separator made `.`, valid
    /// thousands separators dropped; `None` when a separator is out of place.
    fn plain_text<'a>(&self, field: &[u8], out: &'a mut [u8; MAX_TEXT]) -> Option<&'a [u8]> {
        if field.len() > MAX_TEXT {
            return None;
        }
        let sign = usize::from(matches!(field.first(), Some(b'+' | b'-')));
        let int_end = field.iter().position(|&b| b == self.decimal).unwrap_or(field.len());
        let int = &field[sign..int_end];
        if let Some(t) = self.thousands
            && int.contains(&t)
        {
            let mut groups = int.split(|&b| b == t);
            let first = groups.next().unwrap_or_default();
            let digits = |g: &[u8]| g.iter().all(u8::is_ascii_digit);
            if !(1..=3).contains(&first.len()) || !digits(first) || !groups.all(|g| g.len() == 3 && digits(g)) {
                return None;
            }
        }
        let mut len = 0;
        for (i, &b) in field.iter().enumerate() {
            let plain = match b {
                _ if i == int_end => b'.',
                _ if Some(b) == self.thousands && i < int_end => continue,
                // Under a decimal comma, a point is either a thousands separator (taken above)
                // or a sign of another convention: refused, never read as a decimal point.
                b'.' => return None,
                other => other,
            };
            out[len] = plain;
            len += 1;
        }
        Some(&out[..len])
    }

    /// What the message of a value field this format does not read adds: a flag that reads it.
    pub(crate) fn hint(&self, field: &[u8]) -> String {
        let reads = |format: NumberFormat| format.parse(field).is_some();
        let comma = NumberFormat { decimal: b',', thousands: None };
        let comma_grouped = NumberFormat { decimal: b',', thousands: Some(b'.') };
        let point_grouped = NumberFormat { decimal: b'.', thousands: Some(b',') };
        if self.decimal == b'.' && reads(comma) {
            "; it reads as a number with --decimal comma".to_string()
        } else if self.decimal == b'.' && reads(comma_grouped) && field.contains(&b',') {
            "; it reads as a number with --decimal comma --thousands .".to_string()
        } else if self.thousands.is_none() && self.decimal == b'.' && reads(point_grouped) {
            "; it reads as a number with --thousands ,".to_string()
        } else if self.decimal == b',' && self.thousands.is_none() && reads(comma_grouped) {
            "; it reads as a number with --thousands .".to_string()
        } else if self.decimal == b',' && NumberFormat::PLAIN.parse(field).is_some() {
            "; it has a decimal point, and --decimal comma is in force".to_string()
        } else {
            String::new()
        }
    }
}

#[inline]
fn finite(field: &[u8]) -> Option<f64> {
    let v: f64 = std::str::from_utf8(field).ok()?.parse().ok()?;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(decimal: &str, thousands: Option<&str>) -> NumberFormat {
        NumberFormat::from_texts(Some(decimal), thousands).unwrap()
    }

    #[test]
    fn decimal_commas_and_thousands_groups() {
        let comma = format("comma", None);
        assert_eq!(comma.parse(b"1,25"), Some(1.25));
        assert_eq!(comma.parse(b"-0,5"), Some(-0.5));
        assert_eq!(comma.parse(b"+12"), Some(12.0));
        assert_eq!(comma.parse(b"1,5e3"), Some(1500.0));
        assert_eq!(comma.parse(b"TRUE"), Some(1.0));
        // A point under a decimal comma is another convention: refused, not guessed.
        assert_eq!(comma.parse(b"1.25"), None);
        assert_eq!(comma.parse(b"1.234,5"), None);
        let grouped = format("comma", Some("."));
        assert_eq!(grouped.parse(b"1.234,5"), Some(1234.5));
        assert_eq!(grouped.parse(b"-12.345.678"), Some(-12_345_678.0));
        assert_eq!(grouped.parse(b"1234,5"), Some(1234.5));
        for refused in ["1.5", "1.23,4", "1234.567,8", ".123", "1..234", "1.234.5,0", "1,2,3"] {
            assert_eq!(grouped.parse(refused.as_bytes()), None, "{refused}");
        }
        let us = format("point", Some(","));
        assert_eq!(us.parse(b"1,234.5"), Some(1234.5));
        assert_eq!(us.parse(b"1,23"), None);
        let swiss = format("point", Some("'"));
        assert_eq!(swiss.parse(b"1'000'000.25"), Some(1_000_000.25));
        assert_eq!(NumberFormat::PLAIN.parse(b"1,25"), None);
        assert_eq!(comma.parse(b"inf"), None);
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(NumberFormat::from_texts(None, None), Ok(NumberFormat::PLAIN));
        assert_eq!(
            NumberFormat::from_texts(Some("comma"), Some(",")).unwrap_err(),
            "--thousands: the thousands separator ',' is also the decimal separator"
        );
        assert!(
            NumberFormat::from_texts(Some("dot"), None).unwrap_err().starts_with("--decimal: expected point or comma")
        );
        assert_eq!(format("comma", Some("space")).thousands_text(), Some("space"));
    }

    #[test]
    fn hints_name_the_flags_that_read_a_field() {
        let plain = NumberFormat::PLAIN;
        assert_eq!(plain.hint(b"1,25"), "; it reads as a number with --decimal comma");
        assert_eq!(plain.hint(b"1.234,5"), "; it reads as a number with --decimal comma --thousands .");
        assert_eq!(plain.hint(b"1,234.5"), "; it reads as a number with --thousands ,");
        assert_eq!(format("comma", None).hint(b"1.234,5"), "; it reads as a number with --thousands .");
        assert_eq!(format("comma", None).hint(b"1.5"), "; it has a decimal point, and --decimal comma is in force");
        assert_eq!(plain.hint(b"abc"), "");
    }
}

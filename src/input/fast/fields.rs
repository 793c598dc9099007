//! The fields of a fast-path line: where a field ends, its span trimmed of white space, and the
//! short decimal numbers meter values nearly always are, each read in one pass over its bytes.

/// The field at `pos` trimmed of ASCII white space, as the span `s..e`, and where it ends.
#[inline(always)]
pub(super) fn trimmed_field(raw: &[u8], pos: usize, delimiter: u8) -> (usize, usize, usize) {
    let end = field_end(raw, pos, delimiter);
    let field = &raw[pos..end];
    // Names seldom start or end with white space, and no byte above b' ' is any: two tests
    // instead of the trims.
    if let (Some(&first), Some(&last)) = (field.first(), field.last())
        && first > b' '
        && last > b' '
    {
        return (pos, end, end);
    }
    let s = pos + (field.len() - field.trim_ascii_start().len());
    (s, s + field.trim_ascii().len(), end)
}

/// Whether a field ends at `at`: at a delimiter, a newline or the end of the bytes.
#[inline]
pub(super) fn ends_field(raw: &[u8], at: usize, delimiter: u8) -> bool {
    raw.get(at).is_none_or(|&b| b == delimiter || b == b'\n')
}

/// Position of the first `delimiter` or `\n` at or after `from`, or `bytes.len()`.
#[inline]
pub(crate) fn field_end(bytes: &[u8], from: usize, delimiter: u8) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    // Eight bytes at a time: XOR turns the wanted bytes into zero bytes, and `(x - ONES) & !x &
    // HIGHS` sets the high bit of the lowest zero byte of x exactly (bits above it may be spurious,
    // so only the lowest set bit is used).
    while let Some(word) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let d = word ^ (ONES * u64::from(delimiter));
        let n = word ^ (ONES * u64::from(b'\n'));
        let hits = ((d.wrapping_sub(ONES) & !d) | (n.wrapping_sub(ONES) & !n)) & HIGHS;
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && bytes[i] != delimiter && bytes[i] != b'\n' {
        i += 1;
    }
    i
}

/// The field a canonical line met last at a column whose field repeats from row to row (the
/// point name of a meter file), held as its bytes and the delimiter after them, at most 16, in two
/// masked words, with what the parser made of it. The same bytes followed by the delimiter are the
/// same field, whose trimmed name has the same id: so a match is two word comparisons, where
/// reading the field again took its end, its trims and a look-up.
#[derive(Clone, Copy)]
pub(super) struct RepeatedField<T> {
    words: [u64; 2],
    masks: [u64; 2],
    len: usize,
    pub(super) value: T,
}

impl<T: Copy> RepeatedField<T> {
    /// A field that matches nothing (no masked word equals 1).
    pub(super) fn none(value: T) -> Self {
        RepeatedField { words: [1, 0], masks: [0, 0], len: 0, value }
    }

    /// The field `raw[at..delimiter]`, which holds no delimiter or newline, with the delimiter
    /// after it; `none` when the two are longer than 16 bytes.
    pub(super) fn new(raw: &[u8], at: usize, delimiter: usize, value: T) -> Self {
        let len = delimiter + 1 - at;
        if len > 16 {
            return RepeatedField::none(value);
        }
        let (mut bytes, mut masks) = ([0u8; 16], [0u8; 16]);
        bytes[..len].copy_from_slice(&raw[at..=delimiter]);
        masks[..len].fill(0xFF);
        let word = |b: &[u8; 16], i: usize| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap_or_default());
        RepeatedField {
            words: [word(&bytes, 0), word(&bytes, 1)],
            masks: [word(&masks, 0), word(&masks, 1)],
            len,
            value,
        }
    }

    /// Where the field's delimiter is when `raw` holds the field and its delimiter at `at` (and
    /// 16 bytes from `at` to compare).
    #[inline(always)]
    pub(super) fn at(&self, raw: &[u8], at: usize) -> Option<usize> {
        let bytes = raw.get(at..at + 16)?;
        let word = |i: usize| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().unwrap_or_default());
        ((word(0) & self.masks[0]) == self.words[0] && (word(1) & self.masks[1]) == self.words[1])
            .then(|| at + self.len - 1)
    }
}

/// Exact powers of ten, for [`parse_short_decimal_prefix`].
const POWERS_OF_TEN: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/// The number `[+-]digits[.digits]` (`.` being `DECIMAL`) that starts `b`, with at most 15 digits
/// in all, and its length; `None` for anything else. Such a number is m / 10^k with m < 2^53 and 10^k both exact
/// in an `f64`, so one IEEE division, which rounds correctly, gives the same `f64` as
/// `str::parse` (Clinger's fast path).
#[inline]
pub(crate) fn parse_short_decimal_prefix<const DECIMAL: u8>(b: &[u8]) -> Option<(f64, usize)> {
    let (negative, first) = match b.first()? {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    // Overlong numbers wrap here and are refused below, by their digit count.
    let digits = |from: usize, mantissa: &mut u64| {
        let mut i = from;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
            i += 1;
        }
        i
    };
    let mut mantissa = 0u64;
    let int_end = digits(first, &mut mantissa);
    let (end, scale) = match b.get(int_end) {
        Some(&c) if c == DECIMAL => {
            let end = digits(int_end + 1, &mut mantissa);
            (end, end - int_end - 1)
        }
        _ => (int_end, 0),
    };
    let count = int_end - first + scale;
    if count == 0 || count > 15 {
        return None;
    }
    let v = mantissa as f64 / POWERS_OF_TEN[scale];
    Some((if negative { -v } else { v }, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn field_end_finds_delimiter_or_newline() {
        let text = b"meter0001,Reading,12.5\nnext";
        assert_eq!(field_end(text, 0, b','), 9);
        assert_eq!(field_end(text, 10, b','), 17);
        assert_eq!(field_end(text, 18, b','), 22);
        assert_eq!(field_end(text, 23, b','), 27);
        assert_eq!(field_end(b"abcdefghijklmnop;q", 0, b';'), 16);
    }

    proptest! {
        #[test]
        fn short_decimals_parse_as_std_does(sign in "[-+]?", int in "[0-9]{0,9}", frac in proptest::option::of("[0-9]{0,9}"), after in "[,\n x]?") {
            let text = format!("{sign}{int}{}", frac.as_deref().map(|f| format!(".{f}")).unwrap_or_default());
            let expected = text.parse::<f64>().ok();
            match parse_short_decimal_prefix::<b'.'>(format!("{text}{after}").as_bytes()) {
                Some((v, len)) => {
                    prop_assert_eq!(len, text.len(), "{}", text);
                    prop_assert_eq!(Some(v.to_bits()), expected.map(f64::to_bits), "{}", text);
                }
                None => prop_assert!(expected.is_none() || int.len() + frac.map_or(0, |f| f.len()) > 15, "{}", text),
            }
        }

        #[test]
        fn field_end_matches_a_byte_loop(bytes in proptest::collection::vec(prop_oneof![Just(b','), Just(b'\n'), any::<u8>()], 0..40), from in 0usize..40) {
            let from = from.min(bytes.len());
            let expected = bytes[from..].iter().position(|&b| b == b',' || b == b'\n').map_or(bytes.len(), |i| from + i);
            prop_assert_eq!(field_end(&bytes, from, b','), expected);
        }
    }
}

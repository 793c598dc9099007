//! The one number formatter of every output: the shortest text that reads back as the same
//! float (the default), or the value rounded to `--decimals` places.

use std::io::Write;

/// Writes a float in the shortest form that round-trips, without a trailing `.0` on integers:
/// `12`, `12.5`, `0.30000000000000004`, `1e21`.
///
/// The digits come from `zmij`, which picks the same shortest digits and the same switch to
/// exponent notation as `ryu` (the text this output has always had) at a fraction of the cost;
/// it spells a positive exponent `e+21` where ryu writes `e21`, so the `+` is dropped.
#[inline]
pub(crate) fn format_number(v: f64, out: &mut Vec<u8>) {
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
pub(crate) fn format_rounded(v: f64, decimals: usize, out: &mut Vec<u8>) {
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
}

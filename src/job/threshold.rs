//! Threshold interval notation (`[0, 100)`, `(-inf, 5]`, `[0, +∞)`, ...): which values a window
//! policy treats as valid. An infinite end must be open.

use std::fmt;

/// A half-open, open or closed interval of valid values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    lower: f64,
    lower_closed: bool,
    upper: f64,
    upper_closed: bool,
    /// The interval as `[from, until)`, so that the per-reading test is two comparisons with no
    /// branch on the kind of bound: an open lower bound starts at the next float up, a closed upper
    /// bound ends before the next float up.
    from: f64,
    until: f64,
}

impl Threshold {
    /// Every value is valid (no threshold given).
    pub const ALL: Threshold = Threshold::new(f64::NEG_INFINITY, false, f64::INFINITY, false);

    const fn new(lower: f64, lower_closed: bool, upper: f64, upper_closed: bool) -> Threshold {
        let from = if lower_closed { lower } else { lower.next_up() };
        let until = if upper_closed { upper.next_up() } else { upper };
        Threshold { lower, lower_closed, upper, upper_closed, from, until }
    }

    /// Parses interval notation, or says what is wrong with it.
    pub fn parse(text: &str) -> Result<Threshold, String> {
        let s = text.trim();
        let err = |why: &str| {
            Err(format!(
                "invalid threshold {text:?}: {why}; expected interval notation such as \"[0, 100)\" or \"(-inf, 5]\""
            ))
        };
        let lower_closed = match s.chars().next() {
            Some('[') => true,
            Some('(') => false,
            _ => return err("it must start with '[' or '('"),
        };
        let upper_closed = match s.chars().last() {
            Some(']') => true,
            Some(')') => false,
            _ => return err("it must end with ']' or ')'"),
        };
        let inner = &s[1..s.len() - 1];
        let Some((low, high)) = inner.split_once(',') else {
            return err("the two bounds must be separated by a comma");
        };
        let Some(lower) = parse_bound(low) else {
            return err(&format!("lower bound {:?} is not a number or -inf", low.trim()));
        };
        let Some(upper) = parse_bound(high) else {
            return err(&format!("upper bound {:?} is not a number or +inf", high.trim()));
        };
        if lower == f64::INFINITY {
            return err("the lower bound cannot be +inf");
        }
        if upper == f64::NEG_INFINITY {
            return err("the upper bound cannot be -inf");
        }
        if lower_closed && lower.is_infinite() {
            return err("an infinite bound cannot be included: write \"(-inf\"");
        }
        if upper_closed && upper.is_infinite() {
            return err("an infinite bound cannot be included: write \"+inf)\"");
        }
        let t = Threshold::new(lower, lower_closed, upper, upper_closed);
        if !(lower < upper || (lower == upper && lower_closed && upper_closed)) {
            return err("the interval is empty, so no value could ever be valid");
        }
        Ok(t)
    }

    /// Whether `value` lies in the interval. NaN never does.
    #[inline]
    pub fn contains(&self, value: f64) -> bool {
        value >= self.from && value < self.until
    }
}

fn parse_bound(text: &str) -> Option<f64> {
    match text.trim() {
        "-inf" | "-∞" | "-infinity" => Some(f64::NEG_INFINITY),
        "inf" | "+inf" | "∞" | "+∞" | "infinity" | "+infinity" => Some(f64::INFINITY),
        t => t.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bound = |v: f64| {
            if v.is_infinite() { if v > 0.0 { "+inf".to_string() } else { "-inf".to_string() } } else { v.to_string() }
        };
        write!(
            f,
            "{}{}, {}{}",
            if self.lower_closed { '[' } else { '(' },
            bound(self.lower),
            bound(self.upper),
            if self.upper_closed { ']' } else { ')' }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Threshold {
        Threshold::parse(s).unwrap()
    }

    #[test]
    fn the_nine_forms() {
        let cases: [(&str, &[f64], &[f64]); 9] = [
            ("[0, 100)", &[0.0, 99.9], &[-0.1, 100.0]),
            ("(0, 100]", &[0.1, 100.0], &[0.0, 100.1]),
            ("[0, 100]", &[0.0, 100.0], &[-0.1, 100.1]),
            ("(0, 100)", &[0.1, 99.9], &[0.0, 100.0]),
            ("[0, +inf)", &[0.0, 1e300], &[-0.1]),
            ("(0, +inf)", &[0.1], &[0.0]),
            ("(-inf, 5)", &[-1e300, 4.9], &[5.0]),
            ("(-inf, 5]", &[5.0], &[5.1]),
            ("(-inf, +inf)", &[-1e300, 0.0, 1e300], &[f64::NAN]),
        ];
        for (text, inside, outside) in cases {
            let th = t(text);
            for v in inside {
                assert!(th.contains(*v), "{text} should contain {v}");
            }
            for v in outside {
                assert!(!th.contains(*v), "{text} should not contain {v}");
            }
        }
    }

    /// The two-comparison test agrees with the interval's definition at and around every bound.
    #[test]
    fn bounds_are_exact_to_the_next_float() {
        for text in
            ["[0, 100)", "(0, 100]", "[0, 100]", "(0, 100)", "(-2.5, 1e300]", "[1, 1]", "(-inf, +inf)", "(-inf, 5]"]
        {
            let th = t(text);
            let mut probes = vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, -f64::MAX, 0.0, -0.0];
            for b in [th.lower, th.upper] {
                probes.extend([b, b.next_up(), b.next_down()]);
            }
            for v in probes {
                let above = if th.lower_closed { v >= th.lower } else { v > th.lower };
                let below = if th.upper_closed { v <= th.upper } else { v < th.upper };
                assert_eq!(th.contains(v), above && below, "{text} at {v:e}");
            }
        }
    }

    #[test]
    fn infinity_spellings() {
        assert_eq!(t("[0, +∞)"), t("[0, +inf)"));
        assert_eq!(t("[0, ∞)"), t("[0, inf)"));
        assert_eq!(t("(-∞, 0]"), t("(-inf, 0]"));
        assert_eq!(t(" [ 0 ,100 ) "), t("[0, 100)"));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "0, 100",
            "[0, 100",
            "[0 100)",
            "[a, 100)",
            "[-inf, 0)",
            "(0, +inf]",
            "(5, 1)",
            "[1, 1)",
            "(+inf, 1)",
            "[0, nan)",
        ] {
            assert!(Threshold::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Threshold::parse("[1, 1]").is_ok());
    }

    #[test]
    fn displays_canonically() {
        assert_eq!(t("[0,100)").to_string(), "[0, 100)");
        assert_eq!(t("(-∞, 2.5]").to_string(), "(-inf, 2.5]");
    }
}

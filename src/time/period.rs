//! Window sizes, slides and merge ticks as job files write them: a duration (`15m`, `1d`, see
//! [`crate::time::duration`]) or whole calendar months (`1mo`, `3mo`, `1y` = `12mo`), whose length
//! in milliseconds depends on the month (and, in a time zone, on its clock changes).

use crate::time::MS_PER_DAY;
use crate::time::duration::{format_duration, parse_duration};

/// The most months a period may hold: 100 years, as durations.
const MAX_MONTHS: i64 = 1200;

/// A window step or size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// A fixed number of milliseconds.
    Fixed(i64),
    /// Whole calendar months, each starting at midnight on the 1st.
    Months(i64),
}

impl Period {
    /// Reads `10m`, `1d`, `1h30m`, `1mo`, `3mo` or `1y`, or says what is wrong with it.
    pub(crate) fn parse(text: &str) -> Result<Period, String> {
        let s = text.trim();
        let calendar = [("mo", 1), ("y", 12)];
        for (unit, months) in calendar {
            let Some(number) = s.strip_suffix(unit) else { continue };
            if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let count = number
                .parse::<i64>()
                .ok()
                .and_then(|n| n.checked_mul(months))
                .filter(|&m| m <= MAX_MONTHS)
                .ok_or_else(|| format!("invalid window length {text:?}: longer than the maximum of 100 years"))?;
            return Ok(Period::Months(count));
        }
        parse_duration(text).map(Period::Fixed).map_err(|e| {
            if s.contains("mo") || s.contains("year") {
                format!("{e}; calendar months are written `1mo`, `3mo` or `1y`, alone")
            } else {
                e
            }
        })
    }

    /// Whether the period is empty (`0s`).
    pub(crate) fn is_zero(self) -> bool {
        self == Period::Fixed(0)
    }

    /// The shortest the period can be: months of 28 days less an hour for a clock change.
    pub(crate) fn shortest_ms(self) -> i64 {
        match self {
            Period::Fixed(ms) => ms,
            Period::Months(n) => n * 28 * MS_PER_DAY - MS_PER_DAY / 24,
        }
    }

    /// The longest the period can be: months of 31 days, years of 366, an hour for a clock change.
    pub(crate) fn longest_ms(self) -> i64 {
        match self {
            Period::Fixed(ms) => ms,
            Period::Months(n) => (n / 12 * 366 + n % 12 * 31) * MS_PER_DAY + MS_PER_DAY / 24,
        }
    }

    /// How many of `step` make up `self` exactly, when they do.
    pub(crate) fn multiple_of(self, step: Period) -> Option<i64> {
        match (self, step) {
            (Period::Fixed(a), Period::Fixed(b)) if b > 0 && a % b == 0 => Some(a / b),
            (Period::Months(a), Period::Months(b)) if b > 0 && a % b == 0 => Some(a / b),
            _ => None,
        }
    }
}

impl std::fmt::Display for Period {
    /// As a job file writes it: `1h30m`, `1mo`, `3mo`, `1y`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Period::Fixed(ms) => f.write_str(&format_duration(ms)),
            Period::Months(n) if n % 12 == 0 => write!(f, "{}y", n / 12),
            Period::Months(n) => write!(f, "{n}mo"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::MS_PER_MINUTE;

    #[test]
    fn months_and_durations() {
        assert_eq!(Period::parse("1mo"), Ok(Period::Months(1)));
        assert_eq!(Period::parse(" 3mo "), Ok(Period::Months(3)));
        assert_eq!(Period::parse("1y"), Ok(Period::Months(12)));
        assert_eq!(Period::parse("15m"), Ok(Period::Fixed(15 * MS_PER_MINUTE)));
        assert_eq!(Period::parse("1d"), Ok(Period::Fixed(MS_PER_DAY)));
        assert!(Period::parse("101y").unwrap_err().contains("100 years"));
        assert!(Period::parse("1mo2d").unwrap_err().contains("`1mo`, `3mo` or `1y`, alone"));
        assert!(Period::parse("1 month").unwrap_err().contains("`1mo`"));
        assert!(Period::parse("mo").is_err());
    }

    #[test]
    fn written_back() {
        for text in ["1mo", "3mo", "1y", "2y", "15m", "1d", "1h30m"] {
            assert_eq!(Period::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Period::Months(24).to_string(), "2y");
    }

    #[test]
    fn lengths_and_multiples() {
        assert_eq!(Period::Months(1).shortest_ms(), 28 * MS_PER_DAY - MS_PER_DAY / 24);
        assert_eq!(Period::Months(12).longest_ms(), 366 * MS_PER_DAY + MS_PER_DAY / 24);
        assert_eq!(Period::Months(3).multiple_of(Period::Months(1)), Some(3));
        assert_eq!(Period::Months(3).multiple_of(Period::Months(2)), None);
        assert_eq!(Period::Months(1).multiple_of(Period::Fixed(MS_PER_DAY)), None);
        assert_eq!(Period::Fixed(MS_PER_DAY).multiple_of(Period::Fixed(MS_PER_DAY / 4)), Some(4));
    }
}

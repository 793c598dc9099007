//! Durations as job files write them: `500ms`, `30s`, `10m`, `1h`, `1d`, `1w` and combinations in
//! decreasing unit order such as `1h30m`. Parsed into milliseconds.

use crate::time::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND};

const UNITS: [(&str, i64); 6] = [
    ("w", 7 * MS_PER_DAY),
    ("d", MS_PER_DAY),
    ("h", MS_PER_HOUR),
    ("m", MS_PER_MINUTE),
    ("s", MS_PER_SECOND),
    ("ms", 1),
];

/// The longest duration accepted: 100 years, far beyond any window or lateness a meter needs, and
/// small enough that window arithmetic on timestamps in years 0000-9999 cannot overflow.
pub const MAX_DURATION_MS: i64 = 100 * 366 * MS_PER_DAY;

/// Parses a duration into milliseconds, or says what is wrong with it.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let expected = "expected a duration such as 500ms, 30s, 10m, 1h, 1d or 1h30m";
    let s = text.trim();
    if s.is_empty() {
        return Err(format!("empty duration: {expected}"));
    }
    parse_parts(text, s, expected).map_err(|message| match did_you_mean(s) {
        Some(guess) => format!("{message}; did you mean {guess}?"),
        None => message,
    })
}

fn parse_parts(text: &str, s: &str, expected: &str) -> Result<i64, String> {
    let mut rest = s;
    let mut total: i64 = 0;
    let mut last_unit_rank = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("invalid duration {text:?}: {expected}"));
        }
        let (number, after) = rest.split_at(digits);
        let letters = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(letters);
        let Some(rank) = UNITS.iter().position(|(name, _)| *name == unit) else {
            let what =
                if unit.is_empty() { "a number without a unit".to_string() } else { format!("unknown unit {unit:?}") };
            return Err(format!("invalid duration {text:?}: {what}; {expected}"));
        };
        if last_unit_rank.is_some_and(|last| rank <= last) {
            return Err(format!("invalid duration {text:?}: units must appear once each, largest first (e.g. 1h30m)"));
        }
        last_unit_rank = Some(rank);
        let value: i64 = number.parse().map_err(|_| format!("invalid duration {text:?}: number too large"))?;
        total = value
            .checked_mul(UNITS[rank].1)
            .and_then(|ms| total.checked_add(ms))
            .filter(|ms| *ms <= MAX_DURATION_MS)
            .ok_or_else(|| format!("invalid duration {text:?}: longer than the maximum of 100 years"))?;
        rest = after;
    }
    Ok(total)
}

/// Spellings of units people write, and the unit a job file writes.
const SPELLED_UNITS: &[(&str, &str)] = &[
    ("weeks", "w"),
    ("week", "w"),
    ("days", "d"),
    ("day", "d"),
    ("hours", "h"),
    ("hour", "h"),
    ("hrs", "h"),
    ("hr", "h"),
    ("minutes", "m"),
    ("minute", "m"),
    ("mins", "m"),
    ("min", "m"),
    ("seconds", "s"),
    ("second", "s"),
    ("secs", "s"),
    ("sec", "s"),
    ("milliseconds", "ms"),
    ("millisecond", "ms"),
];

/// The duration a refused text probably means: `0` -> `0s`, `10 minutes` -> `10m`, `1.5h` ->
/// `1h30m`; `None` when no reading is clear.
fn did_you_mean(s: &str) -> Option<String> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return Some(if s.bytes().all(|b| b == b'0') {
            "0s".to_string()
        } else {
            format!("{s}s or {s}m (a duration needs a unit)")
        });
    }
    let number_len = s.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
    let (number, unit) = s.split_at(number_len);
    let unit = unit.trim().to_ascii_lowercase();
    let unit = SPELLED_UNITS.iter().find(|(spelled, _)| *spelled == unit).map_or(unit.as_str(), |(_, short)| short);
    let unit_ms = UNITS.iter().find(|(name, _)| *name == unit)?.1;
    let value: f64 = number.parse().ok()?;
    let ms = value * unit_ms as f64;
    (ms.fract() == 0.0 && ms > 0.0 && ms <= MAX_DURATION_MS as f64).then(|| format_duration(ms as i64))
}

/// Formats milliseconds the way job files write durations (`1h30m`, `0s`), for summaries and plans.
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (name, unit) in UNITS.iter().skip(1) {
        if rest >= *unit {
            out.push_str(&format!("{}{}", rest / unit, name));
            rest %= unit;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert_eq!(parse_duration("30s"), Ok(30_000));
        assert_eq!(parse_duration("10m"), Ok(600_000));
        assert_eq!(parse_duration("1h"), Ok(3_600_000));
        assert_eq!(parse_duration("1d"), Ok(86_400_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("1m500ms"), Ok(60_500));
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "10", "m", "10x", "1.5h", "-1m", "30m1h", "1h1h", "10 m", "99999999999999999999d", "36600d1s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn formats_back() {
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(86_400_000), "1d");
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(1), "1ms");
    }
}

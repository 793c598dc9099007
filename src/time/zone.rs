//! Local wall-clock time in an IANA time zone, for window jobs with a `timezone`: which window
//! steps follow the local clock, and the instant a local wall-clock boundary falls on.
//!
//! A boundary at local wall-clock time `L` is the first instant at which the zone's clock shows
//! `L` or later. Inside a repeated hour (clocks going back) that is the first occurrence of `L`;
//! inside a skipped hour (clocks going forward) it is the instant the clocks jump. So local
//! midnight always exists, and the boundaries of consecutive local days never go backwards.

use crate::time::{MS_PER_DAY, MS_PER_HOUR, MS_PER_SECOND};
use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::{TZ_VARIANTS, Tz};

/// How windows (or slides) of one step line up when the job has a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alignment {
    /// Multiples of the step since the UTC epoch, as without a time zone.
    Epoch,
    /// Multiples of the step since local 1970-01-01 00:00 on the zone's wall clock.
    Local,
}

impl Alignment {
    /// Steps that divide an hour keep epoch alignment (clock changes move whole hours in most
    /// zones, so they stay on local hour marks and each keeps its length); whole days and steps
    /// that divide a day follow the local clock. Any other step has no natural place in a local
    /// day: `None`.
    pub fn of_step(step: i64) -> Option<Alignment> {
        if step > 0 && MS_PER_HOUR % step == 0 {
            Some(Alignment::Epoch)
        } else if step > 0 && (MS_PER_DAY % step == 0 || step % MS_PER_DAY == 0) {
            Some(Alignment::Local)
        } else {
            None
        }
    }
}

/// Reads an IANA zone name such as `Europe/Dublin` or `UTC`, or says what is wrong with it.
pub fn parse_zone(text: &str) -> Result<Tz, String> {
    let name = text.trim();
    if let Ok(tz) = name.parse::<Tz>() {
        return Ok(tz);
    }
    match TZ_VARIANTS.iter().find(|tz| tz.name().eq_ignore_ascii_case(name)) {
        Some(tz) => {
            Err(format!("unknown time zone {name:?}: did you mean `{}`? (names are case-sensitive)", tz.name()))
        }
        None => Err(format!(
            "unknown time zone {name:?}: expected an IANA name such as `Europe/Dublin`, `America/New_York` or `UTC`"
        )),
    }
}

/// The local wall-clock time of instant `ts`, as milliseconds since local 1970-01-01 00:00.
pub fn local_ms(tz: Tz, ts: i64) -> i64 {
    match DateTime::from_timestamp_millis(ts) {
        Some(utc) => {
            ts + i64::from(tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc()) * MS_PER_SECOND
        }
        None => ts,
    }
}

/// The first instant at which the clock of `tz` shows local wall-clock time `local` (ms since
/// local 1970-01-01 00:00) or later.
pub fn boundary(tz: Tz, local: i64) -> i64 {
    if let Some(instant) = earliest(tz, local) {
        return instant;
    }
    // `local` lies in a gap. Gaps are contiguous, so find the first local time after it that
    // exists: double a probe until one does, then halve down to the millisecond.
    let (mut missing, mut probe) = (local, MS_PER_SECOND);
    while earliest(tz, local + probe).is_none() {
        if probe > 7 * MS_PER_DAY {
            return local - (local_ms(tz, local) - local);
        }
        missing = local + probe;
        probe *= 2;
    }
    let mut exists = local + probe;
    while exists - missing > 1 {
        let middle = missing + (exists - missing) / 2;
        if earliest(tz, middle).is_some() {
            exists = middle;
        } else {
            missing = middle;
        }
    }
    earliest(tz, exists).unwrap_or(exists)
}

/// The earliest instant showing exactly `local`, or `None` when the clock skips it.
fn earliest(tz: Tz, local: i64) -> Option<i64> {
    // Outside chrono's range (never for timestamps meterflow accepts) the zone cannot matter.
    let Some(naive) = DateTime::from_timestamp_millis(local).map(|d| d.naive_utc()) else { return Some(local) };
    tz.from_local_datetime(&naive).earliest().map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_timestamp;

    fn ms(text: &str) -> i64 {
        parse_timestamp(text.as_bytes()).unwrap()
    }

    /// Local wall-clock text read as if it were UTC: the `local` argument of `boundary`.
    fn wall(text: &str) -> i64 {
        ms(text)
    }

    #[test]
    fn dublin_days_around_the_clock_changes() {
        let dublin: Tz = parse_zone("Europe/Dublin").unwrap();
        // Spring forward on 2024-03-31 at 01:00 GMT: a 23-hour day.
        assert_eq!(boundary(dublin, wall("2024-03-31T00:00:00Z")), ms("2024-03-31T00:00:00Z"));
        assert_eq!(boundary(dublin, wall("2024-04-01T00:00:00Z")), ms("2024-03-31T23:00:00Z"));
        // Fall back on 2024-10-27 at 02:00 IST: a 25-hour day.
        assert_eq!(boundary(dublin, wall("2024-10-27T00:00:00Z")), ms("2024-10-26T23:00:00Z"));
        assert_eq!(boundary(dublin, wall("2024-10-28T00:00:00Z")), ms("2024-10-28T00:00:00Z"));
        // Winter: Irish time is UTC.
        assert_eq!(boundary(dublin, wall("2024-01-15T00:00:00Z")), ms("2024-01-15T00:00:00Z"));
    }

    #[test]
    fn boundaries_in_a_gap_or_a_repeat() {
        let dublin: Tz = "Europe/Dublin".parse().unwrap();
        // 01:30 does not exist on 2024-03-31: the clocks jump from 01:00 to 02:00 at 01:00Z.
        assert_eq!(boundary(dublin, wall("2024-03-31T01:30:00Z")), ms("2024-03-31T01:00:00Z"));
        assert_eq!(boundary(dublin, wall("2024-03-31T02:00:00Z")), ms("2024-03-31T01:00:00Z"));
        // 01:30 happens twice on 2024-10-27 (00:30Z and 01:30Z): the first one counts.
        assert_eq!(boundary(dublin, wall("2024-10-27T01:30:00Z")), ms("2024-10-27T00:30:00Z"));
        // Local midnight itself skipped: Chile moves 00:00 -> 01:00 on 2024-09-08 (UTC-4 -> UTC-3).
        let santiago: Tz = "America/Santiago".parse().unwrap();
        assert_eq!(boundary(santiago, wall("2024-09-08T00:00:00Z")), ms("2024-09-08T04:00:00Z"));
        assert_eq!(boundary(santiago, wall("2024-09-09T00:00:00Z")), ms("2024-09-09T03:00:00Z"));
    }

    #[test]
    fn local_clock_reading() {
        let dublin: Tz = "Europe/Dublin".parse().unwrap();
        assert_eq!(local_ms(dublin, ms("2024-07-01T12:00:00Z")), wall("2024-07-01T13:00:00Z"));
        assert_eq!(local_ms(dublin, ms("2024-10-27T01:30:00Z")), wall("2024-10-27T01:30:00Z"));
        assert_eq!(local_ms(dublin, ms("2024-10-27T00:30:00Z")), wall("2024-10-27T01:30:00Z"));
    }

    #[test]
    fn which_steps_follow_the_local_clock() {
        let minute = 60_000;
        for step in [1, 500, 60 * minute, 15 * minute, 30 * minute, minute] {
            assert_eq!(Alignment::of_step(step), Some(Alignment::Epoch), "{step}");
        }
        for step in [2 * MS_PER_HOUR, 6 * MS_PER_HOUR, 90 * minute, 45 * minute, MS_PER_DAY, 7 * MS_PER_DAY] {
            assert_eq!(Alignment::of_step(step), Some(Alignment::Local), "{step}");
        }
        for step in [7 * MS_PER_HOUR, 25 * MS_PER_HOUR, 36 * MS_PER_HOUR, 7 * minute] {
            assert_eq!(Alignment::of_step(step), None, "{step}");
        }
    }

    #[test]
    fn zone_names() {
        assert_eq!(parse_zone(" UTC "), Ok(Tz::UTC));
        assert_eq!(
            parse_zone("europe/dublin"),
            Err("unknown time zone \"europe/dublin\": did you mean `Europe/Dublin`? (names are case-sensitive)"
                .to_string())
        );
        assert!(
            parse_zone("Mars/Olympus")
                .unwrap_err()
                .starts_with("unknown time zone \"Mars/Olympus\": expected an IANA name")
        );
    }
}

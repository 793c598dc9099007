//! Local time in an IANA time zone, for jobs with a `timezone`: which window steps follow which
//! local clock, and the instant a local boundary falls on. Two rules, by step:
//!
//! - Whole days, steps that divide a day (but not an hour) and calendar months follow the wall
//!   clock ([`boundary`]): a boundary at local wall-clock time `L` is the first instant at which
//!   the zone's clock shows `L` or later. Inside a repeated hour (clocks going back) that is the
//!   first occurrence of `L`; inside a skipped hour (clocks going forward) it is the instant the
//!   clocks jump. So local midnight always exists, and the boundaries of consecutive local days
//!   never go backwards: a day is 23 or 25 hours long.
//! - Steps that divide an hour follow the clock's marks ([`mark_boundary`]): a boundary wherever
//!   the local clock reads a multiple of the step, both times in a repeated hour, so every such
//!   window keeps its length (a fall-back night has 25 hour windows, as its settlement periods).

use crate::time::period::Period;
use crate::time::{MS_PER_DAY, MS_PER_HOUR, MS_PER_SECOND, civil_from_days, days_from_civil};
use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::{TZ_VARIANTS, Tz};

/// How the windows (or slides, or merge ticks) of one step line up in a job's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alignment {
    /// The zone's clock marks, for steps that divide an hour: a boundary wherever the local clock
    /// reads a multiple of the step, so a repeated hour holds its steps twice and a skipped hour
    /// none, every window keeping its length (see [`mark_boundary`]).
    Marks,
    /// Local wall-clock multiples of the step counted from local 1970-01-01 00:00, each at its
    /// first occurrence (see [`boundary`]): whole days, steps that divide a day, calendar months.
    Wall,
}

impl Alignment {
    /// Steps that divide an hour follow the clock's marks; whole days, steps that divide a day
    /// and months follow the wall clock. Any other step has no natural place in a local day: `None`.
    pub(crate) fn of_period(step: Period) -> Option<Alignment> {
        match step {
            Period::Months(_) => Some(Alignment::Wall),
            Period::Fixed(ms) if ms > 0 && MS_PER_HOUR % ms == 0 => Some(Alignment::Marks),
            Period::Fixed(ms) if ms > 0 && (MS_PER_DAY % ms == 0 || ms % MS_PER_DAY == 0) => Some(Alignment::Wall),
            Period::Fixed(_) => None,
        }
    }
}

/// Reads an IANA zone name such as `Europe/Dublin` or `UTC`, or says what is wrong with it.
pub(crate) fn parse_zone(text: &str) -> Result<Tz, String> {
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
pub(crate) fn local_ms(tz: Tz, ts: i64) -> i64 {
    match DateTime::from_timestamp_millis(ts) {
        Some(utc) => {
            ts + i64::from(tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc()) * MS_PER_SECOND
        }
        None => ts,
    }
}

/// The first instant at which the clock of `tz` shows local wall-clock time `local` (ms since
/// local 1970-01-01 00:00) or later.
pub(crate) fn boundary(tz: Tz, local: i64) -> i64 {
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

/// The zone's UTC offset at instant `ts`, in ms.
pub(crate) fn offset_ms(tz: Tz, ts: i64) -> i64 {
    local_ms(tz, ts) - ts
}

/// The reading of the clock whose marks [`Alignment::Marks`] windows of `step` follow: the instant
/// moved forward by the zone's offset modulo the step. It is a multiple of the step exactly where
/// the local clock reads one, and it moves with real time (within a constant offset it never
/// repeats a mark: clock changes by whole steps leave it alone).
pub(crate) fn mark_reading(tz: Tz, step: i64, ts: i64) -> i64 {
    ts + offset_ms(tz, ts).rem_euclid(step)
}

/// The first instant whose [`mark_reading`] is `mark` or later. Where the offset changes by a
/// whole number of steps (an hour's DST against a step that divides an hour) that is the instant
/// the local clock reads the mark; where it changes by a fraction of the step (Lord Howe Island's
/// half-hour change against 1 h windows), the window before the change is that fraction longer
/// or shorter.
pub(crate) fn mark_boundary(tz: Tz, step: i64, mark: i64) -> i64 {
    // The reading runs less than a step ahead of the instant, so the answer lies in
    // (mark - step, mark]. Zones change their offset at most once in such a span.
    let (early, late) = (mark - step + 1, mark);
    let (before, after) = (offset_ms(tz, early), offset_ms(tz, late));
    if before == after {
        return mark - after.rem_euclid(step);
    }
    // The change: the first instant of the span with the later offset.
    let (mut old, mut new) = (early, late);
    while new - old > 1 {
        let middle = old + (new - old) / 2;
        if offset_ms(tz, middle) == after {
            new = middle;
        } else {
            old = middle;
        }
    }
    let change = new;
    let in_old = mark - before.rem_euclid(step);
    let in_new = (mark - after.rem_euclid(step)).max(change);
    if in_old < change { in_old.min(in_new) } else { in_new }
}

/// Local wall-clock milliseconds of midnight on the 1st of month `month`, counted in months
/// from January 1970.
pub(crate) fn month_start(month: i64) -> i64 {
    let (year, index) = (1970 + month.div_euclid(12), month.rem_euclid(12));
    days_from_civil(year, index as u32 + 1, 1) * MS_PER_DAY
}

/// The month (counted from January 1970) holding local wall-clock time `local`.
pub(crate) fn month_of(local: i64) -> i64 {
    let (year, month, _) = civil_from_days(local.div_euclid(MS_PER_DAY));
    (year - 1970) * 12 + i64::from(month) - 1
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
            assert_eq!(Alignment::of_period(Period::Fixed(step)), Some(Alignment::Marks), "{step}");
        }
        for step in [2 * MS_PER_HOUR, 6 * MS_PER_HOUR, 90 * minute, 45 * minute, MS_PER_DAY, 7 * MS_PER_DAY] {
            assert_eq!(Alignment::of_period(Period::Fixed(step)), Some(Alignment::Wall), "{step}");
        }
        for step in [7 * MS_PER_HOUR, 25 * MS_PER_HOUR, 36 * MS_PER_HOUR, 7 * minute, 0] {
            assert_eq!(Alignment::of_period(Period::Fixed(step)), None, "{step}");
        }
        assert_eq!(Alignment::of_period(Period::Months(1)), Some(Alignment::Wall));
    }

    /// Hour marks where the offset is not a whole number of hours: Kolkata (+05:30, no DST),
    /// Adelaide (+09:30 / +10:30), St John's (-03:30 / -02:30), and Dublin's repeated hour.
    #[test]
    fn hour_marks_in_half_hour_zones() {
        let zone = |name: &str| parse_zone(name).unwrap();
        let hour = MS_PER_HOUR;
        let kolkata = zone("Asia/Kolkata");
        // 11:00 IST is 05:30Z.
        assert_eq!(
            mark_boundary(kolkata, hour, mark_reading(kolkata, hour, ms("2024-07-01T05:40:00Z"))),
            ms("2024-07-01T05:40:00Z")
        );
        let k = mark_reading(kolkata, hour, ms("2024-07-01T05:40:00Z")).div_euclid(hour);
        assert_eq!(mark_boundary(kolkata, hour, k * hour), ms("2024-07-01T05:30:00Z"));
        // Adelaide: 03:00 ACDT -> 02:00 ACST on 2024-04-07 (16:30Z); both 02:00s are marks.
        let adelaide = zone("Australia/Adelaide");
        let before = mark_reading(adelaide, hour, ms("2024-04-06T15:45:00Z")).div_euclid(hour);
        assert_eq!(mark_boundary(adelaide, hour, before * hour), ms("2024-04-06T15:30:00Z"));
        assert_eq!(mark_boundary(adelaide, hour, (before + 1) * hour), ms("2024-04-06T16:30:00Z"));
        assert_eq!(mark_boundary(adelaide, hour, (before + 2) * hour), ms("2024-04-06T17:30:00Z"));
        // St John's: 02:00 NST -> 03:00 NDT on 2024-03-10 (05:30Z).
        let st_johns = zone("America/St_Johns");
        let k = mark_reading(st_johns, hour, ms("2024-03-10T05:00:00Z")).div_euclid(hour);
        assert_eq!(mark_boundary(st_johns, hour, k * hour), ms("2024-03-10T04:30:00Z"));
        assert_eq!(mark_boundary(st_johns, hour, (k + 1) * hour), ms("2024-03-10T05:30:00Z"));
        // Dublin falls back at 01:00Z on 2024-10-27: 01:00 IST (00:00Z) and 01:00 GMT (01:00Z).
        let dublin = zone("Europe/Dublin");
        let k = mark_reading(dublin, hour, ms("2024-10-27T00:30:00Z")).div_euclid(hour);
        assert_eq!(mark_boundary(dublin, hour, k * hour), ms("2024-10-27T00:00:00Z"));
        assert_eq!(mark_boundary(dublin, hour, (k + 1) * hour), ms("2024-10-27T01:00:00Z"));
    }

    /// Lord Howe Island moves its clocks by half an hour: 02:00 LHST (+10:30) -> 02:30 LHDT (+11)
    /// on 2024-10-06 (15:30Z on the 5th). Against 1 h windows the hour before the change runs to 03:00 LHDT.
    #[test]
    fn half_hour_clock_change_against_hours() {
        let lord_howe = parse_zone("Australia/Lord_Howe").unwrap();
        let hour = MS_PER_HOUR;
        let k = mark_reading(lord_howe, hour, ms("2024-10-05T15:00:00Z")).div_euclid(hour);
        assert_eq!(mark_boundary(lord_howe, hour, k * hour), ms("2024-10-05T14:30:00Z"));
        assert_eq!(mark_boundary(lord_howe, hour, (k + 1) * hour), ms("2024-10-05T16:00:00Z"));
        let mut last = i64::MIN;
        for mark in (k - 30..k + 30).map(|k| k * hour) {
            let at = mark_boundary(lord_howe, hour, mark);
            assert!(at >= last, "marks in order");
            last = at;
        }
    }

    #[test]
    fn months() {
        assert_eq!(month_start(0), ms("1970-01-01T00:00:00Z"));
        assert_eq!(month_start(12 * 54 + 1), ms("2024-02-01T00:00:00Z"));
        assert_eq!(month_start(-1), ms("1969-12-01T00:00:00Z"));
        assert_eq!(month_of(ms("2024-02-29T23:59:59.999Z")), 12 * 54 + 1);
        assert_eq!(month_of(ms("1969-12-31T23:59:59.999Z")), -1);
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

//! Where steps of a period start: the grid that window panes and merge ticks are laid on. Step
//! `k` (numbered consecutively) starts at [`Grid::start`]`(k)`:
//!
//! - without a time zone, fixed steps are multiples of the step since the UTC epoch, moved by the
//!   offset;
//! - with one, steps follow its local clock as [`crate::time::zone`] says (the clock's marks for
//!   steps that divide an hour, the wall clock for days and steps that divide a day);
//! - calendar months start at local midnight on the 1st (in UTC without a zone), plus the offset.
//!
//! The engine's window layout memoises these starts; the loader probes them to compare the grid
//! of a merge's ticks with that of the windows it reads.

use crate::time::period::Period;
use crate::time::zone::{self, Alignment};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Multiples of the step since the UTC epoch.
    Epoch { step: i64 },
    /// The wall clock: step `k` starts at local time `k * step + offset` ([`zone::boundary`]).
    Wall { tz: Tz, step: i64 },
    /// The clock's marks, for steps that divide an hour ([`zone::mark_boundary`]).
    Marks { tz: Tz, step: i64 },
    /// Calendar months: step `k` starts at local midnight on the 1st of month `k * months`.
    Months { tz: Tz, months: i64 },
}

/// The starts of consecutive steps of one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grid {
    kind: Kind,
    /// How far into each step it starts (local time, for zoned grids).
    offset: i64,
}

impl Grid {
    /// The grid of `step`, `offset` ms into each, in `timezone` (UTC when `None`). The loader has
    /// checked that a zoned step has an [`Alignment`] and that the offset is shorter than the step.
    pub(crate) fn new(step: Period, timezone: Option<Tz>, offset: i64) -> Grid {
        let kind = match (step, timezone) {
            (Period::Months(months), tz) => Kind::Months { tz: tz.unwrap_or(Tz::UTC), months },
            (Period::Fixed(step), Some(tz)) => match Alignment::of_period(Period::Fixed(step)) {
                Some(Alignment::Marks) => Kind::Marks { tz, step },
                Some(Alignment::Wall) => Kind::Wall { tz, step },
                None => Kind::Epoch { step },
            },
            (Period::Fixed(step), None) => Kind::Epoch { step },
        };
        Grid { kind, offset }
    }

    /// The step of an epoch-aligned grid (every step equally long, no time zone consulted).
    pub(crate) fn epoch_step(&self) -> Option<i64> {
        match self.kind {
            Kind::Epoch { step } => Some(step),
            _ => None,
        }
    }

    /// The instant step `k` starts. Never decreasing in `k`; two steps start at the same instant
    /// only where the clocks skipped a whole step.
    pub(crate) fn start(&self, k: i64) -> i64 {
        let offset = self.offset;
        match self.kind {
            Kind::Epoch { step } => k * step + offset,
            Kind::Wall { tz, step } => zone::boundary(tz, k * step + offset),
            Kind::Marks { tz, step } => zone::mark_boundary(tz, step, k * step + offset),
            Kind::Months { tz, months } => zone::boundary(tz, zone::month_start(k * months) + offset),
        }
    }

    /// The step holding `ts`, by its local clock reading: right to within one.
    pub(crate) fn guess(&self, ts: i64) -> i64 {
        let offset = self.offset;
        match self.kind {
            Kind::Epoch { step } => (ts - offset).div_euclid(step),
            Kind::Wall { tz, step } => (zone::local_ms(tz, ts) - offset).div_euclid(step),
            Kind::Marks { tz, step } => (zone::mark_reading(tz, step, ts) - offset).div_euclid(step),
            Kind::Months { tz, months } => zone::month_of(zone::local_ms(tz, ts) - offset).div_euclid(months),
        }
    }

    /// The step holding `ts`: the last one starting at or before it.
    pub(crate) fn step_of(&self, ts: i64) -> i64 {
        let mut k = self.guess(ts);
        while self.start(k) > ts {
            k -= 1;
        }
        while self.start(k + 1) <= ts {
            k += 1;
        }
        k
    }

    /// Whether a step starts at `ts`.
    pub(crate) fn starts_at(&self, ts: i64) -> bool {
        self.start(self.step_of(ts)) == ts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{MS_PER_DAY, MS_PER_HOUR, parse_timestamp};

    fn ms(text: &str) -> i64 {
        parse_timestamp(text.as_bytes()).unwrap()
    }

    #[test]
    fn starts_of_each_kind() {
        let dublin: Tz = "Europe/Dublin".parse().unwrap();
        let day = Period::Fixed(MS_PER_DAY);
        assert!(Grid::new(day, None, 0).starts_at(ms("2024-07-02T00:00:00Z")));
        assert!(!Grid::new(day, Some(dublin), 0).starts_at(ms("2024-07-02T00:00:00Z")));
        assert!(Grid::new(day, Some(dublin), 0).starts_at(ms("2024-07-01T23:00:00Z")));
        assert!(Grid::new(day, None, 6 * MS_PER_HOUR).starts_at(ms("2024-07-02T06:00:00Z")));
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert!(Grid::new(Period::Fixed(MS_PER_HOUR), Some(kolkata), 0).starts_at(ms("2024-07-02T05:30:00Z")));
        assert!(!Grid::new(Period::Fixed(MS_PER_HOUR), Some(kolkata), 0).starts_at(ms("2024-07-02T05:00:00Z")));
        assert!(Grid::new(Period::Months(1), Some(dublin), 0).starts_at(ms("2024-03-31T23:00:00Z")));
        assert_eq!(Grid::new(Period::Fixed(MS_PER_HOUR), None, 0).epoch_step(), Some(MS_PER_HOUR));
        assert_eq!(Grid::new(Period::Fixed(MS_PER_HOUR), Some(kolkata), 0).epoch_step(), None);
    }
}

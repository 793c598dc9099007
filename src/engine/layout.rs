//! Where a policy's windows lie in time, and where a merge's ticks fall. Time is cut into panes
//! one step long (the slide of a sliding window, the size of a tumbling one, a merge's `every`) and
//! numbered consecutively; window `j` covers the `n` panes `j .. j + n` (`n = size / step`, 1 for
//! tumbling windows) and is stamped at the start of pane `j`, so a reading of pane `k` belongs to
//! windows `k - n + 1 ..= k`.
//!
//! Panes are the steps of a [`Grid`]: epoch-aligned in UTC (moved by the job's `offset`), by plain
//! arithmetic; or following a time zone's local clock, or the calendar's months. Then a pane can be
//! 23 or 25 hours (or 28 to 31 days) long, and the instants of recently used boundaries are
//! memoised so the time zone is consulted only when a series moves into a new pane.

use crate::job::WindowType;
use crate::time::grid::Grid;
use crate::time::period::Period;
use chrono_tz::Tz;
use std::ops::RangeInclusive;

/// Boundaries memoised per local layout (a direct-mapped table, by pane number).
const MEMO: usize = 64;

pub struct Layout {
    /// The step of UTC-aligned panes in ms (unused by local panes).
    step: i64,
    /// Where panes start within their step: pane `k` of a UTC layout starts at `k * step + offset`.
    offset: i64,
    /// Panes per window.
    panes: i64,
    local: Option<LocalPanes>,
}

struct LocalPanes {
    grid: Grid,
    /// The pane found last and its bounds, for the next reading of a series that stays in it.
    last: (i64, i64, i64),
    /// `(pane, start instant)`; `i64::MIN` marks an empty slot.
    memo: [(i64, i64); MEMO],
}

impl Layout {
    /// The layout of windows of `size`, starting `offset` ms into each step; the loader has
    /// checked that a sliding size is a multiple of the slide, that a zoned step can be aligned
    /// in the zone, and that the offset is shorter than the step.
    pub(crate) fn new(window: WindowType, size: Period, timezone: Option<Tz>, offset: i64) -> Layout {
        let step = match window {
            WindowType::Tumbling => size,
            WindowType::Sliding { slide } => slide,
        };
        let panes = size.multiple_of(step).unwrap_or(1);
        let grid = Grid::new(step, timezone, offset);
        match grid.epoch_step() {
            Some(step) => Layout { step, offset, panes, local: None },
            None => {
                let local = LocalPanes { grid, last: (0, 0, 0), memo: [(i64::MIN, 0); MEMO] };
                Layout { step: 0, offset, panes, local: Some(local) }
            }
        }
    }

    /// The size of every window when windows are UTC-aligned tumbling ones (each reading in
    /// exactly one window, all windows equally long), `None` otherwise.
    #[inline]
    pub(crate) fn fixed_tumbling(&self) -> Option<i64> {
        (self.panes == 1 && self.local.is_none()).then_some(self.step)
    }

    /// The windows containing `ts`, by number.
    #[inline]
    pub(crate) fn windows_of(&mut self, ts: i64) -> RangeInclusive<i64> {
        let k = self.pane_of(ts);
        (k - self.panes + 1)..=k
    }

    /// Start and end of window `j`, or `None` when its first pane is empty (the clocks skipped
    /// a whole pane): that window would share its start, and so its output row, with the next.
    #[inline]
    pub(crate) fn window(&mut self, j: i64) -> Option<(i64, i64)> {
        let start = self.pane_start(j);
        if self.local.is_some() && self.panes > 1 && self.pane_start(j + 1) == start {
            return None;
        }
        Some((start, self.pane_start(j + self.panes)))
    }

    /// The end of the window that starts at `start` (a start [`Layout::window`] gave).
    #[inline]
    pub(crate) fn end_of(&mut self, start: i64) -> i64 {
        // UTC panes are all one step long: no division (a merge asks once a tick).
        if self.local.is_none() {
            return start + self.panes * self.step;
        }
        let j = self.pane_of(start);
        self.pane_start(j + self.panes)
    }

    /// The first window start at or after `ts` (a merge's first tick).
    pub(crate) fn start_at_or_after(&mut self, ts: i64) -> i64 {
        let k = self.pane_of(ts);
        let start = self.pane_start(k);
        if start == ts { start } else { self.pane_start(k + 1) }
    }

    /// The last window start before `start` (a merge's tick before a tick); panes the clocks
    /// skipped, which start where the next one does, are passed over.
    pub(crate) fn start_before(&mut self, start: i64) -> i64 {
        if self.local.is_none() {
            return start - self.step;
        }
        let mut k = self.pane_of(start) - 1;
        while self.pane_start(k) >= start {
            k -= 1;
        }
        self.pane_start(k)
    }

    /// The pane of `ts`: a UTC pane by one division, inlined where the window job and the merge
    /// call it once a window, a trim and a tick; a local one out of line.
    #[inline]
    fn pane_of(&mut self, ts: i64) -> i64 {
        if self.local.is_none() {
            return (ts - self.offset).div_euclid(self.step);
        }
        self.local_pane_of(ts)
    }

    #[inline(never)]
    fn local_pane_of(&mut self, ts: i64) -> i64 {
        let Some(local) = &self.local else { return (ts - self.offset).div_euclid(self.step) };
        let ((k, start, end), grid) = (local.last, local.grid);
        if start <= ts && ts < end {
            return k;
        }
        // A series moving on in time usually enters the next pane, whose bounds are memoised.
        let mut k = if end <= ts && ts < self.pane_start(k + 2) { k + 1 } else { grid.guess(ts) };
        // The guess is right to within one; boundaries decide.
        while self.pane_start(k) > ts {
            k -= 1;
        }
        while self.pane_start(k + 1) <= ts {
            k += 1;
        }
        let bounds = (k, self.pane_start(k), self.pane_start(k + 1));
        if let Some(local) = &mut self.local {
            local.last = bounds;
        }
        k
    }

    fn pane_start(&mut self, k: i64) -> i64 {
        let Some(local) = &mut self.local else { return k * self.step + self.offset };
        let slot = k.rem_euclid(MEMO as i64) as usize;
        if local.memo[slot].0 == k {
            return local.memo[slot].1;
        }
        let start = local.grid.start(k);
        local.memo[slot] = (k, start);
        start
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, parse_timestamp};

    fn ms(text: &str) -> i64 {
        parse_timestamp(text.as_bytes()).unwrap()
    }

    fn windows(layout: &mut Layout, ts: &str) -> Vec<(i64, i64)> {
        let range = layout.windows_of(ms(ts));
        range.filter_map(|j| layout.window(j)).collect()
    }

    #[test]
    fn tumbling_utc() {
        let ten = 10 * MS_PER_MINUTE;
        let mut layout = Layout::new(WindowType::Tumbling, Period::Fixed(ten), None, 0);
        assert_eq!(
            windows(&mut layout, "2024-01-01T00:19:59.999Z"),
            [(ms("2024-01-01T00:10:00Z"), ms("2024-01-01T00:20:00Z"))]
        );
        // Flooring, so pre-1970 (negative) timestamps align like later ones.
        for (ts, start) in [(-1, -ten), (-ten, -ten), (-ten - 1, -2 * ten), (ten - 1, 0), (ten, ten)] {
            let range = layout.windows_of(ts);
            assert_eq!(range.clone().count(), 1);
            assert_eq!(layout.window(*range.start()), Some((start, start + ten)), "{ts}");
        }
    }

    #[test]
    fn sliding_utc_every_window_containing_the_reading() {
        let mut layout = Layout::new(
            WindowType::Sliding { slide: Period::Fixed(5 * MS_PER_MINUTE) },
            Period::Fixed(15 * MS_PER_MINUTE),
            None,
            0,
        );
        let m = |t: &str| ms(&format!("2024-01-01T{t}:00Z"));
        assert_eq!(
            windows(&mut layout, "2024-01-01T00:12:00Z"),
            [(m("00:00"), m("00:15")), (m("00:05"), m("00:20")), (m("00:10"), m("00:25"))]
        );
        // Half-open: a reading on a slide boundary starts a window and is outside the one ending there.
        assert_eq!(
            windows(&mut layout, "2024-01-01T00:10:00Z"),
            [(m("00:00"), m("00:15")), (m("00:05"), m("00:20")), (m("00:10"), m("00:25"))]
        );
        assert_eq!(windows(&mut layout, "2024-01-01T00:09:59.999Z")[0], (m("00:00") - 5 * MS_PER_MINUTE, m("00:10")));
    }

    #[test]
    fn local_days_are_23_or_25_hours_around_dublin_clock_changes() {
        let dublin: Tz = "Europe/Dublin".parse().unwrap();
        let mut layout = Layout::new(WindowType::Tumbling, Period::Fixed(MS_PER_DAY), Some(dublin), 0);
        let spring = (ms("2024-03-31T00:00:00Z"), ms("2024-03-31T23:00:00Z"));
        assert_eq!(windows(&mut layout, "2024-03-31T00:00:00Z"), [spring]);
        assert_eq!(windows(&mut layout, "2024-03-31T22:59:59.999Z"), [spring]);
        assert_eq!(windows(&mut layout, "2024-03-31T23:00:00Z")[0].0, ms("2024-03-31T23:00:00Z"));
        let autumn = (ms("2024-10-26T23:00:00Z"), ms("2024-10-28T00:00:00Z"));
        assert_eq!(autumn.1 - autumn.0, 25 * MS_PER_HOUR);
        for ts in ["2024-10-26T23:00:00Z", "2024-10-27T00:30:00Z", "2024-10-27T01:30:00Z", "2024-10-27T23:59:59.999Z"] {
            assert_eq!(windows(&mut layout, ts), [autumn], "{ts}");
        }
        assert_eq!(windows(&mut layout, "2024-10-26T22:59:59.999Z")[0].1, autumn.0);
    }

    #[test]
    fn sub_hour_steps_keep_epoch_alignment_in_a_zone() {
        let dublin: Tz = "Europe/Dublin".parse().unwrap();
        let mut layout = Layout::new(WindowType::Tumbling, Period::Fixed(MS_PER_HOUR), Some(dublin), 0);
        // The repeated hour of 2024-10-27 is two windows of an hour each.
        assert_eq!(
            windows(&mut layout, "2024-10-27T00:30:00Z"),
            [(ms("2024-10-27T00:00:00Z"), ms("2024-10-27T01:00:00Z"))]
        );
        assert_eq!(
            windows(&mut layout, "2024-10-27T01:30:00Z"),
            [(ms("2024-10-27T01:00:00Z"), ms("2024-10-27T02:00:00Z"))]
        );
    }

    #[test]
    fn sliding_local_days() {
        let dublin: Tz = "Europe/Dublin".parse().unwrap();
        let mut layout = Layout::new(
            WindowType::Sliding { slide: Period::Fixed(MS_PER_DAY) },
            Period::Fixed(2 * MS_PER_DAY),
            Some(dublin),
            0,
        );
        // 2024-03-31 12:00 IST is in the local days starting 03-30 and 03-31.
        assert_eq!(
            windows(&mut layout, "2024-03-31T11:00:00Z"),
            [
                (ms("2024-03-30T00:00:00Z"), ms("2024-03-31T23:00:00Z")),
                (ms("2024-03-31T00:00:00Z"), ms("2024-04-01T23:00:00Z"))
            ]
        );
    }

    #[test]
    fn a_skipped_local_day_starts_no_window() {
        // Samoa skipped 2011-12-30 entirely: 12-29 24:00 (UTC-10) was followed by 12-31 00:00 (UTC+14).
        let apia: Tz = "Pacific/Apia".parse().unwrap();
        let mut layout = Layout::new(
            WindowType::Sliding { slide: Period::Fixed(MS_PER_DAY) },
            Period::Fixed(2 * MS_PER_DAY),
            Some(apia),
            0,
        );
        let got = windows(&mut layout, "2011-12-30T12:00:00Z");
        // 12-30T12:00Z is 12-31 02:00 local: windows from 12-30 (empty, skipped) and 12-31.
        assert_eq!(got, [(ms("2011-12-30T10:00:00Z"), ms("2012-01-01T10:00:00Z"))]);
    }

    /// `end_of` gives back the end `window` gave, and the tick helpers step through the starts,
    /// for every layout kind, across clock changes and a skipped day, whatever the layout
    /// memoised before.
    #[test]
    fn end_of_a_window_start() {
        let zone = |name: &str| Some(name.parse::<Tz>().unwrap());
        let (minute, day) = (Period::Fixed(MS_PER_MINUTE), Period::Fixed(MS_PER_DAY));
        let sliding = |slide: i64| WindowType::Sliding { slide: Period::Fixed(slide) };
        let layouts = [
            (WindowType::Tumbling, Period::Fixed(10 * MS_PER_MINUTE), None, 0),
            (sliding(5 * MS_PER_MINUTE), Period::Fixed(15 * MS_PER_MINUTE), None, 0),
            (WindowType::Tumbling, day, zone("Europe/Dublin"), 0),
            (WindowType::Tumbling, day, zone("Europe/Dublin"), 6 * MS_PER_HOUR),
            (sliding(MS_PER_DAY), Period::Fixed(2 * MS_PER_DAY), zone("Europe/Dublin"), 0),
            (sliding(MS_PER_DAY), Period::Fixed(2 * MS_PER_DAY), zone("Pacific/Apia"), 0),
            (WindowType::Tumbling, Period::Fixed(MS_PER_HOUR), zone("Asia/Kolkata"), 0),
            (WindowType::Tumbling, Period::Fixed(MS_PER_HOUR), zone("Australia/Lord_Howe"), 0),
            (sliding(MS_PER_HOUR), Period::Fixed(3 * MS_PER_HOUR), zone("America/St_Johns"), 0),
            (WindowType::Tumbling, Period::Months(1), zone("Europe/Dublin"), 0),
            (WindowType::Tumbling, Period::Months(1), None, 6 * MS_PER_HOUR),
            (WindowType::Sliding { slide: Period::Months(1) }, Period::Months(3), zone("Pacific/Apia"), 0),
            (WindowType::Tumbling, minute, zone("Asia/Kathmandu"), 0),
        ];
        for (window, size, tz, offset) in layouts {
            let mut layout = Layout::new(window, size, tz, offset);
            let mut probe = Layout::new(window, size, tz, offset);
            let mut ticks = Layout::new(window, size, tz, offset);
            for ts in (ms("2011-12-28T00:00:00Z")..ms("2012-01-03T00:00:00Z"))
                .step_by(7 * MS_PER_MINUTE as usize)
                .chain((ms("2024-03-30T00:00:00Z")..ms("2024-04-01T00:00:00Z")).step_by(MS_PER_HOUR as usize))
                .chain((ms("2024-10-05T13:00:00Z")..ms("2024-10-05T18:00:00Z")).step_by(MS_PER_MINUTE as usize))
            {
                for j in layout.windows_of(ts) {
                    if let Some((start, end)) = layout.window(j) {
                        assert!(start <= ts && ts < end || window != WindowType::Tumbling);
                        assert_eq!(probe.end_of(start), end, "{window:?} {size} {tz:?} at {ts}");
                    }
                }
                if window == WindowType::Tumbling {
                    let next = ticks.start_at_or_after(ts);
                    assert!(next >= ts);
                    assert!(ticks.start_before(next) < ts || next == ts, "{size} {tz:?} at {ts}");
                }
            }
        }
    }

    /// With a zone whose offset is not a whole number of hours, hour windows start on the local
    /// hour: 10:45 and 11:10 are in two windows in Kolkata (+05:30), Adelaide (+10:30 in
    /// January), St John's (-03:30 in January) and Kathmandu (+05:45).
    #[test]
    fn local_hours_in_every_zone() {
        let hour = Period::Fixed(MS_PER_HOUR);
        for (zone, first, second) in [
            ("Asia/Kolkata", "2024-01-15T05:15:00Z", (ms("2024-01-15T04:30:00Z"), ms("2024-01-15T05:30:00Z"))),
            ("Australia/Adelaide", "2024-01-15T00:15:00Z", (ms("2024-01-14T23:30:00Z"), ms("2024-01-15T00:30:00Z"))),
            ("America/St_Johns", "2024-01-15T14:15:00Z", (ms("2024-01-15T13:30:00Z"), ms("2024-01-15T14:30:00Z"))),
            ("Asia/Kathmandu", "2024-01-15T05:00:00Z", (ms("2024-01-15T04:15:00Z"), ms("2024-01-15T05:15:00Z"))),
        ] {
            let mut layout = Layout::new(WindowType::Tumbling, hour, Some(zone.parse().unwrap()), 0);
            assert_eq!(windows(&mut layout, first), [second], "{zone} 10:45");
            let later = second.1 + 10 * MS_PER_MINUTE;
            let range = layout.windows_of(later);
            assert_eq!(layout.window(*range.start()), Some((second.1, second.1 + MS_PER_HOUR)), "{zone} 11:10");
        }
    }

    /// Adelaide falls back from 03:00 ACDT to 02:00 ACST on 2024-04-07 (16:30Z): the hour 02:00
    /// happens twice and is two windows of an hour, as in Dublin.
    #[test]
    fn repeated_local_hour_in_a_half_hour_zone() {
        let adelaide: Tz = "Australia/Adelaide".parse().unwrap();
        let mut layout = Layout::new(WindowType::Tumbling, Period::Fixed(MS_PER_HOUR), Some(adelaide), 0);
        assert_eq!(
            windows(&mut layout, "2024-04-06T16:00:00Z"),
            [(ms("2024-04-06T15:30:00Z"), ms("2024-04-06T16:30:00Z"))]
        );
        assert_eq!(
            windows(&mut layout, "2024-04-06T17:00:00Z"),
            [(ms("2024-04-06T16:30:00Z"), ms("2024-04-06T17:30:00Z"))]
        );
    }

    /// Samoa skipped 2011-12-30: daily ticks there go from 12-29 to 12-31 both ways.
    #[test]
    fn ticks_step_over_a_skipped_day() {
        let apia: Tz = "Pacific/Apia".parse().unwrap();
        let mut ticks = Layout::new(WindowType::Tumbling, Period::Fixed(MS_PER_DAY), Some(apia), 0);
        // Local midnights: 12-29 is 10:00Z on 12-29 (UTC-10), 12-31 is 10:00Z on 12-30 (UTC+14).
        let (before, after) = (ms("2011-12-29T10:00:00Z"), ms("2011-12-30T10:00:00Z"));
        assert_eq!(ticks.end_of(before), after);
        assert_eq!(ticks.start_before(after), before);
        assert_eq!(ticks.start_at_or_after(before + 1), after);
    }

    #[test]
    fn calendar_months_in_a_zone() {
        let dublin: Tz = "Europe/Dublin".parse().unwrap();
        let mut layout = Layout::new(WindowType::Tumbling, Period::Months(1), Some(dublin), 0);
        // March 2024 in Dublin: from midnight GMT on the 1st to midnight IST on 1 April.
        let march = (ms("2024-03-01T00:00:00Z"), ms("2024-03-31T23:00:00Z"));
        assert_eq!(windows(&mut layout, "2024-03-31T22:59:59.999Z"), [march]);
        assert_eq!(windows(&mut layout, "2024-03-01T00:00:00Z"), [march]);
        assert_eq!(windows(&mut layout, "2024-03-31T23:00:00Z")[0].0, march.1);
        // February of a leap year, in UTC; a year; a quarter sliding by months.
        let mut utc = Layout::new(WindowType::Tumbling, Period::Months(1), None, 0);
        assert_eq!(
            windows(&mut utc, "2024-02-29T12:00:00Z"),
            [(ms("2024-02-01T00:00:00Z"), ms("2024-03-01T00:00:00Z"))]
        );
        let mut year = Layout::new(WindowType::Tumbling, Period::Months(12), None, 0);
        assert_eq!(
            windows(&mut year, "2024-07-01T00:00:00Z"),
            [(ms("2024-01-01T00:00:00Z"), ms("2025-01-01T00:00:00Z"))]
        );
        let mut quarters = Layout::new(WindowType::Sliding { slide: Period::Months(1) }, Period::Months(3), None, 0);
        let got = windows(&mut quarters, "2024-03-15T00:00:00Z");
        let starts: Vec<i64> = got.iter().map(|w| w.0).collect();
        assert_eq!(starts, [ms("2024-01-01T00:00:00Z"), ms("2024-02-01T00:00:00Z"), ms("2024-03-01T00:00:00Z")]);
        assert_eq!(got[0].1, ms("2024-04-01T00:00:00Z"));
    }

    #[test]
    fn offsets_move_window_starts() {
        // A gas day, 06:00 to 06:00: in UTC, and in Dublin (05:00Z in summer).
        let gas = |tz: Option<Tz>| Layout::new(WindowType::Tumbling, Period::Fixed(MS_PER_DAY), tz, 6 * MS_PER_HOUR);
        assert_eq!(
            windows(&mut gas(None), "2024-01-02T05:59:59.999Z"),
            [(ms("2024-01-01T06:00:00Z"), ms("2024-01-02T06:00:00Z"))]
        );
        assert_eq!(
            windows(&mut gas(Some("Europe/Dublin".parse().unwrap())), "2024-07-02T05:30:00Z"),
            [(ms("2024-07-02T05:00:00Z"), ms("2024-07-03T05:00:00Z"))]
        );
        // Sliding hours starting at :30, and months starting at 06:00 on the 1st.
        let mut half = Layout::new(
            WindowType::Sliding { slide: Period::Fixed(MS_PER_HOUR) },
            Period::Fixed(2 * MS_PER_HOUR),
            None,
            30 * MS_PER_MINUTE,
        );
        assert_eq!(
            windows(&mut half, "2024-01-01T01:00:00Z"),
            [
                (ms("2023-12-31T23:30:00Z"), ms("2024-01-01T01:30:00Z")),
                (ms("2024-01-01T00:30:00Z"), ms("2024-01-01T02:30:00Z"))
            ]
        );
        let mut gas_months = Layout::new(WindowType::Tumbling, Period::Months(1), None, 6 * MS_PER_HOUR);
        assert_eq!(
            windows(&mut gas_months, "2024-03-01T05:00:00Z"),
            [(ms("2024-02-01T06:00:00Z"), ms("2024-03-01T06:00:00Z"))]
        );
    }
}

//! Where a policy's windows lie in time. Time is cut into panes one step long (the slide of a
//! sliding window, the size of a tumbling one) and numbered from the epoch; window `j` covers the
//! `n` panes `j .. j + n` (`n = size / step`, 1 for tumbling windows) and is stamped at the start
//! of pane `j`, so a reading of pane `k` belongs to windows `k - n + 1 ..= k`.
//!
//! Panes are epoch-aligned in UTC, or, for steps [`Alignment::Local`] in a job's time zone, start
//! at local wall-clock multiples of the step (see [`crate::time::zone`]): then a pane can be 23 or 25
//! hours long, and the instants of recently used boundaries are memoised so the time zone is
//! consulted only when a series moves into a new pane.

use crate::job::WindowType;
use crate::time::zone::{self, Alignment};
use chrono_tz::Tz;
use std::ops::RangeInclusive;

/// Boundaries memoised per local layout (a direct-mapped table, by pane number).
const MEMO: usize = 64;

pub struct Layout {
    step: i64,
    /// Panes per window.
    panes: i64,
    local: Option<LocalPanes>,
}

struct LocalPanes {
    tz: Tz,
    /// The pane found last and its bounds, for the next reading of a series that stays in it.
    last: (i64, i64, i64),
    /// `(pane, start instant)`; `i64::MIN` marks an empty slot.
    memo: [(i64, i64); MEMO],
}

impl Layout {
    /// The layout of windows of `size` ms; the loader has checked that a sliding size is a
    /// multiple of the slide.
    pub fn new(window: WindowType, size: i64, timezone: Option<Tz>) -> Layout {
        let step = match window {
            WindowType::Tumbling => size,
            WindowType::Sliding { slide } => slide,
        };
        let local = match (timezone, Alignment::of_step(step)) {
            (Some(tz), Some(Alignment::Local)) => Some(LocalPanes { tz, last: (0, 0, 0), memo: [(i64::MIN, 0); MEMO] }),
            _ => None,
        };
        Layout { step, panes: size / step, local }
    }

    /// The size of every window when windows are UTC-aligned tumbling ones (each reading in
    /// exactly one window, all windows equally long), `None` otherwise.
    #[inline]
    pub fn fixed_tumbling(&self) -> Option<i64> {
        (self.panes == 1 && self.local.is_none()).then_some(self.step)
    }

    /// The windows containing `ts`, by number.
    #[inline]
    pub fn windows_of(&mut self, ts: i64) -> RangeInclusive<i64> {
        let k = self.pane_of(ts);
        (k - self.panes + 1)..=k
    }

    /// Start and end of window `j`, or `None` when its first pane is empty (the clocks skipped
    /// a whole pane): that window would share its start, and so its output row, with the next.
    #[inline]
    pub fn window(&mut self, j: i64) -> Option<(i64, i64)> {
        let start = self.pane_start(j);
        if self.local.is_some() && self.panes > 1 && self.pane_start(j + 1) == start {
            return None;
        }
        Some((start, self.pane_start(j + self.panes)))
    }

    /// The end of the window that starts at `start` (a start [`Layout::window`] gave).
    #[inline]
    pub fn end_of(&mut self, start: i64) -> i64 {
        let j = self.pane_of(start);
        self.pane_start(j + self.panes)
    }

    fn pane_of(&mut self, ts: i64) -> i64 {
        let step = self.step;
        let Some(local) = &self.local else { return ts.div_euclid(step) };
        let (k, start, end) = local.last;
        if start <= ts && ts < end {
            return k;
        }
        // The local clock reading gives the pane to within one; boundaries decide.
        let mut k = zone::local_ms(local.tz, ts).div_euclid(step);
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
        let step = self.step;
        let Some(local) = &mut self.local else { return k * step };
        let slot = k.rem_euclid(MEMO as i64) as usize;
        if local.memo[slot].0 == k {
            return local.memo[slot].1;
        }
        let start = zone::boundary(local.tz, k * step);
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
        let mut layout = Layout::new(WindowType::Tumbling, ten, None);
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
        let mut layout = Layout::new(WindowType::Sliding { slide: 5 * MS_PER_MINUTE }, 15 * MS_PER_MINUTE, None);
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
        let mut layout = Layout::new(WindowType::Tumbling, MS_PER_DAY, Some(dublin));
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
        let mut layout = Layout::new(WindowType::Tumbling, MS_PER_HOUR, Some(dublin));
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
        let mut layout = Layout::new(WindowType::Sliding { slide: MS_PER_DAY }, 2 * MS_PER_DAY, Some(dublin));
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
        let mut layout = Layout::new(WindowType::Sliding { slide: MS_PER_DAY }, 2 * MS_PER_DAY, Some(apia));
        let got = windows(&mut layout, "2011-12-30T12:00:00Z");
        // 12-30T12:00Z is 12-31 02:00 local: windows from 12-30 (empty, skipped) and 12-31.
        assert_eq!(got, [(ms("2011-12-30T10:00:00Z"), ms("2012-01-01T10:00:00Z"))]);
    }

    /// `end_of` gives back the end `window` gave, for every layout kind, across clock changes and
    /// a skipped day, whatever the layout memoised before.
    #[test]
    fn end_of_a_window_start() {
        let zone = |name: &str| Some(name.parse::<Tz>().unwrap());
        let layouts = [
            (WindowType::Tumbling, 10 * MS_PER_MINUTE, None),
            (WindowType::Sliding { slide: 5 * MS_PER_MINUTE }, 15 * MS_PER_MINUTE, None),
            (WindowType::Tumbling, MS_PER_DAY, zone("Europe/Dublin")),
            (WindowType::Sliding { slide: MS_PER_DAY }, 2 * MS_PER_DAY, zone("Europe/Dublin")),
            (WindowType::Sliding { slide: MS_PER_DAY }, 2 * MS_PER_DAY, zone("Pacific/Apia")),
        ];
        for (window, size, tz) in layouts {
            let mut layout = Layout::new(window, size, tz);
            let mut probe = Layout::new(window, size, tz);
            for ts in (ms("2011-12-28T00:00:00Z")..ms("2012-01-03T00:00:00Z"))
                .step_by(7 * MS_PER_MINUTE as usize)
                .chain((ms("2024-03-30T00:00:00Z")..ms("2024-04-01T00:00:00Z")).step_by(MS_PER_HOUR as usize))
            {
                for j in layout.windows_of(ts) {
                    if let Some((start, end)) = layout.window(j) {
                        assert_eq!(probe.end_of(start), end, "{window:?} {size} {tz:?} at {ts}");
                    }
                }
            }
        }
    }
}

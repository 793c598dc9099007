//! Event time and lateness: the one place that decides whether a reading is on time, late within
//! the allowed lateness, or late beyond it, when a window closes and expires, and how far a
//! reading moves its clock's watermark ([`FutureGuard`]).

use serde::{Deserialize, Serialize};

/// No reading seen yet on a clock.
pub(crate) const NO_WATERMARK: i64 = i64::MIN;

/// How a reading relates to its window and the watermark at its arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// The window `[s, e)` is still open: `W < e`.
    OnTime,
    /// The window has closed but not expired: `e <= W < e + latency`. Added; the window is computed again.
    LateWithin,
    /// The window has expired: `W >= e + latency`. Dropped and counted.
    LateBeyond,
}

/// Classifies a reading for the window ending at `window_end` against watermark `w`.
#[inline]
pub(crate) fn classify(window_end: i64, w: i64, latency: i64) -> Arrival {
    if w >= window_end + latency {
        Arrival::LateBeyond
    } else if w >= window_end {
        Arrival::LateWithin
    } else {
        Arrival::OnTime
    }
}

/// A raw merge operand stamped earlier than `W - latency` is late beyond lateness.
#[inline]
pub(crate) fn operand_is_late(ts: i64, w: i64, latency: i64) -> bool {
    ts < w.saturating_sub(latency)
}

/// What [`FutureGuard::advance`] did with a reading, for the count of future-skewed readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skew {
    /// The watermark moved (or stayed) as usual.
    None,
    /// Held back: the reading is too far ahead of the watermark to move it until confirmed.
    Held,
    /// This reading confirmed the one held back before it: the watermark jumped to the later of
    /// the two, and the held one no longer counts as skewed.
    Confirmed,
}

/// A clock's guard against device clocks far in the future (`max_future_skew`), which must not
/// freeze a good meter either. A reading more than the skew ahead of an established watermark
/// does not move it at once: it is held back. The jump is taken when the clock's next reading
/// ahead of the watermark confirms it, landing not more than the skew before the held one (time
/// goes on from there: a meter back from an outage); a next reading within the skew of the old
/// watermark shows the held one isolated (a glitch), which then never moves the watermark.
/// Readings at or behind the watermark decide nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FutureGuard {
    /// The timestamp held back, [`NO_WATERMARK`] when none is.
    held: i64,
}

impl FutureGuard {
    /// A guard holding nothing back.
    pub(crate) const NEW: FutureGuard = FutureGuard { held: NO_WATERMARK };

    /// The watermark after a reading stamped `ts` arrives at watermark `w`.
    #[inline]
    pub(crate) fn advance(&mut self, w: i64, ts: i64, max_future_skew: Option<i64>) -> (i64, Skew) {
        if ts <= w {
            return (w, Skew::None);
        }
        let Some(skew) = max_future_skew.filter(|_| w != NO_WATERMARK) else { return (ts, Skew::None) };
        if ts - w <= skew {
            self.held = NO_WATERMARK;
            return (ts, Skew::None);
        }
        if self.held != NO_WATERMARK && ts >= self.held.saturating_sub(skew) {
            let jump = ts.max(self.held);
            self.held = NO_WATERMARK;
            return (jump, Skew::Confirmed);
        }
        self.held = ts;
        (w, Skew::Held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn platform_figure() {
        // 5-minute windows, window [11:00, 11:05), latency 5m.
        let (start, end) = (11 * 60 * MIN, 11 * 60 * MIN + 5 * MIN);
        let _ = start;
        let w1 = 11 * 60 * MIN + 7 * MIN + 30_000;
        let w2 = 11 * 60 * MIN + 12 * MIN + 30_000;
        assert_eq!(classify(end, w1, 5 * MIN), Arrival::LateWithin);
        assert_eq!(classify(end, w2, 5 * MIN), Arrival::LateBeyond);
        assert_eq!(classify(end, w1, 0), Arrival::LateBeyond);
        assert_eq!(classify(end, w2, 0), Arrival::LateBeyond);
        assert_eq!(classify(end, end - 1, 0), Arrival::OnTime);
        assert_eq!(classify(end, NO_WATERMARK, 0), Arrival::OnTime);
    }

    #[test]
    fn operand_lateness() {
        assert!(!operand_is_late(100, 100, 0));
        assert!(operand_is_late(99, 100, 0));
        assert!(!operand_is_late(90, 100, 10));
        assert!(!operand_is_late(i64::MIN + 1, NO_WATERMARK, 10));
    }

    #[test]
    fn future_skew_holds_an_isolated_reading() {
        let mut guard = FutureGuard::NEW;
        assert_eq!(guard.advance(NO_WATERMARK, 5, Some(1)), (5, Skew::None));
        assert_eq!(guard.advance(5, 6, Some(1)), (6, Skew::None));
        assert_eq!(guard.advance(6, 1_000, Some(1)), (6, Skew::Held));
        // The next reading ahead carries on from the old time: the held one was a glitch.
        assert_eq!(guard.advance(6, 7, Some(1)), (7, Skew::None));
        assert_eq!(guard.advance(7, 1_000, Some(1)), (7, Skew::Held));
        // Readings behind the watermark decide nothing; one far from both holds anew.
        assert_eq!(guard.advance(7, 3, Some(1)), (7, Skew::None));
        assert_eq!(guard.advance(7, 500, Some(1)), (7, Skew::Held));
        assert_eq!(guard.advance(7, 8, Some(1)), (8, Skew::None));
        assert_eq!(guard.advance(8, 1_000, None), (1_000, Skew::None));
    }

    #[test]
    fn future_skew_takes_a_confirmed_jump() {
        const MIN: i64 = 60_000;
        let mut guard = FutureGuard::NEW;
        let skew = Some(10 * MIN);
        // An outage: 00:19, then silence until 00:40, then 00:41.
        assert_eq!(guard.advance(19 * MIN, 40 * MIN, skew), (19 * MIN, Skew::Held));
        assert_eq!(guard.advance(19 * MIN, 41 * MIN, skew), (41 * MIN, Skew::Confirmed));
        // The confirming reading may come in slightly out of order: the jump goes to the later.
        assert_eq!(guard.advance(41 * MIN, 90 * MIN, skew), (41 * MIN, Skew::Held));
        assert_eq!(guard.advance(41 * MIN, 85 * MIN, skew), (90 * MIN, Skew::Confirmed));
        // Readings further apart than the skew confirm every second one: never frozen.
        assert_eq!(guard.advance(90 * MIN, 150 * MIN, skew), (90 * MIN, Skew::Held));
        assert_eq!(guard.advance(90 * MIN, 210 * MIN, skew), (210 * MIN, Skew::Confirmed));
    }
}

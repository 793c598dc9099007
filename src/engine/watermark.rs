//! Event time and lateness: the one place that decides whether a reading is on time, late within
//! the allowed lateness, or late beyond it, when a window closes and expires, and how far a
//! reading moves its clock's watermark and when a reading stamped too far ahead is taken
//! ([`FutureGuard`]).

use super::{Feed, Reading};
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

/// A reading the future-skew guard holds back, as it arrived: until the clock's next reading ahead
/// decides, it is in no window and no figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct HeldBack {
    pub(crate) reading: Reading,
    pub(crate) feed: Feed,
}

/// What [`FutureGuard::advance`] did with a reading, and with the one it held back before.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Skew {
    /// The watermark moved (or stayed) as usual.
    None,
    /// Held back: the reading is too far ahead of the watermark to move it, or to be aggregated,
    /// until confirmed.
    Held,
    /// This reading confirmed the one held back before it, which is taken first (at the watermark
    /// it met, so on time, as if it had been taken when it arrived); the watermark then jumps to
    /// the later of the two.
    Confirmed(HeldBack),
    /// This reading moved the watermark as usual and showed the one held back isolated (a
    /// glitch): that one is dropped.
    Glitch(HeldBack),
    /// This reading is held back in place of the one held before, which is dropped.
    Replaced(HeldBack),
}

/// A clock's guard against device clocks far in the future (`max_future_skew`), which must not
/// freeze a good meter either. A reading more than the skew ahead of an established watermark
/// does not move it at once: it is held back, whole, one per clock. The jump is taken when the
/// clock's next reading ahead of the watermark confirms it, landing not more than the skew before
/// the held one (time goes on from there: a meter back from an outage); a next reading within the
/// skew of the old watermark shows the held one isolated (a glitch), which is then dropped.
/// Readings at or behind the watermark decide nothing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct FutureGuard {
    held: Option<HeldBack>,
}

impl FutureGuard {
    /// A guard holding nothing back.
    pub(crate) const NEW: FutureGuard = FutureGuard { held: None };

    /// Whether [`FutureGuard::advance`] would only move the watermark to the later of `w` and
    /// `ts`: the usual reading, which the on-time lanes take without asking the guard.
    #[inline(always)]
    pub(crate) fn passes(&self, w: i64, ts: i64, max_future_skew: Option<i64>) -> bool {
        match max_future_skew {
            None => true,
            Some(skew) => ts <= w || w == NO_WATERMARK || (self.held.is_none() && ts - w <= skew),
        }
    }

    /// The watermark after reading `r` arrives at watermark `w`, and what became of `r` and of
    /// the reading held back before it.
    #[inline]
    pub(crate) fn advance(&mut self, w: i64, r: Reading, feed: Feed, max_future_skew: Option<i64>) -> (i64, Skew) {
        let ts = r.ts;
        if ts <= w {
            return (w, Skew::None);
        }
        let Some(skew) = max_future_skew.filter(|_| w != NO_WATERMARK) else { return (ts, Skew::None) };
        if ts - w <= skew {
            return (ts, self.held.take().map_or(Skew::None, Skew::Glitch));
        }
        let this = HeldBack { reading: r, feed };
        match self.held {
            Some(held) if ts >= held.reading.ts.saturating_sub(skew) => {
                self.held = None;
                (ts.max(held.reading.ts), Skew::Confirmed(held))
            }
            Some(held) => {
                self.held = Some(this);
                (w, Skew::Replaced(held))
            }
            None => {
                self.held = Some(this);
                (w, Skew::Held)
            }
        }
    }

    /// The watermark `w` moved `by` on wall-clock time (`--idle-timeout`), not by a reading: the
    /// reading held back is confirmed by the moved watermark as by a reading stamped then (within
    /// the skew before it), and the watermark moves on to it, as a confirming reading moves it.
    /// Left held, the advance would close its windows or settle its ticks without it, and the next
    /// reading, within the skew of the moved watermark, would drop it as a glitch.
    pub(crate) fn advance_idle(&mut self, w: i64, by: i64, max_future_skew: Option<i64>) -> (i64, Option<HeldBack>) {
        let to = w.saturating_add(by);
        match (self.held, max_future_skew) {
            (Some(held), Some(skew)) if to >= held.reading.ts.saturating_sub(skew) => {
                self.held = None;
                (to.max(held.reading.ts), Some(held))
            }
            _ => (to, None),
        }
    }

    /// The reading held back, if any.
    pub(crate) fn held(&self) -> Option<&HeldBack> {
        self.held.as_ref()
    }

    /// Takes out the reading held back: at the true end of input, none can confirm it any more.
    pub(crate) fn undecided(&mut self) -> Option<HeldBack> {
        self.held.take()
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

    /// A reading stamped `ts` of meter 0, point 0, its value `ts` too, so that the guard's
    /// answers can name it.
    fn at(ts: i64) -> Reading {
        Reading { asset: 0, point: 0, model: crate::engine::NO_MODEL, ts, value: ts as f64, quality: 0 }
    }

    fn step(guard: &mut FutureGuard, w: i64, ts: i64, skew: Option<i64>) -> (i64, Skew) {
        guard.advance(w, at(ts), Feed::Input, skew)
    }

    fn held(ts: i64) -> HeldBack {
        HeldBack { reading: at(ts), feed: Feed::Input }
    }

    #[test]
    fn future_skew_holds_an_isolated_reading() {
        let mut guard = FutureGuard::NEW;
        assert_eq!(step(&mut guard, NO_WATERMARK, 5, Some(1)), (5, Skew::None));
        assert_eq!(step(&mut guard, 5, 6, Some(1)), (6, Skew::None));
        assert!(!guard.passes(6, 1_000, Some(1)));
        assert_eq!(step(&mut guard, 6, 1_000, Some(1)), (6, Skew::Held));
        assert_eq!(guard.held(), Some(&held(1_000)));
        // The next reading ahead carries on from the old time: the held one was a glitch, dropped.
        assert!(!guard.passes(6, 7, Some(1)));
        assert_eq!(step(&mut guard, 6, 7, Some(1)), (7, Skew::Glitch(held(1_000))));
        assert!(guard.passes(7, 8, Some(1)));
        assert_eq!(step(&mut guard, 7, 1_000, Some(1)), (7, Skew::Held));
        // Readings behind the watermark decide nothing; one far from both holds in its place.
        assert!(guard.passes(7, 3, Some(1)));
        assert_eq!(step(&mut guard, 7, 3, Some(1)), (7, Skew::None));
        assert_eq!(step(&mut guard, 7, 500, Some(1)), (7, Skew::Replaced(held(1_000))));
        assert_eq!(step(&mut guard, 7, 8, Some(1)), (8, Skew::Glitch(held(500))));
        assert_eq!(guard.held(), None);
        assert!(guard.passes(8, 1_000, None));
        assert_eq!(step(&mut guard, 8, 1_000, None), (1_000, Skew::None));
        // Still held at the true end of input: undecided.
        assert_eq!(step(&mut guard, 1_000, 5_000, Some(1)), (1_000, Skew::Held));
        assert_eq!(guard.undecided(), Some(held(5_000)));
        assert_eq!(guard, FutureGuard::NEW);
    }

    /// Worked by hand, skew 5: a reading at 30 held at watermark 1. Wall-clock time moving the
    /// watermark 20 on (to 21) leaves it held (21 < 30 - 5); 27 on (to 28) confirms it, and the
    /// watermark moves to 30, its time; 40 on (to 41) confirms it at 41. Without a skew, or with
    /// nothing held, the watermark moves by `by` alone.
    #[test]
    fn an_idle_advance_confirms_the_held_reading_within_the_skew() {
        let holding = || {
            let mut guard = FutureGuard::NEW;
            assert_eq!(step(&mut guard, 1, 30, Some(5)), (1, Skew::Held));
            guard
        };
        let mut guard = holding();
        assert_eq!(guard.advance_idle(1, 20, Some(5)), (21, None));
        assert_eq!(guard.held(), Some(&held(30)));
        assert_eq!(holding().advance_idle(1, 27, Some(5)), (30, Some(held(30))));
        let mut guard = holding();
        assert_eq!(guard.advance_idle(1, 40, Some(5)), (41, Some(held(30))));
        assert_eq!(guard, FutureGuard::NEW);
        let mut empty = FutureGuard::NEW;
        assert_eq!(empty.advance_idle(1, 40, Some(5)), (41, None));
        assert_eq!(holding().advance_idle(1, 27, None), (28, None));
    }

    #[test]
    fn future_skew_takes_a_confirmed_jump() {
        const MIN: i64 = 60_000;
        let mut guard = FutureGuard::NEW;
        let skew = Some(10 * MIN);
        // An outage: 00:19, then silence until 00:40, then 00:41.
        assert_eq!(step(&mut guard, 19 * MIN, 40 * MIN, skew), (19 * MIN, Skew::Held));
        assert_eq!(step(&mut guard, 19 * MIN, 41 * MIN, skew), (41 * MIN, Skew::Confirmed(held(40 * MIN))));
        // The confirming reading may come in slightly out of order: the jump goes to the later.
        assert_eq!(step(&mut guard, 41 * MIN, 90 * MIN, skew), (41 * MIN, Skew::Held));
        assert_eq!(step(&mut guard, 41 * MIN, 85 * MIN, skew), (90 * MIN, Skew::Confirmed(held(90 * MIN))));
        // Readings further apart than the skew confirm every second one: never frozen.
        assert_eq!(step(&mut guard, 90 * MIN, 150 * MIN, skew), (90 * MIN, Skew::Held));
        assert_eq!(step(&mut guard, 90 * MIN, 210 * MIN, skew), (210 * MIN, Skew::Confirmed(held(150 * MIN))));
    }
}

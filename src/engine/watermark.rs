//! Event time and lateness: the one place that decides whether a reading is on time, late within
//! the allowed lateness, or late beyond it, and when a window closes and expires.

/// No reading seen yet on a clock.
pub const NO_WATERMARK: i64 = i64::MIN;

/// How a reading relates to its window and the watermark at its arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The window `[s, e)` is still open: `W < e`.
    OnTime,
    /// The window has closed but not expired: `e <= W < e + latency`. Added; the window is computed again.
    LateWithin,
    /// The window has expired: `W >= e + latency`. Dropped and counted.
    LateBeyond,
}

/// Classifies a reading for the window ending at `window_end` against watermark `w`.
#[inline]
pub fn classify(window_end: i64, w: i64, latency: i64) -> Arrival {
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
pub fn operand_is_late(ts: i64, w: i64, latency: i64) -> bool {
    ts < w.saturating_sub(latency)
}

/// The watermark after a reading stamped `ts`: the largest timestamp seen, except that a reading
/// more than `max_future_skew` ahead of an established watermark does not move it (a device
/// clock far in the future must not make everything else late). Returns the new watermark and
/// whether the reading was held back as future-skewed.
#[inline]
pub fn advance(w: i64, ts: i64, max_future_skew: Option<i64>) -> (i64, bool) {
    if ts <= w {
        return (w, false);
    }
    match max_future_skew {
        Some(skew) if w != NO_WATERMARK && ts - w > skew => (w, true),
        _ => (ts, false),
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
    fn future_skew_holds_the_watermark() {
        assert_eq!(advance(NO_WATERMARK, 5, Some(1)), (5, false));
        assert_eq!(advance(5, 7, Some(1)), (5, true));
        assert_eq!(advance(5, 6, Some(1)), (6, false));
        assert_eq!(advance(5, 1_000, None), (1_000, false));
        assert_eq!(advance(5, 3, Some(1)), (5, false));
    }
}

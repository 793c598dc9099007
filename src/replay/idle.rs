//! `--idle-timeout`: wall-clock idleness, kept at the edge of the engine. In a live stream a meter
//! that stops sending would hold its last window open forever, since event time moves only with
//! its own readings. This clock notes when each input series (asset x point) last had a reading,
//! and once one has been silent for the timeout, it reports how far to move that series'
//! watermark: the wall-clock time that has passed since its last reading, less what was already
//! reported. The engine is handed those advances as plain numbers and never reads a clock. The
//! clock is looked at after each reading and, while the input is silent, each time a wait for
//! input times out (see [`IdleClock::wait`]), so a silent input still moves on. The results
//! depend on when readings arrive, so a run using this is not reproducible.

use crate::engine::Reading;
use std::time::{Duration, Instant};

/// The shortest wait for input between two looks at the clock, so that a tiny timeout does not
/// make a silent input's wait a busy loop.
const LEAST_WAIT: Duration = Duration::from_millis(10);

/// Per-series record: when its last reading came, and how much of the silence since has been
/// handed to the engine (ms).
#[derive(Clone, Copy)]
struct Seen {
    at: Instant,
    credited: i64,
}

pub(crate) struct IdleClock {
    timeout: Duration,
    /// `seen[point][asset]`.
    seen: Vec<Vec<Option<Seen>>>,
    last_scan: Instant,
    /// Advances handed out by the last scan: (asset, point, ms).
    due: Vec<(u32, u32, i64)>,
    /// Advances handed out over the run, for the summary.
    pub(crate) advances: u64,
}

impl IdleClock {
    pub(crate) fn new(timeout_ms: i64, now: Instant) -> IdleClock {
        let timeout = Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0));
        IdleClock { timeout, seen: Vec::new(), last_scan: now, due: Vec::new(), advances: 0 }
    }

    /// How long the jobs' thread waits for input before it looks at the clock again while the
    /// input is silent: a tenth of the timeout, as often as [`IdleClock::due`] looks, but no less
    /// than [`LEAST_WAIT`].
    pub(crate) fn wait(&self) -> Duration {
        (self.timeout / 10).max(LEAST_WAIT)
    }

    /// Notes a reading of an input series at wall-clock time `now`.
    #[inline]
    pub(crate) fn saw(&mut self, r: &Reading, now: Instant) {
        let point = r.point as usize;
        if self.seen.len() <= point {
            self.seen.resize_with(point + 1, Vec::new);
        }
        let assets = &mut self.seen[point];
        if assets.len() <= r.asset as usize {
            assets.resize(r.asset as usize + 1, None);
        }
        assets[r.asset as usize] = Some(Seen { at: now, credited: 0 });
    }

    /// The watermark advances due at `now`, as (asset, point, ms). Series are looked at no more
    /// often than a tenth of the timeout, so the check costs nothing per reading.
    pub(crate) fn due(&mut self, now: Instant) -> &[(u32, u32, i64)] {
        self.due.clear();
        if now.duration_since(self.last_scan) < self.timeout / 10 {
            return &self.due;
        }
        self.last_scan = now;
        for (point, assets) in self.seen.iter_mut().enumerate() {
            for (asset, seen) in assets.iter_mut().enumerate() {
                let Some(seen) = seen else { continue };
                let silent = now.duration_since(seen.at);
                if silent < self.timeout {
                    continue;
                }
                let total = i64::try_from(silent.as_millis()).unwrap_or(i64::MAX);
                let by = total - seen.credited;
                if by > 0 {
                    seen.credited = total;
                    self.due.push((asset as u32, point as u32, by));
                }
            }
        }
        self.advances += self.due.len() as u64;
        &self.due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(asset: u32, point: u32) -> Reading {
        Reading { asset, point, model: crate::engine::NO_MODEL, ts: 0, value: 0.0, quality: 0 }
    }

    #[test]
    fn a_silent_series_is_advanced_by_the_time_that_passed_and_only_once_for_it() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut clock = IdleClock::new(1000, start);
        clock.saw(&reading(0, 1), at(0));
        clock.saw(&reading(1, 1), at(0));
        assert!(clock.due(at(500)).is_empty(), "not silent for the timeout yet");
        clock.saw(&reading(1, 1), at(900));
        assert_eq!(clock.due(at(1200)), [(0, 1, 1200)], "only the series silent for 1 s");
        assert_eq!(clock.due(at(1500)), [(0, 1, 300)], "then what passed since");
        assert_eq!(clock.due(at(2100)), [(0, 1, 600), (1, 1, 1200)]);
        clock.saw(&reading(0, 1), at(2200));
        assert_eq!(clock.due(at(2500)), [(1, 1, 400)], "a reading ends the silence");
        assert_eq!(clock.advances, 5);
    }
}

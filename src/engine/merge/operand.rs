//! One operand series of one asset in a merge: its watermark, and the values that may still
//! change, above a base value that can no longer.

use crate::engine::watermark::{FutureGuard, NO_WATERMARK};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// What [`OperandSeries::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stored {
    New,
    /// The timestamp was held: whether the value differed, and whether it replaced the one held.
    Repeat {
        changed: bool,
        replaced: bool,
    },
}

/// One operand series of one asset: its watermark and values not yet folded into `base`.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct OperandSeries {
    pub(super) watermark: i64,
    /// Holds back a reading stamped too far ahead until the series confirms it.
    pub(super) guard: FutureGuard,
    /// Timestamp and value of the latest reading at or before the last settled time.
    pub(super) base: Option<(i64, f64)>,
    /// Values after it, by timestamp; the same timestamp again replaces the value.
    pub(super) pending: VecDeque<(i64, f64)>,
}

impl OperandSeries {
    pub(super) fn new() -> Self {
        OperandSeries { watermark: NO_WATERMARK, guard: FutureGuard::NEW, base: None, pending: VecDeque::new() }
    }

    /// Stores a value, or for a timestamp held already replaces its value when `replace`.
    pub(super) fn insert(&mut self, ts: i64, value: f64, replace: bool) -> Stored {
        // Readings mostly arrive in time order: then the value goes at the back, with no search.
        if self.pending.back().is_none_or(|&(last, _)| last < ts) {
            self.pending.push_back((ts, value));
            return Stored::New;
        }
        let at = self.pending.partition_point(|&(t, _)| t < ts);
        match self.pending.get_mut(at) {
            Some(entry) if entry.0 == ts => {
                let changed = entry.1.to_bits() != value.to_bits();
                if replace {
                    entry.1 = value;
                }
                Stored::Repeat { changed, replaced: replace && changed }
            }
            _ => {
                self.pending.insert(at, (ts, value));
                Stored::New
            }
        }
    }

    /// The latest reading at or before `t`: its timestamp and value.
    #[inline(always)]
    pub(super) fn value_at(&self, t: i64) -> Option<(i64, f64)> {
        // Trigger times are evaluated in order and everything before the last one is settled, so
        // the value sought is mostly the first pending one (or the base): no search then.
        match self.pending.front() {
            Some(&(first, _)) if first > t => return self.base,
            Some(&front) if self.pending.get(1).is_none_or(|&(next, _)| next > t) => return Some(front),
            None => return self.base,
            Some(_) => {}
        }
        let upto = self.pending.partition_point(|&(ts, _)| ts <= t);
        if upto > 0 { Some(self.pending[upto - 1]) } else { self.base }
    }

    /// The first stored timestamp after `t`: a value at `t` governs trigger times up to it.
    pub(super) fn next_after(&self, t: i64) -> i64 {
        let at = self.pending.partition_point(|&(ts, _)| ts <= t);
        self.pending.get(at).map_or(i64::MAX, |&(ts, _)| ts)
    }

    /// The timestamp of the latest value stamped before `t`.
    pub(super) fn last_before(&self, t: i64) -> Option<i64> {
        let at = self.pending.partition_point(|&(ts, _)| ts < t);
        if at > 0 { Some(self.pending[at - 1].0) } else { self.base.map(|(ts, _)| ts).filter(|&ts| ts < t) }
    }

    /// Folds everything at or before `t` into `base`: no later trigger time can be earlier.
    #[inline]
    pub(super) fn settle(&mut self, t: i64) {
        while let Some(&(ts, v)) = self.pending.front() {
            if ts > t {
                break;
            }
            self.base = Some((ts, v));
            self.pending.pop_front();
        }
    }
}

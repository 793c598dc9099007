//! A reading applied to one merge policy: lateness against its operand series' watermark, the
//! future-skew guard (a reading held back is stored nowhere until confirmed; one never confirmed is
//! dropped, once per reading however many policies read it), then the value stored and the
//! trigger times that fall due evaluated.

use super::operand::{OperandSeries, Stored};
use super::{AssetState, MergeOperator};
use crate::engine::watermark::{self, Skew};
use crate::engine::{DropReason, Dropped, EmitMode, Emitted, Feed, Reading};
use crate::job::options::Duplicates;
use std::collections::VecDeque;

/// What one policy did with a reading.
pub(super) enum Applied {
    /// The policy does not read the reading's point.
    NotRead,
    /// Dropped as late beyond lateness; the operand series' watermark it met.
    Late(i64),
    /// Stored; `repeat` when its timestamp was held (with whether the value differed); `held`
    /// what became of the reading the future-skew guard held back before it.
    Kept { repeat: Option<bool>, held: Decided },
    /// Held back by the future-skew guard as too far ahead, in place of `held`'s reading when
    /// that is [`Decided::Dropped`].
    Held { held: Decided },
}

/// What a reading decided of the one the future-skew guard held back before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Decided {
    Nothing,
    /// Confirmed and stored before it; `repeat` as for [`Applied::Kept`].
    Taken {
        feed: Feed,
        repeat: Option<bool>,
    },
    /// Never confirmed: dropped, against this watermark.
    Dropped {
        reading: Reading,
        watermark: i64,
    },
}

impl MergeOperator {
    /// Applies a reading to one policy.
    pub(super) fn accept(&mut self, pi: usize, r: Reading, feed: Feed, out: &mut Emitted) -> Applied {
        let policy = &mut self.policies[pi];
        let operand = policy.operands.iter().position(|&o| o == r.point);
        let is_trigger = policy.trigger.is_some_and(|(id, _)| id == r.point);
        if operand.is_none() && !is_trigger {
            return Applied::NotRead;
        }
        let asset = r.asset as usize;
        if policy.assets.len() <= asset {
            policy.assets.resize_with(asset + 1, || None);
        }
        let series_count = policy.horizons.len();
        self.series_held += if policy.assets[asset].is_none() { series_count as u64 } else { 0 };
        let state = policy.assets[asset].get_or_insert_with(|| AssetState {
            series: (0..series_count).map(|_| OperandSeries::new()).collect(),
            earliest: i64::MAX,
            latest: i64::MIN,
            first_tick: None,
            next_tick: None,
            triggers: VecDeque::new(),
            last_final: None,
            evaluated: VecDeque::new(),
        });
        let index = operand.unwrap_or_else(|| policy.trigger.map_or(0, |(_, i)| i));
        let w = state.series[index].watermark;
        if policy.horizons[index].raw && watermark::operand_is_late(r.ts, w, self.latency) {
            return Applied::Late(w);
        }
        let (advanced, skew) = state.series[index].guard.advance(w, r, feed, self.max_future_skew);
        let held = match skew {
            Skew::None => Decided::Nothing,
            Skew::Held => return Applied::Held { held: Decided::Nothing },
            Skew::Replaced(held) => {
                return Applied::Held { held: Decided::Dropped { reading: held.reading, watermark: w } };
            }
            Skew::Glitch(held) => Decided::Dropped { reading: held.reading, watermark: w },
            // Stored at the watermark it met, just before the reading that confirmed it.
            Skew::Confirmed(held) => {
                let repeat = self.store(pi, (index, operand.is_some(), is_trigger), held.reading, held.feed, out);
                Decided::Taken { feed: held.feed, repeat }
            }
        };
        if let Some(state) = self.policies[pi].assets[asset].as_mut() {
            state.series[index].watermark = advanced;
        }
        self.stats.final_watermark = self.stats.final_watermark.max(advanced);
        let repeat = self.store(pi, (index, operand.is_some(), is_trigger), r, feed, out);
        Applied::Kept { repeat, held }
    }

    /// The usual reading of a `final` merge of one policy on a frequency trigger: an operand's
    /// value for an asset the policy holds, later than every value its series holds, on time, and
    /// with no future-skew guard to consult (none set, or the reading not ahead of the watermark).
    /// Stored as [`Self::accept`] and [`Self::store`] store it, without their per-policy loop and
    /// the outcomes they combine; the caller evaluates what is due and counts it. Returns whether
    /// it took the reading; nothing has moved when it did not.
    #[inline]
    pub(super) fn take_in_order(&mut self, r: Reading) -> bool {
        if self.emit != EmitMode::Final || self.ticks.is_none() {
            return false;
        }
        let [policy] = self.policies.as_mut_slice() else { return false };
        if policy.trigger.is_some() {
            return false;
        }
        let Some(index) = policy.operands.iter().position(|&o| o == r.point) else { return false };
        let Some(Some(state)) = policy.assets.get_mut(r.asset as usize) else { return false };
        let series = &mut state.series[index];
        let w = series.watermark;
        let in_order = series.pending.back().is_none_or(|&(last, _)| last < r.ts);
        let late = policy.horizons[index].raw && watermark::operand_is_late(r.ts, w, self.latency);
        if !in_order || late || (self.max_future_skew.is_some() && r.ts > w) {
            return false;
        }
        // The guard's advance with nothing to hold: the watermark moves to a later reading.
        let advanced = w.max(r.ts);
        series.watermark = advanced;
        series.pending.push_back((r.ts, r.value));
        state.earliest = state.earliest.min(r.ts);
        state.latest = state.latest.max(advanced);
        self.stats.final_watermark = self.stats.final_watermark.max(advanced);
        true
    }

    /// Stores reading `r` in series `index` of its asset (as an operand, as the trigger, or both)
    /// at the series' watermark, and evaluates what is due; whether its timestamp was held (with
    /// whether the value differed).
    pub(super) fn store(
        &mut self,
        pi: usize,
        (index, is_operand, is_trigger): (usize, bool, bool),
        r: Reading,
        feed: Feed,
        out: &mut Emitted,
    ) -> Option<bool> {
        let replace = feed != Feed::Input || self.duplicates != Duplicates::First;
        let state = self.policies[pi].assets.get_mut(r.asset as usize).and_then(Option::as_mut)?;
        let series = &mut state.series[index];
        let mut changed_from = None;
        let mut repeat = None;
        if is_operand {
            match series.insert(r.ts, r.value, replace) {
                Stored::New => changed_from = Some((index, r.ts)),
                Stored::Repeat { changed, replaced } => {
                    repeat = Some(changed);
                    if replaced {
                        changed_from = Some((index, r.ts));
                    }
                }
            }
            state.earliest = state.earliest.min(r.ts);
            // Ticks end at the watermark: a reading held back as too far ahead adds none.
            state.latest = state.latest.max(series.watermark);
        }
        // `evaluated` is ascending, like `triggers`. A trigger time held already is one time.
        if is_trigger {
            if state.evaluated.binary_search_by_key(&r.ts, |e| e.t).is_ok() {
                repeat = repeat.or(Some(false));
            } else if state.triggers.back().is_none_or(|&last| last < r.ts) {
                state.triggers.push_back(r.ts);
            } else {
                let at = state.triggers.partition_point(|&t| t < r.ts);
                if state.triggers.get(at) == Some(&r.ts) {
                    repeat = repeat.or(Some(false));
                } else {
                    state.triggers.insert(at, r.ts);
                }
            }
        }
        if self.emit == EmitMode::Updates
            && let Some((series, from)) = changed_from
        {
            self.revise(pi, r.asset, series, from, out);
        }
        self.advance(pi, r.asset, false, out);
        repeat
    }

    /// A reading held back that no reading confirmed: counted, and written to the late output as
    /// too far ahead of `watermark`.
    pub(super) fn drop_held(&mut self, reading: Reading, watermark: i64, out: &mut Emitted) {
        self.stats.rows_read += 1;
        self.stats.future_skewed += 1;
        out.dropped.push(Dropped {
            job: self.origin.job,
            reading,
            reason: DropReason::FutureSkewed,
            window_start: reading.ts,
            window_end: reading.ts,
            watermark,
        });
    }

    /// End of input (the true one, not a `--state` run's): the readings of `asset` still held back
    /// are undecided, and dropped as no reading confirmed them, each once however many policies
    /// read its point, in order of policy and series.
    pub(super) fn drop_undecided(&mut self, asset: u32, out: &mut Emitted) {
        let first = out.dropped.len();
        for pi in 0..self.policies.len() {
            for k in 0..self.policies[pi].horizons.len() {
                let Some(series) = self.policies[pi]
                    .assets
                    .get_mut(asset as usize)
                    .and_then(Option::as_mut)
                    .map(|state| &mut state.series[k])
                else {
                    continue;
                };
                let Some(held) = series.guard.undecided() else { continue };
                let watermark = series.watermark;
                // Every policy reading the point held the same reading.
                if !out.dropped[first..].iter().any(|d| d.reading.point == held.reading.point) {
                    self.drop_held(held.reading, watermark, out);
                }
            }
        }
    }
}

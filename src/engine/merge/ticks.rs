//! What a merge adds around its trigger times: the count of rows written with a value carried
//! over from an earlier tick, and in `updates` mode the ticks a late reading adds before the first
//! one evaluated.

use super::{Emit, Emitted, Evaluated, MergeOperator, Policy};
use crate::engine::Origin;
use crate::engine::layout::Layout;
use crate::engine::stats::{CarriedExample, CarriedOver, JobStats};

impl MergeOperator {
    /// Counts a row written at trigger time `t` (made final now, before its values are settled)
    /// when an operand's value dates from the previous trigger time or before: the previous tick,
    /// or the trigger point's previous final time for the asset.
    pub(super) fn count_carried(
        policy: &mut Policy,
        asset: u32,
        t: i64,
        previous_tick: Option<i64>,
        carried: &mut CarriedOver,
    ) {
        let state = policy.assets[asset as usize].as_ref().expect("state exists");
        for (stamp, series) in policy.stamps.iter_mut().zip(&state.series) {
            // A row was written, so every operand has a value at `t`.
            *stamp = series.value_at(t).map_or(i64::MAX, |(ts, _)| ts);
        }
        Self::count_carried_read(policy, asset, t, previous_tick, carried);
    }

    /// As [`MergeOperator::count_carried`], with the operands' timestamps at `t` in
    /// `policy.stamps` (as the evaluation at `t` just left them).
    pub(super) fn count_carried_read(
        policy: &mut Policy,
        asset: u32,
        t: i64,
        previous_tick: Option<i64>,
        carried: &mut CarriedOver,
    ) {
        let state = policy.assets[asset as usize].as_mut().expect("state exists");
        let since = previous_tick.or_else(|| state.last_final.replace(t));
        let Some(since) = since else { return };
        let oldest = policy.stamps.iter().enumerate().filter(|&(_, &ts)| ts <= since).map(|(i, &ts)| (t - ts, i));
        let Some((age, operand)) = oldest.max() else { return };
        carried.rows += 1;
        carried.oldest_age = carried.oldest_age.max(age);
        if carried.example.is_none() {
            let operand = policy.operand_names[operand].clone();
            carried.example = Some(CarriedExample { asset, ts: t, operand, age });
        }
    }

    /// `updates` mode, frequency trigger: a late reading earlier than every tick evaluated so far
    /// adds ticks before them; they are written as `late` rows when they give a value.
    pub(super) fn backfill_ticks(
        policy: &mut Policy,
        asset: u32,
        (ticks, max_age): (Option<&mut Layout>, Option<i64>),
        origin: Origin,
        out: &mut Emitted,
        stats: &mut JobStats,
    ) {
        let Some(ticks) = ticks else { return };
        let Some(state) = policy.assets[asset as usize].as_ref() else { return };
        let Some(first_done) = state.first_tick else { return };
        let first = ticks.start_at_or_after(state.earliest);
        if first >= first_done {
            return;
        }
        let mut t = ticks.start_before(first_done);
        while t >= first {
            let result = Self::evaluate(policy, asset, t, max_age);
            let state = policy.assets[asset as usize].as_mut().expect("state exists");
            let mut revisions = 0;
            if let Ok(value) = &result {
                out.points.push(origin.row(asset, policy.output, t, value.clone(), Emit::Late, 0));
                stats.rows_written += 1;
                revisions = 1;
            }
            state.evaluated.push_front(Evaluated { t, last: result, revisions });
            t = ticks.start_before(t);
        }
        if let Some(state) = policy.assets[asset as usize].as_mut() {
            state.first_tick = Some(first);
        }
    }
}

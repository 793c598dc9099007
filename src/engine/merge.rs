//! The Multi-Point Merging operator: evaluates each policy's expression per asset at trigger
//! times (epoch-aligned ticks, or the timestamps of a trigger point) over the operands' latest
//! values at or before that time (`last_value`), as an as-of join.
//!
//! A trigger time T of an asset is final once every operand series of the asset (and the trigger
//! series) has a watermark above `T + latency`: any reading at or before T arriving after that is
//! late and dropped, so the result can no longer change. Final rows are written then, or at end
//! of input, so memory holds only the not-yet-final stretch of each operand series.

use super::stats::{JobStats, SAMPLES_PER_JOB, SkipSample};
use super::watermark::{self, NO_WATERMARK};
use super::{Dropped, Emit, Emitted, NO_MODEL, Point, Reading, Value};
use crate::expr::{Expression, Outcome};
use crate::intern::Names;
use crate::job::{MergeJob, Trigger};
use std::collections::VecDeque;
use std::sync::Arc;

/// One operand series of one asset: its watermark and values not yet folded into `base`.
#[derive(Default)]
struct OperandSeries {
    watermark: i64,
    /// Latest value at or before the last evaluated trigger time.
    base: Option<f64>,
    /// Values after it, by timestamp; the same timestamp again replaces the value.
    pending: VecDeque<(i64, f64)>,
}

impl OperandSeries {
    fn new() -> Self {
        OperandSeries { watermark: NO_WATERMARK, base: None, pending: VecDeque::new() }
    }

    fn insert(&mut self, ts: i64, value: f64) {
        let at = self.pending.partition_point(|&(t, _)| t < ts);
        match self.pending.get_mut(at) {
            Some(entry) if entry.0 == ts => entry.1 = value,
            _ => self.pending.insert(at, (ts, value)),
        }
    }

    fn value_at(&self, t: i64) -> Option<f64> {
        let upto = self.pending.partition_point(|&(ts, _)| ts <= t);
        if upto > 0 { Some(self.pending[upto - 1].1) } else { self.base }
    }

    /// Folds everything at or before `t` into `base`: no later trigger time can be earlier.
    fn settle(&mut self, t: i64) {
        while let Some(&(ts, v)) = self.pending.front() {
            if ts > t {
                break;
            }
            self.base = Some(v);
            self.pending.pop_front();
        }
    }
}

struct AssetState {
    /// One per operand, then the trigger series in point mode when it is not an operand.
    series: Vec<OperandSeries>,
    earliest: i64,
    latest: i64,
    /// Frequency mode: the next tick to evaluate, once known.
    next_tick: Option<i64>,
    /// Point mode: distinct trigger timestamps not yet evaluated, ascending.
    triggers: VecDeque<i64>,
}

struct Policy {
    output: u32,
    expression: Expression,
    /// Point ids of the expression's operands, in its variable order.
    operands: Vec<u32>,
    /// Point mode: index into `AssetState::series` of the trigger series.
    trigger: Option<(u32, usize)>,
    assets: Vec<Option<AssetState>>,
    values: Vec<f64>,
}

pub struct MergeOperator {
    job: usize,
    model: u32,
    latency: i64,
    every: Option<i64>,
    policies: Vec<Policy>,
    /// Assets in order of first appearance, for the end-of-input flush.
    asset_order: Vec<u32>,
    seen_asset: Vec<bool>,
    pub stats: JobStats,
}

impl MergeOperator {
    pub fn new(job: usize, model: u32, plan: MergeJob, names: &mut Names, stats: JobStats) -> Self {
        let every = match plan.trigger {
            Trigger::Frequency { every } => Some(every),
            Trigger::Point => None,
        };
        let policies = plan
            .policies
            .into_iter()
            .map(|p| {
                let operands: Vec<u32> = p.operands.iter().map(|o| names.points.intern(o)).collect();
                let trigger = p.trigger_point.as_deref().map(|t| {
                    let id = names.points.intern(t);
                    (id, operands.iter().position(|&o| o == id).unwrap_or(operands.len()))
                });
                Policy { output: names.points.intern(&p.output), values: vec![0.0; operands.len()], expression: p.logic, operands, trigger, assets: Vec::new() }
            })
            .collect();
        MergeOperator { job, model, latency: plan.latency, every, policies, asset_order: Vec::new(), seen_asset: Vec::new(), stats }
    }

    pub fn push(&mut self, r: Reading, out: &mut Emitted) {
        if r.model != NO_MODEL && r.model != self.model {
            return;
        }
        let asset = r.asset as usize;
        if self.seen_asset.len() <= asset {
            self.seen_asset.resize(asset + 1, false);
        }
        if !self.seen_asset[asset] {
            self.seen_asset[asset] = true;
            self.asset_order.push(r.asset);
        }
        self.stats.rows_read += 1;
        let mut dropped = false;
        for pi in 0..self.policies.len() {
            dropped |= self.accept(pi, r, out);
        }
        if dropped {
            self.stats.late_dropped += 1;
        }
    }

    /// Applies a reading to one policy; true when the policy dropped it as late.
    fn accept(&mut self, pi: usize, r: Reading, out: &mut Emitted) -> bool {
        let latency = self.latency;
        let policy = &mut self.policies[pi];
        let operand = policy.operands.iter().position(|&o| o == r.point);
        let is_trigger = policy.trigger.is_some_and(|(id, _)| id == r.point);
        if operand.is_none() && !is_trigger {
            return false;
        }
        let asset = r.asset as usize;
        if policy.assets.len() <= asset {
            policy.assets.resize_with(asset + 1, || None);
        }
        let series_count = policy.operands.len() + usize::from(policy.trigger.is_some_and(|(_, i)| i == policy.operands.len()));
        let state = policy.assets[asset].get_or_insert_with(|| AssetState {
            series: (0..series_count).map(|_| OperandSeries::new()).collect(),
            earliest: i64::MAX,
            latest: i64::MIN,
            next_tick: None,
            triggers: VecDeque::new(),
        });
        let index = operand.unwrap_or_else(|| policy.trigger.map_or(0, |(_, i)| i));
        let w = state.series[index].watermark;
        if watermark::operand_is_late(r.ts, w, latency) {
            out.dropped.push(Dropped { job: self.job, reading: r, window_start: r.ts, window_end: r.ts, watermark: w });
            return true;
        }
        let series = &mut state.series[index];
        series.watermark = series.watermark.max(r.ts);
        self.stats.final_watermark = self.stats.final_watermark.max(r.ts);
        if operand.is_some() {
            series.insert(r.ts, r.value);
            state.earliest = state.earliest.min(r.ts);
            state.latest = state.latest.max(r.ts);
        }
        if is_trigger {
            let at = state.triggers.partition_point(|&t| t < r.ts);
            if state.triggers.get(at) != Some(&r.ts) {
                state.triggers.insert(at, r.ts);
            }
        }
        self.evaluate_ready(pi, r.asset, false, out);
        false
    }

    /// Evaluates every trigger time of `asset` that is final (all of them at end of input).
    fn evaluate_ready(&mut self, pi: usize, asset: u32, end_of_input: bool, out: &mut Emitted) {
        let latency = self.latency;
        let every = self.every;
        let policy = &mut self.policies[pi];
        let Some(state) = policy.assets.get_mut(asset as usize).and_then(Option::as_mut) else { return };
        // A trigger time T is final when T < W - latency on every series of the asset.
        let frontier = if end_of_input {
            i64::MAX
        } else {
            let lowest = state.series.iter().map(|s| s.watermark).min().unwrap_or(NO_WATERMARK);
            if lowest == NO_WATERMARK {
                return;
            }
            lowest.saturating_sub(latency)
        };
        loop {
            let t = match every {
                Some(every) => {
                    if state.latest == i64::MIN {
                        return;
                    }
                    let t = *state.next_tick.get_or_insert_with(|| state.earliest.div_euclid(every) * every + if state.earliest.rem_euclid(every) == 0 { 0 } else { every });
                    if t > state.latest || t >= frontier {
                        return;
                    }
                    state.next_tick = Some(t + every);
                    t
                }
                None => match state.triggers.front() {
                    Some(&t) if t < frontier => {
                        state.triggers.pop_front();
                        t
                    }
                    _ => return,
                },
            };
            let mut missing = false;
            for (i, series) in state.series.iter().take(policy.operands.len()).enumerate() {
                match series.value_at(t) {
                    Some(v) => policy.values[i] = v,
                    None => missing = true,
                }
            }
            for series in &mut state.series {
                series.settle(t);
            }
            let skip = if missing {
                self.stats.merge.missing_operand += 1;
                Some("an operand has no value yet".to_string())
            } else {
                match policy.expression.evaluate(&policy.values) {
                    Ok(Outcome::Number(v)) if v.is_finite() => {
                        out.points.push(point(self.job, asset, policy.output, self.model, t, Value::Number(v)));
                        None
                    }
                    Ok(Outcome::Number(v)) => {
                        self.stats.merge.non_finite += 1;
                        Some(format!("the result is {v}"))
                    }
                    Ok(Outcome::Bool(b)) => {
                        out.points.push(point(self.job, asset, policy.output, self.model, t, Value::Bool(b)));
                        None
                    }
                    Ok(Outcome::Text(s)) => {
                        out.points.push(point(self.job, asset, policy.output, self.model, t, Value::Text(Arc::from(s))));
                        None
                    }
                    Ok(Outcome::Empty) => {
                        self.stats.merge.empty += 1;
                        Some("the expression gave no value (an `if` without `else`)".to_string())
                    }
                    Err(e) => {
                        self.stats.merge.eval_error += 1;
                        Some(format!("evaluation failed: {e}"))
                    }
                }
            };
            match skip {
                None => self.stats.rows_written += 1,
                Some(why) if self.stats.merge.samples.len() < SAMPLES_PER_JOB => {
                    self.stats.merge.samples.push(SkipSample { asset, ts: t, reason: why });
                }
                Some(_) => {}
            }
        }
    }

    /// End of input: every remaining trigger time is final.
    pub fn finish(&mut self, out: &mut Emitted) {
        let order = std::mem::take(&mut self.asset_order);
        for &asset in &order {
            for pi in 0..self.policies.len() {
                self.evaluate_ready(pi, asset, true, out);
            }
        }
        self.asset_order = order;
    }
}

fn point(job: usize, asset: u32, output: u32, model: u32, ts: i64, value: Value) -> Point {
    Point { job, asset, point: output, model, ts, value, emit: Emit::Final, revision: 0 }
}

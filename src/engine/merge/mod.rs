//! The Multi-Point Merging operator: evaluates each policy's expression per asset at trigger
//! times (ticks laid out as window starts by [`Layout`], or the timestamps of a trigger point) over the operands' latest
//! values at or before that time (`last_value`), as an as-of join.
//!
//! Every operand series has a horizon: how far behind its watermark a value may still change. A raw
//! operand's horizon is the merge's `latency` (older readings are dropped as late); an operand
//! another job writes can change only while that job may revise it, so in `final` mode (where
//! producers write each key once, in order) its horizon is 0 and in `updates` mode it is the
//! producer's revision horizon. A trigger time T is *final* once `T < W - horizon` on every series
//! of the asset; on the output of a policy whose windows wait for the series' next reading, whose
//! producer writes the windows a long step crosses only once that step is final, once the series'
//! first value after T is below `W - horizon`.
//!
//! - `final` mode writes each trigger time once, when it is final (or at end of input).
//! - `updates` mode writes a trigger time when event time has passed it on every series
//!   (`T <= W`), with the values known then (`on_time`), writes it again (`late`) whenever a changed
//!   operand value changes the result, and forgets it once final; at that point it also hands the
//!   final value to downstream window jobs (not written).
//!
//! A repeat (an operand reading whose timestamp its series holds, not yet final) follows the job's
//! `duplicates` rule: `last` and `keep` replace the value (one value per timestamp is what an
//! as-of join reads), `first` keeps the value held; a revision always replaces. A repeated
//! trigger reading is one trigger time. Repeats are counted, and whether they changed the value.
//!
//! Memory holds only the not-yet-final stretch of each operand series (`operand`); what the
//! operator carries from one run to the next is in `snapshot`; how one reading is applied to one
//! policy (lateness, the future-skew guard, storing) is in `accept`.

mod accept;
mod operand;
mod snapshot;
mod ticks;

pub use snapshot::MergeState;

use super::layout::Layout;
use super::shard::Mark;
use super::stats::{JobStats, SAMPLES_PER_JOB, SkipSample};
use super::watermark::NO_WATERMARK;
use super::{
    DropReason, Dropped, Emit, EmitMode, Emitted, EngineOptions, Feed, NO_MODEL, Origin, Reading, Revisable, Value,
};
use crate::engine::names::Names;
use crate::job::expr::{Expression, Outcome};
use crate::job::options::Duplicates;
use crate::job::threshold::Threshold;
use crate::job::{MergeJob, Trigger, WindowType};
use crate::time::duration::format_duration;
use accept::{Applied, Decided};
use operand::OperandSeries;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Why an evaluation wrote no row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Skip {
    MissingOperand,
    StaleOperand,
    NonFinite,
    Empty,
    EvalError,
}

/// How one operand series of a policy may still change.
#[derive(Clone, Copy)]
struct Horizon {
    /// How far behind the series' watermark a value may still change (ms).
    ms: i64,
    /// Raw input, subject to the merge's lateness (else written by another job).
    raw: bool,
    /// `updates` mode, an output whose producer fills a gap in its rows late ([`Revisable`]): a
    /// trigger time is final once the series' first value after it, not only the time itself,
    /// lies `ms` behind the watermark.
    fills_gaps: bool,
}

/// The result of evaluating at one trigger time.
type Result_ = Result<Value, (Skip, String)>;

/// A trigger time written in `updates` mode and not yet final.
#[derive(Clone, Serialize, Deserialize)]
struct Evaluated {
    t: i64,
    last: Result_,
    /// Rows written for it so far.
    revisions: u32,
}

#[derive(Clone, Serialize, Deserialize)]
struct AssetState {
    /// One per operand, then the trigger series in point mode when it is not an operand.
    series: Vec<OperandSeries>,
    earliest: i64,
    latest: i64,
    /// Frequency mode: the first tick evaluated and the next tick to evaluate, once known.
    first_tick: Option<i64>,
    next_tick: Option<i64>,
    /// Point mode: distinct trigger timestamps not yet evaluated, ascending.
    triggers: VecDeque<i64>,
    /// Point mode: the last trigger time made final, against which carried-over operands are told.
    last_final: Option<i64>,
    /// `updates` mode: trigger times written and not yet final, ascending.
    evaluated: VecDeque<Evaluated>,
}

struct Policy {
    output: u32,
    expression: Expression,
    /// Point ids of the expression's operands, in its variable order.
    operands: Vec<u32>,
    /// Their names as the job writes them, for messages.
    operand_names: Vec<String>,
    /// Point mode: the trigger point id and its index into `AssetState::series`.
    trigger: Option<(u32, usize)>,
    /// Per series index: how its values may still change.
    horizons: Vec<Horizon>,
    assets: Vec<Option<AssetState>>,
    values: Vec<f64>,
    /// The timestamps of `values`: what the last evaluation read, which the carried-over count
    /// of a row made final just after it reads again.
    stamps: Vec<i64>,
}

pub(crate) struct MergeOperator {
    origin: Origin,
    latency: i64,
    pub(super) max_future_skew: Option<i64>,
    /// The job's `max_age`: an older operand value is stale at an evaluation time.
    max_age: Option<i64>,
    quality: Option<Threshold>,
    /// Frequency mode: where ticks fall (the starts of tumbling windows of `every`).
    ticks: Option<Box<Layout>>,
    emit: EmitMode,
    duplicates: Duplicates,
    policies: Vec<Policy>,
    /// Assets in order of first appearance, for the end-of-input flush.
    asset_order: Vec<u32>,
    seen_asset: Vec<bool>,
    /// Operand series held (per asset and series of each policy), which `--max-merge-series` bounds.
    series_held: u64,
    pub(crate) stats: JobStats,
}

impl MergeOperator {
    /// `derived` maps each point another job writes to how it may be revised in `updates` mode.
    pub(crate) fn new(
        job: usize,
        model: u32,
        plan: MergeJob,
        names: &mut Names,
        options: EngineOptions,
        derived: &HashMap<u32, Revisable>,
        stats: JobStats,
    ) -> Self {
        let emit = options.emit;
        let ticks = match plan.trigger {
            Trigger::Frequency { every, offset } => {
                Some(Box::new(Layout::new(WindowType::Tumbling, every, plan.timezone, offset)))
            }
            Trigger::Point => None,
        };
        let horizon = |point: u32| match derived.get(&point) {
            // `final` mode: producers write each key once, in order, a filled gap too.
            Some(_) if emit == EmitMode::Final => Horizon { ms: 0, raw: false, fills_gaps: false },
            Some(r) => Horizon { ms: r.horizon, raw: false, fills_gaps: r.fills_gaps },
            None => Horizon { ms: plan.latency, raw: true, fills_gaps: false },
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
                let mut series_points = operands.clone();
                if let Some((id, index)) = trigger
                    && index == operands.len()
                {
                    series_points.push(id);
                }
                Policy {
                    output: names.points.intern(&p.output),
                    values: vec![0.0; operands.len()],
                    stamps: vec![0; operands.len()],
                    horizons: series_points.iter().map(|&id| horizon(id)).collect(),
                    expression: p.logic,
                    operands,
                    operand_names: p.operands,
                    trigger,
                    assets: Vec::new(),
                }
            })
            .collect();
        let duplicates = options.duplicates.unwrap_or(plan.duplicates);
        let mut stats = stats;
        stats.duplicates = Some(duplicates.name().to_owned());
        stats.repeats_changed = Some(0);
        MergeOperator {
            origin: Origin { job, model },
            duplicates,
            latency: plan.latency,
            max_future_skew: options.max_future_skew.or(plan.max_future_skew),
            max_age: plan.max_age,
            quality: plan.quality,
            ticks,
            emit,
            policies,
            asset_order: Vec::new(),
            seen_asset: Vec::new(),
            series_held: 0,
            stats,
        }
    }

    /// Assets seen so far, numbered in order of first appearance.
    pub(crate) fn assets_seen(&self) -> usize {
        self.asset_order.len()
    }

    /// Operand series held now, over every policy and asset (see `--max-merge-series`).
    pub(crate) fn series_held(&self) -> u64 {
        self.series_held
    }

    pub(crate) fn push(&mut self, r: Reading, feed: Feed, out: &mut Emitted) {
        if r.model != NO_MODEL && r.model != self.origin.model {
            return;
        }
        if self.quality.is_some_and(|q| !q.contains(f64::from(r.quality))) {
            self.stats.quality_filtered += 1;
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
        if self.take_in_order(r) {
            self.advance(0, r.asset, false, out);
            self.stats.rows_read += 1;
            self.stats.kept += 1;
            return;
        }
        let (mut dropped_at, mut held, mut decided, mut repeat) = (None, false, Decided::Nothing, None);
        for pi in 0..self.policies.len() {
            let this = match self.accept(pi, r, feed, out) {
                Applied::Late(watermark) => {
                    dropped_at.get_or_insert(watermark);
                    continue;
                }
                Applied::Kept { repeat: seen, held } => {
                    repeat = repeat.max(seen);
                    held
                }
                Applied::Held { held: this } => {
                    held = true;
                    this
                }
                Applied::NotRead => continue,
            };
            // Every policy reading the point sees the same readings of it, so decides alike.
            decided = match (decided, this) {
                (Decided::Taken { feed, repeat: a }, Decided::Taken { repeat: b, .. }) => {
                    Decided::Taken { feed, repeat: a.max(b) }
                }
                (Decided::Nothing, this) => this,
                (first, _) => first,
            };
        }
        // The reading held back before this one, counted once however many policies read it.
        match decided {
            Decided::Nothing => {}
            Decided::Taken { feed, repeat } => {
                self.stats.rows_read += 1;
                self.stats.kept += 1;
                self.count_repeat(feed, repeat);
            }
            Decided::Dropped { reading, watermark } => self.drop_held(reading, watermark, out),
        }
        // A reading held back is counted once decided.
        if held {
            return;
        }
        self.stats.rows_read += 1;
        self.count_repeat(feed, repeat);
        // One late row per reading and job, as for window jobs, however many policies dropped it.
        match dropped_at {
            Some(watermark) => {
                self.stats.late_dropped += 1;
                let reason = DropReason::LateBeyondLateness;
                out.dropped.push(Dropped {
                    job: self.origin.job,
                    reading: r,
                    reason,
                    window_start: r.ts,
                    window_end: r.ts,
                    watermark,
                });
            }
            None => self.stats.kept += 1,
        }
    }

    /// Counts a repeat of a reading's key.
    fn count_repeat(&mut self, feed: Feed, repeat: Option<bool>) {
        match (feed, repeat) {
            (Feed::Input, Some(changed)) => {
                self.stats.repeats += 1;
                if let Some(n) = self.stats.repeats_changed.as_mut() {
                    *n += u64::from(changed);
                }
            }
            (Feed::Revision, Some(_)) => self.stats.revisions += 1,
            _ => {}
        }
    }

    /// Evaluates the policy at trigger time `t` with the values known now.
    fn evaluate(policy: &mut Policy, asset: u32, t: i64, max_age: Option<i64>) -> Result_ {
        let state = policy.assets[asset as usize].as_ref().expect("state exists for an asset being evaluated");
        // `values` and `stamps` hold one entry per operand: the zip leaves out a trigger series.
        let operands = state.series.iter().zip(policy.values.iter_mut().zip(policy.stamps.iter_mut()));
        for (series, (value, stamp)) in operands {
            match series.value_at(t) {
                Some((ts, _)) if max_age.is_some_and(|age| t - ts > age) => {
                    let age = format_duration(t - ts);
                    let limit = format_duration(max_age.unwrap_or_default());
                    return Err((
                        Skip::StaleOperand,
                        format!("an operand's latest value is {age} old (max_age {limit})"),
                    ));
                }
                Some((ts, v)) => {
                    *value = v;
                    *stamp = ts;
                }
                None => return Err((Skip::MissingOperand, "an operand has no value yet".to_string())),
            }
        }
        match policy.expression.evaluate(&policy.values) {
            Ok(Outcome::Number(v)) if v.is_finite() => Ok(Value::Number(v)),
            Ok(Outcome::Number(v)) => Err((Skip::NonFinite, format!("the result {v} is not a finite number"))),
            Ok(Outcome::Bool(b)) => Ok(Value::Bool(b)),
            Ok(Outcome::Text(s)) => Ok(Value::Text(Arc::from(s))),
            Ok(Outcome::Empty) => {
                Err((Skip::Empty, "the expression gave no value (an `if` without `else`)".to_string()))
            }
            Err(e) => Err((Skip::EvalError, format!("evaluation failed: {e}"))),
        }
    }

    /// `updates` mode: a value of series `index` at `from` changed; trigger times already written
    /// that resolve to it are evaluated again and written when their result changes.
    fn revise(&mut self, pi: usize, asset: u32, index: usize, from: i64, out: &mut Emitted) {
        let (origin, max_age) = (self.origin, self.max_age);
        let policy = &mut self.policies[pi];
        let (until, count) = {
            let state = policy.assets[asset as usize].as_ref().expect("state exists");
            let until = state.series[index].next_after(from);
            (until, state.evaluated.len())
        };
        for k in 0..count {
            let t = policy.assets[asset as usize].as_ref().map_or(i64::MAX, |s| s.evaluated[k].t);
            if t < from || t >= until {
                continue;
            }
            let result = Self::evaluate(policy, asset, t, max_age);
            let state = policy.assets[asset as usize].as_mut().expect("state exists");
            let entry = &mut state.evaluated[k];
            if result == entry.last {
                continue;
            }
            if let Ok(value) = &result {
                out.points.push(origin.row(asset, policy.output, t, value.clone(), Emit::Late, entry.revisions));
                entry.revisions += 1;
                self.stats.rows_written += 1;
            }
            entry.last = result;
        }
    }

    /// Evaluates trigger times that are due and retires those that are final.
    fn advance(&mut self, pi: usize, asset: u32, end_of_input: bool, out: &mut Emitted) {
        let (origin, emit, max_age) = (self.origin, self.emit, self.max_age);
        let ticks = &mut self.ticks;
        let policy = &mut self.policies[pi];
        let Some(state) = policy.assets.get(asset as usize).and_then(Option::as_ref) else { return };
        let lowest = |with_horizon: bool| {
            if end_of_input {
                return i64::MAX;
            }
            let mut limit = i64::MAX;
            for (series, horizon) in state.series.iter().zip(&policy.horizons) {
                if series.watermark == NO_WATERMARK {
                    return NO_WATERMARK;
                }
                let w = if !with_horizon {
                    series.watermark
                } else if horizon.fills_gaps {
                    series.last_before(series.watermark.saturating_sub(horizon.ms)).unwrap_or(NO_WATERMARK)
                } else {
                    series.watermark.saturating_sub(horizon.ms)
                };
                limit = limit.min(w);
            }
            limit
        };
        // Final: T < W - horizon everywhere (for a series whose gaps fill late, the series' first
        // value after T below it). Due (updates): T <= W everywhere.
        let final_before = lowest(true);
        let due_until = if emit == EmitMode::Updates { lowest(false) } else { final_before.saturating_sub(1) };
        if emit == EmitMode::Updates {
            Self::backfill_ticks(policy, asset, (ticks.as_deref_mut(), max_age), origin, out, &mut self.stats);
        }
        loop {
            let state = policy.assets[asset as usize].as_mut().expect("state exists");
            let t = match ticks.as_deref_mut() {
                Some(ticks) => {
                    if state.latest == i64::MIN {
                        break;
                    }
                    // Until a tick is evaluated the first one follows the earliest operand, which
                    // an earlier-stamped reading arriving later (within lateness) moves back.
                    let t = state.next_tick.unwrap_or_else(|| ticks.start_at_or_after(state.earliest));
                    if t > state.latest || t > due_until {
                        break;
                    }
                    state.first_tick.get_or_insert(t);
                    state.next_tick = Some(ticks.end_of(t));
                    t
                }
                None => match state.triggers.front() {
                    Some(&t) if t <= due_until => {
                        state.triggers.pop_front();
                        t
                    }
                    _ => break,
                },
            };
            let result = Self::evaluate(policy, asset, t, max_age);
            if emit == EmitMode::Final && result.is_ok() {
                // The values just read are the ones the row carries: no need to look them up again.
                let previous = ticks.as_deref_mut().map(|ticks| ticks.start_before(t));
                Self::count_carried_read(policy, asset, t, previous, &mut self.stats.carried[pi]);
            }
            let state = policy.assets[asset as usize].as_mut().expect("state exists");
            if emit == EmitMode::Final {
                for series in &mut state.series {
                    series.settle(t);
                }
                finalize(&mut self.stats, asset, t, &result);
                if let Ok(value) = result {
                    out.points.push(origin.row(asset, policy.output, t, value, Emit::Final, 0));
                }
            } else {
                // A trigger time first reached after a later one was written arrived late.
                let label = if state.evaluated.back().is_some_and(|e| e.t > t) { Emit::Late } else { Emit::OnTime };
                let mut revisions = 0;
                if let Ok(value) = &result {
                    out.points.push(origin.row(asset, policy.output, t, value.clone(), label, 0));
                    self.stats.rows_written += 1;
                    revisions = 1;
                }
                let at = state.evaluated.partition_point(|e| e.t < t);
                state.evaluated.insert(at, Evaluated { t, last: result, revisions });
            }
        }
        if emit == EmitMode::Updates {
            loop {
                let state = policy.assets[asset as usize].as_mut().expect("state exists");
                if state.evaluated.front().is_none_or(|front| front.t >= final_before) {
                    break;
                }
                let done = state.evaluated.pop_front().expect("front exists");
                if done.last.is_ok() {
                    let previous = ticks.as_deref_mut().map(|ticks| ticks.start_before(done.t));
                    Self::count_carried(policy, asset, done.t, previous, &mut self.stats.carried[pi]);
                }
                let state = policy.assets[asset as usize].as_mut().expect("state exists");
                for series in &mut state.series {
                    series.settle(done.t);
                }
                finalize_counts(&mut self.stats, asset, done.t, &done.last);
                if let Ok(value) = done.last {
                    out.points.push(origin.row(asset, policy.output, done.t, value, Emit::Final, 0));
                }
            }
        }
    }

    /// Moves the watermarks of the raw operand series of `point` for `asset` forward by `by` ms
    /// (`--idle-timeout`, see the window operator's `advance_idle`), then evaluates what is due.
    pub(crate) fn advance_idle(&mut self, asset: u32, point: u32, by: i64, out: &mut Emitted) {
        if by <= 0 {
            return;
        }
        // The reading the future-skew guard held back, taken once the idle clock brings the
        // watermark within the skew of it; counted once however many policies read the point.
        let mut taken: Option<(Feed, Option<bool>)> = None;
        for pi in 0..self.policies.len() {
            let mut moved = false;
            for index in 0..self.policies[pi].horizons.len() {
                let policy = &mut self.policies[pi];
                let trigger = policy.trigger.filter(|&(id, _)| id == point).map(|(_, index)| index);
                let (is_operand, is_trigger) = (policy.operands.get(index) == Some(&point), trigger == Some(index));
                let horizon = policy.horizons[index].raw;
                let Some(state) = policy.assets.get_mut(asset as usize).and_then(Option::as_mut) else { break };
                let series = &mut state.series[index];
                if !(is_operand || is_trigger) || !horizon || series.watermark == NO_WATERMARK {
                    continue;
                }
                let (advanced, confirmed) = series.guard.advance_idle(series.watermark, by, self.max_future_skew);
                // Stored at the old watermark, as a confirmed reading is.
                if let Some(held) = confirmed {
                    let repeat = self.store(pi, (index, is_operand, is_trigger), held.reading, held.feed, out);
                    taken = Some(taken.map_or((held.feed, repeat), |(feed, seen)| (feed, seen.max(repeat))));
                }
                if let Some(state) = self.policies[pi].assets[asset as usize].as_mut() {
                    state.series[index].watermark = advanced;
                }
                self.stats.final_watermark = self.stats.final_watermark.max(advanced);
                moved = true;
            }
            if moved {
                self.advance(pi, asset, false, out);
            }
        }
        if let Some((feed, repeat)) = taken {
            self.stats.rows_read += 1;
            self.stats.kept += 1;
            self.count_repeat(feed, repeat);
        }
    }

    /// Whether the job has a `quality` condition.
    pub(crate) fn filters_quality(&self) -> bool {
        self.quality.is_some()
    }

    /// End of input: event time passes every trigger time, and every one is final.
    pub(crate) fn finish(&mut self, out: &mut Emitted) {
        let order = std::mem::take(&mut self.asset_order);
        for (k, &asset) in order.iter().enumerate() {
            if let Some(marks) = out.marks.as_mut() {
                marks.push(Mark {
                    point: out.points.len(),
                    dropped: out.dropped.len(),
                    at: i64::MIN,
                    series: k as u32,
                    asset,
                });
            }
            self.drop_undecided(asset, out);
            for pi in 0..self.policies.len() {
                self.advance(pi, asset, true, out);
            }
        }
        self.asset_order = order;
    }
}

/// Counts a final result in `final` mode (where written rows are counted here too).
#[inline]
fn finalize(stats: &mut JobStats, asset: u32, t: i64, result: &Result_) {
    if result.is_ok() {
        stats.rows_written += 1;
    } else {
        finalize_counts(stats, asset, t, result);
    }
}

/// Counts the cause of a final result that wrote no row.
fn finalize_counts(stats: &mut JobStats, asset: u32, t: i64, result: &Result_) {
    let Err((skip, reason)) = result else { return };
    let m = &mut stats.merge;
    match skip {
        Skip::MissingOperand => m.missing_operand += 1,
        Skip::StaleOperand => m.stale_operand += 1,
        Skip::NonFinite => m.non_finite += 1,
        Skip::Empty => m.empty += 1,
        Skip::EvalError => m.eval_error += 1,
    }
    if m.samples.len() < SAMPLES_PER_JOB {
        m.samples.push(SkipSample { asset, ts: t, reason: reason.clone() });
    }
}

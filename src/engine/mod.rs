//! The engine: synchronous and free of I/O and clocks. It takes readings in arrival order, runs
//! them through the jobs of a pipeline in dependency order, and hands out output points and
//! dropped rows. Event time is the only clock; end of input is an infinite watermark.

pub mod accounting;
pub mod accumulator;
mod clock;
mod dispatch;
mod dropped;
mod exact;
pub mod layout;
pub mod merge;
pub mod names;
mod open_windows;
mod operator;
mod queue;
mod register;
mod repeats;
pub(crate) mod shard;
mod snapshot;
pub mod stats;
pub mod watermark;
pub mod window;

use crate::engine::names::Names;
pub use crate::job::options::{Duplicates, EmitMode, EngineOptions, WatermarkScope};
use crate::job::{Job, JobKind};
pub(crate) use dropped::DropReason;
pub use dropped::Dropped;
use merge::MergeOperator;
use operator::{FLUSH_PART, Operator, Readers};
use serde::{Deserialize, Serialize};
pub use snapshot::{OperatorState, PipelineState};
use stats::{JobStats, SeriesStats, SeriesTally};
use std::collections::HashMap;
use std::sync::Arc;
use window::WindowOperator;

/// One input reading, names already interned.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Asset id, or [`UNREAD_ASSET`] when no job reads the reading.
    pub asset: u32,
    pub point: u32,
    /// Model id, or [`NO_MODEL`] when the input has no model column.
    pub model: u32,
    pub ts: i64,
    pub value: f64,
    /// The input's quality code (0, good, when the input has no quality column); a job with a
    /// `quality` condition reads only the readings that meet it.
    pub quality: i32,
}

/// Where a reading an operator receives comes from, which decides what a repeat of its key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Feed {
    /// An input row: a repeat follows the job's `duplicates` rule.
    Input,
    /// An input row that is a revision: it carries meterflow's `emit` and `revision` columns (the
    /// output of an `--emit updates` run), so it replaces an earlier revision of its key whatever
    /// the job's `duplicates` rule, and is counted apart ([`Pipeline::push_revision`]).
    Revision,
    /// A row another job of the run wrote: each revision replaces the one before, uncounted.
    Job,
}

/// The model id of a reading whose input names no model: it belongs to every job that reads it.
pub const NO_MODEL: u32 = u32::MAX;

/// The asset id of a reading whose point or model no job reads: the readers do not keep its asset
/// name, so input of millions of assets in rows no job reads costs no memory per asset. Such a
/// reading is only counted ([`Pipeline::unrouted`]).
pub(crate) const UNREAD_ASSET: u32 = u32::MAX;

/// An output value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    Number(f64),
    Count(u64),
    Bool(bool),
    Text(Arc<str>),
}

impl Value {
    /// The value as a reading for downstream jobs; text has none.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(v) => Some(*v),
            Value::Count(n) => Some(*n as f64),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Text(_) => None,
        }
    }
}

/// The label of a row.
///
/// In `final` mode every row is `Final`. In `updates` mode the written rows are `OnTime` and
/// `Late`; jobs still produce a `Final` row per key when it can no longer change, which is not
/// written but feeds downstream window jobs, so a chain of windows aggregates final values only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    Final,
    OnTime,
    Late,
}

/// An output point.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub job: usize,
    pub asset: u32,
    pub point: u32,
    pub model: u32,
    pub ts: i64,
    pub value: Value,
    pub emit: Emit,
    pub revision: u32,
}

/// Who writes a row: the job and its model, the same on every row of an operator.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    pub(crate) job: usize,
    pub(crate) model: u32,
}

impl Origin {
    pub(crate) fn row(self, asset: u32, point: u32, ts: i64, value: Value, emit: Emit, revision: u32) -> Point {
        Point { job: self.job, asset, point, model: self.model, ts, value, emit, revision }
    }
}

/// Where an operator puts what it produces while handling one reading.
#[derive(Default)]
pub(crate) struct Emitted {
    pub(crate) points: Vec<Point>,
    pub(crate) dropped: Vec<Dropped>,
    /// Where the batches of an end-of-input flush begin among `points`, when a shard asks (see
    /// [`shard`]); one pipeline keeps none.
    pub(crate) marks: Option<Vec<shard::Mark>>,
}

impl Emitted {
    pub(crate) fn is_empty(&self) -> bool {
        self.points.is_empty() && self.dropped.is_empty()
    }
}

/// More windows open, or more readings held to recognise repeats, than the run allows (see
/// [`Pipeline::runaway`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Runaway {
    /// Readings held (`--max-open-readings`), not windows (`--max-open-windows`).
    pub(crate) readings: bool,
    pub(crate) limit: u64,
    pub(crate) open: u64,
    /// Run-order index of the job holding the most, and how many it holds.
    pub(crate) job: usize,
    pub(crate) job_open: u64,
}

/// Receives everything the pipeline produces, in order.
pub trait Sink {
    fn point(&mut self, point: &Point);
    fn dropped(&mut self, dropped: &Dropped);
}

/// The jobs of one run wired by point names.
pub struct Pipeline {
    /// Operators in run order (producers first).
    operators: Vec<Operator>,
    /// For each point id, the operators that read it, in run order.
    routes: Vec<Vec<usize>>,
    /// For each point id, the same as one entry an input reading looks up.
    readers: Vec<Readers>,
    scratch: Vec<Emitted>,
    emit: EmitMode,
    max_open_windows: Option<u64>,
    max_open_readings: Option<u64>,
    max_merge_series: Option<u64>,
    /// Model ids of the jobs, to tell which modelled input rows no job reads.
    models: Vec<u32>,
    /// Input readings pushed, those no job reads, and rows handed to the sink (for the accounting).
    readings: u64,
    unrouted: u64,
    points_written: u64,
    late_written: u64,
    /// Input readings per point id, to tell a job point that never appeared.
    input_points: Vec<u64>,
    /// Input readings per model id (of this run only: not saved with a state), to tell a job
    /// model that never appeared in a model column.
    input_models: Vec<u64>,
    /// Readings dropped as late with the watermark more than [`FAR_BEHIND`] ahead of them.
    late_far_behind: u64,
    /// Per input series read by a job: readings, late drops, jumps of event time.
    series: SeriesStats,
    /// The input reading being routed and its series, so a late drop is counted once per reading
    /// however many jobs drop it.
    routing: Option<(usize, Reading)>,
    /// A shard's record of its events (a run sharded by asset, see [`shard`]).
    tracker: Option<Box<shard::Tracker>>,
}

/// How a point another job writes may still be revised in `updates` mode: the merge reading it
/// holds a trigger time open until no revision can reach it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Revisable {
    /// How far behind the latest row of a series a row may still be written or revised (ms).
    pub(crate) horizon: i64,
    /// Whether the producer writes the windows a step between two readings crosses without a
    /// reading of its own only once the window of the later reading expires (`delta` under
    /// `boundary: previous` or `interpolate`, `integral`, `twa`): such a gap in its rows may be
    /// filled however far behind the latest row it lies.
    pub(crate) fills_gaps: bool,
}

/// A late reading this far behind its watermark was more likely made late by one reading stamped
/// far ahead (a bad device clock) than by a slow meter.
pub(crate) const FAR_BEHIND: i64 = 7 * 24 * 3_600_000;

impl Pipeline {
    /// Builds the operators for `jobs` (already in run order), interning their point names.
    pub fn new(jobs: Vec<Job>, names: &mut Names, options: EngineOptions) -> Pipeline {
        let mut operators = Vec::new();
        let mut routes: Vec<Vec<usize>> = Vec::new();
        // How long after its watermark each job-written point may still be revised (`updates`).
        let mut derived: HashMap<u32, Revisable> = HashMap::new();
        let mut models = Vec::new();
        for (index, job) in jobs.into_iter().enumerate() {
            let model = names.models.intern(&job.model);
            models.push(model);
            for input in job.inputs() {
                let id = names.points.intern(input) as usize;
                if routes.len() <= id {
                    routes.resize_with(id + 1, Vec::new);
                }
                routes[id].push(index);
            }
            let stats = JobStats::new(&job);
            names.jobs.push(job.name.clone());
            match &job.kind {
                JobKind::Window(w) => {
                    for p in &w.policies {
                        let revisable = Revisable {
                            horizon: w.latency + p.window_size.longest_ms(),
                            fills_gaps: p.aggregation.reads_next(&p.rules),
                        };
                        derived.insert(names.points.intern(&p.output), revisable);
                    }
                }
                JobKind::Merge(m) => {
                    let raw = Revisable { horizon: m.latency, fills_gaps: false };
                    let own = |point: &str, names: &mut Names| {
                        derived.get(&names.points.intern(point)).copied().unwrap_or(raw)
                    };
                    let mut horizon = 0;
                    for p in &m.policies {
                        for operand in p.operands.iter().chain(&p.trigger_point) {
                            let operand = own(operand, names);
                            // A gap an operand's producer fills later reaches back without bound
                            // from this job's rows, which have none: revisable to the end.
                            horizon = horizon.max(if operand.fills_gaps { i64::MAX } else { operand.horizon });
                        }
                    }
                    for p in &m.policies {
                        derived.insert(names.points.intern(&p.output), Revisable { horizon, fills_gaps: false });
                    }
                }
            }
            operators.push(match job.kind {
                JobKind::Window(w) => Operator::Window(WindowOperator::new(index, model, w, names, options, stats)),
                JobKind::Merge(m) => {
                    Operator::Merge(MergeOperator::new(index, model, m, names, options, &derived, stats))
                }
            });
        }
        let scratch = operators.iter().map(|_| Emitted::default()).collect();
        let readers = routes
            .iter()
            .map(|jobs| match jobs.as_slice() {
                [] => Readers::None,
                &[op] => Readers::One(op),
                _ => Readers::Many,
            })
            .collect();
        Pipeline {
            operators,
            routes,
            readers,
            scratch,
            emit: options.emit,
            max_open_windows: options.max_open_windows,
            max_open_readings: options.max_open_readings,
            max_merge_series: options.max_merge_series,
            models,
            readings: 0,
            unrouted: 0,
            points_written: 0,
            late_written: 0,
            input_points: Vec::new(),
            input_models: Vec::new(),
            late_far_behind: 0,
            series: SeriesStats::default(),
            routing: None,
            tracker: None,
        }
    }

    /// Whether a row with this label reaches the output in this run.
    fn written(&self, emit: Emit) -> bool {
        (emit == Emit::Final) == (self.emit == EmitMode::Final)
    }

    /// Runs one input reading through every job that reads its point.
    pub fn push(&mut self, r: Reading, sink: &mut dyn Sink) {
        self.push_fed(r, Feed::Input, sink);
        self.settle_figures();
    }

    /// As [`Pipeline::push`] for one of a run of input readings, leaving some of the jobs'
    /// figures to [`Pipeline::settle_figures`], which the caller calls once the run ends and before
    /// anything reads the figures: the on-time lane then counts a reading with one addition.
    #[inline]
    pub(crate) fn push_in_run(&mut self, r: Reading, sink: &mut dyn Sink) {
        self.push_fed(r, Feed::Input, sink);
    }

    /// Brings the jobs' figures up to date after [`Pipeline::push_in_run`].
    pub(crate) fn settle_figures(&mut self) {
        for op in &mut self.operators {
            op.settle_figures();
        }
    }

    /// As [`Pipeline::push`], for a row of an input that carries meterflow's `emit` and
    /// `revision` columns: it replaces an earlier revision of its key (see [`Feed::Revision`]).
    pub(crate) fn push_revision(&mut self, r: Reading, sink: &mut dyn Sink) {
        self.push_fed(r, Feed::Revision, sink);
        self.settle_figures();
    }

    /// Pushes `r` to operator `op` and delivers what it produced.
    #[inline]
    fn push_to(&mut self, op: usize, r: Reading, feed: Feed, sink: &mut dyn Sink) {
        self.operators[op].push(r, feed, &mut self.scratch[op]);
        // Most readings produce nothing: only then is the buffer taken out to be delivered.
        if !self.scratch[op].is_empty() {
            let mut out = std::mem::take(&mut self.scratch[op]);
            self.deliver(&mut out, sink);
            self.scratch[op] = out;
        }
    }

    /// `from_job` is the label of the row when `r` was written by a job (`feed` is then
    /// [`Feed::Job`]), `None` for input readings.
    fn route(&mut self, r: Reading, feed: Feed, from_job: Option<Emit>, sink: &mut dyn Sink) {
        let jobs = self.routes.get(r.point as usize).map_or(0, Vec::len);
        // Routes are fixed once built, so indexing them afresh is safe while rows go downstream.
        for k in 0..jobs {
            let op = self.routes[r.point as usize][k];
            // Window jobs aggregate final values; merges follow every revision in `updates` mode.
            let is_window = matches!(self.operators[op], Operator::Window(_));
            if from_job.is_some_and(|emit| is_window != (emit == Emit::Final) && self.emit == EmitMode::Updates) {
                continue;
            }
            self.push_to(op, r, feed, sink);
        }
    }

    fn deliver(&mut self, out: &mut Emitted, sink: &mut dyn Sink) {
        for d in out.dropped.drain(..) {
            self.late_written += 1;
            if d.reason == DropReason::LateBeyondLateness && d.watermark.saturating_sub(d.reading.ts) > FAR_BEHIND {
                self.late_far_behind += 1;
            }
            self.series.skewed(&d);
            if let Some((series, reading)) = self.routing
                && d.reason == DropReason::LateBeyondLateness
                && d.reading == reading
            {
                self.series.late(series, d.reading.ts, d.watermark);
                self.routing = None;
            }
            sink.dropped(&d);
        }
        for p in out.points.drain(..) {
            if self.written(p.emit) {
                self.points_written += 1;
                sink.point(&p);
            }
            // Most output points feed no job: then there is nothing to route.
            let read = self.routes.get(p.point as usize).is_some_and(|jobs| !jobs.is_empty());
            if let Some(value) = p.value.as_f64().filter(|_| read) {
                self.route(
                    Reading { asset: p.asset, point: p.point, model: p.model, ts: p.ts, value, quality: 0 },
                    Feed::Job,
                    Some(p.emit),
                    sink,
                );
            }
        }
        // A job's rows may have taken another job's on-time lane: settled here, so that the
        // figures are whole after every call that delivers (the end of input, an idle series, a
        // shard's events), and not only after `push`.
        self.settle_figures();
    }

    /// Moves the watermark of input series (`asset`, `point`) forward by `by` ms in every job that
    /// reads it, and hands on what falls due, as a reading would. The caller decides when a series
    /// is idle (the engine keeps no clock): see `--idle-timeout`.
    pub fn advance_idle(&mut self, asset: u32, point: u32, by: i64, sink: &mut dyn Sink) {
        let jobs = self.routes.get(point as usize).map_or(0, Vec::len);
        for k in 0..jobs {
            let op = self.routes[point as usize][k];
            let mut out = std::mem::take(&mut self.scratch[op]);
            match &mut self.operators[op] {
                Operator::Window(w) => w.advance_idle(asset, point, by, &mut out),
                Operator::Merge(m) => m.advance_idle(asset, point, by, &mut out),
            }
            self.deliver(&mut out, sink);
            self.scratch[op] = out;
        }
    }

    /// End of input: flushes every job, upstream first, feeding flushed rows downstream, a part at
    /// a time: the sink gets what one delivery would give, from a buffer that stays in the cache.
    pub fn finish(&mut self, sink: &mut dyn Sink) {
        for op in 0..self.operators.len() {
            let mut out = std::mem::take(&mut self.scratch[op]);
            let mut done = false;
            while !done {
                done = self.operators[op].finish_part(&mut out, FLUSH_PART);
                self.deliver(&mut out, sink);
            }
            self.scratch[op] = out;
        }
    }

    /// Per-job figures, in run order.
    pub fn stats(&self) -> Vec<&JobStats> {
        self.operators.iter().map(Operator::stats).collect()
    }

    /// Whether any job has a `quality` condition.
    pub(crate) fn filters_quality(&self) -> bool {
        self.operators.iter().any(|op| match op {
            Operator::Window(w) => w.filters_quality(),
            Operator::Merge(m) => m.filters_quality(),
        })
    }

    /// Windows the window jobs hold open now.
    pub(crate) fn open_windows(&self) -> u64 {
        let windows = self.operators.iter().filter_map(|op| match op {
            Operator::Window(w) => Some(w.open_windows()),
            Operator::Merge(_) => None,
        });
        windows.sum()
    }

    /// Output rows and late rows handed to the sink so far.
    pub(crate) fn rows_handed_on(&self) -> (u64, u64) {
        (self.points_written, self.late_written)
    }

    /// Input readings of point `point`, over the whole replay.
    pub(crate) fn input_readings(&self, point: u32) -> u64 {
        self.input_points.get(point as usize).copied().unwrap_or(0)
    }

    /// Input readings of this run with this model in their model column.
    pub(crate) fn model_readings(&self, model: u32) -> u64 {
        self.input_models.get(model as usize).copied().unwrap_or(0)
    }

    /// The model of each job, in run order (as the job names are).
    pub(crate) fn job_models(&self) -> &[u32] {
        &self.models
    }

    /// Readings dropped as late more than [`FAR_BEHIND`] behind their watermark.
    pub(crate) fn late_far_behind(&self) -> u64 {
        self.late_far_behind
    }

    /// Per input series read by a job: readings, late drops, jumps of event time.
    pub(crate) fn series(&self) -> &[SeriesTally] {
        &self.series.tallies
    }

    /// Whether every job that reads point `point` holds back a reading far ahead of its watermark
    /// (`max_future_skew`), so that advice to set it would be no advice.
    pub(crate) fn holds_skew(&self, point: u32) -> bool {
        let jobs = self.routes.get(point as usize).map_or(&[][..], Vec::as_slice);
        !jobs.is_empty() && jobs.iter().all(|&op| self.operators[op].max_future_skew().is_some())
    }

    /// Whether every job holds back a reading far ahead of its watermark (`max_future_skew`).
    pub(crate) fn holds_skew_everywhere(&self) -> bool {
        self.operators.iter().all(|op| op.max_future_skew().is_some())
    }

    /// Whether some job reads each point, by point id (ids past the end: no job does).
    pub(crate) fn read_points(&self) -> Vec<bool> {
        self.routes.iter().map(|jobs| !jobs.is_empty()).collect()
    }

    /// Whether some job has each model, by model id (ids past the end: none has).
    pub(crate) fn read_models(&self) -> Vec<bool> {
        let len = self.models.iter().filter(|&&m| m != NO_MODEL).map(|&m| m as usize + 1).max().unwrap_or(0);
        let mut read = vec![false; len];
        for &m in self.models.iter().filter(|&&m| m != NO_MODEL) {
            read[m as usize] = true;
        }
        read
    }

    /// Input readings whose point (or model) no job reads.
    pub(crate) fn unrouted(&self) -> u64 {
        self.unrouted
    }

    /// Whether [`Pipeline::runaway`] or [`Pipeline::runaway_merge`] can find anything: some limit
    /// is set.
    pub(crate) fn checks_limits(&self) -> bool {
        self.max_open_windows.is_some() || self.max_open_readings.is_some() || self.max_merge_series.is_some()
    }

    /// When more windows are open than `max_open_windows` allows, or more readings are held to
    /// recognise repeats than `max_open_readings` allows: how many, and the job holding the most
    /// with its count. Checked by the caller after each reading, so a job whose state grows
    /// without bound stops with a clear error instead of exhausting memory.
    pub(crate) fn runaway(&self) -> Option<Runaway> {
        let over = |limit: Option<u64>, readings: bool, count: fn(&WindowOperator) -> u64| {
            let limit = limit?;
            let mut open = 0;
            let mut largest = (0, 0);
            for (index, op) in self.operators.iter().enumerate() {
                if let Operator::Window(w) = op {
                    open += count(w);
                    if count(w) > largest.0 {
                        largest = (count(w), index);
                    }
                }
            }
            (open > limit).then_some(Runaway { readings, limit, open, job: largest.1, job_open: largest.0 })
        };
        over(self.max_open_windows, false, |w| w.open_windows())
            .or_else(|| over(self.max_open_readings, true, |w| w.open_readings()))
    }

    /// The first merge job holding more operand series than `max_merge_series` allows: its
    /// run-order index, how many it holds and the limit. Checked by the caller after each reading, as
    /// [`Pipeline::runaway`] is: a merge keeps each asset's latest operand values for as long as
    /// the run lasts, so its state grows with the number of assets.
    pub(crate) fn runaway_merge(&self) -> Option<(usize, u64, u64)> {
        let limit = self.max_merge_series?;
        self.operators.iter().enumerate().find_map(|(index, op)| match op {
            Operator::Merge(m) if m.series_held() > limit => Some((index, m.series_held(), limit)),
            _ => None,
        })
    }

    /// The accounting balances of the run so far, given the input side's figures.
    pub(crate) fn balances(&self, input: accounting::InputFigures) -> Vec<accounting::Balance> {
        let jobs = self.stats();
        accounting::balances(&accounting::RunFigures {
            input,
            readings: self.readings,
            points_written: self.points_written,
            late_written: self.late_written,
            jobs: &jobs,
        })
    }
}

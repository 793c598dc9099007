//! The Time Window Aggregation operator: tumbling or sliding windows per series and policy (laid
//! out by [`Layout`]), with a watermark per scope (series, asset or job), allowed lateness judged
//! per window, `last_value` interpolation, both emit modes and the `duplicates` rule.
//!
//! # The window store
//!
//! - **Groups.** Consecutive policies that read the same input through the same threshold,
//!   interpolation and window size form a *group* (the seed's max and min are one). A group has
//!   one slot per series and window, holding the components of all its aggregations once
//!   ([`super::accumulator`]), and one expiry timer: every per-window cost but the final value is
//!   paid once per group instead of once per policy. Only consecutive policies are fused, so that
//!   rows written together keep the policy order of the job file.
//! - **Rings.** A series' open windows of a group are a ring of slots by window number
//!   ([`super::open_windows`]): the newest is the back slot, expiry takes the front one, nothing is
//!   searched unless a window is missing, and nothing is allocated once the ring has its size.
//! - **Timers.** Per clock, an ordered queue ([`super::clock`]): the front window of each ring
//!   expires at `end + latency`; in `updates` mode every window also closes at `end`. Timers fire
//!   in order of (time, series, group, kind, window), and those of one time, series and group
//!   fire as one batch, policy by policy, which is the row order of unfused policies.
//! - **Repeats.** Each series has a [`Log`] of the timestamps its open windows hold ([`super::repeats`]):
//!   a reading later than all of them is new without a lookup; one that is held is a repeat and
//!   follows the job's `duplicates` rule ([`corrections`]). Under `last` the log keeps the values
//!   too, and a window whose reading a repeat changed is summed again from them.
//! - **The on-time lane.** In a job of one tumbling group, the usual reading (a known series, a new
//!   timestamp, a value within the threshold, the newest window, on time) is handled by
//!   [`WindowOperator::push`] in one straight run of code; the first reading of the next window
//!   opens it at the ring's back, and a reading delayed past later ones that the log does not
//!   hold goes to its window, each in a short run of its own; every other reading takes the general
//!   path ([`accept`]), which does the same with that reading. `tests/library/lane.rs` holds the
//!   two to the same rows, late rows and figures.
//! - **What other features add.** A component is a few cells in the slot ([`super::accumulator`]); one
//!   that needs the window's readings in order (issue 29's percentiles, `median`, `integral`)
//!   reads them from the slot's reading list. Coverage counts readings per window, which the
//!   slot's count already is.
//! - **Reading across an edge.** `delta` with `boundary: previous` or `interpolate`, `integral` and
//!   `twa` read the series' readings on either side of a window ([`Edges`]): policies that do are
//!   fused only with each other, and such a group's windows wait for the series' next reading.
//!   An expiry timer marks its window expired ([`EXPIRED`](super::accumulator::EXPIRED)) and leaves it in the ring; the ring's
//!   front windows are written and removed once final, which is when the window holding the
//!   series' next reading has expired too (no reading between the two can still be accepted) or
//!   at end of input. The reading before the front window is the last one of the windows already
//!   written, which the series carries per group ([`Register`]'s `carried`); the one after it is
//!   the first of a later slot. The timer of a ring sits on its first window not waiting, so a
//!   waiting window costs no timer. The carried reading and the waiting slots are part of the
//!   `--state` snapshot, so a run cut anywhere writes what one run writes.

mod accept;
mod corrections;
mod snapshot;
mod timers;

pub use snapshot::WindowState;

use super::accumulator::{Edges, Fused, Samples};
use super::clock::{Clock, Timer, TimerKind};
use super::layout::Layout;
use super::open_windows::Slots;
use super::repeats::{Held, Log};
use super::shard::Mark;
use super::stats::{JobStats, PolicyStats};
use super::watermark::{self, Arrival, HeldBack, Skew};
use super::{
    DropReason, Dropped, EmitMode, Emitted, EngineOptions, Feed, NO_MODEL, Origin, Reading, Value, WatermarkScope,
};
use crate::engine::names::Names;
use crate::job::options::Duplicates;
use crate::job::threshold::Threshold;
use crate::job::{Aggregation, Interpolation, PolicyRules, WindowJob};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

struct Policy {
    output: u32,
}

/// Consecutive policies fused: one input, threshold, interpolation and window layout.
struct Group {
    input: u32,
    layout: Layout,
    threshold: Threshold,
    interpolation: Interpolation,
    /// The group's policies are `first_policy ..` (as many as `fused.outputs()`).
    first_policy: usize,
    fused: Fused,
}

impl Group {
    fn policies(&self) -> std::ops::Range<usize> {
        self.first_policy..self.first_policy + self.fused.outputs()
    }
}

/// The window `[start, end)` numbered `window` a value goes to, how it arrived there.
struct Placement {
    window: i64,
    start: i64,
    end: i64,
    arrival: Arrival,
}

/// A window a reading belongs to: its number, bounds, and how the reading arrives in it.
#[derive(Debug, Clone, Copy)]
struct Window {
    number: i64,
    start: i64,
    end: i64,
    arrival: Arrival,
}

/// Expired windows a reading missed: the first one, and whether it missed every window.
#[derive(Debug, Clone, Copy)]
struct Missed {
    window: (i64, i64),
    entirely: bool,
}

/// Per group of a series: the `last_value` register and, for the windows a repeat may make sum
/// again, the values it lent to out-of-threshold readings.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Register {
    /// Timestamp and value of the latest reading within the threshold (`last_value` groups).
    last_valid: Option<(i64, f64)>,
    /// Out-of-threshold readings replaced by the register, by timestamp (`last_value` groups
    /// whose series keeps values).
    lent: VecDeque<(i64, f64)>,
    /// The last reading of the windows written and gone (groups that [`Fused::defers`]): the
    /// reading before the ring's front window, carried across its edge.
    carried: Option<(i64, f64)>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Series {
    asset: u32,
    /// The input point.
    input: u32,
    clock: usize,
    registers: Vec<Register>,
    /// The watermark at which the log may next drop expired timestamps.
    trim_at: i64,
}

/// Buffers an operator reuses so that handling a reading allocates nothing.
#[derive(Default)]
struct Scratch {
    /// Timers fired together, and the timers they queue (see [`timers`]).
    batch: Vec<Timer>,
    follow: Vec<Timer>,
    /// The windows of a batch with rows to write: slot, edges and timer kind.
    rows: Vec<(usize, Edges, TimerKind)>,
    /// The windows of a repeat (see [`corrections`]).
    windows: Vec<Window>,
    /// The timers of an end-of-input flush under way (see [`timers`]).
    ending: Option<timers::Ending>,
}

pub(crate) struct WindowOperator {
    origin: Origin,
    latency: i64,
    emit: EmitMode,
    scope: WatermarkScope,
    pub(super) max_future_skew: Option<i64>,
    quality: Option<Threshold>,
    duplicates: Duplicates,
    policies: Vec<Policy>,
    groups: Vec<Group>,
    /// Series id by (input point, asset): `series_of[input][asset]`, `u32::MAX` when absent.
    inputs: Vec<u32>,
    series_of: Vec<Vec<u32>>,
    series: Vec<Series>,
    /// Open windows of series `s` and group `g` at `s * groups + g` (empty for groups on other
    /// inputs): one dense table, so the newest windows of all series sit close together.
    rings: Vec<Slots>,
    /// Per series, the timestamps (and under `last` the values) of its open windows.
    logs: Vec<Log>,
    clocks: Vec<Clock>,
    /// Clock of each asset (`asset` scope).
    asset_clock: Vec<u32>,
    samples: Samples,
    /// Windows open now, over all series and policies.
    open_windows: u64,
    /// Timestamps the logs hold now.
    open_readings: u64,
    /// How far back (ms) from its watermark a series' readings can still change a window: bounds
    /// the span of a log's grid.
    horizon: i64,
    /// The shortest window step of the groups: how far the watermark moves between log trims.
    trim_step: i64,
    /// Buffers kept to be reused.
    scratch: Box<Scratch>,
    /// The input point of the on-time lane ([`WindowOperator::push`]), when the job can take one:
    /// one group, tumbling on a fixed grid, no `quality` condition, no `last_value` interpolation.
    lane: Option<u32>,
    /// Readings the on-time lane took and [`WindowOperator::settle_figures`] has not yet added to
    /// `stats`.
    lane_taken: u64,
    pub(crate) stats: JobStats,
}

const ABSENT: u32 = u32::MAX;

impl WindowOperator {
    pub(crate) fn new(
        job: usize,
        model: u32,
        plan: WindowJob,
        names: &mut Names,
        options: EngineOptions,
        stats: JobStats,
    ) -> Self {
        let updates = options.emit == EmitMode::Updates;
        let policies = plan.policies.iter().map(|p| Policy { output: names.points.intern(&p.output) }).collect();
        let mut groups: Vec<Group> = Vec::new();
        let mut aggregations: Vec<Vec<(Aggregation, PolicyRules)>> = Vec::new();
        for (i, p) in plan.policies.iter().enumerate() {
            let input = names.points.intern(&p.input);
            let joins = i > 0 && {
                let q = &plan.policies[i - 1];
                (&q.input, q.threshold, q.interpolation, q.window_size, q.aggregation.reads_next(&q.rules))
                    == (&p.input, p.threshold, p.interpolation, p.window_size, p.aggregation.reads_next(&p.rules))
            };
            if joins && let Some(last) = aggregations.last_mut() {
                last.push((p.aggregation, p.rules));
                continue;
            }
            aggregations.push(vec![(p.aggregation, p.rules)]);
            groups.push(Group {
                input,
                layout: Layout::new(plan.window, p.window_size, plan.timezone, plan.offset),
                threshold: p.threshold,
                interpolation: p.interpolation,
                first_policy: i,
                fused: Fused::new(&[], updates),
            });
        }
        for (group, aggregations) in groups.iter_mut().zip(&aggregations) {
            group.fused = Fused::new(aggregations, updates);
        }
        let mut inputs: Vec<u32> = Vec::new();
        for g in &groups {
            if !inputs.contains(&g.input) {
                inputs.push(g.input);
            }
        }
        let longest = plan.policies.iter().map(|p| p.window_size.longest_ms()).max().unwrap_or(0);
        let step = |p: &crate::job::WindowPolicy| match plan.window {
            crate::job::WindowType::Sliding { slide } => slide.shortest_ms(),
            crate::job::WindowType::Tumbling => p.window_size.shortest_ms(),
        };
        let trim_step = plan.policies.iter().map(step).min().unwrap_or(1).max(1);
        let clocks = if options.watermark == WatermarkScope::Global { vec![Clock::new()] } else { Vec::new() };
        let duplicates = options.duplicates.unwrap_or(plan.duplicates);
        let mut stats = stats;
        stats.duplicates = Some(duplicates.name().to_owned());
        // Values are kept, and so compared, under `last` only.
        stats.repeats_changed = (duplicates == Duplicates::Last).then_some(0);
        let lane = match groups.as_slice() {
            [g] if g.layout.fixed_tumbling().is_some()
                && g.interpolation != Interpolation::LastValue
                && plan.quality.is_none() =>
            {
                Some(g.input)
            }
            _ => None,
        };
        WindowOperator {
            lane,
            lane_taken: 0,
            origin: Origin { job, model },
            latency: plan.latency,
            emit: options.emit,
            scope: options.watermark,
            max_future_skew: options.max_future_skew.or(plan.max_future_skew),
            quality: plan.quality,
            duplicates,
            series_of: vec![Vec::new(); inputs.len()],
            inputs,
            policies,
            groups,
            series: Vec::new(),
            rings: Vec::new(),
            logs: Vec::new(),
            clocks,
            asset_clock: Vec::new(),
            samples: Samples::default(),
            open_windows: 0,
            open_readings: 0,
            horizon: plan.latency.saturating_add(longest.saturating_mul(2)),
            trim_step,
            scratch: Box::default(),
            stats,
        }
    }

    fn series_id(&mut self, input: usize, asset: u32, feed: Feed) -> u32 {
        let table = &mut self.series_of[input];
        if table.len() <= asset as usize {
            table.resize(asset as usize + 1, ABSENT);
        }
        if table[asset as usize] != ABSENT {
            return table[asset as usize];
        }
        let clock = match self.scope {
            WatermarkScope::Global => 0,
            WatermarkScope::Series => {
                self.clocks.push(Clock::new());
                self.clocks.len() - 1
            }
            WatermarkScope::Asset => {
                if self.asset_clock.len() <= asset as usize {
                    self.asset_clock.resize(asset as usize + 1, ABSENT);
                }
                if self.asset_clock[asset as usize] == ABSENT {
                    self.clocks.push(Clock::new());
                    self.asset_clock[asset as usize] = (self.clocks.len() - 1) as u32;
                }
                self.asset_clock[asset as usize] as usize
            }
        };
        let id = self.series.len() as u32;
        self.rings.extend(self.groups.iter().map(|g| Slots::new(g.fused.stride())));
        // Values are kept where a repeat replaces: under `last`, and for a series of revisions.
        self.logs.push(Log::new(self.duplicates == Duplicates::Last || feed != Feed::Input));
        let registers = vec![Register::default(); self.groups.len()];
        let point = self.inputs[input];
        self.series.push(Series { asset, input: point, clock, registers, trim_at: i64::MIN });
        self.series_of[input][asset as usize] = id;
        id
    }

    /// Runs one reading through the job. The usual reading takes the on-time lane: a series seen
    /// before, a timestamp later than every one it holds, a value within the threshold, for the
    /// newest window of a job of one tumbling group, on time; or, the first of the next window,
    /// opens it ([`Self::open_next`]). That is what [`Self::push_any`] does with such a reading,
    /// without the searches, loops and checks that other readings need; it tries a reading stamped
    /// before the series' newest one in a short run of its own first ([`Self::take_unheld`]).
    #[inline]
    pub(crate) fn push(&mut self, r: Reading, feed: Feed, out: &mut Emitted) {
        if self.lane == Some(r.point)
            && (r.model == NO_MODEL || r.model == self.origin.model)
            && let Some(&sid) = self.series_of[0].get(r.asset as usize)
            && sid != ABSENT
        {
            let clock = self.series[sid as usize].clock;
            let w = self.clocks[clock].watermark;
            let group = &self.groups[0];
            // One group: series `sid`'s ring is at `sid * 1 + 0`.
            let ring = &mut self.rings[sid as usize];
            let end = ring.newest.1;
            if self.logs[sid as usize].is_new(r.ts) && group.threshold.contains(r.value) {
                if let Some(slot) = ring.newest_holding(r.ts) {
                    if watermark::classify(end, w, self.latency) == Arrival::OnTime
                        && self.clocks[clock].guard.passes(w, r.ts, self.max_future_skew)
                    {
                        group.fused.add(slot, r.ts, r.value, &mut self.samples);
                        // Its figures (read and valid for every policy, read and kept by the job)
                        // are one count until the pipeline settles them.
                        self.lane_taken += 1;
                        self.logs[sid as usize].insert(r.ts, r.value, self.horizon);
                        self.open_readings += 1;
                        self.move_clock(sid, clock, w, r.ts, out);
                        return;
                    }
                } else if self.open_next(sid, clock, r, out) {
                    // The first reading of the series' next window opened it.
                    return;
                }
            }
        }
        self.push_any(r, feed, out);
    }

    /// Adds the readings the on-time lane took since the last call to the figures: each was
    /// read and valid for every policy of the job's one group, and read and kept by the job.
    /// The pipeline calls it after each reading pushed alone, after each delivery of rows (which
    /// may have taken a downstream job's lane) and once after a run of readings
    /// ([`super::Pipeline::settle_figures`]), before anything reads the figures.
    pub(crate) fn settle_figures(&mut self) {
        let taken = std::mem::take(&mut self.lane_taken);
        if taken == 0 {
            return;
        }
        for stats in &mut self.stats.policies[self.groups[0].policies()] {
            stats.read += taken;
            stats.valid += taken;
        }
        self.stats.rows_read += taken;
        self.stats.kept += taken;
    }

    /// Whether every reading's figures are in `stats`.
    pub(crate) fn figures_settled(&self) -> bool {
        self.lane_taken == 0
    }

    /// Any reading: a repeat, a new series, a late or out-of-threshold reading, a window to open,
    /// a job of several groups, a reading the future-skew guard has a say in.
    #[inline(never)]
    fn push_any(&mut self, r: Reading, feed: Feed, out: &mut Emitted) {
        if r.model != NO_MODEL && r.model != self.origin.model {
            return;
        }
        // Tried here rather than in the lane: there, it cost the lane's own code 9 instructions a
        // reading (its registers and layout).
        if self.lane == Some(r.point)
            && let Some(&sid) = self.series_of[0].get(r.asset as usize)
            && sid != ABSENT
            && self.take_unheld(sid, self.series[sid as usize].clock, r, out)
        {
            return;
        }
        let Some(input) = self.inputs.iter().position(|&p| p == r.point) else { return };
        if self.quality.is_some_and(|q| !q.contains(f64::from(r.quality))) {
            self.stats.quality_filtered += 1;
            return;
        }
        let sid = self.series_id(input, r.asset, feed);
        let clock = self.series[sid as usize].clock;
        let w = self.clocks[clock].watermark;
        let (advanced, skew) = self.clocks[clock].guard.advance(w, r, feed, self.max_future_skew);
        match skew {
            Skew::None => {}
            Skew::Held => return,
            Skew::Confirmed(held) => self.take_held(held, w, out),
            Skew::Glitch(held) => self.drop_held(held, w, out),
            Skew::Replaced(held) => {
                self.drop_held(held, w, out);
                return;
            }
        }
        self.take(sid, r, feed, w, out);
        self.move_clock(sid, clock, w, advanced, out);
    }

    /// Takes reading `r` of series `sid`, arrived at watermark `w` of its clock, into its windows
    /// (or drops it as late), and counts it.
    fn take(&mut self, sid: u32, r: Reading, feed: Feed, w: i64, out: &mut Emitted) {
        self.stats.rows_read += 1;
        // A reading later than every timestamp the series holds is new: no lookup.
        let held = if self.logs[sid as usize].is_new(r.ts) { Held::No } else { self.logs[sid as usize].get(r.ts) };
        let missed = match held {
            Held::No => self.accept_new(sid, r, w, out),
            held => self.repeat(sid, r, feed, held, w, out),
        };
        // One late row per reading and job: dropped when a group left it out entirely (with that
        // group's window), else partially late when some sliding windows had expired.
        if let Some(Missed { window: (window_start, window_end), entirely }) = missed {
            self.stats.late_dropped += u64::from(entirely);
            self.stats.partially_late += u64::from(!entirely);
            let reason = if entirely { DropReason::LateBeyondLateness } else { DropReason::PartiallyLate };
            out.dropped.push(Dropped {
                job: self.origin.job,
                reading: r,
                reason,
                window_start,
                window_end,
                watermark: w,
            });
        }
        if !missed.is_some_and(|m| m.entirely) {
            self.stats.kept += 1;
        }
    }

    /// A reading held back and now confirmed: taken at the watermark `w` it met when it arrived
    /// (readings taken since were at or behind `w`), just before the reading that confirmed it.
    fn take_held(&mut self, held: HeldBack, w: i64, out: &mut Emitted) {
        let r = held.reading;
        let Some(input) = self.inputs.iter().position(|&p| p == r.point) else { return };
        let sid = self.series_id(input, r.asset, held.feed);
        self.take(sid, r, held.feed, w, out);
    }

    /// A reading held back that no reading confirmed: it enters no window, and is counted and
    /// written to the late output as too far ahead of watermark `w`.
    fn drop_held(&mut self, held: HeldBack, w: i64, out: &mut Emitted) {
        self.stats.rows_read += 1;
        self.stats.future_skewed += 1;
        let ts = held.reading.ts;
        out.dropped.push(Dropped {
            job: self.origin.job,
            reading: held.reading,
            reason: DropReason::FutureSkewed,
            window_start: ts,
            window_end: ts,
            watermark: w,
        });
    }

    /// End of input (the true one, not a `--state` run's): the readings still held back are
    /// undecided, and dropped as no reading confirmed them, in order of their series. Each is a
    /// flush batch of its own for a shard (marked due before any window).
    fn drop_undecided(&mut self, out: &mut Emitted) {
        let mut undecided: Vec<(u32, HeldBack, i64)> = Vec::new();
        for clock in &mut self.clocks {
            if let Some(held) = clock.guard.undecided() {
                let r = held.reading;
                let input = self.inputs.iter().position(|&p| p == r.point);
                let sid = input.and_then(|i| self.series_of[i].get(r.asset as usize)).copied().unwrap_or(ABSENT);
                undecided.push((sid, held, clock.watermark));
            }
        }
        undecided.sort_by_key(|&(sid, _, _)| sid);
        for (sid, held, w) in undecided {
            if let Some(marks) = out.marks.as_mut() {
                marks.push(Mark {
                    point: out.points.len(),
                    dropped: out.dropped.len(),
                    at: i64::MIN,
                    series: sid,
                    asset: held.reading.asset,
                });
            }
            self.drop_held(held, w, out);
        }
    }

    /// After a reading of series `sid` arrived at watermark `w` of its clock, the watermark moves
    /// on to `advanced` when that is later, and what falls due fires.
    #[inline(always)]
    fn move_clock(&mut self, sid: u32, clock: usize, w: i64, advanced: i64, out: &mut Emitted) {
        if advanced > w {
            self.clocks[clock].watermark = advanced;
            self.stats.final_watermark = self.stats.final_watermark.max(advanced);
            self.fire(clock, advanced, out);
            if advanced >= self.series[sid as usize].trim_at {
                self.trim(sid, advanced);
            }
        }
    }

    /// Whether the job has a `quality` condition.
    pub(crate) fn filters_quality(&self) -> bool {
        self.quality.is_some()
    }

    /// Series created so far, numbered in order of first appearance.
    pub(crate) fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Windows open now, over all series and policies.
    pub(crate) fn open_windows(&self) -> u64 {
        self.open_windows
    }

    /// Timestamps kept now to recognise repeats, over all series.
    pub(crate) fn open_readings(&self) -> u64 {
        self.open_readings
    }
}

/// Whether a value equals the one written, kept as [`super::accumulator::value_bits`]: as numbers
/// compare, so `-0` after `0` is no change.
fn same(value: &Value, bits: u64) -> bool {
    match value {
        Value::Number(v) => f64::from_bits(bits) == *v,
        other => super::accumulator::value_bits(other) == bits,
    }
}

/// Whether a window's value can be written: a sum or average of finite readings can still
/// overflow the float range, and such a window writes no row (counted per policy) rather than a
/// number that is not the sum.
fn is_finite(value: &Value) -> bool {
    !matches!(value, Value::Number(v) if !v.is_finite())
}

/// Updates the figures of every policy of `group` with `f`.
fn count_policies(stats: &mut [PolicyStats], group: &Group, f: impl Fn(&mut PolicyStats)) {
    for pi in group.policies() {
        f(&mut stats[pi]);
    }
}

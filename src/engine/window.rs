//! The Time Window Aggregation operator: tumbling or sliding windows per series and policy (laid
//! out by [`Layout`]), with a watermark per scope (series, asset or job), allowed lateness judged
//! per window, `last_value` interpolation and both emit modes.
//!
//! Open windows of a series and policy sit in a deque ordered by start. Timers on the series' clock
//! close each window at `end` (`updates` mode) and expire the front window of each deque at `end +
//! latency` (the windows behind it expire later, in order); a clock's timers fire in order of
//! (time, series, policy, window start) as its watermark passes them, which is also the order rows
//! are written in.

use super::accumulator::{Accumulator, BufferPool};
use super::layout::Layout;
use super::open_windows::{OpenWindow, Windows};
use super::queue::OrderedQueue;
use super::stats::JobStats;
use super::watermark::{self, Arrival, FutureGuard, NO_WATERMARK};
use super::{
    DropReason, Dropped, Emit, EmitMode, Emitted, EngineOptions, NO_MODEL, Point, Reading, Value, WatermarkScope,
};
use crate::engine::names::Names;
use crate::job::threshold::Threshold;
use crate::job::{Aggregation, Interpolation, WindowJob};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

struct Policy {
    input: u32,
    output: u32,
    layout: Layout,
    threshold: Threshold,
    interpolation: Interpolation,
    aggregation: Aggregation,
}

/// The window `[start, end)` a value goes to, how it arrived there, and where the window probably
/// sits in its deque (`None`: no guess).
struct Placement {
    start: i64,
    end: i64,
    arrival: Arrival,
    hint: Option<usize>,
}

/// Expired windows a reading missed: the first one, and whether it missed every window.
#[derive(Debug, Clone, Copy)]
struct Missed {
    window: (i64, i64),
    entirely: bool,
}

#[derive(Clone, Serialize, Deserialize)]
struct Series {
    asset: u32,
    clock: usize,
    /// Per policy, timestamp and value of the latest reading within its threshold (kept for
    /// `last_value` policies only).
    last_valid: Vec<Option<(i64, f64)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum TimerKind {
    Close,
    Expire,
}

/// A window's due time on its clock. Field order is the firing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Timer {
    at: i64,
    series: u32,
    policy: u16,
    kind: TimerKind,
    start: i64,
}

#[derive(Clone, Serialize, Deserialize)]
struct Clock {
    watermark: i64,
    guard: FutureGuard,
    /// When the earliest timer is due (`i64::MAX`: none). The watermark moves on nearly every
    /// reading; comparing with this spares a look into the queue's buffer each time.
    next_due: i64,
    timers: OrderedQueue<Timer>,
}

impl Clock {
    fn new() -> Clock {
        Clock { watermark: NO_WATERMARK, guard: FutureGuard::NEW, next_due: i64::MAX, timers: OrderedQueue::default() }
    }

    fn push(&mut self, timer: Timer) {
        self.next_due = self.next_due.min(timer.at);
        self.timers.push(timer);
    }

    /// The earliest timer if it is due at watermark `w`, taken out of the queue.
    fn pop_due(&mut self, w: i64) -> Option<Timer> {
        if self.next_due > w {
            return None;
        }
        let timer = self.timers.pop();
        self.next_due = self.timers.peek().map_or(i64::MAX, |t| t.at);
        timer
    }
}

pub struct WindowOperator {
    job: usize,
    model: u32,
    latency: i64,
    emit: EmitMode,
    scope: WatermarkScope,
    max_future_skew: Option<i64>,
    quality: Option<Threshold>,
    policies: Vec<Policy>,
    /// Series id by (input point, asset): `series_of[input][asset]`, `u32::MAX` when absent.
    inputs: Vec<u32>,
    series_of: Vec<Vec<u32>>,
    series: Vec<Series>,
    /// Open windows of series `s` and policy `p` at `s * policies + p` (empty for policies on
    /// other inputs): one dense table, so the newest windows of all series sit close together.
    windows: Vec<Windows>,
    clocks: Vec<Clock>,
    /// Clock of each asset (`asset` scope).
    asset_clock: Vec<u32>,
    pool: BufferPool,
    /// Windows open now, over all series and policies.
    open_windows: u64,
    pub stats: JobStats,
}

const ABSENT: u32 = u32::MAX;

impl WindowOperator {
    pub fn new(
        job: usize,
        model: u32,
        plan: WindowJob,
        names: &mut Names,
        options: EngineOptions,
        stats: JobStats,
    ) -> Self {
        let policies: Vec<Policy> = plan
            .policies
            .iter()
            .map(|p| Policy {
                input: names.points.intern(&p.input),
                output: names.points.intern(&p.output),
                layout: Layout::new(plan.window, p.window_size, plan.timezone, plan.offset),
                threshold: p.threshold,
                interpolation: p.interpolation,
                aggregation: p.aggregation,
            })
            .collect();
        let mut inputs: Vec<u32> = Vec::new();
        for p in &policies {
            if !inputs.contains(&p.input) {
                inputs.push(p.input);
            }
        }
        let clocks = if options.watermark == WatermarkScope::Global { vec![Clock::new()] } else { Vec::new() };
        WindowOperator {
            job,
            model,
            latency: plan.latency,
            emit: options.emit,
            scope: options.watermark,
            max_future_skew: options.max_future_skew.or(plan.max_future_skew),
            quality: plan.quality,
            series_of: vec![Vec::new(); inputs.len()],
            inputs,
            policies,
            series: Vec::new(),
            windows: Vec::new(),
            clocks,
            asset_clock: Vec::new(),
            pool: BufferPool::default(),
            open_windows: 0,
            stats,
        }
    }

    fn series_id(&mut self, input: usize, asset: u32) -> u32 {
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
        self.windows.extend(self.policies.iter().map(|_| Windows::default()));
        self.series.push(Series { asset, clock, last_valid: vec![None; self.policies.len()] });
        self.series_of[input][asset as usize] = id;
        id
    }

    pub fn push(&mut self, r: Reading, out: &mut Emitted) {
        if r.model != NO_MODEL && r.model != self.model {
            return;
        }
        let Some(input) = self.inputs.iter().position(|&p| p == r.point) else { return };
        if self.quality.is_some_and(|q| !q.contains(f64::from(r.quality))) {
            self.stats.quality_filtered += 1;
            return;
        }
        self.stats.rows_read += 1;
        let sid = self.series_id(input, r.asset);
        let clock = self.series[sid as usize].clock;
        let w = self.clocks[clock].watermark;
        // One late row per reading and job: dropped when a policy left it out entirely (with that
        // policy's window), else partially late when some sliding windows had expired.
        let mut missed: Option<Missed> = None;
        for pi in 0..self.policies.len() {
            if self.policies[pi].input == r.point
                && let Some(m) = self.accept(sid, pi, r, w, out)
                && missed.is_none_or(|first| m.entirely && !first.entirely)
            {
                missed = Some(m);
            }
        }
        if let Some(Missed { window: (window_start, window_end), entirely }) = missed {
            self.stats.late_dropped += u64::from(entirely);
            self.stats.partially_late += u64::from(!entirely);
            let reason = if entirely { DropReason::LateBeyondLateness } else { DropReason::PartiallyLate };
            out.dropped.push(Dropped { job: self.job, reading: r, reason, window_start, window_end, watermark: w });
        }
        if !missed.is_some_and(|m| m.entirely) {
            self.stats.kept += 1;
        }
        let (advanced, skew) = self.clocks[clock].guard.advance(w, r.ts, self.max_future_skew);
        self.stats.count_skew(skew);
        if advanced > w {
            self.clocks[clock].watermark = advanced;
            self.stats.final_watermark = self.stats.final_watermark.max(advanced);
            self.fire(clock, advanced, out);
        }
    }

    /// Applies one reading to one policy, given the watermark before it arrived, to each of its
    /// windows that has not expired. Returns the first expired window it missed, if any, and
    /// whether it missed all of them.
    fn accept(&mut self, sid: u32, pi: usize, r: Reading, w: i64, out: &mut Emitted) -> Option<Missed> {
        let value = self.valid_value(sid, pi, r)?;
        // Readings arrive mostly in order, so the usual one belongs, on time, to the newest window
        // of a tumbling layout: it is added there at once, with neither a division nor a search.
        if let Some(size) = self.policies[pi].layout.fixed_tumbling()
            && let Some(newest) = self.windows[sid as usize * self.policies.len() + pi].newest_mut()
            && r.ts.checked_sub(newest.start).is_some_and(|d| (0..size).contains(&d))
            && watermark::classify(newest.start + size, w, self.latency) == Arrival::OnTime
        {
            newest.acc.add(r.ts, value);
            self.stats.policies[pi].valid += 1;
            return None;
        }
        let (mut added, mut dropped, mut late) = (0u64, 0u64, false);
        let mut first_missed = None;
        // A reading's windows are consecutive in the deque: each search starts where the last ended.
        let mut next = None;
        for j in self.policies[pi].layout.windows_of(r.ts) {
            let Some((start, end)) = self.policies[pi].layout.window(j) else { continue };
            match watermark::classify(end, w, self.latency) {
                Arrival::LateBeyond => {
                    dropped += 1;
                    first_missed.get_or_insert((start, end));
                }
                arrival => {
                    added += 1;
                    late |= arrival == Arrival::LateWithin;
                    next =
                        Some(self.add(sid, pi, Placement { start, end, arrival, hint: next }, (r.ts, value), out) + 1);
                }
            }
        }
        let stats = &mut self.stats.policies[pi];
        if added == 0 {
            stats.late_dropped += 1;
            return first_missed.map(|window| Missed { window, entirely: true });
        }
        stats.valid += 1;
        stats.late_accepted += u64::from(late);
        if dropped > 0 {
            stats.partially_late += 1;
            stats.windows_missed += dropped;
        }
        first_missed.map(|window| Missed { window, entirely: false })
    }

    /// The value a reading brings to a policy: its own within the threshold; outside it, under
    /// `last_value`, the latest valid value of the series if that is not later than the reading.
    fn valid_value(&mut self, sid: u32, pi: usize, r: Reading) -> Option<f64> {
        let policy = &self.policies[pi];
        let stats = &mut self.stats.policies[pi];
        let register = &mut self.series[sid as usize].last_valid[pi];
        stats.read += 1;
        if policy.threshold.contains(r.value) {
            if policy.interpolation == Interpolation::LastValue && register.is_none_or(|(ts, _)| r.ts >= ts) {
                *register = Some((r.ts, r.value));
            }
            return Some(r.value);
        }
        stats.out_of_threshold += 1;
        match (policy.interpolation, *register) {
            (Interpolation::LastValue, Some((ts, v))) if ts <= r.ts => {
                stats.interpolated += 1;
                Some(v)
            }
            _ => None,
        }
    }

    /// Adds a value stamped `ts` to a window of a series and policy, opening the window if needed;
    /// in `updates` mode a late change is written at once. Returns the window's place in the deque.
    fn add(&mut self, sid: u32, pi: usize, place: Placement, (ts, value): (i64, f64), out: &mut Emitted) -> usize {
        let Placement { start, end, arrival, hint } = place;
        let aggregation = self.policies[pi].aggregation;
        let series = &self.series[sid as usize];
        let windows = &mut self.windows[sid as usize * self.policies.len() + pi];
        let index = match windows.locate(start, hint) {
            Ok(i) => {
                if let Some(w) = windows.get_mut(i) {
                    w.acc.add(ts, value);
                }
                i
            }
            Err(i) => {
                let acc = Accumulator::start(aggregation, ts, value, &mut self.pool);
                // Windows of a deque expire in start order, so only the front one needs an expiry
                // timer: the next front's is queued when it expires. The queues stay a few timers
                // per series instead of one per open window.
                let front = i == 0;
                windows.insert(i, OpenWindow::new(start, acc, front));
                self.open_windows += 1;
                self.stats.peak_open_windows = self.stats.peak_open_windows.max(self.open_windows);
                let clock = &mut self.clocks[series.clock];
                let base =
                    Timer { at: end + self.latency, series: sid, policy: pi as u16, kind: TimerKind::Expire, start };
                if front {
                    clock.push(base);
                }
                // A window opened by a late reading is already closed: its first row is written below.
                if self.emit == EmitMode::Updates && arrival == Arrival::OnTime {
                    clock.push(Timer { at: end, kind: TimerKind::Close, ..base });
                }
                i
            }
        };
        if self.emit == EmitMode::Updates
            && arrival == Arrival::LateWithin
            && let Some(window) = windows.get_mut(index)
        {
            let value = window.acc.value();
            if window.last_written.as_ref() != Some(&value) && is_finite(&value) {
                let (asset, revision) = (series.asset, window.revisions);
                window.revisions += 1;
                window.last_written = Some(value.clone());
                self.stats.policies[pi].rows_written += 1;
                self.stats.rows_written += 1;
                let p = &self.policies[pi];
                out.points.push(Point {
                    job: self.job,
                    asset,
                    point: p.output,
                    model: self.model,
                    ts: start,
                    value,
                    emit: Emit::Late,
                    revision,
                });
            }
        }
        index
    }

    /// Fires the timers of `clock` due at watermark `w`, in order. Inlined: with a second caller
    /// (`advance_idle`) the compiler stopped inlining it into the per-reading path, which cost
    /// about 8 instructions per reading there.
    #[inline(always)]
    fn fire(&mut self, clock: usize, w: i64, out: &mut Emitted) {
        while let Some(t) = self.clocks[clock].pop_due(w) {
            if let Some(next) = self.run_timer(t, out) {
                self.clocks[clock].push(next);
            }
        }
    }

    /// Runs one timer; after an expiry, returns the expiry timer of the deque's new front window
    /// when it has none yet. That timer is not earlier than `t`, so firing in order continues.
    fn run_timer(&mut self, t: Timer, out: &mut Emitted) -> Option<Timer> {
        let pi = t.policy as usize;
        let series = &self.series[t.series as usize];
        let windows = &mut self.windows[t.series as usize * self.policies.len() + pi];
        // An expiring window is the front one, a closing one usually near the back.
        let Ok(index) = windows.locate(t.start, Some(0)) else { return None };
        let mut next = None;
        // In `updates` mode the expiry row is not written: it hands the final value downstream.
        let (emit, revision, value) = match t.kind {
            TimerKind::Expire => {
                let window = windows.remove(index)?;
                self.open_windows -= 1;
                if let Some(front) = windows.front_mut()
                    && !front.timed
                {
                    front.timed = true;
                    let at = self.policies[pi].layout.end_of(front.start) + self.latency;
                    next = Some(Timer { at, start: front.start, ..t });
                }
                let row = (window.revisions, window.acc.value());
                window.acc.recycle(&mut self.pool);
                if !is_finite(&row.1) {
                    self.stats.policies[pi].non_finite += 1;
                    return next;
                }
                (Emit::Final, row.0, row.1)
            }
            TimerKind::Close => {
                let w = windows.get_mut(index)?;
                let value = w.acc.value();
                if !is_finite(&value) {
                    return None;
                }
                let revision = w.revisions;
                w.revisions += 1;
                w.last_written = Some(value.clone());
                (Emit::OnTime, revision, value)
            }
        };
        let written = !(t.kind == TimerKind::Expire && self.emit == EmitMode::Updates);
        if written {
            self.stats.policies[pi].rows_written += 1;
            self.stats.rows_written += 1;
        }
        let revision = if written { revision } else { 0 };
        let policy = &self.policies[pi];
        out.points.push(Point {
            job: self.job,
            asset: series.asset,
            point: policy.output,
            model: self.model,
            ts: t.start,
            value,
            emit,
            revision,
        });
        next
    }

    /// Moves the watermark of the clock of series (`asset`, `point`) forward by `by` ms, firing
    /// what falls due: `--idle-timeout`'s advance for a series that has gone silent, decided at the
    /// edge from wall-clock time and handed in as plain data.
    pub fn advance_idle(&mut self, asset: u32, point: u32, by: i64, out: &mut Emitted) {
        let Some(input) = self.inputs.iter().position(|&p| p == point) else { return };
        let Some(&sid) = self.series_of[input].get(asset as usize) else { return };
        if sid == ABSENT || by <= 0 {
            return;
        }
        let clock = self.series[sid as usize].clock;
        let w = self.clocks[clock].watermark;
        if w == NO_WATERMARK {
            return;
        }
        let advanced = w.saturating_add(by);
        self.clocks[clock].watermark = advanced;
        self.stats.final_watermark = self.stats.final_watermark.max(advanced);
        self.fire(clock, advanced, out);
    }

    /// Whether the job has a `quality` condition.
    pub fn filters_quality(&self) -> bool {
        self.quality.is_some()
    }

    /// Windows open now, over all series and policies.
    pub fn open_windows(&self) -> u64 {
        self.open_windows
    }

    /// End of input: every remaining timer fires, across all clocks, in (time, series, policy) order.
    pub fn finish(&mut self, out: &mut Emitted) {
        // A heap, not a sorted deque: each expiry adds a timer anywhere among every series' fronts.
        let mut all = BinaryHeap::new();
        for clock in &mut self.clocks {
            clock.next_due = i64::MAX;
            all.extend(std::mem::take(&mut clock.timers).into_sorted_vec().into_iter().map(Reverse));
        }
        while let Some(Reverse(t)) = all.pop() {
            if let Some(next) = self.run_timer(t, out) {
                all.push(Reverse(next));
            }
        }
    }
}

/// Whether a window's value can be written: a sum or average of finite readings can still
/// overflow the float range, and such a window writes no row (counted per policy) rather than a
/// number that is not the sum.
fn is_finite(value: &Value) -> bool {
    !matches!(value, Value::Number(v) if !v.is_finite())
}

/// What a window operator carries from one run to the next (see [`crate::replay::state`]): every field
/// that changes as readings arrive. The plan's part (policies, layout, latency) is not saved: the
/// resumed run builds it again from job files whose fingerprint matched.
#[derive(Clone, Serialize, Deserialize)]
pub struct WindowState {
    series_of: Vec<Vec<u32>>,
    series: Vec<Series>,
    windows: Vec<Windows>,
    clocks: Vec<Clock>,
    asset_clock: Vec<u32>,
    open_windows: u64,
    stats: JobStats,
}

impl WindowState {
    /// Series (asset x input point) seen so far.
    pub fn series(&self) -> usize {
        self.series.len()
    }

    /// Windows open, over all series and policies.
    pub fn open_windows(&self) -> u64 {
        self.open_windows
    }

    /// The lowest and highest watermark over the clocks that have one.
    pub fn watermarks(&self) -> Option<(i64, i64)> {
        let marks = self.clocks.iter().map(|c| c.watermark).filter(|&w| w != NO_WATERMARK);
        marks.fold(None, |range, w| Some(range.map_or((w, w), |(lo, hi): (i64, i64)| (lo.min(w), hi.max(w)))))
    }

    pub fn stats(&self) -> &JobStats {
        &self.stats
    }
}

impl WindowOperator {
    pub fn save(&self) -> WindowState {
        WindowState {
            series_of: self.series_of.clone(),
            series: self.series.clone(),
            windows: self.windows.clone(),
            clocks: self.clocks.clone(),
            asset_clock: self.asset_clock.clone(),
            open_windows: self.open_windows,
            stats: self.stats.clone(),
        }
    }

    /// Puts a saved state back, keeping this run's job name and file. Refuses a state whose shape
    /// does not fit the plan or whose asset ids pass the table's `assets` names: no index is out of range.
    pub fn restore(&mut self, state: WindowState, assets: usize) -> Result<(), String> {
        let policies = self.policies.len();
        let series = state.series.len();
        let clocks = state.clocks.len();
        let within = |ids: &[u32], bound: usize| ids.iter().all(|&i| i == ABSENT || (i as usize) < bound);
        let timer_fits = |t: &Timer| (t.series as usize) < series && (t.policy as usize) < policies;
        let fits = state.series_of.len() == self.inputs.len()
            && state.series_of.iter().all(|by_asset| by_asset.len() <= assets && within(by_asset, series))
            && state.asset_clock.len() <= assets
            && within(&state.asset_clock, clocks)
            && state.windows.len() == series * policies
            && state.series.iter().all(|s| s.clock < clocks && s.last_valid.len() == policies)
            && state.series.iter().all(|s| (s.asset as usize) < assets)
            && state.clocks.iter().flat_map(|c| c.timers.iter()).all(timer_fits)
            && state.stats.policies.len() == policies
            && (self.scope != WatermarkScope::Global || clocks == 1);
        if !fits {
            return Err(format!("the saved windows of job `{}` do not fit its plan", self.stats.name));
        }
        let (name, file) = (std::mem::take(&mut self.stats.name), std::mem::take(&mut self.stats.file));
        self.series_of = state.series_of;
        self.series = state.series;
        self.windows = state.windows;
        self.clocks = state.clocks;
        self.asset_clock = state.asset_clock;
        self.open_windows = state.open_windows;
        self.stats = JobStats { name, file, ..state.stats };
        Ok(())
    }
}

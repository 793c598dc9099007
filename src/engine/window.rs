//! The Time Window Aggregation operator: tumbling epoch-aligned windows per series and policy,
//! with a watermark per scope (series, asset or job), allowed lateness and both emit modes.
//!
//! Open windows of a series and policy sit in a deque ordered by start. Each window registers
//! timers on its clock (close at `end` for `updates`, expiry at `end + latency`); a clock's timers
//! fire in order of (time, series, policy) as its watermark passes them, which is also the order
//! rows are written in.

use super::accumulator::Accumulator;
use super::stats::JobStats;
use super::watermark::{self, Arrival, NO_WATERMARK};
use super::{Dropped, Emit, EmitMode, Emitted, EngineOptions, NO_MODEL, Point, Reading, Value, WatermarkScope};
use crate::intern::Names;
use crate::job::{Aggregation, WindowJob};
use crate::threshold::Threshold;
use crate::time::window_start;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

struct Policy {
    input: u32,
    output: u32,
    size: i64,
    threshold: Threshold,
    aggregation: Aggregation,
}

struct OpenWindow {
    start: i64,
    acc: Accumulator,
    /// Rows written for this window so far (`updates` mode).
    revisions: u32,
    /// The value last written (`updates` mode), to write again only on change.
    last_written: Option<Value>,
}

struct Series {
    asset: u32,
    clock: usize,
    /// Open windows per policy of the job (empty for policies on other inputs), by start.
    windows: Vec<VecDeque<OpenWindow>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Close,
    Expire,
}

/// A window's due time on its clock. Field order is the firing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: i64,
    series: u32,
    policy: u16,
    kind: TimerKind,
    start: i64,
}

struct Clock {
    watermark: i64,
    timers: BinaryHeap<Reverse<Timer>>,
}

impl Clock {
    fn new() -> Clock {
        Clock { watermark: NO_WATERMARK, timers: BinaryHeap::new() }
    }
}

pub struct WindowOperator {
    job: usize,
    model: u32,
    latency: i64,
    emit: EmitMode,
    scope: WatermarkScope,
    max_future_skew: Option<i64>,
    policies: Vec<Policy>,
    /// Series id by (input point, asset): `series_of[input][asset]`, `u32::MAX` when absent.
    inputs: Vec<u32>,
    series_of: Vec<Vec<u32>>,
    series: Vec<Series>,
    clocks: Vec<Clock>,
    /// Clock of each asset (`asset` scope).
    asset_clock: Vec<u32>,
    fired: Vec<Timer>,
    /// Windows open now, over all series and policies.
    open_windows: u64,
    pub stats: JobStats,
}

const ABSENT: u32 = u32::MAX;

impl WindowOperator {
    pub fn new(job: usize, model: u32, plan: WindowJob, names: &mut Names, options: EngineOptions, stats: JobStats) -> Self {
        let policies: Vec<Policy> = plan
            .policies
            .iter()
            .map(|p| Policy {
                input: names.points.intern(&p.input),
                output: names.points.intern(&p.output),
                size: p.window_size,
                threshold: p.threshold,
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
            series_of: vec![Vec::new(); inputs.len()],
            inputs,
            policies,
            series: Vec::new(),
            clocks,
            asset_clock: Vec::new(),
            fired: Vec::new(),
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
        self.series.push(Series { asset, clock, windows: self.policies.iter().map(|_| VecDeque::new()).collect() });
        self.series_of[input][asset as usize] = id;
        id
    }

    pub fn push(&mut self, r: Reading, out: &mut Emitted) {
        if r.model != NO_MODEL && r.model != self.model {
            return;
        }
        let Some(input) = self.inputs.iter().position(|&p| p == r.point) else { return };
        self.stats.rows_read += 1;
        let sid = self.series_id(input, r.asset);
        let clock = self.series[sid as usize].clock;
        let w = self.clocks[clock].watermark;
        let mut dropped_from = None;
        for pi in 0..self.policies.len() {
            if self.policies[pi].input == r.point {
                if let Some(window) = self.accept(sid, pi, r, w, out) {
                    dropped_from.get_or_insert(window);
                }
            }
        }
        // One late row per reading and job, with the window of the first policy that dropped it.
        if let Some((window_start, window_end)) = dropped_from {
            self.stats.late_dropped += 1;
            out.dropped.push(Dropped { job: self.job, reading: r, window_start, window_end, watermark: w });
        } else {
            self.stats.kept += 1;
        }
        let (advanced, skewed) = watermark::advance(w, r.ts, self.max_future_skew);
        if skewed {
            self.stats.future_skewed += 1;
        }
        if advanced > w {
            self.clocks[clock].watermark = advanced;
            self.stats.final_watermark = self.stats.final_watermark.max(advanced);
            self.fire(clock, advanced, out);
        }
    }

    /// Applies one reading to one policy, given the watermark before it arrived. Returns the
    /// window `(start, end)` when the policy dropped the reading as late.
    fn accept(&mut self, sid: u32, pi: usize, r: Reading, w: i64, out: &mut Emitted) -> Option<(i64, i64)> {
        let policy = &self.policies[pi];
        let stats = &mut self.stats.policies[pi];
        stats.read += 1;
        if !policy.threshold.contains(r.value) {
            stats.out_of_threshold += 1;
            return None;
        }
        let start = window_start(r.ts, policy.size);
        let end = start + policy.size;
        let arrival = watermark::classify(end, w, self.latency);
        if arrival == Arrival::LateBeyond {
            stats.late_dropped += 1;
            return Some((start, end));
        }
        stats.valid += 1;
        if arrival == Arrival::LateWithin {
            stats.late_accepted += 1;
        }
        let aggregation = policy.aggregation;
        let series = &mut self.series[sid as usize];
        let windows = &mut series.windows[pi];
        let index = match windows.binary_search_by_key(&start, |w| w.start) {
            Ok(i) => {
                windows[i].acc.add(r.value);
                i
            }
            Err(i) => {
                windows.insert(i, OpenWindow { start, acc: Accumulator::start(aggregation, r.value), revisions: 0, last_written: None });
                self.open_windows += 1;
                self.stats.peak_open_windows = self.stats.peak_open_windows.max(self.open_windows);
                let timers = &mut self.clocks[series.clock].timers;
                let base = Timer { at: end + self.latency, series: sid, policy: pi as u16, kind: TimerKind::Expire, start };
                timers.push(Reverse(base));
                // A window opened by a late reading is already closed: its first row is written below.
                if self.emit == EmitMode::Updates && arrival == Arrival::OnTime {
                    timers.push(Reverse(Timer { at: end, kind: TimerKind::Close, ..base }));
                }
                i
            }
        };
        if self.emit == EmitMode::Updates && arrival == Arrival::LateWithin {
            let window = &mut windows[index];
            let value = window.acc.value();
            if window.last_written.as_ref() != Some(&value) && is_finite(&value) {
                let (asset, revision) = (series.asset, window.revisions);
                window.revisions += 1;
                window.last_written = Some(value.clone());
                self.stats.policies[pi].rows_written += 1;
                self.stats.rows_written += 1;
                let p = &self.policies[pi];
                out.points.push(Point { job: self.job, asset, point: p.output, model: self.model, ts: start, value, emit: Emit::Late, revision });
            }
        }
        None
    }

    /// Fires the timers of `clock` due at watermark `w`, in order.
    fn fire(&mut self, clock: usize, w: i64, out: &mut Emitted) {
        let timers = &mut self.clocks[clock].timers;
        while let Some(Reverse(t)) = timers.peek().copied() {
            if t.at > w {
                break;
            }
            timers.pop();
            self.fired.push(t);
        }
        self.run_fired(out);
    }

    fn run_fired(&mut self, out: &mut Emitted) {
        let mut fired = std::mem::take(&mut self.fired);
        for t in fired.drain(..) {
            self.run_timer(t, out);
        }
        self.fired = fired;
    }

    fn run_timer(&mut self, t: Timer, out: &mut Emitted) {
        let pi = t.policy as usize;
        let series = &mut self.series[t.series as usize];
        let windows = &mut series.windows[pi];
        let Ok(index) = windows.binary_search_by_key(&t.start, |w| w.start) else { return };
        // In `updates` mode the expiry row is not written: it hands the final value downstream.
        let (emit, written) = match (t.kind, self.emit) {
            (TimerKind::Close, _) => (Emit::OnTime, true),
            (TimerKind::Expire, EmitMode::Final) => (Emit::Final, true),
            (TimerKind::Expire, EmitMode::Updates) => (Emit::Final, false),
        };
        let (value, revision) = if t.kind == TimerKind::Expire {
            // Windows of one series and policy expire in start order, so this is the front.
            let Some(window) = windows.remove(index) else { return };
            self.open_windows -= 1;
            let value = window.acc.value();
            if !is_finite(&value) {
                self.stats.policies[pi].non_finite += 1;
                return;
            }
            (value, window.revisions)
        } else {
            let window = &mut windows[index];
            let value = window.acc.value();
            if !is_finite(&value) {
                return;
            }
            let revision = window.revisions;
            window.revisions += 1;
            window.last_written = Some(value.clone());
            (value, revision)
        };
        if written {
            self.stats.policies[pi].rows_written += 1;
            self.stats.rows_written += 1;
        }
        out.points.push(Point {
            job: self.job,
            asset: series.asset,
            point: self.policies[pi].output,
            model: self.model,
            ts: t.start,
            value,
            emit,
            revision: if emit == Emit::Final { 0 } else { revision },
        });
    }

    /// Windows open now, over all series and policies.
    pub fn open_windows(&self) -> u64 {
        self.open_windows
    }

    /// End of input: every remaining timer fires, across all clocks, in (time, series, policy) order.
    pub fn finish(&mut self, out: &mut Emitted) {
        let mut all: Vec<Timer> = self.clocks.iter_mut().flat_map(|c| c.timers.drain().map(|Reverse(t)| t)).collect();
        all.sort_unstable();
        self.fired = all;
        self.run_fired(out);
    }
}

/// Whether a window's value can be written: a sum or average of finite readings can still
/// overflow the float range, and such a window writes no row (counted per policy) rather than a
/// number that is not the sum.
fn is_finite(value: &Value) -> bool {
    !matches!(value, Value::Number(v) if !v.is_finite())
}

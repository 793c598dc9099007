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
use super::{Dropped, Emit, EmitMode, Emitted, EngineOptions, NO_MODEL, Point, Reading, WatermarkScope};
use crate::intern::Names;
use crate::job::{Aggregation, WindowJob};
use crate::threshold::Threshold;
use crate::time::window_start;
use super::queue::{OrderedQueue, reserve_gently};
use std::collections::VecDeque;

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
    last_written: Option<super::Value>,
}

struct Series {
    asset: u32,
    clock: usize,
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
    /// When the earliest timer is due (`i64::MAX` when none): every reading checks it, and this
    /// way without touching the queue.
    next_due: i64,
    timers: OrderedQueue<Timer>,
}

impl Clock {
    fn new() -> Clock {
        Clock { watermark: NO_WATERMARK, next_due: i64::MAX, timers: OrderedQueue::default() }
    }

    fn add(&mut self, timer: Timer) {
        self.next_due = self.next_due.min(timer.at);
        self.timers.push(timer);
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
    /// Open windows of series `s` and policy `p` at `s * policies + p` (empty for policies on other
    /// inputs), by start. One flat table keeps a series' deques side by side in memory.
    windows: Vec<VecDeque<OpenWindow>>,
    clocks: Vec<Clock>,
    /// Clock of each asset (`asset` scope).
    asset_clock: Vec<u32>,
    fired: Vec<Timer>,
    /// At end of input: the timers not fired yet, last first.
    finishing: Option<Vec<Timer>>,
    pub stats: JobStats,
}

/// Timers fired per [`WindowOperator::finish`] call.
const FINISH_BATCH: usize = 4096;

const ABSENT: u32 = u32::MAX;

/// The index of the window starting at `start` in `windows` (ordered by start), or where it would
/// go. Readings arrive mostly in order, so their window is one of the newest, and expiry takes the
/// oldest: those are tried before a binary search, which on long deques misses the cache at
/// every probe.
#[inline]
fn find_window(windows: &VecDeque<OpenWindow>, start: i64) -> Result<usize, usize> {
    let len = windows.len();
    for i in (len.saturating_sub(4)..len).rev() {
        match windows[i].start.cmp(&start) {
            std::cmp::Ordering::Equal => return Ok(i),
            std::cmp::Ordering::Less => return Err(i + 1),
            std::cmp::Ordering::Greater => {}
        }
    }
    match windows.front() {
        Some(oldest) if oldest.start == start => Ok(0),
        _ => windows.binary_search_by_key(&start, |w| w.start),
    }
}

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
            windows: Vec::new(),
            clocks,
            asset_clock: Vec::new(),
            fired: Vec::new(),
            finishing: None,
            stats,
        }
    }

    #[inline]
    fn series_id(&mut self, input: usize, asset: u32) -> u32 {
        match self.series_of[input].get(asset as usize) {
            Some(&id) if id != ABSENT => id,
            _ => self.new_series(input, asset),
        }
    }

    fn new_series(&mut self, input: usize, asset: u32) -> u32 {
        let table = &mut self.series_of[input];
        if table.len() <= asset as usize {
            table.resize(asset as usize + 1, ABSENT);
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
        self.series.push(Series { asset, clock });
        self.windows.resize_with(self.windows.len() + self.policies.len(), VecDeque::new);
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
        for pi in 0..self.policies.len() {
            if self.policies[pi].input == r.point {
                self.accept(sid, pi, r, w, out);
            }
        }
        let (advanced, skewed) = watermark::advance(w, r.ts, self.max_future_skew);
        if skewed {
            self.stats.future_skewed += 1;
        }
        if advanced > w {
            self.clocks[clock].watermark = advanced;
            self.stats.final_watermark = self.stats.final_watermark.max(advanced);
            if advanced >= self.clocks[clock].next_due {
                self.fire(clock, advanced, out);
            }
        }
    }

    /// Applies one reading to one policy, given the watermark before it arrived.
    #[inline(always)]
    fn accept(&mut self, sid: u32, pi: usize, r: Reading, w: i64, out: &mut Emitted) {
        let policy = &self.policies[pi];
        let stats = &mut self.stats.policies[pi];
        stats.read += 1;
        if !policy.threshold.contains(r.value) {
            stats.out_of_threshold += 1;
            return;
        }
        // Readings arrive mostly in order, so the usual reading belongs to the newest window, on
        // time: it is added there at once, with neither a division nor a search. The rest take
        // the general path, kept out of line so this one stays small.
        if let Some(newest) = self.windows[sid as usize * self.policies.len() + pi].back_mut() {
            if r.ts >= newest.start && r.ts - newest.start < policy.size && w < newest.start + policy.size {
                stats.valid += 1;
                newest.acc.add(r.value);
                return;
            }
        }
        self.accept_in_general(sid, pi, r, w, out);
    }

    #[inline(never)]
    fn accept_in_general(&mut self, sid: u32, pi: usize, r: Reading, w: i64, out: &mut Emitted) {
        let policy = &self.policies[pi];
        let stats = &mut self.stats.policies[pi];
        let windows = &mut self.windows[sid as usize * self.policies.len() + pi];
        let start = match windows.back() {
            Some(newest) if r.ts >= newest.start && r.ts - newest.start < policy.size => newest.start,
            _ => window_start(r.ts, policy.size),
        };
        let end = start + policy.size;
        let arrival = watermark::classify(end, w, self.latency);
        if arrival == Arrival::LateBeyond {
            stats.late_dropped += 1;
            out.dropped.push(Dropped { job: self.job, reading: r, window_start: start, window_end: end, watermark: w });
            return;
        }
        stats.valid += 1;
        if arrival == Arrival::LateWithin {
            stats.late_accepted += 1;
        }
        let aggregation = policy.aggregation;
        let series = &self.series[sid as usize];
        let index = match find_window(windows, start) {
            Ok(i) => {
                windows[i].acc.add(r.value);
                i
            }
            Err(i) => {
                reserve_gently(windows);
                windows.insert(i, OpenWindow { start, acc: Accumulator::start(aggregation, r.value), revisions: 0, last_written: None });
                let clock = &mut self.clocks[series.clock];
                let base = Timer { at: end + self.latency, series: sid, policy: pi as u16, kind: TimerKind::Expire, start };
                clock.add(base);
                // A window opened by a late reading is already closed: its first row is written below.
                if self.emit == EmitMode::Updates && arrival == Arrival::OnTime {
                    clock.add(Timer { at: end, kind: TimerKind::Close, ..base });
                }
                i
            }
        };
        if self.emit == EmitMode::Updates && arrival == Arrival::LateWithin {
            let window = &mut windows[index];
            let value = window.acc.value();
            if window.last_written.as_ref() != Some(&value) {
                let (asset, revision) = (series.asset, window.revisions);
                window.revisions += 1;
                window.last_written = Some(value.clone());
                self.stats.policies[pi].rows_written += 1;
                self.stats.rows_written += 1;
                let p = &self.policies[pi];
                out.points.push(Point { job: self.job, asset, point: p.output, model: self.model, ts: start, value, emit: Emit::Late, revision });
            }
        }
    }

    /// Fires the timers of `clock` due at watermark `w`, in order.
    fn fire(&mut self, clock: usize, w: i64, out: &mut Emitted) {
        let clock = &mut self.clocks[clock];
        clock.next_due = i64::MAX;
        while let Some(&t) = clock.timers.peek() {
            if t.at > w {
                clock.next_due = t.at;
                break;
            }
            clock.timers.pop();
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
        let series = &self.series[t.series as usize];
        let windows = &mut self.windows[t.series as usize * self.policies.len() + pi];
        let Ok(index) = find_window(windows, t.start) else { return };
        let emit = match (t.kind, self.emit) {
            (TimerKind::Close, _) => Some(Emit::OnTime),
            (TimerKind::Expire, EmitMode::Final) => Some(Emit::Final),
            (TimerKind::Expire, EmitMode::Updates) => None,
        };
        let window = if t.kind == TimerKind::Expire {
            // Windows of one series and policy expire in start order, so this is the front.
            windows.remove(index).map(|w| (w, true))
        } else {
            None
        };
        let (revision, value) = match (&window, emit) {
            (Some((w, _)), Some(_)) => (w.revisions, w.acc.value()),
            (None, Some(_)) => {
                let w = &mut windows[index];
                let value = w.acc.value();
                let revision = w.revisions;
                w.revisions += 1;
                w.last_written = Some(value.clone());
                (revision, value)
            }
            (_, None) => return,
        };
        let policy = &self.policies[pi];
        self.stats.policies[pi].rows_written += 1;
        self.stats.rows_written += 1;
        out.points.push(Point {
            job: self.job,
            asset: series.asset,
            point: policy.output,
            model: self.model,
            ts: t.start,
            value,
            emit: emit.unwrap_or(Emit::Final),
            revision,
        });
    }

    /// End of input: every remaining timer fires, across all clocks, in (time, series, policy)
    /// order. A call fires at most [`FINISH_BATCH`] of them, so the rows in flight stay few; true
    /// while some remain.
    pub fn finish(&mut self, out: &mut Emitted) -> bool {
        let remaining = self.finishing.get_or_insert_with(|| {
            // The clocks' queues are freed as their timers move here, so memory does not peak now.
            let mut all: Vec<Timer> = self.clocks.iter_mut().flat_map(|c| std::mem::take(&mut c.timers).into_sorted_vec()).collect();
            all.sort_unstable_by(|a, b| b.cmp(a));
            all
        });
        let batch = remaining.len().saturating_sub(FINISH_BATCH);
        self.fired.extend(remaining.drain(batch..).rev());
        let more = !remaining.is_empty();
        self.run_fired(out);
        more
    }
}

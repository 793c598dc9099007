//! Window accumulators, fused. The policies of one *group* (same input, threshold, interpolation
//! and window: see [`super::window`]) share one slot per window, and the slot keeps once each
//! *component* their aggregations are made of: `max` and `range` share the maximum, `avg` and
//! `cnt` the count, `sum` and `avg` the exact sum. A slot is a run of 8-byte cells:
//!
//! | cell | holds |
//! |---|---|
//! | 0 | the window number (see [`super::layout`]) |
//! | 1 | valid values added (low 48 bits) and the slot's flags (high bits) |
//! | 2.. | the components the group needs, each in a fixed place: maximum, minimum (1 cell), exact sum (2), first and last (timestamp and value, 2 each), `delta`'s readings (1: an index into [`Samples`]) |
//! | then | in `updates` mode, per policy: revisions written and the value last written (2) |
//!
//! The seed's max/min group is 4 cells, 32 bytes a window. Every component but `delta`'s is a few
//! numbers; `delta` keeps the window's readings, because where a counter reset lies depends on each
//! reading's neighbours in event order, and a late reading may land between any two of them. The
//! order statistics, `integral` and `twa` read the same list; `delta` under a `boundary`,
//! `integral` and `twa` also read the readings on either side of the window ([`Edges`]), which
//! the window operator supplies.

use super::Value;
use super::register::{LeftOut, Span, books, delta, integrate, percentile, sorted_values, stddev};
use crate::job::{Aggregation, Boundary, PolicyRules};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;

pub use super::exact::{ExactSum, Sample};

/// The reading lists of the open `delta` windows, addressed by index from their slots; lists of
/// expired windows are kept for new ones, so a run stops allocating once its windows have grown
/// to their usual size.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Samples {
    lists: Vec<Vec<Sample>>,
    free: Vec<u32>,
}

impl Samples {
    fn take(&mut self) -> u64 {
        match self.free.pop() {
            Some(i) => u64::from(i),
            None => {
                self.lists.push(Vec::new());
                (self.lists.len() - 1) as u64
            }
        }
    }

    fn list(&self, i: u64) -> &[Sample] {
        self.lists.get(i as usize).map_or(&[], Vec::as_slice)
    }

    fn list_mut(&mut self, i: u64) -> Option<&mut Vec<Sample>> {
        self.lists.get_mut(i as usize)
    }

    fn give_back(&mut self, i: u64) {
        if let Some(list) = self.lists.get_mut(i as usize) {
            list.clear();
            self.free.push(i as u32);
        }
    }

    /// Whether `index` names a list in use: a restored state is checked with it.
    pub(crate) fn holds(&self, index: u64) -> bool {
        (index as usize) < self.lists.len() && !self.free.contains(&(index as u32))
    }
}

/// Which minimum a window fell short of (see [`Fused::below_minimum`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Minimum {
    Count,
    Coverage,
    /// `integral` or `twa`: no interval between readings was integrated in the window.
    Integrated,
}

/// A window's bounds and the series' readings on either side of it (the last before it, the
/// first after it, once known): what `delta` under a `boundary`, `integral` and `twa` read
/// beyond the window's own readings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edges {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) before: Option<Sample>,
    pub(crate) after: Option<Sample>,
}

impl Edges {
    fn span<'a>(&self, samples: &'a [Sample]) -> Span<'a> {
        Span { start: self.start, end: self.end, before: self.before, samples, after: self.after }
    }

    fn length(&self) -> i64 {
        self.end - self.start
    }
}

/// Cell 1: the count of valid values is in the low bits, flags above.
const COUNT_MASK: u64 = (1 << 48) - 1;
/// The slot's expiry timer is queued (see the window operator's `run_timer`).
pub(crate) const TIMED: u64 = 1 << 63;
/// The window has expired but waits for the series' next reading to be final (a group that
/// [`Fused::defers`]).
pub(crate) const EXPIRED: u64 = 1 << 62;
/// In `updates` mode, a policy's first cell: a row was written (the revisions are below).
const WRITTEN: u64 = 1 << 63;

/// Where a group's components sit in its slots (`0`: the group has no such component).
#[derive(Debug, Clone)]
pub(crate) struct Fused {
    stride: usize,
    max: usize,
    min: usize,
    sum: usize,
    first: usize,
    last: usize,
    delta: usize,
    /// The aggregation of each policy of the group, in the job's order, and its register rules.
    outputs: Vec<Aggregation>,
    rules: Vec<PolicyRules>,
    /// The values of a window sorted, for the order statistics (reused).
    sorted: RefCell<Vec<f64>>,
    /// The first `updates`-mode cell (`0`: `final` mode).
    written: usize,
    /// Max and min, in cells 2 and 3, and nothing else to add to (the seed's group).
    max_min: bool,
}

impl Fused {
    /// The slot plan of a group whose policies aggregate `aggregations`, with the cells `updates`
    /// mode needs when `updates`.
    pub(crate) fn new(aggregations: &[(Aggregation, PolicyRules)], updates: bool) -> Fused {
        let mut next = 2;
        let mut place = |needed: bool, cells: usize| {
            if !needed {
                return 0;
            }
            next += cells;
            next - cells
        };
        let has = |wanted: &[Aggregation]| aggregations.iter().any(|(a, _)| wanted.contains(a));
        use Aggregation as A;
        let max = place(has(&[A::Max, A::Range]), 1);
        let min = place(has(&[A::Min, A::Range]), 1);
        let sum = place(has(&[A::Sum, A::Avg]), 2);
        let first = place(has(&[A::First]), 2);
        let last = place(has(&[A::Last]), 2);
        let listed = aggregations
            .iter()
            .any(|(a, _)| matches!(a, A::Delta | A::Median | A::Percentile(_) | A::Stddev | A::Integral | A::Twa));
        let delta = place(listed, 1);
        let written = if updates { place(true, 2 * aggregations.len()) } else { 0 };
        Fused {
            stride: next,
            max,
            min,
            sum,
            first,
            last,
            delta,
            outputs: aggregations.iter().map(|(a, _)| *a).collect(),
            rules: aggregations.iter().map(|(_, r)| *r).collect(),
            sorted: RefCell::default(),
            written,
            max_min: (max, min, sum, first, last, delta) == (2, 3, 0, 0, 0, 0),
        }
    }

    /// Cells per slot.
    #[inline]
    pub(crate) fn stride(&self) -> usize {
        self.stride
    }

    /// Policies of the group.
    pub(crate) fn outputs(&self) -> usize {
        self.outputs.len()
    }

    /// Whether the group's windows wait for the series' next reading before they are final
    /// (every policy's or none's: the window operator fuses only policies that agree).
    pub(crate) fn defers(&self) -> bool {
        (0..self.outputs.len()).any(|k| self.outputs[k].reads_next(&self.rules[k]))
    }

    /// Whether policy `k` writes a row for a window without readings that the step or interval
    /// between readings `before` and `after` crosses. An interval longer than `max_gap` is not
    /// integrated, and a step `delta` leaves out (a meter exchange, outside the slope) is not
    /// booked, so the windows it crosses hold nothing at all: they are no windows of the series,
    /// neither written (an increase of 0 there was never measured) nor counted as windows with
    /// nothing integrated.
    pub(crate) fn crosses(&self, k: usize, (before, after): (Sample, Sample)) -> bool {
        let rules = &self.rules[k];
        match self.outputs[k] {
            Aggregation::Delta => {
                rules.register.boundary == Boundary::Interpolate && books(before, after, &rules.register)
            }
            a => a.is_integral() && rules.integration.max_gap.is_none_or(|gap| after.0 - before.0 <= gap),
        }
    }

    /// The window's readings, in time order (empty when the group keeps none).
    pub(crate) fn readings<'a>(&self, cells: &[u64], samples: &'a Samples) -> &'a [Sample] {
        if self.delta == 0 { &[] } else { samples.list(cells[self.delta]) }
    }

    /// Valid values the window holds.
    #[inline]
    pub(crate) fn count(cells: &[u64]) -> u64 {
        cells[1] & COUNT_MASK
    }

    #[inline]
    pub(crate) fn flags(cells: &[u64]) -> u64 {
        cells[1] & !COUNT_MASK
    }

    #[inline]
    pub(crate) fn set_flag(cells: &mut [u64], flag: u64) {
        cells[1] |= flag;
    }

    /// A new window's slot (`cells` zeroed) with its first valid value `v`, stamped `ts`.
    #[inline]
    pub fn open(&self, cells: &mut [u64], window: i64, ts: i64, v: f64, samples: &mut Samples) {
        cells[0] = window as u64;
        if self.delta != 0 {
            cells[self.delta] = samples.take();
        }
        self.start(cells, ts, v, samples);
    }

    /// The components after a first valid value (the delta list exists and is empty).
    fn start(&self, cells: &mut [u64], ts: i64, v: f64, samples: &mut Samples) {
        cells[1] = Fused::flags(cells) | 1;
        self.start_numbers(cells, ts, v);
        self.add_sample(cells, ts, v, samples);
    }

    /// Adds value `v` stamped `ts`. On equal timestamps the later call wins for `first`, `last`
    /// and `delta`: a repeat under `duplicates: keep`.
    #[inline(always)]
    pub(crate) fn add(&self, cells: &mut [u64], ts: i64, v: f64, samples: &mut Samples) {
        if self.max_min
            && let [_, count, max, min, ..] = cells
        {
            *count += 1;
            // `v` passed the group's threshold, which NaN never does, and so did every value the
            // cells hold: `f64::max`'s handling of a NaN (a blend of five instructions each on
            // x86) is dead here. The comparisons keep its result exactly, the held value on a tie
            // (+0 against -0 included), as one `maxsd` and one `minsd`.
            debug_assert!(!v.is_nan() && !f64::from_bits(*max).is_nan() && !f64::from_bits(*min).is_nan());
            let (held_max, held_min) = (f64::from_bits(*max), f64::from_bits(*min));
            *max = if v > held_max { v } else { held_max }.to_bits();
            *min = if v < held_min { v } else { held_min }.to_bits();
            return;
        }
        cells[1] += 1;
        self.add_numbers(cells, ts, v);
        self.add_sample(cells, ts, v, samples);
    }

    /// Every component but `delta`'s list, after a first value.
    #[inline]
    fn start_numbers(&self, cells: &mut [u64], ts: i64, v: f64) {
        if self.max != 0 {
            cells[self.max] = v.to_bits();
        }
        if self.min != 0 {
            cells[self.min] = v.to_bits();
        }
        if self.sum != 0 {
            let mut sum = ExactSum::default();
            sum.add(v);
            put_sum(cells, self.sum, sum);
        }
        for at in [self.first, self.last] {
            if at != 0 {
                cells[at] = ts as u64;
                cells[at + 1] = v.to_bits();
            }
        }
    }

    /// Every component but `delta`'s list, after a further value.
    #[inline(always)]
    fn add_numbers(&self, cells: &mut [u64], ts: i64, v: f64) {
        if self.max != 0 {
            cells[self.max] = f64::from_bits(cells[self.max]).max(v).to_bits();
        }
        if self.min != 0 {
            cells[self.min] = f64::from_bits(cells[self.min]).min(v).to_bits();
        }
        if self.sum != 0 {
            let mut sum = get_sum(cells, self.sum);
            sum.add(v);
            put_sum(cells, self.sum, sum);
        }
        if self.first != 0 && ts <= cells[self.first] as i64 {
            cells[self.first] = ts as u64;
            cells[self.first + 1] = v.to_bits();
        }
        if self.last != 0 && ts >= cells[self.last] as i64 {
            cells[self.last] = ts as u64;
            cells[self.last + 1] = v.to_bits();
        }
    }

    #[inline(always)]
    fn add_sample(&self, cells: &[u64], ts: i64, v: f64, samples: &mut Samples) {
        if self.delta != 0 {
            self.add_to_list(cells, ts, v, samples);
        }
    }

    fn add_to_list(&self, cells: &[u64], ts: i64, v: f64, samples: &mut Samples) {
        if let Some(list) = samples.list_mut(cells[self.delta]) {
            insert_sample(list, ts, v);
        }
    }

    /// Empties every component but `delta`'s list before the window's values are folded in
    /// again with [`Fused::fold`] (a repeat under `duplicates: last` replaced one of them).
    pub(crate) fn clear(&self, cells: &mut [u64]) {
        cells[1] = Fused::flags(cells);
        // Components that every value moves, so that a reading added to a window a correction
        // emptied (a repeat now out of threshold) starts them as a first value would.
        if self.max != 0 {
            cells[self.max] = f64::NEG_INFINITY.to_bits();
        }
        if self.min != 0 {
            cells[self.min] = f64::INFINITY.to_bits();
        }
        if self.sum != 0 {
            put_sum(cells, self.sum, ExactSum::default());
        }
        if self.first != 0 {
            cells[self.first] = i64::MAX as u64;
        }
        if self.last != 0 {
            cells[self.last] = i64::MIN as u64;
        }
    }

    /// Folds a value into a window being summed again: the first one starts every component.
    /// `delta`'s list is kept up to date by [`Fused::replace_sample`] instead.
    pub(crate) fn fold(&self, cells: &mut [u64], ts: i64, v: f64) {
        if Fused::count(cells) == 0 {
            self.start_numbers(cells, ts, v);
        } else {
            self.add_numbers(cells, ts, v);
        }
        cells[1] += 1;
    }

    /// Sets (`Some`) or removes (`None`) the `delta` reading stamped `ts`.
    pub(crate) fn replace_sample(&self, cells: &[u64], ts: i64, v: Option<f64>, samples: &mut Samples) {
        if self.delta == 0 {
            return;
        }
        let Some(list) = samples.list_mut(cells[self.delta]) else { return };
        match (list.binary_search_by_key(&ts, |s| s.0), v) {
            (Ok(i), Some(v)) => list[i].1 = v,
            (Ok(i), None) => {
                list.remove(i);
            }
            (Err(i), Some(v)) => list.insert(i, (ts, v)),
            (Err(_), None) => {}
        }
    }

    /// The value of policy `k` of the group for a window within `edges`; meaningful when the
    /// window holds a valid value.
    #[inline]
    pub(crate) fn value(&self, k: usize, cells: &[u64], samples: &Samples, edges: &Edges) -> Value {
        let length = edges.length();
        let number = |at: usize| Value::Number(f64::from_bits(cells[at]));
        match self.outputs[k] {
            Aggregation::Max => number(self.max),
            Aggregation::Min => number(self.min),
            Aggregation::Sum => Value::Number(get_sum(cells, self.sum).value()),
            Aggregation::Avg => Value::Number(get_sum(cells, self.sum).value() / Fused::count(cells) as f64),
            Aggregation::Cnt => Value::Count(Fused::count(cells)),
            Aggregation::First => number(self.first + 1),
            Aggregation::Last => number(self.last + 1),
            Aggregation::Range => Value::Number(f64::from_bits(cells[self.max]) - f64::from_bits(cells[self.min])),
            Aggregation::Delta | Aggregation::Integral | Aggregation::Twa => {
                self.across(k, samples.list(cells[self.delta]), edges)
            }
            Aggregation::Median => self.order_statistic(cells, samples, |sorted| percentile(sorted, 5000)),
            Aggregation::Percentile(p) => self.order_statistic(cells, samples, |sorted| percentile(sorted, p)),
            Aggregation::Stddev => self.order_statistic(cells, samples, stddev),
            // The loader requires `expected_interval` for `coverage`: readings received over
            // `length / interval` expected, in one division.
            Aggregation::Coverage => {
                let interval = self.rules[k].coverage.expected_interval.unwrap_or(length);
                Value::Number(Fused::count(cells) as f64 * interval as f64 / length as f64)
            }
        }
    }

    /// The value of policy `k` (`delta`, `integral` or `twa`) from the window's `readings` and
    /// those on either side (no readings: a window a step or an interval crosses).
    pub(crate) fn across(&self, k: usize, readings: &[Sample], edges: &Edges) -> Value {
        let rules = &self.rules[k];
        let span = edges.span(readings);
        match self.outputs[k] {
            Aggregation::Twa => {
                let integrated = integrate(&span, &rules.integration);
                Value::Number(integrated.area / integrated.duration as f64)
            }
            Aggregation::Integral => {
                Value::Number(integrate(&span, &rules.integration).area / rules.integration.unit as f64)
            }
            _ => Value::Number(delta(&span, &rules.register).0),
        }
    }

    /// The steps policy `k`'s `delta` left out of the window's increase, or the intervals its
    /// `integral` or `twa` did not integrate (none for another aggregation): counted once, when
    /// the window is final, in the window of the step's or interval's first reading.
    pub(crate) fn left_out(&self, k: usize, readings: &[Sample], edges: &Edges) -> LeftOut {
        let span = edges.span(readings);
        match self.outputs[k] {
            Aggregation::Delta => delta(&span, &self.rules[k].register).1,
            Aggregation::Integral | Aggregation::Twa => {
                LeftOut { beyond_max_gap: integrate(&span, &self.rules[k].integration).gaps, ..LeftOut::default() }
            }
            _ => LeftOut::default(),
        }
    }

    /// Whether policy `k`'s window within `edges`, holding `count` valid `readings`, holds too
    /// little to be written: fewer valid readings than `min_count`, less than `min_coverage` of
    /// those expected, or (`integral`, `twa`) no interval integrated.
    pub(crate) fn below_minimum(&self, k: usize, count: u64, readings: &[Sample], edges: &Edges) -> Option<Minimum> {
        let coverage = self.rules[k].coverage;
        if coverage.min_count.is_some_and(|n| count < n) {
            return Some(Minimum::Count);
        }
        match (coverage.min_coverage, coverage.expected_interval) {
            (Some(share), Some(interval)) if (count as f64 * interval as f64 / edges.length() as f64) < share => {
                return Some(Minimum::Coverage);
            }
            _ => {}
        }
        if self.outputs[k].is_integral() && integrate(&edges.span(readings), &self.rules[k].integration).duration == 0 {
            return Some(Minimum::Integrated);
        }
        None
    }

    /// `f` of the window's values sorted (a window with a value has a reading in its list).
    fn order_statistic(&self, cells: &[u64], samples: &Samples, f: impl Fn(&[f64]) -> f64) -> Value {
        let mut sorted = self.sorted.borrow_mut();
        sorted_values(samples.list(cells[self.delta]), &mut sorted);
        if sorted.is_empty() {
            return Value::Number(f64::NAN);
        }
        Value::Number(f(&sorted))
    }

    /// Gives the window's `delta` list back once the window is gone.
    pub(crate) fn recycle(&self, cells: &[u64], samples: &mut Samples) {
        if self.delta != 0 {
            samples.give_back(cells[self.delta]);
        }
    }

    /// The `delta` list index of a slot, when the group keeps one.
    pub(crate) fn sample_list(&self, cells: &[u64]) -> Option<u64> {
        (self.delta != 0).then(|| cells[self.delta])
    }

    /// `updates` mode: rows written for policy `k` of this window, and the value last written.
    pub(crate) fn written(&self, k: usize, cells: &[u64]) -> (u32, Option<u64>) {
        if self.written == 0 {
            return (0, None);
        }
        let at = self.written + 2 * k;
        let head = cells[at];
        (head as u32, (head & WRITTEN != 0).then_some(cells[at + 1]))
    }

    /// `updates` mode: the row of policy `k` written for this window no longer stands for its value
    /// (see [`JobStats::updates_left_standing`](crate::engine::stats::JobStats)); the revisions
    /// are kept, so a row written later is the next one.
    pub(crate) fn forget_written(&self, k: usize, cells: &mut [u64]) {
        if self.written != 0 {
            cells[self.written + 2 * k] &= !WRITTEN;
        }
    }

    /// `updates` mode: records that revision `written(k).0` of policy `k` wrote `value`.
    pub(crate) fn wrote(&self, k: usize, cells: &mut [u64], value: &Value) {
        if self.written == 0 {
            return;
        }
        let at = self.written + 2 * k;
        let revisions = (cells[at] as u32).saturating_add(1);
        cells[at] = WRITTEN | u64::from(revisions);
        cells[at + 1] = value_bits(value);
    }
}

/// A window value as the bits [`Fused::wrote`] keeps, to tell whether it changed: a window's
/// values are numbers or counts, never text.
pub(crate) fn value_bits(value: &Value) -> u64 {
    match value {
        Value::Number(v) => v.to_bits(),
        Value::Count(n) => *n,
        Value::Bool(b) => u64::from(*b),
        Value::Text(_) => u64::MAX,
    }
}

fn get_sum(cells: &[u64], at: usize) -> ExactSum {
    ExactSum { hi: f64::from_bits(cells[at]), lo: f64::from_bits(cells[at + 1]) }
}

fn put_sum(cells: &mut [u64], at: usize, sum: ExactSum) {
    cells[at] = sum.hi.to_bits();
    cells[at + 1] = sum.lo.to_bits();
}

/// Keeps `samples` sorted by timestamp with one sample per timestamp. Readings mostly arrive in
/// order, so the common case is a push.
#[inline]
fn insert_sample(samples: &mut Vec<Sample>, ts: i64, v: f64) {
    match samples.last() {
        Some(&(last, _)) if ts > last => samples.push((ts, v)),
        _ => match samples.binary_search_by_key(&ts, |s| s.0) {
            Ok(i) => samples[i].1 = v,
            Err(i) => samples.insert(i, (ts, v)),
        },
    }
}

//! Window accumulators: the running state of one window's aggregation, sized per aggregation so
//! millions of open windows stay small. Every state but `delta`'s is a few numbers; `delta` keeps
//! the window's readings, because where a counter reset lies depends on each reading's neighbours
//! in event order, and a late reading may land between any two of them.

use super::Value;
use crate::job::Aggregation;
use serde::{Deserialize, Serialize};

/// A float sum kept as an unevaluated pair `hi + lo` (Knuth's TwoSum). For meter values the pair is
/// exact, so the rounded result does not depend on the order readings arrive in, which keeps the
/// `final` output independent of arrival order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ExactSum {
    hi: f64,
    lo: f64,
}

impl ExactSum {
    #[inline]
    pub fn add(&mut self, x: f64) {
        let s = self.hi + x;
        let bp = s - self.hi;
        let err = (self.hi - (s - bp)) + (x - bp);
        self.hi = s;
        self.lo += err;
    }

    #[inline]
    pub fn value(&self) -> f64 {
        self.hi + self.lo
    }
}

/// One reading of a `delta` window: timestamp (ms) and value.
pub type Sample = (i64, f64);

/// Reading buffers of expired `delta` windows, handed to new ones so a run stops allocating once
/// its windows have grown to their usual size.
#[derive(Debug, Default)]
pub struct BufferPool(Vec<Vec<Sample>>);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Accumulator {
    Max(f64),
    Min(f64),
    Sum(ExactSum),
    Avg(ExactSum, u64),
    Cnt(u64),
    /// Timestamp and value of the earliest reading so far.
    First(i64, f64),
    /// Timestamp and value of the latest reading so far.
    Last(i64, f64),
    /// Minimum and maximum.
    Range(f64, f64),
    /// The readings by timestamp, one per timestamp (the last to arrive).
    Delta(Vec<Sample>),
}

impl Accumulator {
    /// A window's state after its first valid value `v`, stamped `ts`.
    #[inline]
    pub fn start(aggregation: Aggregation, ts: i64, v: f64, pool: &mut BufferPool) -> Self {
        let mut sum = ExactSum::default();
        sum.add(v);
        match aggregation {
            Aggregation::Max => Accumulator::Max(v),
            Aggregation::Min => Accumulator::Min(v),
            Aggregation::Sum => Accumulator::Sum(sum),
            Aggregation::Avg => Accumulator::Avg(sum, 1),
            Aggregation::Cnt => Accumulator::Cnt(1),
            Aggregation::First => Accumulator::First(ts, v),
            Aggregation::Last => Accumulator::Last(ts, v),
            Aggregation::Range => Accumulator::Range(v, v),
            Aggregation::Delta => {
                let mut samples = pool.0.pop().unwrap_or_default();
                samples.push((ts, v));
                Accumulator::Delta(samples)
            }
            Aggregation::Median
            | Aggregation::Percentile(_)
            | Aggregation::Stddev
            | Aggregation::Integral
            | Aggregation::Twa
            | Aggregation::Coverage => {
                unreachable!("the job loader refuses the aggregations the engine does not run yet")
            }
        }
    }

    /// Adds value `v` stamped `ts`. On equal timestamps the later call wins for `first`, `last`
    /// and `delta` (a repeated timestamp is a correction, as in a last-write-wins store).
    #[inline]
    pub fn add(&mut self, ts: i64, v: f64) {
        match self {
            Accumulator::Max(m) => *m = m.max(v),
            Accumulator::Min(m) => *m = m.min(v),
            Accumulator::Sum(s) => s.add(v),
            Accumulator::Avg(s, n) => {
                s.add(v);
                *n += 1;
            }
            Accumulator::Cnt(n) => *n += 1,
            Accumulator::First(t, x) => {
                if ts <= *t {
                    (*t, *x) = (ts, v);
                }
            }
            Accumulator::Last(t, x) => {
                if ts >= *t {
                    (*t, *x) = (ts, v);
                }
            }
            Accumulator::Range(lo, hi) => {
                *lo = lo.min(v);
                *hi = hi.max(v);
            }
            Accumulator::Delta(samples) => insert_sample(samples, ts, v),
        }
    }

    #[inline]
    pub fn value(&self) -> Value {
        match self {
            Accumulator::Max(m) | Accumulator::Min(m) => Value::Number(*m),
            Accumulator::Sum(s) => Value::Number(s.value()),
            Accumulator::Avg(s, n) => Value::Number(s.value() / *n as f64),
            Accumulator::Cnt(n) => Value::Count(*n),
            Accumulator::First(_, v) | Accumulator::Last(_, v) => Value::Number(*v),
            Accumulator::Range(lo, hi) => Value::Number(*hi - *lo),
            Accumulator::Delta(samples) => Value::Number(counter_increase(samples)),
        }
    }

    /// Gives a `delta` window's buffer back for reuse once the window is gone.
    pub fn recycle(self, pool: &mut BufferPool) {
        if let Accumulator::Delta(mut samples) = self {
            samples.clear();
            pool.0.push(samples);
        }
    }
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

/// The increase of a cumulative register over `samples` (sorted by time): the sum over
/// consecutive pairs `(a, b)` of `b - a`, or of `b` when `b < a` (the counter was reset to 0 and
/// counted up to `b` again). The sum telescopes to `last - first + (every value followed by a
/// drop)`, computed that way so a register without resets gives exactly `last - first`.
fn counter_increase(samples: &[Sample]) -> f64 {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else { return 0.0 };
    let mut sum = ExactSum::default();
    sum.add(last.1);
    sum.add(-first.1);
    for pair in samples.windows(2) {
        if pair[1].1 < pair[0].1 {
            sum.add(pair[0].1);
        }
    }
    sum.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values stamped 0, 1, 2, ... in the order given.
    fn run(aggregation: Aggregation, values: &[f64]) -> Value {
        let stamped: Vec<Sample> = values.iter().enumerate().map(|(i, v)| (i as i64, *v)).collect();
        run_stamped(aggregation, &stamped)
    }

    fn run_stamped(aggregation: Aggregation, samples: &[Sample]) -> Value {
        let mut pool = BufferPool::default();
        let mut acc = Accumulator::start(aggregation, samples[0].0, samples[0].1, &mut pool);
        samples[1..].iter().for_each(|(ts, v)| acc.add(*ts, *v));
        acc.value()
    }

    #[test]
    fn each_aggregation() {
        let values = [3.0, -1.5, 7.25, 0.0];
        assert_eq!(run(Aggregation::Max, &values), Value::Number(7.25));
        assert_eq!(run(Aggregation::Min, &values), Value::Number(-1.5));
        assert_eq!(run(Aggregation::Sum, &values), Value::Number(8.75));
        assert_eq!(run(Aggregation::Avg, &values), Value::Number(8.75 / 4.0));
        assert_eq!(run(Aggregation::Cnt, &values), Value::Count(4));
        assert_eq!(run(Aggregation::First, &values), Value::Number(3.0));
        assert_eq!(run(Aggregation::Last, &values), Value::Number(0.0));
        assert_eq!(run(Aggregation::Range, &values), Value::Number(8.75));
    }

    #[test]
    fn sums_do_not_depend_on_order() {
        let a = [0.1, 0.2, 0.3, 1e6, 0.007, 12.345];
        let mut b = a;
        b.reverse();
        assert_eq!(run(Aggregation::Sum, &a), run(Aggregation::Sum, &b));
        assert_eq!(run(Aggregation::Sum, &[0.1, 0.2]), Value::Number(0.30000000000000004));
    }

    #[test]
    fn first_and_last_go_by_timestamp_not_arrival() {
        let arrivals = [(30, 3.0), (10, 1.0), (40, 4.0), (20, 2.0)];
        assert_eq!(run_stamped(Aggregation::First, &arrivals), Value::Number(1.0));
        assert_eq!(run_stamped(Aggregation::Last, &arrivals), Value::Number(4.0));
    }

    #[test]
    fn equal_timestamps_the_later_arrival_wins() {
        let arrivals = [(10, 1.0), (20, 2.0), (10, 5.0), (20, 7.0)];
        assert_eq!(run_stamped(Aggregation::First, &arrivals), Value::Number(5.0));
        assert_eq!(run_stamped(Aggregation::Last, &arrivals), Value::Number(7.0));
        assert_eq!(run_stamped(Aggregation::Delta, &arrivals), Value::Number(2.0));
    }

    #[test]
    fn delta_of_a_register_without_reset_is_last_minus_first() {
        assert_eq!(run(Aggregation::Delta, &[100.5]), Value::Number(0.0));
        assert_eq!(run(Aggregation::Delta, &[100.0, 100.0, 103.5, 110.25]), Value::Number(10.25));
        // Exactly last - first, not the rounded sum of the steps.
        assert_eq!(run(Aggregation::Delta, &[0.1, 0.2, 0.3]), Value::Number(0.3 - 0.1));
    }

    #[test]
    fn delta_counts_through_a_reset() {
        // 100 -> 110 (+10), reset, 0 -> 5 (+5), 5 -> 20 (+15).
        assert_eq!(run(Aggregation::Delta, &[100.0, 110.0, 5.0, 20.0]), Value::Number(30.0));
        // Two resets, one straight to 0.
        assert_eq!(run(Aggregation::Delta, &[7.0, 9.0, 0.0, 4.0, 2.0, 3.0]), Value::Number(2.0 + 4.0 + 2.0 + 1.0));
    }

    #[test]
    fn delta_does_not_depend_on_arrival_order() {
        let in_order = [(0, 100.0), (1, 110.0), (2, 5.0), (3, 20.0), (4, 21.0)];
        let expected = run_stamped(Aggregation::Delta, &in_order);
        assert_eq!(expected, Value::Number(31.0));
        // The reading before the reset arrives last: until then 100 -> 5 looked like the reset.
        let shuffled = [(0, 100.0), (2, 5.0), (4, 21.0), (3, 20.0), (1, 110.0)];
        assert_eq!(run_stamped(Aggregation::Delta, &shuffled), expected);
        let reversed: Vec<Sample> = in_order.iter().rev().copied().collect();
        assert_eq!(run_stamped(Aggregation::Delta, &reversed), expected);
    }

    #[test]
    fn delta_buffers_are_reused() {
        let mut pool = BufferPool::default();
        let mut acc = Accumulator::start(Aggregation::Delta, 0, 1.0, &mut pool);
        (1..100).for_each(|i| acc.add(i, i as f64));
        acc.recycle(&mut pool);
        let acc = Accumulator::start(Aggregation::Delta, 5, 2.0, &mut pool);
        match &acc {
            Accumulator::Delta(samples) => {
                assert_eq!(samples.as_slice(), &[(5, 2.0)]);
                assert!(samples.capacity() >= 100);
            }
            other => panic!("not a delta accumulator: {other:?}"),
        }
        assert!(pool.0.is_empty());
    }

    #[test]
    fn accumulators_stay_small() {
        assert!(size_of::<Accumulator>() <= 32);
    }
}

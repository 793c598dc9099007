//! Window accumulators: the running state of one window's aggregation, sized per aggregation so
//! millions of open windows stay small.

use super::Value;
use crate::job::Aggregation;

/// A float sum kept as an unevaluated pair `hi + lo` (Knuth's TwoSum). For meter values the pair is
/// exact, so the rounded result does not depend on the order readings arrive in, which keeps the
/// `final` output independent of arrival order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
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

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Accumulator {
    Max(f64),
    Min(f64),
    Sum(ExactSum),
    Avg(ExactSum, u64),
    Cnt(u64),
}

impl Accumulator {
    /// A window's state after its first valid value.
    #[inline]
    pub fn start(aggregation: Aggregation, v: f64) -> Self {
        let mut sum = ExactSum::default();
        sum.add(v);
        match aggregation {
            Aggregation::Max => Accumulator::Max(v),
            Aggregation::Min => Accumulator::Min(v),
            Aggregation::Sum => Accumulator::Sum(sum),
            Aggregation::Avg => Accumulator::Avg(sum, 1),
            Aggregation::Cnt => Accumulator::Cnt(1),
        }
    }

    #[inline]
    pub fn add(&mut self, v: f64) {
        match self {
            Accumulator::Max(m) => *m = m.max(v),
            Accumulator::Min(m) => *m = m.min(v),
            Accumulator::Sum(s) => s.add(v),
            Accumulator::Avg(s, n) => {
                s.add(v);
                *n += 1;
            }
            Accumulator::Cnt(n) => *n += 1,
        }
    }

    #[inline]
    pub fn value(&self) -> Value {
        match self {
            Accumulator::Max(m) | Accumulator::Min(m) => Value::Number(*m),
            Accumulator::Sum(s) => Value::Number(s.value()),
            Accumulator::Avg(s, n) => Value::Number(s.value() / *n as f64),
            Accumulator::Cnt(n) => Value::Count(*n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(aggregation: Aggregation, values: &[f64]) -> Value {
        let mut acc = Accumulator::start(aggregation, values[0]);
        values[1..].iter().for_each(|v| acc.add(*v));
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
    }

    #[test]
    fn sums_do_not_depend_on_order() {
        let a = [0.1, 0.2, 0.3, 1e6, 0.007, 12.345];
        let mut b = a;
        b.reverse();
        assert_eq!(run(Aggregation::Sum, &a), run(Aggregation::Sum, &b));
        assert_eq!(run(Aggregation::Sum, &[0.1, 0.2]), Value::Number(0.30000000000000004));
    }
}

//! Exact float sums, and the reading lists they sum over: shared by the window components
//! ([`super::accumulator`]) and what is computed from a window's readings ([`super::register`]).

/// A float sum kept as an unevaluated pair `hi + lo` (Knuth's TwoSum). For meter values the pair is
/// exact, so the rounded result does not depend on the order readings arrive in, which keeps the
/// `final` output independent of arrival order (and lets a corrected window be summed again from
/// its readings in any order).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExactSum {
    pub(super) hi: f64,
    pub(super) lo: f64,
}

impl ExactSum {
    #[inline]
    pub(crate) fn add(&mut self, x: f64) {
        let s = self.hi + x;
        let bp = s - self.hi;
        let err = (self.hi - (s - bp)) + (x - bp);
        self.hi = s;
        self.lo += err;
    }

    #[inline]
    pub(crate) fn value(&self) -> f64 {
        self.hi + self.lo
    }
}

/// One reading of a `delta` window: timestamp (ms) and value.
pub type Sample = (i64, f64);

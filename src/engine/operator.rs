//! The pipeline's operators as it reaches them: a job of either template, and which of them read
//! each point, so that an input reading finds its one job with one look-up.

use super::merge::MergeOperator;
use super::stats::JobStats;
use super::window::WindowOperator;
use super::{Emitted, Feed, Reading};

// A run has a few operators, each pushed every reading: kept inline, not boxed, so that reaching
// one costs no pointer to follow.
#[expect(clippy::large_enum_variant)]
pub(super) enum Operator {
    Window(WindowOperator),
    Merge(MergeOperator),
}

impl Operator {
    // Inlined into the pipeline's dispatch of an input reading, where nearly every reading
    // comes through, as well as into the routes' loop.
    #[inline(always)]
    pub(super) fn push(&mut self, r: Reading, feed: Feed, out: &mut Emitted) {
        match self {
            Operator::Window(w) => w.push(r, feed, out),
            Operator::Merge(m) => m.push(r, feed, out),
        }
    }

    /// End of input, until `out` holds about `part` points; `true` once the job has flushed
    /// everything. A merge flushes in one part (the seed's holds a row per asset at the end).
    pub(super) fn finish_part(&mut self, out: &mut Emitted, part: usize) -> bool {
        match self {
            Operator::Window(w) => w.finish_part(out, part),
            Operator::Merge(m) => {
                m.finish(out);
                true
            }
        }
    }

    /// Adds what the job counted in bulk to its figures (see [`WindowOperator::settle_figures`]).
    #[inline]
    pub(super) fn settle_figures(&mut self) {
        if let Operator::Window(w) = self {
            w.settle_figures();
        }
    }

    /// How far ahead of its watermark a reading is held back (`max_future_skew`), if at all.
    pub(super) fn max_future_skew(&self) -> Option<i64> {
        match self {
            Operator::Window(w) => w.max_future_skew,
            Operator::Merge(m) => m.max_future_skew,
        }
    }

    pub(super) fn stats(&self) -> &JobStats {
        match self {
            Operator::Window(w) => {
                debug_assert!(w.figures_settled(), "figures read before the pipeline settled them");
                &w.stats
            }
            Operator::Merge(m) => &m.stats,
        }
    }
}

/// Points of an end-of-input flush handed on at a time (see [`Pipeline::finish`](super::Pipeline::finish)).
pub(super) const FLUSH_PART: usize = 1024;

/// Which operators read a point, as [`Pipeline::push_fed`](super::Pipeline::push_fed) looks it up:
/// the usual input point is read by one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Readers {
    None,
    One(usize),
    Many,
}

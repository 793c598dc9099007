//! What a job drops from its input, and why: the rows of the late output (`--late-output`) and
//! the figures that count them.

use super::Reading;

/// Why a reading is in the late output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropReason {
    /// Every window it belonged to (for some policy) had expired: dropped.
    LateBeyondLateness,
    /// Some of its sliding windows had expired; it was added to the others.
    PartiallyLate,
    /// Held back by `max_future_skew` and never confirmed (see [`super::watermark::FutureGuard`]).
    FutureSkewed,
}

impl DropReason {
    pub(crate) fn label(self) -> &'static str {
        match self {
            DropReason::LateBeyondLateness => "late_beyond_lateness",
            DropReason::PartiallyLate => "partially_late",
            DropReason::FutureSkewed => "future_skewed",
        }
    }
}

/// A reading a job dropped: late beyond lateness (wholly or from some windows), or held back as
/// too far ahead and never confirmed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dropped {
    pub(crate) job: usize,
    pub(crate) reading: Reading,
    pub(crate) reason: DropReason,
    /// Start and end of the window it belonged to (for merge operands, its own timestamp).
    pub(crate) window_start: i64,
    pub(crate) window_end: i64,
    /// The watermark when it arrived.
    pub(crate) watermark: i64,
}

//! Ending the input early: a flag that the run's signal handlers set (with the signal's number)
//! and the input side polls. The replay stops between two readings when it is set, and a live
//! input waiting for data wakes up to see it, so a stopped run ends as at the end of its input:
//! the jobs are flushed, or their state saved, with every row written so far kept whole.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Shared by the signal handlers and every reader of a run; 0 until a stop is requested.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicUsize>);

impl Stop {
    /// The flag the handlers store the signal number into (see `signal_hook::flag`).
    pub fn flag(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.0)
    }

    /// Whether the input should end now: one relaxed load, cheap enough for every reading.
    #[inline]
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }

    /// The signal that ended the input, if one did.
    pub fn signal(&self) -> Option<i32> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            n => Some(i32::try_from(n).unwrap_or(i32::MAX)),
        }
    }
}

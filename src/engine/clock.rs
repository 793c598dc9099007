//! A window job's clocks: one watermark per scope (series, asset or job) with the timers due on
//! it. A timer closes a window (`updates` mode) at its end, or expires the front window of a
//! series' ring at `end + latency`; only the front window of each ring holds an expiry timer (the
//! next one's is queued when it expires), so a clock holds a few timers per series instead of one
//! per open window.

use super::queue::OrderedQueue;
use super::watermark::{FutureGuard, NO_WATERMARK};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum TimerKind {
    Close,
    Expire,
}

/// A window's due time on its clock. Field order is the firing order: by time, series, group
/// (groups are runs of consecutive policies, so this is policy order), kind and window number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Timer {
    pub(crate) at: i64,
    pub(crate) series: u32,
    pub(crate) group: u16,
    pub(crate) kind: TimerKind,
    pub(crate) window: i64,
}

impl Timer {
    /// Whether `other` fires in the same batch: due at the same time for the same series and group.
    pub(crate) fn batches_with(&self, other: &Timer) -> bool {
        (self.at, self.series, self.group) == (other.at, other.series, other.group)
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Clock {
    pub(crate) watermark: i64,
    pub(crate) guard: FutureGuard,
    /// When the earliest timer is due (`i64::MAX`: none). The watermark moves on nearly every
    /// reading; comparing with this spares a look into the queue's buffer each time.
    pub(crate) next_due: i64,
    pub(crate) timers: OrderedQueue<Timer>,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock { watermark: NO_WATERMARK, guard: FutureGuard::NEW, next_due: i64::MAX, timers: OrderedQueue::default() }
    }

    pub(crate) fn push(&mut self, timer: Timer) {
        self.next_due = self.next_due.min(timer.at);
        self.timers.push(timer);
    }

    /// The earliest timer if it is due at watermark `w`, taken out of the queue.
    #[inline]
    pub(crate) fn pop_due(&mut self, w: i64) -> Option<Timer> {
        if self.next_due > w {
            return None;
        }
        let timer = self.timers.pop();
        self.next_due = self.timers.peek().map_or(i64::MAX, |t| t.at);
        timer
    }

    /// The earliest timer when it fires in one batch with `first`, taken out of the queue.
    pub(crate) fn pop_batched(&mut self, first: &Timer) -> Option<Timer> {
        if !self.timers.peek().is_some_and(|t| first.batches_with(t)) {
            return None;
        }
        let timer = self.timers.pop();
        self.next_due = self.timers.peek().map_or(i64::MAX, |t| t.at);
        timer
    }
}

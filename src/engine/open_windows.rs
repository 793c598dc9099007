//! The open windows of one series and policy, ordered by start: the newest one inline, the older
//! ones in a deque. The window operator keeps one [`Windows`] per series and policy in a dense
//! table, and nearly every reading lands in its series' newest window, so that path reads one
//! table entry instead of following a deque to its buffer: with thousands of series each keeping a
//! day of windows open, that was a cache miss on every reading.

use super::Value;
use super::accumulator::Accumulator;
use super::queue::reserve_gently;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::VecDeque;

#[derive(Clone, Serialize, Deserialize)]
pub struct OpenWindow {
    pub start: i64,
    pub acc: Accumulator,
    /// Rows written for this window so far (`updates` mode).
    pub revisions: u32,
    /// Its expiry timer is queued (see the window operator's `run_timer`).
    pub timed: bool,
    /// The value last written (`updates` mode), to write again only on change.
    pub last_written: Option<Value>,
}

impl OpenWindow {
    pub fn new(start: i64, acc: Accumulator, timed: bool) -> OpenWindow {
        OpenWindow { start, acc, revisions: 0, timed, last_written: None }
    }
}

/// Windows by start, addressed by position as one sequence: `older` then `newest`. `newest` is
/// `Some` exactly when there is a window at all.
#[derive(Default, Clone, Serialize, Deserialize)]
pub struct Windows {
    older: VecDeque<OpenWindow>,
    newest: Option<OpenWindow>,
}

/// Windows at the back looked at one by one before a binary search.
const BACK_SCAN: usize = 4;

impl Windows {
    #[inline]
    pub fn len(&self) -> usize {
        self.older.len() + usize::from(self.newest.is_some())
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<&OpenWindow> {
        match i.cmp(&self.older.len()) {
            Ordering::Less => self.older.get(i),
            Ordering::Equal => self.newest.as_ref(),
            Ordering::Greater => None,
        }
    }

    #[inline]
    pub fn get_mut(&mut self, i: usize) -> Option<&mut OpenWindow> {
        match i.cmp(&self.older.len()) {
            Ordering::Less => self.older.get_mut(i),
            Ordering::Equal => self.newest.as_mut(),
            Ordering::Greater => None,
        }
    }

    /// The window with the latest start.
    #[inline]
    pub fn newest_mut(&mut self) -> Option<&mut OpenWindow> {
        self.newest.as_mut()
    }

    /// The window with the earliest start.
    #[inline]
    pub fn front_mut(&mut self) -> Option<&mut OpenWindow> {
        match self.older.front_mut() {
            Some(w) => Some(w),
            None => self.newest.as_mut(),
        }
    }

    /// Puts `window` at position `i` (at most [`Windows::len`]), the caller having found with
    /// [`Windows::locate`] that it belongs there.
    pub fn insert(&mut self, i: usize, window: OpenWindow) {
        if i >= self.len() {
            if let Some(previous) = self.newest.replace(window) {
                reserve_gently(&mut self.older);
                self.older.push_back(previous);
            }
        } else {
            reserve_gently(&mut self.older);
            self.older.insert(i, window);
        }
    }

    pub fn remove(&mut self, i: usize) -> Option<OpenWindow> {
        match i.cmp(&self.older.len()) {
            Ordering::Less => self.older.remove(i),
            Ordering::Equal => {
                let removed = self.newest.take();
                self.newest = self.older.pop_back();
                removed
            }
            Ordering::Greater => None,
        }
    }

    /// Where the window starting at `start` is (`Ok`) or belongs (`Err`), as a binary search by
    /// start would say. A window `hint` names is checked first. Readings arrive nearly in order, so
    /// their window is almost always a new newest one or one of the last few: the back is looked at
    /// before a binary search, each of whose probes through a long deque misses the cache.
    #[inline]
    pub fn locate(&self, start: i64, hint: Option<usize>) -> Result<usize, usize> {
        if let Some(i) = hint
            && self.get(i).is_some_and(|w| w.start == start)
        {
            return Ok(i);
        }
        let n = self.len();
        for i in (n.saturating_sub(BACK_SCAN)..n).rev() {
            match self.get(i).map(|w| w.start.cmp(&start)) {
                Some(Ordering::Equal) => return Ok(i),
                Some(Ordering::Less) => return Err(i + 1),
                _ => {}
            }
        }
        // Every window looked at, the newest among them, starts later: the place is in `older`.
        self.older.binary_search_by_key(&start, |w| w.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn starts(windows: &Windows) -> Vec<i64> {
        (0..windows.len()).map(|i| windows.get(i).map_or(i64::MIN, |w| w.start)).collect()
    }

    proptest! {
        /// Inserting where `locate` says and removing anywhere keeps the windows in the order a
        /// plain sorted vector would, and `locate` answers as a binary search of it does.
        #[test]
        fn behaves_as_a_sorted_sequence(ops in proptest::collection::vec((-40i64..40, any::<bool>(), 0usize..30, proptest::option::of(0usize..30)), 0..80)) {
            let mut windows = Windows::default();
            let mut model: Vec<i64> = Vec::new();
            for (start, remove, at, hint) in ops {
                prop_assert_eq!(windows.locate(start, hint), model.binary_search(&start));
                if remove {
                    let removed = windows.remove(at).map(|w| w.start);
                    prop_assert_eq!(removed, (at < model.len()).then(|| model.remove(at)));
                } else if let Err(i) = windows.locate(start, None) {
                    windows.insert(i, OpenWindow::new(start, Accumulator::Cnt(1), false));
                    model.insert(i, start);
                }
                prop_assert_eq!(starts(&windows), model.clone());
                prop_assert_eq!(windows.newest_mut().map(|w| w.start), model.last().copied());
                prop_assert_eq!(windows.front_mut().map(|w| w.start), model.first().copied());
            }
        }
    }
}

//! The open windows of one series and group: a ring of fixed-size slots (see
//! [`super::accumulator`] for a slot's cells) in window-number order. Window numbers are
//! consecutive integers (see [`super::layout`]), so a series' windows sit at `number - front`
//! whenever no window between them is missing, which is the common case: the newest window is
//! the last slot, a new one is pushed at the back, the oldest expires from the front, and the
//! ring reuses its cells. A late reading that opens a window between two others (the windows
//! between had no valid value) moves the slots after it; one stamped far ahead opens a window
//! that is not next to the others, which the number order alone places. Nothing is searched
//! unless a window is missing, and no cell is allocated once the ring has reached its size.
//!
//! The newest slot, which almost every reading goes to, is held in the ring's header when it
//! fits ([`HOT`] cells): the headers of all series sit in one dense table, so a reading in order
//! touches that table only (one cache line for a slot of up to four cells) where a slot on the
//! heap would cost a second, scattered line (on a thousand meters, the jobs' thread waited on that
//! line more than on any other). A slot of more cells stays on the heap, and its header's second
//! line holds the pointer to it.

use serde::{Deserialize, Serialize};

/// Cells of the newest slot held in the header: the seed's fused max and min take 4, which share
/// the header's first cache line with the bounds and the counts.
const HOT: usize = 8;

/// Slots of `stride` cells, `len` of them: the newest in `hot` when the stride fits it, the
/// others (all of them when it does not) in `cells` from the physical slot `head`, wrapping
/// around. Two aligned cache lines; a reading in order reads the first only when a slot has up
/// to four cells.
#[derive(Clone, Default)]
#[repr(C, align(64))]
pub(crate) struct Slots {
    /// `[start, end)` of the newest window, set by the caller when it opens one: an on-time
    /// reading is checked against it without a look into the cells.
    pub(crate) newest: (i64, i64),
    head: u32,
    len: u32,
    /// Slots the cells hold (`cells.len() / stride`, kept to spare a division per look-up).
    capacity: u32,
    stride: u32,
    hot: [u64; HOT],
    cells: Box<[u64]>,
}

impl Slots {
    pub(crate) fn new(stride: usize) -> Slots {
        Slots {
            newest: (i64::MAX, i64::MIN),
            head: 0,
            len: 0,
            capacity: 0,
            stride: stride as u32,
            hot: [0; HOT],
            cells: Box::default(),
        }
    }

    /// The newest slot when `ts` lies in the newest window's bounds.
    #[inline(always)]
    pub(crate) fn newest_holding(&mut self, ts: i64) -> Option<&mut [u64]> {
        let (start, end) = self.newest;
        if start <= ts && ts < end && self.len > 0 {
            // The usual newest slot, in the header, is reached without the ring's arithmetic.
            if self.inline() {
                return Some(&mut self.hot[..self.stride as usize]);
            }
            return Some(self.slot_mut(self.len() - 1));
        }
        None
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the newest slot is held in the header.
    #[inline]
    fn inline(&self) -> bool {
        self.stride as usize <= HOT
    }

    /// Slots held in `cells`.
    #[inline]
    fn in_ring(&self) -> usize {
        if self.inline() { self.len().saturating_sub(1) } else { self.len() }
    }

    /// Whether slot `i` (counted from the front) is the one held in the header.
    #[inline]
    fn is_hot(&self, i: usize) -> bool {
        self.inline() && i + 1 == self.len()
    }

    /// The first cell of the ring's slot `i` (counted from the front).
    #[inline]
    fn at(&self, i: usize) -> usize {
        let mut p = self.head as usize + i;
        if p >= self.capacity as usize {
            p -= self.capacity as usize;
        }
        p * self.stride as usize
    }

    #[inline]
    pub(crate) fn slot(&self, i: usize) -> &[u64] {
        let stride = self.stride as usize;
        if self.is_hot(i) {
            return &self.hot[..stride];
        }
        let at = self.at(i);
        &self.cells[at..at + stride]
    }

    #[inline]
    pub(crate) fn slot_mut(&mut self, i: usize) -> &mut [u64] {
        let stride = self.stride as usize;
        if self.is_hot(i) {
            return &mut self.hot[..stride];
        }
        let at = self.at(i);
        &mut self.cells[at..at + stride]
    }

    /// The window number of slot `i`.
    #[inline]
    pub(crate) fn window(&self, i: usize) -> i64 {
        self.slot(i)[0] as i64
    }

    /// Where the window numbered `window` is (`Ok`) or belongs (`Err`), as a binary search over
    /// the numbers would say.
    #[inline]
    pub(crate) fn locate(&self, window: i64) -> Result<usize, usize> {
        let n = self.len();
        if n == 0 {
            return Err(0);
        }
        let newest = self.window(n - 1);
        if window >= newest {
            return if window == newest { Ok(n - 1) } else { Err(n) };
        }
        let front = self.window(0);
        if window <= front {
            return if window == front { Ok(0) } else { Err(0) };
        }
        // No window missing between the front and this one: it sits at its distance.
        let guess = (window - front) as usize;
        if guess < n && self.window(guess) == window {
            return Ok(guess);
        }
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.window(mid).cmp(&window) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// Makes a zeroed slot at position `i` (at most [`Slots::len`]), the caller having found with
    /// [`Slots::locate`] that its window belongs there, and returns it.
    pub(crate) fn insert(&mut self, i: usize) -> &mut [u64] {
        let stride = self.stride as usize;
        if self.inline() && i == self.len() {
            // A new newest slot: the one in the header, if any, joins the ring at its back.
            if self.len > 0 {
                let back = self.ring_insert(self.in_ring());
                // The seed's fused max and min: a slot of 4 cells copied in place, not by a call
                // to `memcpy` for a length known only at run time.
                match stride {
                    4 => self.cells[back..back + 4].copy_from_slice(&self.hot[..4]),
                    _ => self.cells[back..back + stride].copy_from_slice(&self.hot[..stride]),
                }
            }
            self.len += 1;
            let slot = &mut self.hot[..stride];
            slot.fill(0);
            return slot;
        }
        let at = self.ring_insert(i);
        self.len += 1;
        let slot = &mut self.cells[at..at + stride];
        slot.fill(0);
        slot
    }

    /// Makes room in the ring for a slot at its position `i` (at most [`Slots::in_ring`]), moving
    /// the ring's slots from `i` on back by one, and returns its first cell. `len` is the
    /// caller's to count.
    fn ring_insert(&mut self, i: usize) -> usize {
        let n = self.in_ring();
        if n == self.capacity as usize {
            self.grow();
        }
        let stride = self.stride as usize;
        if i == 0 && n > 0 {
            self.head = if self.head == 0 { self.capacity - 1 } else { self.head - 1 };
        } else {
            for k in (i..n).rev() {
                let (from, to) = (self.at(k), self.at(k + 1));
                self.cells.copy_within(from..from + stride, to);
            }
        }
        self.at(i)
    }

    /// Removes slot `i`; the front one (the usual case, an expiry) without moving any other.
    pub(crate) fn remove(&mut self, i: usize) {
        if i >= self.len() {
            return;
        }
        let stride = self.stride as usize;
        let n = self.in_ring();
        if self.is_hot(i) {
            // The ring's back slot becomes the newest.
            if n > 0 {
                let back = self.at(n - 1);
                self.hot[..stride].copy_from_slice(&self.cells[back..back + stride]);
            }
        } else if i == 0 {
            self.head += 1;
            if self.head == self.capacity {
                self.head = 0;
            }
        } else {
            for k in i..n - 1 {
                let (from, to) = (self.at(k + 1), self.at(k));
                self.cells.copy_within(from..from + stride, to);
            }
        }
        self.len -= 1;
        if self.in_ring() == 0 {
            self.head = 0;
        }
        if i == self.len() {
            self.newest = (i64::MAX, i64::MIN);
        }
    }

    /// Room for a quarter more slots in the ring, in order from the front: the engine keeps
    /// thousands of long-lived rings (a day of windows per series), and doubling would leave up
    /// to half of each unused.
    fn grow(&mut self) {
        let capacity = self.capacity + self.capacity / 4 + 4;
        let stride = self.stride as usize;
        let mut cells = Vec::with_capacity(capacity as usize * stride);
        for i in 0..self.in_ring() {
            let at = self.at(i);
            cells.extend_from_slice(&self.cells[at..at + stride]);
        }
        cells.resize(capacity as usize * stride, 0);
        self.cells = cells.into_boxed_slice();
        self.head = 0;
        self.capacity = capacity;
    }

    /// The cells of every slot, front first.
    fn in_order(&self) -> Vec<u64> {
        (0..self.len()).flat_map(|i| self.slot(i).iter().copied()).collect()
    }
}

/// A ring as its slots in order, so a saved state does not depend on where the ring wrapped.
#[derive(Serialize, Deserialize)]
struct Saved {
    stride: u32,
    cells: Vec<u64>,
}

impl Serialize for Slots {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Saved { stride: self.stride, cells: self.in_order() }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Slots {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let saved = Saved::deserialize(deserializer)?;
        let stride = saved.stride as usize;
        if stride == 0 || saved.cells.len() % stride != 0 {
            return Err(serde::de::Error::custom("a window ring's cells are not whole slots"));
        }
        let len = u32::try_from(saved.cells.len() / stride).map_err(serde::de::Error::custom)?;
        let mut slots = Slots::new(stride);
        let mut cells = saved.cells;
        if slots.inline() && len > 0 {
            let newest = cells.split_off(cells.len() - stride);
            slots.hot[..stride].copy_from_slice(&newest);
        }
        slots.capacity = (cells.len() / stride) as u32;
        slots.cells = cells.into_boxed_slice();
        slots.len = len;
        Ok(slots)
    }
}

impl Slots {
    /// The cells per slot the ring was saved with, for the check that a restored ring fits its group.
    pub(crate) fn stride(&self) -> usize {
        self.stride as usize
    }

    /// Whether the windows are in strictly increasing number order, as every operation keeps them.
    pub(crate) fn ordered(&self) -> bool {
        (1..self.len()).all(|i| self.window(i - 1) < self.window(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn windows(slots: &Slots) -> Vec<i64> {
        (0..slots.len()).map(|i| slots.window(i)).collect()
    }

    proptest! {
        /// Inserting where `locate` says and removing anywhere keeps the windows in the order a
        /// plain sorted vector would, `locate` answers as its binary search does, and each slot
        /// keeps its cells through the moves and growths, whether the newest slot is held in the
        /// header (strides up to [`HOT`]) or in the ring with the others.
        #[test]
        fn behaves_as_a_sorted_sequence(
            stride in prop_oneof![Just(3usize), Just(HOT), Just(HOT + 1)],
            ops in proptest::collection::vec((-40i64..40, any::<bool>(), 0usize..30), 0..120),
        ) {
            let mut slots = Slots::new(stride);
            let mut model: Vec<i64> = Vec::new();
            for (window, remove, at) in ops {
                prop_assert_eq!(slots.locate(window), model.binary_search(&window));
                if remove {
                    let at = if at % 3 == 0 { 0 } else { at };
                    slots.remove(at);
                    if at < model.len() {
                        model.remove(at);
                    }
                } else if let Err(i) = slots.locate(window) {
                    let slot = slots.insert(i);
                    prop_assert!(slot.iter().all(|&c| c == 0));
                    slot[0] = window as u64;
                    slot[2] = (window * 7) as u64;
                    model.insert(i, window);
                }
                prop_assert_eq!(windows(&slots), model.clone());
                prop_assert!((0..slots.len()).all(|i| slots.slot(i)[2] == (slots.window(i) * 7) as u64));
                prop_assert!((0..slots.len()).all(|i| slots.slot(i).len() == stride));
            }
            let saved = postcard::to_stdvec(&slots).unwrap();
            // The saved form is the stride and every slot's cells, front first, wherever they are held.
            let cells: Vec<u64> = model.iter().flat_map(|&w| {
                let mut slot = vec![0; stride];
                (slot[0], slot[2]) = (w as u64, (w * 7) as u64);
                slot
            }).collect();
            prop_assert_eq!(&saved, &postcard::to_stdvec(&(stride as u32, cells)).unwrap());
            let mut back: Slots = postcard::from_bytes(&saved).unwrap();
            prop_assert_eq!(windows(&back), model.clone());
            prop_assert!((0..back.len()).all(|i| back.slot(i) == slots.slot(i)));
            // A restored ring takes a new newest window, and one before its front.
            for window in [model.last().map_or(0, |w| w + 1), model.first().map_or(-1, |w| w - 1)] {
                let i = back.locate(window).unwrap_err();
                back.insert(i)[0] = window as u64;
                model.insert(i, window);
            }
            prop_assert_eq!(windows(&back), model);
        }
    }
}

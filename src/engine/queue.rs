//! A priority queue for timers that are mostly added in order: a sorted deque. Windows open in
//! event-time order, so a new timer nearly always goes at the back, and the earliest one leaves
//! from the front: each touches one end of the deque, where a binary heap would walk (and miss the
//! cache at) every level on each removal.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Makes room for one more item in `deque`, growing it by a quarter when full where `VecDeque`
/// would double it: the engine keeps thousands of long-lived deques (a day of windows per series),
/// and doubling would leave up to half of each unused. The copies this costs are a few per item.
#[inline]
pub(crate) fn reserve_gently<T>(deque: &mut VecDeque<T>) {
    if deque.len() == deque.capacity() {
        deque.reserve_exact(deque.len() / 4 + 4);
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OrderedQueue<T> {
    items: VecDeque<T>,
}

impl<T> Default for OrderedQueue<T> {
    fn default() -> Self {
        OrderedQueue { items: VecDeque::new() }
    }
}

/// How many items from the back an out-of-order item is compared with before a binary search.
const SCAN: usize = 8;

impl<T: Ord> OrderedQueue<T> {
    /// Adds `item` after every item that is not greater, so equal items leave in the order they came.
    #[inline]
    pub(crate) fn push(&mut self, item: T) {
        let len = self.items.len();
        let mut at = len;
        while at > 0 && len - at < SCAN && self.items[at - 1] > item {
            at -= 1;
        }
        if at > 0 && len - at == SCAN && self.items[at - 1] > item {
            at = self.items.partition_point(|x| *x <= item);
        }
        reserve_gently(&mut self.items);
        self.items.insert(at, item);
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<&T> {
        self.items.front()
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    /// Every item, smallest first, left in place.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    /// Every item, smallest first.
    pub(crate) fn into_sorted_vec(self) -> Vec<T> {
        self.items.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn leaves_in_sorted_order(items in proptest::collection::vec(0u8..40, 0..200), pops in proptest::collection::vec(any::<bool>(), 0..200)) {
            let mut queue = OrderedQueue::default();
            let mut expected: Vec<u8> = Vec::new();
            let mut popped = Vec::new();
            let mut model = Vec::new();
            for (i, &item) in items.iter().enumerate() {
                queue.push(item);
                model.push(item);
                if pops.get(i).copied().unwrap_or(false) {
                    model.sort();
                    expected.push(model.remove(0));
                    popped.push(queue.pop().unwrap());
                }
            }
            model.sort();
            expected.extend(model);
            popped.extend(queue.into_sorted_vec());
            prop_assert_eq!(popped, expected);
        }
    }

    #[test]
    fn deques_grow_by_a_quarter() {
        let mut deque = VecDeque::new();
        for i in 0..1000 {
            reserve_gently(&mut deque);
            deque.push_back(i);
            assert!(deque.capacity() <= deque.len() + deque.len() / 4 + 4, "{} of {}", deque.len(), deque.capacity());
        }
    }

    #[test]
    fn mostly_ordered_input() {
        let mut queue = OrderedQueue::default();
        for i in (0..1000).map(|i| if i % 37 == 0 { i / 2 } else { i }) {
            queue.push(i);
        }
        let out = queue.into_sorted_vec();
        assert!(out.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(out.len(), 1000);
    }
}

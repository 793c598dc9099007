//! The storage of a series' log grid ([`super::Log`]): a compact ring type, and the grid's
//! positions as bits (timestamps only) or values (decimal offsets or floats) with marks for the
//! positions not held and those held beside the grid.

use super::WORD;
use serde::{Deserialize, Serialize};

/// Powers of ten for the decimal integers, by number of decimals.
static SCALE: [f64; 10] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// Decimals tried first: meter values usually have up to three.
const USUAL_DECIMALS: u8 = 3;

/// `v` as an integer of `decimals` decimals when that gives back exactly `v`, within `±i32::MAX`.
#[inline]
pub(super) fn encode(v: f64, decimals: u8) -> Option<i32> {
    let scale = SCALE[decimals as usize];
    let m = v * scale;
    if m.is_nan() || m.abs() >= f64::from(i32::MAX) {
        return None;
    }
    let r = (m + 0.5f64.copysign(m)) as i32;
    (decode(r, decimals).to_bits() == v.to_bits()).then_some(r)
}

#[inline]
pub(super) fn decode(r: i32, decimals: u8) -> f64 {
    f64::from(r) / SCALE[decimals as usize]
}

/// The decimals a series' first value chooses: the usual three when they hold it, else the
/// fewest that do.
#[cold]
#[inline(never)]
fn first_decimals(v: f64) -> u8 {
    (USUAL_DECIMALS..10).chain(0..USUAL_DECIMALS).find(|&d| encode(v, d).is_some()).unwrap_or(0)
}

/// A ring of `T` in a boxed slice: 24 bytes where a `VecDeque` takes 32, which keeps the grid, and
/// with it a log, smaller. It grows by a quarter: every series keeps a log as long as its lateness
/// horizon, and doubling would leave up to half of each unused.
#[derive(Debug, Clone, Default)]
pub(super) struct Deque<T> {
    buf: Box<[T]>,
    head: u32,
    len: u32,
}

impl<T: Copy> Deque<T> {
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    pub(super) fn slot(&self, i: usize) -> usize {
        let p = self.head as usize + i;
        if p >= self.buf.len() { p - self.buf.len() } else { p }
    }

    #[inline]
    pub(super) fn get(&self, i: usize) -> Option<T> {
        (i < self.len()).then(|| self.buf[self.slot(i)])
    }

    #[inline(always)]
    pub(super) fn set(&mut self, i: usize, v: T) {
        if i < self.len() {
            let at = self.slot(i);
            self.buf[at] = v;
        }
    }

    /// `n` copies of `fill` at the back, or at the front.
    pub(super) fn extend(&mut self, n: usize, fill: T, front: bool) {
        if n == 0 {
            return;
        }
        let len = self.len();
        if len + n > self.buf.len() {
            let capacity = len + len / 4 + n;
            let mut buf = Vec::with_capacity(capacity);
            buf.extend((0..len).map(|i| self.buf[self.slot(i)]));
            buf.resize(capacity, fill);
            self.buf = buf.into_boxed_slice();
            self.head = 0;
        }
        if front {
            let capacity = self.buf.len();
            self.head = ((self.head as usize + capacity - n) % capacity) as u32;
        }
        self.len += n as u32;
        let start = if front { 0 } else { len };
        let at = self.slot(start);
        let first = n.min(self.buf.len() - at);
        self.buf[at..at + first].fill(fill);
        self.buf[..n - first].fill(fill);
    }

    /// How many of the first `n` items `f` holds for.
    pub(super) fn count_front(&self, n: usize, f: impl Fn(T) -> bool) -> usize {
        let n = n.min(self.len());
        let at = self.head as usize;
        let first = n.min(self.buf.len() - at);
        self.buf[at..at + first].iter().chain(&self.buf[..n - first]).filter(|&&x| f(x)).count()
    }

    /// Drops the first `n`.
    pub(super) fn drop_front(&mut self, n: usize) {
        let n = n.min(self.len());
        self.head = self.slot(n) as u32;
        self.len -= n as u32;
    }

    pub(super) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = T> + '_ {
        (0..self.len()).map(|i| self.buf[self.slot(i)])
    }
}

impl<T: Copy + Serialize> Serialize for Deque<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de, T: Copy + Deserialize<'de>> Deserialize<'de> for Deque<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let items: Vec<T> = Vec::deserialize(deserializer)?;
        let len = u32::try_from(items.len()).map_err(serde::de::Error::custom)?;
        Ok(Deque { buf: items.into_boxed_slice(), head: 0, len })
    }
}

/// The grid's bits when only timestamps are kept, a word per [`WORD`] positions. The last word,
/// where a reading in order sets its bit, is held in the log itself: the logs of all series sit
/// in one dense table, so such a reading touches no line of its own on the heap.
#[derive(Debug, Clone, Default)]
#[repr(C)]
pub(super) struct Bits {
    last: u64,
    /// Words, the last one included: one more than `words` holds once there is a word, counted
    /// here beside `last` so that a reading in order reads no field of `words`, which lies in the
    /// log's next cache line.
    len: u32,
    /// Every word but the last.
    words: Deque<u64>,
}

impl Bits {
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    pub(super) fn get(&self, i: usize) -> Option<u64> {
        if i + 1 == self.len() { Some(self.last) } else { self.words.get(i) }
    }

    #[inline(always)]
    pub(super) fn set(&mut self, i: usize, word: u64) {
        if i + 1 == self.len() {
            self.last = word;
        } else {
            self.words.set(i, word);
        }
    }

    /// Sets position `i`'s bit when it lies in the last word; `false` (nothing set) otherwise.
    #[inline(always)]
    pub(super) fn set_in_last(&mut self, i: usize) -> bool {
        let fits = i / WORD as usize + 1 == self.len();
        if fits {
            self.last |= 1 << (i % WORD as usize);
        }
        fits
    }

    /// `n` empty words at the back, or at the front.
    pub(super) fn extend(&mut self, n: usize, front: bool) {
        if n == 0 {
            return;
        }
        if self.len == 0 {
            self.last = 0;
            self.words.extend(n - 1, 0, front);
        } else if front {
            self.words.extend(n, 0, true);
        } else {
            self.words.extend(1, self.last, false);
            self.words.extend(n - 1, 0, false);
            self.last = 0;
        }
        self.len += n as u32;
    }

    /// Drops the first word.
    pub(super) fn drop_first(&mut self) {
        match self.len {
            0 => {}
            1 => self.clear(),
            _ => {
                self.words.drop_front(1);
                self.len -= 1;
            }
        }
    }

    pub(super) fn clear(&mut self) {
        self.words.clear();
        self.last = 0;
        self.len = 0;
    }

    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.words.iter().chain((self.len > 0).then_some(self.last))
    }
}

/// Saved as the words in order, as a [`Deque`] of them is.
impl Serialize for Bits {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Bits {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut words: Vec<u64> = Vec::deserialize(deserializer)?;
        let len = u32::try_from(words.len()).map_err(serde::de::Error::custom)?;
        let last = words.pop().unwrap_or(0);
        let rest = words.len() as u32;
        Ok(Bits { last, len, words: Deque { buf: words.into_boxed_slice(), head: 0, len: rest } })
    }
}

/// A position's cell when no timestamp is held there: an offset never takes `i16::MIN` (see
/// [`Grid::set`]), and a float with these bits (a NaN no parser writes) goes to the list beside
/// the grid instead.
const NO_OFFSET: i16 = i16::MIN;
const NO_FLOAT: u64 = 0x7ff8_0000_dead_beef;
/// A position whose timestamp is held in the list beside the grid (its value did not fit): only
/// then, or for a stamp off the grid, is that list searched.
const BESIDE_OFFSET: i16 = i16::MIN + 1;
const BESIDE_FLOAT: u64 = 0x7ff8_0000_dead_bef0;
/// A word's base before its first value.
const NO_BASE: i32 = i32::MIN;

/// The grid's positions: a bit each when only timestamps are kept, else the value, with a mark
/// for the positions not held, so a position costs a bit or a few bytes and is found by index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum Grid {
    Stamps(Bits),
    /// Decimal integers of `decimals` decimals (`u8::MAX` until the first value chooses), each
    /// kept as a 16-bit offset from its word's base (the first value written in it): 2 bytes a
    /// reading. A value whose offset does not fit goes to the list beside the grid.
    Decimal {
        decimals: u8,
        bases: Deque<i32>,
        offsets: Deque<i16>,
    },
    Float(Deque<f64>),
}

impl Grid {
    /// Positions covered, a multiple of [`WORD`].
    #[inline]
    pub(super) fn span(&self) -> i64 {
        (match self {
            Grid::Stamps(bits) => bits.len() * WORD as usize,
            Grid::Decimal { offsets, .. } => offsets.len(),
            Grid::Float(floats) => floats.len(),
        }) as i64
    }

    pub(super) fn has(&self, i: usize) -> bool {
        match self {
            Grid::Stamps(bits) => bits.get(i / WORD as usize).is_some_and(|w| w & (1 << (i % WORD as usize)) != 0),
            Grid::Decimal { offsets, .. } => offsets.get(i).is_some_and(|r| r != NO_OFFSET && r != BESIDE_OFFSET),
            Grid::Float(floats) => {
                floats.get(i).is_some_and(|f| f.to_bits() != NO_FLOAT && f.to_bits() != BESIDE_FLOAT)
            }
        }
    }

    /// Whether position `i`'s timestamp is held beside the grid.
    pub(super) fn beside(&self, i: usize) -> bool {
        match self {
            Grid::Stamps(_) => false,
            Grid::Decimal { offsets, .. } => offsets.get(i) == Some(BESIDE_OFFSET),
            Grid::Float(floats) => floats.get(i).is_some_and(|f| f.to_bits() == BESIDE_FLOAT),
        }
    }

    /// Marks position `i` as held beside the grid.
    pub(super) fn set_beside(&mut self, i: usize) {
        match self {
            Grid::Stamps(_) => {}
            Grid::Decimal { offsets, .. } => offsets.set(i, BESIDE_OFFSET),
            Grid::Float(floats) => floats.set(i, f64::from_bits(BESIDE_FLOAT)),
        }
    }

    /// The value at a position held (`None` when only timestamps are kept).
    pub(super) fn value(&self, i: usize) -> Option<f64> {
        match self {
            Grid::Stamps(_) => None,
            Grid::Decimal { decimals, bases, offsets } => {
                let base = bases.get(i / WORD as usize)?;
                offsets.get(i).map(|d| decode(base + i32::from(d), *decimals))
            }
            Grid::Float(floats) => floats.get(i),
        }
    }

    /// Holds position `i` with value `v`; `false` when the value cannot be held on the grid (then
    /// [`Grid::rebase`] may make room).
    #[inline(always)]
    pub(super) fn set(&mut self, i: usize, v: f64) -> bool {
        match self {
            Grid::Stamps(bits) => {
                let word = bits.get(i / WORD as usize).unwrap_or(0);
                bits.set(i / WORD as usize, word | 1 << (i % WORD as usize));
            }
            Grid::Decimal { decimals, bases, offsets } if *decimals != u8::MAX => {
                let Some(r) = encode(v, *decimals) else { return self.set_wider(i, v) };
                let w = i / WORD as usize;
                let base = match bases.get(w) {
                    Some(NO_BASE) => {
                        bases.set(w, r);
                        r
                    }
                    Some(base) => base,
                    None => return false,
                };
                match i16::try_from(i64::from(r) - i64::from(base)) {
                    Ok(d) if d != NO_OFFSET && d != BESIDE_OFFSET => offsets.set(i, d),
                    _ => return false,
                }
            }
            Grid::Decimal { .. } => return self.set_wider(i, v),
            Grid::Float(floats) if v.to_bits() != NO_FLOAT && v.to_bits() != BESIDE_FLOAT => floats.set(i, v),
            Grid::Float(_) => return false,
        }
        true
    }

    /// A value whose offset does not fit its word: when the word holds one value only (an outlier
    /// that came first and became the base), that value is handed back to go beside the grid and
    /// the word takes `v`'s base instead; `None` when `v` itself must go beside the grid. A
    /// position marked as held beside the grid holds no value of the word: its value is already
    /// in the list.
    pub(super) fn rebase(&mut self, i: usize, v: f64) -> Option<(usize, f64)> {
        let Grid::Decimal { decimals, bases, offsets } = self else { return None };
        let r = encode(v, *decimals)?;
        let w = i / WORD as usize;
        let held: Vec<usize> = (w * WORD as usize..(w + 1) * WORD as usize)
            .filter(|&k| offsets.get(k).is_some_and(|d| d != NO_OFFSET && d != BESIDE_OFFSET))
            .collect();
        let &[only] = held.as_slice() else { return None };
        let moved = decode(bases.get(w)? + i32::from(offsets.get(only)?), *decimals);
        offsets.set(only, BESIDE_OFFSET);
        bases.set(w, r);
        offsets.set(i, 0);
        Some((only, moved))
    }

    /// The first value, or one the decimals chosen do not hold: the grid then keeps floats.
    #[cold]
    #[inline(never)]
    pub(super) fn set_wider(&mut self, i: usize, v: f64) -> bool {
        if let Grid::Decimal { decimals, .. } = self
            && *decimals == u8::MAX
        {
            *decimals = first_decimals(v);
            if encode(v, *decimals).is_some() {
                return self.set(i, v);
            }
        }
        if let Grid::Decimal { decimals, bases, offsets } = self {
            let floats: Vec<f64> = (0..offsets.len())
                .map(|i| match (bases.get(i / WORD as usize), offsets.get(i)) {
                    (_, Some(BESIDE_OFFSET)) => f64::from_bits(BESIDE_FLOAT),
                    (Some(base), Some(d)) if d != NO_OFFSET => decode(base + i32::from(d), *decimals),
                    _ => f64::from_bits(NO_FLOAT),
                })
                .collect();
            let len = offsets.len;
            *self = Grid::Float(Deque { buf: floats.into_boxed_slice(), head: 0, len });
        }
        self.set(i, v)
    }

    /// `words` more words of empty positions at the back (`front`: at the front).
    pub(super) fn grow(&mut self, words: usize, front: bool) {
        let n = words * WORD as usize;
        match self {
            Grid::Stamps(bits) => bits.extend(words, front),
            Grid::Decimal { bases, offsets, .. } => {
                bases.extend(words, NO_BASE, front);
                offsets.extend(n, NO_OFFSET, front);
            }
            Grid::Float(floats) => floats.extend(n, f64::from_bits(NO_FLOAT), front),
        }
    }

    /// Drops the first word of positions; returns how many were held.
    pub(super) fn drop_word(&mut self) -> u64 {
        let n = WORD as usize;
        let held = match self {
            Grid::Stamps(bits) => u64::from(bits.get(0).unwrap_or(0).count_ones()),
            Grid::Decimal { offsets, .. } => offsets.count_front(n, |r| r != NO_OFFSET && r != BESIDE_OFFSET) as u64,
            Grid::Float(floats) => {
                floats.count_front(n, |f| f.to_bits() != NO_FLOAT && f.to_bits() != BESIDE_FLOAT) as u64
            }
        };
        match self {
            Grid::Stamps(bits) => bits.drop_first(),
            Grid::Decimal { bases, offsets, .. } => {
                bases.drop_front(1);
                offsets.drop_front(n);
            }
            Grid::Float(floats) => floats.drop_front(n),
        }
        held
    }

    pub(super) fn clear(&mut self) {
        match self {
            Grid::Stamps(bits) => bits.clear(),
            Grid::Decimal { bases, offsets, .. } => {
                bases.clear();
                offsets.clear();
            }
            Grid::Float(floats) => floats.clear(),
        }
    }

    pub(super) fn held(&self) -> u64 {
        (0..self.span() as usize).filter(|&i| self.has(i)).count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    proptest! {
        /// The bits with their last word held apart behave as a plain sequence of words through
        /// growth at either end, writes anywhere, drops from the front, and a save and restore.
        #[test]
        fn bits_behave_as_a_sequence_of_words(ops in proptest::collection::vec((0u8..5, 0usize..12, any::<u64>()), 0..80)) {
            let (mut bits, mut model) = (Bits::default(), VecDeque::<u64>::new());
            for (op, n, word) in ops {
                match op {
                    0 => {
                        bits.extend(n % 4, false);
                        model.extend(std::iter::repeat_n(0, n % 4));
                    }
                    1 => {
                        bits.extend(n % 4, true);
                        (0..n % 4).for_each(|_| model.push_front(0));
                    }
                    2 | 3 => {
                        bits.set(n, word);
                        if let Some(w) = model.get_mut(n) {
                            *w = word;
                        }
                    }
                    _ => {
                        bits.drop_first();
                        model.pop_front();
                    }
                }
                prop_assert_eq!(bits.len(), model.len());
                prop_assert!((0..model.len() + 2).all(|i| bits.get(i) == model.get(i).copied()));
            }
            let saved = postcard::to_stdvec(&bits).unwrap();
            prop_assert_eq!(&saved, &postcard::to_stdvec(&Vec::from(model.clone())).unwrap());
            let back: Bits = postcard::from_bytes(&saved).unwrap();
            prop_assert_eq!(back.iter().collect::<Vec<_>>(), Vec::from(model.clone()));
            let plain: Deque<u64> = postcard::from_bytes(&postcard::to_stdvec(&bits).unwrap()).unwrap();
            prop_assert_eq!(plain.iter().collect::<Vec<_>>(), Vec::from(model));
        }
    }

    #[test]
    fn decimals_give_back_the_same_float() {
        for text in ["12.345", "0.001", "99.999", "-37.5", "100", "0", "2147483.646", "1e-3"] {
            let v: f64 = text.parse().unwrap();
            let r = encode(v, 3).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(decode(r, 3).to_bits(), v.to_bits(), "{text}");
        }
        assert_eq!(encode(-0.0, 3), None, "-0 is kept as a float, not as 0");
        assert_eq!(encode(0.1234, 3), None);
        assert_eq!(encode(3_000_000.0, 3), None, "out of range");
        assert_eq!(encode(2_147_483.647, 3), None, "i32::MAX is out of range");
        assert_eq!(encode(f64::NAN, 3), None);
    }
}

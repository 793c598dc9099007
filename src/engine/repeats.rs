//! What a window job keeps of each series to recognise a *repeat* (a reading whose timestamp the
//! series already had while its windows can still change) and, under `duplicates: last`, to sum
//! a window again without the value a repeat replaced.
//!
//! Meters report at a steady cadence, so a series' timestamps are kept as positions on a grid
//! `origin + p * step`, learnt from the series itself: one bit per position, or under `last` the
//! value at each position (a mark where none is held). Values are kept as decimal integers
//! (`12.345` as 12345 with three decimals) when that gives back the very same float, which meter
//! readings with a few decimals always do, each as a 16-bit offset from a base per 64 positions:
//! 2 bytes instead of 8. A stamp off the grid (jitter, a series
//! without a cadence), or so far from the others that the grid would span much more than the
//! lateness horizon, goes to a sorted list beside it at 16 bytes. A reading in order, one step
//! after the last, costs a comparison, a bit and a store: nothing is searched and, once the ring
//! has grown to the horizon, nothing allocated. The positions of expired windows are dropped as
//! the watermark passes them ([`Log::trim`]).

mod grid;

use grid::{Bits, Deque, Grid};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How a reading's timestamp stands in a series' log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Held {
    /// Not held: a new timestamp.
    No,
    /// Held, its value not kept (`duplicates: first` and `keep` need timestamps only).
    Stamp,
    /// Held with this value.
    Value(f64),
}

/// Positions per word of the grid: it grows, shrinks and aligns by this many.
pub(crate) const WORD: i64 = 64;

/// The grid is never refined past this many positions per step it had.
const MAX_REFINE: i64 = 8;

/// The timestamps (and values) a series holds in its open windows. Three aligned cache lines: a
/// reading in order reads and writes the newest stamp, the step and a grid of bits (its last word
/// and length) in the first (a grid of decimals reaches into the second), `newest_at` in the
/// second and `held` in the third. The fields are saved in this order: moving one changes the
/// saved form.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[repr(C, align(64))]
pub(crate) struct Log {
    /// The latest timestamp recorded, and its index in the grid when it is on the grid: the next
    /// reading in order is usually one step later.
    newest: i64,
    /// A stamp on the grid is `origin + p * step` (`step` 0: no grid yet).
    step: i64,
    grid: Grid,
    newest_at: Option<usize>,
    origin: i64,
    /// Position of the grid's first cell (a multiple of 64).
    lo: i64,
    /// Stamps off the grid or far from it, sorted, with their values (0 when values are not kept).
    extra: VecDeque<(i64, f64)>,
    /// Timestamps held.
    held: u64,
}

impl Log {
    /// A log keeping values when `values`.
    pub(crate) fn new(values: bool) -> Log {
        Log {
            newest: i64::MIN,
            newest_at: None,
            step: 0,
            origin: 0,
            lo: 0,
            grid: if values {
                Grid::Decimal { decimals: u8::MAX, bases: Deque::default(), offsets: Deque::default() }
            } else {
                Grid::Stamps(Bits::default())
            },
            extra: VecDeque::new(),
            held: 0,
        }
    }

    /// Whether values are kept.
    pub(crate) fn keeps_values(&self) -> bool {
        !matches!(self.grid, Grid::Stamps(_))
    }

    /// Timestamps held.
    pub(crate) fn held(&self) -> u64 {
        self.held
    }

    /// Whether `ts` is later than every timestamp held: then it is not held, with no lookup.
    #[inline]
    pub(crate) fn is_new(&self, ts: i64) -> bool {
        ts > self.newest
    }

    /// The grid position of `ts` when it is on the grid.
    #[inline]
    fn position(&self, ts: i64) -> Option<i64> {
        if self.step == 0 {
            return None;
        }
        let d = ts.checked_sub(self.origin)?;
        (d % self.step == 0).then_some(d / self.step)
    }

    /// The grid index of position `p` when the grid covers it.
    fn index(&self, p: i64) -> Option<usize> {
        let i = p.checked_sub(self.lo)?;
        (i >= 0 && i < self.grid.span()).then_some(i as usize)
    }

    /// Whether `ts` is held, and its value when values are kept.
    pub(crate) fn get(&self, ts: i64) -> Held {
        // On the grid's span, the grid says whether the stamp is held, or held beside it.
        if let Some(i) = self.position(ts).and_then(|p| self.index(p)) {
            if self.grid.has(i) {
                return self.grid.value(i).map_or(Held::Stamp, Held::Value);
            }
            if !self.grid.beside(i) {
                return Held::No;
            }
        }
        match self.extra.binary_search_by_key(&ts, |e| e.0) {
            Ok(i) if self.keeps_values() => Held::Value(self.extra[i].1),
            Ok(_) => Held::Stamp,
            Err(_) => Held::No,
        }
    }

    /// Records a timestamp not held yet. `horizon` (ms) bounds how far apart the grid's stamps may
    /// lie: about the span of time whose windows can still change.
    ///
    /// The usual stamp (in order, one step after the last, its bit in the grid's last word) is
    /// recorded here, inlined into the caller; any other goes through [`Log::insert_any`].
    #[inline(always)]
    pub(crate) fn insert(&mut self, ts: i64, v: f64, horizon: i64) {
        if let Some(at) = self.newest_at
            && ts - self.newest == self.step
            && let Grid::Stamps(bits) = &mut self.grid
            && bits.set_in_last(at + 1)
        {
            self.held += 1;
            self.newest = ts;
            self.newest_at = Some(at + 1);
            return;
        }
        self.insert_any(ts, v, horizon);
    }

    #[inline(never)]
    fn insert_any(&mut self, ts: i64, v: f64, horizon: i64) {
        self.held += 1;
        if ts > self.newest {
            // In order, one step after the last: the next grid position.
            if let Some(at) = self.newest_at
                && ts - self.newest == self.step
                && ((at + 1) as i64) < self.grid.span()
                && self.grid.set(at + 1, v)
            {
                self.newest = ts;
                self.newest_at = Some(at + 1);
                return;
            }
            self.newest = ts;
            self.newest_at = None;
        }
        self.insert_slow(ts, v, horizon);
    }

    #[cold]
    fn insert_slow(&mut self, ts: i64, v: f64, horizon: i64) {
        if self.step == 0 {
            self.learn(ts);
        }
        if let Some(p) = self.position(ts)
            && let Some(i) = self.place(p, horizon)
        {
            let mut placed = self.grid.set(i, v);
            if !placed && let Some((only, moved)) = self.grid.rebase(i, v) {
                let ts = self.origin + (self.lo + only as i64) * self.step;
                self.put_beside(ts, moved);
                if self.newest_at == Some(only) {
                    self.newest_at = None;
                }
                placed = true;
            }
            if placed {
                if ts == self.newest {
                    self.newest_at = Some(i);
                }
                return;
            }
        }
        if self.refine(ts, horizon) {
            self.insert_slow(ts, v, horizon);
            return;
        }
        self.put_beside(ts, v);
    }

    /// Holds `ts` in the list beside the grid, marked on the grid where it covers the stamp.
    fn put_beside(&mut self, ts: i64, v: f64) {
        if let Some(i) = self.position(ts).and_then(|p| self.index(p)) {
            self.grid.set_beside(i);
        }
        let at = self.extra.partition_point(|e| e.0 < ts);
        self.extra.insert(at, (ts, v));
    }

    /// Sets up the grid from the first two stamps: the first waits in `extra`.
    fn learn(&mut self, ts: i64) {
        if let Some(&(first, _)) = self.extra.front()
            && first != ts
            && self.grid.span() == 0
        {
            self.origin = first;
            self.step = (ts - first).abs();
        }
    }

    /// Makes room for position `p` within the horizon and returns its index; `None` when it lies
    /// too far from the positions held.
    fn place(&mut self, p: i64, horizon: i64) -> Option<usize> {
        let limit = (2 * horizon / self.step.max(1)).clamp(4 * WORD, 1 << 24);
        let span = self.grid.span();
        if span == 0 {
            self.lo = p.div_euclid(WORD) * WORD;
            self.grid.grow(1, false);
            self.move_extra_onto_grid();
            return self.index(p);
        }
        let hi = self.lo + span;
        if p >= hi {
            let words = (p - hi) / WORD + 1;
            if span + words * WORD > limit {
                return None;
            }
            self.grid.grow(words as usize, false);
            self.cover(hi, hi + words * WORD);
        } else if p < self.lo {
            let words = (self.lo - p + WORD - 1) / WORD;
            if span + words * WORD > limit {
                return None;
            }
            self.grid.grow(words as usize, true);
            let lo = self.lo;
            self.lo -= words * WORD;
            self.newest_at = self.newest_at.map(|at| at + (words * WORD) as usize);
            self.cover(self.lo, lo);
        }
        self.index(p)
    }

    /// The grid has grown over positions `from .. until`: stamps of `extra` there move onto it,
    /// or are marked as held beside it, so that on its span the grid alone says what is held.
    fn cover(&mut self, from: i64, until: i64) {
        let (first, last) = (self.origin + from * self.step, self.origin + until * self.step);
        // Most growths cover only new time, beyond every stamp beside the grid.
        if self.extra.back().is_none_or(|e| e.0 < first) || self.extra.front().is_some_and(|e| e.0 >= last) {
            return;
        }
        let start = self.extra.partition_point(|e| e.0 < first);
        let end = self.extra.partition_point(|e| e.0 < last);
        let mut moved = Vec::new();
        for k in start..end {
            let (ts, v) = self.extra[k];
            let Some(i) = self.position(ts).and_then(|p| self.index(p)) else { continue };
            if self.grid.set(i, v) {
                moved.push(k);
                if ts == self.newest {
                    self.newest_at = Some(i);
                }
            } else {
                self.grid.set_beside(i);
            }
        }
        for k in moved.into_iter().rev() {
            self.extra.remove(k);
        }
    }

    /// Moves the stamps of `extra` that fall on the grid's positions onto it (or marks them).
    fn move_extra_onto_grid(&mut self) {
        let span = self.grid.span();
        self.cover(self.lo, self.lo + span);
    }

    /// A stamp off the grid whose distance to the origin shares a divisor with the step: the grid
    /// is refined to that divisor when that at most multiplies its positions by [`MAX_REFINE`].
    fn refine(&mut self, ts: i64, horizon: i64) -> bool {
        let Some(d) = ts.checked_sub(self.origin) else { return false };
        if self.step == 0 || d % self.step == 0 {
            return false;
        }
        let g = gcd(self.step, d.abs());
        let factor = self.step / g;
        if factor > MAX_REFINE || self.grid.span() * factor > (2 * horizon / g).max(4 * WORD) {
            return false;
        }
        let held: Vec<(i64, f64)> = self.grid_entries().collect();
        self.step = g;
        self.grid.clear();
        self.newest_at = None;
        self.extra.extend(held);
        self.extra.make_contiguous().sort_by_key(|e| e.0);
        let on_grid: Vec<i64> = self.extra.iter().filter_map(|&(ts, _)| self.position(ts)).collect();
        for p in on_grid {
            self.place(p, horizon);
        }
        self.move_extra_onto_grid();
        true
    }

    /// The timestamps and values on the grid, in time order.
    fn grid_entries(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        (0..self.grid.span() as usize)
            .filter(|&i| self.grid.has(i))
            .map(move |i| (self.origin + (self.lo + i as i64) * self.step, self.grid.value(i).unwrap_or(0.0)))
    }

    /// Replaces the value of a timestamp held (values kept).
    pub(crate) fn replace(&mut self, ts: i64, v: f64) {
        if let Some(i) = self.position(ts).and_then(|p| self.index(p))
            && self.grid.has(i)
        {
            if !self.grid.set(i, v) {
                // A value the grid cannot hold moves to the list beside it.
                self.put_beside(ts, v);
                if self.newest_at == Some(i) {
                    self.newest_at = None;
                }
            }
            return;
        }
        if let Ok(i) = self.extra.binary_search_by_key(&ts, |e| e.0) {
            self.extra[i].1 = v;
        }
    }

    /// Calls `f` with each timestamp held in `[from, until)` and its value (values kept), in no
    /// particular order.
    pub(crate) fn each_in(&self, from: i64, until: i64, mut f: impl FnMut(i64, f64)) {
        if self.step > 0 && self.grid.span() > 0 {
            let first = ceil_div(from - self.origin, self.step).max(self.lo);
            let last = (until - 1 - self.origin).div_euclid(self.step).min(self.lo + self.grid.span() - 1);
            for p in first..=last {
                let i = (p - self.lo) as usize;
                if self.grid.has(i)
                    && let Some(v) = self.grid.value(i)
                {
                    f(self.origin + p * self.step, v);
                }
            }
        }
        let start = self.extra.partition_point(|e| e.0 < from);
        for &(ts, v) in self.extra.iter().skip(start).take_while(|e| e.0 < until) {
            f(ts, v);
        }
    }

    /// Forgets the timestamps before `before`, whose windows have expired everywhere: those in
    /// the list beside the grid, and the grid's whole words below it. The few stamps left below
    /// `before` in the grid's first word are harmless: a reading is judged late before it is
    /// looked up, so none of them is ever taken for a repeat.
    pub(crate) fn trim(&mut self, before: i64) {
        while let Some(&(ts, _)) = self.extra.front() {
            if ts >= before {
                break;
            }
            self.extra.pop_front();
            self.held -= 1;
        }
        if self.step == 0 || self.grid.span() == 0 {
            return;
        }
        let cut = ceil_div(before - self.origin, self.step);
        while self.grid.span() > 0 && self.lo + WORD <= cut {
            self.held -= self.grid.drop_word();
            self.lo += WORD;
            self.newest_at = self.newest_at.and_then(|at| at.checked_sub(WORD as usize));
        }
        if self.grid.span() > 0 && self.held == self.extra.len() as u64 {
            self.grid.clear();
            self.newest_at = None;
        }
    }

    /// Whether the log's parts agree with each other (checked on a restored state).
    pub(crate) fn consistent(&self) -> bool {
        self.step >= 0
            && self.lo % WORD == 0
            && self.grid.span() % WORD == 0
            && self.grid.held() + self.extra.len() as u64 == self.held
            && self.extra.iter().zip(self.extra.iter().skip(1)).all(|(a, b)| a.0 < b.0)
            && self.newest_at.is_none_or(|i| self.grid.has(i))
            && self
                .extra
                .iter()
                .all(|&(ts, _)| self.position(ts).and_then(|p| self.index(p)).is_none_or(|i| self.grid.beside(i)))
    }
}

/// `a / b` rounded up (`b > 0`).
fn ceil_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b) + i64::from(a.rem_euclid(b) != 0)
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const HORIZON: i64 = 86_400_000;

    /// A repeat's value the word cannot hold goes beside the grid; the next reading of the word,
    /// too far from the word's base, makes it rebase. The stamp beside the grid is not a value of
    /// the word: taking it for one moved it beside the grid a second time, with a value decoded
    /// from its mark (18.982 here), and left the log counting one stamp fewer than it held.
    #[test]
    fn a_rebase_leaves_a_stamp_held_beside_the_grid_where_it_is() {
        let mut log = Log::new(true);
        log.insert(15_000, 0.0, HORIZON);
        log.insert(30_000, 0.0, HORIZON);
        let t = 15_000 + 541 * 15_000;
        log.insert(t, 51.749, HORIZON);
        log.replace(t, 0.0);
        assert_eq!(log.get(t), Held::Value(0.0));
        log.insert(t + 15_000, 84.517, HORIZON);
        assert!(log.consistent());
        assert_eq!(log.held(), 4);
        assert_eq!(log.get(t), Held::Value(0.0));
        assert_eq!(log.get(t + 15_000), Held::Value(84.517));
        assert_eq!(log.extra.iter().filter(|e| e.0 == t).count(), 1);
    }

    #[test]
    fn readings_in_order_fill_the_grid() {
        let mut log = Log::new(true);
        for i in 0..1000 {
            log.insert(7 + i * 15_000, i as f64 / 8.0, HORIZON);
        }
        assert_eq!(log.step, 15_000);
        assert!(log.extra.is_empty());
        assert_eq!(log.held(), 1000);
        assert!(matches!(log.grid, Grid::Decimal { decimals: 3, .. }));
        assert_eq!(log.get(7 + 500 * 15_000), Held::Value(62.5));
        assert_eq!(log.get(8 + 500 * 15_000), Held::No);
        // Whole words of 64 positions go: the stamps 896 .. 899 stay, harmlessly.
        log.trim(7 + 900 * 15_000);
        assert_eq!(log.held(), 104);
        assert_eq!(log.get(7 + 895 * 15_000), Held::No);
        assert_eq!(log.get(7 + 900 * 15_000), Held::Value(112.5));
        assert!(log.consistent());
        // An outlier whose offset from its word's base does not fit goes beside the grid.
        log.insert(7 + 1000 * 15_000, 12_345.678, HORIZON);
        log.insert(7 + 1001 * 15_000, 125.0, HORIZON);
        assert_eq!(log.extra.len(), 1);
        assert_eq!(log.get(7 + 1000 * 15_000), Held::Value(12_345.678));
        assert_eq!(log.get(7 + 1001 * 15_000), Held::Value(125.0));
        assert!(log.consistent());
    }

    proptest! {
        /// Whatever the stamps (on a cadence, jittered, refined, far apart) and values, the log
        /// answers as a map of the stamps held at or after the latest trim's bound (a trim may
        /// leave a few stamps below it, which nothing asks for: readings that old are late).
        #[test]
        fn behaves_as_a_map(
            ops in proptest::collection::vec((0i64..400, any::<bool>(), 0u8..6, any::<bool>()), 1..300),
            values in any::<bool>(),
            step in prop::sample::select(vec![1i64, 15_000, 900_000]),
        ) {
            let mut log = Log::new(values);
            let mut model: BTreeMap<i64, f64> = BTreeMap::new();
            let mut floor = i64::MIN;
            for (k, jitter, kind, trim) in ops {
                let ts = k * step + if jitter { step / 3 + 1 } else { 0 } + if kind == 5 { 1 << 40 } else { 0 };
                let v = match kind { 0 => 1.0 / 3.0, 1 => -0.0, 2 => 1e6 + f64::from(k as u32), _ => f64::from(kind) * 12.345 };
                if ts < floor {
                    continue;
                }
                if trim && k % 7 == 0 {
                    log.trim(ts);
                    model = model.split_off(&ts);
                    floor = ts;
                } else if let Some(old) = model.get_mut(&ts) {
                    let held = log.get(ts);
                    prop_assert_eq!(held, if values { Held::Value(*old) } else { Held::Stamp });
                    if values {
                        log.replace(ts, v);
                        *old = v;
                    }
                } else {
                    prop_assert_eq!(log.get(ts), Held::No);
                    log.insert(ts, v, 200 * step);
                    model.insert(ts, v);
                }
                prop_assert!(log.held() >= model.len() as u64);
                prop_assert!(log.consistent());
            }
            for (&ts, &v) in &model {
                prop_assert_eq!(log.get(ts), if values { Held::Value(v) } else { Held::Stamp });
            }
            if values {
                let mut seen = BTreeMap::new();
                log.each_in(floor.max(i64::MIN / 2), i64::MAX / 2, |ts, v| { seen.insert(ts, v.to_bits()); });
                let expected: BTreeMap<i64, u64> = model.iter().map(|(&t, v)| (t, v.to_bits())).collect();
                prop_assert_eq!(seen, expected);
            }
        }

        /// A meter's readings in order with repeats of recent stamps, its values with three
        /// decimals up to 100: a word's values often lie too far apart for its 16-bit offsets,
        /// so words rebase and values go beside the grid and come back as repeats replace them.
        /// The log answers as a map, and lists each stamp once.
        #[test]
        fn values_far_apart_in_a_word_behave_as_a_map(
            ops in proptest::collection::vec((0i64..4, any::<bool>(), 0u32..10_000, 0u8..30), 1..200),
        ) {
            let step = 15_000;
            let mut log = Log::new(true);
            let mut model: BTreeMap<i64, f64> = BTreeMap::new();
            let (mut clock, mut floor) = (0i64, i64::MIN);
            for (by, repeat, milli, trim) in ops {
                let ts = if repeat {
                    clock - by * step
                } else {
                    clock += (by + 1) * step;
                    clock
                };
                // Always three decimals: the grid keeps decimals, never turns to floats.
                let v = f64::from(milli * 10 + 1) / 1000.0;
                if ts < floor {
                    continue;
                }
                if trim == 0 {
                    log.trim(ts);
                    model = model.split_off(&ts);
                    floor = ts;
                } else if let Some(old) = model.get_mut(&ts) {
                    prop_assert_eq!(log.get(ts), Held::Value(*old));
                    log.replace(ts, v);
                    *old = v;
                } else {
                    prop_assert_eq!(log.get(ts), Held::No);
                    log.insert(ts, v, 100 * step);
                    model.insert(ts, v);
                }
                prop_assert!(log.consistent());
                prop_assert!(log.held() >= model.len() as u64);
            }
            for (&ts, &v) in &model {
                prop_assert_eq!(log.get(ts), Held::Value(v));
            }
            let mut listed = Vec::new();
            log.each_in(floor.max(i64::MIN / 2), i64::MAX / 2, |ts, v| listed.push((ts, v.to_bits())));
            listed.sort_unstable();
            let expected: Vec<(i64, u64)> = model.iter().map(|(&t, v)| (t, v.to_bits())).collect();
            prop_assert_eq!(listed, expected);
        }
    }
}

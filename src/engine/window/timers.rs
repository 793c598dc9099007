//! A window job's timers firing: windows closing (`updates` mode) and expiring as the watermark
//! passes them, an idle series' watermark moved on, and the end of input. Timers due at the same
//! time for the same series and group fire as one batch, policy by policy, so rows come out in
//! the order of (time, series, policy, kind, window) that unfused policies would give.

use super::{WindowOperator, is_finite, same};
use crate::engine::accumulator::{EXPIRED, Edges, Fused, Minimum, Sample, TIMED};
use crate::engine::clock::{Timer, TimerKind};
use crate::engine::shard::Mark;
use crate::engine::stats::PolicyStats;
use crate::engine::watermark::NO_WATERMARK;
use crate::engine::{Emit, EmitMode, Emitted};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

impl WindowOperator {
    /// Fires the timers of `clock` due at watermark `w`, in order. Inlined: with a second caller
    /// (`advance_idle`) the compiler stopped inlining it into the per-reading path, which cost
    /// about 8 instructions per reading there.
    #[inline(always)]
    pub(super) fn fire(&mut self, clock: usize, w: i64, out: &mut Emitted) {
        while let Some(t) = self.clocks[clock].pop_due(w) {
            let mut batch = std::mem::take(&mut self.scratch.batch);
            batch.clear();
            batch.push(t);
            while let Some(next) = self.clocks[clock].pop_batched(&t) {
                batch.push(next);
            }
            let mut follow = std::mem::take(&mut self.scratch.follow);
            self.run_batch(&batch, w, out, &mut follow);
            self.scratch.batch = batch;
            for next in follow.drain(..) {
                self.clocks[clock].push(next);
            }
            self.scratch.follow = follow;
        }
    }

    /// Runs the timers of one batch (same time, series and group, in order); the expiry timers
    /// of the rings' new front windows go to `follow`. Those are not earlier than the batch, so
    /// firing in order continues. `w` is the watermark they fire at (`i64::MAX` at end of input).
    fn run_batch(&mut self, batch: &[Timer], w: i64, out: &mut Emitted, follow: &mut Vec<Timer>) {
        let (sid, g) = (batch[0].series, batch[0].group as usize);
        let ring = sid as usize * self.groups.len() + g;
        let defers = self.groups[g].fused.defers();
        // Each window's slot and edges are found once for all the group's policies: writing a
        // row moves no slot and changes no reading.
        let mut rows = std::mem::take(&mut self.scratch.rows);
        rows.clear();
        for t in batch {
            // A group that defers writes its final rows when they are final (`settle`).
            if defers && t.kind == TimerKind::Expire {
                continue;
            }
            let Ok(index) = self.rings[ring].locate(t.window) else { continue };
            let Some(bounds) = self.groups[g].layout.window(t.window) else { continue };
            rows.push((index, self.edges(sid, g, index, bounds), t.kind));
        }
        for k in 0..self.groups[g].fused.outputs() {
            for (index, edges, kind) in &rows {
                self.window_row(sid, g, k, *index, edges, *kind, out);
            }
        }
        self.scratch.rows = rows;
        if defers {
            self.settle(batch, w, out);
        } else {
            for t in batch.iter().filter(|t| t.kind == TimerKind::Expire) {
                let Ok(index) = self.rings[ring].locate(t.window) else { continue };
                self.drop_slot(sid, g, index);
            }
        }
        // The first window not waiting for the series' next reading holds the ring's expiry timer.
        let first = (0..self.rings[ring].len()).find(|&i| Fused::flags(self.rings[ring].slot(i)) & EXPIRED == 0);
        if let Some(i) = first {
            let slot = self.rings[ring].slot_mut(i);
            if Fused::flags(slot) & TIMED == 0 {
                Fused::set_flag(slot, TIMED);
                let window = slot[0] as i64;
                if let Some((_, end)) = self.groups[g].layout.window(window) {
                    let at = end + self.latency;
                    follow.push(Timer { at, series: sid, group: g as u16, kind: TimerKind::Expire, window });
                }
            }
        }
        if w != i64::MAX && w >= self.series[sid as usize].trim_at {
            self.trim(sid, w);
        }
    }

    /// Writes policy `k`'s row of window slot `index` within `edges`, if it has one: closing
    /// (`updates` mode) or final (`Expire`), which also counts what the window left out.
    #[allow(clippy::too_many_arguments)]
    fn window_row(
        &mut self,
        sid: u32,
        g: usize,
        k: usize,
        index: usize,
        edges: &Edges,
        kind: TimerKind,
        out: &mut Emitted,
    ) {
        let ring = sid as usize * self.groups.len() + g;
        let asset = self.series[sid as usize].asset;
        let group = &mut self.groups[g];
        let pi = group.first_policy + k;
        let slot = self.rings[ring].slot_mut(index);
        let count = Fused::count(slot);
        // A window a repeat left without a valid value writes nothing.
        if count == 0 {
            return;
        }
        let readings = group.fused.readings(slot, &self.samples);
        // Steps and intervals left out are counted whether or not the window is written: one in a
        // window below its minimum is left out all the same.
        if kind == TimerKind::Expire {
            let left_out = group.fused.left_out(k, readings, edges);
            let stats = &mut self.stats.policies[pi];
            stats.exchanges += left_out.exchanges;
            stats.outside_slope += left_out.outside_slope;
            stats.beyond_max_gap += left_out.beyond_max_gap;
        }
        if let Some(minimum) = group.fused.below_minimum(k, count, readings, edges) {
            if kind == TimerKind::Expire {
                count_minimum(&mut self.stats.policies[pi], minimum);
            }
            return;
        }
        let value = group.fused.value(k, slot, &self.samples, edges);
        let (revision, written) = group.fused.written(k, slot);
        // A window that waited for the series' next reading may have changed since its last row
        // (the next reading arrived after it): `updates` mode writes the change as a revision.
        let changed = written.is_none_or(|bits| !same(&value, bits)) && is_finite(&value);
        if kind == TimerKind::Expire && self.emit == EmitMode::Updates && group.fused.defers() && changed {
            group.fused.wrote(k, slot, &value);
            self.stats.policies[pi].rows_written += 1;
            self.stats.rows_written += 1;
            let point = self.policies[pi].output;
            out.points.push(self.origin.row(asset, point, edges.start, value.clone(), Emit::Late, revision));
        }
        // In `updates` mode the expiry row is not written: it hands the final value downstream.
        let (emit, revision) = match kind {
            TimerKind::Expire if !is_finite(&value) => {
                self.stats.policies[pi].non_finite += 1;
                return;
            }
            TimerKind::Close if !is_finite(&value) => return,
            TimerKind::Expire if self.emit == EmitMode::Updates => (Emit::Final, 0),
            TimerKind::Expire => (Emit::Final, revision),
            TimerKind::Close => {
                group.fused.wrote(k, slot, &value);
                (Emit::OnTime, revision)
            }
        };
        if !(kind == TimerKind::Expire && self.emit == EmitMode::Updates) {
            self.stats.policies[pi].rows_written += 1;
            self.stats.rows_written += 1;
        }
        let point = self.policies[pi].output;
        out.points.push(self.origin.row(asset, point, edges.start, value, emit, revision));
    }

    /// A group whose windows wait for the series' next reading: the windows of the batch's
    /// expiry timers are marked expired, then the front windows that are final are written and
    /// removed, oldest first. An expired window is final when the window holding the series'
    /// next reading has expired too (no reading between the two can still be accepted), or at
    /// end of input. After its rows come those of the windows without readings that the step
    /// from its last reading to the next one crosses (`interpolate`, `integral`, `twa`).
    fn settle(&mut self, batch: &[Timer], w: i64, out: &mut Emitted) {
        let (sid, g) = (batch[0].series, batch[0].group as usize);
        let ring = sid as usize * self.groups.len() + g;
        for t in batch.iter().filter(|t| t.kind == TimerKind::Expire) {
            if let Ok(index) = self.rings[ring].locate(t.window) {
                Fused::set_flag(self.rings[ring].slot_mut(index), EXPIRED);
            }
        }
        while !self.rings[ring].is_empty() && Fused::flags(self.rings[ring].slot(0)) & EXPIRED != 0 {
            let slots = &self.rings[ring];
            let fused = &self.groups[g].fused;
            let next = (1..slots.len()).find(|&i| !fused.readings(slots.slot(i), &self.samples).is_empty());
            let known = next.is_some_and(|i| Fused::flags(slots.slot(i)) & EXPIRED != 0);
            if !(known || w == i64::MAX) {
                break;
            }
            let window = slots.window(0);
            let following = next.map(|i| slots.window(i));
            let last = fused.readings(slots.slot(0), &self.samples).last().copied();
            if let Some(bounds) = self.groups[g].layout.window(window) {
                let edges = self.edges(sid, g, 0, bounds);
                for k in 0..self.groups[g].fused.outputs() {
                    self.window_row(sid, g, k, 0, &edges, TimerKind::Expire, out);
                }
                if let (Some(last), Some(after), Some(following)) = (last, edges.after, following) {
                    self.crossed_rows(sid, g, (window + 1)..following, (last, after), out);
                }
            }
            if last.is_some() {
                self.series[sid as usize].registers[g].carried = last;
            }
            self.drop_slot(sid, g, 0);
        }
    }

    /// The final rows of `windows`, which hold no reading of the series and lie within the step
    /// or interval `(before, after)`: policies that give such a window a value (see
    /// [`Fused::crosses`]) write it.
    fn crossed_rows(
        &mut self,
        sid: u32,
        g: usize,
        windows: std::ops::Range<i64>,
        (before, after): (Sample, Sample),
        out: &mut Emitted,
    ) {
        let outputs = self.groups[g].fused.outputs();
        if !(0..outputs).any(|k| self.groups[g].fused.crosses(k, (before, after))) {
            return;
        }
        let asset = self.series[sid as usize].asset;
        for window in windows {
            let Some((start, end)) = self.groups[g].layout.window(window) else { continue };
            if end <= start {
                continue;
            }
            let edges = Edges { start, end, before: Some(before), after: Some(after) };
            let group = &self.groups[g];
            for k in (0..outputs).filter(|&k| group.fused.crosses(k, (before, after))) {
                let pi = group.first_policy + k;
                if let Some(minimum) = group.fused.below_minimum(k, 0, &[], &edges) {
                    count_minimum(&mut self.stats.policies[pi], minimum);
                    continue;
                }
                let value = group.fused.across(k, &[], &edges);
                if !is_finite(&value) {
                    self.stats.policies[pi].non_finite += 1;
                    continue;
                }
                self.stats.policies[pi].rows_written += 1;
                self.stats.rows_written += 1;
                let point = self.policies[pi].output;
                // `updates` mode: such a window never closed with a row of its own, so its one
                // row is written as a change; the final row hands the value downstream.
                if self.emit == EmitMode::Updates {
                    out.points.push(self.origin.row(asset, point, start, value.clone(), Emit::Late, 0));
                }
                out.points.push(self.origin.row(asset, point, start, value, Emit::Final, 0));
            }
        }
    }

    /// Removes window slot `index` of series `sid` and group `g`, its reading list given back.
    fn drop_slot(&mut self, sid: u32, g: usize, index: usize) {
        let ring = sid as usize * self.groups.len() + g;
        self.groups[g].fused.recycle(self.rings[ring].slot(index), &mut self.samples);
        self.rings[ring].remove(index);
        self.open_windows -= self.groups[g].fused.outputs() as u64;
    }

    /// Window slot `index` of series `sid` and group `g`, `[start, end)`, and the series'
    /// readings on either side of it as far as they are known: the last of the window before it
    /// (or the reading carried from the windows gone) and the first of a later window.
    pub(super) fn edges(&self, sid: u32, g: usize, index: usize, (start, end): (i64, i64)) -> Edges {
        let group = &self.groups[g];
        // Only the policies of a group that waits read across the window's edges.
        if !group.fused.defers() {
            return Edges { start, end, before: None, after: None };
        }
        let ring = &self.rings[sid as usize * self.groups.len() + g];
        let readings = |i: usize| group.fused.readings(ring.slot(i), &self.samples);
        let before = match index {
            0 => self.series[sid as usize].registers[g].carried,
            _ => (0..index).rev().find_map(|i| readings(i).last().copied()),
        };
        let after = (index + 1..ring.len()).find_map(|i| readings(i).first().copied());
        Edges { start, end, before, after }
    }

    /// Moves the watermark of the clock of series (`asset`, `point`) forward by `by` ms, firing
    /// what falls due: `--idle-timeout`'s advance for a series that has gone silent, decided at the
    /// edge from wall-clock time and handed in as plain data.
    pub(crate) fn advance_idle(&mut self, asset: u32, point: u32, by: i64, out: &mut Emitted) {
        let Some(input) = self.inputs.iter().position(|&p| p == point) else { return };
        let Some(&sid) = self.series_of[input].get(asset as usize) else { return };
        if sid == super::ABSENT || by <= 0 {
            return;
        }
        let clock = self.series[sid as usize].clock;
        let w = self.clocks[clock].watermark;
        if w == NO_WATERMARK {
            return;
        }
        let (advanced, confirmed) = self.clocks[clock].guard.advance_idle(w, by, self.max_future_skew);
        // Taken at the old watermark, before the windows the advance closes.
        if let Some(held) = confirmed {
            self.take_held(held, w, out);
        }
        self.clocks[clock].watermark = advanced;
        self.stats.final_watermark = self.stats.final_watermark.max(advanced);
        self.fire(clock, advanced, out);
    }

    /// End of input, a part at a time: every remaining timer fires, across all clocks, in
    /// (time, series, group) order, until `out` holds `part` points or no timer is left (then it
    /// returns `true`). The caller hands each part on before asking for the next, so a flush of
    /// hundreds of thousands of rows needs no buffer that size. A window waiting for its series'
    /// next reading is written at the time it expired. The first part starts with the readings
    /// still held back as too far ahead, which nothing can confirm any more.
    pub(crate) fn finish_part(&mut self, out: &mut Emitted, part: usize) -> bool {
        let mut due = match self.scratch.ending.take() {
            Some(due) => due,
            None => {
                self.drop_undecided(out);
                self.end_timers()
            }
        };
        let mut batch = std::mem::take(&mut self.scratch.batch);
        let mut follow = std::mem::take(&mut self.scratch.follow);
        while out.points.len() < part
            && let Some(t) = due.pop()
        {
            batch.clear();
            batch.push(t);
            while let Some(next) = due.peek()
                && t.batches_with(next)
            {
                batch.push(*next);
                due.pop();
            }
            if let Some(marks) = out.marks.as_mut() {
                let asset = self.series[t.series as usize].asset;
                marks.push(Mark {
                    point: out.points.len(),
                    dropped: out.dropped.len(),
                    at: t.at,
                    series: t.series,
                    asset,
                });
            }
            self.run_batch(&batch, i64::MAX, out, &mut follow);
            for next in follow.drain(..) {
                due.push(next);
            }
        }
        self.scratch.batch = batch;
        self.scratch.follow = follow;
        let done = due.is_empty();
        if !done {
            self.scratch.ending = Some(due);
        }
        done
    }

    /// Every timer left at end of input: those of every clock, and an expiry timer for each ring
    /// whose front window waits, expired, for the series' next reading.
    fn end_timers(&mut self) -> Ending {
        let mut all = Vec::new();
        for clock in &mut self.clocks {
            clock.next_due = i64::MAX;
            all.extend(std::mem::take(&mut clock.timers).into_sorted_vec());
        }
        let groups = self.groups.len();
        for (i, ring) in self.rings.iter().enumerate() {
            let (series, g) = ((i / groups) as u32, i % groups);
            if ring.is_empty() || Fused::flags(ring.slot(0)) & EXPIRED == 0 {
                continue;
            }
            let window = ring.window(0);
            if let Some((_, end)) = self.groups[g].layout.window(window) {
                let at = end + self.latency;
                all.push(Timer { at, series, group: g as u16, kind: TimerKind::Expire, window });
            }
        }
        all.sort_unstable();
        Ending { ordered: all.into(), stray: BinaryHeap::new() }
    }
}

/// The timers of an end-of-input flush, smallest first. When a ring's window expires, the timer of
/// its next window joins them; the rings of a meter export step through the same windows, so that
/// timer is nearly always as late as any queued and goes at the back of a sorted deque (a heap
/// would walk every level for each window). One that would go further in goes to a heap beside it.
#[derive(Default)]
pub(super) struct Ending {
    ordered: VecDeque<Timer>,
    stray: BinaryHeap<Reverse<Timer>>,
}

/// How many timers from the back of the deque one is compared with before it goes to the heap: a
/// few series stamped ahead of the others then cost no heap.
const NEAR_BACK: usize = 8;

impl Ending {
    fn push(&mut self, timer: Timer) {
        let len = self.ordered.len();
        let mut at = len;
        while at > 0 && len - at < NEAR_BACK && self.ordered[at - 1] > timer {
            at -= 1;
        }
        if at > 0 && self.ordered[at - 1] > timer {
            self.stray.push(Reverse(timer));
        } else {
            self.ordered.insert(at, timer);
        }
    }

    fn peek(&self) -> Option<&Timer> {
        match (self.ordered.front(), self.stray.peek()) {
            (Some(first), Some(Reverse(stray))) if stray < first => Some(stray),
            (Some(first), _) => Some(first),
            (None, stray) => stray.map(|Reverse(t)| t),
        }
    }

    fn pop(&mut self) -> Option<Timer> {
        match (self.ordered.front(), self.stray.peek()) {
            (Some(first), Some(Reverse(stray))) if stray < first => self.stray.pop().map(|Reverse(t)| t),
            (Some(_), _) => self.ordered.pop_front(),
            (None, _) => self.stray.pop().map(|Reverse(t)| t),
        }
    }

    fn is_empty(&self) -> bool {
        self.ordered.is_empty() && self.stray.is_empty()
    }
}

/// Counts a window that fell short of policy's minimum.
fn count_minimum(stats: &mut PolicyStats, minimum: Minimum) {
    match minimum {
        Minimum::Count => stats.below_min_count += 1,
        Minimum::Coverage => stats.below_min_coverage += 1,
        Minimum::Integrated => stats.nothing_integrated += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn timer(at: i64, series: u32) -> Timer {
        Timer { at, series, group: 0, kind: TimerKind::Expire, window: at }
    }

    proptest! {
        /// Whatever the order timers join in (mostly at the back, some far in, which go to the
        /// heap), they leave smallest first, as from one heap.
        #[test]
        fn end_timers_leave_in_firing_order(
            first in proptest::collection::vec((0i64..50, 0u32..4), 0..40),
            steps in proptest::collection::vec((0i64..60, 0u32..4, 0usize..3), 0..200),
        ) {
            let mut sorted: Vec<Timer> = first.iter().map(|&(at, s)| timer(at, s)).collect();
            sorted.sort_unstable();
            let mut due = Ending { ordered: sorted.clone().into(), stray: BinaryHeap::new() };
            let mut model = sorted;
            let (mut left, mut expected) = (Vec::new(), Vec::new());
            for &(at, series, pops) in &steps {
                due.push(timer(at, series));
                model.push(timer(at, series));
                for _ in 0..pops {
                    model.sort_unstable();
                    if !model.is_empty() {
                        expected.push(model.remove(0));
                    }
                    let next = due.peek().copied();
                    prop_assert_eq!(due.pop(), next);
                    left.extend(next);
                }
            }
            model.sort_unstable();
            expected.extend(model);
            while let Some(t) = due.pop() {
                left.push(t);
            }
            prop_assert!(due.is_empty());
            prop_assert_eq!(left, expected);
        }
    }
}

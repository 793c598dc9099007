//! A window job's timers firing: windows closing (`updates` mode) and expiring as the watermark
//! passes them, an idle series' watermark moved on, and the end of input. Timers due at the same
//! time for the same series and group fire as one batch, policy by policy, so rows come out in
//! the order of (time, series, policy, kind, window) that unfused policies would give.

use super::{WindowOperator, is_finite};
use crate::engine::accumulator::{Fused, Minimum, TIMED};
use crate::engine::clock::{Timer, TimerKind};
use crate::engine::shard::Mark;
use crate::engine::watermark::NO_WATERMARK;
use crate::engine::{Emit, EmitMode, Emitted, Point};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

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
        let asset = self.series[sid as usize].asset;
        for k in 0..self.groups[g].fused.outputs() {
            let pi = self.groups[g].first_policy + k;
            for t in batch {
                let Ok(index) = self.rings[ring].locate(t.window) else { continue };
                let group = &mut self.groups[g];
                let slot = self.rings[ring].slot_mut(index);
                // A window a repeat left without a valid value writes nothing.
                if Fused::count(slot) == 0 {
                    continue;
                }
                let Some((start, end)) = group.layout.window(t.window) else { continue };
                if let Some(minimum) = group.fused.below_minimum(k, slot, end - start) {
                    if t.kind == TimerKind::Expire {
                        let stats = &mut self.stats.policies[pi];
                        match minimum {
                            Minimum::Count => stats.below_min_count += 1,
                            Minimum::Coverage => stats.below_min_coverage += 1,
                        }
                    }
                    continue;
                }
                let value = group.fused.value(k, slot, &self.samples, end - start);
                if t.kind == TimerKind::Expire {
                    let left_out = group.fused.left_out(k, slot, &self.samples);
                    let stats = &mut self.stats.policies[pi];
                    stats.exchanges += left_out.exchanges;
                    stats.outside_slope += left_out.outside_slope;
                }
                let (revision, _) = group.fused.written(k, slot);
                // In `updates` mode the expiry row is not written: it hands the final value downstream.
                let (emit, revision) = match t.kind {
                    TimerKind::Expire if !is_finite(&value) => {
                        self.stats.policies[pi].non_finite += 1;
                        continue;
                    }
                    TimerKind::Close if !is_finite(&value) => continue,
                    TimerKind::Expire if self.emit == EmitMode::Updates => (Emit::Final, 0),
                    TimerKind::Expire => (Emit::Final, revision),
                    TimerKind::Close => {
                        group.fused.wrote(k, slot, &value);
                        (Emit::OnTime, revision)
                    }
                };
                if !(t.kind == TimerKind::Expire && self.emit == EmitMode::Updates) {
                    self.stats.policies[pi].rows_written += 1;
                    self.stats.rows_written += 1;
                }
                let point = self.policies[pi].output;
                out.points.push(Point {
                    job: self.job,
                    asset,
                    point,
                    model: self.model,
                    ts: start,
                    value,
                    emit,
                    revision,
                });
            }
        }
        for t in batch.iter().filter(|t| t.kind == TimerKind::Expire) {
            let Ok(index) = self.rings[ring].locate(t.window) else { continue };
            self.groups[g].fused.recycle(self.rings[ring].slot(index), &mut self.samples);
            self.rings[ring].remove(index);
            self.open_windows -= self.groups[g].fused.outputs() as u64;
            if self.rings[ring].is_empty() {
                continue;
            }
            let front = self.rings[ring].slot_mut(0);
            if Fused::flags(front) & TIMED == 0 {
                Fused::set_flag(front, TIMED);
                let window = front[0] as i64;
                if let Some((_, end)) = self.groups[g].layout.window(window) {
                    follow.push(Timer { at: end + self.latency, window, ..*t });
                }
            }
        }
        if w != i64::MAX && w >= self.series[sid as usize].trim_at {
            self.trim(sid, w);
        }
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
        let advanced = w.saturating_add(by);
        self.clocks[clock].watermark = advanced;
        self.stats.final_watermark = self.stats.final_watermark.max(advanced);
        self.fire(clock, advanced, out);
    }

    /// End of input: every remaining timer fires, across all clocks, in (time, series, group)
    /// order.
    pub(crate) fn finish(&mut self, out: &mut Emitted) {
        // A heap, not a sorted deque: each expiry adds a timer anywhere among every series' fronts.
        let mut all = BinaryHeap::new();
        for clock in &mut self.clocks {
            clock.next_due = i64::MAX;
            all.extend(std::mem::take(&mut clock.timers).into_sorted_vec().into_iter().map(Reverse));
        }
        let mut batch = Vec::new();
        let mut follow = Vec::new();
        while let Some(Reverse(t)) = all.pop() {
            batch.clear();
            batch.push(t);
            while let Some(Reverse(next)) = all.peek()
                && t.batches_with(next)
            {
                batch.push(*next);
                all.pop();
            }
            if let Some(marks) = out.marks.as_mut() {
                let asset = self.series[t.series as usize].asset;
                marks.push(Mark { point: out.points.len(), at: t.at, series: t.series, asset });
            }
            self.run_batch(&batch, i64::MAX, out, &mut follow);
            all.extend(follow.drain(..).map(Reverse));
        }
    }
}

//! Repeats in a window job: a reading whose timestamp its series holds while one of the windows
//! it belongs to can still change. What it does follows the job's `duplicates` rule:
//!
//! - `last`: it replaces the value held. Where that changes what a group aggregates, each of the
//!   group's windows that has not expired is summed again from the series' log (which keeps
//!   values under `last`); `delta`'s reading list is updated in place. A window summed again is
//!   written again in `updates` mode when it has closed, as a late reading would make it.
//! - `first`: it is dropped; the log needs timestamps only.
//! - `keep`: it is aggregated again as a new reading (the log still counts it as a repeat).
//!
//! A revision (an input row carrying meterflow's `emit`/`revision` columns, or a row another job
//! wrote) replaces whatever the rule, in a series whose log keeps values. A repeat is judged late
//! per window first, as any reading: one whose windows have all expired is late, however the
//! log still holds it.

use super::{Group, Held, Missed, Placement, Register, Window, WindowOperator, count_policies};
use crate::engine::stats::PolicyStats;
use crate::engine::watermark::{self, Arrival, NO_WATERMARK};
use crate::engine::{EmitMode, Emitted, Feed, Reading};
use crate::job::Interpolation;
use crate::job::options::Duplicates;

impl WindowOperator {
    /// Handles a reading whose timestamp series `sid` holds (`held`); the first window it
    /// missed, as [`WindowOperator::accept`] says.
    pub(super) fn repeat(
        &mut self,
        sid: u32,
        r: Reading,
        feed: Feed,
        held: Held,
        w: i64,
        out: &mut Emitted,
    ) -> Option<Missed> {
        if !self.changeable(r.point, r.ts, w) {
            return self.accept_groups(sid, r, w, out);
        }
        match feed {
            Feed::Input => self.stats.repeats += 1,
            Feed::Revision => self.stats.revisions += 1,
            Feed::Job => {}
        }
        let replaces = feed != Feed::Input || self.duplicates == Duplicates::Last;
        match held {
            Held::Value(old) if replaces => {
                let changed = old.to_bits() != r.value.to_bits();
                if feed == Feed::Input
                    && let Some(n) = self.stats.repeats_changed.as_mut()
                {
                    *n += u64::from(changed);
                }
                if changed {
                    self.logs[sid as usize].replace(r.ts, r.value);
                }
                self.each_group(
                    r,
                    |op, g| if changed { op.correct(sid, g, r, old, w, out) } else { op.count_repeat(g, r, w) },
                )
            }
            _ if self.duplicates == Duplicates::Keep => self.accept_groups(sid, r, w, out),
            _ => self.each_group(r, |op, g| op.count_repeat(g, r, w)),
        }
    }

    /// Runs `f` for each group of the reading's input, keeping the first window missed (one that
    /// a group missed entirely first), as [`WindowOperator::accept_groups`] does.
    fn each_group(&mut self, r: Reading, mut f: impl FnMut(&mut Self, usize) -> Option<Missed>) -> Option<Missed> {
        let mut missed: Option<Missed> = None;
        for g in 0..self.groups.len() {
            if self.groups[g].input == r.point
                && let Some(m) = f(self, g)
                && missed.is_none_or(|first| m.entirely && !first.entirely)
            {
                missed = Some(m);
            }
        }
        missed
    }

    /// Whether some window of some group holding a reading of `point` stamped `ts` has not expired.
    fn changeable(&mut self, point: u32, ts: i64, w: i64) -> bool {
        let latency = self.latency;
        self.groups.iter_mut().filter(|g| g.input == point).any(|g| {
            let last = g.layout.windows_of(ts).rev().find_map(|j| g.layout.window(j));
            last.is_some_and(|(_, end)| watermark::classify(end, w, latency) != Arrival::LateBeyond)
        })
    }

    /// The windows of group `g` a reading stamped `ts` belongs to, with how it arrives in each,
    /// in the operator's buffer (taken: give it back with [`WindowOperator::give_back`]).
    fn windows(&mut self, g: usize, ts: i64, w: i64) -> Vec<Window> {
        let latency = self.latency;
        let mut windows = std::mem::take(&mut self.scratch.windows);
        windows.clear();
        let layout = &mut self.groups[g].layout;
        for j in layout.windows_of(ts) {
            if let Some((start, end)) = layout.window(j) {
                windows.push(Window { number: j, start, end, arrival: watermark::classify(end, w, latency) });
            }
        }
        windows
    }

    fn give_back(&mut self, windows: Vec<Window>) {
        self.scratch.windows = windows;
    }

    /// A repeat that changes nothing for group `g` (dropped, or the same value again): counted.
    fn count_repeat(&mut self, g: usize, r: Reading, w: i64) -> Option<Missed> {
        let windows = self.windows(g, r.ts, w);
        let missed = self.count(g, &windows);
        self.give_back(windows);
        missed
    }

    /// Counts a repeat in group `g` as a repeat, or as late where every window had expired; the
    /// first window it missed.
    fn count(&mut self, g: usize, windows: &[Window]) -> Option<Missed> {
        let mut expired = windows.iter().filter(|w| w.arrival == Arrival::LateBeyond);
        let first = expired.clone().next().map(|w| (w.start, w.end));
        let missed = expired.by_ref().count() as u64;
        let entirely = missed == windows.len() as u64;
        count_policies(&mut self.stats.policies, &self.groups[g], |s: &mut PolicyStats| {
            s.read += 1;
            if entirely {
                s.late_dropped += 1;
            } else {
                s.repeats += 1;
                s.windows_missed += missed;
                s.partially_late += u64::from(missed > 0);
            }
        });
        first.map(|window| Missed { window, entirely })
    }

    /// `duplicates: last` (or a revision): the value of series `sid` at `r.ts` was `old` and is
    /// now `r.value` (already in the log); group `g`'s windows that can change follow.
    fn correct(&mut self, sid: u32, g: usize, r: Reading, old: f64, w: i64, out: &mut Emitted) -> Option<Missed> {
        let before = self.contribution(sid, g, r.ts, old);
        let after = self.lend(sid, g, r);
        let windows = self.windows(g, r.ts, w);
        if before.map(f64::to_bits) != after.map(f64::to_bits) {
            let order = (out.points.len(), self.groups[g].fused.outputs() > 1);
            for &Window { number: j, start, end, arrival } in
                windows.iter().filter(|w| w.arrival != Arrival::LateBeyond)
            {
                let ring = &mut self.rings[sid as usize * self.groups.len() + g];
                match ring.locate(j) {
                    Ok(i) => {
                        self.refold(sid, g, i, r.ts, after);
                        if self.emit == EmitMode::Updates && arrival == Arrival::LateWithin {
                            self.write_late(sid, g, i, j, out);
                        }
                    }
                    Err(_) => {
                        if let Some(v) = after {
                            self.add(sid, g, Placement { window: j, start, end, arrival }, (r.ts, v), out);
                        }
                    }
                }
            }
            self.policy_order(g, order, out);
        }
        let missed = self.count(g, &windows);
        self.give_back(windows);
        missed
    }

    /// What the value `v` stamped `ts` of series `sid` gives group `g`: itself within the
    /// threshold, else what `last_value` lent it when it arrived.
    fn contribution(&self, sid: u32, g: usize, ts: i64, v: f64) -> Option<f64> {
        contribution(&self.groups[g], &self.series[sid as usize].registers[g], ts, v)
    }

    /// What the repeat `r` gives group `g`, as a new reading would get it (the `last_value`
    /// register moves, and a value lent is remembered); the one lent to the value it replaced is
    /// forgotten.
    fn lend(&mut self, sid: u32, g: usize, r: Reading) -> Option<f64> {
        let group = &self.groups[g];
        let register = &mut self.series[sid as usize].registers[g];
        if let Ok(i) = register.lent.binary_search_by_key(&r.ts, |e| e.0) {
            register.lent.remove(i);
        }
        if group.threshold.contains(r.value) {
            if group.interpolation == Interpolation::LastValue && register.last_valid.is_none_or(|(ts, _)| r.ts >= ts) {
                register.last_valid = Some((r.ts, r.value));
            }
            return Some(r.value);
        }
        match (group.interpolation, register.last_valid) {
            (Interpolation::LastValue, Some((ts, v))) if ts <= r.ts => {
                let at = register.lent.partition_point(|e| e.0 < r.ts);
                register.lent.insert(at, (r.ts, v));
                Some(v)
            }
            _ => None,
        }
    }

    /// Sums window slot `index` of series `sid` and group `g` again from the series' log, the
    /// reading stamped `ts` now giving `after`.
    fn refold(&mut self, sid: u32, g: usize, index: usize, ts: i64, after: Option<f64>) {
        let groups = self.groups.len();
        let group = &mut self.groups[g];
        let slot = self.rings[sid as usize * groups + g].slot_mut(index);
        let Some((start, end)) = group.layout.window(slot[0] as i64) else { return };
        group.fused.replace_sample(slot, ts, after, &mut self.samples);
        group.fused.clear(slot);
        let register = &self.series[sid as usize].registers[g];
        let group = &self.groups[g];
        self.logs[sid as usize].each_in(start, end, |t, v| {
            if let Some(c) = contribution(group, register, t, v) {
                group.fused.fold(slot, t, c);
            }
        });
    }

    /// Forgets the timestamps of series `sid` whose windows have all expired at watermark `w`.
    pub(super) fn trim(&mut self, sid: u32, w: i64) {
        if w == NO_WATERMARK {
            return;
        }
        let latency = self.latency;
        let series = &mut self.series[sid as usize];
        let edge = w.saturating_sub(latency);
        let mut bound = i64::MAX;
        for group in self.groups.iter_mut().filter(|g| g.input == series.input) {
            let first = *group.layout.windows_of(edge).start();
            let start = (first..first + 3).find_map(|j| group.layout.window(j)).map_or(i64::MIN, |(s, _)| s);
            bound = bound.min(start);
        }
        let log = &mut self.logs[sid as usize];
        let held = log.held();
        log.trim(bound);
        self.open_readings -= held - log.held();
        for (register, group) in series.registers.iter_mut().zip(&self.groups) {
            if group.interpolation == Interpolation::LastValue {
                while register.lent.front().is_some_and(|e| e.0 < bound) {
                    register.lent.pop_front();
                }
            }
        }
        series.trim_at = w.saturating_add(self.trim_step);
    }
}

/// See [`WindowOperator::contribution`].
fn contribution(group: &Group, register: &Register, ts: i64, v: f64) -> Option<f64> {
    if group.threshold.contains(v) {
        return Some(v);
    }
    if group.interpolation != Interpolation::LastValue {
        return None;
    }
    register.lent.binary_search_by_key(&ts, |e| e.0).ok().map(|i| register.lent[i].1)
}

//! A reading with a new timestamp applied to its windows: the value it brings to each group
//! (threshold, `last_value`), the windows it belongs to and how it arrives in each (on time, late
//! within lateness, too late), a window opened where none was, and in `updates` mode the rows a late
//! change writes at once. The on-time lane ([`WindowOperator::push`]) is this path's usual case
//! without its loops.

use super::{Missed, Placement, WindowOperator, is_finite, same};
use crate::engine::accumulator::{EXPIRED, Fused, TIMED};
use crate::engine::clock::{Timer, TimerKind};
use crate::engine::repeats::Held;
use crate::engine::stats::PolicyStats;
use crate::engine::watermark::{self, Arrival};
use crate::engine::{Emit, EmitMode, Emitted, Point, Reading};
use crate::job::Interpolation;
use std::ops::Range;

/// How one reading counts for each policy of a group it was read by: the figures the general path
/// ([`WindowOperator::accept`]) and the short one ([`WindowOperator::take_unheld`]) both count,
/// through [`count_reading`] alone.
#[derive(Clone, Copy, Default)]
pub(super) struct Tally {
    /// Outside the threshold; `interpolated` when `last_value` lent it a value.
    out_of_threshold: bool,
    interpolated: bool,
    /// Added to a window (valid); `late_accepted` when one of them had closed.
    valid: bool,
    late_accepted: bool,
    /// Missed every window it belongs to.
    late_dropped: bool,
    /// Windows it missed while added to others.
    windows_missed: u64,
}

/// Counts a reading into each of `policies` (the policies of one group), as `tally` says.
#[inline(always)]
fn count_reading(stats: &mut [PolicyStats], policies: Range<usize>, tally: Tally) {
    for pi in policies {
        let stats = &mut stats[pi];
        stats.read += 1;
        stats.out_of_threshold += u64::from(tally.out_of_threshold);
        stats.interpolated += u64::from(tally.interpolated);
        stats.valid += u64::from(tally.valid);
        stats.late_accepted += u64::from(tally.late_accepted);
        stats.late_dropped += u64::from(tally.late_dropped);
        stats.partially_late += u64::from(tally.windows_missed > 0);
        stats.windows_missed += tally.windows_missed;
    }
}

impl WindowOperator {
    /// A reading whose timestamp the series does not hold: applied to each group of its input and
    /// recorded in the series' log unless every window it belongs to had expired.
    pub(super) fn accept_new(&mut self, sid: u32, r: Reading, w: i64, out: &mut Emitted) -> Option<Missed> {
        let missed = self.accept_groups(sid, r, w, out);
        if !missed.is_some_and(|m| m.entirely) {
            self.log(sid, r);
        }
        missed
    }

    /// Records a reading kept in its series' log, where a repeat of its stamp is recognised.
    #[inline(always)]
    pub(super) fn log(&mut self, sid: u32, r: Reading) {
        self.logs[sid as usize].insert(r.ts, r.value, self.horizon);
        self.open_readings += 1;
    }

    /// Applies a reading to each group of its input; the first window it missed (one that a
    /// group missed entirely first).
    pub(super) fn accept_groups(&mut self, sid: u32, r: Reading, w: i64, out: &mut Emitted) -> Option<Missed> {
        let mut missed: Option<Missed> = None;
        for g in 0..self.groups.len() {
            if self.groups[g].input == r.point
                && let Some(m) = self.accept(sid, g, r, w, out)
                && missed.is_none_or(|first| m.entirely && !first.entirely)
            {
                missed = Some(m);
            }
        }
        missed
    }

    /// Applies one reading to one group, given the watermark before it arrived, to each of its
    /// windows that has not expired. Returns the first expired window it missed, if any, and
    /// whether it missed all of them.
    pub(super) fn accept(&mut self, sid: u32, g: usize, r: Reading, w: i64, out: &mut Emitted) -> Option<Missed> {
        let (value, out_of_threshold) = self.valid_value(sid, g, r);
        let tally = Tally { out_of_threshold, interpolated: out_of_threshold && value.is_some(), ..Tally::default() };
        let Some(value) = value else {
            count_reading(&mut self.stats.policies, self.groups[g].policies(), tally);
            return None;
        };
        let groups = self.groups.len();
        let group = &mut self.groups[g];
        // Readings arrive mostly in order, so the usual one belongs, on time, to the newest window
        // of a tumbling layout: it is added there at once, with no search.
        if group.layout.fixed_tumbling().is_some() {
            let ring = &mut self.rings[sid as usize * groups + g];
            let end = ring.newest.1;
            if let Some(slot) = ring.newest_holding(r.ts)
                && watermark::classify(end, w, self.latency) == Arrival::OnTime
            {
                group.fused.add(slot, r.ts, value, &mut self.samples);
                count_reading(&mut self.stats.policies, group.policies(), Tally { valid: true, ..tally });
                return None;
            }
        }
        let (mut added, mut dropped, mut late) = (0u64, 0u64, false);
        let mut first_missed = None;
        let policies_before = (out.points.len(), self.groups[g].fused.outputs() > 1);
        for j in self.groups[g].layout.windows_of(r.ts) {
            let Some((start, end)) = self.groups[g].layout.window(j) else { continue };
            match watermark::classify(end, w, self.latency) {
                Arrival::LateBeyond => {
                    dropped += 1;
                    first_missed.get_or_insert((start, end));
                }
                arrival => {
                    added += 1;
                    late |= arrival == Arrival::LateWithin;
                    self.add(sid, g, Placement { window: j, start, end, arrival }, (r.ts, value), out);
                }
            }
        }
        self.policy_order(g, policies_before, out);
        let tally = match added {
            0 => Tally { late_dropped: true, ..tally },
            _ => Tally { valid: true, late_accepted: late, windows_missed: dropped, ..tally },
        };
        count_reading(&mut self.stats.policies, self.groups[g].policies(), tally);
        if added == 0 {
            return first_missed.map(|window| Missed { window, entirely: true });
        }
        first_missed.map(|window| Missed { window, entirely: false })
    }

    /// The late rows a reading wrote for several windows of a group go out policy by policy, the
    /// order of unfused policies: `before` is where they start and whether the group has more
    /// than one policy.
    pub(super) fn policy_order(&self, g: usize, (before, several): (usize, bool), out: &mut Emitted) {
        if several && out.points.len() > before + 1 {
            let first = self.groups[g].first_policy;
            let rank = |p: &Point| self.policies[first..].iter().position(|q| q.output == p.point);
            out.points[before..].sort_by_key(rank);
        }
    }

    /// The value a reading brings to a group: its own within the threshold; outside it, under
    /// `last_value`, the latest valid value of the series if that is not later than the reading.
    /// And whether it was outside the threshold.
    pub(super) fn valid_value(&mut self, sid: u32, g: usize, r: Reading) -> (Option<f64>, bool) {
        let group = &self.groups[g];
        let register = &mut self.series[sid as usize].registers[g];
        if group.threshold.contains(r.value) {
            if group.interpolation == Interpolation::LastValue && register.last_valid.is_none_or(|(ts, _)| r.ts >= ts) {
                register.last_valid = Some((r.ts, r.value));
            }
            return (Some(r.value), false);
        }
        let lent = match (group.interpolation, register.last_valid) {
            (Interpolation::LastValue, Some((ts, v))) if ts <= r.ts => Some(v),
            _ => None,
        };
        // A window summed again after a repeat needs the value lent, which the threshold alone
        // cannot give back.
        if let Some(v) = lent
            && self.logs[sid as usize].keeps_values()
        {
            let at = register.lent.partition_point(|e| e.0 < r.ts);
            register.lent.insert(at, (r.ts, v));
        }
        (lent, true)
    }

    /// Adds a value stamped `ts` to a window of a series and group, opening the window if needed;
    /// in `updates` mode a late change is written at once.
    pub(super) fn add(&mut self, sid: u32, g: usize, place: Placement, (ts, value): (i64, f64), out: &mut Emitted) {
        let Placement { window, arrival, .. } = place;
        let group = &self.groups[g];
        let ring = &mut self.rings[sid as usize * self.groups.len() + g];
        let index = match ring.locate(window) {
            Ok(i) => {
                group.fused.add(ring.slot_mut(i), ts, value, &mut self.samples);
                i
            }
            Err(i) => {
                self.open(sid, g, i, &place, (ts, value));
                i
            }
        };
        if self.emit == EmitMode::Updates && arrival == Arrival::LateWithin {
            self.write_late(sid, g, index, window, out);
        }
    }

    /// Opens window `place` of a series and group at position `i` of its ring (where
    /// [`crate::engine::open_windows::Slots::locate`] says it belongs) with its first value: its
    /// expiry timer when it is the ring's first window not waiting, its closing timer in `updates`
    /// mode, and the count of open windows that the limits and figures read.
    pub(super) fn open(&mut self, sid: u32, g: usize, i: usize, place: &Placement, (ts, value): (i64, f64)) {
        let &Placement { window, start, end, arrival } = place;
        let group = &self.groups[g];
        let series = &self.series[sid as usize];
        let ring = &mut self.rings[sid as usize * self.groups.len() + g];
        let newest = i == ring.len();
        // The first window not waiting for the series' next reading has the ring's timer.
        let timed = i == 0 || Fused::flags(ring.slot(i - 1)) & EXPIRED != 0;
        let slot = ring.insert(i);
        group.fused.open(slot, window, ts, value, &mut self.samples);
        self.open_windows += group.fused.outputs() as u64;
        self.stats.peak_open_windows = self.stats.peak_open_windows.max(self.open_windows);
        let clock = &mut self.clocks[series.clock];
        let base = Timer { at: end + self.latency, series: sid, group: g as u16, kind: TimerKind::Expire, window };
        // Windows of a ring expire in number order, so only the front one needs an expiry
        // timer: the next front's is queued when it expires.
        if timed {
            Fused::set_flag(slot, TIMED);
            clock.push(base);
        }
        // A window opened by a late reading is already closed: its first row is written by `add`.
        if self.emit == EmitMode::Updates && arrival == Arrival::OnTime {
            clock.push(Timer { at: end, kind: TimerKind::Close, ..base });
        }
        if newest {
            ring.newest = (start, end);
        }
    }

    /// The on-time lane's next window ([`WindowOperator::push`]): a reading of a known series of a
    /// one-group tumbling job, new and within the threshold, later than the ring's newest window
    /// (or the ring empty) and on time for its own, opens that window at the ring's back, as
    /// [`Self::push_any`] would, without its loops, searches and per-reading figures. Returns
    /// whether it took the reading; the general path takes any other.
    #[inline(never)]
    pub(super) fn open_next(&mut self, sid: u32, clock: usize, r: Reading, out: &mut Emitted) -> bool {
        let w = self.clocks[clock].watermark;
        let ring = &self.rings[sid as usize];
        // A ring restored from a saved state, or whose newest window went, does not know its
        // newest bounds (`start > end`): the general path searches it.
        let (newest_start, newest_end) = ring.newest;
        let later = ring.is_empty() || (newest_start < newest_end && r.ts >= newest_end);
        if !later || !self.clocks[clock].guard.passes(w, r.ts, self.max_future_skew) {
            return false;
        }
        let i = ring.len();
        let layout = &mut self.groups[0].layout;
        let window = *layout.windows_of(r.ts).end();
        let Some((start, end)) = layout.window(window) else { return false };
        if watermark::classify(end, w, self.latency) != Arrival::OnTime {
            return false;
        }
        self.open(sid, 0, i, &Placement { window, start, end, arrival: Arrival::OnTime }, (r.ts, r.value));
        self.lane_taken += 1;
        self.log(sid, r);
        self.move_clock(sid, clock, w, r.ts, out);
        true
    }

    /// A reading of a known series of a one-group tumbling job that the lane did not take, tried
    /// first on the general path ([`Self::push_any`]), when the log does not hold its stamp and the
    /// future-skew guard has no say: a value outside the threshold is counted and its stamp logged
    /// (in a meter feed, a glitch); a reading stamped before the series' newest one and not too
    /// late for its window (mostly one of the window before the newest, late within lateness) is
    /// added to it through [`Self::add`]. Both as the general path would, without its series
    /// lookup, guard and group loop. Any other reading (a repeat, one too late, a new one the lane
    /// left) is left to the general path, before anything moves. Returns whether it took it.
    #[inline(never)]
    pub(super) fn take_unheld(&mut self, sid: u32, clock: usize, r: Reading, out: &mut Emitted) -> bool {
        let w = self.clocks[clock].watermark;
        let new = self.logs[sid as usize].is_new(r.ts);
        if !(new || matches!(self.logs[sid as usize].get(r.ts), Held::No))
            || !self.clocks[clock].guard.passes(w, r.ts, self.max_future_skew)
        {
            return false;
        }
        // For every policy, read and counted as the general path counts it (a tally per branch, so
        // that the figures it leaves at zero cost nothing); read and kept by the job, its stamp
        // logged so that a repeat of it is known.
        if !self.groups[0].threshold.contains(r.value) {
            // Valid for none: a lane's job has no `last_value` to lend a value.
            let tally = Tally { out_of_threshold: true, ..Tally::default() };
            count_reading(&mut self.stats.policies, self.groups[0].policies(), tally);
        } else {
            let layout = &mut self.groups[0].layout;
            let window = *layout.windows_of(r.ts).end();
            let Some((start, end)) = layout.window(window) else { return false };
            let arrival = watermark::classify(end, w, self.latency);
            if new || arrival == Arrival::LateBeyond {
                return false;
            }
            let before = (out.points.len(), self.groups[0].fused.outputs() > 1);
            self.add(sid, 0, Placement { window, start, end, arrival }, (r.ts, r.value), out);
            self.policy_order(0, before, out);
            let tally = Tally { valid: true, late_accepted: arrival == Arrival::LateWithin, ..Tally::default() };
            count_reading(&mut self.stats.policies, self.groups[0].policies(), tally);
        }
        self.stats.rows_read += 1;
        self.stats.kept += 1;
        self.log(sid, r);
        self.move_clock(sid, clock, w, r.ts, out);
        true
    }

    /// `updates` mode: the rows of window slot `index` whose value a late reading changed.
    pub(super) fn write_late(&mut self, sid: u32, g: usize, index: usize, window: i64, out: &mut Emitted) {
        let groups = self.groups.len();
        let group = &mut self.groups[g];
        let Some((start, end)) = group.layout.window(window) else { return };
        let asset = self.series[sid as usize].asset;
        let edges = self.edges(sid, g, index, (start, end));
        let group = &mut self.groups[g];
        let slot = self.rings[sid as usize * groups + g].slot_mut(index);
        let count = Fused::count(slot);
        for k in 0..group.fused.outputs() {
            let (revision, written) = group.fused.written(k, slot);
            let value = (count > 0
                && group.fused.below_minimum(k, count, group.fused.readings(slot, &self.samples), &edges).is_none())
            .then(|| group.fused.value(k, slot, &self.samples, &edges))
            .filter(is_finite);
            let Some(value) = value else {
                // `final` mode would write no row now; the row written stands, and is counted once.
                if written.is_some() {
                    group.fused.forget_written(k, slot);
                    self.stats.updates_left_standing += 1;
                }
                continue;
            };
            if written.is_some_and(|bits| same(&value, bits)) {
                continue;
            }
            group.fused.wrote(k, slot, &value);
            let pi = group.first_policy + k;
            self.stats.policies[pi].rows_written += 1;
            self.stats.rows_written += 1;
            out.points.push(self.origin.row(asset, self.policies[pi].output, start, value, Emit::Late, revision));
        }
    }
}

//! What a window's readings in time order give beyond a few running numbers: the increase of a
//! cumulative register under a policy's [`RegisterRules`] (with the steps to the readings on
//! either side of the window, under its `boundary`), the integral of a series over the window
//! ([`integrate`]: `integral`, `twa`), and the exact order statistics
//! (`median`, `pNN`) and standard deviation of its values. Each reads the window's reading list
//! (see [`super::accumulator`]), sorted by timestamp with one reading per timestamp, so the result
//! depends on the readings accepted and never on their arrival order.

use super::exact::{ExactSum, Sample};
use crate::job::{Boundary, Integration, Method, RegisterRules, Reset};
use crate::time::MS_PER_HOUR;

/// Steps of a register's readings left out of its increase, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LeftOut {
    /// Steps across a drop under `reset: exchange` (a new meter).
    pub(crate) exchanges: u64,
    /// Steps whose increase per hour (after the scale) lies outside the `slope`.
    pub(crate) outside_slope: u64,
    /// Intervals longer than `max_gap` (`integral`, `twa`): not integrated.
    pub(crate) beyond_max_gap: u64,
}

/// The increase of a register over `samples` (sorted by time) under `rule`, and the steps left
/// out. Each step from `a` to the next value `b` adds `b - a`, or on a drop by more than the
/// rule's tolerance what its `reset` says: `b` (reset to zero), `at - a + b` (rollover) or nothing
/// (exchange); a step whose increase, scaled, per hour lies outside the `slope` adds nothing. The
/// sum is kept in its telescoped form, `last - first` plus a correction per such step (`a` for a
/// reset to zero, `at` for a rollover, `a - b` for a step left out), added exactly and rounded
/// once, so a register without drops gives exactly `last - first`; the scale multiplies the
/// result once.
pub(crate) fn increase(samples: &[Sample], rule: &RegisterRules) -> (f64, LeftOut) {
    increase_of(samples.iter().copied(), rule)
}

/// [`increase`] over the readings `chain` gives in time order.
fn increase_of(chain: impl Iterator<Item = Sample> + Clone, rule: &RegisterRules) -> (f64, LeftOut) {
    let mut left_out = LeftOut::default();
    let (mut first, mut last) = (None, None);
    for s in chain.clone() {
        first.get_or_insert(s);
        last = Some(s);
    }
    let (Some(first), Some(last)) = (first, last) else { return (0.0, left_out) };
    let mut sum = ExactSum::default();
    sum.add(last.1);
    sum.add(-first.1);
    let mut previous: Option<Sample> = None;
    for b in chain {
        let Some(a) = previous.replace(b) else { continue };
        match judge(a, b, rule) {
            Step::Booked { correction, .. } => {
                if let Some(c) = correction {
                    sum.add(c);
                }
            }
            out => {
                left_out.count(out);
                sum.add(a.1);
                sum.add(-b.1);
            }
        }
    }
    let value = if rule.scale == 1.0 { sum.value() } else { sum.value() * rule.scale };
    (value, left_out)
}

/// What the rule makes of the step between two readings.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    /// Booked: its increase (before the scale), and the telescoped sum's correction for a drop.
    Booked {
        increase: f64,
        correction: Option<f64>,
    },
    Exchange,
    OutsideSlope,
}

impl LeftOut {
    fn count(&mut self, step: Step) {
        match step {
            Step::Exchange => self.exchanges += 1,
            Step::OutsideSlope => self.outside_slope += 1,
            Step::Booked { .. } => {}
        }
    }
}

/// The step from reading `a` to the next reading `b` under `rule` (see [`increase`]).
fn judge((ta, a): Sample, (tb, b): Sample, rule: &RegisterRules) -> Step {
    let dropped = b < a && a - b > rule.reset_tolerance;
    let (increase, correction) = match rule.reset {
        _ if !dropped => (b - a, None),
        Reset::Zero => (b, Some(a)),
        Reset::Rollover { at } => (at - a + b, Some(at)),
        Reset::Exchange => return Step::Exchange,
    };
    if let Some(slope) = rule.slope {
        let per_hour = increase * rule.scale * MS_PER_HOUR as f64 / (tb - ta) as f64;
        if !slope.contains(per_hour) {
            return Step::OutsideSlope;
        }
    }
    Step::Booked { increase, correction }
}

/// Whether the rule books the step from reading `a` to the next reading `b` (rather than leave
/// it out: a meter exchange, an increase outside the slope).
pub(crate) fn books(a: Sample, b: Sample, rule: &RegisterRules) -> bool {
    matches!(judge(a, b, rule), Step::Booked { .. })
}

/// The part of the step `a -> b` (scaled) that falls in `[start, end)`, in proportion to time.
fn share(a: Sample, b: Sample, rule: &RegisterRules, (start, end): (i64, i64)) -> f64 {
    let Step::Booked { increase, .. } = judge(a, b, rule) else { return 0.0 };
    let within = b.0.min(end) - a.0.max(start);
    if within <= 0 {
        return 0.0;
    }
    increase * rule.scale * within as f64 / (b.0 - a.0) as f64
}

/// A window `[start, end)`, its readings in time order, and the series' readings on either side:
/// the last before it and the first after it, once known.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span<'a> {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) before: Option<Sample>,
    pub(crate) samples: &'a [Sample],
    pub(crate) after: Option<Sample>,
}

impl Span<'_> {
    /// The readings from the one before the window to the one after it.
    fn chain(&self) -> impl Iterator<Item = Sample> + Clone + '_ {
        self.before.into_iter().chain(self.samples.iter().copied()).chain(self.after)
    }
}

/// `delta` under the policy's `boundary` over a window (see [`increase`]): `none` books the steps
/// between the window's readings; `previous` those and the step to the next reading; `interpolate`
/// those and the part of each step across an edge that falls in the window, in proportion to time
/// (a window without readings of its own gets its part of the step that crosses it). Steps left
/// out are counted in the window of the step's first reading, so each is counted once.
pub(crate) fn delta(span: &Span<'_>, rule: &RegisterRules) -> (f64, LeftOut) {
    match rule.boundary {
        Boundary::None => increase(span.samples, rule),
        Boundary::Previous => increase_of(span.samples.iter().copied().chain(span.after), rule),
        Boundary::Interpolate => {
            let bounds = (span.start, span.end);
            let (Some(&first), Some(&last)) = (span.samples.first(), span.samples.last()) else {
                return match (span.before, span.after) {
                    (Some(a), Some(b)) => (share(a, b, rule, bounds), LeftOut::default()),
                    _ => (0.0, LeftOut::default()),
                };
            };
            let (mut value, mut left_out) = increase(span.samples, rule);
            if let Some(a) = span.before {
                value += share(a, first, rule, bounds);
            }
            if let Some(b) = span.after {
                value += share(last, b, rule, bounds);
                left_out.count(judge(last, b, rule));
            }
            (value, left_out)
        }
    }
}

/// What integrating a series over a window gave.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Integrated {
    /// The integral in value x milliseconds.
    pub(crate) area: f64,
    /// The milliseconds integrated.
    pub(crate) duration: i64,
    /// Intervals starting in the window longer than `max_gap`: not integrated.
    pub(crate) gaps: u64,
}

/// The integral of a series over a window under `rule`: each interval between consecutive readings
/// (the one before the window and the one after it included) not longer than `max_gap`, cut to
/// the window, adds `p1 x (e - s)` (`left`) or `(p(s) + p(e)) / 2 x (e - s)` (`trapezoid`, the
/// values at a cut interpolated linearly). The parts are summed exactly, in time order.
pub(crate) fn integrate(span: &Span<'_>, rule: &Integration) -> Integrated {
    let mut area = ExactSum::default();
    let (mut duration, mut gaps) = (0i64, 0u64);
    let mut previous: Option<Sample> = None;
    for b in span.chain() {
        let Some(a) = previous.replace(b) else { continue };
        let length = b.0 - a.0;
        if rule.max_gap.is_some_and(|gap| length > gap) {
            gaps += u64::from(a.0 >= span.start);
            continue;
        }
        let (s, e) = (a.0.max(span.start), b.0.min(span.end));
        if e <= s {
            continue;
        }
        let at = |t: i64| {
            if t == a.0 {
                a.1
            } else if t == b.0 {
                b.1
            } else {
                a.1 + (b.1 - a.1) * (t - a.0) as f64 / length as f64
            }
        };
        let part = match rule.method {
            Method::Left => a.1 * (e - s) as f64,
            Method::Trapezoid => (at(s) + at(e)) / 2.0 * (e - s) as f64,
        };
        area.add(part);
        duration += e - s;
    }
    Integrated { area: area.value(), duration, gaps }
}

/// The values of `samples` sorted, into `sorted` (reused).
pub(crate) fn sorted_values(samples: &[Sample], sorted: &mut Vec<f64>) {
    sorted.clear();
    sorted.extend(samples.iter().map(|s| s.1));
    sorted.sort_by(f64::total_cmp);
}

/// The percentile at `hundredths` of a percent (`9500`: p95) of `sorted` (not empty): at rank
/// `h = (n - 1) p`, `x[k] + f (x[k + 1] - x[k])` with `k` and `f` the whole and fractional parts
/// of `h`, worked out in whole hundredths so `f` is one correctly rounded division.
pub(crate) fn percentile(sorted: &[f64], hundredths: u16) -> f64 {
    let rank = (sorted.len() as u64 - 1) * u64::from(hundredths);
    let (k, rest) = ((rank / 10_000) as usize, rank % 10_000);
    if rest == 0 {
        return sorted[k];
    }
    let f = rest as f64 / 10_000.0;
    sorted[k] + f * (sorted[k + 1] - sorted[k])
}

/// The population standard deviation of `sorted` (not empty): the mean and the squared
/// deviations summed exactly in sorted order, so the result does not depend on arrival order.
pub(crate) fn stddev(sorted: &[f64]) -> f64 {
    let n = sorted.len() as f64;
    let mut sum = ExactSum::default();
    sorted.iter().for_each(|v| sum.add(*v));
    let mean = sum.value() / n;
    let mut squares = ExactSum::default();
    sorted.iter().for_each(|v| squares.add((v - mean) * (v - mean)));
    (squares.value() / n).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::PolicyRules;

    fn stamped(values: &[f64]) -> Vec<Sample> {
        values.iter().enumerate().map(|(i, v)| (i as i64 * 900_000, *v)).collect()
    }

    fn rule(reset: Reset, reset_tolerance: f64, scale: f64) -> RegisterRules {
        RegisterRules { reset, reset_tolerance, scale, ..PolicyRules::default().register }
    }

    #[test]
    fn a_reset_to_zero_books_the_value_after_it() {
        let r = rule(Reset::Zero, 0.0, 1.0);
        assert_eq!(increase(&stamped(&[100.0, 110.0, 5.0, 20.0]), &r).0, 30.0);
        assert_eq!(increase(&stamped(&[0.1, 0.2, 0.3]), &r).0, 0.3 - 0.1);
        assert_eq!(increase(&stamped(&[7.0]), &r).0, 0.0);
    }

    #[test]
    fn a_rollover_books_the_way_round() {
        let r = rule(Reset::Rollover { at: 100_000.0 }, 0.0, 1.0);
        // 99999.5 -> 99999.9 (+0.4), wraps: 100000 - 99999.9 + 0.5 (+0.6), 0.5 -> 1.5 (+1).
        assert_eq!(increase(&stamped(&[99_999.5, 99_999.9, 0.5, 1.5]), &r).0, 2.0);
    }

    #[test]
    fn an_exchange_leaves_the_step_across_the_drop_out() {
        let r = rule(Reset::Exchange, 0.0, 1.0);
        assert_eq!(increase(&stamped(&[1520.5, 1521.25, 3.25, 4.0]), &r).0, 1.5);
    }

    #[test]
    fn a_drop_within_the_tolerance_is_noise() {
        let jitter = stamped(&[1000.0, 1000.25, 1000.0, 1000.5]);
        assert_eq!(increase(&jitter, &rule(Reset::Zero, 0.5, 1.0)).0, 0.5);
        assert_eq!(increase(&jitter, &rule(Reset::Zero, 0.0, 1.0)).0, 1000.75);
        // A drop beyond the tolerance is still a reset.
        assert_eq!(increase(&stamped(&[1001.0, 2.0, 3.5]), &rule(Reset::Zero, 0.5, 1.0)).0, 3.5);
    }

    #[test]
    fn steps_outside_the_slope_are_left_out_and_counted() {
        let r = RegisterRules {
            slope: Some(crate::job::threshold::Threshold::parse("[0, 60]").unwrap()),
            ..rule(Reset::Zero, 0.0, 40.0)
        };
        // 15-minute steps of 0.25, 0.5, 0.25, scaled by 40: 40, 80 and 40 per hour.
        let (value, left_out) = increase(&stamped(&[100.0, 100.25, 100.75, 101.0]), &r);
        assert_eq!((value, left_out), (20.0, LeftOut { outside_slope: 1, ..LeftOut::default() }));
        let (value, left_out) = increase(&stamped(&[1520.5, 1521.25, 3.25, 4.0]), &rule(Reset::Exchange, 0.0, 1.0));
        assert_eq!((value, left_out), (1.5, LeftOut { exchanges: 1, ..LeftOut::default() }));
    }

    #[test]
    fn the_scale_multiplies_the_increase() {
        assert_eq!(increase(&stamped(&[100.0, 100.25, 100.75, 101.0]), &rule(Reset::Zero, 0.0, 40.0)).0, 40.0);
    }

    #[test]
    fn percentiles_interpolate_between_the_closest_ranks() {
        let mut sorted = Vec::new();
        sorted_values(&stamped(&[4.0, 9.0, 2.0, 5.0, 4.0, 7.0, 4.0, 5.0]), &mut sorted);
        assert_eq!(sorted, [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(percentile(&sorted, 5000), 4.5);
        assert_eq!(percentile(&sorted, 9500), 8.3);
        assert_eq!(percentile(&sorted, 0), 2.0);
        assert_eq!(percentile(&sorted, 10_000), 9.0);
        assert_eq!(percentile(&[7.0], 9500), 7.0);
        assert_eq!(stddev(&sorted), 2.0);
        assert_eq!(stddev(&[7.0]), 0.0);
    }

    /// A simulated meter: its true increments (quarters, so every sum is exact), and when it
    /// wraps, is reset or exchanged. The model books the true increments; the rules must too.
    mod meters {
        use super::*;
        use proptest::prelude::*;

        /// Steps of a meter: (increment in quarters, what happens before the reading).
        fn steps() -> impl Strategy<Value = (i64, Vec<(i64, u8)>)> {
            (0i64..4000, prop::collection::vec((0i64..200, 0u8..10), 1..60))
        }

        proptest! {
            /// A register wrapping at 1000: the rollover rule books every true increment.
            #[test]
            fn rollover_books_the_true_increase((start, steps) in steps()) {
                let (mut unwrapped, mut total, mut samples) = (start, 0i64, Vec::new());
                samples.push((0, (unwrapped % 4000) as f64 / 4.0));
                for (i, (inc, _)) in steps.iter().enumerate() {
                    unwrapped += inc;
                    total += inc;
                    samples.push(((i as i64 + 1) * 900_000, (unwrapped % 4000) as f64 / 4.0));
                }
                let r = rule(Reset::Rollover { at: 1000.0 }, 0.0, 1.0);
                prop_assert_eq!(increase(&samples, &r).0, total as f64 / 4.0);
            }

            /// Meters exchanged for new ones at random: the exchange rule books each meter's own
            /// increments and counts the exchanges (a new meter starts below the old reading).
            #[test]
            fn exchange_books_each_meters_increase((start, steps) in steps()) {
                let (mut reading, mut total, mut exchanges) = (start + 4000, 0i64, 0u64);
                let mut samples = vec![(0, reading as f64 / 4.0)];
                for (i, (inc, event)) in steps.iter().enumerate() {
                    if *event == 0 && reading > 0 {
                        reading = (reading - 1).min(*inc);
                        exchanges += 1;
                    } else {
                        reading += inc;
                        total += inc;
                    }
                    samples.push(((i as i64 + 1) * 900_000, reading as f64 / 4.0));
                }
                let (value, left_out) = increase(&samples, &rule(Reset::Exchange, 0.0, 1.0));
                prop_assert_eq!(value, total as f64 / 4.0);
                prop_assert_eq!(left_out.exchanges, exchanges);
            }

            /// Steps above a rate limit are left out and counted; the rest are booked, scaled.
            #[test]
            fn slope_leaves_out_exactly_the_fast_steps((start, steps) in steps()) {
                let limit = 400.0; // per hour: 100 per 15-minute step, after a scale of 2
                let slope = crate::job::threshold::Threshold::parse("[0, 400]").unwrap();
                let r = RegisterRules { slope: Some(slope), ..rule(Reset::Zero, 0.0, 2.0) };
                let (mut reading, mut kept, mut outside) = (start, 0i64, 0u64);
                let mut samples = vec![(0, reading as f64 / 4.0)];
                for (i, (inc, _)) in steps.iter().enumerate() {
                    reading += inc;
                    if *inc as f64 / 4.0 * 2.0 * 4.0 > limit {
                        outside += 1;
                    } else {
                        kept += inc;
                    }
                    samples.push(((i as i64 + 1) * 900_000, reading as f64 / 4.0));
                }
                let (value, left_out) = increase(&samples, &r);
                prop_assert_eq!(value, kept as f64 / 4.0 * 2.0);
                prop_assert_eq!(left_out.outside_slope, outside);
            }
        }
    }
}

//! Property tests of window jobs: with a lateness that accepts every reading, the `final` output
//! does not depend on the order readings arrive in (the contract, emit modes), for every aggregation,
//! tumbling and sliding windows, in UTC and aligned to Dublin local days across a clock change.
//! Timestamps are distinct: of readings with equal timestamps the later arrival wins by design.

use meterflow::engine::names::Names;
use meterflow::engine::{Dropped, Duplicates, EngineOptions, NO_MODEL, Pipeline, Point, Reading, Sink};
use meterflow::job::threshold::Threshold;
use meterflow::job::{Aggregation, Interpolation, Job, JobKind, PolicyRules, WindowJob, WindowPolicy, WindowType};
use meterflow::time::period::Period;
use meterflow::time::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, parse_timestamp};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Default)]
struct Collect {
    points: Vec<Point>,
    dropped: usize,
}

impl Sink for Collect {
    fn point(&mut self, point: &Point) {
        self.points.push(point.clone());
    }

    fn dropped(&mut self, _: &Dropped) {
        self.dropped += 1;
    }
}

fn job(
    window: WindowType,
    timezone: Option<&str>,
    sizes: &[i64],
    threshold: Threshold,
    interpolation: Interpolation,
) -> Job {
    let aggregations = [
        Aggregation::First,
        Aggregation::Last,
        Aggregation::Range,
        Aggregation::Delta,
        Aggregation::Max,
        Aggregation::Cnt,
        Aggregation::Median,
        Aggregation::Percentile(9500),
        Aggregation::Stddev,
    ];
    let mut policies = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        for (k, aggregation) in aggregations.iter().enumerate() {
            let output = format!("Out{i}x{k}");
            policies.push(WindowPolicy {
                input: "Reading".into(),
                threshold,
                threshold_site: None,
                interpolation,
                aggregation: *aggregation,
                window_size: Period::Fixed(*size),
                output,
                rules: PolicyRules::default(),
            });
        }
    }
    let plan = WindowJob {
        latency: 30 * MS_PER_DAY,
        max_future_skew: None,
        window,
        timezone: timezone.map(|z| z.parse().unwrap()),
        offset: 0,
        quality: None,
        duplicates: Duplicates::Last,
        policies,
    };
    Job {
        name: "property".into(),
        file: "property.yaml".into(),
        model: "ElectricMeter".into(),
        kind: JobKind::Window(plan),
        warnings: Vec::new(),
    }
}

/// Runs `readings` (timestamp, value) in the order given through a fresh pipeline.
fn run(make: &dyn Fn() -> Job, readings: &[(i64, f64)]) -> Collect {
    let mut names = Names::default();
    let mut pipeline = Pipeline::new(vec![make()], &mut names, EngineOptions::default());
    let point = names.points.intern("Reading");
    let asset = names.assets.intern("m1");
    let mut sink = Collect::default();
    for &(ts, value) in readings {
        pipeline.push(Reading { asset, point, model: NO_MODEL, ts, value, quality: 0 }, &mut sink);
    }
    pipeline.finish(&mut sink);
    sink
}

/// Readings of one series: (timestamp, value).
type Readings = Vec<(i64, f64)>;

/// Distinct timestamps over the three days around Dublin's spring-forward day, with values that
/// include drops (counter resets) and some outside `[0, 900)`.
fn readings() -> impl Strategy<Value = Readings> {
    let start = parse_timestamp(b"2024-03-30T00:00:00Z").unwrap();
    prop::collection::btree_map(0..3 * 24 * 60i64, 0..1000u32, 1..60).prop_map(move |m: BTreeMap<i64, u32>| {
        m.into_iter().map(|(minute, v)| (start + minute * MS_PER_MINUTE, f64::from(v) / 4.0)).collect()
    })
}

/// The same readings in event-time order and in an arbitrary order.
fn shuffled() -> impl Strategy<Value = (Readings, Readings)> {
    readings().prop_flat_map(|ordered| {
        let shuffled = Just(ordered.clone()).prop_shuffle();
        (Just(ordered), shuffled)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn tumbling_local_days_do_not_depend_on_arrival_order((ordered, shuffled) in shuffled()) {
        let make = || job(WindowType::Tumbling, Some("Europe/Dublin"), &[MS_PER_DAY, 6 * MS_PER_HOUR, 15 * MS_PER_MINUTE], Threshold::ALL, Interpolation::Ignore);
        let (a, b) = (run(&make, &ordered), run(&make, &shuffled));
        prop_assert_eq!(a.dropped + b.dropped, 0);
        prop_assert_eq!(a.points, b.points);
    }

    #[test]
    fn sliding_windows_do_not_depend_on_arrival_order((ordered, shuffled) in shuffled()) {
        let utc = || job(WindowType::Sliding { slide: Period::Fixed(5 * MS_PER_HOUR) }, None, &[10 * MS_PER_HOUR, 5 * MS_PER_HOUR], Threshold::ALL, Interpolation::Ignore);
        prop_assert_eq!(run(&utc, &ordered).points, run(&utc, &shuffled).points);
        let local = || job(WindowType::Sliding { slide: Period::Fixed(MS_PER_DAY) }, Some("Europe/Dublin"), &[2 * MS_PER_DAY], Threshold::ALL, Interpolation::Ignore);
        prop_assert_eq!(run(&local, &ordered).points, run(&local, &shuffled).points);
    }

    /// In event-time order, `last_value` gives each out-of-threshold reading the previous valid
    /// value by event time: the same as replacing them in the input before running `ignore`.
    #[test]
    fn last_value_in_order_is_the_previous_valid_value(ordered in readings()) {
        let threshold = Threshold::parse("[0, 200)").unwrap();
        let make = || job(WindowType::Tumbling, Some("Europe/Dublin"), &[MS_PER_DAY, 15 * MS_PER_MINUTE], threshold, Interpolation::LastValue);
        let mut previous = None;
        let replaced: Readings = ordered
            .iter()
            .filter_map(|&(ts, v)| {
                if threshold.contains(v) {
                    previous = Some(v);
                }
                previous.map(|p| (ts, if threshold.contains(v) { v } else { p }))
            })
            .collect();
        let plain = || job(WindowType::Tumbling, Some("Europe/Dublin"), &[MS_PER_DAY, 15 * MS_PER_MINUTE], Threshold::ALL, Interpolation::Ignore);
        prop_assert_eq!(run(&make, &ordered).points, run(&plain, &replaced).points);
    }
}

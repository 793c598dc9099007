//! Issue 29's energy rules against independent models: `delta` under `boundary: previous` and
//! `interpolate` books every increase of a register exactly once (the sum of a series' window
//! deltas is its last accepted reading minus its first), for random window sizes, lateness,
//! arrival orders and `--state` cuts; `integral` and `twa` equal a left or trapezoid sum worked
//! out piece by piece between the readings and the window edges.

use crate::state_split::{csv, run_jobs, split_runs_of};
use meterflow::engine::{EmitMode, EngineOptions, WatermarkScope};
use meterflow::job::{Job, load_sources};
use meterflow::time::parse_timestamp;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn load(yaml: &str) -> Vec<Job> {
    load_sources(vec![("e.yaml".to_string(), yaml.as_bytes().to_vec())]).unwrap_or_else(|e| panic!("jobs load: {e}"))
}

fn options() -> EngineOptions {
    EngineOptions { emit: EmitMode::Final, watermark: WatermarkScope::Series, ..EngineOptions::default() }
}

/// A data line's fields back: (timestamp in ms, asset, point, value).
fn fields(line: &str) -> (i64, String, String, f64) {
    let f: Vec<&str> = line.split(',').collect();
    let ts = parse_timestamp(f[0].as_bytes()).unwrap_or_else(|_| f[0].parse().unwrap());
    (ts, f[1].to_string(), f[2].to_string(), f[3].parse().unwrap())
}

/// The data rows of a CSV text (header dropped).
fn rows(text: &str) -> impl Iterator<Item = (i64, String, String, f64)> + '_ {
    text.lines().skip(1).filter(|l| !l.is_empty()).map(fields)
}

/// Registers of two meters: distinct timestamps (whole seconds over three hours) and increases in
/// quarters, so every `previous` sum is exact; each reading arrives after a random delay.
fn registers() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        (0u8..2, 0i64..10_800, 0u32..40, prop::sample::select(vec![0i64, 0, 0, 90, 600, 2400])),
        1..50,
    )
    .prop_map(|rows| {
        let mut by_meter: BTreeMap<(u8, i64), (u32, i64)> = BTreeMap::new();
        for (meter, second, increase, delay) in rows {
            by_meter.insert((meter, second * 1000), (increase, delay * 1000));
        }
        let mut register = [1000.0f64, 52.25];
        let mut arrivals: Vec<(i64, String)> = by_meter
            .into_iter()
            .map(|((meter, ts), (increase, delay))| {
                register[meter as usize] += f64::from(increase) / 4.0;
                (ts + delay, format!("{ts},m{meter},E,{}", register[meter as usize]))
            })
            .collect();
        arrivals.sort_by_key(|(arrival, _)| *arrival);
        arrivals.into_iter().map(|(_, line)| line).collect()
    })
}

/// Per meter, the last accepted reading minus the first: every line not in the late output.
fn increases(lines: &[String], late: &str) -> BTreeMap<String, f64> {
    let dropped: Vec<(i64, String)> = rows(late).map(|(ts, asset, _, _)| (ts, asset)).collect();
    let mut kept: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for (ts, asset, _, value) in lines.iter().map(|l| fields(l)) {
        if !dropped.contains(&(ts, asset.clone())) {
            kept.entry(asset).or_default().push((ts, value));
        }
    }
    kept.into_iter()
        .map(|(asset, mut readings)| {
            readings.sort_by_key(|r| r.0);
            (asset, readings[readings.len() - 1].1 - readings[0].1)
        })
        .collect()
}

/// Per meter, the sum of the rows written for `point`.
fn sums(output: &str, point: &str) -> BTreeMap<String, f64> {
    let mut sums = BTreeMap::new();
    for (_, asset, p, value) in rows(output) {
        if p == point {
            *sums.entry(asset).or_insert(0.0) += value;
        }
    }
    sums
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Conservation: with no reset, the window deltas of a series add up to its last accepted
    /// reading minus its first, exactly under `previous` (differences of quarters), to rounding
    /// under `interpolate` (its shares are divisions), whatever the cut into resumed runs.
    #[test]
    fn window_deltas_add_up_to_the_registers_increase(
        size in prop::sample::select(vec!["1m", "7m", "10m", "1h"]),
        latency in prop::sample::select(vec!["0s", "2m", "30m"]),
        lines in registers(),
        cuts in prop::collection::vec(0usize..50, 0..3),
    ) {
        let yaml = format!(
            "name: e\ntemplate: time_window_aggregation\nmodel: M\nlatency: {latency}\npolicies:\n  \
             - {{input: E, aggregation: delta, boundary: previous, window_size: {size}, output: P}}\n  \
             - {{input: E, aggregation: delta, boundary: interpolate, window_size: {size}, output: I}}\n"
        );
        let jobs = || load(&yaml);
        let whole = run_jobs(&jobs, options(), &csv(&lines), None, false);
        let (output, late) = split_runs_of(&jobs, options(), &lines, &cuts);
        prop_assert_eq!(&whole.0, &output);
        let expected = increases(&lines, &late);
        let late_body = late.lines().skip(1).collect::<Vec<_>>().join("\n");
        prop_assert_eq!(sums(&output, "P"), expected.clone(), "previous; late rows: {}", late_body);
        let interpolated = sums(&output, "I");
        prop_assert_eq!(interpolated.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
        for (asset, increase) in &expected {
            let got = interpolated[asset];
            prop_assert!((got - increase).abs() <= 1e-9 * increase.abs().max(1.0), "{asset}: {got} vs {increase}");
        }
    }

    /// `integral` and `twa` against a sum over elementary pieces: the time between two readings
    /// cut at every window edge, each piece booked to its window with the value held (`left`) or
    /// the mean of the straight line's ends (`trapezoid`); an interval longer than `max_gap` books
    /// nothing. A window with nothing integrated writes no row. Readings arrive in any order.
    #[test]
    fn integral_and_twa_are_the_left_or_trapezoid_sum(
        size in prop::sample::select(vec![60_000i64, 300_000, 900_000, 3_600_000]),
        gap in prop::sample::select(vec![None, Some(180_000i64), Some(1_200_000)]),
        trapezoid in any::<bool>(),
        readings in prop::collection::btree_map(0i64..21_600, -40i32..400, 1..40),
        order in any::<prop::sample::Index>(),
    ) {
        let method = if trapezoid { "trapezoid" } else { "left" };
        let max_gap = gap.map_or(String::new(), |g| format!(", max_gap: {}s", g / 1000));
        let yaml = format!(
            "name: e\ntemplate: time_window_aggregation\nmodel: M\nlatency: 100h\npolicies:\n  \
             - {{input: W, aggregation: integral, method: {method}{max_gap}, window_size: {}s, output: Energy}}\n  \
             - {{input: W, aggregation: twa, method: {method}{max_gap}, window_size: {}s, output: Mean}}\n",
            size / 1000, size / 1000
        );
        let readings: Vec<(i64, f64)> = readings.into_iter().map(|(s, v)| (s * 1000, f64::from(v) / 4.0)).collect();
        // The readings rotated: they arrive out of order, all within the lateness.
        let mut lines: Vec<String> = readings.iter().map(|(ts, v)| format!("{ts},m1,W,{v}")).collect();
        let turn = order.index(lines.len());
        lines.rotate_left(turn);
        let (output, late) = run_jobs(&|| load(&yaml), options(), &csv(&lines), None, false);
        prop_assert_eq!(late.lines().count(), 1, "nothing is late");

        // The model: (area in value x ms, ms integrated) per window start.
        let mut windows: BTreeMap<i64, (f64, i64)> = BTreeMap::new();
        for pair in readings.windows(2) {
            let ((ta, va), (tb, vb)) = (pair[0], pair[1]);
            if gap.is_some_and(|g| tb - ta > g) {
                continue;
            }
            let line = |t: i64| va + (vb - va) * (t - ta) as f64 / (tb - ta) as f64;
            let mut x = ta;
            while x < tb {
                let start = x.div_euclid(size) * size;
                let y = tb.min(start + size);
                let area = if trapezoid { (line(x) + line(y)) / 2.0 * (y - x) as f64 } else { va * (y - x) as f64 };
                let w = windows.entry(start).or_insert((0.0, 0));
                w.0 += area;
                w.1 += y - x;
                x = y;
            }
        }
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        let mut written: BTreeMap<(String, i64), f64> = BTreeMap::new();
        for (ts, _, point, value) in rows(&output) {
            prop_assert!(written.insert((point, ts), value).is_none(), "one row per window and policy");
        }
        let expected: Vec<(String, i64)> = windows
            .keys()
            .flat_map(|&start| [("Energy".to_string(), start), ("Mean".to_string(), start)])
            .collect();
        let mut got: Vec<(String, i64)> = written.keys().cloned().collect();
        got.sort_by_key(|(p, ts)| (*ts, p.clone()));
        prop_assert_eq!(got, expected);
        for (start, (area, duration)) in windows {
            let energy = written[&("Energy".to_string(), start)];
            let mean = written[&("Mean".to_string(), start)];
            prop_assert!(close(energy, area / 3_600_000.0), "{start}: energy {energy} vs {}", area / 3_600_000.0);
            prop_assert!(close(mean, area / duration as f64), "{start}: twa {mean} vs {}", area / duration as f64);
        }
    }
}

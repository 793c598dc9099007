//! Point-triggered merges over two meters' raw readings and a window job's rows, against an
//! as-of model written here (docs/reference/contract.md, section 4): one row per distinct
//! accepted trigger timestamp, stamped with it; each operand takes the value of its latest
//! accepted reading at or before that time (the last to arrive for a timestamp under
//! `duplicates: last`, the first under `first`); a raw reading stamped earlier than its series' watermark minus the merge's
//! `latency` is dropped (a trigger reading too), rows written by the window job never are; an
//! operand older than `max_age` is missing, and so is one with no value: no row.

use crate::state_split::{csv, run_jobs};
use meterflow::engine::{EmitMode, EngineOptions, WatermarkScope};
use meterflow::job::{Job, load_sources};
use meterflow::time::parse_timestamp;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// 2026-03-02T00:00:00Z.
const START: i64 = 1_772_409_600_000;

/// The window job's size: `Mx` is the max of `R` per 15 minutes.
const SIZE: i64 = 900_000;

/// A reading as written: meter, point (0 = `R`, the trigger; 1 = `V`), timestamp (ms), value in
/// thousandths.
type Line = (usize, usize, i64, i64);

type Step = (usize, u8, u32, u32);

/// `R` on a jittered minute, `V` every five minutes off the minute, repeats (same value or a
/// correction) and late rows of both up to two hours behind.
fn export(steps: &[Step]) -> Vec<Line> {
    let mut clocks = [START; 2];
    let mut lines: Vec<Line> = Vec::new();
    for &(m, what, a, b) in steps {
        let value = i64::from(b % 100_000);
        let point = usize::from(a.is_multiple_of(3));
        match what {
            0..=4 => {
                if let Some(&(_, p, ts, old)) = lines.iter().rev().find(|l| l.0 == m) {
                    lines.push((m, p, ts, if a % 2 == 0 { old } else { value }));
                }
            }
            5..=8 => lines.push((m, point, clocks[m] - i64::from(a % 7_200) * 1000, value)),
            9 => {
                clocks[m] += 60_000 * i64::from(1 + a % 40);
                lines.push((m, 0, clocks[m], value));
            }
            _ => {
                clocks[m] += 60_000;
                let ts = clocks[m] + if a % 4 == 0 { i64::from(a % 20_000) } else { 0 };
                lines.push((m, 0, ts, value));
                if (clocks[m] / 60_000) % 5 == 0 {
                    lines.push((m, 1, clocks[m] + 7_000, i64::from(a % 100_000)));
                }
            }
        }
    }
    lines
}

fn jobs(latency_s: i64, max_age_s: Option<i64>, last: bool) -> Vec<Job> {
    let duplicates = if last { "last" } else { "first" };
    let window = format!(
        "name: w\ntemplate: time_window_aggregation\nmodel: M\nlatency: 1000h\nduplicates: {duplicates}\npolicies:\n  \
         - {{input: R, aggregation: max, window_size: 15m, output: Mx}}\n"
    );
    let max_age = max_age_s.map_or(String::new(), |s| format!("max_age: {s}s\n"));
    let merge = format!(
        "name: p\ntemplate: multi_point_merging\nmodel: M\nlatency: {latency_s}s\n{max_age}duplicates: {duplicates}\n\
         trigger: {{mode: point}}\npolicies:\n  \
         - {{output: Sum, trigger_point: R, logic: \"${{R}} + ${{V}}\"}}\n  \
         - {{output: WithMax, trigger_point: R, logic: \"${{Mx}} - ${{R}}\"}}\n"
    );
    let sources = vec![("a.yaml".to_string(), window.as_bytes().to_vec()), ("b.yaml".to_string(), merge.into_bytes())];
    load_sources(sources).unwrap_or_else(|e| panic!("jobs load: {e}"))
}

/// The series each point keeps, per (meter, point): timestamp -> value, and the `Mx` rows.
type Series = BTreeMap<(usize, usize), BTreeMap<i64, i64>>;

fn model(lines: &[Line], latency: i64, max_age: Option<i64>, last: bool) -> BTreeMap<(usize, i64, &'static str), f64> {
    let mut accepted: Series = BTreeMap::new();
    let mut all: BTreeMap<usize, BTreeMap<i64, i64>> = BTreeMap::new();
    let mut watermarks: BTreeMap<(usize, usize), i64> = BTreeMap::new();
    for &(m, p, ts, value) in lines {
        if p == 0 {
            let series = all.entry(m).or_default();
            if last || !series.contains_key(&ts) {
                series.insert(ts, value);
            }
        }
        let late = watermarks.get(&(m, p)).is_some_and(|&w| ts < w - latency);
        if !late {
            let series = accepted.entry((m, p)).or_default();
            if last || !series.contains_key(&ts) {
                series.insert(ts, value);
            }
        }
        let w = watermarks.entry((m, p)).or_insert(ts);
        *w = (*w).max(ts);
    }
    // The window job's rows: the max of each 15 minutes, stamped at the window start.
    let mut mx: BTreeMap<usize, BTreeMap<i64, i64>> = BTreeMap::new();
    for (m, readings) in all {
        for (ts, v) in readings {
            let slot = mx.entry(m).or_default().entry(ts.div_euclid(SIZE) * SIZE).or_insert(v);
            *slot = (*slot).max(v);
        }
    }
    let empty = BTreeMap::new();
    let as_of = |series: &BTreeMap<i64, i64>, t: i64| -> Option<i64> {
        let (&ts, &v) = series.range(..=t).next_back()?;
        if max_age.is_some_and(|age| t - ts > age) { None } else { Some(v) }
    };
    let mut rows = BTreeMap::new();
    for m in 0..2 {
        let triggers = accepted.get(&(m, 0)).unwrap_or(&empty);
        let v = accepted.get(&(m, 1)).unwrap_or(&empty);
        let mx = mx.get(&m).unwrap_or(&empty);
        for (&t, &r) in triggers {
            if let Some(v) = as_of(v, t) {
                rows.insert((m, t, "Sum"), (r + v) as f64 / 1000.0);
            }
            if let Some(x) = as_of(mx, t) {
                rows.insert((m, t, "WithMax"), (x - r) as f64 / 1000.0);
            }
        }
    }
    rows
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn point_merges_equal_the_as_of_model(
        steps in prop::collection::vec((0usize..2, 0u8..24, any::<u32>(), any::<u32>()), 1..300),
        latency in prop::sample::select(vec![0i64, 300, 3_600]),
        max_age in prop::sample::select(vec![None, Some(120i64), Some(600), Some(1_800)]),
        last in any::<bool>(),
    ) {
        let lines = export(&steps);
        let input: Vec<String> = lines
            .iter()
            .map(|&(m, p, ts, v)| format!("{ts},m{m},{},{:.3}", ["R", "V"][p], v as f64 / 1000.0))
            .collect();
        let options = EngineOptions { emit: EmitMode::Final, watermark: WatermarkScope::Series, ..EngineOptions::default() };
        let (output, _) = run_jobs(&|| jobs(latency, max_age, last), options, &csv(&input), None, false);
        let mut written: BTreeMap<(usize, i64, &'static str), f64> = BTreeMap::new();
        for line in output.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let point = match f[2] {
                "Sum" => "Sum",
                "WithMax" => "WithMax",
                _ => continue,
            };
            let ts = parse_timestamp(f[0].as_bytes()).unwrap_or_else(|_| panic!("timestamp {}", f[0]));
            let m: usize = f[1][1..].parse().unwrap();
            prop_assert!(written.insert((m, ts, point), f[3].parse().unwrap()).is_none(), "one row: {}", line);
        }
        let want = model(&lines, latency * 1000, max_age.map(|s| s * 1000), last);
        prop_assert_eq!(written.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "the rows written");
        for (key, &w) in &want {
            let got = written[key];
            prop_assert!((got - w).abs() <= 1e-9 * w.abs().max(1.0), "{:?}: wrote {}, model {}", key, got, w);
        }
        // In `updates` mode the last row of each key is the `final` row.
        let updates = EngineOptions { emit: EmitMode::Updates, ..options };
        let (revisions, _) = run_jobs(&|| jobs(latency, max_age, last), updates, &csv(&input), None, false);
        let mut last: BTreeMap<String, String> = BTreeMap::new();
        for line in revisions.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            last.insert(f[..3].join(","), f[3].to_string());
        }
        let finals: BTreeMap<String, String> = output
            .lines()
            .skip(1)
            .map(|line| line.rsplit_once(',').map(|(k, v)| (k.to_string(), v.to_string())).unwrap())
            .collect();
        prop_assert_eq!(last, finals, "the last update of each key");
    }
}

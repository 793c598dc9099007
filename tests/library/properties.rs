//! Property tests of the invariants docs/reference/contract.md states: arrival order among accepted readings does not
//! change the final output; the last `updates` row per key equals the `final` row; every input row
//! of a job is accepted, out of threshold or written to the late output, and every run's row
//! accounting balances (checked in each run); splitting the input into several files changes nothing.

use meterflow::engine::stats::JobStats;
use meterflow::engine::{EmitMode, EngineOptions, WatermarkScope};
use meterflow::job::load_jobs;
use meterflow::output::{Format, LateWriter, Output, PointWriter, Split};
use meterflow::replay::Replay;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::PathBuf;

/// A `Write` whose bytes can be read back after the writer is dropped.
use crate::shared_buf::SharedBuf;

const WINDOW_JOB: &str = r#"
name: window
template: time_window_aggregation
model: ElectricMeter
latency: LATENCY
policies:
  - {input: Reading, threshold: "[0, 100)", aggregation: max, window_size: 10m, output: Max10}
  - {input: Reading, threshold: "[0, 100)", aggregation: min, window_size: 10m, output: Min10}
  - {input: Reading, aggregation: sum, window_size: 5m, output: Sum5}
  - {input: Reading, threshold: "[0, 100)", aggregation: avg, window_size: 30m, output: Avg30}
  - {input: Reading, aggregation: cnt, window_size: 10m, output: Cnt10}
"#;

const MERGE_JOB: &str = r#"
name: merge
template: multi_point_merging
model: ElectricMeter
trigger: {mode: frequency, every: 10m}
policies:
  - {output: Diff10, logic: "${ElectricMeter::Max10} - ${ElectricMeter::Min10}"}
"#;

const POINT_MERGE_JOB: &str = r#"
name: point-merge
template: multi_point_merging
model: ElectricMeter
latency: LATENCY
trigger: {mode: point}
policies:
  - {output: AboveMin, trigger_point: Reading, logic: "${Reading} - ${ElectricMeter::Min10}"}
"#;

/// Writes the job files for `latency` into a fresh folder and returns it.
fn job_dir(latency: &str, with_merge: bool) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("props-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a_window.yaml"), WINDOW_JOB.replace("LATENCY", latency)).unwrap();
    if with_merge {
        std::fs::write(dir.join("b_merge.yaml"), MERGE_JOB).unwrap();
        std::fs::write(dir.join("c_point_merge.yaml"), POINT_MERGE_JOB.replace("LATENCY", latency)).unwrap();
    }
    dir
}

#[derive(Debug, Clone)]
struct Row {
    asset: u8,
    ts: i64,
    value: f64,
}

fn csv_of(rows: &[Row]) -> String {
    let mut s = String::from("timestamp,asset,point,value\n");
    for r in rows {
        s.push_str(&format!("{},m{},Reading,{}\n", r.ts, r.asset, r.value));
    }
    s
}

struct Run {
    output: String,
    late: String,
    jobs: Vec<JobStats>,
}

fn run(dir: &PathBuf, inputs: &[String], emit: EmitMode, scope: WatermarkScope) -> Run {
    let jobs = load_jobs(std::slice::from_ref(dir)).expect("jobs load");
    let out = SharedBuf::default();
    let late_buf = SharedBuf::default();
    let points = PointWriter::new(Box::new(out.clone()), Format::Csv, emit == EmitMode::Updates, None).unwrap();
    let late = LateWriter::new(Box::new(late_buf.clone()), Format::Csv).unwrap();
    let options = EngineOptions { emit, watermark: scope, ..EngineOptions::default() };
    let mut replay = Replay::long_format(jobs, options).expect("default input options");
    let mut output = Split { points: Box::new(points), late: Some(Box::new(late)) };
    for (i, text) in inputs.iter().enumerate() {
        let source: Box<dyn Read + Send> = Box::new(Cursor::new(text.clone().into_bytes()));
        replay.read(&format!("in{i}.csv"), source, &mut output).unwrap_or_else(|e| panic!("replay failed: {e:?}"));
    }
    replay.finish(&mut output).expect("finish");
    for balance in replay.balances() {
        assert!(balance.holds(), "the accounting does not balance: {}", balance.describe());
    }
    output.flush().expect("flush");
    let jobs = replay.pipeline.stats().into_iter().cloned().collect();
    Run { output: out.text(), late: late_buf.text(), jobs }
}

/// Output rows keyed by (timestamp, asset, point), for comparisons that ignore row order.
fn keyed(output: &str) -> BTreeMap<(String, String, String), Vec<String>> {
    let mut map: BTreeMap<_, Vec<String>> = BTreeMap::new();
    for line in output.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        map.entry((f[0].to_string(), f[1].to_string(), f[2].to_string())).or_default().push(f[3..].join(","));
    }
    map
}

/// Readings of up to 3 meters over 2 hours: values on a 0.001 grid with outliers, 1 ms resolution.
fn rows() -> impl Strategy<Value = Vec<Row>> {
    let value =
        prop_oneof![8 => (0i64..100_000).prop_map(|v| v as f64 / 1000.0), 1 => (-50i64..=150).prop_map(|v| v as f64)];
    prop::collection::vec(
        (0u8..3, 0i64..7_200_000, value).prop_map(|(asset, ts, value)| Row { asset, ts, value }),
        1..80,
    )
}

/// Event-time rows in arrival order: sorted by time, then some moved later by a random delay.
fn arrivals() -> impl Strategy<Value = Vec<Row>> {
    (rows(), prop::collection::vec((0u32..5, 0i64..3_600_000), 80)).prop_map(|(mut rows, delays)| {
        rows.sort_by_key(|r| r.ts);
        let mut keyed: Vec<(i64, usize, Row)> = rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let (chance, delay) = delays[i % delays.len()];
                let arrival = if chance == 0 { r.ts + delay } else { r.ts };
                (arrival, i, r)
            })
            .collect();
        keyed.sort_by_key(|(arrival, i, _)| (*arrival, *i));
        keyed.into_iter().map(|(_, _, r)| r).collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// With a latency covering the whole input, nothing is late, so any order gives the same rows.
    #[test]
    fn any_permutation_gives_the_same_final_output(rows in rows(), seed in any::<u64>()) {
        let dir = job_dir("1d", true);
        let mut shuffled = rows.clone();
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let a = run(&dir, &[csv_of(&rows)], EmitMode::Final, WatermarkScope::Series);
        let b = run(&dir, &[csv_of(&shuffled)], EmitMode::Final, WatermarkScope::Series);
        prop_assert_eq!(keyed(&a.output), keyed(&b.output));
    }

    /// The last `updates` row of every key is the `final` row, and both modes write the same keys.
    #[test]
    fn last_update_equals_final(rows in arrivals(), latency in prop::sample::select(vec!["0s", "5m", "20m", "1h"]),
                                scope in prop::sample::select(vec![WatermarkScope::Series, WatermarkScope::Asset, WatermarkScope::Global])) {
        let dir = job_dir(latency, true);
        let input = [csv_of(&rows)];
        let final_rows = keyed(&run(&dir, &input, EmitMode::Final, scope).output);
        let updates = keyed(&run(&dir, &input, EmitMode::Updates, scope).output);
        prop_assert_eq!(final_rows.keys().collect::<Vec<_>>(), updates.keys().collect::<Vec<_>>());
        for (key, rows) in &updates {
            let last = rows.last().expect("a row");
            let value = last.split(',').next().expect("value");
            prop_assert_eq!(&final_rows[key][0], value, "key {:?}", key);
            for (revision, row) in rows.iter().enumerate() {
                prop_assert!(row.ends_with(&format!(",{revision}")), "key {:?} revisions {:?}", key, rows);
            }
        }
    }

    /// Per policy: every reading read is valid, out of threshold or dropped; the late output holds
    /// exactly the readings the window job dropped.
    #[test]
    fn every_row_is_accounted_for(rows in arrivals(), latency in prop::sample::select(vec!["0s", "5m", "1h"])) {
        let dir = job_dir(latency, false);
        let result = run(&dir, &[csv_of(&rows)], EmitMode::Final, WatermarkScope::Series);
        let job = &result.jobs[0];
        prop_assert_eq!(job.rows_read, rows.len() as u64);
        for p in &job.policies {
            prop_assert_eq!(p.read, p.valid + p.out_of_threshold + p.late_dropped, "policy {}", p.output);
        }
        prop_assert_eq!(result.late.lines().count() as u64 - 1, job.late_dropped);
    }

    /// Cutting the input into consecutive files changes nothing.
    #[test]
    fn splitting_the_input_changes_nothing(rows in arrivals(), cut1 in 0usize..80, cut2 in 0usize..80) {
        let dir = job_dir("5m", true);
        let (a, b) = (cut1.min(cut2).min(rows.len()), cut1.max(cut2).min(rows.len()));
        let whole = run(&dir, &[csv_of(&rows)], EmitMode::Updates, WatermarkScope::Series);
        let parts = run(&dir, &[csv_of(&rows[..a]), csv_of(&rows[a..b]), csv_of(&rows[b..])], EmitMode::Updates, WatermarkScope::Series);
        prop_assert_eq!(whole.output, parts.output);
        prop_assert_eq!(whole.late, parts.late);
    }
}

//! The window operator's on-time lane against its general path: a job of one tumbling group
//! (the seed's max and min) takes the lane for its usual readings, and the same job with one more
//! policy on a point the input never has cannot take it. Over readings with repeats, late rows,
//! out-of-threshold values, clock jumps and every emit mode, watermark scope and duplicates rule,
//! the two write the same rows, the same late rows and the same figures for the shared policies.

use crate::shared_buf::SharedBuf;
use meterflow::engine::stats::JobStats;
use meterflow::engine::{EmitMode, EngineOptions, WatermarkScope};
use meterflow::job::load_jobs;
use meterflow::output::{Format, LateWriter, Output, PointWriter, Split};
use meterflow::replay::Replay;
use proptest::prelude::*;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

const JOB: &str = r#"
name: window
template: time_window_aggregation
model: ElectricMeter
latency: LATENCY
duplicates: DUPLICATES
SKEW
policies:
  - {input: Reading, threshold: "[0, 100)", aggregation: max, window_size: 10m, output: Max10}
  - {input: Reading, threshold: "[0, 100)", aggregation: min, window_size: 10m, output: Min10}
"#;

/// A third policy, on a point no row has: a second group, so the job cannot take the lane.
const UNREAD_POLICY: &str = "  - {input: Unread, aggregation: max, window_size: 10m, output: UnreadMax}\n";

#[derive(Debug)]
struct Settings {
    latency: &'static str,
    duplicates: &'static str,
    skew: Option<&'static str>,
    emit: EmitMode,
    scope: WatermarkScope,
}

/// Writes the job file into `dir` (the same path for both runs, so their figures name the same
/// file).
fn write_job(dir: &Path, s: &Settings, lane: bool) {
    let skew = s.skew.map_or(String::new(), |skew| format!("max_future_skew: {skew}"));
    let mut job = JOB.replace("LATENCY", s.latency).replace("DUPLICATES", s.duplicates).replace("SKEW", &skew);
    if !lane {
        job.push_str(UNREAD_POLICY);
    }
    std::fs::write(dir.join("window.yaml"), job).unwrap();
}

struct Run {
    output: String,
    late: String,
    job: JobStats,
}

fn run(dir: &Path, s: &Settings, lane: bool, input: &str) -> Run {
    write_job(dir, s, lane);
    let jobs = load_jobs(&[dir.to_path_buf()]).expect("jobs load");
    let out = SharedBuf::default();
    let late_buf = SharedBuf::default();
    let points = PointWriter::new(Box::new(out.clone()), Format::Csv, s.emit == EmitMode::Updates, None).unwrap();
    let late = LateWriter::new(Box::new(late_buf.clone()), Format::Csv).unwrap();
    let options = EngineOptions { emit: s.emit, watermark: s.scope, ..EngineOptions::default() };
    let mut replay = Replay::long_format(jobs, options).expect("default input options");
    let mut output = Split { points: Box::new(points), late: Some(Box::new(late)) };
    let source: Box<dyn Read + Send> = Box::new(Cursor::new(input.as_bytes().to_vec()));
    replay.read("in.csv", source, &mut output).unwrap_or_else(|e| panic!("replay failed: {e:?}"));
    replay.finish(&mut output).expect("finish");
    output.flush().expect("flush");
    let mut job = replay.pipeline.stats()[0].clone();
    job.policies.truncate(2);
    Run { output: out.text(), late: late_buf.text(), job }
}

/// Rows of up to 3 meters in arrival order: mostly a steady cadence per meter, with repeats of the
/// previous stamp, readings delayed past later ones, jumps ahead, a model of another job and
/// values outside the threshold.
fn rows() -> impl Strategy<Value = String> {
    let step = prop_oneof![
        8 => Just(0i64),
        1 => Just(1),
        1 => Just(2),
        1 => Just(3),
        1 => Just(4),
    ];
    let value =
        prop_oneof![8 => (0i64..100_000).prop_map(|v| v as f64 / 1000.0), 1 => (-50i64..=150).prop_map(|v| v as f64)];
    prop::collection::vec((0u8..3, step, value, 0u8..20), 1..150).prop_map(|rows| {
        let mut clocks = [0i64; 3];
        let mut text = String::from("timestamp,asset,point,value,model\n");
        for (asset, step, value, model) in rows {
            let clock = &mut clocks[asset as usize];
            let ts = match step {
                // In order, on a 15-second cadence.
                0 => {
                    *clock += 15_000;
                    *clock
                }
                // The previous stamp again.
                1 => *clock,
                // Late: from a few seconds to over an hour behind the meter's clock.
                2 => (*clock - 7_000 * i64::from(model) * i64::from(model) * 10).max(0),
                // A jump ahead: the clock of a meter that skipped, or a bad one.
                3 => {
                    *clock += 45 * 60_000 * i64::from(model % 4);
                    *clock
                }
                // Within the same 10 minutes, off the cadence.
                _ => *clock + 1 + i64::from(model) * 997,
            };
            let model = if model == 0 { "WaterMeter" } else { "ElectricMeter" };
            text.push_str(&format!("{ts},m{asset},Reading,{value},{model}\n"));
        }
        text
    })
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        prop::sample::select(vec!["0s", "5m", "1h"]),
        prop::sample::select(vec!["first", "last", "keep"]),
        prop::sample::select(vec![None, Some("20m")]),
        prop::sample::select(vec![EmitMode::Final, EmitMode::Updates]),
        prop::sample::select(vec![WatermarkScope::Series, WatermarkScope::Asset, WatermarkScope::Global]),
    )
        .prop_map(|(latency, duplicates, skew, emit, scope)| Settings { latency, duplicates, skew, emit, scope })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_lane_writes_what_the_general_path_writes(s in settings(), input in rows()) {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("lane-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lane = run(&dir, &s, true, &input);
        let general = run(&dir, &s, false, &input);
        std::fs::remove_dir_all(&dir).unwrap();
        prop_assert_eq!(&lane.output, &general.output);
        prop_assert_eq!(&lane.late, &general.late);
        prop_assert_eq!(&lane.job, &general.job);
    }
}

/// The figures of one meter's readings, worked out by hand: the short path's two readings (an
/// out-of-threshold value and a late one within lateness) are counted as the general path
/// counts them. Latency 5m, windows of 10m, threshold [0, 100).
/// - 0s 10, 1m 20: valid (the first opens the series' window [0, 10m) on the general path).
/// - 2m 500: outside the threshold (the short path): read, out of threshold, kept.
/// - 11m 30: opens [10m, 20m), watermark 11m.
/// - 5m 40: window [0, 10m) closed at 10m, within lateness until 15m (the short path): valid and
///   late accepted.
/// - 20m 50: opens [20m, 30m); the watermark 20m expires [0, 10m).
/// - 6m 60: [0, 10m) expired: late beyond lateness, dropped by both policies and the job.
///
/// Per policy: read 7, valid 5, out of threshold 1, late accepted 1, late dropped 1; the job read
/// 7 and kept 6.
#[test]
fn the_short_path_counts_as_the_general_path() {
    let input = "timestamp,asset,point,value,model\n\
                 0,m0,Reading,10,ElectricMeter\n\
                 60000,m0,Reading,20,ElectricMeter\n\
                 120000,m0,Reading,500,ElectricMeter\n\
                 660000,m0,Reading,30,ElectricMeter\n\
                 300000,m0,Reading,40,ElectricMeter\n\
                 1200000,m0,Reading,50,ElectricMeter\n\
                 360000,m0,Reading,60,ElectricMeter\n";
    let s = Settings {
        latency: "5m",
        duplicates: "first",
        skew: None,
        emit: EmitMode::Final,
        scope: WatermarkScope::Series,
    };
    for lane in [true, false] {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("short-{}-{lane}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let job = serde_json::to_value(run(&dir, &s, lane, input).job).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let figures = |of: &serde_json::Value, names: &[&str]| names.iter().map(|n| of[n].as_u64()).collect::<Vec<_>>();
        let policies = job["policies"].as_array().unwrap();
        assert_eq!(policies.len(), 2);
        for policy in policies {
            let counted = ["read", "valid", "out_of_threshold", "late_accepted", "late_dropped"];
            assert_eq!(figures(policy, &counted), [7, 5, 1, 1, 1].map(Some), "{} (lane {lane})", policy["output"]);
            let none = ["interpolated", "partially_late", "windows_missed"];
            assert_eq!(figures(policy, &none), [0, 0, 0].map(Some), "{} (lane {lane})", policy["output"]);
        }
        assert_eq!(figures(&job, &["rows_read", "kept", "late_dropped"]), [7, 6, 1].map(Some), "lane {lane}");
    }
}

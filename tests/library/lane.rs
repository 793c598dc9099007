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

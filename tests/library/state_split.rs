//! The incremental-replay guarantee: for any cut of an input into consecutive parts, runs over
//! the parts with `--state` (the last with `--finish`) write, headers dropped and joined in order,
//! exactly the bytes of one run over the whole input; the same for the late output. Checked over
//! random jobs (window layouts, aggregations and their rules, thresholds, merges of both triggers), both emit modes
//! and every watermark scope, cutting at random lines; the state goes through its file each time.

use meterflow::engine::{EmitMode, EngineOptions, WatermarkScope};
use meterflow::input::{BadRows, InputOptions, InputSettings};
use meterflow::job::{Job, load_sources};
use meterflow::output::{Format, LateWriter, Output, PointWriter, Split};
use meterflow::replay::Replay;
use meterflow::replay::state::session::StateRun;
use proptest::prelude::*;
use std::io::{Cursor, Read};
use std::path::Path;

use crate::shared_buf::SharedBuf;

/// A random job set: one window job (tumbling or sliding), optionally a frequency merge over its
/// outputs and a point-triggered merge over the raw input.
#[derive(Debug, Clone)]
pub(crate) struct JobSet {
    pub(crate) latency: &'static str,
    sliding: bool,
    aggregations: Vec<&'static str>,
    threshold: bool,
    pub(crate) last_value: bool,
    frequency_merge: bool,
    point_merge: bool,
}

impl JobSet {
    fn load(&self) -> Vec<Job> {
        let window = if self.sliding { "window: {type: sliding, slide: 5m}\n" } else { "" };
        let mut yaml = format!(
            "name: w\ntemplate: time_window_aggregation\nmodel: M\nlatency: {}\n{window}policies:\n",
            self.latency
        );
        for (i, aggregation) in self.aggregations.iter().enumerate() {
            let threshold = if self.threshold { "threshold: \"[0, 80)\", " } else { "" };
            let interpolation = if self.last_value { "interpolation: last_value, " } else { "" };
            let input = if i % 2 == 0 { "A" } else { "B" };
            yaml.push_str(&format!(
                "  - {{input: {input}, {threshold}{interpolation}aggregation: {aggregation}, window_size: 10m, output: O{i}}}\n"
            ));
        }
        let mut sources = vec![("w.yaml".to_string(), yaml.into_bytes())];
        if self.frequency_merge && self.aggregations.len() >= 2 {
            let merge = "name: f\ntemplate: multi_point_merging\nmodel: M\ntrigger: {mode: frequency, every: 10m}\n\
                         policies:\n  - {output: F, logic: \"${O0} - ${O1}\"}\n";
            sources.push(("f.yaml".to_string(), merge.as_bytes().to_vec()));
        }
        if self.point_merge {
            let merge = format!(
                "name: p\ntemplate: multi_point_merging\nmodel: M\nlatency: {}\ntrigger: {{mode: point}}\n\
                 policies:\n  - {{output: P, trigger_point: A, logic: \"${{A}} * 2 + ${{B}}\"}}\n",
                self.latency
            );
            sources.push(("p.yaml".to_string(), merge.into_bytes()));
        }
        load_sources(sources).unwrap_or_else(|e| panic!("jobs load: {e}"))
    }
}

pub(crate) fn job_sets() -> impl Strategy<Value = JobSet> {
    // Issue 29's aggregations and rules ride in the same flow mapping as the aggregation.
    let aggregation = prop::sample::select(vec![
        "max",
        "min",
        "sum",
        "avg",
        "cnt",
        "first",
        "last",
        "range",
        "delta",
        "count",
        "median",
        "p95",
        "stddev",
        "coverage, expected_interval: 1m",
        "delta, reset: rollover, rollover_at: 100",
        "delta, reset: exchange, reset_tolerance: 2",
        "delta, slope: \"[0, 600]\", scale: 2",
        "max, min_count: 2",
        "sum, expected_interval: 1m, min_coverage: 0.3",
        "delta, boundary: previous",
        "delta, boundary: interpolate, reset: rollover, rollover_at: 100",
        "integral, method: left, max_gap: 3m",
        "twa, method: trapezoid",
    ]);
    (
        prop::sample::select(vec!["0s", "5m", "30m"]),
        any::<bool>(),
        prop::collection::vec(aggregation, 1..4),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(latency, sliding, mut aggregations, threshold, last_value, frequency_merge, point_merge)| {
            // Rules that read across a window edge run on tumbling windows only (the loader says so).
            if sliding {
                aggregations.retain(|a| !(a.contains("boundary") || a.contains("integral") || a.contains("twa")));
                if aggregations.is_empty() {
                    aggregations.push("max");
                }
            }
            JobSet { latency, sliding, aggregations, threshold, last_value, frequency_merge, point_merge }
        })
}

/// Data lines of two meters and two points over two hours, mostly in time order, some late.
fn lines() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec((0u8..2, any::<bool>(), 0i64..7_200_000, -20i64..100, 0u8..8), 1..60).prop_map(|rows| {
        let mut rows: Vec<(i64, String)> = rows
            .into_iter()
            .map(|(asset, b, ts, value, late)| {
                let arrival = if late == 0 { ts + 1_800_000 } else { ts };
                let point = if b { "B" } else { "A" };
                (arrival, format!("{ts},m{asset},{point},{value}"))
            })
            .collect();
        rows.sort_by_key(|(arrival, _)| *arrival);
        rows.into_iter().map(|(_, line)| line).collect()
    })
}

const HEADER: &str = "timestamp,asset,point,value\n";

pub(crate) fn csv(lines: &[String]) -> String {
    let mut text = HEADER.to_string();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// One run: resumes from `state` when given and it exists, reads `input`, then finishes or saves.
/// Returns the output and the late output, headers dropped when `drop_headers`.
pub(crate) fn run(
    jobs: &JobSet,
    options: EngineOptions,
    input: &str,
    state: Option<(&Path, bool)>,
    drop_headers: bool,
) -> (String, String) {
    run_jobs(&|| jobs.load(), options, input, state, drop_headers)
}

/// [`run`] of the jobs `load` gives.
pub(crate) fn run_jobs(
    load: &dyn Fn() -> Vec<Job>,
    options: EngineOptions,
    input: &str,
    state: Option<(&Path, bool)>,
    drop_headers: bool,
) -> (String, String) {
    let jobs = load();
    let (out, late_buf) = (SharedBuf::default(), SharedBuf::default());
    let points = PointWriter::new(Box::new(out.clone()), Format::Csv, options.emit == EmitMode::Updates, None).unwrap();
    let late = LateWriter::new(Box::new(late_buf.clone()), Format::Csv).unwrap();
    let (session, resume) = match state {
        Some((path, finish)) => {
            let opened = StateRun::open(path, finish, false, &jobs, &options);
            let (run, resume) = opened.unwrap_or_else(|_| panic!("state refused"));
            (Some(run), resume.map(|r| (r, path)))
        }
        None => (None, None),
    };
    let mut replay = match resume {
        Some((resume, path)) => {
            let input = InputOptions::from_settings(&InputSettings::default()).unwrap();
            let bad_rows = BadRows::new(input.on_bad_row, None).unwrap();
            let resumed = resume.into_replay(jobs, options, input, bad_rows, path);
            resumed.unwrap_or_else(|_| panic!("restore refused"))
        }
        _ => Replay::long_format(jobs, options).unwrap(),
    };
    let mut output = Split { points: Box::new(points), late: Some(Box::new(late)) };
    let source: Box<dyn Read + Send> = Box::new(Cursor::new(input.as_bytes().to_vec()));
    replay.read("part.csv", source, &mut output).unwrap_or_else(|e| panic!("replay failed: {e:?}"));
    match &session {
        Some(run) if !run.finishes() => replay.suspend().unwrap(),
        _ => replay.finish(&mut output).unwrap(),
    }
    output.flush().unwrap();
    if let Some(run) = &session {
        run.save(&replay).unwrap();
    }
    for balance in replay.balances() {
        assert!(balance.holds(), "the accounting does not balance: {}", balance.describe());
    }
    let strip = |text: String| {
        if drop_headers { text.split_once('\n').map_or(String::new(), |(_, rest)| rest.to_string()) } else { text }
    };
    (strip(out.text()), strip(late_buf.text()))
}

/// The outputs of runs over `lines` cut before each index in `cuts`, joined.
pub(crate) fn split_runs(jobs: &JobSet, options: EngineOptions, lines: &[String], cuts: &[usize]) -> (String, String) {
    split_runs_of(&|| jobs.load(), options, lines, cuts)
}

/// [`split_runs`] of the jobs `load` gives.
pub(crate) fn split_runs_of(
    load: &dyn Fn() -> Vec<Job>,
    options: EngineOptions,
    lines: &[String],
    cuts: &[usize],
) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let mut bounds: Vec<usize> = cuts.iter().copied().filter(|&c| c > 0 && c < lines.len()).collect();
    bounds.sort_unstable();
    bounds.dedup();
    bounds.insert(0, 0);
    bounds.push(lines.len());
    let (mut output, mut late) = (String::new(), String::new());
    let parts = bounds.len() - 1;
    for (k, pair) in bounds.windows(2).enumerate() {
        let last = k + 1 == parts;
        let (o, l) = run_jobs(load, options, &csv(&lines[pair[0]..pair[1]]), Some((&state, last)), k > 0);
        output.push_str(&o);
        late.push_str(&l);
    }
    (output, late)
}

fn options(emit: EmitMode, watermark: WatermarkScope) -> EngineOptions {
    EngineOptions { emit, watermark, ..EngineOptions::default() }
}

/// Both emit modes, every scope, with or without a `max_future_skew` of 5 minutes: the readings,
/// minutes apart, are often more than that ahead of their clock, so readings are held back,
/// confirmed, dropped as glitches or replaced, and some are held when a run ends.
fn modes() -> impl Strategy<Value = EngineOptions> {
    (
        prop::sample::select(vec![EmitMode::Final, EmitMode::Updates]),
        prop::sample::select(vec![WatermarkScope::Series, WatermarkScope::Asset, WatermarkScope::Global]),
        prop::sample::select(vec![None, Some(300_000)]),
    )
        .prop_map(|(emit, scope, max_future_skew)| EngineOptions { max_future_skew, ..options(emit, scope) })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_cut_into_resumed_runs_writes_what_one_run_writes(
        jobs in job_sets(),
        options in modes(),
        lines in lines(),
        cuts in prop::collection::vec(0usize..60, 0..4),
    ) {
        let whole = run(&jobs, options, &csv(&lines), None, false);
        let split = split_runs(&jobs, options, &lines, &cuts);
        prop_assert_eq!(&whole.0, &split.0, "output differs");
        prop_assert_eq!(&whole.1, &split.1, "late output differs");
    }
}

/// Every single cut of one input with late data, both merge kinds, and a sliding window or
/// tumbling ones whose rules read across window edges (waiting windows and the carried reading
/// go through the state file).
#[test]
fn every_cut_of_a_small_input_writes_what_one_run_writes() {
    let sliding = JobSet {
        latency: "5m",
        sliding: true,
        aggregations: vec!["max", "min", "delta"],
        threshold: true,
        last_value: true,
        frequency_merge: true,
        point_merge: true,
    };
    let across = JobSet {
        sliding: false,
        aggregations: vec![
            "delta, boundary: previous",
            "delta, boundary: interpolate",
            "integral, method: trapezoid, max_gap: 5m",
            "twa, method: left",
        ],
        ..sliding.clone()
    };
    let mut lines = Vec::new();
    for i in 0..40i64 {
        let late = if i % 7 == 3 { -900_000 } else { 0 };
        lines.push(format!(
            "{},m{},{},{}",
            i * 240_000 + late,
            i % 2,
            if i % 3 == 0 { "B" } else { "A" },
            (i * 37) % 90
        ));
    }
    for (jobs, emit, scope) in [&sliding, &across].into_iter().flat_map(|jobs| {
        [EmitMode::Final, EmitMode::Updates].into_iter().flat_map(move |emit| {
            [WatermarkScope::Series, WatermarkScope::Asset, WatermarkScope::Global]
                .into_iter()
                .map(move |scope| (jobs, emit, scope))
        })
    }) {
        // A series' readings are 8 to 24 minutes apart: with a skew of 5 minutes, readings are held
        // back and decided across the cuts.
        for max_future_skew in [None, Some(300_000)] {
            let options = EngineOptions { max_future_skew, ..options(emit, scope) };
            let whole = run(jobs, options, &csv(&lines), None, false);
            assert!(whole.0.lines().count() > 10 && whole.1.lines().count() > 1, "a meaningful input: {whole:?}");
            for cut in 1..lines.len() {
                let split = split_runs(jobs, options, &lines, &[cut]);
                assert_eq!(whole, split, "cut before line {cut}, {emit:?}, {scope:?}, skew {max_future_skew:?}");
            }
        }
    }
}

//! `run --shards N` and `run --state` over random job sets and random meter data: the bytes of the
//! points and late rows, `--stats-json`, stderr and the exit status of 2 and 3 shards are those of
//! one pipeline under `--watermark series` and `asset`; `global` is refused with more than one
//! shard (exit 2, nothing written); and the input cut into two files, run with `--state` and then
//! `--state --finish`, writes (headers dropped, joined) what one run over both files writes, its
//! last `--stats-json` the one run's figures. The jobs: one or two window jobs (tumbling or
//! sliding, several policies of assorted aggregations and rules, thresholds, `last_value`,
//! lateness, `duplicates` rules, `max_future_skew`), a frequency merge over two window outputs
//! (the seed's cross-point `${Max} - ${Min}` shape and a division), a point merge over the raw
//! input and a window job over the merge's output. The data: several assets reading A and B with
//! repeats (same value and corrections), late rows, gaps, clock jumps ahead and back, values out
//! of threshold. Runs take `--emit final` or `updates` and now and then `--strict`, `--sort-input`,
//! `--duplicates last` or `--max-future-skew`, and write CSV, JSON lines or line protocol; the
//! 3-shard run parses on 2 threads. The reference is one pipeline, itself pinned by the golden cases and the model
//! property tests; `PROPTEST_CASES=N` runs more cases than the default.

use crate::support::{Written, fresh_dir, run_written};
use proptest::prelude::*;
use std::path::Path;

/// 2024-03-01T00:00:00Z.
const START: i64 = 1_709_251_200_000;

/// Aggregations with their rules, as they ride in a policy's flow mapping; the last four read
/// across window edges (tumbling windows only).
const AGGREGATIONS: [&str; 22] = [
    "max",
    "min",
    "sum",
    "avg",
    "cnt",
    "first",
    "last",
    "range",
    "median",
    "p90",
    "stddev",
    "delta, boundary: none",
    "delta, boundary: none, reset: rollover, rollover_at: 100",
    "delta, boundary: none, reset: exchange, reset_tolerance: 2",
    "max, min_count: 3",
    "coverage, expected_interval: 1m",
    "sum, expected_interval: 1m, min_coverage: 0.4",
    "delta, boundary: none, slope: \"[0, 600]\", scale: 2",
    "delta, boundary: previous",
    "delta, boundary: interpolate",
    "integral, method: trapezoid, max_gap: 5m",
    "twa, method: left",
];

/// A window job: latency (minutes), sliding or not, duplicates rule, future skew, and policies
/// (aggregation index, input B rather than A, window size in minutes, threshold, `last_value`).
#[derive(Debug, Clone)]
struct WindowJob {
    latency: u32,
    sliding: bool,
    duplicates: &'static str,
    skew: bool,
    policies: Vec<(usize, bool, u32, bool, bool)>,
}

#[derive(Debug, Clone)]
struct Jobs {
    windows: Vec<WindowJob>,
    /// A frequency merge over the first job's first two outputs, ticking on its first size.
    frequency: bool,
    /// A point merge of A and B on the raw input, with this latency (minutes) and a `max_age`.
    point: Option<(u32, bool)>,
    /// A window job over the frequency merge's output.
    downstream: bool,
}

fn window_job() -> impl Strategy<Value = WindowJob> {
    let policy =
        (0..AGGREGATIONS.len(), any::<bool>(), prop::sample::select(vec![5u32, 10, 15]), any::<bool>(), 0u8..4)
            .prop_map(|(a, b, size, threshold, lv)| (a, b, size, threshold, lv == 0));
    (
        prop::sample::select(vec![0u32, 2, 10, 30]),
        0u8..4,
        prop::sample::select(vec!["first", "last", "keep"]),
        0u8..5,
        prop::collection::vec(policy, 1..5),
    )
        .prop_map(|(latency, sliding, duplicates, skew, mut policies)| {
            let sliding = sliding == 0;
            if sliding {
                policies.retain(|p| p.0 < 18);
                if policies.is_empty() {
                    policies.push((0, false, 10, false, false));
                }
            }
            WindowJob { latency, sliding, duplicates, skew: skew == 0, policies }
        })
}

fn jobs() -> impl Strategy<Value = Jobs> {
    (
        prop::collection::vec(window_job(), 1..3),
        any::<bool>(),
        prop::option::of((prop::sample::select(vec![0u32, 3, 20]), any::<bool>())),
        0u8..3,
    )
        .prop_map(|(windows, frequency, point, downstream)| {
            let frequency = frequency && windows[0].policies.len() >= 2;
            Jobs { windows, frequency, point, downstream: frequency && downstream > 0 }
        })
}

impl Jobs {
    /// The job files: (name, YAML).
    fn files(&self) -> Vec<(String, String)> {
        let mut files = Vec::new();
        for (j, job) in self.windows.iter().enumerate() {
            let window = if job.sliding { "window: {type: sliding, slide: 5m}\n" } else { "" };
            let skew = if job.skew { "max_future_skew: 2h\n" } else { "" };
            let mut yaml = format!(
                "name: w{j}\ntemplate: time_window_aggregation\nmodel: M\nlatency: {}m\nduplicates: {}\n{window}{skew}policies:\n",
                job.latency, job.duplicates
            );
            for (i, &(a, b, size, threshold, last_value)) in job.policies.iter().enumerate() {
                let input = if b { "B" } else { "A" };
                let threshold = if threshold { "threshold: \"[0, 80)\", " } else { "" };
                let interpolation = if last_value { "interpolation: last_value, " } else { "" };
                yaml.push_str(&format!(
                    "  - {{input: {input}, {threshold}{interpolation}aggregation: {}, window_size: {size}m, output: W{j}P{i}}}\n",
                    AGGREGATIONS[a]
                ));
            }
            files.push((format!("w{j}.yaml"), yaml));
        }
        if self.frequency {
            let every = self.windows[0].policies[0].2;
            files.push((
                "f.yaml".to_string(),
                format!(
                    "name: f\ntemplate: multi_point_merging\nmodel: M\ntrigger: {{mode: frequency, every: {every}m}}\n\
                     policies:\n  - {{output: Spread, logic: \"${{M::W0P0}} - ${{M::W0P1}}\"}}\n  \
                     - {{output: Share, logic: \"${{M::W0P0}} / ${{M::W0P1}}\"}}\n"
                ),
            ));
        }
        if let Some((latency, max_age)) = self.point {
            let max_age = if max_age { "max_age: 10m\n" } else { "" };
            files.push((
                "p.yaml".to_string(),
                format!(
                    "name: p\ntemplate: multi_point_merging\nmodel: M\nlatency: {latency}m\n{max_age}trigger: {{mode: point}}\n\
                     policies:\n  - {{output: AB, trigger_point: A, logic: \"${{A}} * 2 + ${{B}}\"}}\n  \
                     - {{output: Level, trigger_point: B, logic: \"if ${{B}} > ${{A}} {{ \\\"up\\\" }} else {{ \\\"down\\\" }}\"}}\n"
                ),
            ));
        }
        if self.downstream {
            files.push((
                "d.yaml".to_string(),
                "name: d\ntemplate: time_window_aggregation\nmodel: M\nlatency: 0s\npolicies:\n  \
                 - {input: Spread, aggregation: max, window_size: 1h, output: MaxSpread}\n"
                    .to_string(),
            ));
        }
        files
    }
}

/// Input lines (without header) in file order: assets `m0`.. reading A and B about once a minute
/// each, with repeats, corrections, late rows, gaps, clock jumps and values out of threshold.
fn data() -> impl Strategy<Value = Vec<String>> {
    // (asset, event, random)
    let step = (0u8..10, 0u8..40, any::<u32>());
    // Now and then more readings than a shard batch holds (4096), so rows of several batches in
    // flight and a flush of several chunks are merged.
    let steps =
        prop_oneof![6 => prop::collection::vec(step.clone(), 1..300), 1 => prop::collection::vec(step, 4000..9000)];
    (1u8..10, steps).prop_map(|(assets, steps)| {
        let mut clocks = vec![START; usize::from(assets)];
        let mut written: Vec<Vec<(i64, char, i64)>> = vec![Vec::new(); usize::from(assets)];
        let mut lines = Vec::new();
        for (a, event, r) in steps {
            let a = usize::from(a % assets);
            let point = if r % 3 == 0 { 'B' } else { 'A' };
            let value = i64::from(r % 1200) - 100;
            let (ts, point, value) = match event {
                // A repeat of a recent reading, the same value or a correction.
                0..=3 if !written[a].is_empty() => {
                    let back = (r as usize / 7) % written[a].len().min(6);
                    let (ts, p, v) = written[a][written[a].len() - 1 - back];
                    (ts, p, if r % 2 == 0 { v } else { value })
                }
                // A late reading, up to an hour behind.
                4..=6 => (clocks[a] - i64::from(r % 3_600) * 1000, point, value),
                // A gap of up to 40 minutes.
                7 => {
                    clocks[a] += i64::from(r % 40) * 60_000;
                    (clocks[a], point, value)
                }
                // A clock far ahead (a glitch), or a jump of hours that stays.
                8 => (clocks[a] + 6 * 3_600_000, point, value),
                9 => {
                    clocks[a] += 3 * 3_600_000;
                    (clocks[a], point, value)
                }
                _ => {
                    clocks[a] += 20_000 + i64::from(r % 60) * 1000;
                    (clocks[a], point, value)
                }
            };
            written[a].push((ts, point, value));
            let decimals = if r % 5 == 0 { format!("{value}.{}", r % 10) } else { value.to_string() };
            lines.push(format!("{ts},m{a},{point},{decimals}"));
        }
        lines
    })
}

fn run(dir: &Path, jobs: &[String], inputs: &[&str], (args, format): (&[&str], &str), tag: &str) -> Written {
    let mut all = vec!["run"];
    all.extend(jobs.iter().map(String::as_str));
    for input in inputs {
        all.extend(["-i", input]);
    }
    all.extend(args);
    run_written(dir, &all, tag, format)
}

/// Fails naming `what` and the first line where `got` and `want` differ.
fn same(got: &str, want: &str, what: &str) -> Result<(), TestCaseError> {
    if got == want {
        return Ok(());
    }
    let (got_lines, want_lines): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    let at = got_lines.iter().zip(&want_lines).take_while(|(g, w)| g == w).count();
    Err(TestCaseError::fail(format!(
        "{what}: line {} is {:?}, one pipeline's {:?} ({} and {} lines)",
        at + 1,
        got_lines.get(at),
        want_lines.get(at),
        got_lines.len(),
        want_lines.len()
    )))
}

/// Every part of `got` is that of `want`.
fn same_outcome(got: &Written, want: &Written, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.status, want.status, "{}: exit status; stderr {}", what, got.stderr);
    same(&got.points, &want.points, &format!("{what}: points"))?;
    same(&got.late, &want.late, &format!("{what}: late rows"))?;
    same(&got.stats, &want.stats, &format!("{what}: --stats-json"))?;
    same(&got.stderr, &want.stderr, &format!("{what}: stderr"))
}

fn body(text: &str) -> &str {
    text.split_once('\n').map_or("", |(_, rest)| rest)
}

/// The figures of `--stats-json` but what a resumed run adds about itself (`resumed`) and the
/// count `--state` does not carry (`updates_left_standing`, this run's only).
fn figures(stats: &str) -> serde_json::Value {
    let mut json: serde_json::Value = serde_json::from_str(stats).unwrap_or(serde_json::Value::Null);
    if let Some(object) = json.as_object_mut() {
        object.shift_remove("resumed");
    }
    for job in json.get_mut("jobs").and_then(|jobs| jobs.as_array_mut()).into_iter().flatten() {
        job.as_object_mut().map(|job| job.shift_remove("updates_left_standing"));
    }
    json
}

/// Flags that change what a run does, one set per case: `--strict` (warnings make exit 1),
/// `--sort-input`, and the overrides of every job's `duplicates` and `max_future_skew`.
const FLAGS: [&[&str]; 6] =
    [&[], &[], &["--strict"], &["--sort-input"], &["--duplicates", "last"], &["--max-future-skew", "30m"]];

fn check(
    jobs: &Jobs,
    lines: &[String],
    cut: usize,
    emit: &str,
    scope: &str,
    flags: &[&str],
    format: &str,
) -> Result<(), TestCaseError> {
    let dir = fresh_dir(&format!("shard_properties_{}", std::process::id()));
    let mut names = Vec::new();
    for (name, yaml) in jobs.files() {
        std::fs::write(dir.join(&name), yaml).unwrap();
        names.push(name);
    }
    let cut = cut % (lines.len() + 1);
    let file = |part: &[String]| {
        let mut text = String::from("timestamp,asset,point,value\n");
        for line in part {
            text.push_str(line);
            text.push('\n');
        }
        text
    };
    std::fs::write(dir.join("a.csv"), file(&lines[..cut])).unwrap();
    std::fs::write(dir.join("b.csv"), file(&lines[cut..])).unwrap();
    let inputs = ["a.csv", "b.csv"];
    let args = [&["--emit", emit, "--watermark", scope], flags].concat();
    let one = run(&dir, &names, &inputs, (&args, format), "one");
    prop_assert!(one.status == 0 || one.status == 1, "{}", one.stderr);
    prop_assert!(!one.stderr.contains("panicked"), "{}", one.stderr);
    if scope == "global" {
        let sharded = run(&dir, &names, &inputs, (&[&args[..], &["--shards", "2"]].concat(), format), "two");
        prop_assert_eq!(sharded.status, 2, "{}", sharded.stderr);
        prop_assert!(sharded.stderr.contains("--shards 2: --watermark global"), "{}", sharded.stderr);
        let late = if format == "jsonl" { "two.late.jsonl" } else { "two.late.csv" };
        let points = format!("two.{format}");
        prop_assert!(!dir.join(points).exists() && !dir.join(late).exists());
    } else {
        for shards in [&["--shards", "2"][..], &["--shards", "3", "--threads", "2"]] {
            let sharded = run(&dir, &names, &inputs, (&[&args[..], shards].concat(), format), "sharded");
            same_outcome(&sharded, &one, &format!("{shards:?} in {}", dir.display()))?;
        }
    }
    // Sorting needs the whole input (refused with --state), and --strict fails a part's run on
    // the warnings of that part.
    if one.status != 0 || flags.contains(&"--sort-input") || flags.contains(&"--strict") {
        return Ok(());
    }
    // The same input in two runs joined by a state file.
    let state = [&args[..], &["--state", "st"]].concat();
    let first = run(&dir, &names, &inputs[..1], (&state, format), "first");
    prop_assert_eq!(first.status, 0, "{}", first.stderr);
    let last = run(&dir, &names, &inputs[1..], (&[&state[..], &["--finish"]].concat(), format), "last");
    prop_assert_eq!(last.status, 0, "{}", last.stderr);
    // Only CSV has a header line (the late rows of line protocol are CSV).
    let rest = |text: &str, header: bool| if header { body(text).to_string() } else { text.to_string() };
    let (points, late) = (rest(&last.points, format == "csv"), rest(&last.late, format != "jsonl"));
    same(&format!("{}{points}", first.points), &one.points, "points of the state-split runs")?;
    same(&format!("{}{late}", first.late), &one.late, "late rows of the state-split runs")?;
    let pretty = |stats: &str| serde_json::to_string_pretty(&figures(stats)).unwrap();
    same(&pretty(&last.stats), &pretty(&one.stats), "the figures of the state-split runs")?;
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn shards_and_state_cuts_write_what_one_pipeline_writes(
        jobs in jobs(),
        lines in data(),
        cut in any::<usize>(),
        emit in prop::sample::select(vec!["final", "updates"]),
        flags in prop::sample::select(FLAGS.to_vec()),
        scope in prop::sample::select(vec!["series", "series", "asset", "asset", "global"]),
        format in prop::sample::select(vec!["csv", "csv", "jsonl", "influx"]),
    ) {
        check(&jobs, &lines, cut, emit, scope, flags, format)?;
    }
}

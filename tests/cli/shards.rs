//! `run --shards N`: the jobs on N threads by asset give the bytes of one pipeline (points, late
//! rows, `--stats-json`, the summary and warnings, the exit status) on generated inputs of many
//! assets with late readings, repeats, skewed clocks, chained window and merge jobs and windows
//! still open at the end of input; the combinations that couple assets are refused (exit 2). The
//! golden cases run on three shards too (see `cases.rs`); one pipeline is the reference here, its
//! own results being pinned by those hand-worked cases.

use crate::support::{Written, fresh_dir, meterflow, run_written};
use std::path::Path;

/// Tumbling max/min and a sliding sum of point A, a late limit of 5 minutes and a threshold that
/// leaves some readings out.
const WINDOWS: &str = "name: windows\ntemplate: time_window_aggregation\nmodel: M\nwindow:\n  type: tumbling\n\
    latency: 5m\nduplicates: last\npolicies:\n  - input: A\n    threshold: \"[0, 90)\"\n    aggregation: max\n    \
    window_size: 10m\n    output: MaxA\n  - input: A\n    aggregation: min\n    window_size: 10m\n    output: MinA\n  \
    - input: B\n    aggregation: count\n    window_size: 30m\n    output: CountB\n";

const SLIDING: &str = "name: sliding\ntemplate: time_window_aggregation\nmodel: M\nwindow:\n  type: sliding\n  \
    slide: 5m\nlatency: 2m\npolicies:\n  - input: A\n    aggregation: sum\n    window_size: 15m\n    output: SumA\n";

/// Fed by the window job: its rows, and the skips of a missing operand, depend on the end of
/// input's flush.
const SPREAD: &str = "name: spread\ntemplate: multi_point_merging\nmodel: M\ntrigger:\n  mode: frequency\n  \
    every: 10m\ntiming_interpolation: last_value\nmax_age: 20m\npolicies:\n  - output: Spread\n    \
    logic: \"${M::MaxA} - ${M::MinA}\"\n  - output: PerB\n    logic: \"${M::MaxA} / ${M::CountB}\"\n";

/// On raw input, triggered by A: late operands are dropped.
const SUM: &str = "name: sum\ntemplate: multi_point_merging\nmodel: M\nlatency: 3m\ntrigger:\n  mode: point\n\
    policies:\n  - output: AB\n    trigger_point: M::A\n    logic: \"${M::A} + ${M::B}\"\n";

/// A window over a merge's output, so a flushed merge row feeds a window job.
const HOURLY: &str = "name: hourly\ntemplate: time_window_aggregation\nmodel: M\nlatency: 0s\npolicies:\n  \
    - input: Spread\n    aggregation: max\n    window_size: 1h\n    output: MaxSpread\n";

/// Rules that read across window edges: a window waits for its series' next reading.
const ENERGY: &str = "name: energy\ntemplate: time_window_aggregation\nmodel: M\nlatency: 4m\npolicies:\n  \
    - input: A\n    aggregation: delta\n    window_size: 10m\n    output: DeltaA\n  \
    - input: A\n    aggregation: delta\n    boundary: interpolate\n    window_size: 10m\n    output: SplitA\n  \
    - input: B\n    aggregation: integral\n    method: trapezoid\n    unit: 1h\n    max_gap: 3m\n    \
    window_size: 5m\n    output: EnergyB\n  \
    - input: B\n    aggregation: twa\n    method: left\n    window_size: 15m\n    output: TwaB\n";

/// A small deterministic generator (xorshift), so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Long input of `assets` meters reading A (and B for most) about once a minute for `minutes`,
/// in file order with some readings late (up to 40 minutes), some repeated with another value,
/// and a rare clock far ahead.
fn input(seed: u64, assets: u64, minutes: u64) -> String {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let base = 1_704_067_200_000_i64; // 2024-01-01T00:00:00Z
    let mut text = String::from("timestamp,asset,point,value\n");
    let mut row = |ms: i64, asset: u64, point: &str, value: u64| {
        let t = chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        text.push_str(&format!("{t},m{asset},{point},{}.{}\n", value / 10, value % 10));
    };
    for minute in 0..minutes {
        for asset in 0..assets {
            if rng.below(10) == 0 {
                continue;
            }
            let mut ms = base + (minute * 60_000 + rng.below(60_000)) as i64;
            match rng.below(40) {
                0 => ms -= (rng.below(40) * 60_000) as i64,
                1 if minute > 30 => ms += 3 * 3_600_000,
                _ => {}
            }
            let value = rng.below(1000);
            row(ms, asset, "A", value);
            if rng.below(25) == 0 {
                row(ms, asset, "A", rng.below(1000));
            }
            if asset % 7 != 3 && rng.below(3) > 0 {
                row(ms + 1, asset, "B", rng.below(1000));
            }
        }
    }
    text
}

fn run(dir: &Path, args: &[&str], shards: usize) -> Written {
    let shards = shards.to_string();
    let jobs = ["run", "windows.yaml", "sliding.yaml", "spread.yaml", "sum.yaml", "hourly.yaml", "energy.yaml"];
    run_written(dir, &[&jobs[..], args, &["--shards", &shards]].concat(), &format!("s{shards}"), "csv")
}

fn setup(name: &str) -> std::path::PathBuf {
    let dir = fresh_dir(name);
    for (file, text) in [
        ("windows.yaml", WINDOWS),
        ("sliding.yaml", SLIDING),
        ("spread.yaml", SPREAD),
        ("sum.yaml", SUM),
        ("hourly.yaml", HOURLY),
        ("energy.yaml", ENERGY),
    ] {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

/// Runs `args` on 1 to 4 shards and checks every outcome equals the one pipeline's; returns it.
fn same_on_every_shard_count(dir: &Path, args: &[&str]) -> Written {
    let one = run(dir, args, 1);
    for shards in 2..=4 {
        let sharded = run(dir, args, shards);
        assert_eq!(sharded, one, "--shards {shards} {args:?} in {}", dir.display());
    }
    one
}

#[test]
fn sharded_runs_write_what_one_pipeline_writes() {
    let dir = setup("shards_generated");
    for seed in 1..=3 {
        std::fs::write(dir.join("in.csv"), input(seed, 23, 150)).unwrap();
        std::fs::write(dir.join("more.csv"), input(seed + 100, 5, 40)).unwrap();
        for emit in ["final", "updates"] {
            for scope in ["series", "asset"] {
                let args = ["-i", "in.csv", "-i", "more.csv", "--emit", emit, "--watermark", scope];
                let one = same_on_every_shard_count(&dir, &args);
                // The generated input reaches what the comparison is about.
                assert_eq!(one.status, 0, "{}", one.stderr);
                assert!(one.points.lines().count() > 2_000, "seed {seed}");
                assert!(one.late.lines().count() > 20, "seed {seed}: {}", one.late);
                assert!(one.stats.contains("\"repeats\": "), "{}", one.stats);
                assert!(one.stderr.contains("dropped as late"), "{}", one.stderr);
                assert!(one.points.contains("MaxSpread"), "seed {seed}");
                for point in ["DeltaA", "SplitA", "EnergyB", "TwaB"] {
                    assert!(one.points.contains(point), "seed {seed}: no {point}");
                }
            }
        }
    }
}

/// Readings sorted before the jobs see them, `--strict` turning warnings into exit 1, and
/// `--duplicates first`: the same on every shard count.
#[test]
fn sharded_runs_agree_on_sorted_input_and_strict_warnings() {
    let dir = setup("shards_sorted");
    std::fs::write(dir.join("in.csv"), input(7, 17, 120)).unwrap();
    let sorted = same_on_every_shard_count(&dir, &["-i", "in.csv", "--sort-input", "-q"]);
    assert_eq!(sorted.status, 0, "{}", sorted.stderr);
    let strict = same_on_every_shard_count(&dir, &["-i", "in.csv", "--strict", "--duplicates", "first"]);
    assert_eq!(strict.status, 1, "{}", strict.stderr);
}

/// Every open window of many assets flushed at the end of input, and their rows feeding a merge
/// and a window job downstream: the order is the one pipeline's firing order, not the shards'.
#[test]
fn the_end_of_input_flush_keeps_the_order_of_one_pipeline() {
    let dir = setup("shards_flush");
    let windows = WINDOWS.replace("latency: 5m", "latency: 1d");
    std::fs::write(dir.join("windows.yaml"), windows).unwrap();
    std::fs::write(dir.join("in.csv"), input(11, 31, 60)).unwrap();
    let one = same_on_every_shard_count(&dir, &["-i", "in.csv"]);
    assert_eq!(one.status, 0, "{}", one.stderr);
    // With a day of lateness every window of A is written by the flush, by due time and then by
    // series in order of first appearance: the first two rows are of one window and two assets.
    let maxima: Vec<&str> = one.points.lines().filter(|l| l.contains(",MaxA,")).collect();
    assert!(maxima.len() > 100);
    let (first, second) = (maxima[0].split(',').collect::<Vec<_>>(), maxima[1].split(',').collect::<Vec<_>>());
    assert_eq!(first[0], second[0], "{maxima:?}");
    assert_ne!(first[1], second[1], "{maxima:?}");
}

#[test]
fn what_couples_assets_is_refused_with_more_than_one_shard() {
    let dir = setup("shards_refused");
    std::fs::write(dir.join("in.csv"), input(3, 3, 5)).unwrap();
    let refused = [
        (vec!["--watermark", "global"], "--watermark global moves one clock"),
        (vec!["--state", "st.json"], "--state saves the jobs of one pipeline"),
        (vec!["--max-open-windows", "1000"], "--max-open-windows counts over every asset"),
        (vec!["--max-merge-series", "1000"], "--max-merge-series counts over every asset"),
    ];
    for (flags, message) in refused {
        let out = meterflow()
            .current_dir(&dir)
            .args(["run", "windows.yaml", "-i", "in.csv", "-o", "out.csv", "--shards", "2"])
            .args(&flags)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(&format!("--shards 2: {message}")), "{flags:?}: {stderr}");
        assert!(stderr.contains("use --shards 1"), "{stderr}");
        assert!(!dir.join("out.csv").exists());
    }
    // A pipe is live input.
    let out = crate::support::with_stdin(
        meterflow().current_dir(&dir).args(["run", "windows.yaml", "-o", "out.csv", "--shards", "3"]),
        "timestamp,asset,point,value\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::support::stderr(&out).contains("--shards 3: a live input"), "{}", crate::support::stderr(&out));
    // One shard is the default and takes every flag.
    let out = meterflow()
        .current_dir(&dir)
        .args(["run", "windows.yaml", "-i", "in.csv", "-o", "out.csv", "--shards", "1", "--watermark", "global"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The shards run the job files as the run read them: a job file that can be read only once (a
/// pipe) works, and a job file changed during the run cannot give the shards other jobs.
#[test]
fn shards_run_the_job_files_as_the_run_read_them() {
    let dir = setup("shards_job_pipe");
    std::fs::write(dir.join("in.csv"), input(5, 9, 30)).unwrap();
    let bin = env!("CARGO_BIN_EXE_meterflow");
    let script = format!("'{bin}' run <(cat windows.yaml) -i in.csv -o piped.csv -q --shards 2");
    let out = std::process::Command::new("bash").arg("-c").arg(script).current_dir(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let file = meterflow()
        .current_dir(&dir)
        .args(["run", "windows.yaml", "-i", "in.csv", "-o", "file.csv", "-q"])
        .output()
        .unwrap();
    assert_eq!(file.status.code(), Some(0));
    let (piped, file) = (std::fs::read(dir.join("piped.csv")).unwrap(), std::fs::read(dir.join("file.csv")).unwrap());
    assert!(file.len() > 1000);
    assert_eq!(piped, file);
}

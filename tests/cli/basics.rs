//! Command-line behaviour that golden folders cannot express: stdin input, a closed stdout pipe,
//! several inputs, help text.

use crate::support::meterflow;
use crate::{SEED_EXPECTED as EXPECTED, SEED_INPUT as INPUT};
use std::io::{Read, Write};
use std::process::Stdio;

fn run_with_stdin(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child =
        meterflow().args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn reads_stdin_without_input_flag_and_with_dash() {
    for args in
        [&["run", "jobs/meter_max_min.yaml", "-q"][..], &["run", "jobs/meter_max_min.yaml", "--input", "-", "-q"]]
    {
        let (status, stdout, stderr) = run_with_stdin(args, INPUT);
        assert_eq!(status, 0, "{stderr}");
        assert_eq!(stdout, EXPECTED);
    }
}

#[test]
fn several_inputs_are_one_stream_in_order() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-several");
    std::fs::create_dir_all(&dir).unwrap();
    let lines: Vec<&str> = INPUT.lines().collect();
    let first = dir.join("a.csv");
    let second = dir.join("b.csv");
    std::fs::write(&first, format!("{}\n{}\n{}\n", lines[0], lines[1], lines[2])).unwrap();
    std::fs::write(&second, format!("{}\n{}\n", lines[0], lines[3])).unwrap();
    let out = meterflow()
        .args(["run", "jobs/meter_max_min.yaml", "-q", "--input"])
        .arg(&first)
        .arg("--input")
        .arg(&second)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), EXPECTED);
}

#[test]
fn closed_stdout_is_not_an_error() {
    let mut child = meterflow()
        .args(["run", "jobs/", "--input", "samples/meters.csv", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty());
}

#[test]
fn missing_input_file_is_a_run_error() {
    let out = meterflow().args(["run", "jobs/", "--input", "no/such.csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("error: failed to open input no/such.csv: "), "{stderr}");
}

#[test]
fn bad_flag_value_is_a_usage_error() {
    let out = meterflow().args(["run", "jobs/", "--max-future-skew", "soon"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("error: --max-future-skew: invalid duration \"soon\""), "{stderr}");
}

#[test]
fn help_shows_examples() {
    for sub in ["run", "validate"] {
        let out = meterflow().args([sub, "--help"]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Example"), "{sub} --help has no example:\n{text}");
    }
}

/// A long input spanning many of the fast reader's chunks, with a bad row and a missing value deep
/// inside it: every `--threads` gives the same bytes, and the general reader, taking over at the
/// bad row, names its true line.
#[test]
fn threads_give_the_same_output_and_lines() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-threads");
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::from("timestamp,asset,point,value\n");
    for i in 0..100_000u32 {
        if i == 60_000 {
            text.push_str("2024-01-01T16:40:00Z,m1,Reading,oops\n");
        }
        if i == 80_000 {
            text.push_str("2024-01-01T22:13:20Z,m1,Reading,NA\n");
        }
        let (h, m, s) = (i / 3600, i / 60 % 60, i % 60);
        text.push_str(&format!(
            "2024-01-{:02}T{:02}:{m:02}:{s:02}Z,m{},Reading,{}.5\n",
            1 + h / 24,
            h % 24,
            1 + i % 3,
            i % 50
        ));
    }
    let input = dir.join("in.csv");
    std::fs::write(&input, text).unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = dir.join(format!("out{threads}.csv"));
        let rejects = dir.join(format!("rejects{threads}.csv"));
        let run = meterflow()
            .args(["run", "jobs/", "-q", "--on-bad-row", "skip", "--threads", threads, "--input"])
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .arg("--rejects")
            .arg(&rejects)
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let rejects = std::fs::read_to_string(&rejects).unwrap();
        let path = input.display().to_string();
        assert_eq!(
            rejects,
            format!(
                "file,line,reason,row\n{path},60002,\"column 4 (value): invalid value \"\"oops\"\": expected a finite number\",\"2024-01-01T16:40:00Z,m1,Reading,oops\"\n"
            )
        );
        outputs.push(std::fs::read(&out).unwrap());
    }
    // 100,000 s of readings from 3 meters: 167 ten-minute windows each, two policies per meter and
    // one merged difference.
    let first = String::from_utf8(outputs[0].clone()).unwrap();
    assert_eq!(first.lines().count(), 1 + 3 * 167 * 3, "{}", &first[..200]);
    assert!(outputs.iter().all(|o| *o == outputs[0]));
}

/// A bad row after the reader of stdout has gone: the rows before it could not be written, and
/// that is the outcome (exit 0, as for `| head`), whether output is written on this thread or on
/// a writer thread that receives rows in batches.
#[test]
fn closed_stdout_wins_over_a_later_bad_row_with_any_threads() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-closed-bad-row");
    std::fs::create_dir_all(&dir).unwrap();
    let job = "name: cnt\nmodel: x\ntemplate: time_window_aggregation\nwindow:\n  type: tumbling\nlatency: 0s\npolicies:\n  - input: Reading\n    threshold: \"(-inf, inf)\"\n    interpolation: ignore\n    aggregation: cnt\n    window_size: 1s\n    output: Cnt\n";
    std::fs::write(dir.join("job.yaml"), job).unwrap();
    let mut text = String::from("timestamp,asset,point,value\n");
    for i in 0..2500 {
        text.push_str(&format!(
            "2024-01-01T{:02}:{:02}:{:02}Z,m1,Reading,{}\n",
            i / 3600,
            i / 60 % 60,
            i % 60,
            i % 100
        ));
    }
    text.push_str("2024-01-01T00:41:40Z,m1,Reading,oops\n");
    std::fs::write(dir.join("in.csv"), text).unwrap();
    for threads in ["1", "2"] {
        let mut child = meterflow()
            .args(["run", "-q", "--threads", threads, "--input"])
            .arg(dir.join("in.csv"))
            .arg(dir.join("job.yaml"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "--threads {threads}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stderr.is_empty(), "--threads {threads}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Daily sum and max of half-hourly energy, whatever share of the day the readings cover.
pub const LCL_DAILY_ANY_COVERAGE: &str = "\
name: lcl-daily
template: time_window_aggregation
model: ElectricMeter
latency: 1d
policies:
  - input: Energy
    aggregation: sum
    window_size: 1d
    output: EnergyKWh1d
  - input: Energy
    aggregation: max
    window_size: 1d
    output: MaxHalfHourKWh1d
";

/// `--decimals N` rounds output numbers for people; without it the shortest round-trip form stays.
#[test]
fn decimals_round_output_numbers_only_when_asked() {
    let input = "LCLid,tstp,energy(kWh/hh)\nM1,2013-01-01 00:00:00,0.1\nM1,2013-01-01 00:30:00,0.2\n";
    // The shipped LCL job without its `min_coverage` (two half hours are no day's worth).
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("daily.yaml");
    std::fs::write(&job, LCL_DAILY_ANY_COVERAGE).unwrap();
    let args = ["run", job.to_str().unwrap(), "--input-config", "jobs/realdata/inputs/lcl.yaml", "-q"];
    let (status, stdout, stderr) = run_with_stdin(&args, input);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        stdout,
        "timestamp,asset,point,value\n2013-01-01T00:00:00.000Z,M1,EnergyKWh1d,0.30000000000000004\n\
         2013-01-01T00:00:00.000Z,M1,MaxHalfHourKWh1d,0.2\n"
    );
    let (status, stdout, stderr) = run_with_stdin(&[&args[..], &["--decimals", "2"]].concat(), input);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        stdout,
        "timestamp,asset,point,value\n2013-01-01T00:00:00.000Z,M1,EnergyKWh1d,0.3\n\
         2013-01-01T00:00:00.000Z,M1,MaxHalfHourKWh1d,0.2\n"
    );
}

/// The rows of EXPECTED as line protocol: 2024-01-01T00:00Z is 1704067200 s, in nanoseconds.
#[test]
fn influx_format_writes_line_protocol() {
    let (status, stdout, stderr) =
        run_with_stdin(&["run", "jobs/meter_max_min.yaml", "--format", "influx", "-q"], INPUT);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        stdout,
        "MaxReading10Min,asset=m1 value=7 1704067200000000000\n\
         MinReading10Min,asset=m1 value=5 1704067200000000000\n\
         MaxReading10Min,asset=m1 value=3 1704067800000000000\n\
         MinReading10Min,asset=m1 value=3 1704067800000000000\n"
    );
}

/// The quick start's own run says that the merge repeated meter-002's last windows over its outage
/// (13:10 to 13:30, see samples/README.md), even with `-q`, and `--stats-json` counts those rows.
#[test]
fn the_quick_start_warns_about_values_carried_over_an_outage() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    let out = meterflow()
        .args(["run", "jobs/", "--input", "samples/meters.csv", "-q", "-o", "/dev/null", "--stats-json"])
        .arg(&stats)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "job `meter-reading-difference` wrote 3 ReadingDifference rows from an operand value carried over"
        ) && stderr.contains("e.g. meter-002 at 2024-03-01T13:10:00.000Z"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let carried = &json["jobs"][1]["carried_over"][0];
    assert_eq!(carried["output"], "ReadingDifference");
    assert_eq!(carried["rows"], 3);
    assert_eq!(carried["oldest_age"], "30m");
    assert_eq!(carried["example"]["asset"], "meter-002");
}

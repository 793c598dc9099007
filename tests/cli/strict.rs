//! Runs that must not pass in silence: `--max-bad-rows`, the warning for a run that skipped most
//! rows, and `--strict`, which makes every warning an error.

use crate::support::{meterflow, text, with_stdin};
use std::path::PathBuf;

/// 1 good row, then 3 rows whose value is not a number (lines 3 to 5).
const THREE_BAD: &str = "timestamp,asset,point,value\n2024-01-01T00:01:00Z,m1,Reading,5\n\
    2024-01-01T00:02:00Z,m1,Reading,x\n2024-01-01T00:03:00Z,m1,Reading,y\n2024-01-01T00:04:00Z,m1,Reading,z\n";

const JOB: &str = "jobs/meter_max_min.yaml";

#[test]
fn max_bad_rows_stops_the_run_past_n_skipped_rows() {
    let out =
        with_stdin(meterflow().args(["run", JOB, "-q", "--on-bad-row", "skip", "--max-bad-rows", "2"]), THREE_BAD);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).ends_with(
            "error: <stdin>:5: more than 2 bad rows (--max-bad-rows 2); this one: column 4 (value): invalid value \"z\": expected a finite number\n"
        ),
        "{}",
        text(&out.stderr)
    );
    let out =
        with_stdin(meterflow().args(["run", JOB, "-q", "--on-bad-row", "skip", "--max-bad-rows", "3"]), THREE_BAD);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = with_stdin(meterflow().args(["run", JOB, "-q", "--max-bad-rows", "3"]), THREE_BAD);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).starts_with("error: --max-bad-rows limits the rows that --on-bad-row skip skips"));
}

/// 3 of 4 rows skipped (75%, above the 10% share), and every row skipped: said even with `-q`.
#[test]
fn a_run_that_skipped_most_rows_says_so_even_when_quiet() {
    let out = with_stdin(meterflow().args(["run", JOB, "-q", "--on-bad-row", "skip"]), THREE_BAD);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "meterflow: warning: 3 of the 4 input rows (75.0%) were bad rows and skipped; the first: <stdin>:3: column 4 \
         (value): invalid value \"x\": expected a finite number; check the input flags (--delimiter, --time-format, \
         the column flags), and use --max-bad-rows N to stop a run past N bad rows\n"
    );
    let all_bad = "timestamp,asset,point,value\n2024-01-01T00:01:00Z,m1,Reading,x\n";
    let out = with_stdin(meterflow().args(["run", JOB, "-q", "--on-bad-row", "skip"]), all_bad);
    assert!(
        text(&out.stderr)
            .starts_with("meterflow: warning: every input row (1) was a bad row and skipped; the first: <stdin>:2:"),
        "{}",
        text(&out.stderr)
    );
    // One bad row in 11 (9.1%) is under the share: no warning.
    let mut few = String::from("timestamp,asset,point,value\n");
    for minute in 0..10 {
        few.push_str(&format!("2024-01-01T00:0{minute}:00Z,m1,Reading,1\n"));
    }
    few.push_str("2024-01-01T00:10:00Z,m1,Reading,x\n");
    let out = with_stdin(meterflow().args(["run", JOB, "-q", "--on-bad-row", "skip"]), &few);
    assert_eq!(text(&out.stderr), "");
}

/// `--strict`: the late-data warning (2 of 3 readings dropped: 2 days behind, latency 1d) fails the run with exit 1 once the
/// outputs are written; without it the same run exits 0.
#[test]
fn strict_makes_a_run_warning_an_error() {
    let input = "timestamp,asset,point,value\n2024-01-03T00:00:00Z,m1,Reading,1\n\
                 2024-01-01T00:00:00Z,m1,Reading,2\n2024-01-01T00:01:00Z,m1,Reading,3\n";
    let job = "jobs/meter_max_min.yaml";
    let out = with_stdin(meterflow().args(["run", job, "-q"]), input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let warning = text(&out.stderr);
    assert!(warning.starts_with("meterflow: warning: 2 of the 3 readings"), "{warning}");
    let out = with_stdin(meterflow().args(["run", job, "-q", "--strict"]), input);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), format!("{warning}error: --strict: the warning above is an error\n"));
}

/// A job whose latency keeps more than 10,000 windows per series open earns a load warning:
/// `validate --strict` exits 2 on it, `run --strict` exits 1 before reading any input.
#[test]
fn strict_makes_a_job_warning_an_error() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("strict-job-warning");
    std::fs::create_dir_all(&dir).unwrap();
    let job = dir.join("wide_latency.yaml");
    std::fs::write(&job, "name: w\nmodel: x\ntemplate: time_window_aggregation\nlatency: 30d\npolicies:\n  - input: Reading\n    aggregation: max\n    window_size: 1m\n    output: Max1\n").unwrap();
    let out = meterflow().arg("validate").arg(&job).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let warning = text(&out.stderr);
    assert!(warning.contains("warning: policies[0].window_size: up to 43201 windows per series"), "{warning}");
    let out = meterflow().args(["validate", "--strict"]).arg(&job).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), format!("{warning}error: --strict: the warning above is an error\n"));
    let out = meterflow().args(["validate", "--strict", "--format", "json"]).arg(&job).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains("\"severity\": \"warning\""), "{}", text(&out.stdout));
    let out = with_stdin(meterflow().args(["run", "-q", "--strict", "-o", "never.csv"]).arg(&job), "not read\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), format!("{warning}error: --strict: the warning above is an error\n"));
    assert!(!PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("never.csv.partial").exists());
}

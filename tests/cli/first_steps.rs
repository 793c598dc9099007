//! The small refusals a new user met (issue 32): a config's `sort_input` turned off by a flag and
//! named in the `--state` refusal, the late warning of a `--state` run, `sniff --jobs` with two
//! points on one column, a model and a rename that never met the input, a terminal stdin, `validate
//! --strict`, the synopsis's formats, and a reader of stdout that leaves early.

use crate::support::{meterflow, stderr, text, with_stdin};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

const LATE_CASE: &str = "tests/cases/input/input_late_warning_suggests_sort";

/// The newest-first ESB rows of the late-warning case, with its flags in an input config that sorts.
fn esb_config(dir: &Path, sort: bool) -> String {
    let config = format!(
        "asset_column: MPRN\ntime_column: \"Read Date and End Time\"\npoint_column: \"Read Type\"\n\
         value_column: \"Read Value\"\npoints: \"Active Import Interval (kWh)=Import,Active Export Interval (kWh)=Export\"\n\
         time_format: \"%d-%m-%Y %H:%M\"\ntimezone: Europe/Dublin\ndst: ambiguous=earlier\nsort_input: {sort}\n"
    );
    write(dir, "esb.yaml", &config)
}

#[test]
fn a_configs_sort_input_is_named_in_the_state_refusal_and_a_flag_turns_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let config = esb_config(dir.path(), true);
    let state = dir.path().join("s.state");
    let state = state.to_str().unwrap();
    let job = format!("{LATE_CASE}/job.yaml");
    let input = format!("{LATE_CASE}/input.csv");
    let base = ["run", &job, "--input", &input, "--input-config", &config, "--state", state, "-q"];
    let out = meterflow().args(base).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim_end(),
        format!(
            "error: sort_input: true (in the input config {config}) cannot be used with --state: each run would sort \
             only its own input, so the result would depend on where the input was cut; sort the input files \
             beforehand (or --no-sort-input)"
        )
    );
    let out = meterflow().args(base).arg("--sort-input").output().unwrap();
    assert!(stderr(&out).starts_with("error: --sort-input cannot be used with --state"), "{}", stderr(&out));
    // --no-sort-input wins over the file; the newest-first rows are then late, and the warning
    // proposes what works with --state.
    let out = meterflow().args(base).arg("--no-sort-input").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "dropped as late beyond lateness; if the input is not in time order (e.g. newest first), sort each input \
             file by time before the run (--sort-input cannot go with --state), or give the jobs a longer `latency`"
        ),
        "{err}"
    );
    // Without --state the same config sorts, and the rows are on time.
    let out = meterflow().args(&base[..6]).arg("-q").output().unwrap();
    assert!(out.status.success() && stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn no_wide_turns_off_a_configs_wide() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "wide.yaml", "wide: true\n");
    let out = with_stdin(
        meterflow().args(["run", "jobs/meter_max_min.yaml", "--input-config", &config, "--no-wide", "-q"]),
        "timestamp,asset,point,value\n2024-01-01T00:01:00Z,m1,Reading,3\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text(&out.stdout).contains("m1,MaxReading10Min,3"), "{}", text(&out.stdout));
}

/// OPSD-like columns: `Import` (an ESB job) and `GridImport` (an OPSD job) both match the grid
/// import column; it goes to `GridImport`, and the proposed command runs.
#[test]
fn sniff_gives_one_column_one_point_and_its_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "opsd.csv",
        "utc_timestamp,DE_KN_residential4_grid_import,DE_KN_residential4_pv\n\
         2015-10-04T01:00:00Z,0.5,0\n2015-10-04T02:00:00Z,0.75,0.25\n",
    );
    let out = meterflow().args(["sniff", &input, "--jobs", "jobs/realdata/", "--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}{}", text(&out.stdout), stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &report[0];
    assert_eq!(s["read_error"], serde_json::Value::Null);
    let flags: Vec<&str> = s["flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    let points = flags[flags.iter().position(|f| *f == "--points").unwrap() + 1];
    assert!(points.contains("DE_KN_residential4_grid_import=GridImport"), "{points}");
    assert!(!points.contains("=Import"), "{points}");
    let notes = s["notes"].to_string();
    assert!(notes.contains("point \\\"Import\\\", whose only match"), "{notes}");
    let words = shlex::split(s["command"].as_str().unwrap()).unwrap();
    let run = meterflow().args(&words[1..]).arg("-q").output().unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
}

const MODEL_JOB: &str = "name: max\ntemplate: time_window_aggregation\nmodel: ElectricMeter\npolicies:\n  \
                         - input: Reading\n    aggregation: max\n    window_size: 10m\n    output: MaxReading10Min\n";

#[test]
fn a_model_spelled_otherwise_gets_a_did_you_mean_and_fails_under_strict() {
    let dir = tempfile::tempdir().unwrap();
    let job = write(dir.path(), "job.yaml", MODEL_JOB);
    let rows = "timestamp,asset,point,value,model\n2024-01-01T00:01:00Z,m1,Reading,5,electricmeter\n";
    let out = with_stdin(meterflow().args(["run", &job, "-q"]), rows);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).lines().next().unwrap(),
        "meterflow: warning: model `ElectricMeter`, which job `max` reads, never appeared in the input's model column; \
         the models seen were `electricmeter` (their rows were ignored); did you mean `electricmeter`? (model names \
         are case-sensitive)"
    );
    let out = with_stdin(meterflow().args(["run", &job, "-q", "--strict"]), rows);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn a_rename_of_a_point_never_seen_is_a_warning() {
    let rows = "timestamp,asset,point,value\n2024-01-01T00:01:00Z,m1,Reading,5\n";
    let out =
        with_stdin(meterflow().args(["run", "jobs/meter_max_min.yaml", "-q", "--points", "Readng=Reading"]), rows);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim_end(),
        "meterflow: warning: --points renames `Readng`, which never appeared in the input's point column; the points \
         seen were `Reading`; did you mean `Reading`?"
    );
    // A rename that meets its text says nothing.
    let out = with_stdin(
        meterflow().args(["run", "jobs/meter_max_min.yaml", "-q", "--points", "R=Reading"]),
        "timestamp,asset,point,value\n2024-01-01T00:01:00Z,m1,R,5\n",
    );
    assert!(out.status.success() && stderr(&out).is_empty(), "{}", stderr(&out));
}

/// A run reading a terminal says so; `script` gives it one.
#[test]
fn a_run_waiting_on_a_terminal_says_so() {
    let binary = env!("CARGO_BIN_EXE_meterflow");
    let Ok(mut child) = std::process::Command::new("script")
        .args(["-qec", &format!("{binary} run jobs/meter_max_min.yaml -q --progress never"), "/dev/null"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    else {
        eprintln!("SKIPPED: `script` (util-linux) is not installed: the terminal note is not tested");
        return;
    };
    // Ctrl-D (EOT) at the start of a line ends the terminal's input.
    let typed = b"timestamp,asset,point,value\n2024-01-01T00:01:00Z,m1,Reading,3\n\x04";
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), typed).unwrap();
    let out = child.wait_with_output().unwrap();
    let shown = text(&out.stdout);
    assert!(
        shown.contains(
            "meterflow: reading input rows from the terminal (stdin); end them with Ctrl-D, or give --input FILE"
        ),
        "{shown}"
    );
    assert!(shown.contains("m1,MaxReading10Min,3"), "{shown}");
    // From a pipe, no note.
    let out = with_stdin(meterflow().args(["run", "jobs/meter_max_min.yaml", "-q"]), &typed[..typed.len() - 1]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn validate_strict_says_no_ok_for_a_job_it_fails() {
    let dir = tempfile::tempdir().unwrap();
    // A latency that keeps millions of windows open per series is a job-file warning.
    let job = write(
        dir.path(),
        "warned.yaml",
        "name: w\ntemplate: time_window_aggregation\nmodel: M\nlatency: 365d\npolicies:\n  - input: R\n    \
         aggregation: max\n    window_size: 1s\n    output: O\n",
    );
    let plain = meterflow().args(["validate", &job]).output().unwrap();
    let strict = meterflow().args(["validate", "--strict", &job]).output().unwrap();
    if stderr(&plain).is_empty() {
        panic!("the job should carry a warning: {}{}", text(&plain.stdout), stderr(&plain));
    }
    assert!(text(&plain.stdout).contains(": ok: w "), "{}", text(&plain.stdout));
    assert_eq!(strict.status.code(), Some(2));
    let shown = text(&strict.stdout);
    assert!(!shown.contains(": ok:"), "{shown}");
    assert!(shown.contains(": not ok under --strict (1 warning): w "), "{shown}");
}

/// Every `--format` of `run --help` is in the contract's synopsis.
#[test]
fn the_synopsis_lists_every_format() {
    let help = text(&meterflow().args(["run", "--help"]).output().unwrap().stdout);
    let values = help.split("--format <FORMAT>").nth(1).unwrap().split("[default").next().unwrap();
    let formats: Vec<&str> =
        values.lines().filter_map(|l| l.trim().strip_prefix("- ")).map(|v| v.split(':').next().unwrap()).collect();
    assert!(formats.len() >= 3, "{help}");
    let contract =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reference/contract.md")).unwrap();
    assert!(contract.contains(&format!("[--format {}]", formats.join("|"))), "{formats:?}");
}

/// The reader of stdout leaves after one line: the run succeeds, and its summary says the rows
/// that had left, fewer than the jobs made, instead of claiming them all written.
#[test]
fn a_reader_that_leaves_early_is_said_with_the_rows_that_left() {
    let mut rows = String::from("timestamp,asset,point,value\n");
    for i in 0..20_000 {
        for m in 0..5 {
            rows.push_str(&format!("{},m{m},Reading,{}\n", 1_704_067_200_000i64 + i * 600_000, i % 50));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.csv", &rows);
    for threads in ["1", "2"] {
        let mut child = meterflow()
            .args(["run", "jobs/meter_max_min.yaml", "--input", &input, "--threads", threads])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert_eq!(first, "timestamp,asset,point,value\n");
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let err = stderr(&out);
        let line = err
            .lines()
            .find(|l| l.starts_with("meterflow: the reader of the output left after "))
            .unwrap_or_else(|| panic!("{err}"));
        let left: u64 =
            line["meterflow: the reader of the output left after ".len()..].split(' ').next().unwrap().parse().unwrap();
        // 200,000 rows are made over the whole input; far fewer fit in a pipe.
        assert!(left < 100_000, "{line}");
        assert!(err.contains(" rows made, final watermark"), "{err}");
        assert!(!err.contains(" rows written"), "{err}");
    }
}

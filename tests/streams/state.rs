//! `run --state` through the binary: runs over the parts of an input, cut at every line, write
//! what one run writes; every refusal leaves the state file byte for byte as it was; a run killed
//! mid-way leaves the previous state, so the same input can be replayed again; a resumed run says
//! what it resumed; `state show` describes a state.

use crate::support::meterflow;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

const HEADER: &str = "timestamp,asset,point,value\n";

/// Two meters every 4 minutes over 2 hours; every seventh line is 15 minutes late; a few values
/// fall outside the seed job's threshold `[0, 100)`.
fn lines() -> Vec<String> {
    (0..30i64)
        .map(|i| {
            let minutes = i * 4 - if i % 7 == 6 { 15 } else { 0 };
            let value = if i % 11 == 10 { 120 } else { (i * 37) % 90 };
            format!("2024-03-01T{:02}:{:02}:00Z,meter-{},Reading,{value}", minutes / 60, minutes % 60, i % 2 + 1)
        })
        .collect()
}

fn write_csv(path: &Path, lines: &[String]) {
    let mut text = HEADER.to_string();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn run(args: &[&str], extra: &[&Path]) -> Output {
    let mut cmd = meterflow();
    cmd.args(args);
    cmd.args(extra);
    cmd.output().unwrap()
}

fn ok(out: &Output) {
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr));
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn without_header(text: &str) -> &str {
    text.split_once('\n').map_or("", |(_, rest)| rest)
}

/// The seed jobs with a 5-minute latency, so windows close and late rows are dropped mid-input.
fn short_latency_jobs(dir: &Path) -> PathBuf {
    let jobs = dir.join("jobs");
    std::fs::create_dir(&jobs).unwrap();
    for name in ["meter_max_min.yaml", "meter_reading_difference.yaml"] {
        let text = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs").join(name));
        std::fs::write(jobs.join(name), text.replace("latency: 1d", "latency: 5m")).unwrap();
    }
    jobs
}

/// One run over the whole input, then the same input cut before each line into two runs.
#[test]
fn a_cut_at_any_line_writes_what_one_run_writes() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = short_latency_jobs(dir.path());
    let lines = lines();
    let whole = dir.path().join("whole.csv");
    write_csv(&whole, &lines);
    for emit in ["final", "updates"] {
        let (out, late) = (dir.path().join("out.csv"), dir.path().join("late.csv"));
        let base = ["run", jobs.to_str().unwrap(), "-q", "--emit", emit, "--input"];
        ok(&run(&base, &[&whole, Path::new("-o"), &out, Path::new("--late-output"), &late]));
        let (expected, expected_late) = (read(&out), read(&late));
        assert!(expected.lines().count() > 20, "{expected}");
        assert!(expected_late.lines().count() > 1, "some rows are late beyond lateness: {expected_late}");
        for cut in 1..lines.len() {
            let state = dir.path().join(format!("{emit}-{cut}.state"));
            let (first, second) = (dir.path().join("first.csv"), dir.path().join("second.csv"));
            write_csv(&first, &lines[..cut]);
            write_csv(&second, &lines[cut..]);
            let (out1, late1, out2, late2) = (
                dir.path().join("o1.csv"),
                dir.path().join("l1.csv"),
                dir.path().join("o2.csv"),
                dir.path().join("l2.csv"),
            );
            ok(&run(
                &base,
                &[&first, Path::new("-o"), &out1, Path::new("--late-output"), &late1, Path::new("--state"), &state],
            ));
            ok(&run(
                &base,
                &[
                    &second,
                    Path::new("-o"),
                    &out2,
                    Path::new("--late-output"),
                    &late2,
                    Path::new("--state"),
                    &state,
                    Path::new("--finish"),
                ],
            ));
            let joined = read(&out1) + without_header(&read(&out2));
            let joined_late = read(&late1) + without_header(&read(&late2));
            assert_eq!(joined, expected, "{emit}: cut before line {cut}");
            assert_eq!(joined_late, expected_late, "{emit}: late rows, cut before line {cut}");
        }
    }
}

struct Saved {
    dir: tempfile::TempDir,
    state: PathBuf,
    second: PathBuf,
}

/// A state saved by a run over the first half of the input.
fn saved() -> Saved {
    let dir = tempfile::tempdir().unwrap();
    let lines = lines();
    let (first, second, state) = (dir.path().join("day1.csv"), dir.path().join("day2.csv"), dir.path().join("s.state"));
    write_csv(&first, &lines[..15]);
    write_csv(&second, &lines[15..]);
    ok(&run(&["run", "jobs/", "-q", "--input"], &[&first, Path::new("--state"), &state]));
    Saved { dir, state, second }
}

/// Runs `args` + `--state` and asserts the exit code, the message and that the state is unchanged.
fn refused(saved: &Saved, args: &[&str], inputs: &[&Path], code: i32, message: &str) {
    let before = std::fs::read(&saved.state).unwrap();
    let mut cmd = meterflow();
    cmd.args(args).args(inputs).arg("--state").arg(&saved.state);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(stderr.contains(message), "{args:?}: expected {message:?} in: {stderr}");
    assert_eq!(std::fs::read(&saved.state).unwrap(), before, "{args:?} changed the state");
}

#[test]
fn a_changed_job_or_option_is_refused_naming_it_and_a_description_is_not() {
    let saved = saved();
    let jobs = saved.dir.path().join("jobs");
    std::fs::create_dir(&jobs).unwrap();
    let seed = read(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/jobs/meter_max_min.yaml")));
    let merge = read(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/jobs/meter_reading_difference.yaml")));
    std::fs::write(jobs.join("meter_reading_difference.yaml"), &merge).unwrap();
    std::fs::write(jobs.join("meter_max_min.yaml"), seed.replace("aggregation: min", "aggregation: avg")).unwrap();
    let out_dir = jobs.to_str().unwrap();
    refused(
        &saved,
        &["run", out_dir, "-q", "--input"],
        &[&saved.second],
        2,
        "policies[1].aggregation was `min`, is now `avg`",
    );
    refused(
        &saved,
        &["run", "jobs/", "-q", "--emit", "updates", "--input"],
        &[&saved.second],
        2,
        "--emit was `final`, is now `updates`",
    );
    std::fs::remove_file(jobs.join("meter_reading_difference.yaml")).unwrap();
    std::fs::write(jobs.join("meter_max_min.yaml"), &seed).unwrap();
    refused(
        &saved,
        &["run", out_dir, "-q", "--input"],
        &[&saved.second],
        2,
        "job `meter-reading-difference` was removed",
    );
    std::fs::write(jobs.join("meter_reading_difference.yaml"), &merge).unwrap();
    let described = seed.replace("description: ", "description: Rewritten, ");
    assert_ne!(described, seed);
    std::fs::write(jobs.join("meter_max_min.yaml"), format!("# a new comment\n{described}")).unwrap();
    let mut cmd = meterflow();
    let out = cmd
        .args(["run", out_dir, "-q", "--input"])
        .arg(&saved.second)
        .arg("--state")
        .arg(&saved.state)
        .output()
        .unwrap();
    ok(&out);
}

#[test]
fn an_input_read_before_is_refused_unless_allowed() {
    let saved = saved();
    let first = saved.dir.path().join("day1.csv");
    let copy = saved.dir.path().join("copy-of-day1.csv");
    std::fs::copy(&first, &copy).unwrap();
    refused(&saved, &["run", "jobs/", "-q", "--input"], &[&copy], 2, "has the same content as");
    refused(
        &saved,
        &["run", "jobs/", "-q", "--input"],
        &[&saved.second, Path::new("--input"), &saved.second],
        2,
        "earlier in this run",
    );
    let mut cmd = meterflow();
    cmd.args(["run", "jobs/", "-q", "--allow-repeated-input", "--input"]).arg(&copy).arg("--state").arg(&saved.state);
    ok(&cmd.output().unwrap());
}

#[test]
fn a_piped_input_read_before_is_refused_before_the_state_is_saved() {
    let saved = saved();
    let before = std::fs::read(&saved.state).unwrap();
    let first = std::fs::File::open(saved.dir.path().join("day1.csv")).unwrap();
    let out = meterflow()
        .args(["run", "jobs/", "-q", "--state"])
        .arg(&saved.state)
        .stdin(Stdio::from(first))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the state was not saved") && stderr.contains("same content as"), "{stderr}");
    assert_eq!(std::fs::read(&saved.state).unwrap(), before);
}

#[test]
fn a_finished_damaged_foreign_or_newer_state_is_refused() {
    let saved = saved();
    let good = std::fs::read(&saved.state).unwrap();
    refused(
        &saved,
        &["run", "jobs/", "-q", "--sort-input", "--input"],
        &[&saved.second],
        2,
        "--sort-input cannot be used with --state",
    );
    std::fs::write(&saved.state, &good[..good.len() - 7]).unwrap();
    refused(&saved, &["run", "jobs/", "-q", "--input"], &[&saved.second], 1, "truncated state file");
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    std::fs::write(&saved.state, &flipped).unwrap();
    refused(&saved, &["run", "jobs/", "-q", "--input"], &[&saved.second], 1, "damaged state file");
    std::fs::write(&saved.state, HEADER).unwrap();
    refused(&saved, &["run", "jobs/", "-q", "--input"], &[&saved.second], 2, "not a meterflow state file");
    let mut newer = good.clone();
    newer[8] = 9;
    std::fs::write(&saved.state, &newer).unwrap();
    refused(&saved, &["run", "jobs/", "-q", "--input"], &[&saved.second], 2, "written by a newer meterflow");
    std::fs::write(&saved.state, &good).unwrap();
    let mut cmd = meterflow();
    cmd.args(["run", "jobs/", "-q", "--finish", "--input"]).arg(&saved.second).arg("--state").arg(&saved.state);
    ok(&cmd.output().unwrap());
    let third = saved.dir.path().join("day3.csv");
    write_csv(&third, &["2024-03-01T05:00:00Z,meter-1,Reading,1".to_string()]);
    refused(&saved, &["run", "jobs/", "-q", "--input"], &[&third], 2, "was finished by a --finish run");
}

/// `--interval-end auto` infers the interval length from each run's own first rows, so a cut
/// would move the readings of a part by another length than one run does: refused with `--state`,
/// from the flag or an input config, before anything is read or saved.
///
/// The input that showed it, with hourly sums and `latency: 0s`: half-hour interval ends 00:30,
/// 01:00, 01:30, 02:00 (values 1, 2, 4, 8), then after a gap 03:00 and 05:00 (16, 32). One run
/// infers 30m from the whole input: 16 lies in 02:30 and 32 in 04:30, hours 02:00 = 16 and
/// 04:00 = 32. Cut after 02:00, the second run inferred 2h from its two rows: 16 moved to 01:00,
/// where 1 already stood (dropped as a repeat), and 32 to 03:00, and the run exited 0.
#[test]
fn interval_end_auto_is_refused_with_state() {
    let dir = tempfile::tempdir().unwrap();
    let (input, state) = (dir.path().join("ends.csv"), dir.path().join("s.state"));
    write_csv(&input, &["2024-03-01T00:30:00Z,meter-1,Reading,1".to_string()]);
    let out =
        run(&["run", "jobs/", "-q", "--interval-end", "auto", "--input"], &[&input, Path::new("--state"), &state]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--interval-end auto cannot be used with --state"), "{stderr}");
    assert!(!state.exists());
    let config = dir.path().join("input.yaml");
    std::fs::write(&config, "interval_end: auto\n").unwrap();
    let out = run(
        &["run", "jobs/", "-q", "--input-config"],
        &[&config, Path::new("--input"), &input, Path::new("--state"), &state],
    );
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interval_end: auto (in the input config"));
    // A given length reads the same in every part: accepted.
    ok(&run(&["run", "jobs/", "-q", "--interval-end", "30m", "--input"], &[&input, Path::new("--state"), &state]));
}

#[test]
fn a_resumed_run_says_what_it_resumed_and_its_own_figures() {
    let saved = saved();
    let stats = saved.dir.path().join("stats.json");
    let mut cmd = meterflow();
    cmd.args(["run", "jobs/", "--input"])
        .arg(&saved.second)
        .arg("--state")
        .arg(&saved.state)
        .arg("--stats-json")
        .arg(&stats);
    let out = cmd.output().unwrap();
    ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 15 lines in each day; the seed's 1-day latency keeps every window open until --finish.
    assert!(
        stderr.contains("resumed from") && stderr.contains("(1 run and 1 input before): this run read 15 rows"),
        "{stderr}"
    );
    assert!(stderr.contains("meterflow: 30 rows read from 2 inputs"), "{stderr}");
    assert!(stderr.contains("state saved to") && stderr.contains("--finish ends the stream"), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&read(&stats)).unwrap();
    assert_eq!(json["resumed"]["runs_before"], 1);
    assert_eq!(json["resumed"]["inputs_before"], 1);
    assert_eq!(json["resumed"]["this_run"]["rows"], 15);
    assert_eq!(json["input"]["rows"], 30);
}

#[test]
fn state_show_describes_the_state() {
    let saved = saved();
    let out = meterflow().args(["state", "show"]).arg(&saved.state).output().unwrap();
    ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("status: open"), "{text}");
    assert!(text.contains("run 1: ") && text.contains("day1.csv"), "{text}");
    let out = meterflow().args(["state", "show", "--format", "json"]).arg(&saved.state).output().unwrap();
    ok(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["finished"], false);
    assert_eq!(json["runs"], 1);
    assert_eq!(json["rows_read"], 15);
    // Lines 0..15: meter-1 (even lines) has readings in windows 00:00, 00:10, 00:30, 00:40 and
    // 00:50 (its 00:24 reading is 15 minutes late, stamped 00:09), meter-2 in 00:00 to 00:40 (its
    // 00:52 one stamped 00:37): 10 windows for each of the two policies, none final with the
    // seed's 1-day latency.
    let window_job = &json["jobs"][0];
    assert_eq!(window_job["name"], "meter-max-min");
    assert_eq!(window_job["series"], 2);
    assert_eq!(window_job["open"], 2 * 10);
    assert_eq!(window_job["highest_watermark"], "2024-03-01T00:56:00.000Z");
}

/// A run killed at any moment before its save leaves the previous state, so replaying the same
/// input again gives what an uninterrupted run gives.
#[test]
fn a_killed_run_leaves_the_previous_state() {
    let saved = saved();
    let big = saved.dir.path().join("big.csv");
    let mut text = String::from(HEADER);
    for i in 0..400_000i64 {
        let ms = 3_600_000 + i * 500;
        text.push_str(&format!("{ms},meter-{},Reading,{}\n", i % 50, i % 97));
    }
    std::fs::write(&big, &text).unwrap();
    let reference = saved.dir.path().join("reference.state");
    std::fs::copy(&saved.state, &reference).unwrap();
    let before = std::fs::read(&saved.state).unwrap();
    let expected = saved.dir.path().join("expected.csv");
    let mut cmd = meterflow();
    cmd.args(["run", "jobs/", "-q", "--input"]).arg(&big).arg("--state").arg(&reference).arg("-o").arg(&expected);
    ok(&cmd.output().unwrap());
    let (mut killed, mut finished) = (0, false);
    let killed_out = saved.dir.path().join("killed.csv");
    // Killed once it has read these shares of what it reads (the input twice under a state: hashed,
    // then replayed), not after fixed pauses, which a slow or loaded machine spends starting up and
    // a fast one outlives: each kill comes mid-input, before the save.
    for share in [0.05, 0.3, 0.6, 0.9] {
        let mut child = meterflow()
            .args(["run", "jobs/", "-q", "--input"])
            .arg(&big)
            .arg("--state")
            .arg(&saved.state)
            .arg("-o")
            .arg(&killed_out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let threshold = (2.0 * text.len() as f64 * share) as u64;
        if crate::stopping::wait_for(&mut child, || crate::stopping::bytes_read(pid).is_some_and(|n| n >= threshold)) {
            child.kill().unwrap();
        }
        let status = child.wait().unwrap();
        if status.success() {
            finished = true;
            break;
        }
        assert_eq!(status.signal(), Some(9), "the run at {share} failed on its own");
        let now = std::fs::read(&saved.state).unwrap();
        if now != before {
            // The test was held up between seeing the share read and the kill, long enough for the
            // run to read the rest and save: its state and output are then the uninterrupted run's.
            assert_eq!(now, std::fs::read(&reference).unwrap(), "killed at {share} after a save");
            finished = true;
            break;
        }
        killed += 1;
    }
    assert!(killed > 0, "no run was killed before it ended");
    let again = if finished { killed_out } else { saved.dir.path().join("again.csv") };
    if !finished {
        let mut cmd = meterflow();
        cmd.args(["run", "jobs/", "-q", "--input"]).arg(&big).arg("--state").arg(&saved.state).arg("-o").arg(&again);
        ok(&cmd.output().unwrap());
    }
    assert_eq!(read(&again), read(&expected));
    assert_eq!(std::fs::read(&saved.state).unwrap(), std::fs::read(&reference).unwrap());
}

/// An input that cannot be read is an I/O error, exit 1, with `--state` as without it: the
/// state's check of the input used to call it a usage error (exit 2). So is a state file that
/// cannot be opened (its folder missing), as an output file there is.
#[test]
fn an_input_or_state_that_cannot_be_read_is_an_io_error_with_or_without_state() {
    let dir = tempfile::tempdir().unwrap();
    let (missing, state) = (dir.path().join("missing.csv"), dir.path().join("s.state"));
    let without = run(&["run", "jobs/", "-q", "-o", "-", "--input"], &[&missing]);
    assert_eq!(without.status.code(), Some(1), "{}", String::from_utf8_lossy(&without.stderr));
    let with = run(&["run", "jobs/", "-q", "--input"], &[&missing, Path::new("--state"), &state]);
    let stderr = String::from_utf8_lossy(&with.stderr);
    assert_eq!(with.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("failed to read input") && stderr.contains("missing.csv"), "{stderr}");
    assert!(!state.exists());
    let (input, unreachable) = (dir.path().join("day.csv"), dir.path().join("no-such-folder").join("s.state"));
    write_csv(&input, &lines());
    let out = run(&["run", "jobs/", "-q", "--input"], &[&input, Path::new("--state"), &unreachable]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

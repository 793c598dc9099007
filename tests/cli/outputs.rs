//! The files `run` writes: an output that is an input refused, `-` as stdout, and outputs that
//! are not complete never left under their own names.

use crate::support::{fresh_dir, meterflow, stderr};
use crate::{SEED_EXPECTED as EXPECTED, SEED_INPUT as INPUT};
use std::path::{Path, PathBuf};
use std::process::Stdio;

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Each output flag naming the input, by another spelling, a symbolic link or a hard link, is
/// refused with exit 2 before anything is written: the input keeps every line.
#[test]
fn an_output_that_is_an_input_is_refused_whatever_its_name() {
    let dir = fresh_dir("outputs-same-file");
    let input = dir.join("m.csv");
    std::fs::write(&input, INPUT).unwrap();
    std::os::unix::fs::symlink(&input, dir.join("sym.csv")).unwrap();
    std::fs::hard_link(&input, dir.join("hard.csv")).unwrap();
    let other_spelling = dir.join("sub/../m.csv");
    std::fs::create_dir(dir.join("sub")).unwrap();
    let cases: [(&[&str], PathBuf); 4] = [
        (&["-o"], input.clone()),
        (&["--late-output"], dir.join("sym.csv")),
        (&["--on-bad-row", "skip", "--rejects"], dir.join("hard.csv")),
        (&["--stats-json"], other_spelling),
    ];
    for (flags, path) in cases {
        let out = meterflow()
            .args(["run", "jobs/meter_max_min.yaml", "-q", "--input"])
            .arg(&input)
            .args(flags)
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        let flag = flags.last().unwrap();
        let expected = format!(
            "error: {flag} {} is the input {}: writing it would destroy the input before it is read; write to another file\n",
            path.display(),
            input.display()
        );
        assert_eq!(stderr(&out), expected);
        assert_eq!(std::fs::read_to_string(&input).unwrap(), INPUT, "{flags:?}");
        assert_eq!(names_in(&dir), ["hard.csv", "m.csv", "sub", "sym.csv"], "{flags:?}");
    }
}

/// `-` is stdout for every output flag, and two outputs on stdout are refused.
#[test]
fn dash_is_stdout_and_only_one_output_may_use_it() {
    let dir = fresh_dir("outputs-dash");
    std::fs::write(dir.join("m.csv"), INPUT).unwrap();
    let out = meterflow()
        .current_dir(&dir)
        .args(["run", concat!(env!("CARGO_MANIFEST_DIR"), "/jobs/meter_max_min.yaml"), "-q", "-i", "m.csv", "-o", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), EXPECTED);
    let out = meterflow()
        .current_dir(&dir)
        .args(["run", concat!(env!("CARGO_MANIFEST_DIR"), "/jobs/meter_max_min.yaml"), "-q", "-i", "m.csv"])
        .args(["-o", "points.csv", "--stats-json", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(dir.join("points.csv")).unwrap(), EXPECTED);
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the figures as JSON on stdout");
    assert_eq!(stats["input"]["rows"], 3);
    assert_eq!(names_in(&dir), ["m.csv", "points.csv"]);
    let out = meterflow()
        .current_dir(&dir)
        .args(["run", concat!(env!("CARGO_MANIFEST_DIR"), "/jobs/meter_max_min.yaml"), "-q", "-i", "m.csv"])
        .args(["-o", "new.csv", "--late-output", "./new.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stderr(&out), "error: -o and --late-output both write to ./new.csv: give each its own file\n");
    assert_eq!(names_in(&dir), ["m.csv", "points.csv"]);
    for flags in [&["--late-output", "-"][..], &["-o", "-", "--stats-json", "-"]] {
        let out = meterflow()
            .current_dir(&dir)
            .args(["run", concat!(env!("CARGO_MANIFEST_DIR"), "/jobs"), "-q", "-i", "m.csv"])
            .args(flags)
            .output();
        let out = out.unwrap();
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("both write to stdout"), "{flags:?}: {}", stderr(&out));
    }
}

/// A job that writes one row per input second, and 2500 seconds of input.
fn busy_job(dir: &Path, bad_last_row: bool) {
    let job = "name: cnt\nmodel: x\ntemplate: time_window_aggregation\nwindow:\n  type: tumbling\nlatency: 0s\npolicies:\n  - input: Reading\n    threshold: \"(-inf, inf)\"\n    interpolation: ignore\n    aggregation: cnt\n    window_size: 1s\n    output: Cnt\n";
    std::fs::write(dir.join("job.yaml"), job).unwrap();
    let mut text = String::from("timestamp,asset,point,value\n");
    for i in 0..2500 {
        text.push_str(&format!("2024-01-01T{:02}:{:02}:{:02}Z,m1,Reading,1\n", i / 3600, i / 60 % 60, i % 60));
    }
    if bad_last_row {
        text.push_str("2024-01-01T00:41:40Z,m1,Reading,oops\n");
    }
    std::fs::write(dir.join("in.csv"), text).unwrap();
}

/// `| head` closes stdout: the late-output file stays under its `.partial` name, the figures are
/// not written, and stderr says so, even with `-q`.
#[test]
fn a_closed_stdout_leaves_side_outputs_marked_incomplete() {
    let dir = fresh_dir("outputs-closed-stdout");
    busy_job(&dir, false);
    let mut child = meterflow()
        .current_dir(&dir)
        .args(["run", "job.yaml", "-q", "--threads", "1", "-i", "in.csv"])
        .args(["--late-output", "late.csv", "--stats-json", "stats.json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "meterflow: warning: the output was closed before the run finished (e.g. `| head`), so these outputs are \
         not complete: --late-output late.csv.partial (incomplete), --stats-json stats.json (not written)\n"
    );
    assert_eq!(names_in(&dir), ["in.csv", "job.yaml", "late.csv.partial"]);
}

/// `-o /dev/stdout` is stdout by another name: its reader leaving is `| head` (exit 0), as for
/// `-o -`, not a named output's failure (exit 1 before). 2,500 rows do not fit in a pipe, so the
/// closed pipe is met.
#[test]
fn dev_stdout_closed_by_its_reader_is_a_closed_stdout() {
    let dir = fresh_dir("outputs-dev-stdout-closed");
    busy_job(&dir, false);
    let run = |output: &str| {
        let mut child = meterflow()
            .current_dir(&dir)
            .args(["run", "job.yaml", "-q", "-i", "in.csv", "-o", output])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        child.wait_with_output().unwrap()
    };
    let (dash, dev) = (run("-"), run("/dev/stdout"));
    assert_eq!(dash.status.code(), Some(0), "{}", stderr(&dash));
    assert_eq!(dev.status.code(), Some(0), "{}", stderr(&dev));
    assert_eq!(stderr(&dash), "");
    // Named by a path, it is listed as the outputs of a closed stdout are.
    assert_eq!(
        stderr(&dev),
        "meterflow: warning: the output was closed before the run finished (e.g. `| head`), so these outputs are \
         not complete: -o /dev/stdout (incomplete)\n"
    );
}

/// stdout redirected to a file (`run ... > out.csv`) cannot take a `.partial` name: a run that
/// stops on a bad row leaves it holding the rows written before, a header and whole rows that
/// look like a finished output. The warning names it with the other incomplete outputs (before,
/// only the error line was printed). A pipe's reader sees the exit status: nothing more is said.
#[test]
fn a_failed_run_names_stdout_redirected_to_a_file_as_incomplete() {
    let dir = fresh_dir("outputs-failed-run-stdout-file");
    busy_job(&dir, true);
    let redirected = std::fs::File::create(dir.join("out.csv")).unwrap();
    let out = meterflow()
        .current_dir(&dir)
        .args(["run", "job.yaml", "-q", "-i", "in.csv"])
        .stdout(redirected)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "meterflow: warning: the run stopped on an error, so these outputs are not complete: -o - (stdout) (incomplete)\n\
         error: in.csv:2502: column 4 (value): invalid value \"oops\": expected a finite number\n"
    );
    let written = std::fs::read_to_string(dir.join("out.csv")).unwrap();
    assert!(written.starts_with("timestamp,asset,point,value\n2024-01-01T00:00:00.000Z,m1,Cnt,1\n"), "{written}");
    let piped = meterflow().current_dir(&dir).args(["run", "job.yaml", "-q", "-i", "in.csv"]).output().unwrap();
    assert_eq!(piped.status.code(), Some(1), "{}", stderr(&piped));
    assert_eq!(
        stderr(&piped),
        "error: in.csv:2502: column 4 (value): invalid value \"oops\": expected a finite number\n"
    );
}

/// A run that stops on a bad row leaves `-o` under its `.partial` name, and the previous file of
/// that name as it was; a finished run renames it over the previous file.
#[test]
fn a_failed_run_leaves_its_output_under_the_partial_name() {
    let dir = fresh_dir("outputs-failed-run");
    busy_job(&dir, true);
    std::fs::write(dir.join("out.csv"), "an older run's output\n").unwrap();
    let out = meterflow()
        .current_dir(&dir)
        .args(["run", "job.yaml", "-q", "-i", "in.csv", "-o", "out.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "meterflow: warning: the run stopped on an error, so these outputs are not complete: -o out.csv.partial (incomplete)\n\
         error: in.csv:2502: column 4 (value): invalid value \"oops\": expected a finite number\n"
    );
    assert_eq!(names_in(&dir), ["in.csv", "job.yaml", "out.csv", "out.csv.partial"]);
    assert_eq!(std::fs::read_to_string(dir.join("out.csv")).unwrap(), "an older run's output\n");
    let partial = std::fs::read_to_string(dir.join("out.csv.partial")).unwrap();
    assert!(partial.starts_with("timestamp,asset,point,value\n2024-01-01T00:00:00.000Z,m1,Cnt,1\n"), "{partial}");

    busy_job(&dir, false);
    std::fs::remove_file(dir.join("out.csv.partial")).unwrap();
    let out = meterflow()
        .current_dir(&dir)
        .args(["run", "job.yaml", "-q", "-i", "in.csv", "-o", "out.csv", "--stats-json", "stats.json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(names_in(&dir), ["in.csv", "job.yaml", "out.csv", "stats.json"]);
    assert_eq!(std::fs::read_to_string(dir.join("out.csv")).unwrap().lines().count(), 2501);
}

/// Only a plain file is written under a `.partial` name and renamed: a symbolic link (like a
/// device such as `/dev/null`) is written through in place, never removed or replaced.
#[test]
fn a_link_or_device_output_is_written_in_place() {
    let dir = fresh_dir("outputs-in-place");
    std::fs::write(dir.join("m.csv"), INPUT).unwrap();
    std::fs::write(dir.join("target.csv"), "older\n").unwrap();
    std::os::unix::fs::symlink("target.csv", dir.join("link.csv")).unwrap();
    let out = meterflow()
        .current_dir(&dir)
        .args(["run", concat!(env!("CARGO_MANIFEST_DIR"), "/jobs/meter_max_min.yaml"), "-q", "-i", "m.csv"])
        .args(["-o", "link.csv"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(dir.join("link.csv")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(dir.join("target.csv")).unwrap(), EXPECTED);
    assert_eq!(names_in(&dir), ["link.csv", "m.csv", "target.csv"]);
}

/// Piped stdin is a live input: `-o` is written under its own name while the run goes on, and a
/// run that stops on a bad row renames it to its `.partial` name.
#[test]
fn a_failed_run_on_a_pipe_renames_its_output_to_the_partial_name() {
    use std::io::Write;
    let dir = fresh_dir("outputs-failed-pipe");
    let mut child = meterflow()
        .current_dir(&dir)
        .args(["run", concat!(env!("CARGO_MANIFEST_DIR"), "/jobs/meter_max_min.yaml"), "-q", "-o", "out.csv"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{INPUT}2024-01-01T00:12:00Z,m1,Reading,oops\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(
            "meterflow: warning: the run stopped on an error, so these outputs are not complete: -o out.csv.partial (incomplete)\n"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(names_in(&dir), ["out.csv.partial"]);
}

/// A full disk (`/dev/full` takes nothing) stops the run with exit 1, and the error names the
/// output the disk did not take: `-o`, `--late-output`, `--stats-json` or stdout. The figures,
/// written last, are listed once, as the output that failed.
#[test]
fn a_full_disk_names_the_output_it_stopped() {
    assert!(Path::new("/dev/full").exists(), "this test needs Linux's /dev/full, a device that is always full");
    let dir = fresh_dir("outputs-full-disk");
    busy_job(&dir, false);
    let run = |extra: &[&str], stdout: Stdio| {
        let out = meterflow()
            .current_dir(&dir)
            .args(["run", "job.yaml", "-q", "-i", "in.csv"])
            .args(extra)
            .stdout(stdout)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {}", stderr(&out));
        stderr(&out)
    };
    let full = || Stdio::from(std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap());
    let said = run(&["-o", "/dev/full"], Stdio::null());
    assert!(
        said.ends_with("error: failed to write output: -o /dev/full: No space left on device (os error 28)\n"),
        "{said}"
    );
    let said = run(&[], full());
    assert!(
        said.ends_with("error: failed to write output: -o - (stdout): No space left on device (os error 28)\n"),
        "{said}"
    );
    let said = run(&["-o", "out.csv", "--late-output", "/dev/full"], Stdio::null());
    assert!(
        said.ends_with(
            "error: failed to write output: --late-output /dev/full: No space left on device (os error 28)\n"
        ),
        "{said}"
    );
    let said = run(&["-o", "out.csv", "--stats-json", "/dev/full"], Stdio::null());
    assert_eq!(
        said,
        "meterflow: warning: the run stopped on an error, so these outputs are not complete: --stats-json /dev/full \
         (incomplete), -o out.csv.partial (incomplete)\n\
         error: failed to write the run's figures: --stats-json /dev/full: No space left on device (os error 28)\n"
    );
    assert!(!dir.join("out.csv").exists(), "a failed run's output must keep its .partial name");
}

/// A FIFO named by `--late-output` whose reader leaves is not `| head`: the rows it was given did
/// not all arrive and `-o` never took its name, so the run fails (exit 1) naming that output. More
/// late rows than a pipe holds make the write that meets the closed FIFO certain.
#[test]
fn a_fifo_output_whose_reader_leaves_fails_the_run() {
    let dir = fresh_dir("outputs-fifo-reader-left");
    busy_job(&dir, false);
    // 2500 more readings of the first seconds, each dropped as late (latency 0s): ~200 KiB of late rows.
    let mut text = std::fs::read_to_string(dir.join("in.csv")).unwrap();
    for i in 0..2500 {
        text.push_str(&format!("2024-01-01T00:00:{:02}Z,m1,Reading,2\n", i % 60));
    }
    std::fs::write(dir.join("in.csv"), text).unwrap();
    let fifo = dir.join("late.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // Opens the FIFO to read it, as a consumer that dies at once would, and reads nothing.
    let reader = std::thread::spawn(move || drop(std::fs::File::open(fifo).unwrap()));
    let out = meterflow()
        .current_dir(&dir)
        .args(["run", "job.yaml", "-q", "-i", "in.csv", "-o", "out.csv", "--late-output", "late.fifo"])
        .output()
        .unwrap();
    reader.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "error: failed to write output: --late-output late.fifo: its reader left before the run finished, so it \
             did not receive every row: Broken pipe (os error 32)"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(names_in(&dir), ["in.csv", "job.yaml", "late.fifo", "out.csv.partial"]);
}

/// An output that cannot be created (its folder is missing) stops the run before it reads a row;
/// the outputs created before it are left under their `.partial` names, and stderr names them.
#[test]
fn an_output_that_cannot_be_created_names_the_partial_files_left() {
    let dir = fresh_dir("outputs-cannot-create");
    busy_job(&dir, false);
    std::fs::write(dir.join("out.csv"), "an older run's output\n").unwrap();
    let out = meterflow()
        .current_dir(&dir)
        .args(["run", "job.yaml", "-q", "-i", "in.csv", "-o", "out.csv", "--late-output", "missing/late.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "meterflow: warning: the run stopped on an error, so these outputs are not complete: -o out.csv.partial \
         (incomplete)\nerror: failed to create missing/late.csv.partial: No such file or directory (os error 2)\n"
    );
    assert_eq!(std::fs::read_to_string(dir.join("out.csv")).unwrap(), "an older run's output\n");
}

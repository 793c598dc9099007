//! An input file that changes while the run reads it. A file truncated at a line end reads like a
//! shorter file, and a file that grew after `--state` hashed it is replayed with other content than
//! the state records: either way the run used to exit 0. Each test holds the run on a FIFO given
//! as its first input (every input is opened before any is read, so the file is open, or hashed,
//! while the run waits for the FIFO's writer), changes the file, then lets the run go on.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::stopping::{wait_end, wait_for};
use crate::support::meterflow;

/// A count per second of event time, final as soon as the next second begins.
const JOB: &str = "name: cnt\nmodel: x\ntemplate: time_window_aggregation\nlatency: 0s\npolicies:\n  - input: \
                   Reading\n    aggregation: cnt\n    window_size: 1s\n    output: Cnt\n";

/// Data lines for the seconds `from..to` of meter `m1`, one reading each.
fn lines(from: u64, to: u64) -> String {
    (from..to).map(|i| format!("{},m1,Reading,1\n", 1_700_000_000_000 + i * 1000)).collect()
}

fn fifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

/// Whether process `pid` has `path` open.
fn has_open(pid: u32, path: &Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.filter_map(Result::ok).any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
}

/// Starts `run` on the FIFO `held` then `file`, with `extra` flags; once the run holds the FIFO
/// open (given its header) and `file` too, calls `change`, then gives the FIFO one row (of another
/// meter) and its end. Returns the exit code and stderr.
fn run_changing(dir: &Path, extra: &[&str], change: impl FnOnce(&Path)) -> (Option<i32>, String) {
    let (job, held, file) = (dir.join("job.yaml"), dir.join("held.fifo"), dir.join("day.csv"));
    std::fs::write(&job, JOB).unwrap();
    fifo(&held);
    std::fs::write(&file, format!("timestamp,asset,point,value\n{}", lines(0, 400_000))).unwrap();
    let mut child = meterflow()
        .current_dir(dir)
        .args(["run", "job.yaml", "-q", "--threads", "1", "-i", "held.fifo", "-i", "day.csv", "-o", "out.csv"])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Returns once the run has opened the FIFO to read it: `--state` hashed the file before. The
    // run looks at the FIFO's first bytes (compressed?) before it opens the next input.
    let mut writer = OpenOptions::new().write(true).open(&held).unwrap();
    writer.write_all(b"timestamp,asset,point,value\n").unwrap();
    let (file, pid) = (file.canonicalize().unwrap(), child.id());
    assert!(wait_for(&mut child, || has_open(pid, &file)), "the run ended before it opened day.csv");
    change(&file);
    writer.write_all(b"1700000000000,m0,Reading,1\n").unwrap();
    drop(writer);
    let status = wait_end(&mut child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.and_then(|s| s.code()), stderr)
}

/// A file truncated at a line end while the run has it open: the rows past the cut are lost, so
/// the run fails (exit 1) naming the file, and `-o` does not take its name.
#[test]
fn an_input_truncated_while_it_is_read_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let kept = ("timestamp,asset,point,value\n".len() + lines(0, 100_000).len()) as u64;
    let (code, stderr) = run_changing(dir.path(), &[], |file| {
        OpenOptions::new().write(true).open(file).unwrap().set_len(kept).unwrap();
    });
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("day.csv"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the file was truncated while it was read: it held {} bytes when opened, and ended after {kept}",
            kept + lines(100_000, 400_000).len() as u64
        )),
        "{stderr}"
    );
    assert!(!dir.path().join("out.csv").exists(), "an output that passes for the whole input");
}

/// A file that grew after `--state` hashed it: the run read other content than the state would
/// record (a later copy of what it read would not be known as a repeat), so it fails (exit 1) and
/// saves no state.
#[test]
fn an_input_that_grows_after_the_state_checked_it_saves_no_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.state");
    let (code, stderr) = run_changing(dir.path(), &["--state", "s.state"], |file| {
        File::options().append(true).open(file).unwrap().write_all(lines(400_000, 400_200).as_bytes()).unwrap();
    });
    assert_eq!(code, Some(1), "{stderr}");
    let before = "timestamp,asset,point,value\n".len() + lines(0, 400_000).len();
    let after = before + lines(400_000, 400_200).len();
    assert!(
        stderr.contains(&format!(
            "input day.csv changed while this run read it ({before} bytes when --state checked it before the run, \
             {after} bytes when the run read it)"
        )),
        "{stderr}"
    );
    assert!(std::fs::read(&state).unwrap_or_default().is_empty(), "a state saved for content it did not record");
    assert!(!dir.path().join("out.csv").exists(), "{stderr}");
}

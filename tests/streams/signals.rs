//! Signals on a live run (the input a pipe kept open): SIGINT and SIGTERM end the input, the run
//! finishes as at the end of its input and exits 130 / 143; a closed stdin exits 0; a second
//! signal abandons the run at once (exit 1); with `--state`, the run saves its state instead, and a run with the rest
//! of the input and `--finish` writes what one run over all of it writes. Each test waits for
//! the row that shows its input was read before it signals (no timing is asserted).

use crate::stopping::{day_long_max_job, has_taken_all, kill, one_window_per_meter, wait_end, wait_for, waits_in};
use crate::support::spawn_piped;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// Ten-minute max windows, final as soon as a later window starts (no lateness).
const JOB: &str = "name: live
template: time_window_aggregation
model: ElectricMeter
latency: 0s
policies:
  - input: Reading
    aggregation: max
    window_size: 10m
    output: Max
";

const HEADER: &str = "timestamp,asset,point,value";

/// Only a run that holds rows back, or ignores a signal, makes a test wait this long (a loaded
/// machine stalls for seconds, not a minute).
const DEADLOCK: Duration = Duration::from_secs(60);

/// One reading per 4 minutes for meter m1, value i.
fn line(i: u32) -> String {
    format!("2024-01-01T{:02}:{:02}:00Z,m1,Reading,{i}\n", i * 4 / 60, i * 4 % 60)
}

struct Live {
    child: Child,
    input: Option<ChildStdin>,
    rows: Receiver<String>,
}

fn start(dir: &Path, extra: &[&str]) -> Live {
    let job = dir.join("live.yaml");
    std::fs::write(&job, JOB).unwrap();
    let mut child = crate::support::meterflow()
        .args(["run", job.to_str().unwrap(), "-q"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meterflow runs");
    let input = child.stdin.take();
    let stdout = child.stdout.take().unwrap();
    let (tx, rows) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    Live { child, input, rows }
}

impl Live {
    fn write(&mut self, text: &str) {
        let input = self.input.as_mut().unwrap();
        input.write_all(text.as_bytes()).unwrap();
        input.flush().unwrap();
    }

    fn expect(&self, row: &str) {
        let got = self.rows.recv_timeout(DEADLOCK).unwrap_or_else(|_| panic!("{row} was held back"));
        assert_eq!(got, row);
    }

    fn signal(&self, name: &str) {
        kill(self.child.id(), name);
    }

    /// Waits for the end; returns the exit code, the rows not yet taken and stderr.
    fn end(mut self) -> (Option<i32>, Vec<String>, String) {
        let status = wait_end(&mut self.child).expect("the run did not end");
        let mut stderr = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        drop(self.input.take());
        let rest = self.rows.iter().collect();
        (status.code(), rest, stderr)
    }
}

/// Writes lines 0..=5 (windows 00:00 to 00:20), waits for the row that line 5 makes final.
fn feed_first_part(live: &mut Live) {
    live.write(&format!("{HEADER}\n"));
    live.expect(HEADER);
    for i in 0..=5 {
        live.write(&line(i));
    }
    // Line 5 (00:20) closes windows 00:00 (lines 0-2) and 00:10 (lines 3-4).
    live.expect("2024-01-01T00:00:00.000Z,m1,Max,2");
    live.expect("2024-01-01T00:10:00.000Z,m1,Max,4");
}

#[test]
fn sigint_and_sigterm_end_the_input_and_flush_with_the_conventional_status() {
    // On one thread the signal meets the thread that waits for input in poll(2), which it ends
    // early (EINTR): that must not pass for data ready, or the run blocks in read for ever. With
    // `--idle-timeout` the input is read on a thread of its own while the jobs' thread waits for
    // whole lines, looking at the idle clock every 6 minutes here: the signal must not wait for that.
    let flags: [&[&str]; 3] = [&["--threads", "1"], &["--threads", "2"], &["--idle-timeout", "1h"]];
    for ((signal, code), flags) in [("INT", 130), ("TERM", 143)].into_iter().flat_map(|s| flags.map(|f| (s, f))) {
        let dir = tempfile::tempdir().unwrap();
        let mut live = start(dir.path(), flags);
        feed_first_part(&mut live);
        live.signal(signal);
        let (status, rest, stderr) = live.end();
        assert_eq!(status, Some(code), "{flags:?}: {stderr}");
        assert_eq!(rest, ["2024-01-01T00:20:00.000Z,m1,Max,5"], "{flags:?}: the open window is flushed");
        assert!(stderr.contains(&format!("SIG{signal} ended the input after 6 rows")), "{stderr}");
    }
}

#[test]
fn a_closed_stdin_ends_the_run_with_status_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut live = start(dir.path(), &[]);
    feed_first_part(&mut live);
    drop(live.input.take());
    let (status, rest, stderr) = live.end();
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(rest, ["2024-01-01T00:20:00.000Z,m1,Max,5"]);
}

/// After the first signal the run writes its pending rows into a stdout nobody reads, so it
/// blocks there; the second signal must end it at once.
#[test]
fn a_second_signal_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // A 1-day latency keeps every window open until the end: all rows come after the signal.
    let job = day_long_max_job(dir.path());
    let mut child =
        spawn_piped(crate::support::meterflow().args(["run", job.to_str().unwrap(), "-q", "--threads", "1"]));
    let mut input = child.stdin.take().unwrap();
    // 20,000 meters with one window each: far more rows than a pipe holds, none final before the end.
    input.write_all(one_window_per_meter(20_000).as_bytes()).unwrap();
    input.flush().unwrap();
    // Every row taken, so SIGTERM's end of input flushes 20,000 rows: more than stdout's pipe holds.
    let id = child.id();
    assert!(wait_for(&mut child, || has_taken_all(id, &input)), "the run ended before taking its input");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert_eq!(first.trim_end(), HEADER);
    kill(id, "TERM");
    // Two pending signals are delivered lowest number first, so SIGINT goes only once the run is
    // blocked writing the rows that SIGTERM's end of input flushed.
    assert!(wait_for(&mut child, || waits_in(id, "pipe_write")), "the run never blocked writing its rows");
    kill(id, "INT");
    // Bounded: a run that ignored SIGINT would stay blocked on its full stdout for ever.
    let status = wait_end(&mut child).expect("the second signal (SIGINT) did not end the run");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    // Exit 1 as a failed run, not 130: the output on stdout is not complete.
    assert_eq!(status.code(), Some(1), "the second signal (SIGINT) ended the run at once: {stderr}");
    assert!(stderr.contains("a second SIGINT abandoned the run"), "{stderr}");
    drop(input);
}

#[test]
fn a_state_run_stopped_by_sigterm_resumes_with_the_rest_of_the_input() {
    state_run_stopped_by_sigterm_resumes(&[]);
}

/// As above with `--idle-timeout` (an hour: no advance comes into it), whose input is read ahead
/// on a thread of its own: the state still holds exactly the rows the jobs took.
#[test]
fn an_idle_timeout_state_run_stopped_by_sigterm_resumes_with_the_rest_of_the_input() {
    state_run_stopped_by_sigterm_resumes(&["--idle-timeout", "1h"]);
}

fn state_run_stopped_by_sigterm_resumes(flags: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("live.state");
    let mut live = start(dir.path(), &[&["--state", state.to_str().unwrap()], flags].concat());
    feed_first_part(&mut live);
    live.signal("TERM");
    let (status, rest, stderr) = live.end();
    assert_eq!(status, Some(143), "{stderr}");
    assert!(rest.is_empty(), "the open window 00:20 stays in the state: {rest:?}");
    assert!(stderr.contains("saved to") && stderr.contains("resumes exactly there"), "{stderr}");
    let rest_file = dir.path().join("rest.csv");
    let mut text = format!("{HEADER}\n");
    for i in 6..12 {
        text.push_str(&line(i));
    }
    std::fs::write(&rest_file, &text).unwrap();
    let job = dir.path().join("live.yaml");
    let second = crate::support::meterflow()
        .args(["run", job.to_str().unwrap(), "-q", "--finish", "--state", state.to_str().unwrap(), "--input"])
        .arg(&rest_file)
        .output()
        .unwrap();
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    let whole_file = dir.path().join("whole.csv");
    let mut whole = format!("{HEADER}\n");
    for i in 0..12 {
        whole.push_str(&line(i));
    }
    std::fs::write(&whole_file, whole).unwrap();
    let one = crate::support::meterflow()
        .args(["run", job.to_str().unwrap(), "-q", "--input"])
        .arg(&whole_file)
        .output()
        .unwrap();
    let first_rows = ["2024-01-01T00:00:00.000Z,m1,Max,2", "2024-01-01T00:10:00.000Z,m1,Max,4"];
    let second_out = String::from_utf8(second.stdout).unwrap();
    let joined = format!("{HEADER}\n{}\n{}", first_rows.join("\n"), second_out.split_once('\n').unwrap().1);
    assert_eq!(joined, String::from_utf8(one.stdout).unwrap());
}

//! Stopping is exact and outputs never lie (issue 26). A run over a file or a pipe, stopped by
//! SIGINT or SIGTERM at many moments, resumed with the rest of its input as the stop note says,
//! writes what one run writes, in both emit modes; so does a run killed by SIGKILL, during its
//! save too, replayed as docs/guides/state.md says. Then one test per way a stop, a kill, a closed pipe,
//! a lock, a link or another subcommand could leave an output that lies. Every test waits for
//! something it can see (bytes read, a file, a blocked system call) before it signals; none
//! asserts a time.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::support::{meterflow, spawn_piped};

const HEADER: &str = "timestamp,asset,point,value\n";

/// Only a run that ignores a signal, or never gets where a test waits for it, takes this long.
const DEADLOCK: Duration = Duration::from_secs(60);

/// Twenty meters, one reading each per 20 s of event time; every 13th line is 7 minutes late (the
/// jobs' latency is 5 minutes, so some are dropped as late); some values fall outside the max/min
/// job's threshold `[0, 100)`.
fn lines(n: usize) -> Vec<String> {
    (0..n as i64)
        .map(|i| {
            let seconds = i - if i % 13 == 12 { 420 } else { 0 };
            let value = (i * 37) % 120;
            format!("{},meter-{},Reading,{value}", 1_700_000_000_000 + seconds * 1000, i % 20)
        })
        .collect()
}

fn csv(lines: &[String]) -> String {
    let mut text = HEADER.to_string();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The seed jobs (a window job and a merge over its outputs) with a 5-minute latency.
fn jobs(dir: &Path) -> PathBuf {
    let jobs = dir.join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    for name in ["meter_max_min.yaml", "meter_reading_difference.yaml"] {
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs").join(name)).unwrap();
        std::fs::write(jobs.join(name), text.replace("latency: 1d", "latency: 5m")).unwrap();
    }
    jobs
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn without_header(text: &str) -> &str {
    text.split_once('\n').map_or("", |(_, rest)| rest)
}

/// Bytes the process has read so far (`rchar`), `None` once it has gone.
pub(crate) fn bytes_read(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines().find_map(|l| l.strip_prefix("rchar: ")).and_then(|n| n.trim().parse().ok())
}

/// Whether some thread of the process waits in the kernel function `name`.
pub(crate) fn waits_in(pid: u32, name: &str) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
    tasks
        .filter_map(Result::ok)
        .any(|t| std::fs::read_to_string(t.path().join("wchan")).is_ok_and(|w| w.contains(name)))
}

/// Whether a run with `--threads 1` has given its jobs every line written to `input`: the pipe is
/// empty and the run waits in `poll` for more. On one thread the jobs take all the rows read before
/// the next read, which waits only with nothing ready. Neither the header on stdout (flushed at the
/// run's first wait: with parsing threads, when the jobs wait for the first chunk) nor the end of
/// a write into the pipe says as much: a pipe holds up to 64 KiB unread, a widened one 1 MiB (all
/// of these tests' inputs); and a stop drops what was read and not yet taken.
pub(crate) fn has_taken_all(pid: u32, input: &ChildStdin) -> bool {
    rustix::io::ioctl_fionread(input).is_ok_and(|unread| unread == 0) && waits_in(pid, "poll")
}

pub(crate) fn kill(pid: u32, signal: &str) {
    let status = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Waits until `ready` holds (true) or the child has ended (false).
pub(crate) fn wait_for(child: &mut Child, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + DEADLOCK;
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if ready() {
            return true;
        }
        assert!(Instant::now() < deadline, "the run never got where the test waits for it");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits for the child to end; `None` when it ignores every signal (it is then killed).
pub(crate) fn wait_end(child: &mut Child) -> Option<ExitStatus> {
    let deadline = Instant::now() + DEADLOCK;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// How a run that may have been stopped ended.
#[derive(Debug, PartialEq)]
enum Ended {
    /// Its whole input read (a signal that came after the end changes nothing).
    Whole,
    /// Stopped after this many rows of its input; the rest starts at the next row.
    After(usize),
    /// Killed by the signal before its handlers were installed: nothing committed.
    Killed,
}

fn ended(status: ExitStatus, stderr: &str) -> Ended {
    if let Some(signal) = status.signal() {
        assert!(signal == 2 || signal == 15, "killed by signal {signal}: {stderr}");
        return Ended::Killed;
    }
    match status.code() {
        Some(0) => Ended::Whole,
        Some(130 | 143) if stderr.contains("came once the whole input was read") => Ended::Whole,
        Some(code @ (130 | 143)) => {
            let name = if code == 130 { "SIGINT" } else { "SIGTERM" };
            assert!(stderr.contains(&format!("meterflow: {name} ended the input after")), "{stderr}");
            // The note says where the rest starts: "from data row K of <input> on".
            let row = stderr.split("from data row ").nth(1).and_then(|t| t.split(' ').next());
            let row: usize = row.and_then(|r| r.parse().ok()).unwrap_or_else(|| panic!("no resume row: {stderr}"));
            Ended::After(row - 1)
        }
        other => panic!("exit {other:?}: {stderr}"),
    }
}

#[derive(Clone, Copy)]
enum Feed {
    File,
    Pipe,
}

/// One run over `input` with `--state`, signalled (`signal`) once it has read `at` of the bytes
/// it reads (a run on a file reads it twice under a state: once to hash it, once to replay it),
/// or never when `at` is past them.
struct Part<'a> {
    jobs: &'a Path,
    dir: &'a Path,
    emit: &'a str,
    state: &'a Path,
    finish: bool,
    feed: Feed,
}

impl Part<'_> {
    fn run(&self, k: usize, input: &str, at: f64, signal: &str, threads: &str) -> (Ended, PathBuf, PathBuf) {
        let (out, late) = (self.dir.join(format!("out{k}.csv")), self.dir.join(format!("late{k}.csv")));
        let mut cmd = meterflow();
        cmd.args(["run", self.jobs.to_str().unwrap(), "-q", "--emit", self.emit, "--threads", threads]);
        cmd.arg("-o").arg(&out).arg("--late-output").arg(&late).arg("--state").arg(self.state);
        if self.finish {
            cmd.arg("--finish");
        }
        // What the run has read of `input`: on a file, `rchar` (which also counts the jobs, the
        // state and the libraries, so a signal may come a little early); on a pipe, what was
        // written less what the pipe still holds, never more than the run has read.
        let (reads, written) = match self.feed {
            Feed::File => {
                let path = self.dir.join(format!("in{k}.csv"));
                std::fs::write(&path, input).unwrap();
                cmd.arg("--input").arg(&path).stdin(Stdio::null());
                (2 * input.len() as u64, None)
            }
            Feed::Pipe => {
                cmd.stdin(Stdio::piped());
                (input.len() as u64, Some(Arc::new(AtomicU64::new(0))))
            }
        };
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let mut unread_of = None;
        if let (Some(mut stdin), Some(written)) = (child.stdin.take(), written.clone()) {
            unread_of = Some(stdin.as_fd().try_clone_to_owned().unwrap());
            let bytes = input.as_bytes().to_vec();
            // Pieces that cut lines, so the run often waits with part of a line read. Once the
            // run has stopped, the rest meets a closed pipe.
            std::thread::spawn(move || {
                for piece in bytes.chunks(4093) {
                    if stdin.write_all(piece).and_then(|()| stdin.flush()).is_err() {
                        break;
                    }
                    written.fetch_add(piece.len() as u64, Ordering::SeqCst);
                }
            });
        }
        let pid = child.id();
        // A moment past the end never signals, so every cycle of moments has runs that finish.
        if at <= 1.0 {
            let taken = || match (&written, &unread_of) {
                (Some(written), Some(fd)) => {
                    // Counted before the pipe is asked: a piece written between the two would
                    // otherwise count as read while it still waits in the pipe.
                    let written = written.load(Ordering::SeqCst);
                    let unread = rustix::io::ioctl_fionread(fd).ok()?;
                    Some(written.saturating_sub(unread))
                }
                _ => bytes_read(pid),
            };
            let threshold = (reads as f64 * at) as u64;
            if wait_for(&mut child, || taken().is_some_and(|n| n >= threshold)) {
                kill(pid, signal);
            }
        }
        // The copy of the pipe's end kept for FIONREAD would hide the end of the input.
        drop(unread_of);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let how = ended(output.status, &stderr);
        if how == Ended::Killed {
            assert!(!out.exists() && !late.exists(), "a run killed before it started left outputs");
        }
        (how, out, late)
    }
}

/// Moments to signal at (share of the bytes the run reads; past 1: never), signals and thread
/// counts, so that each signal meets each thread count.
const MOMENTS: &[(f64, &str, &str)] = &[
    (0.25, "INT", "1"),
    (0.55, "TERM", "2"),
    (0.7, "TERM", "1"),
    (0.9, "INT", "2"),
    (2.0, "INT", "1"),
    (0.52, "INT", "1"),
    (0.6, "TERM", "2"),
    (0.8, "INT", "2"),
    (0.97, "TERM", "1"),
    (2.0, "TERM", "2"),
];

/// Replays `lines` as two days (the first without `--finish`), each through runs stopped at the
/// moments, each run given the rest of its day from the row its stop note names. Returns the
/// joined outputs and how many runs a signal stopped.
fn stopped_replay(dir: &Path, emit: &str, feed: Feed, lines: &[String]) -> (String, String, usize) {
    let jobs = jobs(dir);
    let state = dir.join(format!("{emit}.state"));
    let (mut out, mut late, mut stopped, mut k) = (String::new(), String::new(), 0, 0);
    let mut moments = MOMENTS.iter().cycle();
    // On a pipe, nothing is hashed first: the moments count from the start.
    let shift = |at: f64| if matches!(feed, Feed::Pipe) { (at - 0.5).max(0.0) * 2.0 } else { at };
    let cut = lines.len() * 3 / 5;
    for (day, finish) in [(&lines[..cut], false), (&lines[cut..], true)] {
        let part = Part { jobs: &jobs, dir, emit, state: &state, finish, feed };
        let mut rest = day;
        for tries in 0.. {
            assert!(tries < 100, "{emit}: the runs never got through the day");
            let &(at, signal, threads) = moments.next().unwrap();
            let (how, o, l) = part.run(k, &csv(rest), shift(at), signal, threads);
            if how == Ended::Killed {
                continue;
            }
            let (o, l) = (read(&o), read(&l));
            let first = out.is_empty();
            out.push_str(if first { &o } else { without_header(&o) });
            late.push_str(if first { &l } else { without_header(&l) });
            k += 1;
            match how {
                Ended::After(rows) => {
                    stopped += 1;
                    rest = &rest[rows..];
                }
                _ => break,
            }
        }
    }
    (out, late, stopped)
}

/// One run over all of `lines`, without a state.
fn one_run(dir: &Path, emit: &str, lines: &[String]) -> (String, String) {
    let jobs = jobs(dir);
    let (input, out, late) = (dir.join("whole.csv"), dir.join("whole.out.csv"), dir.join("whole.late.csv"));
    std::fs::write(&input, csv(lines)).unwrap();
    let status = meterflow()
        .args(["run", jobs.to_str().unwrap(), "-q", "--emit", emit, "--input"])
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .arg("--late-output")
        .arg(&late)
        .status()
        .unwrap();
    assert!(status.success());
    (read(&out), read(&late))
}

fn stopped_runs_write_what_one_run_writes(feed: Feed) {
    let lines = lines(60_000);
    for emit in ["final", "updates"] {
        let dir = tempfile::tempdir().unwrap();
        let (expected, expected_late) = one_run(dir.path(), emit, &lines);
        assert!(expected.lines().count() > 1000 && expected_late.lines().count() > 100);
        let (out, late, stopped) = stopped_replay(dir.path(), emit, feed, &lines);
        assert!(stopped > 0, "{emit}: no run was stopped");
        assert!(out == expected, "{emit}: the joined output differs from one run's ({stopped} runs stopped)");
        assert!(late == expected_late, "{emit}: the joined late rows differ from one run's");
    }
}

/// Item 1, for files: the count said is the count the jobs received, so the rest of the file
/// given to the next run leaves nothing out and repeats nothing.
#[test]
fn a_file_replay_stopped_at_many_moments_resumes_to_one_runs_bytes() {
    stopped_runs_write_what_one_run_writes(Feed::File);
}

/// Item 1, for pipes (read as they arrive, often waiting with part of a line read).
#[test]
fn a_piped_replay_stopped_at_many_moments_resumes_to_one_runs_bytes() {
    stopped_runs_write_what_one_run_writes(Feed::Pipe);
}

/// Names of the hidden files in `dir`: a state being saved, or one a killed run left.
fn hidden_files(dir: &Path) -> Vec<String> {
    let names = std::fs::read_dir(dir).unwrap().filter_map(Result::ok);
    names.map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with('.')).collect()
}

/// The state's bytes; none for a state not saved yet (absent, or the empty file a run holds).
fn state_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

#[derive(Clone, Copy, Debug)]
enum Kill {
    /// Once the run has read this share of what it reads.
    At(f64),
    /// As soon as a temporary state file shows: during the save.
    Saving,
    Never,
}

/// Runs over two days, killed by SIGKILL at many moments and during saves; after each kill the same
/// input is given again, as docs/guides/state.md says: a run killed after its save is refused as having
/// read it (its outputs are complete under their names), any other replays it from the previous
/// state. The joined outputs are one run's, and no temporary state file outlives the next run.
#[test]
fn runs_killed_at_many_moments_and_during_the_save_replay_to_one_runs_bytes() {
    let lines = lines(40_000);
    let kills = [Kill::Saving, Kill::At(0.75), Kill::Saving, Kill::At(0.3), Kill::Saving, Kill::Never];
    for emit in ["final", "updates"] {
        let dir = tempfile::tempdir().unwrap();
        let (expected, expected_late) = one_run(dir.path(), emit, &lines);
        let run_dir = dir.path().join("runs");
        std::fs::create_dir(&run_dir).unwrap();
        let jobs = jobs(dir.path());
        let state = run_dir.join("s.state");
        let (mut out, mut late) = (String::new(), String::new());
        let cut = lines.len() / 2;
        for (k, (day, finish)) in [(&lines[..cut], false), (&lines[cut..], true)].into_iter().enumerate() {
            let input = run_dir.join(format!("in{k}.csv"));
            let text = csv(day);
            std::fs::write(&input, &text).unwrap();
            let (o, l) = (run_dir.join(format!("out{k}.csv")), run_dir.join(format!("late{k}.csv")));
            let mut left_final: Option<String> = None;
            for kill in kills.iter().cycle() {
                let before = state_bytes(&state);
                let mut cmd = meterflow();
                cmd.args(["run", jobs.to_str().unwrap(), "-q", "--emit", emit, "--input"]).arg(&input);
                cmd.arg("-o").arg(&o).arg("--late-output").arg(&l).arg("--state").arg(&state);
                if finish {
                    cmd.arg("--finish");
                }
                let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
                let pid = child.id();
                let hit = match *kill {
                    Kill::At(at) => {
                        let threshold = (2.0 * text.len() as f64 * at) as u64;
                        wait_for(&mut child, || bytes_read(pid).is_some_and(|n| n >= threshold))
                    }
                    // Looked for without a pause: a save takes a few milliseconds.
                    Kill::Saving => loop {
                        if child.try_wait().unwrap().is_some() {
                            break false;
                        }
                        if !hidden_files(&run_dir).is_empty() {
                            break true;
                        }
                    },
                    Kill::Never => false,
                };
                if hit {
                    let _ = child.kill();
                }
                let output = child.wait_with_output().unwrap();
                if output.status.success() {
                    assert!(hidden_files(&run_dir).is_empty(), "{:?}", hidden_files(&run_dir));
                    if let Some(left) = &left_final {
                        assert_eq!(&read(&o), left, "a killed run left an output that is not this input's");
                    }
                    break;
                }
                assert_eq!(output.status.signal(), Some(9), "{}", String::from_utf8_lossy(&output.stderr));
                if state_bytes(&state) != before {
                    // Saved before the kill: the outputs took their names first.
                    assert!(!o.with_extension("csv.partial").exists() && !l.with_extension("csv.partial").exists());
                    let again = meterflow()
                        .args(["run", jobs.to_str().unwrap(), "-q", "--emit", emit, "--input"])
                        .arg(&input)
                        .arg("-o")
                        .arg(run_dir.join("again.csv"))
                        .arg("--state")
                        .arg(&state)
                        .output()
                        .unwrap();
                    assert_eq!(again.status.code(), Some(2), "{}", String::from_utf8_lossy(&again.stderr));
                    assert!(hidden_files(&run_dir).is_empty(), "{:?}", hidden_files(&run_dir));
                    break;
                }
                left_final = o.exists().then(|| read(&o));
            }
            let (o, l) = (read(&o), read(&l));
            out.push_str(if k == 0 { &o } else { without_header(&o) });
            late.push_str(if k == 0 { &l } else { without_header(&l) });
        }
        assert!(out == expected, "{emit}: the joined output differs from one run's");
        assert!(late == expected_late, "{emit}: the joined late rows differ from one run's");
    }
}

/// Item 11: a run killed while it saves leaves its temporary file; the next run on that state
/// removes it.
#[test]
fn temporary_files_of_saves_cut_short_are_removed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs(dir.path());
    let run_dir = dir.path().join("runs");
    std::fs::create_dir(&run_dir).unwrap();
    // 20,000 meters whose windows all stay open: a state large enough that its save takes a while.
    let input = dir.path().join("in.csv");
    let mut text = HEADER.to_string();
    for i in 0..20_000 {
        text.push_str(&format!("1700000000000,meter-{i},Reading,{}\n", i % 90));
    }
    std::fs::write(&input, text).unwrap();
    let state = run_dir.join("s.state");
    let run = || {
        let mut cmd = meterflow();
        cmd.args(["run", jobs.to_str().unwrap(), "-q", "--allow-repeated-input", "-o", "/dev/null", "--input"]);
        cmd.arg(&input).arg("--state").arg(&state).stderr(Stdio::null());
        cmd
    };
    let mut tries = 0;
    while hidden_files(&run_dir).is_empty() {
        tries += 1;
        assert!(tries <= 50, "no kill of 50 landed during a save");
        let mut child = run().spawn().unwrap();
        let seen = loop {
            if child.try_wait().unwrap().is_some() {
                break false;
            }
            if !hidden_files(&run_dir).is_empty() {
                break true;
            }
        };
        if seen {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
    assert!(run().status().unwrap().success());
    assert_eq!(hidden_files(&run_dir), Vec::<String>::new(), "after {tries} runs");
}

/// A max job whose 1-day latency keeps every window open until the end of input: no row is
/// written before it, so a run that has read its input still holds all of its rows.
pub(crate) fn day_long_max_job(dir: &Path) -> PathBuf {
    let job = dir.join("job.yaml");
    std::fs::write(
        &job,
        "name: live\ntemplate: time_window_aggregation\nmodel: M\nlatency: 1d\npolicies:\n  - input: Reading\n    \
         aggregation: max\n    window_size: 10m\n    output: Max\n",
    )
    .unwrap();
    job
}

/// `meters` readings at one instant, one per meter: a window, and a row at the end, each.
pub(crate) fn one_window_per_meter(meters: u64) -> String {
    let mut text = HEADER.to_string();
    for i in 0..meters {
        text.push_str(&format!("2024-01-01T00:00:00Z,meter-{i},Reading,{i}\n"));
    }
    text
}

/// Item 2: a second signal while a live run writes what the first one flushed abandons it: its
/// file outputs take their `.partial` names, stderr names them, and the exit status is a failed
/// run's, not a clean stop's.
#[test]
fn a_second_signal_leaves_the_outputs_partial_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let job = day_long_max_job(dir.path());
    let (late, stats) = (dir.path().join("late.csv"), dir.path().join("stats.json"));
    let mut child = spawn_piped(
        meterflow()
            .args(["run", job.to_str().unwrap(), "-q", "--threads", "1", "--late-output"])
            .arg(&late)
            .arg("--stats-json")
            .arg(&stats)
            .args(["-o", "-"]),
    );
    let mut input = child.stdin.take().unwrap();
    input.write_all(one_window_per_meter(20_000).as_bytes()).unwrap();
    input.flush().unwrap();
    // Every row taken, so the first signal flushes 20,000 rows: more than stdout's pipe holds.
    let pid = child.id();
    assert!(wait_for(&mut child, || has_taken_all(pid, &input)), "the run ended before taking its input");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first, HEADER);
    kill(pid, "TERM");
    assert!(wait_for(&mut child, || waits_in(pid, "pipe_write")), "the run never blocked writing its rows");
    kill(pid, "INT");
    let status = wait_end(&mut child).expect("the second signal ends the run");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("a second SIGINT abandoned the run"), "{stderr}");
    assert!(stderr.contains(&format!("--late-output {}.partial (incomplete)", late.display())), "{stderr}");
    assert!(stderr.contains(&format!("--stats-json {} (not written)", stats.display())), "{stderr}");
    assert!(!late.exists() && dir.path().join("late.csv.partial").exists() && !stats.exists());
    drop(input);
}

/// A signal that comes once the whole input was read changes nothing: the run writes every row,
/// says the signal came after the input, and exits with the signal's status.
#[test]
fn a_signal_after_the_whole_input_lets_the_run_end_as_usual() {
    let dir = tempfile::tempdir().unwrap();
    let job = day_long_max_job(dir.path());
    let mut child = spawn_piped(meterflow().args(["run", job.to_str().unwrap(), "-q", "--threads", "1", "-o", "-"]));
    let mut input = child.stdin.take().unwrap();
    input.write_all(one_window_per_meter(20_000).as_bytes()).unwrap();
    drop(input);
    // The end of input reached, the run writes 20,000 rows: more than stdout's pipe holds.
    let pid = child.id();
    assert!(wait_for(&mut child, || waits_in(pid, "pipe_write")), "the run never blocked writing its rows");
    kill(pid, "TERM");
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let status = wait_end(&mut child).expect("the run ends");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("SIGTERM came once the whole input was read (20000 rows)"), "{stderr}");
    assert_eq!(out.lines().count(), 1 + 20_000, "every window's row is written");
    assert_eq!(ended(status, &stderr), Ended::Whole);
}

/// Item 3: a FIFO with no writer yet waits in open(2); SIGTERM ends that wait as any other.
#[test]
fn a_signal_ends_a_fifo_open_that_waits_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs(dir.path());
    let fifo = dir.path().join("meters.fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let state = dir.path().join("s.state");
    let mut child = meterflow()
        .args(["run", jobs.to_str().unwrap(), "-q", "-o", "/dev/null", "--input"])
        .arg(&fifo)
        .arg("--state")
        .arg(&state)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let waiting = || waits_in(pid, "wait_for_partner") || waits_in(pid, "fifo_open");
    assert!(wait_for(&mut child, waiting), "the run never waited for a writer");
    kill(pid, "TERM");
    let status = wait_end(&mut child);
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(143), "SIGTERM was ignored: {stderr}");
    assert!(stderr.contains("SIGTERM ended the input after 0 rows, before any row of"), "{stderr}");
    assert!(stderr.contains("from data row 1 of"), "{stderr}");
}

/// A job writing one row per second of input, and `seconds` seconds of input.
fn busy(dir: &Path, seconds: usize) -> (PathBuf, PathBuf) {
    let job = dir.join("busy.yaml");
    std::fs::write(
        &job,
        "name: cnt\nmodel: x\ntemplate: time_window_aggregation\nlatency: 0s\npolicies:\n  - input: Reading\n    \
         aggregation: cnt\n    window_size: 1s\n    output: Cnt\n",
    )
    .unwrap();
    let input = dir.join("busy.csv");
    let lines: Vec<String> =
        (0..seconds).map(|i| format!("{},m1,Reading,1", 1_700_000_000_000u64 + i as u64 * 1000)).collect();
    std::fs::write(&input, csv(&lines)).unwrap();
    (job, input)
}

/// Item 4: `--state` and a stdout closed early (`| head -1`): not every row read was written, so
/// the state is not saved, and the run says so and exits 1 rather than 0.
#[test]
fn a_closed_stdout_under_a_state_saves_nothing_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (job, input) = busy(dir.path(), 20_000);
    let state = dir.path().join("s.state");
    let mut child = meterflow()
        .args(["run", job.to_str().unwrap(), "-q", "--input"])
        .arg(&input)
        .arg("--state")
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the state was not saved"), "{stderr}");
    assert!(!state.exists(), "a state ahead of what was written");
}

/// Item 5: a second run on a state another run holds is refused, and the state keeps the first
/// run's readings.
#[test]
fn a_second_run_on_a_state_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs(dir.path());
    let lines = lines(400);
    let (day1, day2) = (dir.path().join("d1.csv"), dir.path().join("d2.csv"));
    std::fs::write(&day1, csv(&lines[..100])).unwrap();
    std::fs::write(&day2, csv(&lines[100..200])).unwrap();
    let state = dir.path().join("s.state");
    let run = |input: &Path| {
        let mut cmd = meterflow();
        cmd.args(["run", jobs.to_str().unwrap(), "-q", "-o", "/dev/null", "--input"]).arg(input);
        cmd.arg("--state").arg(&state);
        cmd
    };
    assert!(run(&day1).status().unwrap().success());
    // A run on a pipe holds the state while it waits for its input.
    let mut first = meterflow()
        .args(["run", jobs.to_str().unwrap(), "-q", "--state"])
        .arg(&state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = first.stdin.take().unwrap();
    input.write_all(HEADER.as_bytes()).unwrap();
    input.flush().unwrap();
    let mut stdout = BufReader::new(first.stdout.take().unwrap());
    let mut header = String::new();
    stdout.read_line(&mut header).unwrap();
    assert_eq!(header, HEADER, "the first run waits for input");
    let before = state_bytes(&state);
    let second = run(&day2).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is in use by another meterflow run"), "{stderr}");
    assert_eq!(state_bytes(&state), before);
    input.write_all(without_header(&csv(&lines[200..])).as_bytes()).unwrap();
    drop(input);
    assert!(first.wait().unwrap().success());
    // Day 2 may follow now, and the state holds all three runs.
    assert!(run(&day2).status().unwrap().success());
    let show = meterflow().args(["state", "show", "--format", "json"]).arg(&state).output().unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["runs"], 3, "{shown}");
}

/// Item 6: the state is an output like the others: on the file of `-o`, `--late-output` or
/// `--stats-json`, or on an input, it is refused before anything is written.
#[test]
fn the_state_may_not_share_a_file_with_an_output_or_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs(dir.path());
    let input = dir.path().join("in.csv");
    std::fs::write(&input, csv(&lines(50))).unwrap();
    let state = dir.path().join("s.state");
    for flag in ["-o", "--late-output", "--stats-json"] {
        let out = meterflow()
            .args(["run", jobs.to_str().unwrap(), "-q", "--input"])
            .arg(&input)
            .arg(flag)
            .arg(&state)
            .arg("--state")
            .arg(&state)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {stderr}");
        assert!(stderr.contains(&format!("{flag} and --state both write to")), "{stderr}");
        assert!(!state.exists(), "{flag}");
    }
    let out = meterflow()
        .args(["run", jobs.to_str().unwrap(), "-q", "-o", "/dev/null", "--input"])
        .arg(&input)
        .arg("--state")
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(read(&input), csv(&lines(50)));
}

/// Item 7: a `.partial` name linked (symbolically or hard) to the input is refused like the final
/// name; one linked to any other file is replaced, never written through.
#[test]
fn a_partial_name_linked_to_the_input_is_refused_and_no_link_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs(dir.path());
    let input = dir.path().join("in.csv");
    let text = csv(&lines(3000));
    std::fs::write(&input, &text).unwrap();
    let run = |flag: &str, path: &Path| {
        meterflow().args(["run", jobs.to_str().unwrap(), "-q", "--input"]).arg(&input).arg(flag).arg(path).output()
    };
    for flag in ["-o", "--late-output"] {
        for hard in [false, true] {
            let out = dir.path().join("out.csv");
            let partial = dir.path().join("out.csv.partial");
            let _ = std::fs::remove_file(&partial);
            match hard {
                true => std::fs::hard_link(&input, &partial).unwrap(),
                false => std::os::unix::fs::symlink(&input, &partial).unwrap(),
            }
            let done = run(flag, &out).unwrap();
            let stderr = String::from_utf8_lossy(&done.stderr);
            assert_eq!(done.status.code(), Some(2), "{flag} hard={hard}: {stderr}");
            assert!(stderr.contains("out.csv.partial until it is complete, and that is the input"), "{stderr}");
            assert_eq!(read(&input), text, "{flag} hard={hard}");
        }
    }
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "kept\n").unwrap();
    let out = dir.path().join("out2.csv");
    std::os::unix::fs::symlink(&victim, dir.path().join("out2.csv.partial")).unwrap();
    assert!(run("-o", &out).unwrap().status.success());
    assert_eq!(read(&victim), "kept\n");
    assert!(read(&out).starts_with(HEADER));
}

/// Item 8: a run that fails leaves the previous outputs as they were, beside its `.partial` ones.
#[test]
fn a_failed_run_keeps_the_previous_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs(dir.path());
    let input = dir.path().join("in.csv");
    std::fs::write(&input, csv(&lines(3000)) + "oops,meter-1,Reading,1\n").unwrap();
    let (out, late) = (dir.path().join("out.csv"), dir.path().join("late.csv"));
    std::fs::write(&out, "yesterday's points\n").unwrap();
    std::fs::write(&late, "yesterday's late rows\n").unwrap();
    let done = meterflow()
        .args(["run", jobs.to_str().unwrap(), "-q", "--input"])
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .arg("--late-output")
        .arg(&late)
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(1), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(read(&out), "yesterday's points\n");
    assert_eq!(read(&late), "yesterday's late rows\n");
    assert!(dir.path().join("out.csv.partial").exists() && dir.path().join("late.csv.partial").exists());
}

/// Item 9: a closed stderr changes nothing but the messages: the outputs take their names and the
/// state is saved.
#[test]
fn a_closed_stderr_changes_nothing_but_the_messages() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs(dir.path());
    let input = dir.path().join("in.csv");
    std::fs::write(&input, csv(&lines(3000))).unwrap();
    let (out, state) = (dir.path().join("out.csv"), dir.path().join("s.state"));
    let mut child = meterflow()
        .args(["run", jobs.to_str().unwrap(), "--input"])
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .arg("--state")
        .arg(&state)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(out.exists() && !dir.path().join("out.csv.partial").exists());
    assert!(!state_bytes(&state).is_empty());
}

/// Item 10: no subcommand writes over what it reads: `plot -o`, `plot --rejects`, `sniff
/// --write-config`, `test --junit` and `--bless`, `state show >>` and `run >>` naming an input
/// are refused with exit 2 and the input left as it was.
#[test]
fn no_subcommand_overwrites_its_own_input() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs(dir.path());
    let job = jobs.join("meter_max_min.yaml");
    let input = dir.path().join("in.csv");
    let text = csv(&lines(200));
    std::fs::write(&input, &text).unwrap();
    let refused = |cmd: &mut Command, file: &Path, message: &str| {
        let before = std::fs::read(file).unwrap();
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {stderr}");
        assert!(stderr.contains(message), "{cmd:?}: {stderr}");
        assert_eq!(std::fs::read(file).unwrap(), before, "{cmd:?}");
    };
    let plot = |flag: &str| {
        let mut cmd = meterflow();
        cmd.args(["plot", job.to_str().unwrap(), "--asset", "meter-1", "-o"]).arg(dir.path().join("p.svg"));
        cmd.arg(flag).arg(&input).arg("--input").arg(&input);
        cmd
    };
    if cfg!(feature = "plot") {
        refused(&mut plot("-o"), &input, "-o");
        refused(&mut plot("--rejects"), &input, "--rejects");
    }
    let mut sniff = meterflow();
    sniff.arg("sniff").arg(&input).arg("--write-config").arg(&input);
    refused(&mut sniff, &input, "--write-config");
    let appended = || std::fs::OpenOptions::new().append(true).open(&input).unwrap();
    let mut run = meterflow();
    run.args(["run", jobs.to_str().unwrap(), "-q", "--input"]).arg(&input).stdout(appended());
    refused(&mut run, &input, "stdout (where points go without -o) is the input");
    let state = dir.path().join("s.state");
    assert!(
        meterflow()
            .args(["run", "-q", "-o", "/dev/null"])
            .arg(&jobs)
            .arg("--input")
            .arg(&input)
            .arg("--state")
            .arg(&state)
            .status()
            .unwrap()
            .success()
    );
    let state_out = std::fs::OpenOptions::new().append(true).open(&state).unwrap();
    refused(meterflow().args(["state", "show"]).arg(&state).stdout(state_out), &state, "is the state file");
    // A job test whose expected output is its input file, and a report over its test file.
    let tests = dir.path().join("tests");
    std::fs::create_dir(&tests).unwrap();
    std::fs::write(tests.join("j.yaml"), read(&job)).unwrap();
    std::fs::write(tests.join("in.csv"), &text).unwrap();
    let test_file = tests.join("j.test.yaml");
    std::fs::write(&test_file, "tests:\n  - name: t\n    input_file: in.csv\n    expect_file: in.csv\n").unwrap();
    let mut junit = meterflow();
    junit.arg("test").arg(&tests).arg("--junit").arg(&test_file);
    refused(&mut junit, &test_file, "--junit");
    let mut bless = meterflow();
    bless.arg("test").arg(&tests).arg("--bless");
    refused(&mut bless, &tests.join("in.csv"), "--bless");
}

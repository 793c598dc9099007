//! Live input: on a pipe that stays open, each row reaches the output as soon as the input line
//! that makes it final has been written. The test writes a line, then waits for the rows it must
//! produce before writing the next; a run that held them back would leave the test waiting, so the
//! read has a generous time limit that only a deadlock reaches (it asserts no timing).

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

/// Ten-minute max and min windows, final as soon as a later window starts (no lateness).
const JOB: &str = "name: live
template: time_window_aggregation
model: ElectricMeter
window:
  type: tumbling
latency: 0s
policies:
  - input: Reading
    threshold: \"[0, 100)\"
    interpolation: ignore
    aggregation: max
    window_size: 10m
    output: Max
  - input: Reading
    threshold: \"[0, 100)\"
    interpolation: ignore
    aggregation: min
    window_size: 10m
    output: Min
";

/// Only a run that holds rows back waits this long (a loaded machine stalls for seconds, not a minute).
const DEADLOCK: Duration = Duration::from_secs(60);

fn rows_arrive_as_their_windows_close(threads: &str) {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("live.yaml");
    std::fs::write(&job, JOB).unwrap();
    let mut child = crate::support::meterflow()
        .args(["run", job.to_str().unwrap(), "-q", "--threads", threads])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("meterflow runs");
    let mut input = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let lines = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let expect = |rows: &[&str]| {
        for row in rows {
            let line = rx.recv_timeout(DEADLOCK).unwrap_or_else(|_| panic!("{row} was held back"));
            assert_eq!(line, *row);
        }
    };
    // (input line, the rows it makes final): each reading of window 00:10 and 00:20 closes the one before.
    let steps: [(&str, &[&str]); 4] = [
        ("timestamp,asset,point,value\n", &["timestamp,asset,point,value"]),
        ("2024-01-01T00:01:00Z,m1,Reading,3\n2024-01-01T00:04:00Z,m1,Reading,5\n", &[]),
        (
            "2024-01-01T00:11:00Z,m1,Reading,7\n",
            &["2024-01-01T00:00:00.000Z,m1,Max,5", "2024-01-01T00:00:00.000Z,m1,Min,3"],
        ),
        (
            "2024-01-01T00:25:00Z,m1,Reading,9\n",
            &["2024-01-01T00:10:00.000Z,m1,Max,7", "2024-01-01T00:10:00.000Z,m1,Min,7"],
        ),
    ];
    for (line, rows) in steps {
        input.write_all(line.as_bytes()).unwrap();
        input.flush().unwrap();
        expect(rows);
    }
    // With more than one thread the rows above were written by the writer thread, as on a file,
    // not by the jobs' thread, which sets a piped run's pace (issue 31).
    let threads_now = thread_names(child.id());
    let writer = threads_now.iter().any(|(name, _)| name == "meterflow-write");
    assert_eq!(writer, threads != "1", "a writer thread with --threads {threads}");
    // The parsing threads yield a contended core to the jobs' thread (the process's first, named
    // `meterflow`): they run 5 nicer than it (issue 31, bench/RESULTS.md).
    let jobs = threads_now.iter().find(|(name, _)| name == "meterflow").expect("the jobs' thread").1;
    let parsing: Vec<i32> =
        threads_now.iter().filter(|(name, _)| name.starts_with("meterflow-parse")).map(|&(_, nice)| nice).collect();
    assert_eq!(parsing.is_empty(), threads == "1", "parsing threads with --threads {threads}");
    assert!(
        parsing.iter().all(|&nice| nice == (jobs + 5).min(19)),
        "niceness: jobs' thread {jobs}, parsing {parsing:?}"
    );
    // The run widened its input pipe to 1 MiB, where the system allows as much (issue 31).
    let limit: usize = std::fs::read_to_string("/proc/sys/fs/pipe-max-size").unwrap().trim().parse().unwrap();
    if limit >= 1 << 20 {
        assert_eq!(rustix::pipe::fcntl_getpipe_size(&input).unwrap(), 1 << 20);
    }
    drop(input);
    expect(&["2024-01-01T00:20:00.000Z,m1,Max,9", "2024-01-01T00:20:00.000Z,m1,Min,9"]);
    assert!(child.wait().unwrap().success());
    lines.join().unwrap();
    assert!(rx.try_recv().is_err(), "nothing after the last window");
}

/// The names and nice values of the threads of the process `pid` (Linux: `/proc/PID/task/*/comm`,
/// and the 19th field of `stat`, counted after the parenthesised name).
fn thread_names(pid: u32) -> Vec<(String, i32)> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|task| {
            let path = task.unwrap().path();
            let name = std::fs::read_to_string(path.join("comm")).unwrap().trim_end().to_string();
            let stat = std::fs::read_to_string(path.join("stat")).unwrap();
            let after_name = &stat[stat.rfind(')').unwrap() + 1..];
            let nice = after_name.split_whitespace().nth(16).unwrap().parse().unwrap();
            (name, nice)
        })
        .collect()
}

#[test]
fn rows_arrive_as_their_windows_close_on_one_thread() {
    rows_arrive_as_their_windows_close("1");
}

#[test]
fn rows_arrive_as_their_windows_close_with_parsing_threads() {
    rows_arrive_as_their_windows_close("3");
}

/// A complete line is read as it arrives, whatever reads it, without `--idle-timeout`: the second
/// row of each input, at 00:00:01, moves m1's watermark to the end of its one-second window
/// 00:00:00 (no latency), whose max is the first row's 1. So that row must reach stdout while the
/// pipe stays open and silent; the window 00:00:01 (max 5) closes at the end of input.
#[test]
fn a_complete_line_is_read_as_it_arrives_whatever_reads_it() {
    let first = "timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,R,1\n";
    let plain = format!("{first}2024-01-01T00:00:01Z,m1,R,5\n");
    let quoted = format!("{first}2024-01-01T00:00:01Z,\"m1\",R,5\n");
    let all_quoted = "timestamp,asset,point,value\n\"2024-01-01T00:00:00Z\",m1,R,1\n2024-01-01T00:00:01Z,\"m1\",R,5\n";
    // A field of a column no job reads, quoted over two lines: one row.
    let spanning = "timestamp,asset,point,value,note\n2024-01-01T00:00:00Z,m1,R,1,a\n\
                    2024-01-01T00:00:01Z,m1,R,5,\"two\nlines\"\n";
    let wide = "timestamp,asset,R\n2024-01-01T00:00:00Z,m1,1\n2024-01-01T00:00:01Z,m1,5\n";
    let json = "{\"timestamp\":\"2024-01-01T00:00:00Z\",\"asset\":\"m1\",\"point\":\"R\",\"value\":1}\n\
                {\"timestamp\":\"2024-01-01T00:00:01Z\",\"asset\":\"m1\",\"point\":\"R\",\"value\":5}\n";
    let cases: [(&str, &[&str], &str); 11] = [
        ("fast reader, --threads 1", &["--threads", "1"], &plain),
        ("fast reader, --threads 2", &["--threads", "2"], &plain),
        ("a quoted field, --threads 1", &["--threads", "1"], &quoted),
        ("a quoted field, --threads 2", &["--threads", "2"], &quoted),
        ("a quoted field, default threads", &[], &quoted),
        ("quoted fields from the first row, --threads 2", &["--threads", "2"], all_quoted),
        ("a quoted field over two lines, --threads 1", &["--threads", "1"], spanning),
        ("a quoted field over two lines, --threads 2", &["--threads", "2"], spanning),
        ("wide, --threads 2", &["--wide", "--threads", "2"], wide),
        ("JSON lines, --threads 1", &["--threads", "1"], json),
        ("JSON lines, --threads 2", &["--threads", "2"], json),
    ];
    for (case, flags, rows) in cases {
        let (input, rx, mut child, _dir) = crate::idle::silent_pipe(flags, rows);
        for row in ["timestamp,asset,point,value", "2024-01-01T00:00:00.000Z,m1,Max,1"] {
            let line = rx.recv_timeout(DEADLOCK).unwrap_or_else(|_| panic!("{case}: {row} was held back"));
            assert_eq!(line, row, "{case}");
        }
        drop(input);
        assert!(child.wait().unwrap().success(), "{case}");
        assert_eq!(rx.iter().collect::<Vec<_>>(), ["2024-01-01T00:00:01.000Z,m1,Max,5"], "{case}");
    }
}

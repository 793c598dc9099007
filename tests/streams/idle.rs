//! `--idle-timeout`: the engine side is driven by hand (a silent series' watermark moved by an
//! explicit advance closes its windows and merge ticks, as a reading would); the command line side
//! through a live pipe, where one meter keeps sending and the other falls silent.

use meterflow::engine::names::Names;
use meterflow::engine::{Dropped, EngineOptions, NO_MODEL, Pipeline, Point, Reading, Sink, Value};
use meterflow::job::load_sources;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

#[derive(Default)]
struct Collect(Vec<(String, i64, Value)>);

struct Named<'a>(&'a mut Collect, &'a Names);

impl Sink for Named<'_> {
    fn point(&mut self, p: &Point) {
        self.0.0.push((
            format!("{} {}", self.1.assets.name(p.asset), self.1.points.name(p.point)),
            p.ts,
            p.value.clone(),
        ));
    }
    fn dropped(&mut self, _: &Dropped) {}
}

const WINDOW: &str = "name: w\ntemplate: time_window_aggregation\nmodel: M\nlatency: 0s\npolicies:\n  \
                      - {input: R, aggregation: max, window_size: 10m, output: Max}\n";
const MERGE: &str = "name: m\ntemplate: multi_point_merging\nmodel: M\nlatency: 0s\ntrigger: {mode: frequency, every: 10m}\n\
                     policies:\n  - {output: Twice, logic: \"${R} * 2\"}\n";

const MIN: i64 = 60_000;

#[test]
fn an_explicit_advance_closes_a_silent_series_windows_and_ticks() {
    let jobs = load_sources(vec![("w.yaml".into(), WINDOW.into()), ("m.yaml".into(), MERGE.into())]).unwrap();
    let mut names = Names::default();
    let mut pipeline = Pipeline::new(jobs, &mut names, EngineOptions::default());
    let r = names.points.intern("R");
    let (m1, m2) = (names.assets.intern("m1"), names.assets.intern("m2"));
    let mut out = Collect::default();
    for (asset, ts, value) in [(m1, MIN, 3.0), (m2, 2 * MIN, 5.0), (m2, 10 * MIN, 6.0), (m1, 25 * MIN, 4.0)] {
        pipeline
            .push(Reading { asset, point: r, model: NO_MODEL, ts, value, quality: 0 }, &mut Named(&mut out, &names));
    }
    let before: Vec<String> = out.0.iter().map(|(k, ts, _)| format!("{k} {ts}")).collect();
    // m1 moved on to 00:25: its window 00:00 is final. m2's reading at 00:10 closed its window
    // 00:00; its window 00:10 and its tick 00:10 wait for its watermark to pass 00:10.
    assert!(before.contains(&"m1 Max 0".to_string()), "{before:?}");
    assert!(before.contains(&"m2 Max 0".to_string()), "{before:?}");
    assert!(!before.contains(&format!("m2 Max {}", 10 * MIN)) && !before.iter().any(|k| k.starts_with("m2 Twice")));
    // m2 silent since 00:10; the edge hands in 10 minutes: its watermark 00:20 closes window 00:10
    // (max 6) and makes its tick 00:10 final (6 * 2).
    let mut after = Collect::default();
    pipeline.advance_idle(m2, r, 10 * MIN, &mut Named(&mut after, &names));
    assert_eq!(
        after.0,
        vec![
            ("m2 Max".to_string(), 10 * MIN, Value::Number(6.0)),
            ("m2 Twice".to_string(), 10 * MIN, Value::Number(12.0))
        ]
    );
    // An advance for a series never seen, or of zero, does nothing.
    let mut none = Collect::default();
    let m3 = names.assets.intern("m3");
    pipeline.advance_idle(m3, r, 60 * MIN, &mut Named(&mut none, &names));
    pipeline.advance_idle(m1, r, 0, &mut Named(&mut none, &names));
    assert!(none.0.is_empty());
}

/// The points (timestamp, value) a sink met, and the rows it saw dropped.
#[derive(Default)]
struct Seen(Vec<(i64, Value)>, usize);

impl Sink for Seen {
    fn point(&mut self, p: &Point) {
        self.0.push((p.ts, p.value.clone()));
    }
    fn dropped(&mut self, _: &Dropped) {
        self.1 += 1;
    }
}

/// Under `max_future_skew: 5m`, m1 sends R = 3 at 00:01 and 7 at 00:30, which is held back as more
/// than 5 minutes ahead of its watermark 00:01; m1 falls silent and the idle clock moves its
/// watermark `idle` minutes on; then m1 sends 2 at minute `last` and the input ends. What `job`
/// wrote up to the end of the advance, and after it, and the readings it counts as read.
fn held_back_through_silence(job: &str, idle: i64, last: i64) -> (Seen, Seen, u64) {
    let jobs = load_sources(vec![("job.yaml".into(), job.into())]).unwrap();
    let mut names = Names::default();
    let options = EngineOptions { max_future_skew: Some(5 * MIN), ..EngineOptions::default() };
    let mut pipeline = Pipeline::new(jobs, &mut names, options);
    let r = names.points.intern("R");
    let m1 = names.assets.intern("m1");
    let reading = |ts: i64, value: f64| Reading { asset: m1, point: r, model: NO_MODEL, ts, value, quality: 0 };
    let (mut advanced, mut after) = (Seen::default(), Seen::default());
    pipeline.push(reading(MIN, 3.0), &mut advanced);
    pipeline.push(reading(30 * MIN, 7.0), &mut advanced);
    pipeline.advance_idle(m1, r, idle * MIN, &mut advanced);
    pipeline.push(reading(last * MIN, 2.0), &mut after);
    pipeline.finish(&mut after);
    let read = pipeline.stats()[0].rows_read;
    (advanced, after, read)
}

/// A window job (max per 10 minutes), the idle clock 40 minutes on, to 00:41, within 5 minutes of
/// the held reading (00:41 >= 00:25): it is taken before the advance closes the windows, so window
/// 00:00 (max 3) and window 00:30 (max 7) are written, as a replay from a file writes them once the
/// reading at 00:42 confirms it; that reading is window 00:40's (2), and nothing is dropped.
/// Before, the advance closed window 00:30 without it, and the reading at 00:42, within 5 minutes
/// of the moved watermark, dropped it as a glitch (exit 0, a window missing).
#[test]
fn an_idle_advance_takes_the_reading_held_back_once_it_is_no_longer_far_ahead() {
    let (advanced, after, read) = held_back_through_silence(WINDOW, 40, 42);
    assert_eq!(advanced.0, vec![(0, Value::Number(3.0)), (30 * MIN, Value::Number(7.0))]);
    assert_eq!(after.0, vec![(40 * MIN, Value::Number(2.0))]);
    assert_eq!((advanced.1, after.1, read), (0, 0, 3), "nothing dropped, three readings read");
}

/// The idle clock 27 minutes on, to 00:28: within 5 minutes of the held reading (00:28 >= 00:25)
/// but before it. Taken, it moves the watermark to its own time, 00:30, so the reading at 00:34 is
/// within the skew (00:34 <= 00:35) and kept: window 00:00 (3) at the advance, window 00:30 (max of
/// 7 and 2) at the end, nothing dropped. With the watermark left at 00:28, the reading at 00:34
/// was more than 5 minutes ahead, held back and dropped at the end of input.
#[test]
fn a_reading_taken_on_an_idle_advance_moves_the_watermark_to_its_time() {
    let (advanced, after, read) = held_back_through_silence(WINDOW, 27, 34);
    assert_eq!(advanced.0, vec![(0, Value::Number(3.0))]);
    assert_eq!(after.0, vec![(30 * MIN, Value::Number(7.0))]);
    assert_eq!((advanced.1, after.1, read), (0, 0, 3), "nothing dropped, three readings read");
}

/// A merge job (`Twice = R * 2` every 10 minutes), the idle clock 40 minutes on: the held reading
/// is stored at the old watermark, so the advance writes no tick (a merge's ticks end at the
/// latest reading's watermark); the reading at 00:42 then makes the ticks 00:10 and 00:20 read 3
/// (6) and 00:30 and 00:40 read 7 (14), and drops nothing, as a replay from a file writes them.
/// Before, that reading dropped the held one as a glitch and every tick read 3. The idle clock 27
/// minutes on (to 00:28, before the held reading): the reading at 00:34 is kept, and the ticks
/// 00:10, 00:20 and 00:30 read 3, 3 and 7.
#[test]
fn an_idle_advance_gives_a_merge_the_reading_held_back_once_it_is_no_longer_far_ahead() {
    // Two policies reading R each take the held reading, which is still one reading read.
    let two = MERGE.replace("policies:\n", "policies:\n  - {output: Thrice, logic: \"${R} * 3\"}\n");
    let (_, after, read) = held_back_through_silence(&two, 27, 34);
    assert_eq!((after.0.len(), after.1, read), (6, 0, 3));
    let twice = |t: i64, v: f64| (t * MIN, Value::Number(v));
    let (advanced, after, read) = held_back_through_silence(MERGE, 40, 42);
    assert!(advanced.0.is_empty(), "{:?}", advanced.0);
    assert_eq!(after.0, vec![twice(10, 6.0), twice(20, 6.0), twice(30, 14.0), twice(40, 14.0)]);
    assert_eq!((advanced.1, after.1, read), (0, 0, 3), "nothing dropped, three readings read");
    let (advanced, after, read) = held_back_through_silence(MERGE, 27, 34);
    assert!(advanced.0.is_empty(), "{:?}", advanced.0);
    assert_eq!(after.0, vec![twice(10, 6.0), twice(20, 6.0), twice(30, 14.0)]);
    assert_eq!((advanced.1, after.1, read), (0, 0, 3), "nothing dropped, three readings read");
}

/// One-second windows: m2 sends one reading at 0.5 s and falls silent while m1 keeps sending; with
/// `--idle-timeout 200ms` m2's watermark follows wall-clock time and its window closes.
#[test]
fn a_silent_meter_window_closes_on_a_live_pipe() {
    let rows = "timestamp,asset,point,value\n0,m1,R,1\n500,m2,R,7\n";
    let stats = tempfile::tempdir().unwrap();
    let stats_json = stats.path().join("stats.json");
    let flags = ["--idle-timeout", "200ms", "--time-format", "epoch_ms", "--stats-json", stats_json.to_str().unwrap()];
    let (mut input, rx, mut child, _dir) = silent_pipe(&flags, rows);
    // m1 sends every 50 ms of wall-clock time but stays inside its first window (event time
    // 100 ms, 101 ms, ...), so only m2's silence can close a window.
    let mut found = false;
    for i in 0..400 {
        input.write_all(format!("{},m1,R,1\n", 100 + i).as_bytes()).unwrap();
        input.flush().unwrap();
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(50))
            && line.contains("m2")
        {
            assert_eq!(line, "1970-01-01T00:00:00.000Z,m2,Max,7");
            found = true;
            break;
        }
    }
    assert!(found, "m2's window never closed");
    drop(input);
    assert!(child.wait().unwrap().success());
    // The figures say the output hangs on wall-clock time: m2's window closed by an advance.
    let figures: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&stats_json).unwrap()).unwrap();
    assert!(figures["idle_advances"].as_u64().is_some_and(|n| n >= 1), "{figures}");
}

/// On a file, wall-clock time measures the replay, not a meter's silence: refused.
#[test]
fn idle_timeout_on_a_file_is_refused() {
    let out = crate::support::meterflow()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "jobs/", "--input", "samples/meters.csv", "--idle-timeout", "1s", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--idle-timeout applies to live input"));
    assert!(out.stdout.is_empty(), "nothing written");
}

/// Starts a run of one-second windows on a live pipe with `flags`, writes `rows` (as a rule one
/// reading of m1 at 2024-01-01 00:00:00, value 1, and one of m2 at 00:00:00.5, value 7), and
/// leaves the pipe open and silent: returns the input, the lines of stdout as they come, the process, and
/// the directory of the job file.
pub(crate) fn silent_pipe(
    flags: &[&str],
    rows: &str,
) -> (std::process::ChildStdin, mpsc::Receiver<String>, std::process::Child, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("w.yaml");
    std::fs::write(
        &job,
        "name: w\ntemplate: time_window_aggregation\nmodel: M\nlatency: 0s\npolicies:\n  \
         - {input: R, aggregation: max, window_size: 1s, output: Max}\n",
    )
    .unwrap();
    let mut child = crate::support::meterflow()
        .args(["run", job.to_str().unwrap(), "-q"])
        .args(flags)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    input.write_all(rows.as_bytes()).unwrap();
    input.flush().unwrap();
    (input, rx, child, dir)
}

/// Each meter's one reading is its window's max (worked by hand: window 00:00:00 to 00:00:01).
const M1_ROW: &str = "2024-01-01T00:00:00.000Z,m1,Max,1";
const M2_ROW: &str = "2024-01-01T00:00:00.000Z,m2,Max,7";

const CSV: &str = "timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,R,1\n2024-01-01T00:00:00.500Z,m2,R,7\n";

/// Every meter falls silent and the pipe stays open: with `--idle-timeout` the idle clock still
/// moves both watermarks, so both windows close and their rows reach stdout while the input is
/// still open. Whatever reads the input: the fast reader, on this thread or on worker threads;
/// the general reader, from the start (`--time-format`) or from a line the fast reader leaves to
/// it (a quoted field); JSON lines.
#[test]
fn every_meter_silent_on_an_open_pipe_still_closes_the_windows() {
    let epoch = "timestamp,asset,point,value\n1704067200000,m1,R,1\n1704067200500,m2,R,7\n";
    let quoted = "timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,R,1\n\"2024-01-01T00:00:00.500Z\",m2,R,7\n";
    let json = "{\"timestamp\":\"2024-01-01T00:00:00Z\",\"asset\":\"m1\",\"point\":\"R\",\"value\":1}\n\
                {\"timestamp\":\"2024-01-01T00:00:00.5Z\",\"asset\":\"m2\",\"point\":\"R\",\"value\":7}\n";
    // The last line before the silence need not give a reading: a bad row skipped.
    let skip: &[&str] = &["--on-bad-row", "skip"];
    let epoch_skip: &[&str] = &["--time-format", "epoch_ms", "--on-bad-row", "skip"];
    let (csv_bad, epoch_bad, json_bad) =
        (format!("{CSV}oops,m2,R,1\n"), format!("{epoch}oops,m2,R,1\n"), format!("{json}{{oops\n"));
    let wide = "timestamp,asset,R\n2024-01-01T00:00:00Z,m1,1\n2024-01-01T00:00:00.500Z,m2,7\n";
    let cases: [(&str, &[&str], &str); 9] = [
        ("fast reader, --threads 1", &["--threads", "1"], CSV),
        ("fast reader, --threads 2", &["--threads", "2"], CSV),
        ("fast reader, a bad row skipped last", skip, &csv_bad),
        ("general reader", &["--time-format", "epoch_ms"], epoch),
        ("general reader, a bad row skipped last", epoch_skip, &epoch_bad),
        ("general reader after the fast one", &[], quoted),
        ("general reader, wide", &["--wide"], wide),
        ("JSON lines", &[], json),
        ("JSON lines, a bad line skipped last", skip, &json_bad),
    ];
    for (case, flags, rows) in cases {
        let flags = [&["--idle-timeout", "300ms"], flags].concat();
        let (input, rx, mut child, _dir) = silent_pipe(&flags, rows);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut rows = Vec::new();
        while !(rows.iter().any(|r| r == M1_ROW) && rows.iter().any(|r| r == M2_ROW)) {
            match rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
                Ok(line) => rows.push(line),
                Err(_) => panic!(
                    "{case}: the windows of the silent meters were not written within 10 s while the \
                     input stayed open; stdout so far: {rows:?}"
                ),
            }
        }
        drop(input);
        assert!(child.wait().unwrap().success());
        // The end of input writes nothing more: both windows were final already. (m2's window
        // closes first, 0.5 s of silence before m1's, unless both fall due in the same look.)
        rows.extend(rx.iter());
        rows[1..].sort();
        assert_eq!(rows, ["timestamp,asset,point,value", M1_ROW, M2_ROW], "{case}");
    }
}

/// Without `--idle-timeout` a silent input moves nothing: the rows come with the end of input.
#[test]
fn without_idle_timeout_a_silent_pipe_writes_its_windows_at_the_end_of_input() {
    let (input, rx, mut child, _dir) = silent_pipe(&[], CSV);
    let mut early = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(1)) {
        early.push(line);
    }
    assert_eq!(early, ["timestamp,asset,point,value"], "no window may close while the input is open");
    drop(input);
    assert!(child.wait().unwrap().success());
    let rest: Vec<String> = rx.iter().collect();
    assert_eq!(rest, [M1_ROW, M2_ROW]);
}

/// A record is read once the whole of it has arrived, and meanwhile the clock goes on: the last
/// record before the silence has a field quoted over two lines, of which only the first has
/// arrived. m1's and m2's windows (see `silent_pipe`) still close, and their rows leave while the
/// record waits for its end; once it ends, its reading (m1 at 01:00, an hour of event time past
/// anything the clock can have moved m1 to) is read, and its window closes at the end of input.
#[test]
fn a_record_cut_short_in_a_quoted_field_still_lets_the_clock_close_windows() {
    let rows = "timestamp,asset,point,value,note\n2024-01-01T00:00:00Z,m1,R,1,a\n\
                2024-01-01T00:00:00.500Z,m2,R,7,b\n2024-01-01T01:00:00Z,m1,R,5,\"two\n";
    for threads in ["1", "2"] {
        let (mut input, rx, mut child, _dir) = silent_pipe(&["--idle-timeout", "300ms", "--threads", threads], rows);
        let mut written = vec![];
        while !(written.iter().any(|r| r == M1_ROW) && written.iter().any(|r| r == M2_ROW)) {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("--threads {threads}: no window closed while a record waited; {written:?}"));
            written.push(line);
        }
        input.write_all(b"lines\"\n").unwrap();
        drop(input);
        assert!(child.wait().unwrap().success());
        written.extend(rx.iter());
        written[1..3].sort();
        assert_eq!(
            written,
            ["timestamp,asset,point,value", M1_ROW, M2_ROW, "2024-01-01T01:00:00.000Z,m1,Max,5"],
            "--threads {threads}"
        );
    }
}

/// `--interval-end auto` decides on the rows it has once the input falls silent, when a series has
/// two readings among them, instead of waiting for its thousand rows. m1's readings stamped
/// 00:00:01 and 00:00:02 step by one second: each moves back one second, to the window 00:00:00
/// (max 1) and 00:00:01 (max 2). The second closes the first at once; m1 then falls silent, and
/// the clock closes the second. m2's one reading at 00:00:01.5 (its interval 00:00:00.5 to
/// 00:00:01.5) is in window 00:00:00 of its own and closes the same way.
#[test]
fn interval_end_auto_decides_on_what_it_has_when_the_input_falls_silent() {
    let rows = "timestamp,asset,point,value\n2024-01-01T00:00:01Z,m1,R,1\n2024-01-01T00:00:01.500Z,m2,R,7\n\
                2024-01-01T00:00:02Z,m1,R,2\n";
    let stats = tempfile::tempdir().unwrap();
    let stats_json = stats.path().join("stats.json");
    let flags = ["--idle-timeout", "300ms", "--interval-end", "auto", "--stats-json", stats_json.to_str().unwrap()];
    let (input, rx, mut child, _dir) = silent_pipe(&flags, rows);
    let expected = [M1_ROW, M2_ROW, "2024-01-01T00:00:01.000Z,m1,Max,2"];
    let mut written = vec![];
    while !expected.iter().all(|row| written.iter().any(|r| r == row)) {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the sample held the rows while the input was silent; {written:?}"));
        written.push(line);
    }
    drop(input);
    assert!(child.wait().unwrap().success());
    written.extend(rx.iter());
    written[1..].sort();
    assert_eq!(written, ["timestamp,asset,point,value", M1_ROW, M2_ROW, expected[2]]);
    // It says what it decided on: the 3 rows at hand, m1's one step of 1s (m2 has one reading).
    let stats: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats_json).unwrap()).unwrap();
    let choice = &stats["interval_end_auto"][0];
    assert_eq!(choice["length"], "1s");
    assert_eq!(
        (choice["rows"].as_u64(), choice["series"].as_u64(), choice["steps"].as_u64()),
        (Some(3), Some(1), Some(1))
    );
    assert_eq!(choice["decided_when_silent"], true);
}

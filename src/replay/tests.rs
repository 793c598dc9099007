//! The replay's own rules: a stop between rows, shards, and runs of readings taken from the
//! fast reader's chunks.

use super::*;
use crate::job::load_sources;
use std::io::Cursor;

/// Asks for a stop as the first reading reaches the jobs, and counts the readings.
struct StopAtFirst {
    stop: Stop,
    readings: usize,
}

impl Output for StopAtFirst {
    fn input(&mut self, _: &Reading, _: &Names) {
        self.readings += 1;
        self.stop.request(2);
    }
}

#[test]
fn a_stop_waits_until_the_jobs_have_every_reading_of_the_rows_read() {
    let job = "name: j\ntemplate: time_window_aggregation\nmodel: M\nlatency: 0s\npolicies:\n  - input: A\n    \
               aggregation: max\n    window_size: 10m\n    output: MaxA\n  - input: B\n    aggregation: max\n    \
               window_size: 10m\n    output: MaxB\n";
    let jobs = load_sources(vec![("j.yaml".into(), job.as_bytes().to_vec())]).unwrap();
    let input = InputOptions::from_settings(&InputSettings { wide: true, ..InputSettings::default() }).unwrap();
    let stop = input.stop.clone();
    let bad_rows = BadRows::new(input.on_bad_row, None).unwrap();
    let mut replay = Replay::new(jobs, EngineOptions::default(), input, bad_rows);
    let text = "timestamp,asset,A,B\n2024-01-01T00:00:00Z,m1,1,2\n2024-01-01T00:01:00Z,m1,3,4\n";
    let mut output = StopAtFirst { stop, readings: 0 };
    replay.read("w.csv", Box::new(Cursor::new(text.as_bytes().to_vec())), &mut output).unwrap();
    // The first row's two readings, and not the second row.
    assert_eq!(output.readings, 2);
    assert_eq!(replay.counts.rows, 1);
    assert_eq!(replay.stopped_in, Some(StoppedIn { input: "w.csv".into(), rows: 1 }));
    assert!(replay.balances().iter().all(Balance::holds));
}

/// Asks for a stop at the `at`-th reading, and keeps every point and late row.
struct StopAt {
    stop: Stop,
    at: usize,
    readings: usize,
    rows: Vec<String>,
}

impl Output for StopAt {
    fn input(&mut self, _: &Reading, _: &Names) {
        self.readings += 1;
        if self.readings == self.at {
            self.stop.request(2);
        }
    }

    fn point(&mut self, point: &Point, _: &Names) -> io::Result<()> {
        self.rows.push(format!("{point:?}"));
        Ok(())
    }

    fn dropped(&mut self, dropped: &Dropped, _: &Names) -> io::Result<()> {
        self.rows.push(format!("{dropped:?}"));
        Ok(())
    }
}

#[test]
fn a_stop_on_shards_flushes_what_the_jobs_read_as_one_pipeline_does() {
    let mut text = String::from("timestamp,asset,point,value\n");
    for minute in 0..40 {
        for asset in 0..5 {
            text.push_str(&format!("2024-01-01T00:{minute:02}:{:02}Z,m{asset},A,{}\n", asset * 7, minute * asset));
        }
    }
    let one = run_max(&text, 2, 1, Some(123));
    // Stopped after the row of the 123rd reading (minutes 0-23 of the 5 meters, and 3 readings
    // of minute 24), its windows flushed as at the end of input: 00:00, 00:10 and 00:20 of each
    // meter, the largest reading of meter 4 in the first being 4 x 9.
    assert_eq!(one.1, 123);
    assert_eq!(one.2, Some(StoppedIn { input: "in.csv".into(), rows: 123 }));
    assert_eq!(one.0.len(), 15, "{:?}", one.0);
    assert!(one.0[4].contains("asset: 4") && one.0[4].contains("Number(36.0)"), "{:?}", one.0);
    assert_eq!(run_max(&text, 2, 3, Some(123)), one);
}

/// What [`run_max`] gives.
type Run = (Vec<String>, u64, Option<StoppedIn>, crate::engine::stats::JobStats);

/// A max job over 10-minute windows, and the run of it on `text` with `threads` parsing threads
/// and `shards` shards, stopped at the `stop_at`-th reading if given: its rows, input rows, where
/// the stop ended the input, and the job's figures.
fn run_max(text: &str, threads: usize, shards: usize, stop_at: Option<usize>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("j.yaml");
    std::fs::write(
        &job,
        "name: j\ntemplate: time_window_aggregation\nmodel: M\nlatency: 1m\npolicies:\n  - input: A\n    \
         aggregation: max\n    window_size: 10m\n    output: MaxA\n",
    )
    .unwrap();
    let (jobs, sources) = crate::job::load_jobs_and_sources(std::slice::from_ref(&job)).unwrap();
    let input = InputOptions::from_settings(&InputSettings::default()).unwrap();
    let at = stop_at.unwrap_or(usize::MAX);
    let mut output = StopAt { stop: input.stop.clone(), at, readings: 0, rows: Vec::new() };
    let bad_rows = BadRows::new(input.on_bad_row, None).unwrap();
    let options = EngineOptions::default();
    let replay = Replay::new(jobs, options, input, bad_rows).with_threads(threads);
    let mut replay = replay.with_shards(shards, &sources, options).unwrap();
    replay.read("in.csv", Box::new(Cursor::new(text.as_bytes().to_vec())), &mut output).unwrap();
    replay.finish(&mut output).unwrap();
    assert!(replay.balances().iter().all(Balance::holds));
    let mut stats = replay.pipeline.stats()[0].clone();
    // Each run writes its job into a temporary folder of its own.
    stats.file.clear();
    (output.rows, replay.counts.rows, replay.stopped_in, stats)
}

/// `lines` rows of one second each, 31 bytes a line, over 50 meters, and from line `late` on,
/// after every tenth line, one more of a meter no earlier line names.
fn meter_lines(header: &str, lines: usize, late: usize) -> String {
    let mut text = format!("{header}\n");
    for i in 0..lines {
        let stamp = format!("2024-01-01T{:02}:{:02}:{:02}Z", i / 3600, i / 60 % 60, i % 60);
        text += &format!("{stamp},m{:02},A,{:03}\n", i % 50, i * 7 % 1000);
        if i >= late && i % 10 == 0 {
            text += &format!("{stamp},new,A,{:03}\n", i % 1000);
        }
    }
    text
}

/// Readings handed to the jobs as runs of each parsed chunk give the rows the general reader's
/// readings give, one by one: meters whose readings span chunk boundaries, a meter first seen
/// in a later chunk, and the general reader taking over after some chunks (at a quoted field),
/// on one and two parsing threads, one pipeline and three shards.
#[test]
fn runs_of_chunks_give_what_the_general_reader_gives() {
    let plain = meter_lines("timestamp,asset,point,value", 60_000, 40_000);
    // A quoted header sends the whole input to the general reader.
    let general = run_max(&meter_lines("\"timestamp\",asset,point,value", 60_000, 40_000), 1, 1, None);
    assert_eq!(general.1, 62_000);
    // 50 meters over 1000 minutes (100 windows), the new meter from minute 666:40 (34 windows).
    assert_eq!(general.0.len(), 50 * 100 + 34, "{:?}", &general.0[..3]);
    let mut taken_over = plain.clone();
    let at = taken_over.find("2024-01-01T13:53:20Z,m00").unwrap();
    taken_over.insert_str(at + 21, "\"m00\"");
    taken_over.replace_range(at + 26..at + 29, "");
    for threads in [1, 2] {
        for shards in [1, 3] {
            assert_eq!(run_max(&plain, threads, shards, None), general, "{threads} threads, {shards} shards");
            let over = run_max(&taken_over, threads, shards, None);
            assert_eq!(over, general, "taken over, {threads} threads, {shards} shards");
        }
    }
}

/// A stop asked for by the reading just before, at or just after the end of the first parsed
/// chunk (512 KiB, about 16,900 lines of 31 bytes) ends the input right after that reading's row,
/// on one pipeline and on shards, with the rows of every reading read.
#[test]
fn a_stop_near_the_end_of_a_chunk_waits_for_that_readings_row_only() {
    let text = meter_lines("timestamp,asset,point,value", 40_000, 20_000);
    let chunk_lines = (1 << 19) / 31;
    for at in [chunk_lines - 1, chunk_lines, chunk_lines + 1, chunk_lines + 2] {
        let one = run_max(&text, 2, 1, Some(at));
        assert_eq!((one.1, one.2.clone()), (at as u64, Some(StoppedIn { input: "in.csv".into(), rows: at as u64 })));
        // The windows of the 50 meters up to the stop, each flushed at the end.
        assert_eq!(one.0.len(), 50 * at.div_ceil(600), "stopped at {at}");
        assert_eq!(run_max(&text, 2, 3, Some(at)), one, "stopped at {at}, 3 shards");
        assert_eq!(run_max(&text, 1, 1, Some(at)), one, "stopped at {at}, 1 thread");
    }
}

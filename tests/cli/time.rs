//! Time as meter users live it, through the binary: merges tick on local days in any zone, in
//! `updates` mode too (where a late reading adds ticks before those written), and a run cut in
//! two by `--state` over local ticks, local hours and months writes what one run writes; a meter
//! back from an outage keeps its clock under `max_future_skew` in a merge as in a window job.

use std::path::Path;
use std::process::Output;

fn meterflow(dir: &Path, args: &[&str]) -> Output {
    crate::support::meterflow().current_dir(dir).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Daily import and export sums and their net, all on local days in `zone`.
fn daily_jobs(dir: &Path, zone: &str) {
    let window = format!(
        "name: daily\ntemplate: time_window_aggregation\nmodel: M\ntimezone: {zone}\nlatency: 2d\npolicies:\n  - input: Import\n    \
         aggregation: sum\n    window_size: 1d\n    output: ImportDay\n  - input: Export\n    aggregation: sum\n    \
         window_size: 1d\n    output: ExportDay\n"
    );
    let merge = format!(
        "name: net\ntemplate: multi_point_merging\nmodel: M\ntimezone: {zone}\nlatency: 1d\ntrigger:\n  mode: frequency\n  \
         every: 1d\npolicies:\n  - output: NetDay\n    logic: \"${{M::ImportDay}} - ${{M::ExportDay}}\"\n"
    );
    std::fs::write(dir.join("daily.yaml"), window).unwrap();
    std::fs::write(dir.join("net.yaml"), merge).unwrap();
}

/// The rows of `point` in CSV output, as (timestamp, value).
fn rows(csv: &str, point: &str) -> Vec<(String, String)> {
    csv.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.get(2) == Some(&point)).then(|| (f[0].to_string(), f[3].to_string()))
        })
        .collect()
}

/// The New York report: the net of 1 July was stamped 2 July. Local midnight in New York
/// (EDT, UTC-4) is 04:00Z: 1 July's net is stamped 2024-07-01T04:00Z, 2 July's 2024-07-02T04:00Z.
#[test]
fn new_york_days_net_on_their_own_dates() {
    let dir = tempfile::tempdir().unwrap();
    daily_jobs(dir.path(), "America/New_York");
    let input = "timestamp,asset,point,value\n\
                 2024-07-01T22:00:00-04:00,m1,Import,5\n2024-07-01T22:00:00-04:00,m1,Export,2\n\
                 2024-07-02T22:00:00-04:00,m1,Import,7\n2024-07-02T22:00:00-04:00,m1,Export,3\n";
    std::fs::write(dir.path().join("in.csv"), input).unwrap();
    let out = stdout(&meterflow(dir.path(), &["run", "daily.yaml", "net.yaml", "--input", "in.csv", "-q"]));
    let expected = [("2024-07-01T04:00:00.000Z", "3"), ("2024-07-02T04:00:00.000Z", "4")];
    let expected: Vec<(String, String)> = expected.iter().map(|(t, v)| (t.to_string(), v.to_string())).collect();
    assert_eq!(rows(&out, "NetDay"), expected);
}

/// In `updates` mode a reading earlier than every tick written adds ticks before them (`late`
/// rows); over local days the ticks before stay local midnights, and the last row per key equals
/// the `final` row.
#[test]
fn updates_mode_backfills_local_ticks() {
    let dir = tempfile::tempdir().unwrap();
    daily_jobs(dir.path(), "Europe/Dublin");
    // 3 and 4 March close 3 March's windows, whose net is written; then readings of 3 March
    // (a revision) and of 2 March (a window opened late, within the windows' 2d latency: its rows
    // reach the merge after tick 3 March was written, so tick 2 March is added before it).
    let input = "timestamp,asset,point,value\n\
                 2024-03-03T10:00:00Z,m1,Import,5\n2024-03-03T10:00:00Z,m1,Export,1\n\
                 2024-03-04T10:00:00Z,m1,Import,6\n2024-03-04T10:00:00Z,m1,Export,2\n\
                 2024-03-03T20:00:00Z,m1,Import,1\n2024-03-03T20:00:00Z,m1,Export,1\n\
                 2024-03-02T20:00:00Z,m1,Import,3\n2024-03-02T20:00:00Z,m1,Export,1\n\
                 2024-03-31T12:00:00Z,m1,Import,9\n2024-03-31T12:00:00Z,m1,Export,4\n";
    std::fs::write(dir.path().join("in.csv"), input).unwrap();
    let finals = stdout(&meterflow(dir.path(), &["run", "daily.yaml", "net.yaml", "--input", "in.csv", "-q"]));
    let updates = stdout(&meterflow(
        dir.path(),
        &["run", "daily.yaml", "net.yaml", "--input", "in.csv", "-q", "--emit", "updates"],
    ));
    let final_net = rows(&finals, "NetDay");
    let mut last: Vec<(String, String)> = Vec::new();
    for (t, v) in rows(&updates, "NetDay") {
        match last.iter_mut().find(|(k, _)| *k == t) {
            Some(entry) => entry.1 = v,
            None => last.push((t, v)),
        }
    }
    last.sort();
    assert_eq!(last, final_net);
    // Local midnights: GMT until 31 March, whose own midnight is still 00:00Z.
    let stamps: Vec<&str> = final_net.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(stamps.first(), Some(&"2024-03-02T00:00:00.000Z"));
    assert_eq!(stamps.last(), Some(&"2024-03-31T00:00:00.000Z"));
    let net = |day: &str| final_net.iter().find(|(t, _)| t == day).map(|(_, v)| v.clone());
    assert_eq!(net("2024-03-02T00:00:00.000Z").as_deref(), Some("2"));
    assert_eq!(net("2024-03-03T00:00:00.000Z").as_deref(), Some("4"));
    assert_eq!(net("2024-03-31T00:00:00.000Z").as_deref(), Some("5"));
    assert!(rows(&updates, "NetDay").iter().any(|(t, _)| t == "2024-03-02T00:00:00.000Z"), "tick 2 March backfilled");
}

/// A run cut in two by `--state` writes what one run writes, over local-day merge ticks, local
/// hours in Kolkata and calendar months.
#[test]
fn state_split_over_local_grids() {
    let dir = tempfile::tempdir().unwrap();
    daily_jobs(dir.path(), "Asia/Kolkata");
    let hours = "name: hours\ntemplate: time_window_aggregation\nmodel: M\ntimezone: Asia/Kolkata\nlatency: 2h\npolicies:\n  \
                 - input: Import\n    aggregation: sum\n    window_size: 1h\n    output: ImportHour\n  - input: Import\n    \
                 aggregation: max\n    window_size: 1mo\n    output: ImportMonthPeak\n";
    std::fs::write(dir.path().join("hours.yaml"), hours).unwrap();
    let mut lines = Vec::new();
    for k in 0..200i64 {
        let minutes = k * 47 + if k % 9 == 4 { -70 } else { 0 };
        let (day, rest) = (1 + minutes / 1440, minutes % 1440);
        for (point, value) in [("Import", k % 13), ("Export", k % 5)] {
            lines.push(format!("2024-01-{day:02}T{:02}:{:02}:00Z,m1,{point},{value}", rest / 60, rest % 60));
        }
    }
    let header = "timestamp,asset,point,value\n";
    let whole = format!("{header}{}\n", lines.join("\n"));
    std::fs::write(dir.path().join("all.csv"), &whole).unwrap();
    let cut = lines.len() / 2;
    std::fs::write(dir.path().join("a.csv"), format!("{header}{}\n", lines[..cut].join("\n"))).unwrap();
    std::fs::write(dir.path().join("b.csv"), format!("{header}{}\n", lines[cut..].join("\n"))).unwrap();
    let jobs = ["daily.yaml", "net.yaml", "hours.yaml"];
    let run = |extra: &[&str]| {
        let mut args = vec!["run"];
        args.extend(jobs);
        args.extend(extra);
        args.push("-q");
        stdout(&meterflow(dir.path(), &args))
    };
    let one = run(&["--input", "all.csv"]);
    let first = run(&["--input", "a.csv", "--state", "s.state"]);
    let second = run(&["--input", "b.csv", "--state", "s.state", "--finish"]);
    let body = |text: &str| text.split_once('\n').map_or(String::new(), |(_, rest)| rest.to_string());
    assert_eq!(format!("{}{}", body(&first), body(&second)), body(&one));
    assert!(rows(&one, "NetDay").len() > 3 && rows(&one, "ImportHour").len() > 100);
    // Kolkata hours start at :30 UTC.
    assert!(rows(&one, "ImportHour").iter().all(|(t, _)| &t[14..16] == "30"));
}

/// A merge operand back from an outage longer than `max_future_skew` keeps its clock: the next
/// reading confirms the jump, nothing is counted as too far ahead, and a late reading behind the
/// new watermark is dropped.
#[test]
fn merge_operand_back_from_an_outage() {
    let dir = tempfile::tempdir().unwrap();
    let merge = "name: double\ntemplate: multi_point_merging\nmodel: M\nmax_future_skew: 10m\ntrigger:\n  mode: frequency\n  \
                 every: 10m\npolicies:\n  - output: Double\n    logic: \"${M::R} * 2\"\n";
    std::fs::write(dir.path().join("m.yaml"), merge).unwrap();
    let input = "timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,R,1\n2024-01-01T00:05:00Z,m1,R,2\n\
                 2024-01-01T00:40:00Z,m1,R,3\n2024-01-01T00:41:00Z,m1,R,4\n2024-01-01T00:35:00Z,m1,R,9\n";
    std::fs::write(dir.path().join("in.csv"), input).unwrap();
    let out = meterflow(dir.path(), &["run", "m.yaml", "--input", "in.csv", "--stats-json", "-", "-o", "out.csv"]);
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let job = &stats["jobs"][0];
    assert_eq!(job["future_skewed"], 0, "the jump was confirmed");
    assert_eq!(job["late_dropped"], 1, "00:35 is behind the confirmed watermark 00:41");
    assert_eq!(job["final_watermark"], "2024-01-01T00:41:00.000Z");
    let written = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    // Ticks 00:00 .. 00:40 (up to the watermark 00:41): the latest value at or before each, doubled.
    let values: Vec<String> = rows(&written, "Double").into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, ["2", "4", "4", "4", "6"]);
}

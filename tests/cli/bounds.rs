//! Bounds on what hostile or broken input can cost: time linear in a header's width and a merge's
//! operands, memory bounded by `--max-line-bytes` and `--max-merge-series`, and no silent series
//! made by a byte-order mark. Each runs the real binary under the sandbox's time limit (see
//! `sandbox.rs`), so a quadratic cost fails the test by timing out; no test asserts a duration.

use crate::sandbox::{HEADER, merge_job, run, write};
use std::io::Write;

/// 200,000 columns of one wide row took 28 s (the check that no column has two roles compared
/// every column with every other); now a pass with a map.
#[test]
fn a_wide_header_of_200000_columns_is_read_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let n = 200_000;
    let names: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
    let input = format!("timestamp,{}\n2024-01-01T00:00:00Z,{}\n", names.join(","), vec!["1"; n].join(","));
    write(dir.path(), "wide.csv", input);
    write(dir.path(), "m.yaml", merge_job("${M::p199999}"));
    let out = run(dir.path(), &["run", "m.yaml", "--input", "wide.csv", "--wide", "--asset", "a"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, HEADER);
    assert!(out.stderr.contains("1 row read from 1 input (200000 readings"), "{}", out.stderr);
}

/// A merge of 40,000 operands (a balanced sum, within the nesting limit) took 12.7 s to validate:
/// every operand was looked up in a list of the others, in the expression, its rhai scope and
/// the job's inputs.
#[test]
fn a_merge_of_40000_operands_validates_in_linear_time() {
    fn sum(lo: usize, hi: usize) -> String {
        match hi - lo {
            1 => format!("${{M::p{lo}}}"),
            _ => format!("({} + {})", sum(lo, (lo + hi) / 2), sum((lo + hi) / 2, hi)),
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let job = format!(
        "name: big\ntemplate: multi_point_merging\nmodel: M\ntrigger:\n  mode: frequency\n  every: 10m\npolicies:\n  \
         - output: Out\n    logic: \"{}\"\n",
        sum(0, 40_000)
    );
    write(dir.path(), "big.yaml", job);
    let out = run(dir.path(), &["validate", "big.yaml"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("big.yaml: ok: big (multi_point_merging, model M, every 10m): p0, p1,"));
    assert!(out.stdout.trim_end().ends_with("p39998, p39999"), "{}", &out.stdout[out.stdout.len() - 100..]);
}

/// A line of any length was held whole in memory (a 13 MB `.gz` of one 3 GB line aborted on
/// allocation); `--max-line-bytes` stops at the first line past it, decompressed or not.
#[test]
fn a_line_longer_than_max_line_bytes_stops_the_run_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", merge_job("${M::Reading}"));
    let long =
        format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:00:00Z,{},Reading,1\n", "x".repeat(500));
    write(dir.path(), "in.csv", &long);
    // A 64 MiB line compressed to a few kilobytes.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:00:00Z,").as_bytes()).unwrap();
    let block = vec![b'x'; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&block).unwrap();
    }
    write(dir.path(), "bomb.csv.gz", gz.finish().unwrap());
    for (file, threads) in [("in.csv", "1"), ("in.csv", "2"), ("bomb.csv.gz", "1")] {
        let out =
            run(dir.path(), &["run", "m.yaml", "--input", file, "--max-line-bytes", "100", "--threads", threads, "-q"]);
        assert_eq!(out.status, 1, "{file}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("{file}:3: a line longer than 100 bytes (--max-line-bytes)")),
            "{file}: {}",
            out.stderr
        );
    }
    let out = run(dir.path(), &["sniff", "in.csv", "--max-line-bytes", "100"]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(out.stderr.contains("in.csv:3: a line longer than 100 bytes (--max-line-bytes)"), "{}", out.stderr);
    // Lines within the cap read as without it.
    let out = run(dir.path(), &["run", "m.yaml", "--input", "in.csv", "--max-line-bytes", "600", "-q"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
}

/// A merge keeps each asset's operand values for the whole run: 3 million assets took 1.7 GB and
/// `--max-open-windows` did not count them. `--max-merge-series` stops the run naming the job.
#[test]
fn merge_state_is_bounded_by_max_merge_series() {
    let dir = tempfile::tempdir().unwrap();
    let job = "name: m\ntemplate: multi_point_merging\nmodel: M\ntrigger:\n  mode: point\npolicies:\n  - output: Out\n    \
               trigger_point: A\n    logic: '${M::A} + ${M::B}'\n";
    write(dir.path(), "m.yaml", job);
    let rows: String = (1..=3).map(|i| format!("2024-01-01T00:00:00Z,m{i},A,1\n")).collect();
    write(dir.path(), "in.csv", format!("{HEADER}{rows}"));
    // Two operand series per asset: the third asset makes six.
    let out = run(dir.path(), &["run", "m.yaml", "--input", "in.csv", "--max-merge-series", "5"]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "error: after 3 input rows: merge job `m` (m.yaml) holds 6 operand series, more than --max-merge-series 5 \
             allows"
        ),
        "{}",
        out.stderr
    );
    let out = run(dir.path(), &["run", "m.yaml", "--input", "in.csv", "--max-merge-series", "6", "-q"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
}

/// `m1` and `<BOM>m1` (a byte-order mark left inside a field when files are joined) were two
/// series, silently. A name holding one is a bad row now, in every reader.
#[test]
fn a_byte_order_mark_inside_a_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", merge_job("${M::Reading}"));
    let csv = format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:01:00Z,\u{feff}m1,Reading,2\n");
    write(dir.path(), "in.csv", &csv);
    write(dir.path(), "quoted.csv", csv.replace(",Reading,2", ",\"Reading\",2"));
    let json = "{\"timestamp\":\"2024-01-01T00:00:00Z\",\"asset\":\"m\u{feff}1\",\"point\":\"Reading\",\"value\":1}\n";
    write(dir.path(), "in.jsonl", json);
    let refused = "column 2 (asset): invalid asset \"\\u{feff}m1\": a name must not hold a byte-order mark (U+FEFF)";
    for (file, threads, message) in [
        ("in.csv", "1", format!("in.csv:3: {refused}")),
        ("in.csv", "2", format!("in.csv:3: {refused}")),
        ("quoted.csv", "1", format!("quoted.csv:3: {refused}")),
        (
            "in.jsonl",
            "1",
            "in.jsonl:1: asset: \"m\\u{feff}1\": a name must not hold a byte-order mark (U+FEFF)".to_string(),
        ),
    ] {
        let out = run(dir.path(), &["run", "m.yaml", "--input", file, "--threads", threads, "-q"]);
        assert_eq!(out.status, 1, "{file}: {}", out.stderr);
        assert!(out.stderr.contains(&message), "{file}: {}", out.stderr);
    }
    // Skipped as a bad row, the one series keeps its reading.
    let out = run(dir.path(), &["run", "m.yaml", "--input", "in.csv", "--on-bad-row", "skip", "-q"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, format!("{HEADER}2024-01-01T00:00:00.000Z,m1,Out,1\n"));
}

/// A control character in a name (a NUL of a damaged file, a terminal's escape, a line break in a
/// quoted field, U+0085 or a tab inside it) was taken: CSV output quoted it raw, line protocol and
/// PostgreSQL failed at the write, and the summary sent it to the terminal. Such a row is a bad
/// row now, naming file, line and field, in every reader (fast path, general reader, JSON lines),
/// for the asset, the point and the model alike; skipped, it is recorded and the rest is written.
#[test]
fn a_control_character_inside_a_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", merge_job("${M::Reading}"));
    let refused = "a name must not hold a control character (NUL, a line break, a tab, an escape, ...)";
    let good = "2024-01-01T00:00:00Z,m1,Reading,1\n";
    let cases = [
        ("nul.csv", "2024-01-01T00:01:00Z,m\0-1,Reading,2\n", r#"column 2 (asset): invalid asset "m\u{0}-1""#),
        (
            "esc.csv",
            "2024-01-01T00:01:00Z,m\u{1b}[31m1,Reading,2\n",
            r#"column 2 (asset): invalid asset "m\u{1b}[31m1""#,
        ),
        ("quoted.csv", "2024-01-01T00:01:00Z,\"m\n1\",Reading,2\n", r#"column 2 (asset): invalid asset "m\n1""#),
        ("c1.csv", "2024-01-01T00:01:00Z,m\u{85}1,Reading,2\n", r#"column 2 (asset): invalid asset "m\u{85}1""#),
        ("point.csv", "2024-01-01T00:01:00Z,m1,Read\ting,2\n", r#"column 3 (point): invalid point "Read\ting""#),
    ];
    for (file, row, message) in cases {
        write(dir.path(), file, format!("{HEADER}{good}{row}"));
        for threads in ["1", "2"] {
            let out = run(dir.path(), &["run", "m.yaml", "--input", file, "--threads", threads, "-q"]);
            assert_eq!(out.status, 1, "{file}: {}", out.stderr);
            assert!(out.stderr.contains(&format!("{file}:3: {message}: {refused}")), "{file}: {}", out.stderr);
        }
        let args = ["run", "m.yaml", "--input", file, "--on-bad-row", "skip", "--rejects", "rejects.csv", "-q"];
        let out = run(dir.path(), &args);
        assert_eq!(out.status, 0, "{file}: {}", out.stderr);
        assert_eq!(out.stdout, format!("{HEADER}2024-01-01T00:00:00.000Z,m1,Out,1\n"), "{file}");
        let rejects = std::fs::read_to_string(dir.path().join("rejects.csv")).unwrap();
        assert!(rejects.contains(&format!("{file},3,")), "{file}: {rejects}");
    }
    let json = "{\"timestamp\":\"2024-01-01T00:00:00Z\",\"asset\":\"m\\u00001\",\"point\":\"Reading\",\"value\":1}\n";
    write(dir.path(), "in.jsonl", json);
    let out = run(dir.path(), &["run", "m.yaml", "--input", "in.jsonl", "-q"]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(out.stderr.contains(&format!("in.jsonl:1: asset: \"m\\u{{0}}1\": {refused}")), "{}", out.stderr);
    // A model column, and a point column of a wide header, hold names too; a constant name as well.
    write(
        dir.path(),
        "model.csv",
        format!("timestamp,asset,point,value,model\n{}", "2024-01-01T00:00:00Z,m1,Reading,1,M\x07\n"),
    );
    let out = run(dir.path(), &["run", "m.yaml", "--input", "model.csv", "-q"]);
    assert!(
        out.stderr.contains(&format!("model.csv:2: column 5 (model): invalid model \"M\\u{{7}}\": {refused}")),
        "{}",
        out.stderr
    );
    write(dir.path(), "wide.csv", "timestamp,asset,Read\x00ing\n2024-01-01T00:00:00Z,m1,1\n");
    let out = run(dir.path(), &["run", "m.yaml", "--input", "wide.csv", "--wide", "-q"]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(out.stderr.contains(&format!("column 3 \"Read\\u{{0}}ing\": {refused}")), "{}", out.stderr);
    let out = run(dir.path(), &["run", "m.yaml", "--input", "nul.csv", "--asset", "m\x1b1", "-q"]);
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert!(out.stderr.contains(&format!("--asset: \"m\\u{{1b}}1\": {refused}")), "{}", out.stderr);
}

//! The malformed-input corpus: inputs and job files nobody has looked at (truncated, binary,
//! invalid UTF-8, out-of-range numbers and timestamps, hostile YAML and expressions). Each case
//! runs the real binary in a fresh folder under a time limit and pins the exit status and the
//! exact stdout and stderr: a clear error naming the place, or a documented success; never a
//! panic, a signal or a hang.
//!
//! The expected texts were written from the rules in README.md and the error wording of the code
//! paths each case reaches (the comment of each case says which), then checked against the program
//! line by line; data outputs are small enough to work out by hand (10-minute windows of `max`).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Far above any case's run time: reaching it means a hang.
const TIME_LIMIT: Duration = Duration::from_secs(30);

const HEADER: &str = "timestamp,asset,point,value\n";

/// A window job: max of `Reading` per 10-minute window, latency 0s.
const WINDOW_JOB: &str = "name: w
template: time_window_aggregation
model: M
policies:
  - input: Reading
    aggregation: max
    window_size: 10m
    output: Max10
";

const TIMESTAMP_HELP: &str = "expected an RFC 3339 timestamp (2024-01-01T00:00:00Z, optional fraction and offset) or epoch milliseconds, between years 0000 and 9999";

struct Case {
    name: &'static str,
    /// Arguments after `meterflow`, split on whitespace.
    args: &'static str,
    files: Vec<(&'static str, Vec<u8>)>,
    status: i32,
    stdout: String,
    stderr: String,
}

/// A `run job.yaml --input in.csv -q` case over the window job.
fn csv_case(name: &'static str, input: impl Into<Vec<u8>>, status: i32, stdout: &str, stderr: &str) -> Case {
    Case {
        name,
        args: "run job.yaml --input in.csv -q",
        files: vec![("job.yaml", WINDOW_JOB.into()), ("in.csv", input.into())],
        status,
        stdout: stdout.to_string(),
        stderr: stderr.to_string(),
    }
}

/// A run that stops at a bad row: the header was already written, then the error.
fn csv_error(name: &'static str, input: impl Into<Vec<u8>>, stderr: &str) -> Case {
    csv_case(name, input, 1, HEADER, &format!("error: {stderr}\n"))
}

/// A successful run of the window job writing `rows` after the header.
/// What a run that read no reading says about the window job of these cases.
const NO_READINGS: &str = "meterflow: warning: job `w` wrote no row: it received no readings\n";

fn csv_ok(name: &'static str, input: impl Into<Vec<u8>>, rows: &str) -> Case {
    csv_case(name, input, 0, &format!("{HEADER}{rows}"), "")
}

/// A `validate job.yaml` case that fails with exit status 2.
fn yaml_error(name: &'static str, job: impl Into<Vec<u8>>, stderr: &str) -> Case {
    Case {
        name,
        args: "validate job.yaml",
        files: vec![("job.yaml", job.into())],
        status: 2,
        stdout: String::new(),
        stderr: stderr.to_string(),
    }
}

/// A bad-timestamp error on line 2: text that is no timestamp.
fn timestamp_error(name: &'static str, text: &str) -> Case {
    timestamp_problem(name, text, TIMESTAMP_HELP)
}

/// A timestamp read but outside the accepted years, on line 2.
fn timestamp_out_of_range(name: &'static str, text: &str) -> Case {
    timestamp_problem(name, text, "expected a time between years 0000 and 9999")
}

fn timestamp_problem(name: &'static str, text: &str, problem: &str) -> Case {
    csv_error(
        name,
        format!("{HEADER}{text},m1,Reading,1\n"),
        &format!("in.csv:2: column 1 (timestamp): invalid timestamp {text:?}: {problem}"),
    )
}

/// A bad-value error on line 2.
fn value_error(name: &'static str, text: &str) -> Case {
    csv_error(
        name,
        format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,{text}\n"),
        &format!("in.csv:2: column 4 (value): invalid value {text:?}: expected a finite number"),
    )
}

/// A point-mode merge job writing `logic` at every `Reading`.
fn merge_job(logic: &str) -> Vec<u8> {
    format!(
        "name: m
template: multi_point_merging
model: M
trigger:
  mode: point
policies:
  - output: Out
    trigger_point: Reading
    logic: '{logic}'
"
    )
    .into_bytes()
}

/// A merge whose every evaluation fails at run time: the run goes on, counts and describes them.
fn merge_eval_error(name: &'static str, logic: &str, reason: &str) -> Case {
    let input = format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:05:00Z,m1,Reading,2\n");
    Case {
        name,
        args: "run job.yaml --input in.csv",
        files: vec![("job.yaml", merge_job(logic)), ("in.csv", input.into_bytes())],
        status: 0,
        stdout: HEADER.to_string(),
        stderr: format!(
            "meterflow: 2 rows read from 1 input (0 missing values skipped, 0 rows of points or models no job reads)
m (job.yaml): 2 rows read, 0 dropped as late, 0 rows written, final watermark 2024-01-01T00:05:00.000Z
  no row for 0 missing operand, 2 evaluation errors, 0 non-finite, 0 empty results
  no row for m1 at 2024-01-01T00:00:00.000Z: evaluation failed: {reason}
  no row for m1 at 2024-01-01T00:05:00.000Z: evaluation failed: {reason}
meterflow: warning: job `m` wrote no row: every one of its 2 evaluations failed (0 missing operand, 0 stale operand, \
2 evaluation errors, 0 non-finite, 0 empty); the first, for m1 at 2024-01-01T00:00:00.000Z: evaluation failed: {reason}
"
        ),
    }
}

/// A merge expression refused at load, the caret under the column rhai reports (within the
/// first 60 characters: a longer line is shown as its first 120 characters and `...`).
fn expression_error(name: &'static str, logic: &str, column: usize, message: &str) -> Case {
    let mut line = format!("    logic: '{logic}'");
    if line.len() > 120 {
        line.truncate(120);
        line.push_str("...");
    }
    let file_column = "    logic: '".len() + column;
    let caret = format!("{}^", " ".repeat(file_column - 1));
    yaml_error(
        name,
        merge_job(logic),
        &format!(
            "job.yaml:9:{file_column}: error: policies[0].logic: column {column}: {message}\n  |\n9 | {line}\n  | {caret}\n1 problem found in job files\n"
        ),
    )
}

/// 2,000 rows gzipped, cut off in the middle of the compressed stream.
fn truncated_gzip() -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(HEADER.as_bytes()).expect("gzip");
    for i in 0..2000 {
        writeln!(encoder, "2024-01-01T00:00:{:02}Z,m1,Reading,{i}", i % 60).expect("gzip");
    }
    let mut bytes = encoder.finish().expect("gzip");
    bytes.truncate(bytes.len() / 2);
    bytes
}

fn cases() -> Vec<Case> {
    let good_row = "2024-01-01T00:00:00.000Z,m1,Max10,3\n";
    let chain = format!("({})", vec!["${Reading}"; 50].join(" + "));
    let many_operations = format!("[{}][0]", vec![chain.as_str(); 250].join(", "));
    vec![
        // --- CSV structure (src/input.rs: LongReader::new and next) ---
        csv_error("corpus_csv_empty_file", "", "in.csv: the input is empty; expected a header such as timestamp,asset,point,value"),
        csv_error("corpus_csv_only_blank_lines", "\n\n\n", "in.csv: the input is empty; expected a header such as timestamp,asset,point,value"),
        // No reading at all: the job says it wrote nothing, even with -q.
        csv_case("corpus_csv_header_only", HEADER, 0, HEADER, NO_READINGS),
        csv_case("corpus_csv_header_without_newline", "timestamp,asset,point,value", 0, HEADER, NO_READINGS),
        csv_error(
            "corpus_csv_missing_column",
            "timestamp,asset,value\n2024-01-01T00:00:00Z,m1,1\n",
            "in.csv:1: header (timestamp,asset,value):\n  no point column; expected one named point, point_id, pointid, measurement, metric, or give --point-column NAME or a constant --point NAME\n  hint: no column names the point, and value holds numbers: if each number column is a point (one row per timestamp), add --wide (a file with one number column is wide too)",
        ),
        csv_error(
            "corpus_csv_duplicate_header",
            "timestamp,asset,point,value,value\n2024-01-01T00:00:00Z,m1,Reading,1,2\n",
            "in.csv:1: columns 4 (value) and 5 (value) both name the value; keep one (header: timestamp,asset,point,value,value)",
        ),
        csv_error(
            "corpus_csv_duplicate_alias",
            "time,timestamp,asset,point,value\n",
            "in.csv:1: columns 1 (time) and 2 (timestamp) both name the timestamp; keep one (header: time,timestamp,asset,point,value)",
        ),
        csv_error(
            "corpus_csv_short_row",
            format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:05:00Z,m1,Reading\n"),
            "in.csv:3: expected 4 fields as in the header, found 3",
        ),
        csv_error("corpus_csv_long_row", format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1,extra\n"), "in.csv:2: expected 4 fields as in the header, found 5"),
        csv_error(
            "corpus_csv_truncated_mid_row",
            format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:05:00Z,m1,Rea"),
            "in.csv:3: expected 4 fields as in the header, found 3",
        ),
        csv_error(
            "corpus_csv_truncated_mid_number",
            format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1e"),
            "in.csv:2: column 4 (value): invalid value \"1e\": expected a finite number",
        ),
        // An unclosed quote runs to the end of the file, leaving a short record.
        csv_error("corpus_csv_truncated_in_quote", format!("{HEADER}2024-01-01T00:00:00Z,m1,\"Read"), "in.csv:2: expected 4 fields as in the header, found 3"),
        csv_error(
            "corpus_csv_whitespace_only_line",
            format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1\n   \n2024-01-01T00:05:00Z,m1,Reading,3\n"),
            "in.csv:3: expected 4 fields as in the header, found 1",
        ),
        // Empty lines are not records.
        csv_ok("corpus_csv_blank_lines_between_rows", format!("{HEADER}\n2024-01-01T00:00:00Z,m1,Reading,1\n\n\n2024-01-01T00:05:00Z,m1,Reading,3\n\n"), good_row),
        csv_ok("corpus_csv_crlf", "timestamp,asset,point,value\r\n2024-01-01T00:00:00Z,m1,Reading,1\r\n2024-01-01T00:05:00Z,m1,Reading,3\r\n", good_row),
        // CRLF, LF and a lone CR all end a record; the last record has no terminator.
        csv_ok(
            "corpus_csv_crlf_mixed",
            "timestamp,asset,point,value\r\n2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:05:00Z,m1,Reading,3\r2024-01-01T00:07:00Z,m1,Reading,2\r\n2024-01-01T00:12:00Z,m1,Reading,5",
            "2024-01-01T00:00:00.000Z,m1,Max10,3\n2024-01-01T00:10:00.000Z,m1,Max10,5\n",
        ),
        // --- Binary and encoding (control characters are escaped in messages) ---
        csv_error(
            "corpus_csv_binary_garbage",
            b"\x00\x9f\x92\x96\xff\x01,\x02\n\xfe\xfd,\x00\n".to_vec(),
            "in.csv:1: header (\\0\u{fffd}\u{fffd}\u{fffd}\u{fffd}\\u{1},\\u{2}):\n  no timestamp column; expected one named timestamp, time, ts, datetime, date_time, event_time, eventtime, or give --time-column NAME\n  no asset column; expected one named asset, asset_id, assetid, device, device_id, deviceid, meter, meter_id, meterid, or give --asset-column NAME or a constant --asset ID\n  no point column; expected one named point, point_id, pointid, measurement, metric, or give --point-column NAME or a constant --point NAME\n  no value column; expected one named value, val, point_value, or give --value-column NAME\n  hint: no column holds names: give a constant --asset ID for a single meter",
        ),
        csv_error(
            "corpus_csv_nul_in_value",
            format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,\u{0}1\n"),
            "in.csv:2: column 4 (value): invalid value \"\\01\": expected a finite number",
        ),
        csv_error(
            "corpus_csv_invalid_utf8_asset",
            [HEADER.as_bytes(), b"2024-01-01T00:00:00Z,m\xff1,Reading,1\n"].concat(),
            "in.csv:2: column 2 (asset): invalid asset \"m\u{fffd}1\": expected a non-empty UTF-8 name",
        ),
        csv_error(
            "corpus_csv_invalid_utf8_header",
            b"timestamp,asset,po\xffint,value\n".to_vec(),
            "in.csv:1: no point column; expected one named point, point_id, pointid, measurement, metric, or give --point-column NAME or a constant --point NAME (header: timestamp,asset,po\u{fffd}int,value)",
        ),
        csv_error("corpus_csv_empty_asset", format!("{HEADER}2024-01-01T00:00:00Z,,Reading,1\n"), "in.csv:2: column 2 (asset): invalid asset \"\": expected a non-empty UTF-8 name"),
        // A megabyte-long field is quoted in the message only up to 80 characters.
        csv_error(
            "corpus_csv_huge_field",
            format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,{}\n", "9x".repeat(500_000)),
            &format!("in.csv:2: column 4 (value): invalid value \"{}...\": expected a finite number", "9x".repeat(40)),
        ),
        // --- Wide rows and compressed input (src/input/reader.rs, src/input/source.rs) ---
        // The NUL in `Other`, a column no job reads, is not parsed; `inf` in `Reading` is a bad value.
        Case {
            name: "corpus_wide_bad_cells_skipped",
            args: "run job.yaml --input in.csv --wide --on-bad-row skip",
            files: vec![
                ("job.yaml", WINDOW_JOB.into()),
                ("in.csv", b"timestamp,asset,Reading,Other\n2024-01-01T00:00:00Z,m1,1,\x00\n2024-01-01T00:01:00Z,m1,inf,1\n2024-01-01T00:02:00Z,m1,3,2\n".to_vec()),
            ],
            status: 0,
            stdout: format!("{HEADER}{good_row}"),
            stderr: "meterflow: 3 rows read from 1 input (4 readings, 0 missing values skipped, 1 bad row skipped, 2 readings of points or models no job reads)
  first bad row: in.csv:3: column 3 (Reading): invalid value \"inf\": expected a finite number (--rejects FILE records them all)
w (job.yaml): 2 readings read, 0 dropped as late, 1 row written, final watermark 2024-01-01T00:02:00.000Z
  Max10: 2 valid (0 late accepted), 0 out of threshold, 0 late dropped, 1 row written
meterflow: warning: 1 of the 3 input rows (33.3%) were bad rows and skipped; the first: in.csv:3: column 3 (Reading): invalid value \"inf\": expected a finite number; check the input flags (--delimiter, --time-format, the column flags), and use --max-bad-rows N to stop a run past N bad rows
"
            .to_string(),
        },
        Case {
            name: "corpus_gzip_truncated",
            args: "run job.yaml --input in.csv.gz -q",
            files: vec![("job.yaml", WINDOW_JOB.into()), ("in.csv.gz", truncated_gzip())],
            status: 1,
            stdout: HEADER.to_string(),
            stderr: "error: failed to read in.csv.gz: incomplete deflate stream\n".to_string(),
        },
        Case {
            name: "corpus_gzip_header_then_garbage",
            args: "run job.yaml --input in.csv.gz -q",
            files: vec![("job.yaml", WINDOW_JOB.into()), ("in.csv.gz", b"\x1f\x8b\x08\x00garbage".to_vec())],
            status: 1,
            stdout: HEADER.to_string(),
            stderr: "error: failed to read in.csv.gz: incomplete deflate stream\n".to_string(),
        },
        // The zstd library words a corrupt frame as a dictionary mismatch; the file is named.
        Case {
            name: "corpus_zstd_garbage",
            args: "run job.yaml --input in.csv.zst -q",
            files: vec![("job.yaml", WINDOW_JOB.into()), ("in.csv.zst", b"\x28\xb5\x2f\xfdgarbage".to_vec())],
            status: 1,
            stdout: HEADER.to_string(),
            stderr: "error: failed to read in.csv.zst: Dictionary mismatch\n".to_string(),
        },
        // --- Numbers ---
        Case {
            name: "corpus_csv_missing_value_markers",
            args: "run job.yaml --input in.csv",
            files: vec![
                ("job.yaml", WINDOW_JOB.into()),
                (
                    "in.csv",
                    format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,NaN\n2024-01-01T00:00:01Z,m1,Reading,nan\n2024-01-01T00:00:02Z,m1,Reading,NA\n2024-01-01T00:00:03Z,m1,Reading,null\n2024-01-01T00:00:04Z,m1,Reading,?\n2024-01-01T00:00:05Z,m1,Reading,\n2024-01-01T00:00:06Z,m1,Reading,3\n").into_bytes(),
                ),
            ],
            status: 0,
            stdout: format!("{HEADER}{good_row}"),
            stderr: "meterflow: 7 rows read from 1 input (6 missing values skipped, 0 rows of points or models no job reads)
w (job.yaml): 1 row read, 0 dropped as late, 1 row written, final watermark 2024-01-01T00:00:06.000Z
  Max10: 1 valid (0 late accepted), 0 out of threshold, 0 late dropped, 1 row written
"
            .to_string(),
        },
        // Only the exact markers mean "no reading"; any other NaN or infinity is an error.
        value_error("corpus_csv_value_signed_nan", "-nan"),
        value_error("corpus_csv_value_inf", "inf"),
        value_error("corpus_csv_value_negative_infinity", "-Infinity"),
        value_error("corpus_csv_value_overflows_to_inf", "1e309"),
        csv_ok(
            "corpus_csv_value_largest_finite",
            format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,-1.7976931348623157e308\n2024-01-01T00:00:01Z,m1,Reading,1.7976931348623157e308\n"),
            "2024-01-01T00:00:00.000Z,m1,Max10,1.7976931348623157e308\n",
        ),
        // 1e-400 underflows to 0; 5e-324 is the smallest subnormal and larger than 0.
        csv_ok(
            "corpus_csv_value_tiny",
            format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1e-400\n2024-01-01T00:00:01Z,m1,Reading,5e-324\n"),
            "2024-01-01T00:00:00.000Z,m1,Max10,5e-324\n",
        ),
        // Two finite readings whose sum overflows: no row (never a wrong number), counted.
        Case {
            name: "corpus_csv_sum_overflows",
            args: "run job.yaml --input in.csv",
            files: vec![
                ("job.yaml", WINDOW_JOB.replace("max", "sum").replace("Max10", "Sum10").into_bytes()),
                ("in.csv", format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1.7e308\n2024-01-01T00:05:00Z,m1,Reading,1.7e308\n").into_bytes()),
            ],
            status: 0,
            stdout: HEADER.to_string(),
            stderr: "meterflow: 2 rows read from 1 input (0 missing values skipped, 0 rows of points or models no job reads)
w (job.yaml): 2 rows read, 0 dropped as late, 0 rows written, final watermark 2024-01-01T00:05:00.000Z
  Sum10: 2 valid (0 late accepted), 0 out of threshold, 0 late dropped, 0 rows written
  Sum10: 1 window wrote no row: their value overflowed the float range
meterflow: warning: job `w` wrote no row: Sum10: its 1 window overflowed the float range
"
            .to_string(),
        },
        // --- Timestamps (src/time.rs) ---
        csv_ok("corpus_ts_before_1970", format!("{HEADER}1969-07-20T20:17:40Z,m1,Reading,1\n"), "1969-07-20T20:10:00.000Z,m1,Max10,1\n"),
        csv_ok("corpus_ts_negative_epoch_ms", format!("{HEADER}-1,m1,Reading,1\n"), "1969-12-31T23:50:00.000Z,m1,Max10,1\n"),
        csv_ok("corpus_ts_first_instant_of_0000", format!("{HEADER}0000-01-01T00:00:00Z,m1,Reading,1\n"), "0000-01-01T00:00:00.000Z,m1,Max10,1\n"),
        csv_ok("corpus_ts_last_instant_of_9999", format!("{HEADER}9999-12-31T23:59:59.999Z,m1,Reading,1\n"), "9999-12-31T23:50:00.000Z,m1,Max10,1\n"),
        // chrono reads a leap second as the last second plus 1000 ms, i.e. the next midnight.
        csv_ok("corpus_ts_leap_second", format!("{HEADER}2016-12-31T23:59:60Z,m1,Reading,1\n"), "2017-01-01T00:00:00.000Z,m1,Max10,1\n"),
        timestamp_error("corpus_ts_year_10000", "10000-01-01T00:00:00Z"),
        timestamp_out_of_range("corpus_ts_epoch_ms_after_9999", "253402300800000"),
        timestamp_out_of_range("corpus_ts_epoch_ms_before_0000", "-62167219200001"),
        timestamp_error("corpus_ts_epoch_overflow", "99999999999999999999"),
        timestamp_error("corpus_ts_impossible_date", "2023-02-29T00:00:00Z"),
        timestamp_error("corpus_ts_truncated", "2024-01-01T0"),
        timestamp_error("corpus_ts_words", "yesterday"),
        timestamp_error("corpus_ts_empty", ""),
        // --- Job files (src/job/load.rs through src/job/yaml.rs) ---
        yaml_error(
            "corpus_yaml_alias_bomb",
            "a: &a [\"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"x\"]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
            "job.yaml:1:7: error: YAML anchors and aliases are not supported in job files
1 problem found in job files
",
        ),
        yaml_error(
            "corpus_yaml_deep_nesting",
            format!("template: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
            "job.yaml:1:266: error: invalid YAML: recursion limit exceeded
1 problem found in job files
",
        ),
        yaml_error(
            "corpus_yaml_duplicate_key",
            "template: time_window_aggregation\nmodel: M\nmodel: N\n",
            "job.yaml:3:1: error: field `model` is given twice
  |
3 | model: N
  | ^
1 problem found in job files
",
        ),
        yaml_error("corpus_yaml_invalid_utf8", b"template: time_window_aggregation\nmodel: \xff\n".to_vec(), "job.yaml: error: the file is not valid UTF-8\n1 problem found in job files\n"),
        // The YAML parser reads control characters as an empty mapping: no `template`.
        yaml_error(
            "corpus_yaml_binary_garbage",
            b"\x00\x01\x02\x03".to_vec(),
            "job.yaml:1:1: error: (top level): missing field `template` (time_window_aggregation or multi_point_merging)
1 problem found in job files
",
        ),
        yaml_error(
            "corpus_yaml_top_level_list",
            "- template: time_window_aggregation\n",
            "job.yaml:1:1: error: a job file must be a YAML mapping of fields
1 problem found in job files
",
        ),
        yaml_error(
            "corpus_yaml_larger_than_1_mib",
            format!("{WINDOW_JOB}description: \"{}\"\n", "x".repeat(1 << 20)),
            "job.yaml: error: the file is larger than 1024 KiB; a job file is a short YAML mapping\n1 problem found in job files\n",
        ),
        // --- Expressions (src/expr.rs sandbox) ---
        expression_error("corpus_expr_infinite_loop", "loop { ${Reading} }", 1, "Unexpected 'loop'"),
        expression_error("corpus_expr_while_loop", "while true { ${Reading} }", 1, "Unexpected 'while'"),
        expression_error("corpus_expr_recursion", "fn f(x) { f(x) } f(${Reading})", 1, "'fn' is a reserved keyword"),
        expression_error("corpus_expr_eval", "eval(\"${Reading}\")", 1, "reserved keyword 'eval' is disabled"),
        expression_error("corpus_expr_too_deep", &format!("{}${{Reading}}{}", "(".repeat(100), ")".repeat(100)), 33, "Expression exceeds maximum complexity"),
        expression_error(
            "corpus_expr_huge_string_literal",
            &format!("if ${{Reading}} > 0 {{ \"{}\" }} else {{ 0 }}", "x".repeat(5000)),
            21,
            "Length of string exceeds the maximum limit (4096)",
        ),
        merge_eval_error("corpus_expr_string_grows_at_run_time", "\"x\".pad(100000, \"y\") + ${Reading}", "Length of string too large at column 5"),
        // A call no values can make work is refused at load, not at every evaluation.
        expression_error(
            "corpus_expr_sleep_is_not_available",
            "sleep(100000) + ${Reading}",
            1,
            "Function not found: sleep (i64): no function of that name takes these arguments (operands are numbers)",
        ),
        merge_eval_error("corpus_expr_too_many_operations", &many_operations, "Too many operations at column 65727"),
        // --- Resource limits ---
        Case {
            name: "corpus_validate_warns_about_unbounded_windows",
            args: "validate job.yaml",
            files: vec![("job.yaml", WINDOW_JOB.replace("10m", "1ms").replace("model: M\n", "model: M\nlatency: 365d\n").into_bytes())],
            status: 0,
            stdout: "job.yaml: ok: w (time_window_aggregation, model M, latency 365d): Reading -> Max10\npipeline reads from input: Reading\n".to_string(),
            stderr: "job.yaml:8:18: warning: policies[0].window_size: up to 31536000001 windows per series may be open at once (latency 365d / window size 1ms + 1), and memory grows with that times the number of series; use a larger window_size or a shorter latency, or bound runs with --max-open-windows
  |
8 |     window_size: 1ms
  |                  ^
"
            .to_string(),
        },
        // Sliding windows start every slide: (365 days + 10 minutes) / 1 minute = 525,610 windows.
        Case {
            name: "corpus_validate_warns_about_unbounded_sliding_windows",
            args: "validate job.yaml",
            files: vec![("job.yaml", WINDOW_JOB.replace("model: M\n", "model: M\nwindow:\n  type: sliding\n  slide: 1m\nlatency: 365d\n").into_bytes())],
            status: 0,
            stdout: "job.yaml: ok: w (time_window_aggregation, model M, latency 365d, sliding every 1m): Reading -> Max10\npipeline reads from input: Reading\n".to_string(),
            stderr: "job.yaml:11:18: warning: policies[0].window_size: up to 525610 windows per series may be open at once ((latency 365d + window size 10m) / slide 1m), and memory grows with that times the number of series; use a larger window_size or a shorter latency, or bound runs with --max-open-windows
   |
11 |     window_size: 10m
   |                  ^
"
            .to_string(),
        },
        Case {
            name: "corpus_validate_json_warns_about_unbounded_windows",
            args: "validate --format json job.yaml",
            files: vec![("job.yaml", WINDOW_JOB.replace("10m", "1ms").replace("model: M\n", "model: M\nlatency: 365d\n").into_bytes())],
            status: 0,
            stdout: r#"[
  {
    "file": "job.yaml",
    "line": 8,
    "column": 18,
    "field": "policies[0].window_size",
    "message": "up to 31536000001 windows per series may be open at once (latency 365d / window size 1ms + 1), and memory grows with that times the number of series; use a larger window_size or a shorter latency, or bound runs with --max-open-windows",
    "severity": "warning"
  }
]
"#
            .to_string(),
            stderr: String::new(),
        },
        Case {
            name: "corpus_run_max_open_windows",
            args: "run job.yaml --input in.csv -q --max-open-windows 2",
            files: vec![
                ("job.yaml", WINDOW_JOB.replace("model: M\n", "model: M\nlatency: 1d\n").into_bytes()),
                ("in.csv", format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:10:00Z,m1,Reading,2\n2024-01-01T00:20:00Z,m1,Reading,3\n").into_bytes()),
            ],
            status: 1,
            stdout: HEADER.to_string(),
            stderr: "error: after 3 input rows: more than 2 windows are open at once (--max-open-windows 2); job `w` (job.yaml) holds 3: a series keeps every window of the last `latency` open, so use a shorter latency or a larger window_size, or raise the limit\n".to_string(),
        },
    ]
}

/// Runs `meterflow` in `dir`, killing it at the time limit; returns (status, stdout, stderr).
fn run(dir: &PathBuf, args: &str) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meterflow"))
        .args(args.split_whitespace())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meterflow starts");
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).expect("read pipe");
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("stdout")));
    let stderr = read(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            child.kill().expect("kill");
            panic!("meterflow {args} in {} did not finish within {TIME_LIMIT:?}", dir.display());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (status.code(), stdout.join().expect("stdout thread"), stderr.join().expect("stderr thread"))
}

#[test]
fn malformed_inputs_fail_clearly_or_succeed_as_documented() {
    let cases = cases();
    assert!(cases.len() >= 40, "the corpus holds {} cases", cases.len());
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("malformed-{}", std::process::id()));
    let mut failures = Vec::new();
    for case in &cases {
        assert!(cases.iter().filter(|c| c.name == case.name).count() == 1, "{} is listed twice", case.name);
        let dir = root.join(case.name);
        std::fs::create_dir_all(&dir).expect("case folder");
        for (file, bytes) in &case.files {
            std::fs::write(dir.join(file), bytes).expect("case file");
        }
        let (status, stdout, stderr) = run(&dir, case.args);
        if status.is_none() || stderr.contains("panicked") {
            failures.push(format!("{}: crashed (status {status:?})\n{stderr}", case.name));
            continue;
        }
        if (status, &stdout, &stderr) != (Some(case.status), &case.stdout, &case.stderr) {
            failures.push(format!(
                "{}: status {status:?} (expected {})\n--- stdout\n{stdout}--- expected\n{}--- stderr\n{stderr}--- expected\n{}",
                case.name, case.status, case.stdout, case.stderr
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "{} of {} cases differ:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

//! Input details that golden folders express poorly: a byte-order mark in a job file, a header
//! repeated by concatenated inputs, late rows as JSON lines, and the summary's nouns.

use crate::support::{fresh_dir, meterflow, text, with_stdin};

/// A job file saved with a UTF-8 byte-order mark (Windows editors) validates and runs.
#[test]
fn a_job_file_may_start_with_a_byte_order_mark() {
    let dir = fresh_dir("inputs-bom-job");
    let job = std::fs::read("jobs/meter_max_min.yaml").unwrap();
    let path = dir.join("bom.yaml");
    std::fs::write(&path, [b"\xef\xbb\xbf".as_slice(), &job].concat()).unwrap();
    let out = meterflow().arg("validate").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let input = "timestamp,asset,point,value\n2024-01-01T00:01:00Z,m1,Reading,5\n";
    let out = with_stdin(meterflow().arg("run").arg(&path).arg("-q"), input.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "timestamp,asset,point,value\n2024-01-01T00:00:00.000Z,m1,MaxReading10Min,5\n\
         2024-01-01T00:00:00.000Z,m1,MinReading10Min,5\n"
    );
}

/// `cat a.csv b.csv`: b's header (with its own byte-order mark) is a header, on the fast path
/// (plain long rows, any threads) and in the general reader (wide rows), and is not a row; a
/// line that differs from the header (here by case) stays a bad row.
#[test]
fn a_repeated_header_is_a_header() {
    let long = "timestamp,asset,point,value\n2024-01-01T00:01:00Z,m1,Reading,5\n\
                \u{feff}timestamp,asset,point,value\n2024-01-01T00:11:00Z,m1,Reading,3\n";
    let expected = "timestamp,asset,point,value\n\
                    2024-01-01T00:00:00.000Z,m1,MaxReading10Min,5\n2024-01-01T00:00:00.000Z,m1,MinReading10Min,5\n\
                    2024-01-01T00:10:00.000Z,m1,MaxReading10Min,3\n2024-01-01T00:10:00.000Z,m1,MinReading10Min,3\n";
    for threads in ["1", "2"] {
        let out =
            with_stdin(meterflow().args(["run", "jobs/meter_max_min.yaml", "--threads", threads]), long.as_bytes());
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), expected);
        assert!(text(&out.stderr).starts_with("meterflow: 2 rows read from 1 input"), "{}", text(&out.stderr));
    }
    let wide =
        "timestamp,asset,Reading\n2024-01-01T00:01:00Z,m1,5\ntimestamp,asset,Reading\n2024-01-01T00:11:00Z,m1,3\n";
    let out = with_stdin(meterflow().args(["run", "jobs/meter_max_min.yaml", "--wide", "-q"]), wide.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), expected);
    let other = "timestamp,asset,point,value\n2024-01-01T00:01:00Z,m1,Reading,5\nTimestamp,asset,point,value\n";
    let out = with_stdin(meterflow().args(["run", "jobs/meter_max_min.yaml", "-q"]), other.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("error: <stdin>:3: column 1 (timestamp): invalid timestamp \"Timestamp\""));
}

/// With `--format jsonl` the late output is JSON lines with the late CSV's fields: 00:01 arrives
/// after 00:15 closed its window (latency 0s in this job).
#[test]
fn late_output_follows_the_jsonl_format() {
    let dir = fresh_dir("inputs-late-jsonl");
    let job = "name: w\nmodel: x\ntemplate: time_window_aggregation\nlatency: 0s\npolicies:\n  - input: Reading\n    aggregation: max\n    window_size: 10m\n    output: Max10\n";
    std::fs::write(dir.join("job.yaml"), job).unwrap();
    let input = "timestamp,asset,point,value\n2024-01-01T00:15:00Z,m1,Reading,1\n2024-01-01T00:01:00Z,m1,Reading,2\n";
    let out = with_stdin(
        meterflow().current_dir(&dir).args([
            "run",
            "job.yaml",
            "-q",
            "--format",
            "jsonl",
            "--late-output",
            "late.jsonl",
        ]),
        input.as_bytes(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.join("late.jsonl")).unwrap(),
        "{\"timestamp\":\"2024-01-01T00:01:00.000Z\",\"asset\":\"m1\",\"point\":\"Reading\",\"value\":2,\"job\":\"w\",\
         \"reason\":\"late_beyond_lateness\",\"window_start\":\"2024-01-01T00:00:00.000Z\",\
         \"window_end\":\"2024-01-01T00:10:00.000Z\",\"watermark\":\"2024-01-01T00:15:00.000Z\"}\n"
    );
}

/// One of each: singular nouns. In wide input rows and readings are counted apart: 1 row of 2
/// cells is 2 readings, 1 of them of a point no job reads.
#[test]
fn the_summary_says_one_row_and_counts_readings_in_wide_input() {
    let input = "timestamp,asset,Reading,Other\n2024-01-01T00:01:00Z,m1,5,7\n";
    let out = with_stdin(meterflow().args(["run", "jobs/meter_max_min.yaml", "--wide"]), input.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "meterflow: 1 row read from 1 input (2 readings, 0 missing values skipped, 1 reading of points or models no job reads)\n\
         meter-max-min (jobs/meter_max_min.yaml): 1 reading read, 0 dropped as late, 2 rows written, final watermark 2024-01-01T00:01:00.000Z\n  \
         MaxReading10Min: 1 valid (0 late accepted), 0 out of threshold, 0 late dropped, 1 row written\n  \
         MinReading10Min: 1 valid (0 late accepted), 0 out of threshold, 0 late dropped, 1 row written\n"
    );
}

/// "The output is valid input": a merge writes text (`high`) and booleans (`true`); piped into a
/// second run, as CSV or as JSON lines, the text of a point no job reads is not parsed and the
/// booleans read as 1 / 0. Over50 per tick (from `tests/cases/merge/merge_if_else_string`): m1 55, 50,
/// 35, 20, 7, 50.5 -> true at 00:00 and 00:50, so the hourly sum is 2; m2 10, 99.9 -> 1.
#[test]
fn text_and_boolean_results_pass_through_a_pipe_as_csv_and_as_json_lines() {
    let dir = fresh_dir("inputs-pipe");
    let first = "name: level\ntemplate: multi_point_merging\nmodel: ElectricMeter\ntrigger:\n  mode: frequency\n  every: 10m\n\
                 timing_interpolation: last_value\npolicies:\n\
                 \x20 - output: ReadingLevel\n    logic: 'if ${ElectricMeter::Reading} > 50 { \"high\" } else { \"low\" }'\n\
                 \x20 - output: Over50\n    logic: '${ElectricMeter::Reading} > 50'\n";
    std::fs::write(dir.join("first.yaml"), first).unwrap();
    let second = "name: hours\ntemplate: time_window_aggregation\nmodel: ElectricMeter\nlatency: 1d\npolicies:\n\
                  \x20 - input: Over50\n    aggregation: sum\n    window_size: 1h\n    output: HoursOver50\n";
    std::fs::write(dir.join("second.yaml"), second).unwrap();
    let input = std::fs::read_to_string("tests/cases/merge/merge_if_else_string/input.csv").unwrap();
    for format in ["csv", "jsonl"] {
        let out = with_stdin(
            meterflow().current_dir(&dir).args(["run", "first.yaml", "-q", "--format", format]),
            input.as_bytes(),
        );
        assert!(out.status.success(), "{format}: {}", text(&out.stderr));
        let piped = text(&out.stdout);
        assert!(piped.contains("high") && piped.contains("true"), "{format}: {piped}");
        let out = with_stdin(meterflow().current_dir(&dir).args(["run", "second.yaml", "-q"]), piped.as_bytes());
        assert!(out.status.success(), "{format}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            "timestamp,asset,point,value\n2024-01-01T00:00:00.000Z,m1,HoursOver50,2\n\
             2024-01-01T00:00:00.000Z,m2,HoursOver50,1\n",
            "{format}"
        );
    }
}

/// JSON lines input: a number, a boolean, a numeric text and `null` (missing) as values, epoch
/// milliseconds as a number, keys in any order and extra keys ignored; a line that is not such an
/// object is a located bad row; CSV column flags are refused.
#[test]
fn json_lines_input_reads_the_objects_jsonl_output_writes() {
    let input = "{\"asset\":\"m1\",\"point\":\"Reading\",\"timestamp\":\"2024-01-01T00:01:00Z\",\"value\":5,\"emit\":\"final\"}\n\
                 {\"timestamp\":1704067320000,\"asset\":\"m1\",\"point\":\"Reading\",\"value\":\"7\"}\n\
                 \n\
                 {\"timestamp\":\"2024-01-01T00:03:00Z\",\"asset\":\"m1\",\"point\":\"Reading\",\"value\":null}\n\
                 {\"timestamp\":\"2024-01-01T00:04:00Z\",\"asset\":\"m1\",\"point\":\"Reading\",\"value\":true}\n";
    let out = with_stdin(meterflow().args(["run", "jobs/meter_max_min.yaml"]), input.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "timestamp,asset,point,value\n2024-01-01T00:00:00.000Z,m1,MaxReading10Min,7\n\
         2024-01-01T00:00:00.000Z,m1,MinReading10Min,1\n"
    );
    assert!(text(&out.stderr).starts_with("meterflow: 4 rows read from 1 input (1 missing value skipped,"));
    let bad = format!("{input}{{\"timestamp\":\"2024-01-01T00:05:00Z\",\"asset\":\"m1\"}}\n");
    let out = with_stdin(meterflow().args(["run", "jobs/meter_max_min.yaml", "-q"]), bad.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with(
            "error: <stdin>:6: expected a JSON object with timestamp, asset, point and value (as --format jsonl writes): missing field `point`"
        ),
        "{}",
        text(&out.stderr)
    );
    let out = with_stdin(meterflow().args(["run", "jobs/meter_max_min.yaml", "-q", "--wide"]), input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--wide applies to CSV input"), "{}", text(&out.stderr));
}

//! Runs job unit tests: each test's input is replayed through its job exactly as `run` does (the
//! same [`Replay`], reader and writers, into memory), then the CSV written is compared with the
//! expected rows, cell by cell: timestamps as instants, numbers within the test's tolerance, other
//! text exactly. A failure is shown as a row diff (`-` expected, `+` actual).

use crate::commands::test::file::{Fixture, UnitTest};
use crate::engine::EmitMode;
use crate::engine::stats::JobStats;
use crate::input::{BadRows, InputOptions};
use crate::job::{JobErrors, load_jobs};
use crate::output::{Format, LateWriter, Output, PointWriter, Split};
use crate::replay::Replay;
use crate::time::parse_timestamp;
use crate::yaml::diagnostic::sort_problems;
use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Columns compared as instants, so `2024-03-01T00:10:00Z` matches `2024-03-01T00:10:00.000Z`.
const TIME_COLUMNS: &[&str] = &["timestamp", "window_start", "window_end", "watermark"];
/// Equal rows shown around each difference; longer equal runs are elided.
const CONTEXT_ROWS: usize = 2;
/// Above this many row pairs the diff is positional instead of aligned.
const MAX_ALIGNED_CELLS: usize = 4_000_000;

/// Loads every job under test, as `validate` would, so a broken job is reported once with its
/// located problems before any test runs.
pub(crate) fn check_jobs(tests: &[UnitTest]) -> Result<(), JobErrors> {
    let mut problems = Vec::new();
    let mut jobs: Vec<&Path> = Vec::new();
    for t in tests {
        if !jobs.contains(&t.job.as_path()) {
            jobs.push(&t.job);
            problems.extend(load_jobs(std::slice::from_ref(&t.job)).err().into_iter().flat_map(|e| e.0));
        }
    }
    sort_problems(&mut problems);
    if problems.is_empty() { Ok(()) } else { Err(JobErrors(problems)) }
}

/// What one test did: `None` when it passed, otherwise what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) failure: Option<String>,
    /// The expectation file rewritten with the actual output (`--bless`).
    pub(crate) blessed: Option<PathBuf>,
}

/// Runs `tests` in order, writing `PASS`, `FAIL` (with the failure report) or `BLESSED` for each,
/// then the `N passed, N failed` line. With `bless`, a test whose only difference is its output
/// and whose expected output is an `expect_file` gets that file rewritten with the output, and
/// passes.
pub(crate) fn run_tests(tests: &[UnitTest], bless: bool, out: &mut dyn Write) -> io::Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for t in tests {
        let outcome = run_one(t, bless);
        match (&outcome.failure, &outcome.blessed) {
            (None, None) => writeln!(out, "PASS {}: {}", t.file, t.name)?,
            (None, Some(path)) => writeln!(out, "BLESSED {}: {} (wrote {})", t.file, t.name, path.display())?,
            (Some(report), _) => {
                writeln!(out, "FAIL {}: {}", t.file, t.name)?;
                for line in report.lines() {
                    writeln!(out, "  {line}")?;
                }
            }
        }
        outcomes.push(outcome);
    }
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    writeln!(out, "{} passed, {failed} failed", outcomes.len() - failed)?;
    Ok(outcomes)
}

fn run_one(test: &UnitTest, bless: bool) -> Outcome {
    let (points, late, stats, missing) = match replay(test) {
        Ok(result) => result,
        Err(e) => return Outcome { failure: Some(format!("error: {e:#}\n")), blessed: None },
    };
    let output_report = match &test.expect {
        Some(expect) => compare(expect, &points, "the output differs", false, test.tolerance),
        None => String::new(),
    };
    let mut others = String::new();
    if let Some(expect) = &test.expect_late {
        others.push_str(&compare(expect, &late, "the late-dropped rows differ", true, test.tolerance));
    }
    for (name, expected) in &test.counts {
        let actual = count(name, &stats, missing);
        if actual != *expected {
            others.push_str(&format!("count {name}: expected {expected}, got {actual}\n"));
        }
    }
    let file = test.expect.as_ref().and_then(|e| e.path.as_ref());
    match (bless && !output_report.is_empty() && others.is_empty(), file) {
        (true, Some(path)) => match std::fs::write(path, &points) {
            Ok(()) => Outcome { failure: None, blessed: Some(path.clone()) },
            Err(e) => Outcome {
                failure: Some(format!("{output_report}--bless: cannot write {}: {e}\n", path.display())),
                blessed: None,
            },
        },
        (true, None) => Outcome {
            failure: Some(format!(
                "{output_report}--bless rewrites `expect_file` files only: move this inline `expect` to a file to bless it\n"
            )),
            blessed: None,
        },
        _ => {
            let report = format!("{output_report}{others}");
            Outcome { failure: (!report.is_empty()).then_some(report), blessed: None }
        }
    }
}

/// A `Write` whose bytes stay readable after the writer that owns it is gone.
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SharedBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

type Replayed = (String, String, Vec<JobStats>, u64);

/// Output CSV, late-rows CSV, job figures and missing-value rows of the test's replay.
fn replay(test: &UnitTest) -> anyhow::Result<Replayed> {
    let jobs = load_jobs(std::slice::from_ref(&test.job)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut replay = match &test.input_settings {
        None => Replay::long_format(jobs, test.options)?,
        Some(settings) => {
            let input = InputOptions::from_settings(settings)?;
            let bad_rows = BadRows::new(input.on_bad_row, None)?;
            Replay::new(jobs, test.options, input, bad_rows)
        }
    };
    let (points_buffer, late_buffer) = (SharedBuffer::default(), SharedBuffer::default());
    let revisions = test.options.emit == EmitMode::Updates;
    let points = PointWriter::new(Box::new(points_buffer.clone()), Format::Csv, revisions, None)?;
    let late = LateWriter::new(Box::new(late_buffer.clone()), Format::Csv)?;
    let mut output = Split { points: Box::new(points), late: Some(Box::new(late)) };
    let input = Box::new(Cursor::new(test.input.text.clone().into_bytes()));
    replay.read(&test.input.name, input, &mut output)?;
    replay.finish(&mut output)?;
    output.flush()?;
    let stats = replay.pipeline.stats().into_iter().cloned().collect();
    Ok((points_buffer.text(), late_buffer.text(), stats, replay.counts.missing))
}

fn count(name: &str, stats: &[JobStats], missing: u64) -> u64 {
    let jobs = |f: fn(&JobStats) -> u64| stats.iter().map(f).sum::<u64>();
    let policies =
        |f: fn(&crate::engine::stats::PolicyStats) -> u64| stats.iter().flat_map(|s| &s.policies).map(f).sum::<u64>();
    match name {
        "rows_read" => jobs(|s| s.rows_read),
        "rows_written" => jobs(|s| s.rows_written),
        "valid" => policies(|p| p.valid),
        "late_accepted" => policies(|p| p.late_accepted),
        "late_dropped" => jobs(|s| s.late_dropped),
        "partially_late" => jobs(|s| s.partially_late),
        "windows_missed" => policies(|p| p.windows_missed),
        "future_skewed" => jobs(|s| s.future_skewed),
        "repeats" => jobs(|s| s.repeats),
        "revisions" => jobs(|s| s.revisions),
        "out_of_threshold" => policies(|p| p.out_of_threshold),
        "interpolated" => policies(|p| p.interpolated),
        "below_min_count" => policies(|p| p.below_min_count),
        "below_min_coverage" => policies(|p| p.below_min_coverage),
        "exchanges" => policies(|p| p.exchanges),
        "outside_slope" => policies(|p| p.outside_slope),
        "missing_values" => missing,
        "missing_operand" => jobs(|s| s.merge.missing_operand),
        "stale_operand" => jobs(|s| s.merge.stale_operand),
        "eval_error" => jobs(|s| s.merge.eval_error),
        "non_finite" => jobs(|s| s.merge.non_finite) + policies(|p| p.non_finite),
        "empty" => jobs(|s| s.merge.empty),
        "beyond_max_gap" => policies(|p| p.beyond_max_gap),
        "nothing_integrated" => policies(|p| p.nothing_integrated),
        other => unreachable!("count `{other}` is not in fields::counts"),
    }
}

/// CSV rows, fields trimmed.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.map(|r| r.iter().map(str::to_string).collect()).map_err(|e| e.to_string()))
        .filter(|r| r.as_ref().map_or(true, |cells: &Vec<String>| !(cells.len() == 1 && cells[0].is_empty())))
        .collect()
}

/// Compares expected CSV with the CSV written; `heading` introduces the diff. With `subset`, the
/// expected header may name any of the written columns and only those are compared.
fn compare(expect: &Fixture, actual_text: &str, heading: &str, subset: bool, tolerance: f64) -> String {
    let expected = match parse_csv(&expect.text) {
        Ok(rows) => rows,
        Err(e) => return format!("{}: cannot read the expected CSV: {e}\n", expect.name),
    };
    let actual = parse_csv(actual_text).expect("meterflow writes valid CSV");
    let (Some(header), Some(actual_header)) = (expected.first(), actual.first()) else {
        return format!("{}: the expected CSV needs a header line\n", expect.name);
    };
    let mut columns = Vec::new();
    for name in header {
        match actual_header.iter().position(|h| h.eq_ignore_ascii_case(name)) {
            Some(i) => columns.push(i),
            None if subset => {
                return format!(
                    "{}: unknown column `{name}`, expected some of {}\n",
                    expect.name,
                    actual_header.join(",")
                );
            }
            None => break,
        }
    }
    if !subset && columns.len() != actual_header.len() {
        return format!(
            "{}: expected header `{}`, the output has `{}`\n",
            expect.name,
            header.join(","),
            actual_header.join(",")
        );
    }
    let names: Vec<&str> = columns.iter().map(|&i| actual_header[i].as_str()).collect();
    let actual: Vec<Vec<String>> = actual[1..]
        .iter()
        .map(|row| columns.iter().map(|&i| row.get(i).cloned().unwrap_or_default()).collect())
        .collect();
    let expected = &expected[1..];
    let same = |e: &Vec<String>, a: &Vec<String>| {
        e.len() == a.len() && e.iter().zip(a).zip(&names).all(|((e, a), n)| cell_equal(e, a, n, tolerance))
    };
    if expected.len() == actual.len() && expected.iter().zip(&actual).all(|(e, a)| same(e, a)) {
        return String::new();
    }
    let mut out = format!("{heading} (- expected, + actual):\n    {}\n", names.join(","));
    render_diff(&diff(expected, &actual, same), expected, &actual, &mut out);
    out
}

fn cell_equal(expected: &str, actual: &str, column: &str, tolerance: f64) -> bool {
    if expected == actual {
        return true;
    }
    if TIME_COLUMNS.contains(&column)
        && let (Ok(e), Ok(a)) = (parse_timestamp(expected.as_bytes()), parse_timestamp(actual.as_bytes()))
    {
        return e == a;
    }
    match (expected.parse::<f64>(), actual.parse::<f64>()) {
        (Ok(e), Ok(a)) => (e - a).abs() <= tolerance,
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Same(usize, usize),
    Expected(usize),
    Actual(usize),
}

/// The steps turning `expected` into `actual`, aligned on a longest common subsequence.
fn diff<T>(expected: &[T], actual: &[T], same: impl Fn(&T, &T) -> bool) -> Vec<Step> {
    let (n, m) = (expected.len(), actual.len());
    if n.saturating_mul(m) > MAX_ALIGNED_CELLS {
        let mut steps = Vec::new();
        for i in 0..n.max(m) {
            match (expected.get(i), actual.get(i)) {
                (Some(e), Some(a)) if same(e, a) => steps.push(Step::Same(i, i)),
                (e, a) => {
                    steps.extend(e.map(|_| Step::Expected(i)));
                    steps.extend(a.map(|_| Step::Actual(i)));
                }
            }
        }
        return steps;
    }
    // lcs[i][j]: length of the longest common subsequence of expected[i..] and actual[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] =
                if same(&expected[i], &actual[j]) { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut steps) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && same(&expected[i], &actual[j]) {
            steps.push(Step::Same(i, j));
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            steps.push(Step::Expected(i));
            i += 1;
        } else {
            steps.push(Step::Actual(j));
            j += 1;
        }
    }
    steps
}

/// Writes the changed rows with a few equal rows around them.
fn render_diff(steps: &[Step], expected: &[Vec<String>], actual: &[Vec<String>], out: &mut String) {
    let near_change = |k: usize| {
        let from = k.saturating_sub(CONTEXT_ROWS);
        let to = (k + CONTEXT_ROWS + 1).min(steps.len());
        steps[from..to].iter().any(|s| !matches!(s, Step::Same(..)))
    };
    let mut elided = 0;
    for (k, step) in steps.iter().enumerate() {
        let line = match *step {
            Step::Same(..) if !near_change(k) => {
                elided += 1;
                continue;
            }
            Step::Same(i, _) => format!("    {}\n", expected[i].join(",")),
            Step::Expected(i) => format!("  - {}\n", expected[i].join(",")),
            Step::Actual(j) => format!("  + {}\n", actual[j].join(",")),
        };
        if elided > 0 {
            out.push_str(&format!("    ... {}\n", crate::text::count(elided, "equal row", "equal rows")));
            elided = 0;
        }
        out.push_str(&line);
    }
    if elided > 0 {
        out.push_str(&format!("    ... {}\n", crate::text::count(elided, "equal row", "equal rows")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Vec<String>> {
        parse_csv(text).unwrap()
    }

    #[test]
    fn every_count_a_test_may_expect_is_computed() {
        for field in crate::job::fields::counts::FIELDS {
            assert_eq!(count(field.name, &[], 3), if field.name == "missing_values" { 3 } else { 0 }, "{}", field.name);
        }
    }

    #[test]
    fn diff_aligns_on_common_rows() {
        let e = rows("a\nb\nc\nd\n");
        let a = rows("a\nc\nx\nd\n");
        let steps = diff(&e, &a, |x, y| x == y);
        assert_eq!(
            steps,
            vec![Step::Same(0, 0), Step::Expected(1), Step::Same(2, 1), Step::Actual(2), Step::Same(3, 3)]
        );
    }

    #[test]
    fn cells_compare_as_instants_and_numbers() {
        assert!(cell_equal("2024-03-01T00:10:00Z", "2024-03-01T00:10:00.000Z", "timestamp", 0.0));
        assert!(!cell_equal("2024-03-01T00:10:00Z", "2024-03-01T00:10:00.001Z", "timestamp", 0.0));
        assert!(cell_equal("12", "12.0", "value", 0.0));
        assert!(!cell_equal("0.3", "0.30000000000000004", "value", 0.0));
        assert!(cell_equal("0.3", "0.30000000000000004", "value", 1e-9));
        assert!(!cell_equal("meter-1", "meter-2", "asset", 1.0));
    }

    #[test]
    fn long_equal_runs_are_elided() {
        let out = compare(
            &Fixture { name: "t".into(), text: "h\n1\n2\n3\n4\n5\n6\n7\n".into(), path: None },
            "h\n1\n2\n3\n4\n5\n6\n8\n",
            "the output differs",
            false,
            0.0,
        );
        assert_eq!(
            out,
            "the output differs (- expected, + actual):\n    h\n    ... 4 equal rows\n    5\n    6\n  - 7\n  + 8\n"
        );
    }
}

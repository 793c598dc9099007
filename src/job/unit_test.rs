//! Job unit tests written in YAML: a `tests:` block in a job file, or a sibling `<job>.test.yaml`
//! holding `tests:` (and optionally `job:`, the file under test). Each test gives input rows (inline
//! CSV or a fixture file) and what the job must produce: output rows, late-dropped rows, counts.
//! This module finds and reads them into [`UnitTest`] plans with located diagnostics;
//! `test_runner` runs them.

use super::diagnostic::{Diagnostic, JobErrors};
use super::load::{is_job_file, is_test_file, read_limited, report_yaml_error, sort_problems};
use super::yaml::{Field, Located, Mapping, Reader, Shape};
use crate::engine::{EmitMode, EngineOptions, WatermarkScope};
use marked_yaml::types::MarkedSequenceNode;
use marked_yaml::{LoaderOptions, Node};
use std::path::{Path, PathBuf};

pub(crate) const TEST_FILE_FIELDS: &[Field] = &[
    Field::optional(
        "job",
        Shape::Text,
        "The job file under test, relative to this file. Default: this file's name without `.test` \
         (`meter_max_min.test.yaml` tests `meter_max_min.yaml`).",
    ),
    Field::required("tests", Shape::List(TEST_FIELDS), "The unit tests of the job."),
];

pub(crate) const TEST_FIELDS: &[Field] = &[
    Field::required("name", Shape::Text, "What the test checks; shown in the results."),
    Field::optional(
        "input",
        Shape::Csv,
        "Input rows as inline CSV with a header (`timestamp,asset,point,value`, optionally `model`), replayed in this \
         order. Give `input` or `input_file`.",
    ),
    Field::optional("input_file", Shape::Text, "Input rows from a CSV file, relative to the file holding the test."),
    Field::optional(
        "expect",
        Shape::Csv,
        "The exact output as inline CSV, header included (`timestamp,asset,point,value`, plus `emit,revision` with \
         `emit: updates`), rows in output order.",
    ),
    Field::optional(
        "expect_file",
        Shape::Text,
        "The expected output from a CSV file, relative to the file holding the test.",
    ),
    Field::optional(
        "tolerance",
        Shape::Number,
        "Largest absolute difference accepted between an expected and an actual number (values, not timestamps). \
         Default 0: exact.",
    ),
    Field::optional(
        "expect_late",
        Shape::Csv,
        "The rows dropped as late beyond lateness, as inline CSV whose header is any of the `--late-output` columns \
         (`timestamp,asset,point,value,job,reason,window_start,window_end,watermark`); only those columns are compared.",
    ),
    Field::optional("expect_counts", Shape::Mapping(COUNT_FIELDS), "Figures of the run summary the job must report."),
    Field::optional("emit", Shape::Choice(&["final", "updates"]), "The output view, as `run --emit`. Default `final`."),
    Field::optional(
        "watermark",
        Shape::Choice(&["series", "asset", "global"]),
        "How far event time is shared, as `run --watermark`. Default `series`.",
    ),
];

/// Figures a test can check; each is summed over the job's policies.
pub(crate) const COUNT_FIELDS: &[Field] = &[
    Field::optional("rows_read", Shape::Count, "Readings the job received."),
    Field::optional("rows_written", Shape::Count, "Output rows the job wrote."),
    Field::optional("valid", Shape::Count, "Window jobs: readings inside the threshold added to a window."),
    Field::optional(
        "late_accepted",
        Shape::Count,
        "Window jobs: valid readings that arrived after their window closed, within lateness.",
    ),
    Field::optional("late_dropped", Shape::Count, "Readings dropped as late beyond lateness."),
    Field::optional("out_of_threshold", Shape::Count, "Window jobs: readings outside the threshold."),
    Field::optional("missing_values", Shape::Count, "Input rows whose value was a missing-value marker (skipped)."),
    Field::optional(
        "missing_operand",
        Shape::Count,
        "Merge jobs: evaluations skipped because an operand had no value.",
    ),
    Field::optional("eval_error", Shape::Count, "Merge jobs: evaluations that failed."),
    Field::optional("non_finite", Shape::Count, "Merge jobs: evaluations whose result was not a finite number."),
    Field::optional("empty", Shape::Count, "Merge jobs: evaluations with no result (`if` without `else`)."),
];

/// CSV text given inline or read from a fixture file, and its name for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    pub name: String,
    pub text: String,
}

/// One test, ready to run.
#[derive(Debug, Clone)]
pub struct UnitTest {
    pub name: String,
    /// The file holding the test.
    pub file: String,
    /// The job file under test.
    pub job: PathBuf,
    pub input: Fixture,
    pub expect: Option<Fixture>,
    pub expect_late: Option<Fixture>,
    pub tolerance: f64,
    /// Expected figures by [`COUNT_FIELDS`] name, in table order.
    pub counts: Vec<(&'static str, u64)>,
    pub options: EngineOptions,
}

/// Finds and reads the tests of the named files and directories: test files, and the `tests:`
/// blocks of job files (a named job file also brings its sibling test file). Every problem of
/// every file is reported together.
pub fn load_tests(args: &[PathBuf]) -> Result<Vec<UnitTest>, JobErrors> {
    let mut problems = Vec::new();
    let mut sources: Vec<PathBuf> = Vec::new();
    for arg in args {
        if arg.is_dir() {
            match std::fs::read_dir(arg) {
                Ok(entries) => {
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.is_file() && is_yaml(p))
                        .collect();
                    found.sort();
                    sources.extend(found);
                }
                Err(e) => problems.push(file_problem(arg, &format!("cannot read directory: {e}"))),
            }
        } else {
            sources.push(arg.clone());
            if is_job_file(arg) {
                sources.extend(sibling_test_file(arg));
            }
        }
    }
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut tests = Vec::new();
    for path in sources {
        let key = path.canonicalize().unwrap_or_else(|_| path.clone());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        read_source(&path, &mut tests, &mut problems);
    }
    sort_problems(&mut problems);
    if problems.is_empty() { Ok(tests) } else { Err(JobErrors(problems)) }
}

fn is_yaml(path: &Path) -> bool {
    is_job_file(path) || is_test_file(path)
}

fn file_problem(path: &Path, message: &str) -> Diagnostic {
    Diagnostic {
        file: path.display().to_string(),
        line: 0,
        column: 0,
        field: String::new(),
        message: message.to_string(),
        source_line: None,
    }
}

/// `dir/name.test.yaml` (or `.test.yml`) beside `dir/name.yaml`, if it exists.
fn sibling_test_file(job: &Path) -> Option<PathBuf> {
    let stem = job.file_stem()?.to_str()?;
    ["test.yaml", "test.yml"].iter().map(|ext| job.with_file_name(format!("{stem}.{ext}"))).find(|p| p.is_file())
}

/// `dir/name.yaml` (or `.yml`) for `dir/name.test.yaml`.
fn job_beside(test_file: &Path) -> Option<PathBuf> {
    let name = test_file.file_name()?.to_str()?;
    let stem = name.strip_suffix(".test.yaml").or_else(|| name.strip_suffix(".test.yml"))?;
    ["yaml", "yml"].iter().map(|ext| test_file.with_file_name(format!("{stem}.{ext}"))).find(|p| p.is_file())
}

fn read_source(path: &Path, tests: &mut Vec<UnitTest>, problems: &mut Vec<Diagnostic>) {
    let source = match read_limited(path)
        .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "the file is not valid UTF-8".to_string()))
    {
        Ok(s) => s,
        Err(message) => {
            problems.push(file_problem(path, &message));
            return;
        }
    };
    let mut reader = Reader::new(path.display().to_string(), &source);
    let options = LoaderOptions::default().error_on_duplicate_keys(true).toplevel_mapping();
    match marked_yaml::parse_yaml_with_options(0, &source, options) {
        Err(e) => report_yaml_error(&mut reader, &e),
        Ok(root) if is_test_file(path) => read_test_file(&mut reader, &root, path, tests),
        Ok(root) => {
            // A job file: only its `tests:` block is read here; `load_jobs` checks the rest.
            if let Some(node) = root.as_mapping().and_then(|m| m.get_node("tests")) {
                match node.as_sequence() {
                    Some(seq) => read_tests(&mut reader, seq, "tests", path, path, tests),
                    None => reader.error_span(node.span(), "tests", "expected a list"),
                }
            }
        }
    }
    problems.append(&mut reader.problems);
}

fn read_test_file(reader: &mut Reader<'_>, root: &Node, path: &Path, tests: &mut Vec<UnitTest>) {
    let Some(top) = Mapping::new(reader, root, "", TEST_FILE_FIELDS) else { return };
    let job = match top.scalar(reader, "job", false) {
        Some(at) => {
            let job = path.with_file_name(at.text.trim());
            if !job.is_file() {
                reader.error(&at, format!("job file {} not found", job.display()));
                return;
            }
            job
        }
        None => match job_beside(path) {
            Some(job) => job,
            None => {
                reader.error_at(0, 0, "", "no job file of the same name beside this test file; name it with `job:`");
                return;
            }
        },
    };
    if let Some((seq, field)) = top.sequence(reader, "tests", true) {
        read_tests(reader, seq, &field, path, &job, tests);
    }
}

fn read_tests(
    reader: &mut Reader<'_>,
    seq: &MarkedSequenceNode,
    path: &str,
    file: &Path,
    job: &Path,
    tests: &mut Vec<UnitTest>,
) {
    if seq.is_empty() {
        reader.error_span(seq.span(), path, "expected at least one test");
    }
    for (i, node) in seq.iter().enumerate() {
        if let Some(test) = read_test(reader, node, &format!("{path}[{i}]"), file, job) {
            tests.push(test);
        }
    }
}

fn read_test(reader: &mut Reader<'_>, node: &Node, path: &str, file: &Path, job: &Path) -> Option<UnitTest> {
    let m = Mapping::new(reader, node, path, TEST_FIELDS)?;
    let name = m.scalar(reader, "name", true).and_then(|at| {
        let name = at.text.trim();
        if name.is_empty() {
            reader.error(&at, "the test name cannot be empty");
            return None;
        }
        Some(name.to_string())
    });
    let input = fixture(reader, &m, "input", "input_file", file);
    let input = match input {
        Some(None) => {
            reader.error_span(m.span(), path, "missing field `input` (inline CSV) or `input_file`");
            None
        }
        other => other.flatten(),
    };
    let expect = fixture(reader, &m, "expect", "expect_file", file);
    let expect_late = m.scalar(reader, "expect_late", false).map(|at| inline(reader, &at));
    let tolerance = match m.scalar(reader, "tolerance", false) {
        Some(at) => match at.text.trim().parse::<f64>() {
            Ok(t) if t.is_finite() && t >= 0.0 => Some(t),
            _ => {
                reader.error(&at, format!("invalid tolerance {:?}: expected a number, 0 or more", at.text));
                None
            }
        },
        None => Some(0.0),
    };
    let counts = read_counts(reader, &m);
    let emit = match m.scalar(reader, "emit", false) {
        Some(at) => choice(reader, &at, &[("final", EmitMode::Final), ("updates", EmitMode::Updates)]),
        None => Some(EmitMode::Final),
    };
    let watermark = match m.scalar(reader, "watermark", false) {
        Some(at) => choice(
            reader,
            &at,
            &[("series", WatermarkScope::Series), ("asset", WatermarkScope::Asset), ("global", WatermarkScope::Global)],
        ),
        None => Some(WatermarkScope::Series),
    };
    let expect = expect?;
    if expect.is_none() && expect_late.is_none() && counts.as_ref().is_some_and(Vec::is_empty) {
        reader.error_span(
            m.span(),
            path,
            "a test needs an expectation: `expect`, `expect_file`, `expect_late` or `expect_counts`",
        );
        return None;
    }
    Some(UnitTest {
        name: name?,
        file: reader.file().to_string(),
        job: job.to_path_buf(),
        input: input?,
        expect,
        expect_late,
        tolerance: tolerance?,
        counts: counts?,
        options: EngineOptions { emit: emit?, watermark: watermark?, ..EngineOptions::default() },
    })
}

/// CSV given inline under `inline` or as a file under `file_field`: `Some(None)` when neither is
/// given, `None` when the field is wrong (reported).
fn fixture(
    reader: &mut Reader<'_>,
    m: &Mapping<'_>,
    inline_field: &str,
    file_field: &str,
    file: &Path,
) -> Option<Option<Fixture>> {
    match (m.scalar(reader, inline_field, false), m.scalar(reader, file_field, false)) {
        (Some(_), Some(at)) => {
            reader.error(&at, format!("give `{inline_field}` or `{file_field}`, not both"));
            None
        }
        (Some(at), None) => Some(Some(inline(reader, &at))),
        (None, Some(at)) => {
            let path = file.with_file_name(at.text.trim());
            match std::fs::read_to_string(&path) {
                Ok(text) => Some(Some(Fixture { name: path.display().to_string(), text })),
                Err(e) => {
                    reader.error(&at, format!("cannot read fixture file {}: {e}", path.display()));
                    None
                }
            }
        }
        (None, None) => Some(None),
    }
}

fn inline(reader: &Reader<'_>, at: &Located<'_>) -> Fixture {
    Fixture { name: format!("{} {}", reader.file(), at.field), text: at.text.to_string() }
}

fn choice<T: Copy>(reader: &mut Reader<'_>, at: &Located<'_>, choices: &[(&str, T)]) -> Option<T> {
    let text = at.text.trim();
    let found = choices.iter().find(|(n, _)| *n == text).map(|(_, v)| *v);
    if found.is_none() {
        let names: Vec<String> = choices.iter().map(|(n, _)| format!("`{n}`")).collect();
        let field = at.field.rsplit('.').next().unwrap_or_default();
        reader.error(at, format!("unknown {field} `{text}`, expected one of {}", names.join(", ")));
    }
    found
}

fn read_counts(reader: &mut Reader<'_>, m: &Mapping<'_>) -> Option<Vec<(&'static str, u64)>> {
    let Some(counts) = m.mapping(reader, "expect_counts", COUNT_FIELDS, false) else { return Some(Vec::new()) };
    let mut out = Vec::new();
    let mut ok = true;
    for field in COUNT_FIELDS {
        if let Some(at) = counts.scalar(reader, field.name, false) {
            match at.text.trim().parse::<u64>() {
                Ok(n) => out.push((field.name, n)),
                Err(_) => {
                    reader.error(&at, format!("invalid count {:?}: expected a whole number, 0 or more", at.text));
                    ok = false;
                }
            }
        }
    }
    ok.then_some(out)
}

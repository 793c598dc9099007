//! Job unit tests written in YAML: a `tests:` block in a job file, or a sibling `<job>.test.yaml`
//! holding `tests:` (and optionally `job:`, the file under test). Each test gives input rows (inline
//! CSV or a fixture file) and what the job must produce: output rows, late-dropped rows, counts.
//! This module finds and reads them into [`UnitTest`] plans with located diagnostics;
//! `test_runner` runs them.

use crate::input::InputSettings;
use crate::input::config;
use crate::job::discover::{Capped, is_test_file, job_beside, read_capped, read_limited, test_sources};
use crate::job::fields::{counts, job as job_fields, test, test_file};
use crate::job::options::{EmitMode, EngineOptions, WatermarkScope};
use crate::yaml::diagnostic::{Diagnostic, JobErrors, sort_problems};
use crate::yaml::{Field, Listing, Located, Mapping, Reader, choice, parse};
use marked_yaml::Node;
use marked_yaml::types::MarkedSequenceNode;
use std::path::{Path, PathBuf};

/// CSV text given inline or read from a fixture file, and its name for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fixture {
    pub(crate) name: String,
    pub(crate) text: String,
    /// The fixture file, when the text came from one (`test --bless` may rewrite it).
    pub(crate) path: Option<PathBuf>,
}

/// One test, ready to run.
#[derive(Debug, Clone)]
pub struct UnitTest {
    pub(crate) name: String,
    /// The file holding the test.
    pub(crate) file: String,
    /// The job file under test.
    pub(crate) job: PathBuf,
    pub(crate) input: Fixture,
    /// How `input` is read (`input_config`); `None`: long-format CSV with the default settings.
    pub(crate) input_settings: Option<InputSettings>,
    pub(crate) expect: Option<Fixture>,
    pub(crate) expect_late: Option<Fixture>,
    pub(crate) tolerance: f64,
    /// Expected figures by [`counts::FIELDS`] name, in table order.
    pub(crate) counts: Vec<(&'static str, u64)>,
    pub(crate) options: EngineOptions,
}

/// Finds and reads the tests of the named files and directories: test files, and the `tests:`
/// blocks of job files (a named job file also brings its sibling test file). Every problem of
/// every file is reported together.
pub fn load_tests(args: &[PathBuf]) -> Result<Vec<UnitTest>, JobErrors> {
    let mut problems = Vec::new();
    let mut tests = Vec::new();
    for path in test_sources(args, &mut problems) {
        read_source(&path, &mut tests, &mut problems);
    }
    sort_problems(&mut problems);
    if problems.is_empty() { Ok(tests) } else { Err(JobErrors(problems)) }
}

fn read_source(path: &Path, tests: &mut Vec<UnitTest>, problems: &mut Vec<Diagnostic>) {
    let source = match read_limited(path)
        .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "the file is not valid UTF-8".to_string()))
    {
        Ok(s) => s,
        Err(message) => {
            problems.push(Diagnostic::whole_file(&path.display().to_string(), message));
            return;
        }
    };
    let mut reader = Reader::new(path.display().to_string(), &source);
    match parse(&mut reader) {
        None => {}
        Some(root) if is_test_file(path) => read_test_file(&mut reader, &root, path, tests),
        Some(root) => {
            // A job file: only its `tests:` block is read here; `load_jobs` checks the rest.
            let name = job_fields::TESTS.name;
            if let Some(node) = root.as_mapping().and_then(|m| m.get_node(name)) {
                match node.as_sequence() {
                    Some(seq) => read_tests(&mut reader, seq, name, path, path, tests),
                    None => reader.error_span(node.span(), name, "expected a list"),
                }
            }
        }
    }
    problems.append(&mut reader.problems);
}

fn read_test_file(reader: &mut Reader<'_>, root: &Node, path: &Path, tests: &mut Vec<UnitTest>) {
    let Some(top) = Mapping::new(reader, root, "", test_file::FIELDS) else { return };
    let job = match top.scalar(reader, &test_file::JOB) {
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
    if let Some((seq, field)) = top.sequence(reader, &test_file::TESTS) {
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
    let m = Mapping::new(reader, node, path, test::FIELDS)?;
    let name = m.scalar(reader, &test::NAME).and_then(|at| {
        let name = at.text.trim();
        if name.is_empty() {
            reader.error(&at, "the test name cannot be empty");
            return None;
        }
        Some(name.to_string())
    });
    let input = fixture(reader, &m, &test::INPUT, &test::INPUT_FILE, file);
    let input = match input {
        Some(None) => {
            reader.error_span(m.span(), path, "missing field `input` (inline CSV) or `input_file`");
            None
        }
        other => other.flatten(),
    };
    let input_settings = match m.scalar(reader, &test::INPUT_CONFIG) {
        None => Some(None),
        Some(at) => match read_beside(file, at.text.trim(), "cannot read input config") {
            Ok((path, text)) => match config::parse(&path.display().to_string(), &text) {
                Ok(settings) => Some(Some(settings)),
                Err(problems) => {
                    reader.problems.extend(problems);
                    None
                }
            },
            Err(message) => {
                reader.error(&at, message);
                None
            }
        },
    };
    let expect = fixture(reader, &m, &test::EXPECT, &test::EXPECT_FILE, file);
    let expect_late = m.scalar(reader, &test::EXPECT_LATE).map(|at| inline(reader, &at));
    let tolerance = match m.scalar(reader, &test::TOLERANCE) {
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
    let emit = match m.scalar(reader, &test::EMIT) {
        Some(at) => choice(reader, &at, test::EMIT.name, &EmitMode::NAMES, Listing::OneOf),
        None => Some(EmitMode::Final),
    };
    let watermark = match m.scalar(reader, &test::WATERMARK) {
        Some(at) => choice(reader, &at, test::WATERMARK.name, &WatermarkScope::NAMES, Listing::OneOf),
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
        input_settings: input_settings?,
        expect,
        expect_late,
        tolerance: tolerance?,
        counts: counts?,
        options: EngineOptions { emit: emit?, watermark: watermark?, ..EngineOptions::default() },
    })
}

/// CSV given inline under `inline_field` or as a file under `file_field`: `Some(None)` when
/// neither is given, `None` when the field is wrong (reported).
fn fixture(
    reader: &mut Reader<'_>,
    m: &Mapping<'_>,
    inline_field: &Field,
    file_field: &Field,
    file: &Path,
) -> Option<Option<Fixture>> {
    match (m.scalar(reader, inline_field), m.scalar(reader, file_field)) {
        (Some(_), Some(at)) => {
            reader.error(&at, format!("give `{}` or `{}`, not both", inline_field.name, file_field.name));
            None
        }
        (Some(at), None) => Some(Some(inline(reader, &at))),
        (None, Some(at)) => match read_beside(file, at.text.trim(), "cannot read fixture file") {
            Ok((path, text)) => {
                let name = file.with_file_name(at.text.trim()).display().to_string();
                Some(Some(Fixture { name, text, path: Some(path) }))
            }
            Err(message) => {
                reader.error(&at, message);
                None
            }
        },
        (None, None) => Some(None),
    }
}

/// A file a test names (`input_file`, `expect_file`, `input_config`), relative to the test file
/// `test_file`, with the path it really is (links resolved): the one `--bless` may rewrite. It
/// must be a regular file inside the test file's folder or below (no absolute path, no `..` or
/// link out of it) and no larger than a job file: a test from a pull request must not read
/// `/dev/zero` or a credentials file, nor have `--bless` overwrite one.
fn read_beside(test_file: &Path, name: &str, cannot_read: &str) -> Result<(PathBuf, String), String> {
    let path = test_file.with_file_name(name);
    let shown = path.display();
    let folder = test_file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let (real, root) = match (std::fs::canonicalize(&path), std::fs::canonicalize(folder)) {
        (Ok(real), Ok(root)) => (real, root),
        (Err(e), _) | (_, Err(e)) => return Err(format!("{cannot_read} {shown}: {e}")),
    };
    if !real.starts_with(&root) {
        return Err(format!(
            "{cannot_read} {shown}: it is outside the test file's folder; a test reads (and --bless writes) only \
             files in its folder or below"
        ));
    }
    if !real.is_file() {
        return Err(format!("{cannot_read} {shown}: not a regular file"));
    }
    let bytes = read_capped(&real, "a test fixture is a few rows").map_err(|e| match e {
        Capped::Io(e) => format!("{cannot_read} {shown}: {e}"),
        Capped::TooLarge(message) => format!("{cannot_read} {shown}: {message}"),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{cannot_read} {shown}: not valid UTF-8"))?;
    Ok((real, text))
}

fn inline(reader: &Reader<'_>, at: &Located<'_>) -> Fixture {
    Fixture { name: format!("{} {}", reader.file(), at.field), text: at.text.to_string(), path: None }
}

fn read_counts(reader: &mut Reader<'_>, m: &Mapping<'_>) -> Option<Vec<(&'static str, u64)>> {
    let Some(figures) = m.mapping(reader, &test::EXPECT_COUNTS) else { return Some(Vec::new()) };
    let mut out = Vec::new();
    let mut ok = true;
    for field in counts::FIELDS {
        if let Some(at) = figures.scalar(reader, field) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tests_of(test_file: &str) -> Result<Vec<UnitTest>, JobErrors> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("j.yaml"), "template: time_window_aggregation\n").unwrap();
        std::fs::write(dir.path().join("j.test.yaml"), test_file).unwrap();
        load_tests(&[dir.path().join("j.yaml")])
    }

    const TEST: &str =
        "tests:\n  - name: t\n    input: \"timestamp,asset,point,value\\n\"\n    expect_counts:\n      rows_read: 0\n";

    #[test]
    fn run_options_are_read_by_their_names() {
        let tests =
            tests_of(&format!("{TEST}    emit: updates\n    watermark: asset\n")).map_err(|e| e.to_string()).unwrap();
        assert_eq!(tests.len(), 1);
        assert_eq!((tests[0].options.emit, tests[0].options.watermark), (EmitMode::Updates, WatermarkScope::Asset));
        assert_eq!(tests[0].counts, [("rows_read", 0)]);
    }

    #[test]
    fn an_unknown_watermark_lists_every_scope() {
        let Err(JobErrors(problems)) = tests_of(&format!("{TEST}    watermark: job\n")) else { panic!("loaded") };
        let found: Vec<(&str, &str)> = problems.iter().map(|p| (p.field.as_str(), p.message.as_str())).collect();
        assert_eq!(
            found,
            [("tests[0].watermark", "unknown watermark `job`, expected one of `series`, `asset`, `global`")]
        );
    }
}

//! `meterflow test`: the unit tests written in job files and `<job>.test.yaml` files.

pub mod file;
pub mod junit;
pub mod runner;

use super::Failure;
use super::clobber::{self, Read, Written};
use crate::commands::test::file::{UnitTest, load_tests};
use crate::commands::test::runner::{check_jobs, run_tests};
use crate::output::file::write_whole;
use anyhow::{Context, anyhow};
use std::io;
use std::path::{Path, PathBuf};

/// What `meterflow test` runs and where it reports.
pub struct Settings {
    /// Test files, job files with `tests:`, or folders holding them.
    pub(crate) paths: Vec<PathBuf>,
    /// Only the tests whose name contains this.
    pub(crate) filter: Option<String>,
    /// A JUnit XML report, for CI systems.
    pub(crate) junit: Option<PathBuf>,
    /// Rewrite the `expect_file` of each test whose output alone differs.
    pub(crate) bless: bool,
}

pub(crate) fn test(args: Settings) -> Result<(), Failure> {
    let tests = load_tests(&args.paths).map_err(Failure::Jobs)?;
    if tests.is_empty() {
        let named: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Failure::Usage(anyhow!(
            "no tests found in {}: write a `tests:` block in a job file or a <job>.test.yaml file",
            named.join(", ")
        )));
    }
    let tests = match &args.filter {
        Some(text) => {
            let kept: Vec<UnitTest> = tests.into_iter().filter(|t| t.name.contains(text.as_str())).collect();
            if kept.is_empty() {
                return Err(Failure::Usage(anyhow!("--filter: no test name contains {text:?}")));
            }
            kept
        }
        None => tests,
    };
    check_jobs(&tests).map_err(Failure::Jobs)?;
    check_writes(&tests, args.junit.as_deref(), args.bless).map_err(Failure::Usage)?;
    let outcomes = run_tests(&tests, args.bless, &mut io::stdout().lock()).context("failed to write to stdout")?;
    if let Some(path) = &args.junit {
        write_whole(path, junit::report(&tests, &outcomes).as_bytes())
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    if outcomes.iter().any(|o| o.failure.is_some()) { Err(Failure::Silent(1)) } else { Ok(()) }
}

/// What `test` writes (the report on stdout, `--junit`, and with `--bless` the expected-output
/// files) checked against every file the tests read; an expected-output file is read unless it is
/// being blessed, and one shared by several tests is written once.
fn check_writes(tests: &[UnitTest], junit: Option<&Path>, bless: bool) -> anyhow::Result<()> {
    let mut reads = Vec::new();
    let mut blessed: Vec<&Path> = Vec::new();
    for t in tests {
        reads.push(Read::new("the test file", &t.file));
        reads.push(Read::new("the job file", &t.job));
        reads.extend(t.input.path.iter().map(|path| Read::new("the test input", path)));
        let late = t.expect_late.iter().filter_map(|e| e.path.as_ref());
        reads.extend(late.map(|path| Read::new("the expected late rows", path)));
        for path in t.expect.iter().filter_map(|e| e.path.as_deref()) {
            match bless {
                true if !blessed.contains(&path) => blessed.push(path),
                true => {}
                false => reads.push(Read::new("the expected output", path)),
            }
        }
    }
    let mut writes = vec![Written::stdout("the report", false)];
    writes.extend(junit.map(|path| Written::file("--junit", path)));
    writes.extend(blessed.into_iter().map(|path| Written::file("--bless", path)));
    clobber::check(&reads, &writes)
}

//! `meterflow test`: the unit tests written in job files and `<job>.test.yaml` files.

pub mod file;
pub mod junit;
pub mod runner;

use super::Failure;
use crate::commands::test::file::{UnitTest, load_tests};
use crate::commands::test::runner::{check_jobs, run_tests};
use anyhow::{Context, anyhow};
use std::io;
use std::path::PathBuf;

/// What `meterflow test` runs and where it reports.
pub struct Settings {
    /// Test files, job files with `tests:`, or folders holding them.
    pub paths: Vec<PathBuf>,
    /// Only the tests whose name contains this.
    pub filter: Option<String>,
    /// A JUnit XML report, for CI systems.
    pub junit: Option<PathBuf>,
    /// Rewrite the `expect_file` of each test whose output alone differs.
    pub bless: bool,
}

pub fn test(args: Settings) -> Result<(), Failure> {
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
    let outcomes = run_tests(&tests, args.bless, &mut io::stdout().lock()).context("failed to write to stdout")?;
    if let Some(path) = &args.junit {
        std::fs::write(path, junit::report(&tests, &outcomes))
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    if outcomes.iter().any(|o| o.failure.is_some()) { Err(Failure::Silent(1)) } else { Ok(()) }
}

//! `meterflow test`: the unit tests written in job files and `<job>.test.yaml` files.

use crate::cli::TestArgs;
use crate::failure::Failure;
use crate::job::unit_test::load_tests;
use crate::test_runner::{check_jobs, run_tests};
use anyhow::{Context, anyhow};
use std::io;

pub fn test(args: TestArgs) -> Result<(), Failure> {
    let tests = load_tests(&args.paths).map_err(Failure::Jobs)?;
    if tests.is_empty() {
        let named: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Failure::Usage(anyhow!(
            "no tests found in {}: write a `tests:` block in a job file or a <job>.test.yaml file",
            named.join(", ")
        )));
    }
    check_jobs(&tests).map_err(Failure::Jobs)?;
    let (_, failed) = run_tests(&tests, &mut io::stdout().lock()).context("failed to write to stdout")?;
    if failed > 0 { Err(Failure::Silent(1)) } else { Ok(()) }
}

//! How a command can fail: [`Failure`], which `main` maps to an exit code (0 for a closed stdout,
//! 1 for data and I/O errors, 2 for usage and job-file errors).

use crate::job::JobErrors;
use std::io;

/// How a run can fail; `main` maps each to an exit code.
#[derive(Debug)]
pub enum Failure {
    /// stdout was closed by the reader (e.g. `| head`): not an error.
    BrokenPipe,
    /// Job files with problems (exit 2).
    Jobs(JobErrors),
    /// Bad flags (exit 2).
    Usage(anyhow::Error),
    /// Data or I/O error during the run (exit 1).
    Run(anyhow::Error),
    /// Already reported on stdout (failed tests, `validate --format json`): exit with this code.
    Silent(u8),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        if is_broken_pipe(&e) { Failure::BrokenPipe } else { Failure::Run(e) }
    }
}

/// Whether `e` comes from writing to a pipe whose reader has gone.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe))
}

//! The subcommands, one unit each (a file, or a folder for the larger ones): each takes plain
//! settings that `cli` resolved from the flags, and returns `Ok` or a [`Failure`], whose class
//! `main` turns into the exit status. Warnings reach the user through [`warnings::Warnings`],
//! the one place that makes them errors under `--strict`.

pub mod clobber;
pub mod explain;
pub mod failure;
pub mod partition_keys;
#[cfg(feature = "plot")]
pub mod plot;
pub mod run;
pub mod schema;
pub mod sniff;
pub mod state;
pub mod stderr;
pub mod test;
pub mod validate;
pub mod warnings;

pub use failure::{Failure, is_broken_pipe};

use anyhow::Context;
use std::io::{self, Write};

/// Writes `text` to stdout.
pub(crate) fn print(text: &str) -> Result<(), Failure> {
    io::stdout().lock().write_all(text.as_bytes()).context("failed to write to stdout")?;
    Ok(())
}

/// One input of a run: its path (`-` is stdin), its name in messages, and whether it is live (a
/// pipe, FIFO, terminal or socket, read as its lines arrive).
#[derive(Debug, Clone)]
pub(crate) struct InputPath {
    pub(crate) path: String,
    pub(crate) name: String,
    pub(crate) live: bool,
}

/// How a report is written: for people, or as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportFormat {
    Text,
    Json,
}

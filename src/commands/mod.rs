//! The command-line layer's subcommands, one file each: each takes its clap arguments, resolves
//! them into the library's plain settings once, and runs. Only this layer and [`crate::cli`] know
//! clap.

pub mod completions;
pub mod explain;
pub mod man;
pub mod partition_keys;
pub mod plot;
pub mod run;
pub mod schema;
pub mod test;
pub mod validate;

use crate::failure::Failure;
use anyhow::Context;
use std::io::{self, Write};

/// Writes `text` to stdout.
pub fn print(text: &str) -> Result<(), Failure> {
    io::stdout().lock().write_all(text.as_bytes()).context("failed to write to stdout")?;
    Ok(())
}

/// The `--input` paths with their names in messages: stdin (`-`) when none is given.
fn input_paths(inputs: &[String]) -> Vec<(String, String)> {
    let paths = if inputs.is_empty() { vec!["-".to_string()] } else { inputs.to_vec() };
    paths
        .into_iter()
        .map(|path| {
            let display = if path == "-" { "<stdin>".to_string() } else { path.clone() };
            (path, display)
        })
        .collect()
}

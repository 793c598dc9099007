//! The command-line layer's subcommands, one file each: each takes its clap arguments, resolves
//! them into the library's plain settings once, and runs. Only this layer and [`crate::cli`] know
//! clap.

pub mod explain;
pub mod failure;
pub mod partition_keys;
pub mod plot;
pub mod run;
pub mod schema;
pub mod sniff;
pub mod state;
pub mod test;
pub mod validate;
pub mod warnings;

pub use failure::Failure;

use crate::cli::InputArgs;

use crate::input::InputSettings;
use anyhow::{Context, anyhow};
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

/// The input settings of a command: `--input-config`'s file, if given, with the flags laid over it.
pub fn input_settings(args: &InputArgs) -> Result<InputSettings, Failure> {
    let Some(path) = &args.input_config else { return Ok(args.settings()) };
    let file = path.display().to_string();
    let source = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(anyhow!("--input-config: failed to read {file}: {e}")))?;
    match crate::input::config::parse(&file, &source) {
        Ok(base) => Ok(args.over(base)),
        Err(problems) => {
            let shown: String = problems.iter().map(ToString::to_string).collect();
            let n = problems.len();
            Err(Failure::Usage(anyhow!(
                "{shown}{n} problem{} found in the input config {file}",
                if n == 1 { "" } else { "s" }
            )))
        }
    }
}

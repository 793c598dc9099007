//! Exit-code policy only: 0 on success (also when stdout is closed early), 1 for data and I/O
//! errors during a run, 2 for usage and job-file errors. Errors are printed once, here.

use clap::Parser;
use meterflow::cli::Cli;
use meterflow::cli::dispatch;
use meterflow::commands::failure::Failure;
use meterflow::commands::stderr::say;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch::main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Jobs(errors)) => {
            say(errors);
            ExitCode::from(2)
        }
        Err(Failure::Usage(e)) => {
            say(format_args!("error: {e:#}"));
            ExitCode::from(2)
        }
        Err(Failure::Silent(code)) => ExitCode::from(code),
        Err(Failure::Run(e)) => {
            say(format_args!("error: {e:#}"));
            ExitCode::from(1)
        }
    }
}

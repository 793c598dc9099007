//! `meterflow completions SHELL`: a shell completion script generated from the command line.

use super::args::{Cli, CompletionsArgs};
use crate::commands::failure::Failure;
use crate::commands::print;
use clap::CommandFactory;

pub(crate) fn completions(args: CompletionsArgs) -> Result<(), Failure> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "meterflow", &mut out);
    print(&String::from_utf8_lossy(&out))
}

//! One invocation: the subcommand dispatched to its file under [`crate::commands`].

use crate::cli::{Cli, Command};
use crate::commands;
use crate::commands::failure::Failure;

pub fn main(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Run(args) => commands::run::run(*args),
        Command::Validate(args) => commands::validate::validate(args),
        Command::Test(args) => commands::test::test(args),
        Command::Explain(args) => commands::explain::explain(&args.jobs),
        Command::Schema => commands::schema::schema(),
        Command::Completions(args) => crate::cli::completions::completions(args),
        Command::Man(args) => crate::cli::man::man(args),
        Command::Plot(args) => commands::plot::plot(*args),
        Command::Sniff(args) => commands::sniff::sniff(*args),
        Command::State(args) => commands::state::state(args),
        Command::PartitionKeys(args) => commands::partition_keys::partition_keys(&args),
    }
}

//! One invocation: the flags resolved into the subcommand's settings, then the command run.

use super::args::{Cli, Command};
use super::settings;
use crate::commands::{self, Failure};

pub fn main(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Run(args) => commands::run::run(settings::run(*args)?),
        Command::Validate(args) => commands::validate::validate(&args.jobs, settings::validate(&args), args.strict),
        Command::Test(args) => commands::test::test(settings::test(args)),
        Command::Explain(args) => commands::explain::explain(&args.jobs),
        Command::Schema => commands::schema::schema(),
        Command::Completions(args) => super::completions::completions(args),
        Command::Man(args) => super::man::man(args),
        #[cfg(feature = "plot")]
        Command::Plot(args) => commands::plot::plot(settings::plot(*args)?),
        Command::Sniff(args) => commands::sniff::sniff(settings::sniff(*args)?),
        Command::State(args) => {
            let (file, format) = settings::state(args)?;
            commands::state::show_state(&file, format)
        }
        Command::PartitionKeys(args) => commands::partition_keys::partition_keys(&settings::partition_keys(&args)?),
    }
}

//! `meterflow man [SUBCOMMAND]`: the manual page (roff), generated from the command line.

use super::args::{Cli, ManArgs};
use crate::commands::failure::Failure;
use crate::commands::print;
use anyhow::{Context, anyhow};
use clap::CommandFactory;

pub(crate) fn man(args: ManArgs) -> Result<(), Failure> {
    let mut command = Cli::command();
    command.build();
    let page = match &args.subcommand {
        None => command,
        Some(name) => {
            let Some(sub) = command.find_subcommand(name) else {
                let names: Vec<&str> = command
                    .get_subcommands()
                    .filter(|c| !c.is_hide_set())
                    .map(|c| c.get_name())
                    .filter(|n| *n != "help")
                    .collect();
                return Err(Failure::Usage(anyhow!("no subcommand `{name}`; expected one of {}", names.join(", "))));
            };
            // The page of `meterflow run` is titled meterflow-run, as git and cargo name theirs.
            sub.clone().name(format!("meterflow-{name}"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out).context("failed to render the manual page")?;
    print(&String::from_utf8_lossy(&out))
}

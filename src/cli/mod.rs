//! The command line, the only folder that knows clap: [`args`] as clap parses them, [`settings`]
//! resolving them into each command's settings in one phase (every flag check, every usage
//! error), [`dispatch`] handing them to the command; the shell completions and manual pages are
//! generated from the same definitions.

pub mod args;
pub mod completions;
pub mod dispatch;
pub mod man;
pub mod settings;

pub use args::Cli;

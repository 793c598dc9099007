//! The command line as a user meets it: the golden cases of tests/cases/, flags, inputs, outputs,
//! messages, sniff, the tooling subcommands and the real meter files.

#[path = "../support/mod.rs"]
pub mod support;

mod basics;
mod bounds;
mod cases;
mod decimal;
mod first_steps;
mod inputs;
mod job_messages;
mod outputs;
mod parquet;
mod realdata;
mod reference;
mod sandbox;
mod sniff;
mod stdin;
mod strict;
mod test_options;
mod time;
mod tooling;

//! The command line as a user meets it: the golden cases of tests/cases/, flags, inputs, outputs,
//! messages, the malformed-input corpus, sniff, the tooling subcommands and the real meter files.

#[path = "../support/mod.rs"]
pub mod support;

mod basics;
mod cases;
mod decimal;
mod first_steps;
mod inputs;
mod job_messages;
mod malformed;
mod outputs;
mod parquet;
mod realdata;
mod sniff;
mod stdin;
mod strict;
mod test_options;
mod tooling;

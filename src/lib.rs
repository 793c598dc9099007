//! meterflow: the stream service's Time Window Aggregation and Multi-Point Merging jobs, run
//! offline over CSV meter readings. Data flows one way: YAML -> [`job`] plans -> [`engine`];
//! CSV -> [`input`] readings -> [`engine`] -> [`output`]. The command-line layer ([`cli`],
//! [`commands`], the dispatch in [`app`] and [`failure`]) is the only one that knows clap: it
//! resolves flags into the plain settings the library takes (`tests/architecture.rs` holds every
//! module to it).

pub mod app;
pub mod cli;
pub mod commands;
pub mod database;
pub mod duration;
pub mod engine;
pub mod explain;
pub mod expr;
pub mod failure;
pub mod idle;
pub mod input;
pub mod intern;
pub mod job;
pub mod junit;
pub mod live_output;
pub mod output;
pub mod partition_keys;
pub mod plot;
pub mod progress;
pub mod replay;
pub mod report;
pub mod run_options;
pub mod schema;
pub mod signals;
pub mod sniff;
pub mod state;
pub mod test_runner;
pub mod threshold;
pub mod time;
pub mod write_thread;
pub mod zone;

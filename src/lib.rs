//! meterflow: the stream service's Time Window Aggregation and Multi-Point Merging jobs, run
//! offline over CSV meter readings. Each folder owns one role and imports only the folders below
//! it on this ladder (`tests/architecture.rs` holds every module to it):
//!
//! ```text
//! main.rs        exit-code policy
//! cli            the command line (the only folder that knows clap): flags resolved into settings
//! commands       one unit per subcommand: plain settings in, a Failure (exit class) out
//! replay         reader -> pipeline -> Output, the idle clock, the saved-run state
//! input | output bytes -> readings | points -> bytes (encoders, writers, database); never each other
//! engine         the operators: synchronous, free of I/O and clocks; interned names
//! job            YAML job files -> checked plans (thresholds, expressions, run options)
//! yaml | time    the located YAML walk and diagnostics | timestamps, durations, time zones
//! text           how messages write counts (`1 row`, `2 rows`)
//! ```

pub mod cli;
pub mod commands;
pub mod engine;
pub mod input;
pub mod job;
pub mod output;
pub mod replay;
pub mod text;
pub mod time;
pub mod yaml;

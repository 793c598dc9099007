//! meterflow: the stream service's Time Window Aggregation and Multi-Point Merging jobs, run
//! offline over CSV meter readings. Data flows one way: YAML -> [`job`] plans -> [`engine`];
//! CSV -> [`input`] readings -> [`engine`] -> [`output`]. [`app`] wires one run.

pub mod app;
pub mod cli;
pub mod duration;
pub mod engine;
pub mod explain;
pub mod expr;
pub mod input;
pub mod intern;
pub mod job;
pub mod output;
pub mod plot;
pub mod progress;
pub mod replay;
pub mod schema;
pub mod test_runner;
pub mod threshold;
pub mod time;
pub mod write_thread;
pub mod zone;

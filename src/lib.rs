//! meterflow: the stream service's Time Window Aggregation and Multi-Point Merging jobs, run
//! offline over CSV meter readings. Data flows one way: YAML -> [`job`] plans -> [`engine`];
//! CSV -> [`input`] readings (made fast by [`fast_long`]) -> [`engine`] -> [`output`] (on its own
//! thread through [`writer`]). [`app`] wires one run.

pub mod app;
pub mod cli;
pub mod duration;
pub mod engine;
pub mod expr;
pub mod fast_long;
pub mod input;
pub mod intern;
pub mod job;
pub mod output;
pub mod threshold;
pub mod time;
pub mod writer;

//! The command line as a user meets it: the golden cases of tests/cases/, flags, inputs, outputs,
//! messages, sniff, the tooling subcommands and the real meter files.

#[path = "../support/mod.rs"]
pub mod support;

/// Three readings of one meter for the seed's max/min job.
const SEED_INPUT: &str = "timestamp,asset,point,value\n\
    2024-01-01T00:01:00Z,m1,Reading,5\n\
    2024-01-01T00:02:00Z,m1,Reading,7\n\
    2024-01-01T00:11:00Z,m1,Reading,3\n";

/// The seed's max/min job on [`SEED_INPUT`], worked out by hand: max 7 / min 5 for window 00:00,
/// 3 / 3 for window 00:10, written at end of input (latency 1d).
const SEED_EXPECTED: &str = "timestamp,asset,point,value\n\
    2024-01-01T00:00:00.000Z,m1,MaxReading10Min,7\n\
    2024-01-01T00:00:00.000Z,m1,MinReading10Min,5\n\
    2024-01-01T00:10:00.000Z,m1,MaxReading10Min,3\n\
    2024-01-01T00:10:00.000Z,m1,MinReading10Min,3\n";

mod basics;
mod bounds;
mod cases;
mod decimal;
mod encodings;
mod first_steps;
mod inputs;
mod interval_end;
mod job_messages;
mod line_protocol;
mod outputs;
mod parquet;
mod realdata;
mod reference;
mod sandbox;
mod shard_properties;
mod shards;
mod sniff;
mod stdin;
mod strict;
mod test_options;
mod time;
mod tooling;

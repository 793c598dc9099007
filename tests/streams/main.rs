//! Runs that live in time: live pipes, idle timeouts, signals, and incremental replays with a
//! saved state. Kept in a binary of their own: they wait on processes and should not share a
//! test process with the many short runs of the other binaries.

#[path = "../support/mod.rs"]
pub mod support;

mod changed;
mod durable;
mod idle;
mod live;
mod signals;
mod state;
mod stopping;

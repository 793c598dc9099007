//! The PostgreSQL output against a real server the tests start (initdb in a temporary folder as
//! the `postgres` user, on 127.0.0.1).

#[path = "../support/mod.rs"]
pub mod support;

mod server;
mod tests;
mod tls;

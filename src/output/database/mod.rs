//! The database output of `run`: output points upserted into a PostgreSQL (or TimescaleDB) table
//! named by a `postgresql://` URI. [`target`] reads the URI, [`pgpass`] finds the password as
//! libpq does, [`tls`] sets up TLS as `sslmode` says, [`table`] owns the DDL and the upsert,
//! [`sink`] sends the batches.

pub mod pgpass;
pub mod server_error;
pub mod sink;
pub mod table;
pub mod target;
pub mod tls;

pub use sink::{DatabaseSink, SinkOptions};
pub use target::Target;

/// The process environment, as libpq reads it.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

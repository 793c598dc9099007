//! `meterflow partition-keys` (hidden): the Spark runner's plumbing, see [`keys`].

pub mod keys;

use super::Failure;
use crate::input::{self, InputOptions};
use std::io::{self, BufWriter};

/// What `partition-keys` does, resolved from its flags.
pub struct Settings {
    pub(crate) options: InputOptions,
    /// Say where the header puts a row's asset instead of keying every record.
    pub(crate) describe: bool,
}

pub(crate) fn partition_keys(settings: &Settings) -> Result<(), Failure> {
    // Rust's stdout flushes at every line break on a pipe: one write(2) per row without the buffer.
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    if settings.describe {
        return Ok(keys::describe(&settings.options, input::open("-")?, &mut out)?);
    }
    Ok(keys::write_keys(&settings.options, input::open("-")?, &mut out)?)
}

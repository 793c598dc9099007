//! `meterflow partition-keys` (hidden): the Spark runner's plumbing, see [`crate::partition_keys`].

use super::input_settings;
use crate::cli::InputArgs;
use crate::failure::Failure;
use crate::input::{self, InputOptions};
use std::io::{self, BufWriter};

pub fn partition_keys(args: &InputArgs) -> Result<(), Failure> {
    let options = InputOptions::from_settings(&input_settings(args)?).map_err(Failure::Usage)?;
    // Rust's stdout flushes at every line break on a pipe: one write(2) per row without the buffer.
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    Ok(crate::partition_keys::write_keys(&options, input::open("-")?, &mut out)?)
}

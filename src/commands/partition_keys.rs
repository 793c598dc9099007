//! `meterflow partition-keys` (hidden): the Spark runner's plumbing, see [`crate::partition_keys`].

use super::input_settings;
use crate::cli::PartitionKeysArgs;
use crate::failure::Failure;
use crate::input::{self, InputOptions};
use std::io::{self, BufWriter};

pub fn partition_keys(args: &PartitionKeysArgs) -> Result<(), Failure> {
    let options = InputOptions::from_settings(&input_settings(&args.input)?).map_err(Failure::Usage)?;
    // Rust's stdout flushes at every line break on a pipe: one write(2) per row without the buffer.
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    if args.describe {
        return Ok(crate::partition_keys::describe(&options, input::open("-")?, &mut out)?);
    }
    Ok(crate::partition_keys::write_keys(&options, input::open("-")?, &mut out)?)
}

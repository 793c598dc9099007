//! `meterflow partition-keys` (hidden): the Spark runner's plumbing, see [`keys`].

pub mod keys;

use super::Failure;
use crate::input::{self, InputOptions};
use std::io;

pub fn partition_keys(options: &InputOptions) -> Result<(), Failure> {
    Ok(keys::write_keys(options, input::open("-")?, &mut io::stdout().lock())?)
}

//! `meterflow partition-keys` (hidden): the Spark runner's plumbing, see [`crate::commands::partition_keys::keys`].

pub mod keys;

use super::input_settings;
use crate::cli::InputArgs;
use crate::commands::failure::Failure;
use crate::input::{self, InputOptions};
use std::io;

pub fn partition_keys(args: &InputArgs) -> Result<(), Failure> {
    let options = InputOptions::from_settings(&input_settings(args)?).map_err(Failure::Usage)?;
    Ok(keys::write_keys(&options, input::open("-")?, &mut io::stdout().lock())?)
}

//! `meterflow state show FILE`: what a state file of an incremental replay holds.

pub mod show;

use super::{Failure, ReportFormat, print};
use crate::replay::state::file::DecodeError;
use crate::replay::state::saved::SavedState;
use anyhow::{Context, anyhow};
use std::path::Path;

/// `meterflow state show FILE`.
pub(crate) fn show_state(file: &Path, format: ReportFormat) -> Result<(), Failure> {
    let shown = file.display().to_string();
    let bytes = std::fs::read(file).map_err(|e| Failure::Usage(anyhow!("failed to read {shown}: {e}")))?;
    if bytes.is_empty() {
        return Err(Failure::Usage(anyhow!(
            "{shown} is empty: no run has saved a state in it yet (a run made it to hold its lock, and is running or \
             was killed before it saved)"
        )));
    }
    let saved = SavedState::decode(&bytes).map_err(|e| match e {
        DecodeError::Foreign | DecodeError::NewerVersion { .. } | DecodeError::OlderVersion { .. } => {
            Failure::Usage(anyhow!("{shown}: {e}"))
        }
        DecodeError::Truncated { .. } | DecodeError::Damaged(_) => Failure::Run(anyhow!("{shown}: {e}")),
    })?;
    let report = show::report(&saved);
    match format {
        ReportFormat::Text => print(&show::text(&shown, &report)),
        ReportFormat::Json => {
            let mut text = serde_json::to_string_pretty(&report).context("failed to encode the state as JSON")?;
            text.push('\n');
            print(&text)
        }
    }
}

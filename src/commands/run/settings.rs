//! What a run is given: its settings, resolved and checked from the command line by `cli`.

use super::progress::ProgressMode;
use crate::commands::InputPath;
use crate::engine::EngineOptions;
use crate::input::InputOptions;
use crate::output::Format;
use std::path::PathBuf;

/// Everything a run needs, resolved and checked from the command line.
pub struct Settings {
    pub jobs: Vec<PathBuf>,
    pub inputs: Vec<InputPath>,
    pub input: InputOptions,
    /// `--rejects`: where skipped bad rows are recorded.
    pub rejects: Option<PathBuf>,
    pub max_bad_rows: Option<u64>,
    pub engine: EngineOptions,
    pub outputs: OutputSettings,
    pub state: Option<StateSettings>,
    /// `--idle-timeout` in ms (live input, series watermarks only).
    pub idle_timeout: Option<i64>,
    /// Threads parsing input (1: everything on one thread).
    pub threads: usize,
    pub strict: bool,
    pub quiet: bool,
    pub progress: ProgressMode,
}

/// Where a run writes.
pub struct OutputSettings {
    pub points: PointsTo,
    pub format: Format,
    pub decimals: Option<u8>,
    pub late: Option<PathBuf>,
    pub stats_json: Option<PathBuf>,
}

/// The destination of output points.
pub enum PointsTo {
    /// A file, or stdout for `-`.
    File(PathBuf),
    #[cfg(feature = "database")]
    Database(super::database::DatabaseSettings),
}

/// `--state` and the flags that go with it.
pub struct StateSettings {
    pub path: PathBuf,
    pub finish: bool,
    pub allow_repeated_input: bool,
}

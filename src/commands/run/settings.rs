//! What a run is given: its settings, resolved and checked from the command line by `cli`.

use super::progress::ProgressMode;
use crate::commands::InputPath;
use crate::engine::EngineOptions;
use crate::input::InputOptions;
use crate::output::Format;
use std::path::PathBuf;

/// Everything a run needs, resolved and checked from the command line.
pub struct Settings {
    pub(crate) jobs: Vec<PathBuf>,
    pub(crate) inputs: Vec<InputPath>,
    pub(crate) input: InputOptions,
    /// `--rejects`: where skipped bad rows are recorded.
    pub(crate) rejects: Option<PathBuf>,
    pub(crate) max_bad_rows: Option<u64>,
    pub(crate) engine: EngineOptions,
    pub(crate) outputs: OutputSettings,
    pub(crate) state: Option<StateSettings>,
    /// `--idle-timeout` in ms (live input, series watermarks only).
    pub(crate) idle_timeout: Option<i64>,
    /// Threads parsing input (1: everything on one thread).
    pub(crate) threads: usize,
    /// `--shards`: threads running the jobs, each on its share of the assets (1: the main thread).
    pub(crate) shards: usize,
    pub(crate) strict: bool,
    pub(crate) quiet: bool,
    pub(crate) progress: ProgressMode,
}

/// Where a run writes.
pub struct OutputSettings {
    pub(crate) points: PointsTo,
    pub(crate) format: Format,
    pub(crate) decimals: Option<u8>,
    pub(crate) late: Option<PathBuf>,
    pub(crate) stats_json: Option<PathBuf>,
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
    pub(crate) path: PathBuf,
    pub(crate) finish: bool,
    pub(crate) allow_repeated_input: bool,
}

//! The run options a job's unit test may set as well as the command line: which view of the
//! results is written and how far event time is shared. They sit below both the engine, which
//! runs with them, and the job loader, which reads them from test files, so neither reaches into
//! the other for them.

/// Which view of the results is written (contract section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmitMode {
    /// One row per key with its value after every accepted reading.
    #[default]
    Final,
    /// A row when a window closes and one more for each late change.
    Updates,
}

impl EmitMode {
    /// The spelling of each mode in test files (`emit:`), as `run --emit` spells it.
    pub(crate) const NAMES: [(&'static str, EmitMode); 2] =
        [("final", EmitMode::Final), ("updates", EmitMode::Updates)];
}

/// How far event time is shared between series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WatermarkScope {
    /// One watermark per series (asset x input point).
    #[default]
    Series,
    /// One per asset, over all the job's input readings of the asset.
    Asset,
    /// One for the whole job.
    Global,
}

impl WatermarkScope {
    /// The spelling of each scope in test files (`watermark:`), as `run --watermark` spells it.
    pub(crate) const NAMES: [(&'static str, WatermarkScope); 3] =
        [("series", WatermarkScope::Series), ("asset", WatermarkScope::Asset), ("global", WatermarkScope::Global)];
}

/// What a job does with a *repeat*: a reading whose (asset, point, timestamp) it has already read
/// while the windows (or merge ticks) it belongs to can still change. See docs/reference/contract.md,
/// "Repeated readings and revisions".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Duplicates {
    /// The repeat replaces the earlier value, as a time-series database upserts: a correction.
    Last,
    /// The repeat is dropped: the value read first stays. The default: see docs/reference/contract.md.
    #[default]
    First,
    /// The repeat is aggregated again, as a new reading (the behaviour before the rule).
    Keep,
}

impl Duplicates {
    /// The spelling of each rule in job files (`duplicates:`) and on the command line.
    pub(crate) const NAMES: [(&'static str, Duplicates); 3] =
        [("last", Duplicates::Last), ("first", Duplicates::First), ("keep", Duplicates::Keep)];

    pub(crate) fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, d)| *d == self).map_or("?", |(n, _)| n)
    }
}

/// Run-wide engine settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineOptions {
    pub emit: EmitMode,
    pub watermark: WatermarkScope,
    /// Overrides every job's `max_future_skew` when set.
    pub max_future_skew: Option<i64>,
    /// The most windows the window jobs may hold open together; see [`crate::engine::Pipeline::runaway`].
    pub max_open_windows: Option<u64>,
    /// `--duplicates`: overrides every job's `duplicates` rule when set.
    pub duplicates: Option<Duplicates>,
    /// The most readings the jobs may keep to recognise repeats; see [`crate::engine::Pipeline::runaway`].
    pub max_open_readings: Option<u64>,
    /// The most operand series one merge job may hold; see [`crate::engine::Pipeline::runaway_merge`].
    pub max_merge_series: Option<u64>,
}

//! What each job did: the figures of the run summary and `--stats-json`.

use super::watermark::NO_WATERMARK;
use crate::job::{Job, JobKind};
use crate::time::format_timestamp;
use serde::{Deserialize, Serialize, Serializer};

/// How many skipped evaluations of each cause are described individually.
pub const SAMPLES_PER_JOB: usize = 5;

/// Figures of one window policy (one output point). Field order is the order of `--stats-json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyStats {
    /// The point the policy reads.
    pub input: String,
    pub output: String,
    /// Readings of the policy's input point.
    pub read: u64,
    /// Readings added to at least one window (on time or late within lateness).
    pub valid: u64,
    pub out_of_threshold: u64,
    /// Out-of-threshold readings replaced by the series' last valid value (`last_value`).
    pub interpolated: u64,
    /// Readings added to at least one window that had closed.
    pub late_accepted: u64,
    /// Readings dropped from every window they belong to: they changed nothing.
    pub late_dropped: u64,
    /// Readings added to some of their (sliding) windows and too late for others.
    pub partially_late: u64,
    /// The windows those partially late readings missed.
    pub windows_missed: u64,
    pub rows_written: u64,
    /// Windows whose sum or average overflowed the float range: no row written.
    pub non_finite: u64,
}

/// Why a merge evaluation wrote no row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeSkips {
    pub missing_operand: u64,
    /// An operand's latest value was older than the job's `max_age`.
    pub stale_operand: u64,
    pub eval_error: u64,
    pub non_finite: u64,
    pub empty: u64,
    /// The first few skips, with asset and timestamp: written with their asset's name by the
    /// report, which has the name table.
    #[serde(skip)]
    pub samples: Vec<SkipSample>,
}

/// One merge evaluation that wrote no row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipSample {
    pub asset: u32,
    pub ts: i64,
    pub reason: String,
}

/// Rows a merge policy wrote from an operand value carried over from before the previous trigger
/// time (the previous tick, or the trigger point's previous reading of the asset): the value had
/// not changed since a row was last evaluated, as when a meter went silent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedOver {
    /// The policy's output point.
    pub output: String,
    /// The job's `max_age`, which would have left such rows out.
    pub max_age: Option<i64>,
    /// The trigger period of a frequency trigger.
    pub every: Option<i64>,
    pub rows: u64,
    /// The oldest operand value among them: its age at the trigger time, in ms.
    pub oldest_age: i64,
    /// The first such row.
    pub example: Option<CarriedExample>,
}

/// One row written from a carried-over operand value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedExample {
    pub asset: u32,
    /// The trigger time.
    pub ts: i64,
    /// The operand, as the job names it.
    pub operand: String,
    /// Its value's age at the trigger time, in ms.
    pub age: i64,
}

/// Figures of one job. Field order is the order of `--stats-json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStats {
    pub name: String,
    pub file: String,
    pub rows_read: u64,
    /// Readings no policy dropped as late (they may still be out of threshold).
    pub kept: u64,
    pub rows_written: u64,
    /// Readings dropped as late: by at least one policy of a window job, or by a merge.
    pub late_dropped: u64,
    /// Readings of a window job kept by every policy but too late for some of their sliding
    /// windows: each is a row of the late output too.
    pub partially_late: u64,
    pub future_skewed: u64,
    /// Readings left out by the job's `quality` condition, before anything else (not in `rows_read`).
    pub quality_filtered: u64,
    /// Most windows open at once (window jobs), the figure `--max-open-windows` bounds.
    pub peak_open_windows: u64,
    /// Largest watermark of the job, [`NO_WATERMARK`] when it read nothing (`null` in JSON).
    #[serde(serialize_with = "watermark_json")]
    pub final_watermark: i64,
    pub policies: Vec<PolicyStats>,
    /// Written as `merge_skipped` by the report, with the samples' asset names.
    #[serde(skip)]
    pub merge: MergeSkips,
    /// Per merge policy, written as `carried_over` by the report, with the example's asset name.
    #[serde(skip)]
    pub carried: Vec<CarriedOver>,
}

/// A watermark as its timestamp text, or `null` when there is none. A binary format (the state
/// file) keeps the number itself, which the derived `Deserialize` reads back.
fn watermark_json<S: Serializer>(ms: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    if !serializer.is_human_readable() {
        return serializer.serialize_i64(*ms);
    }
    if *ms == NO_WATERMARK {
        return serializer.serialize_none();
    }
    let mut text = Vec::with_capacity(24);
    format_timestamp(*ms, &mut text);
    serializer.serialize_str(&String::from_utf8_lossy(&text))
}

impl JobStats {
    pub fn new(job: &Job) -> JobStats {
        let policies = match &job.kind {
            JobKind::Window(w) => w
                .policies
                .iter()
                .map(|p| PolicyStats { input: p.input.clone(), output: p.output.clone(), ..PolicyStats::default() })
                .collect(),
            JobKind::Merge(_) => Vec::new(),
        };
        let carried = match &job.kind {
            JobKind::Window(_) => Vec::new(),
            JobKind::Merge(m) => m
                .policies
                .iter()
                .map(|p| CarriedOver {
                    output: p.output.clone(),
                    max_age: m.max_age,
                    every: match m.trigger {
                        crate::job::Trigger::Frequency { every } => Some(every),
                        crate::job::Trigger::Point => None,
                    },
                    ..CarriedOver::default()
                })
                .collect(),
        };
        JobStats {
            name: job.name.clone(),
            file: job.file.clone(),
            rows_read: 0,
            kept: 0,
            policies,
            merge: MergeSkips::default(),
            carried,
            late_dropped: 0,
            partially_late: 0,
            future_skewed: 0,
            quality_filtered: 0,
            rows_written: 0,
            peak_open_windows: 0,
            final_watermark: NO_WATERMARK,
        }
    }
}

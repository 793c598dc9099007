//! Jobs as the engine takes them: the validated plan of each job file. Everything here has been
//! checked (durations parsed, thresholds parsed, expressions compiled, point names resolved), so
//! the engine never meets an unchecked option. The readers (`read_window`, `read_merge`) turn YAML
//! files into these.

use crate::job::expr::Expression;
use crate::job::options::Duplicates;
use crate::job::threshold::Threshold;
use crate::time::period::Period;
use crate::yaml::diagnostic::Diagnostic;
use chrono_tz::Tz;

/// A loaded job file.
pub struct Job {
    pub name: String,
    /// The file as the user named it, for messages.
    pub file: String,
    pub model: String,
    pub kind: JobKind,
    /// What `validate` warns about (e.g. windows that could hold unbounded state); never fatal.
    pub warnings: Vec<Diagnostic>,
}

pub enum JobKind {
    Window(WindowJob),
    Merge(MergeJob),
}

/// A Time Window Aggregation job.
pub struct WindowJob {
    /// Allowed lateness in ms.
    pub latency: i64,
    /// A reading further than this ahead of its watermark does not advance it (a bad clock).
    pub max_future_skew: Option<i64>,
    pub window: WindowType,
    /// Aligns window steps to the local clock in this zone (see [`crate::time::zone`]); `None` is UTC.
    pub timezone: Option<Tz>,
    /// How far into each step windows start, in ms (`window.offset`: `6h` for a gas day).
    pub offset: i64,
    /// Only readings whose quality code lies in this interval are read; `None`: every reading.
    pub quality: Option<Threshold>,
    /// What a repeated reading does (see [`Duplicates`]).
    pub duplicates: Duplicates,
    pub policies: Vec<WindowPolicy>,
}

/// How a window job's windows follow each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowType {
    /// Adjacent windows of each policy's size (the platform's only type).
    Tumbling,
    /// Windows of each policy's size starting every `slide`; every size is a multiple of it.
    Sliding { slide: Period },
}

/// One policy of a window job: one input point aggregated into one output point.
pub struct WindowPolicy {
    pub input: String,
    pub threshold: Threshold,
    pub interpolation: Interpolation,
    pub aggregation: Aggregation,
    /// Window size, at least 1 ms or a month (a multiple of the slide for sliding windows).
    pub window_size: Period,
    pub output: String,
}

/// What happens to an input value outside the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolation {
    /// Left out of every aggregation and not counted (the platform's only choice).
    Ignore,
    /// Replaced by the series' latest valid value when that value is not later than the reading;
    /// left out otherwise (README, "Interpolation").
    LastValue,
}

impl Interpolation {
    /// The spelling of each choice in job files.
    pub const NAMES: [(&'static str, Interpolation); 2] =
        [("ignore", Interpolation::Ignore), ("last_value", Interpolation::LastValue)];
}

/// How a window's valid values become its output value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    Max,
    Min,
    Avg,
    Sum,
    Cnt,
    /// The value with the earliest timestamp (of equal ones, the last to arrive).
    First,
    /// The value with the latest timestamp (of equal ones, the last to arrive).
    Last,
    /// `max - min`.
    Range,
    /// The increase of a cumulative register over the window, counter resets included.
    Delta,
}

impl Aggregation {
    pub const NAMES: [(&'static str, Aggregation); 9] = [
        ("max", Aggregation::Max),
        ("min", Aggregation::Min),
        ("avg", Aggregation::Avg),
        ("sum", Aggregation::Sum),
        ("cnt", Aggregation::Cnt),
        ("first", Aggregation::First),
        ("last", Aggregation::Last),
        ("range", Aggregation::Range),
        ("delta", Aggregation::Delta),
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, a)| *a == self).map_or("?", |(n, _)| n)
    }
}

/// A Multi-Point Merging job.
pub struct MergeJob {
    pub trigger: Trigger,
    /// Allowed lateness in ms for raw operand readings.
    pub latency: i64,
    /// A reading further than this ahead of its series' watermark does not advance it.
    pub max_future_skew: Option<i64>,
    /// An operand value older than this (ms) at an evaluation time counts as missing.
    pub max_age: Option<i64>,
    /// Only readings whose quality code lies in this interval are read; `None`: every reading.
    pub quality: Option<Threshold>,
    /// Frequency ticks follow the local clock of this zone as windows do; `None` is UTC.
    pub timezone: Option<Tz>,
    /// Where `trigger.every` is written, for warnings about the grid of the windows it reads.
    pub tick_site: Option<Diagnostic>,
    /// What a repeated operand reading does (see [`Duplicates`]).
    pub duplicates: Duplicates,
    pub policies: Vec<MergePolicy>,
}

/// When a merge job evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// At the starts of tumbling windows of `every`, `offset` ms into each (epoch-aligned in
    /// UTC, or local in the job's time zone).
    Frequency { every: Period, offset: i64 },
    /// At each reading of the policy's trigger point.
    Point,
}

/// One output of a merge job.
pub struct MergePolicy {
    pub output: String,
    /// The point whose readings trigger evaluation (point mode only).
    pub trigger_point: Option<String>,
    pub logic: Expression,
    /// Point names of the expression's operands, in its variable order.
    pub operands: Vec<String>,
}

impl Job {
    /// The points this job reads.
    pub fn inputs(&self) -> Vec<&str> {
        let all: Vec<&str> = match &self.kind {
            JobKind::Window(w) => w.policies.iter().map(|p| p.input.as_str()).collect(),
            JobKind::Merge(m) => {
                m.policies.iter().flat_map(|p| p.trigger_point.iter().chain(&p.operands)).map(String::as_str).collect()
            }
        };
        // A set beside the list: a merge may read tens of thousands of points.
        let mut seen = std::collections::HashSet::new();
        all.into_iter().filter(|p| seen.insert(*p)).collect()
    }

    /// The points this job writes.
    pub fn outputs(&self) -> Vec<&str> {
        match &self.kind {
            JobKind::Window(w) => w.policies.iter().map(|p| p.output.as_str()).collect(),
            JobKind::Merge(m) => m.policies.iter().map(|p| p.output.as_str()).collect(),
        }
    }
}

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
    /// Where the threshold is written, for warnings about it; `None` when it is not.
    pub threshold_site: Option<Diagnostic>,
    pub interpolation: Interpolation,
    pub aggregation: Aggregation,
    /// Window size, at least 1 ms or a month (a multiple of the slide for sliding windows).
    pub window_size: Period,
    pub output: String,
    /// The register, integration and coverage rules of the policy (issue 29).
    pub rules: PolicyRules,
}

/// The options of a policy beyond the platform's six fields. Each applies to some aggregations
/// only (the loader refuses it elsewhere); the defaults are what a job that does not set them gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolicyRules {
    pub(crate) register: RegisterRules,
    pub(crate) integration: Integration,
    pub(crate) coverage: Coverage,
}

/// How `delta` reads a cumulative register.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegisterRules {
    pub(crate) boundary: Boundary,
    pub(crate) reset: Reset,
    /// A drop of at most this much is the register's noise, booked as the (negative) step it is.
    pub(crate) reset_tolerance: f64,
    /// The accepted increase per hour (after `scale`); a step outside is left out and counted.
    pub(crate) slope: Option<Threshold>,
    /// Multiplies every increase (a meter constant, a CT ratio).
    pub(crate) scale: f64,
}

/// Which window the step between two readings in different windows belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// To the earlier window (the platform's meter-reading rule).
    Previous,
    /// Split at each window edge it crosses, linearly in time.
    Interpolate,
    /// To neither window.
    None,
}

impl Boundary {
    pub(crate) const NAMES: [(&'static str, Boundary); 3] =
        [("previous", Boundary::Previous), ("interpolate", Boundary::Interpolate), ("none", Boundary::None)];
}

/// What a drop of the register (beyond `reset_tolerance`) means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reset {
    /// Reset to 0 and counted up again: the drop `a -> b` adds `b`.
    Zero,
    /// Wrapped around at this value (the register's modulus): `a -> b` adds `at - a + b`.
    Rollover { at: f64 },
    /// A new meter: the step across the drop is left out and counted.
    Exchange,
}

/// The `reset` words (`rollover` takes its value from `rollover_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResetKind {
    Zero,
    Rollover,
    Exchange,
}

impl ResetKind {
    pub(crate) const NAMES: [(&'static str, ResetKind); 3] =
        [("zero", ResetKind::Zero), ("rollover", ResetKind::Rollover), ("exchange", ResetKind::Exchange)];
}

/// How `integral` and `twa` integrate a series over time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Integration {
    pub(crate) method: Method,
    /// The time unit of the result in ms: `value x duration / unit` (kW over `1h` gives kWh).
    pub(crate) unit: i64,
    /// An interval between readings longer than this (ms) is not integrated, and counted.
    pub(crate) max_gap: Option<i64>,
}

/// The integration formula over an interval `[t1, t2)` between readings `p1`, `p2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `p1 x (t2 - t1)`: the value holds until the next reading (the platform's instant power).
    Left,
    /// `(p1 + p2) / 2 x (t2 - t1)` (the platform's average power).
    Trapezoid,
}

impl Method {
    pub(crate) const NAMES: [(&'static str, Method); 2] = [("left", Method::Left), ("trapezoid", Method::Trapezoid)];
}

/// What a window must hold to be written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coverage {
    /// The meter's reading interval in ms: a window of length `L` expects `L / interval` readings.
    pub(crate) expected_interval: Option<i64>,
    /// Below this share of the expected readings (0 to 1) a window writes no row, and is counted.
    pub(crate) min_coverage: Option<f64>,
    /// Below this many valid readings a window writes no row, and is counted.
    pub(crate) min_count: Option<u64>,
}

impl Default for PolicyRules {
    fn default() -> Self {
        PolicyRules {
            register: RegisterRules {
                // The loader sets a `delta` policy's rule (see `Boundary::default_for`).
                boundary: Boundary::None,
                reset: Reset::Zero,
                reset_tolerance: 0.0,
                slope: None,
                scale: 1.0,
            },
            integration: Integration { method: Method::Trapezoid, unit: crate::time::MS_PER_HOUR, max_gap: None },
            coverage: Coverage { expected_interval: None, min_coverage: None, min_count: None },
        }
    }
}

impl Boundary {
    /// The rule of a `delta` policy that does not set one: `previous` on tumbling windows, which
    /// books every increase once as a difference of two real readings; `none` on sliding windows,
    /// which overlap, so that no sum of them is meant to book an increase once (and `previous`
    /// does not run on them).
    pub(crate) fn default_for(sliding: bool) -> Boundary {
        if sliding { Boundary::None } else { Boundary::Previous }
    }
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
    pub(crate) const NAMES: [(&'static str, Interpolation); 2] =
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
    /// The increase of a cumulative register over the window, by the policy's [`RegisterRules`].
    Delta,
    /// The middle value (the mean of the two middle ones for an even count): `p50`.
    Median,
    /// The value below which this share of the window's values lie, in hundredths of a percent
    /// (`p95` is 9500, `p99.9` 9990), interpolated linearly between the closest ranks.
    Percentile(u16),
    /// The population standard deviation (divided by the count).
    Stddev,
    /// The integral over time by the policy's [`Integration`] (energy from power).
    Integral,
    /// The time-weighted average: the integral divided by the time integrated.
    Twa,
    /// Valid readings received over readings expected for the window's real length.
    Coverage,
}

impl Aggregation {
    /// The words of job files; `pNN` percentiles are read apart ([`Aggregation::parse`]).
    /// `count` is the platform operator library's spelling of `cnt`.
    pub(crate) const NAMES: [(&'static str, Aggregation); 15] = [
        ("max", Aggregation::Max),
        ("min", Aggregation::Min),
        ("avg", Aggregation::Avg),
        ("sum", Aggregation::Sum),
        ("cnt", Aggregation::Cnt),
        ("count", Aggregation::Cnt),
        ("first", Aggregation::First),
        ("last", Aggregation::Last),
        ("range", Aggregation::Range),
        ("delta", Aggregation::Delta),
        ("median", Aggregation::Median),
        ("stddev", Aggregation::Stddev),
        ("integral", Aggregation::Integral),
        ("twa", Aggregation::Twa),
        ("coverage", Aggregation::Coverage),
    ];

    /// A percentile's spelling: `p`, then 0 to 100 with at most two decimals.
    pub(crate) const PERCENTILE_PATTERN: &'static str = "^p(100(\\.00?)?|[0-9]{1,2}(\\.[0-9]{1,2})?)$";

    /// The aggregation a job file's word names: a word of [`Aggregation::NAMES`] or `pNN`.
    pub(crate) fn parse(word: &str) -> Option<Aggregation> {
        if let Some((_, a)) = Self::NAMES.iter().find(|(n, _)| *n == word) {
            return Some(*a);
        }
        let number = word.strip_prefix('p')?;
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let digits = |s: &str, most: usize| s.len() <= most && s.bytes().all(|b| b.is_ascii_digit());
        let whole_ok = !whole.is_empty() && (digits(whole, 2) || whole == "100");
        if !whole_ok || !digits(fraction, 2) || (number.contains('.') && fraction.is_empty()) {
            return None;
        }
        let hundredths = whole.parse::<u32>().ok()? * 100 + format!("{fraction:0<2}").parse::<u32>().ok()?;
        (hundredths <= 10_000).then_some(Aggregation::Percentile(hundredths as u16))
    }

    /// The name as job files write it (`cnt`, not `count`; `p95`, `p99.9`).
    pub(crate) fn name(self) -> String {
        match self {
            Aggregation::Percentile(h) if h % 100 == 0 => format!("p{}", h / 100),
            Aggregation::Percentile(h) => format!("p{}", f64::from(h) / 100.0),
            _ => Self::NAMES.iter().find(|(_, a)| *a == self).map_or("?", |(n, _)| n).to_string(),
        }
    }

    /// Whether the integration rules (`method`, `unit`, `max_gap`) apply.
    pub(crate) fn is_integral(self) -> bool {
        matches!(self, Aggregation::Integral | Aggregation::Twa)
    }

    /// Whether a window's value under `rules` reads the series' next reading after the window
    /// (so the window is final only once that reading is): `delta` under `boundary: previous` or
    /// `interpolate`, `integral`, `twa`.
    pub(crate) fn reads_next(self, rules: &PolicyRules) -> bool {
        match self {
            Aggregation::Delta => rules.register.boundary != Boundary::None,
            a => a.is_integral(),
        }
    }
}

/// A Multi-Point Merging job.
pub struct MergeJob {
    pub(crate) trigger: Trigger,
    /// Allowed lateness in ms for raw operand readings.
    pub(crate) latency: i64,
    /// A reading further than this ahead of its series' watermark does not advance it.
    pub(crate) max_future_skew: Option<i64>,
    /// An operand value older than this (ms) at an evaluation time counts as missing.
    pub(crate) max_age: Option<i64>,
    /// Only readings whose quality code lies in this interval are read; `None`: every reading.
    pub(crate) quality: Option<Threshold>,
    /// Frequency ticks follow the local clock of this zone as windows do; `None` is UTC.
    pub(crate) timezone: Option<Tz>,
    /// Where `trigger.every` is written, for warnings about the grid of the windows it reads.
    pub(crate) tick_site: Option<Diagnostic>,
    /// What a repeated operand reading does (see [`Duplicates`]).
    pub(crate) duplicates: Duplicates,
    pub(crate) policies: Vec<MergePolicy>,
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
    pub(crate) output: String,
    /// The point whose readings trigger evaluation (point mode only).
    pub(crate) trigger_point: Option<String>,
    pub(crate) logic: Expression,
    /// Point names of the expression's operands, in its variable order.
    pub(crate) operands: Vec<String>,
}

impl Job {
    /// The points this job reads.
    pub(crate) fn inputs(&self) -> Vec<&str> {
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
    pub(crate) fn outputs(&self) -> Vec<&str> {
        match &self.kind {
            JobKind::Window(w) => w.policies.iter().map(|p| p.output.as_str()).collect(),
            JobKind::Merge(m) => m.policies.iter().map(|p| p.output.as_str()).collect(),
        }
    }
}

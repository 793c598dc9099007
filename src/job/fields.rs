//! The field tables: the one description of job files and job test files. The loader checks keys
//! against them, reads every field through its entry here (so whether a field is required is said
//! once, and a field name cannot be misspelt in a reader), and `meterflow schema` turns them into a
//! JSON Schema. Words a choice accepts come from the type they stand for.

use super::plan::{Boundary, Interpolation, Method, ResetKind};
use crate::job::options::{Duplicates, EmitMode, WatermarkScope};
use crate::yaml::{Field, Shape};

/// The words of a choice, in its table's order.
pub(crate) const fn words<T, const N: usize>(names: &[(&'static str, T); N]) -> [&'static str; N] {
    let mut words = [""; N];
    let mut i = 0;
    while i < N {
        words[i] = names[i].0;
        i += 1;
    }
    words
}

/// The job templates, as the `template` field names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Template {
    Window,
    Merge,
}

impl Template {
    pub(crate) const NAMES: [(&'static str, Template); 2] =
        [("time_window_aggregation", Template::Window), ("multi_point_merging", Template::Merge)];
}

/// The `window.type` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowKind {
    Tumbling,
    Sliding,
}

impl WindowKind {
    pub(crate) const NAMES: [(&'static str, WindowKind); 2] =
        [("tumbling", WindowKind::Tumbling), ("sliding", WindowKind::Sliding)];
}

/// The `trigger.mode` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TriggerMode {
    Frequency,
    Point,
}

impl TriggerMode {
    pub(crate) const NAMES: [(&'static str, TriggerMode); 2] =
        [("frequency", TriggerMode::Frequency), ("point", TriggerMode::Point)];
}

/// The `timing_interpolation` choices: the platform knows one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimingInterpolation {
    LastValue,
}

impl TimingInterpolation {
    pub(crate) const NAMES: [(&'static str, TimingInterpolation); 1] = [("last_value", TimingInterpolation::LastValue)];
}

const WINDOW_TEMPLATE: [&str; 1] = [Template::NAMES[0].0];
const MERGE_TEMPLATE: [&str; 1] = [Template::NAMES[1].0];
const WINDOW_KINDS: [&str; 2] = words(&WindowKind::NAMES);
const TRIGGER_MODES: [&str; 2] = words(&TriggerMode::NAMES);
const TIMING_INTERPOLATIONS: [&str; 1] = words(&TimingInterpolation::NAMES);
const INTERPOLATIONS: [&str; 2] = words(&Interpolation::NAMES);
const BOUNDARIES: [&str; 3] = words(&Boundary::NAMES);
const RESETS: [&str; 3] = words(&ResetKind::NAMES);
const METHODS: [&str; 2] = words(&Method::NAMES);
const EMIT_MODES: [&str; 2] = words(&EmitMode::NAMES);
const WATERMARK_SCOPES: [&str; 3] = words(&WatermarkScope::NAMES);
const DUPLICATE_RULES: [&str; 3] = words(&Duplicates::NAMES);

/// The fields both templates share.
pub mod job {
    use super::*;

    /// Shared by both templates: the platform's quality filter.
    pub(crate) const QUALITY: Field = Field::optional(
        "quality",
        Shape::Threshold,
        "The input quality codes this job reads, in interval notation such as `[0, 0]` (only good readings): only \
         readings whose `quality` column meets the condition are processed; the others are counted and left out. \
         Default: every reading, whatever its quality.",
    );

    /// Shared by both templates: what a repeated reading does.
    pub(crate) const DUPLICATES: Field = Field::optional(
        "duplicates",
        Shape::Choice(&DUPLICATE_RULES),
        "What a repeat does: a reading whose asset, point and timestamp the job has already read while what it belongs to \
         can still change (overlapping exports, a file given twice, a re-sent batch). `last`: it replaces the earlier \
         value, as a correction; `first`: it is dropped; `keep`: it is aggregated again as a new reading. `run \
         --duplicates` overrides it. Default `first`.",
    );

    pub(crate) const NAME: Field = Field::optional(
        "name",
        Shape::Text,
        "Job name, used in summaries, messages and late-output rows. Default: the file name without its extension.",
    );
    pub(crate) const DESCRIPTION: Field =
        Field::optional("description", Shape::Text, "Free text for people; meterflow does not read it.");
    pub(crate) const MODEL: Field = Field::required(
        "model",
        Shape::Name,
        "The device model the job belongs to. Bare point names mean points of this model, and input rows \
         whose `model` column names another model are ignored by the job.",
    );
    pub(crate) const TESTS: Field = Field::optional(
        "tests",
        Shape::List(test::FIELDS),
        "Unit tests of this job, run by `meterflow test`; `run` and `validate` do not read them.",
    );
    /// The key that says which template a file is; each template's table spells it so.
    pub(crate) const TEMPLATE_KEY: &str = "template";
}

/// A Time Window Aggregation job file.
pub mod window_job {
    use super::*;

    pub(crate) const TEMPLATE: Field = Field::required(
        job::TEMPLATE_KEY,
        Shape::Choice(&WINDOW_TEMPLATE),
        "The job template: a Time Window Aggregation job aggregates one input point per policy over event-time windows.",
    );
    pub(crate) const WINDOW: Field = Field::optional(
        "window",
        Shape::Mapping(window::FIELDS),
        "The kind of window: tumbling (the default) or sliding.",
    );
    pub(crate) const LATENCY: Field = Field::optional(
        "latency",
        Shape::Duration,
        "Allowed lateness: a reading whose window has closed (its series' watermark reached the window end) is still added \
         and the window written again until the watermark passes the window end plus this duration; later readings are \
         dropped and counted. Default `0s`.",
    )
    .aliases(&["latency_setting", "latencySetting"]);
    pub(crate) const MAX_FUTURE_SKEW: Field = Field::optional(
        "max_future_skew",
        Shape::Duration,
        "A reading further than this ahead of its watermark is held back (a meter with a bad clock): it moves the \
         watermark only when the next reading ahead confirms the jump, landing not more than this before it (a meter back \
         from an outage). Default: no limit.",
    )
    .aliases(&["maxFutureSkew"]);
    pub(crate) const TIMEZONE: Field = Field::optional(
        "timezone",
        Shape::Text,
        "An IANA time zone such as `Europe/Dublin`: windows follow its local clock. Whole days, steps that divide a day \
         and months start at local midnight (a day at a DST change is 23 or 25 hours long); steps that divide an hour \
         start where the local clock reads a multiple of them (`1h` windows on the local hour in Asia/Kolkata; a \
         repeated hour is two windows). Default: UTC.",
    )
    .aliases(&["time_zone", "timeZone"]);
    pub(crate) const POLICIES: Field = Field::required(
        "policies",
        Shape::List(window_policy::FIELDS),
        "One policy per output point: which input point is aggregated and how.",
    );
    pub(crate) const FIELDS: &[Field] = &[
        job::NAME,
        job::DESCRIPTION,
        TEMPLATE,
        job::MODEL,
        WINDOW,
        LATENCY,
        MAX_FUTURE_SKEW,
        job::QUALITY,
        job::DUPLICATES,
        TIMEZONE,
        POLICIES,
        job::TESTS,
    ];
}

/// A window job's `window` mapping.
pub mod window {
    use super::*;

    pub(crate) const TYPE: Field = Field::required(
        "type",
        Shape::Choice(&WINDOW_KINDS),
        "`tumbling`: fixed-size, non-overlapping windows aligned to the Unix epoch in UTC; `sliding`: windows of the \
         policy's size starting every `slide`, so a reading belongs to size / slide windows.",
    );
    pub(crate) const SLIDE: Field = Field::optional(
        "slide",
        Shape::Period,
        "Sliding windows only (required there): how far apart windows start (a duration, or months: `1mo`); it must \
         divide the window size.",
    );
    pub(crate) const OFFSET: Field = Field::optional(
        "offset",
        Shape::Duration,
        "How far into each step windows start, shorter than the step (the window size, or the slide): `6h` makes daily \
         windows run 06:00 to 06:00 (a gas day), monthly ones start at 06:00 on the 1st. Default `0s`.",
    );
    pub(crate) const FIELDS: &[Field] = &[TYPE, SLIDE, OFFSET];
}

/// One entry of a window job's `policies`.
pub mod window_policy {
    use super::*;

    pub(crate) const INPUT: Field =
        Field::required("input", Shape::Point, "The point aggregated: `Point` or `Model::Point` of the job's model.")
            .aliases(&["input_point", "inputPoint"]);
    pub(crate) const THRESHOLD: Field = Field::optional(
        "threshold",
        Shape::Threshold,
        "The valid values, in interval notation such as `[0, 100)` or `(-inf, 5]`. Values outside are never aggregated \
         but still advance the watermark. Default: every value is valid.",
    );
    pub(crate) const INTERPOLATION: Field = Field::optional(
        "interpolation",
        Shape::Choice(&INTERPOLATIONS),
        "What happens to a value outside the threshold: `ignore` leaves it out of every aggregation; `last_value` \
         replaces it with the series' latest valid value at or before it. Default `ignore`.",
    );
    pub(crate) const AGGREGATION: Field = Field::required(
        "aggregation",
        Shape::Aggregation,
        "How the valid values of a window become its output value: `max`, `min`, `avg`, `sum`, `cnt` (also spelt \
         `count`), `first`, `last`, `range`, `delta` (a cumulative register's increase), `median`, `pNN` (a percentile \
         such as `p95` or `p99.9`), `stddev`, `integral` (energy from power), `twa` (time-weighted average) or \
         `coverage` (readings received over readings expected).",
    );
    pub(crate) const WINDOW_SIZE: Field = Field::required(
        "window_size",
        Shape::Period,
        "The window length, e.g. `10m`, `1d`, or calendar months `1mo`, `3mo`, `1y` (starting at midnight on the 1st, in \
         the job's time zone). Windows are half-open `[start, start + size)` and stamped at their start.",
    )
    .aliases(&["windowSize"]);
    pub(crate) const OUTPUT: Field = Field::required(
        "output",
        Shape::Point,
        "The point written, one row per window that holds at least one valid value (and as many as `min_count` and \
         `min_coverage` ask for).",
    )
    .aliases(&["output_point", "outputPoint"]);
    pub(crate) const BOUNDARY: Field = Field::optional(
        "boundary",
        Shape::Choice(&BOUNDARIES),
        "`delta` only: the window the step between two readings in different windows belongs to. `previous`: the \
         earlier window (the platform's meter-reading rule; a window is final once the window holding the series' next \
         reading expires, or the input ends); `interpolate`: split at each window edge linearly in time (a window the \
         step crosses without readings gets its share as a row); `none`: neither. `previous` and `interpolate` run on \
         tumbling windows only. Default: `previous` on tumbling windows, `none` on sliding ones.",
    );
    pub(crate) const RESET: Field = Field::optional(
        "reset",
        Shape::Choice(&RESETS),
        "`delta` only: what a drop of the register means. `zero`: it was reset to 0 (`a -> b` adds `b`); `rollover`: \
         it wrapped around at `rollover_at` (`a -> b` adds `rollover_at - a + b`); `exchange`: a new meter (the step \
         across the drop is left out and counted). Default `zero`.",
    );
    pub(crate) const ROLLOVER_AT: Field = Field::optional(
        "rollover_at",
        Shape::Number,
        "With `reset: rollover` (required there): the value at which the register wraps to 0. A 5-digit register \
         with one decimal shows 99999.9 at most and wraps at `100000`.",
    );
    pub(crate) const RESET_TOLERANCE: Field = Field::optional(
        "reset_tolerance",
        Shape::Number,
        "`delta` only: a drop of at most this much is the register's noise, not a reset: the step is booked as it \
         is (negative), so a jitter and its recovery cancel. Default 0: every drop is a reset.",
    );
    pub(crate) const SLOPE: Field = Field::optional(
        "slope",
        Shape::Threshold,
        "`delta` only: the accepted increase per hour (after `scale`), in interval notation such as `[0, 500]`; a step \
         whose rate lies outside is left out and counted. Default: every step is accepted.",
    );
    pub(crate) const SCALE: Field = Field::optional(
        "scale",
        Shape::Number,
        "`delta` only: multiplies every increase (a meter constant or a CT ratio), greater than 0. Default 1.",
    );
    pub(crate) const METHOD: Field = Field::optional(
        "method",
        Shape::Choice(&METHODS),
        "`integral` and `twa` (required there): `left` integrates `p1 x (t2 - t1)` over each interval between \
         readings (a value holds until the next reading: the platform's instant power); `trapezoid` integrates \
         `(p1 + p2) / 2 x (t2 - t1)` (the platform's average power).",
    );
    pub(crate) const UNIT: Field = Field::optional(
        "unit",
        Shape::Duration,
        "`integral` only: the time unit of the result, `value x duration / unit`: `1h` turns kW into kWh. Default `1h`.",
    );
    pub(crate) const MAX_GAP: Field = Field::optional(
        "max_gap",
        Shape::Duration,
        "`integral` and `twa`: an interval between readings longer than this is not integrated, and counted. Default: \
         every interval is integrated (a window an interval crosses without readings gets its share as a row).",
    );
    pub(crate) const EXPECTED_INTERVAL: Field = Field::optional(
        "expected_interval",
        Shape::Duration,
        "The meter's reading interval (`30m` for half-hourly data): a window of real length `L` expects `L / interval` \
         readings (46 or 50 half-hours on a local day at a clock change). Required by `coverage` and `min_coverage`.",
    );
    pub(crate) const MIN_COVERAGE: Field = Field::optional(
        "min_coverage",
        Shape::Number,
        "A window holding fewer than this share (0 to 1) of its expected readings writes no row, and is counted in the \
         summary. Needs `expected_interval`. Default: none.",
    );
    pub(crate) const MIN_COUNT: Field = Field::optional(
        "min_count",
        Shape::Count,
        "A window holding fewer valid readings than this writes no row, and is counted in the summary. Default: none.",
    );
    pub(crate) const FIELDS: &[Field] = &[
        INPUT,
        THRESHOLD,
        INTERPOLATION,
        AGGREGATION,
        WINDOW_SIZE,
        OUTPUT,
        BOUNDARY,
        RESET,
        ROLLOVER_AT,
        RESET_TOLERANCE,
        SLOPE,
        SCALE,
        METHOD,
        UNIT,
        MAX_GAP,
        EXPECTED_INTERVAL,
        MIN_COVERAGE,
        MIN_COUNT,
    ];
    /// The fields that apply to some aggregations only (see `read_rules`); the schema's test
    /// leaves them out of its examples.
    #[cfg(test)]
    pub(crate) const RULES: &[Field] = FIELDS.split_at(6).1;
}

/// A Multi-Point Merging job file.
pub mod merge_job {
    use super::*;

    pub(crate) const TEMPLATE: Field = Field::required(
        job::TEMPLATE_KEY,
        Shape::Choice(&MERGE_TEMPLATE),
        "The job template: a Multi-Point Merging job computes an expression over several points of an asset.",
    );
    pub(crate) const TRIGGER: Field =
        Field::required("trigger", Shape::Mapping(trigger::FIELDS), "When the policies are evaluated.");
    pub(crate) const TIMING_INTERPOLATION: Field = Field::optional(
        "timing_interpolation",
        Shape::Choice(&TIMING_INTERPOLATIONS),
        "How operands are lined up with an evaluation time: `last_value` takes each operand's latest value at or before it.",
    )
    .aliases(&["timingInterpolation"]);
    pub(crate) const LATENCY: Field = Field::optional(
        "latency",
        Shape::Duration,
        "Allowed lateness of operand readings: an evaluation is written once every operand series' watermark is past it \
         by this much. Default `0s`.",
    )
    .aliases(&["latency_setting", "latencySetting"]);
    pub(crate) const MAX_FUTURE_SKEW: Field = Field::optional(
        "max_future_skew",
        Shape::Duration,
        "An operand reading further than this ahead of its series' watermark is held back (a meter with a bad clock): it \
         moves the watermark only when the series' next reading ahead confirms the jump, landing not more than this \
         before it. Default: no limit.",
    )
    .aliases(&["maxFutureSkew"]);
    pub(crate) const MAX_AGE: Field = Field::optional(
        "max_age",
        Shape::Duration,
        "An operand whose latest value is older than this at an evaluation time counts as missing: no row is written for \
         that time (counted as a stale operand), instead of carrying a value over a gap. Default: no limit.",
    )
    .aliases(&["maxAge"]);
    pub(crate) const TIMEZONE: Field = Field::optional(
        "timezone",
        Shape::Text,
        "An IANA time zone such as `Europe/Dublin`: frequency ticks follow its local clock as the windows of a window job \
         with this zone do (`every: 1d` ticks at local midnight, where local-day windows are stamped). Default: UTC.",
    )
    .aliases(&["time_zone", "timeZone"]);
    pub(crate) const POLICIES: Field = Field::required(
        "policies",
        Shape::List(merge_policy::FIELDS),
        "One policy per output point: the expression that computes it.",
    );
    pub(crate) const FIELDS: &[Field] = &[
        job::NAME,
        job::DESCRIPTION,
        TEMPLATE,
        job::MODEL,
        TRIGGER,
        TIMING_INTERPOLATION,
        LATENCY,
        MAX_FUTURE_SKEW,
        MAX_AGE,
        job::QUALITY,
        job::DUPLICATES,
        TIMEZONE,
        POLICIES,
        job::TESTS,
    ];
}

/// A merge job's `trigger` mapping.
pub mod trigger {
    use super::*;

    pub(crate) const MODE: Field = Field::required(
        "mode",
        Shape::Choice(&TRIGGER_MODES),
        "`frequency`: evaluate at ticks of `every`, laid out as the starts of tumbling windows of that size; `point`: \
         evaluate at each reading of a policy's `trigger_point`.",
    );
    pub(crate) const EVERY: Field = Field::optional(
        "every",
        Shape::Period,
        "The tick interval of frequency mode, e.g. `10m`, `1d` or `1mo` (required there).",
    )
    .aliases(&["frequency"]);
    pub(crate) const OFFSET: Field = Field::optional(
        "offset",
        Shape::Duration,
        "Frequency mode: how far into each interval ticks fall, as `window.offset` of the windows read. Default `0s`.",
    );
    pub(crate) const FIELDS: &[Field] = &[MODE, EVERY, OFFSET];
}

/// One entry of a merge job's `policies`.
pub mod merge_policy {
    use super::*;

    pub(crate) const OUTPUT: Field =
        Field::required("output", Shape::Point, "The point written with the expression's value.")
            .aliases(&["output_point", "outputPoint"]);
    pub(crate) const LOGIC: Field = Field::required(
        "logic",
        Shape::Expression,
        "The expression, with operands written `${Model::Point}`: arithmetic, comparisons, `if`/`else`, and functions \
         such as `abs`, `min`, `max`, `round`, `sqrt`. Operands are floats.",
    )
    .aliases(&["output_logic", "outputLogic"]);
    pub(crate) const TRIGGER_POINT: Field = Field::optional(
        "trigger_point",
        Shape::Point,
        "Point mode only (required there): the point whose readings trigger an evaluation; not the policy's own output.",
    )
    .aliases(&["triggerPoint"]);
    pub(crate) const FIELDS: &[Field] = &[OUTPUT, LOGIC, TRIGGER_POINT];
}

/// A job's unit-test file, `<job>.test.yaml`.
pub mod test_file {
    use super::*;

    pub(crate) const JOB: Field = Field::optional(
        "job",
        Shape::Text,
        "The job file under test, relative to this file. Default: this file's name without `.test` \
         (`meter_max_min.test.yaml` tests `meter_max_min.yaml`).",
    );
    pub(crate) const TESTS: Field = Field::required("tests", Shape::List(test::FIELDS), "The unit tests of the job.");
    pub(crate) const FIELDS: &[Field] = &[JOB, TESTS];
}

/// One unit test, in a test file or a job file's `tests`.
pub mod test {
    use super::*;

    pub(crate) const NAME: Field = Field::required("name", Shape::Text, "What the test checks; shown in the results.");
    pub(crate) const INPUT: Field = Field::optional(
        "input",
        Shape::Csv,
        "Input rows as inline CSV with a header (`timestamp,asset,point,value`, optionally `model`), replayed in this \
         order. Give `input` or `input_file`.",
    );
    pub(crate) const INPUT_FILE: Field = Field::optional(
        "input_file",
        Shape::Text,
        "Input rows from a CSV file, relative to the file holding the test.",
    );
    pub(crate) const INPUT_CONFIG: Field = Field::optional(
        "input_config",
        Shape::Text,
        "How the input rows are read, as an input-config file (`--input-config`: keys named like the input flags), \
         relative to the file holding the test; so a test can give rows in a real export's layout. Default: \
         long-format CSV as above.",
    );
    pub(crate) const EXPECT: Field = Field::optional(
        "expect",
        Shape::Csv,
        "The exact output as inline CSV, header included (`timestamp,asset,point,value`, plus `emit,revision` with \
         `emit: updates`), rows in output order.",
    );
    pub(crate) const EXPECT_FILE: Field = Field::optional(
        "expect_file",
        Shape::Text,
        "The expected output from a CSV file, relative to the file holding the test.",
    );
    pub(crate) const TOLERANCE: Field = Field::optional(
        "tolerance",
        Shape::Number,
        "Largest absolute difference accepted between an expected and an actual number (values, not timestamps). \
         Default 0: exact.",
    );
    pub(crate) const EXPECT_LATE: Field = Field::optional(
        "expect_late",
        Shape::Csv,
        "The rows dropped as late beyond lateness, as inline CSV whose header is any of the `--late-output` columns \
         (`timestamp,asset,point,value,job,reason,window_start,window_end,watermark`); only those columns are compared.",
    );
    pub(crate) const EXPECT_COUNTS: Field = Field::optional(
        "expect_counts",
        Shape::Mapping(counts::FIELDS),
        "Figures of the run summary the job must report.",
    );
    pub(crate) const EMIT: Field =
        Field::optional("emit", Shape::Choice(&EMIT_MODES), "The output view, as `run --emit`. Default `final`.");
    pub(crate) const WATERMARK: Field = Field::optional(
        "watermark",
        Shape::Choice(&WATERMARK_SCOPES),
        "How far event time is shared, as `run --watermark`. Default `series`.",
    );
    pub(crate) const FIELDS: &[Field] = &[
        NAME,
        INPUT,
        INPUT_FILE,
        INPUT_CONFIG,
        EXPECT,
        EXPECT_FILE,
        TOLERANCE,
        EXPECT_LATE,
        EXPECT_COUNTS,
        EMIT,
        WATERMARK,
    ];
}

pub mod counts;

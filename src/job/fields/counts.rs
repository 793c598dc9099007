//! Figures a test can check under `expect_counts`; each is summed over the job's policies. They
//! are read all alike, by walking the table.

use crate::yaml::{Field, Shape};

pub(crate) const FIELDS: &[Field] = &[
    Field::optional("rows_read", Shape::Count, "Readings the job received."),
    Field::optional("rows_written", Shape::Count, "Output rows the job wrote."),
    Field::optional("valid", Shape::Count, "Window jobs: readings inside the threshold added to a window."),
    Field::optional(
        "late_accepted",
        Shape::Count,
        "Window jobs: valid readings that arrived after their window closed, within lateness.",
    ),
    Field::optional("late_dropped", Shape::Count, "Readings dropped as late beyond lateness."),
    Field::optional(
        "partially_late",
        Shape::Count,
        "Window jobs: readings kept but too late for some of their sliding windows.",
    ),
    Field::optional(
        "windows_missed",
        Shape::Count,
        "Window jobs: the sliding windows those partially late readings missed.",
    ),
    Field::optional(
        "future_skewed",
        Shape::Count,
        "Readings too far ahead of their watermark (`max_future_skew`) that no later reading confirmed: dropped, in no window.",
    ),
    Field::optional(
        "repeats",
        Shape::Count,
        "Readings whose asset, point and timestamp the job had already read, taken by its `duplicates` rule.",
    ),
    Field::optional(
        "revisions",
        Shape::Count,
        "Input rows with `emit`/`revision` columns that replaced an earlier revision of their key.",
    ),
    Field::optional("out_of_threshold", Shape::Count, "Window jobs: readings outside the threshold."),
    Field::optional(
        "interpolated",
        Shape::Count,
        "Window jobs: out-of-threshold readings replaced by the series' last valid value.",
    ),
    Field::optional(
        "below_min_count",
        Shape::Count,
        "Window jobs: windows with fewer valid readings than `min_count` (no row written).",
    ),
    Field::optional(
        "below_min_coverage",
        Shape::Count,
        "Window jobs: windows below `min_coverage` of their expected readings (no row written).",
    ),
    Field::optional(
        "exchanges",
        Shape::Count,
        "Window jobs: `delta` steps across a meter exchange (`reset: exchange`), left out.",
    ),
    Field::optional(
        "outside_slope",
        Shape::Count,
        "Window jobs: `delta` steps whose increase per hour lay outside `slope`, left out.",
    ),
    Field::optional(
        "beyond_max_gap",
        Shape::Count,
        "Window jobs: `integral` and `twa` intervals longer than `max_gap`, not integrated.",
    ),
    Field::optional(
        "nothing_integrated",
        Shape::Count,
        "Window jobs: `integral` and `twa` windows with nothing integrated (no row written).",
    ),
    Field::optional("missing_values", Shape::Count, "Input rows whose value was a missing-value marker (skipped)."),
    Field::optional(
        "missing_operand",
        Shape::Count,
        "Merge jobs: evaluations skipped because an operand had no value.",
    ),
    Field::optional(
        "stale_operand",
        Shape::Count,
        "Merge jobs: evaluations skipped because an operand's value was older than `max_age`.",
    ),
    Field::optional("eval_error", Shape::Count, "Merge jobs: evaluations that failed."),
    Field::optional(
        "non_finite",
        Shape::Count,
        "Merge evaluations and windows (a sum or average beyond the float range) whose result was not a finite number.",
    ),
    Field::optional("empty", Shape::Count, "Merge jobs: evaluations with no result (`if` without `else`)."),
];

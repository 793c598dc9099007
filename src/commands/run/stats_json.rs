//! `--stats-json`: the figures of a run as JSON. The JSON is the figure types' own `Serialize`
//! (see [`crate::engine::stats`] and [`InputCounts`]), so a figure added there reaches it
//! untouched; what needs the name tables (samples, examples) is written here with names.

use super::report::{ThisRun, this_run, timestamp_text};
use crate::engine::accounting::Balance;
use crate::engine::stats::{JobStats, MergeSkips};
use crate::input::InputCounts;
use crate::input::interval::IntervalChoice;
use crate::replay::Replay;
use crate::time::duration::format_duration;
use anyhow::Context;
use serde::Serialize;
use std::io::Write;

/// The figures of a run as `--stats-json` writes them.
#[derive(Serialize)]
struct Report<'a> {
    /// Present when the run resumed from a state: every other figure is a total since its start.
    #[serde(skip_serializing_if = "Option::is_none")]
    resumed: Option<ResumedReport<'a>>,
    input: InputReport<'a>,
    /// `--idle-timeout`: how many times it moved a silent series' watermark (the output then
    /// depends on when readings arrived). Absent without the flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    idle_advances: Option<u64>,
    /// `--interval-end auto`: the length each input's first rows gave, and how they agree with
    /// it. Absent without `auto`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    interval_end_auto: Vec<IntervalReport<'a>>,
    jobs: Vec<JobReport<'a>>,
    accounting: Accounting,
}

/// See [`IntervalChoice`].
#[derive(Serialize)]
struct IntervalReport<'a> {
    input: &'a str,
    length: String,
    length_ms: i64,
    rows: u64,
    series: u64,
    steps: u64,
    steps_at_length: u64,
    steps_off_length: u64,
    series_at_other_lengths: u64,
    /// A series at another length, and its own most common step.
    example: Option<IntervalExample<'a>>,
    decided_when_silent: bool,
}

/// The series by its asset and point (`null` for a part that is not a column).
#[derive(Serialize)]
struct IntervalExample<'a> {
    asset: Option<&'a str>,
    point: Option<&'a str>,
    step: String,
    step_ms: i64,
}

impl<'a> IntervalReport<'a> {
    fn new(c: &'a IntervalChoice) -> IntervalReport<'a> {
        IntervalReport {
            input: &c.input,
            length: format_duration(c.length),
            length_ms: c.length,
            rows: c.rows,
            series: c.series,
            steps: c.steps,
            steps_at_length: c.steps_at_length,
            steps_off_length: c.steps_off_length,
            series_at_other_lengths: c.series_at_other_lengths,
            example: c.example.as_ref().map(|(name, step)| IntervalExample {
                asset: name.asset.as_deref(),
                point: name.point.as_deref(),
                step: format_duration(*step),
                step_ms: *step,
            }),
            decided_when_silent: c.when_silent,
        }
    }
}

#[derive(Serialize)]
struct InputReport<'a> {
    #[serde(flatten)]
    counts: &'a InputCounts,
    rows_of_unread_points: u64,
}

#[derive(Serialize)]
struct JobReport<'a> {
    #[serde(flatten)]
    stats: &'a JobStats,
    merge_skipped: MergeReport<'a>,
    /// Merge jobs, per policy: rows written from a carried-over operand value.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    carried_over: Vec<CarriedReport<'a>>,
    /// Kept apart from the figures `--state` saves: this run's only.
    updates_left_standing: u64,
}

#[derive(Serialize)]
struct CarriedReport<'a> {
    output: &'a str,
    rows: u64,
    /// The oldest carried operand's age at its trigger time, as a duration (`null` without rows).
    oldest_age: Option<String>,
    example: Option<CarriedExampleReport<'a>>,
}

#[derive(Serialize)]
struct CarriedExampleReport<'a> {
    asset: &'a str,
    timestamp: String,
    operand: &'a str,
    age: String,
}

#[derive(Serialize)]
struct MergeReport<'a> {
    #[serde(flatten)]
    counts: &'a MergeSkips,
    samples: Vec<SampleReport<'a>>,
}

#[derive(Serialize)]
struct SampleReport<'a> {
    asset: &'a str,
    timestamp: String,
    reason: &'a str,
}

#[derive(Serialize)]
struct ResumedReport<'a> {
    from: &'a str,
    runs_before: u32,
    inputs_before: usize,
    this_run: ThisRun,
}

#[derive(Serialize)]
struct Accounting {
    balanced: bool,
    balances: Vec<Balance>,
}

fn report(replay: &Replay) -> Report<'_> {
    let names = &replay.names;
    let jobs = replay
        .pipeline
        .stats()
        .into_iter()
        .map(|stats| JobReport {
            stats,
            merge_skipped: MergeReport {
                counts: &stats.merge,
                samples: stats
                    .merge
                    .samples
                    .iter()
                    .map(|s| SampleReport {
                        asset: names.assets.name(s.asset),
                        timestamp: timestamp_text(s.ts),
                        reason: &s.reason,
                    })
                    .collect(),
            },
            carried_over: stats
                .carried
                .iter()
                .map(|c| CarriedReport {
                    output: &c.output,
                    rows: c.rows,
                    oldest_age: (c.rows > 0).then(|| format_duration(c.oldest_age)),
                    example: c.example.as_ref().map(|e| CarriedExampleReport {
                        asset: names.assets.name(e.asset),
                        timestamp: timestamp_text(e.ts),
                        operand: &e.operand,
                        age: format_duration(e.age),
                    }),
                })
                .collect(),
            updates_left_standing: stats.updates_left_standing,
        })
        .collect();
    let balances = replay.balances();
    Report {
        resumed: replay.resumed.as_ref().map(|r| ResumedReport {
            from: &r.from,
            runs_before: r.runs_before,
            inputs_before: r.inputs_before,
            this_run: this_run(replay, r),
        }),
        input: InputReport { counts: &replay.counts, rows_of_unread_points: replay.pipeline.unrouted() },
        idle_advances: replay.idle.as_ref().map(|idle| idle.advances),
        interval_end_auto: replay.intervals.iter().map(IntervalReport::new).collect(),
        jobs,
        accounting: Accounting { balanced: balances.iter().all(Balance::holds), balances },
    }
}

/// Writes the figures of `replay` as pretty JSON to `out`, the `--stats-json` file.
pub(crate) fn write_stats_json(mut out: impl Write, replay: &Replay) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(&report(replay)).context("failed to encode the figures")?;
    text.push('\n');
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).context("failed to write the run's figures")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stats::PolicyStats;
    use std::collections::BTreeSet;

    /// The public field names of `struct NAME` in `source`, with their `#[serde(rename)]`.
    fn fields(source: &str, name: &str) -> BTreeSet<String> {
        let start = source.find(&format!("struct {name} {{")).expect("the struct");
        let body = &source[start..start + source[start..].find("\n}").expect("its end")];
        let mut fields = BTreeSet::new();
        let mut rename = None;
        for line in body.lines().skip(1).map(str::trim) {
            if let Some(to) = line.strip_prefix("#[serde(rename = \"") {
                rename = to.split('"').next().map(str::to_string);
            } else if let Some(field) =
                line.strip_prefix("pub ").or_else(|| line.strip_prefix("pub(crate) ")).and_then(|l| l.split(':').next())
            {
                fields.insert(rename.take().unwrap_or_else(|| field.to_string()));
            }
        }
        fields
    }

    fn keys(value: &serde_json::Value) -> BTreeSet<String> {
        value.as_object().expect("an object").keys().cloned().collect()
    }

    /// Every field of the figure types is in the JSON without the writer naming it: a field added
    /// to a figure type fails here only if it was kept out on purpose (`merge`, written as
    /// `merge_skipped`, and the samples, written with asset names).
    #[test]
    fn every_figure_of_the_figure_types_reaches_the_json() {
        let stats_source = include_str!("../../engine/stats.rs");
        let input_source = include_str!("../../input/mod.rs");
        let policy = serde_json::to_value(PolicyStats::default()).unwrap();
        assert_eq!(keys(&policy), fields(stats_source, "PolicyStats"));
        assert!(keys(&policy).contains("windows_missed"));

        let job_file = "name: w\ntemplate: time_window_aggregation\nmodel: M\nlatency: 1d\npolicies:\n  - input: R\n    \
                        threshold: \"[0, 100)\"\n    interpolation: ignore\n    aggregation: max\n    \
                        window_size: 10m\n    output: O\n";
        let jobs = crate::job::load_sources(vec![("w.yaml".to_string(), job_file.as_bytes().to_vec())]);
        let mut stats = JobStats::new(&jobs.expect("a valid job")[0]);
        stats.merge.samples.push(crate::engine::stats::SkipSample { asset: 0, ts: 0, reason: "r".into() });
        let job = serde_json::to_value(JobReport {
            stats: &stats,
            merge_skipped: MergeReport { counts: &stats.merge, samples: Vec::new() },
            carried_over: Vec::new(),
            updates_left_standing: 0,
        })
        .unwrap();
        let mut expected = fields(stats_source, "JobStats");
        expected.remove("merge");
        expected.insert("merge_skipped".into());
        // `carried_over` is written for merge jobs only, with the examples' asset names.
        expected.remove("carried");
        assert_eq!(keys(&job), expected);
        let mut merge = fields(stats_source, "MergeSkips");
        merge.remove("samples");
        let merge_json = keys(&job["merge_skipped"]);
        assert!(merge.is_subset(&merge_json) && merge_json.contains("samples"), "{merge:?} vs {merge_json:?}");

        let input =
            serde_json::to_value(InputReport { counts: &InputCounts::default(), rows_of_unread_points: 0 }).unwrap();
        let mut expected = fields(input_source, "InputCounts");
        expected.insert("rows_of_unread_points".into());
        assert_eq!(keys(&input), expected);
    }
}

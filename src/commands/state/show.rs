//! What `meterflow state show` says about a state file: whether it is finished, the options and
//! jobs it was saved with, per job its watermarks and what it holds open, the inputs consumed and
//! the running totals; as text or JSON.

use crate::engine::OperatorState;
use crate::engine::watermark::NO_WATERMARK;
use crate::replay::state::saved::{ConsumedInput, SavedState};
use crate::time::format_timestamp;
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct StateReport<'a> {
    pub(crate) written_by: &'a str,
    pub(crate) finished: bool,
    pub(crate) runs: u32,
    pub(crate) emit: &'a str,
    pub(crate) watermark: &'a str,
    pub(crate) inputs: &'a [ConsumedInput],
    pub(crate) jobs: Vec<JobReport<'a>>,
    pub(crate) rows_read: u64,
    pub(crate) rows_written: u64,
    pub(crate) late_rows: u64,
}

#[derive(Serialize)]
pub(crate) struct JobReport<'a> {
    pub(crate) name: &'a str,
    pub(crate) template: &'a str,
    /// Window jobs: series (asset x input point); merges: assets.
    pub(crate) series: usize,
    /// Window jobs: windows open; merges: trigger times evaluated or due and not yet final.
    pub(crate) open: u64,
    /// Window jobs: readings held to recognise repeats (timestamps, and values under `last`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) readings_held: Option<u64>,
    pub(crate) lowest_watermark: Option<String>,
    pub(crate) highest_watermark: Option<String>,
    pub(crate) rows_read: u64,
    pub(crate) rows_written: u64,
}

pub(crate) fn report(state: &SavedState) -> StateReport<'_> {
    let jobs = state
        .jobs
        .iter()
        .zip(&state.pipeline.operators)
        .map(|(print, op)| {
            let template = print.fields.iter().find(|(k, _)| k == "template").map_or("", |(_, v)| v.as_str());
            let (series, open, marks, readings_held) = match op {
                OperatorState::Window(w) => (w.series(), w.open_windows(), w.watermarks(), Some(w.open_readings())),
                OperatorState::Merge(m) => (m.assets(), m.pending(), m.watermarks(), None),
            };
            let stats = op.stats();
            JobReport {
                name: &print.name,
                template,
                series,
                open,
                readings_held,
                lowest_watermark: marks.map(|(lo, _)| timestamp(lo)),
                highest_watermark: marks.map(|(_, hi)| timestamp(hi)),
                rows_read: stats.rows_read,
                rows_written: stats.rows_written,
            }
        })
        .collect();
    let (_, rows_written, late_rows) = state.pipeline.totals();
    StateReport {
        written_by: &state.written_by,
        finished: state.finished,
        runs: state.runs,
        emit: &state.options.emit,
        watermark: &state.options.watermark,
        inputs: &state.inputs,
        jobs,
        rows_read: state.counts.rows,
        rows_written,
        late_rows,
    }
}

fn timestamp(ms: i64) -> String {
    if ms == NO_WATERMARK {
        return "none".to_owned();
    }
    let mut text = Vec::with_capacity(24);
    format_timestamp(ms, &mut text);
    String::from_utf8_lossy(&text).into_owned()
}

/// The report as lines of text.
pub(crate) fn text(path: &str, r: &StateReport<'_>) -> String {
    let plural = crate::text::count;
    let status = if r.finished {
        "finished (a --finish run ended the stream; nothing may resume from it)".to_owned()
    } else {
        "open (the next run with --state resumes from it)".to_owned()
    };
    let mut s = format!(
        "{path}: meterflow state written by meterflow {}\n  status: {status}\n  runs: {}\n  options: --emit {} --watermark {}\n",
        r.written_by, r.runs, r.emit, r.watermark
    );
    s.push_str(&format!(
        "  totals: {} read, {} written, {}\n",
        plural(r.rows_read, "row", "rows"),
        plural(r.rows_written, "row", "rows"),
        plural(r.late_rows, "late row", "late rows")
    ));
    s.push_str(&format!("  inputs consumed: {}\n", r.inputs.len()));
    for input in r.inputs {
        s.push_str(&format!(
            "    run {}: {} ({}, xxh3-128 {}){}\n",
            input.run,
            input.name,
            plural(input.bytes, "byte", "bytes"),
            input.hash,
            if input.stopped { ", stopped part-way by a signal" } else { "" }
        ));
    }
    s.push_str(&format!("  jobs (run order): {}\n", r.jobs.len()));
    for job in &r.jobs {
        let held = if job.template == "multi_point_merging" {
            format!(
                "{}, {}",
                plural(job.series as u64, "asset", "assets"),
                plural(job.open, "trigger time pending", "trigger times pending")
            )
        } else {
            format!(
                "{}, {}, {}",
                plural(job.series as u64, "series", "series"),
                plural(job.open, "window open", "windows open"),
                plural(job.readings_held.unwrap_or(0), "reading held", "readings held")
            )
        };
        let marks = match (&job.lowest_watermark, &job.highest_watermark) {
            (Some(lo), Some(hi)) if lo == hi => format!("watermark {lo}"),
            (Some(lo), Some(hi)) => format!("watermarks from {lo} to {hi}"),
            _ => "no watermark yet".to_owned(),
        };
        s.push_str(&format!(
            "    {} ({}): {held}; {marks}; {} read, {} written\n",
            job.name,
            job.template,
            plural(job.rows_read, "row", "rows"),
            plural(job.rows_written, "row", "rows")
        ));
    }
    s
}

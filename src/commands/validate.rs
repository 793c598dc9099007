//! `meterflow validate`: job files checked without reading any input, as text or JSON.

use super::warnings::Warnings;
use super::{Failure, ReportFormat};
use crate::job::discover::subfolders;
use crate::job::pipeline::external_inputs;
use crate::job::{Job, JobKind, Trigger, WindowJob, WindowType, load_jobs};
use crate::text::count;
use crate::time::duration::format_duration;
use anyhow::Context;
use std::io::{self, Write};
use std::path::PathBuf;

pub(crate) fn validate(paths: &[PathBuf], format: ReportFormat, strict: bool) -> Result<(), Failure> {
    if format == ReportFormat::Json {
        let (problems, warnings) = match load_jobs(paths) {
            Ok(jobs) => (Vec::new(), jobs.into_iter().flat_map(|j| j.warnings).collect()),
            Err(e) => (e.0, Vec::new()),
        };
        let json: Vec<serde_json::Value> =
            problems.iter().map(|d| d.to_json()).chain(warnings.iter().map(|d| d.to_json_as("warning"))).collect();
        let text = serde_json::to_string_pretty(&json).context("failed to encode the problems as JSON")?;
        writeln!(io::stdout().lock(), "{text}").context("failed to write to stdout")?;
        return if problems.is_empty() && (warnings.is_empty() || !strict) { Ok(()) } else { Err(Failure::Silent(2)) };
    }
    let jobs = load_jobs(paths).map_err(Failure::Jobs)?;
    let mut out = io::stdout().lock();
    let mut warnings = Warnings::new(strict);
    let write =
        |out: &mut io::StdoutLock<'_>, text: String| writeln!(out, "{text}").context("failed to write to stdout");
    for job in &jobs {
        // Under --strict a warning fails the job, so it is not `ok`.
        let verdict = match job.warnings.len() as u64 {
            n if n > 0 && strict => format!("not ok under --strict ({})", count(n, "warning", "warnings")),
            _ => "ok".to_string(),
        };
        write(&mut out, format!("{}: {verdict}: {}", job.file, describe(job)))?;
        warnings.jobs(std::slice::from_ref(job));
    }
    write(&mut out, format!("pipeline reads from input: {}", external_inputs(&jobs).join(", ")))?;
    let skipped: Vec<String> = subfolders(paths).iter().map(|p| p.display().to_string()).collect();
    if !skipped.is_empty() {
        write(&mut out, format!("not looked into (name a folder to validate its jobs): {}", skipped.join(", ")))?;
    }
    warnings.finish(Failure::Usage)
}

/// A one-line description of a job.
fn describe(job: &Job) -> String {
    let (template, detail) = match &job.kind {
        JobKind::Window(w) => ("time_window_aggregation", describe_windows(w)),
        JobKind::Merge(m) => {
            let mut text = match m.trigger {
                Trigger::Frequency { every, offset: 0 } => format!("every {every}"),
                Trigger::Frequency { every, offset } => format!("every {every}, offset {}", format_duration(offset)),
                Trigger::Point => "point trigger".to_string(),
            };
            if let Some(tz) = m.timezone {
                text.push_str(&format!(", timezone {}", tz.name()));
            }
            ("multi_point_merging", text)
        }
    };
    format!(
        "{} ({template}, model {}, {detail}): {} -> {}",
        job.name,
        job.model,
        job.inputs().join(", "),
        job.outputs().join(", ")
    )
}

/// Latency, and the window type and time zone when they are not the defaults.
fn describe_windows(job: &WindowJob) -> String {
    let mut text = format!("latency {}", format_duration(job.latency));
    if let WindowType::Sliding { slide } = job.window {
        text.push_str(&format!(", sliding every {slide}"));
    }
    if job.offset != 0 {
        text.push_str(&format!(", offset {}", format_duration(job.offset)));
    }
    if let Some(tz) = job.timezone {
        text.push_str(&format!(", timezone {}", tz.name()));
    }
    text
}

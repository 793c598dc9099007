//! What a run says about repeated readings: a line per job in the summary when the job met
//! repeats or revisions, and the warnings (printed even with `-q`, errors under `--strict`) of a
//! job whose `duplicates: keep` aggregated repeats again, and of a job whose `updates` rows a
//! correction left standing for windows that `final` mode writes no row for.

use crate::engine::stats::JobStats;

/// The summary line of a job's repeats and revisions, if it met any.
pub(crate) fn summary_line(job: &JobStats) -> Option<String> {
    let rule = job.duplicates.as_deref().unwrap_or("first");
    let mut parts = Vec::new();
    if job.repeats > 0 {
        let changed = match job.repeats_changed {
            Some(n) => format!(", {n} with another value"),
            None => ", values not compared".to_owned(),
        };
        let done = match rule {
            "last" => "each replaced the value held",
            "keep" => "each aggregated again as a new reading",
            _ => "each dropped, the value read first kept",
        };
        parts.push(format!(
            "{} of a timestamp already read{changed} (duplicates: {rule}: {done})",
            plural(job.repeats, "repeat", "repeats")
        ));
    }
    if job.revisions > 0 {
        parts.push(format!(
            "{} replaced an earlier revision of their key",
            plural(job.revisions, "revision", "revisions")
        ));
    }
    (!parts.is_empty()).then(|| format!("  {}\n", parts.join("; ")))
}

/// The warning of a job that aggregated repeats again under `duplicates: keep`.
pub(crate) fn keep_warning(job: &JobStats) -> Option<String> {
    (job.duplicates.as_deref() == Some("keep") && job.repeats > 0).then(|| {
        format!(
            "meterflow: warning: job `{}` aggregated {} again as new readings (duplicates: keep), so sums and counts \
             include each repeated timestamp as often as it was read, while median, percentiles, stddev, delta, \
             integral and twa hold the value read last; `duplicates: first` or `last` counts each \
             (asset, point, timestamp) once",
            job.name,
            plural(job.repeats, "repeated reading", "repeated readings")
        )
    })
}

/// The warning of a job whose `updates` rows stand for windows that a later correction (or a
/// late reading) left with no row in `final` mode: an output row cannot be taken back.
pub(crate) fn updates_left_warning(job: &JobStats) -> Option<String> {
    (job.updates_left_standing > 0).then(|| {
        format!(
            "meterflow: warning: job `{}` wrote {} in updates mode for windows that a later correction or late \
             reading left with no value (no valid reading left, below min_count or min_coverage, or not finite): \
             a row written cannot be taken back, so they stand in the output, while final mode writes no row for \
             those windows",
            job.name,
            plural(job.updates_left_standing, "row", "rows")
        )
    })
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

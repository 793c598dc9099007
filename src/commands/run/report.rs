//! What a run tells its user at the end: the summary on stderr, the warnings that are printed
//! even with `-q`, and the internal error of a row accounting that does not balance (the
//! `--stats-json` figures are in `stats_json`).

use crate::engine::FAR_BEHIND;
use crate::engine::accounting::Balance;
use crate::engine::names::Names;
use crate::engine::stats::JobStats;
use crate::engine::stats::PolicyStats;
use crate::engine::watermark::NO_WATERMARK;
use crate::input::BadRowPolicy;
use crate::input::options::Layout;
use crate::replay::state::session::StateRun;
use crate::replay::{Replay, Resumed};
use crate::text::count;
use crate::time::duration::format_duration;
use crate::time::format_timestamp;
use anyhow::anyhow;
use std::path::Path;

/// Share of the readings jobs receive that, dropped as late, earns a hint about `--sort-input`.
const LATE_WARNING_SHARE: f64 = 0.05;

/// What this run alone did, where the rest of the report gives totals.
#[derive(serde::Serialize)]
pub(super) struct ThisRun {
    pub(crate) rows: u64,
    pub(crate) rows_written: u64,
    pub(crate) late_rows: u64,
}

pub(super) fn this_run(replay: &Replay, resumed: &Resumed) -> ThisRun {
    let (points, late) = replay.pipeline.rows_handed_on();
    ThisRun {
        rows: replay.counts.rows - resumed.rows_before,
        rows_written: points - resumed.points_written_before,
        late_rows: late - resumed.late_written_before,
    }
}

/// The internal error of a run whose row accounting does not balance, or `None` when it does.
pub(crate) fn accounting_error(balances: &[Balance]) -> Option<anyhow::Error> {
    let broken: Vec<String> = balances.iter().filter(|b| !b.holds()).map(Balance::describe).collect();
    (!broken.is_empty()).then(|| {
        anyhow!(
            "internal error: the row accounting does not balance, so rows may have been lost: {}; \
             this is a bug in meterflow, please report it with the job files and input",
            broken.join("; ")
        )
    })
}

/// A hint when many readings were dropped as late: the input is probably not in time order, or,
/// when most were dropped far behind their watermark, one reading stamped far ahead moved it.
/// `with_state`: the run keeps a `--state`, which `--sort-input` cannot go with; `skew_set`: every
/// job sets `max_future_skew`, so the hint says why it did not help instead of advising it.
pub(crate) fn late_warning(jobs: &[&JobStats], far_behind: u64, with_state: bool, skew_set: bool) -> Option<String> {
    let received: u64 = jobs.iter().map(|j| j.rows_read).sum();
    let dropped: u64 = jobs.iter().map(|j| j.late_dropped).sum();
    let share = dropped as f64 / received.max(1) as f64;
    (share > LATE_WARNING_SHARE).then(|| {
        let cause = if far_behind * 2 > dropped && skew_set {
            format!(
                "{far_behind} of them were more than {} behind the watermark: a reading stamped far ahead (a device clock \
                 off by years) probably moved it; the jobs' max_future_skew holds a reading back only against a \
                 watermark already set, so a series' first reading, one a later reading confirmed, or one that \
                 confirmed a reading held back before it, moves it",
                format_duration(FAR_BEHIND)
            )
        } else if far_behind * 2 > dropped {
            format!(
                "{far_behind} of them were more than {} behind the watermark: a reading stamped far ahead (a device clock \
                 off by years) probably moved it; --max-future-skew DURATION (or the jobs' max_future_skew) keeps such a \
                 reading from advancing the watermark",
                format_duration(FAR_BEHIND)
            )
        } else if with_state {
            "if the input is not in time order (e.g. newest first), sort each input file by time before the run \
             (--sort-input cannot go with --state), or give the jobs a longer `latency`"
                .to_string()
        } else {
            "if the input is not in time order (e.g. newest first), replay it with --sort-input".to_string()
        };
        format!(
            "meterflow: warning: {dropped} of the {received} readings the jobs received ({:.1}%) were dropped as late beyond lateness; \
             {cause}",
            share * 100.0
        )
    })
}

/// Merge policies that wrote rows from an operand value carried over from before the previous
/// trigger time (a silent meter's last value repeated) with no `max_age` set: the platform's
/// `last_value` rule, which users should know they rely on.
pub(crate) fn carried_over_warnings(replay: &Replay) -> Vec<String> {
    let mut lines = Vec::new();
    for job in replay.pipeline.stats() {
        for c in job.carried.iter().filter(|c| c.rows > 0 && c.max_age.is_none()) {
            let example = c.example.as_ref().map_or_else(String::new, |e| {
                format!(
                    " (e.g. {} at {} used {} from {} before)",
                    replay.names.assets.name(e.asset),
                    timestamp_text(e.ts),
                    e.operand,
                    format_duration(e.age)
                )
            });
            let advice = match c.every {
                Some(every) if every > 1 => format!(
                    "set `max_age` below the trigger period (e.g. `max_age: {}`) to write no row for such times",
                    format_duration(every / 2)
                ),
                _ => "set `max_age` to the age of the oldest operand value a row may use".to_string(),
            };
            lines.push(format!(
                "meterflow: warning: job `{}` wrote {} from an operand value carried over from before the previous \
                 trigger, as when a meter goes silent{example}; {advice}",
                job.name,
                count(c.rows, &format!("{} row", c.output), &format!("{} rows", c.output)),
            ));
        }
    }
    lines
}

/// Jobs, and window policies, that wrote no row over a stream that has ended, with the cause.
pub(crate) fn silent_job_warnings(replay: &Replay) -> Vec<String> {
    let mut lines = Vec::new();
    for job in replay.pipeline.stats() {
        let name = &job.name;
        if job.rows_written == 0 {
            let cause = if job.rows_read == 0 {
                "it received no readings".to_string()
            } else if job.late_dropped == job.rows_read {
                "every reading it received was late beyond lateness".to_string()
            } else if job.policies.is_empty() {
                merge_cause(job, &replay.names)
            } else {
                window_causes(job)
            };
            lines.push(format!("meterflow: warning: job `{name}` wrote no row: {cause}"));
            continue;
        }
        for p in job.policies.iter().filter(|p| p.rows_written == 0 && p.read > 0) {
            lines.push(format!(
                "meterflow: warning: policy {} of job `{name}` wrote no row: {}",
                p.output,
                policy_cause(p)
            ));
        }
    }
    lines
}

fn merge_cause(job: &JobStats, names: &Names) -> String {
    let m = &job.merge;
    let failed = m.missing_operand + m.stale_operand + m.eval_error + m.non_finite + m.empty;
    if failed == 0 {
        return "no trigger time was reached".to_string();
    }
    let first = m.samples.first().map_or_else(String::new, |s| {
        format!("; the first, for {} at {}: {}", names.assets.name(s.asset), timestamp_text(s.ts), s.reason)
    });
    format!(
        "every one of its {} failed ({}, {}, {}, {}, {}){first}",
        count(failed, "evaluation", "evaluations"),
        count(m.missing_operand, "missing operand", "missing operands"),
        count(m.stale_operand, "stale operand", "stale operands"),
        count(m.eval_error, "evaluation error", "evaluation errors"),
        count(m.non_finite, "non-finite result", "non-finite results"),
        count(m.empty, "empty result", "empty results")
    )
}

fn window_causes(job: &JobStats) -> String {
    let causes: Vec<String> = job.policies.iter().map(|p| format!("{}: {}", p.output, policy_cause(p))).collect();
    causes.join("; ")
}

fn policy_cause(p: &PolicyStats) -> String {
    if p.read == 0 {
        "it received no readings".to_string()
    } else if p.valid == 0 && p.out_of_threshold > 0 && p.late_dropped == 0 {
        format!("all {} were outside its threshold", count(p.read, "reading", "readings"))
    } else if p.valid == 0 {
        format!(
            "of its {}, {} were outside its threshold and {} late beyond lateness",
            count(p.read, "reading", "readings"),
            p.out_of_threshold,
            p.late_dropped
        )
    } else if p.non_finite > 0 {
        format!("its {} overflowed the float range", count(p.non_finite, "window", "windows"))
    } else {
        "its windows were not final yet".to_string()
    }
}

pub(super) fn timestamp_text(ms: i64) -> String {
    if ms == NO_WATERMARK {
        return "none".to_string();
    }
    let mut out = Vec::new();
    format_timestamp(ms, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// What became of the state file (left out with `-q`, as the summary is: an open stream is the
/// daily routine of `--state`, not a warning).
pub(crate) fn state_note(state: &StateRun, replay: &Replay) -> String {
    let path = state.path().display();
    if state.finishes() {
        return format!("meterflow: state {path} finished: the stream has ended and nothing may resume from it");
    }
    let open = replay.pipeline.open_windows();
    format!(
        "meterflow: state saved to {path} with {} open; the next run with --state {path} resumes from it, and \
         --finish ends the stream",
        count(open, "window", "windows")
    )
}

/// The run summary printed on stderr; `rejects` is where skipped bad rows were recorded. In wide
/// input a row holds several readings: the input line counts both, and what the jobs receive is
/// counted in readings. `closed`: the reader of the output left after that many rows had left,
/// while a piece of that many more was being written, so the jobs' rows are said to be made, not
/// written.
pub(crate) fn summary(replay: &Replay, rejects: Option<&Path>, closed: Option<(u64, u64)>) -> String {
    let (counts, bad_rows, inputs) = (&replay.counts, &replay.bad_rows, replay.sources);
    let wide = replay.layout() == Layout::Wide;
    let skipped = match bad_rows.policy() {
        BadRowPolicy::Skip => format!("{} skipped, ", count(counts.rejected, "bad row", "bad rows")),
        BadRowPolicy::Fail => String::new(),
    };
    let mut s = String::new();
    if let Some(resumed) = &replay.resumed {
        let now = this_run(replay, resumed);
        s.push_str(&format!(
            "meterflow: resumed from {} ({} and {} before): this run read {}, wrote {} and {}; \
             the figures below are totals since the state began\n",
            resumed.from,
            count(u64::from(resumed.runs_before), "run", "runs"),
            count(resumed.inputs_before as u64, "input", "inputs"),
            count(now.rows, "row", "rows"),
            count(now.rows_written, "row", "rows"),
            count(now.late_rows, "late row", "late rows")
        ));
    }
    let readings = match wide {
        true => format!("{}, ", count(counts.values - counts.missing, "reading", "readings")),
        false => String::new(),
    };
    let unread = if wide { ("reading", "readings") } else { ("row", "rows") };
    s.push_str(&format!(
        "meterflow: {} read from {} ({readings}{} skipped, {skipped}{} of points or models no job reads)\n",
        count(counts.rows, "row", "rows"),
        count(inputs as u64, "input", "inputs"),
        count(counts.missing, "missing value", "missing values"),
        count(replay.pipeline.unrouted(), unread.0, unread.1)
    ));
    if let Some(first) = &bad_rows.first {
        let all = match rejects {
            Some(path) => format!("all are in {}", path.display()),
            None => "--rejects FILE records them all".to_string(),
        };
        s.push_str(&format!("  first bad row: {first} ({all})\n"));
    }
    let verb = if closed.is_some() { "made" } else { "written" };
    for job in replay.pipeline.stats() {
        s.push_str(&job_summary(job, &replay.names, wide, verb));
    }
    if let Some((rows, cut)) = closed {
        let piece = match cut {
            0 => String::new(),
            n => format!(" (and some of the {} being written when it left)", count(n, "row", "rows")),
        };
        s.push_str(&format!(
            "meterflow: the reader of the output left after {} had been written{piece}; the run stopped there \
             and wrote no more\n",
            count(rows, "row", "rows")
        ));
    }
    // Non-zero codes make this a warning (see `unseen::quality_warning`).
    if replay.quality_column && !replay.pipeline.filters_quality() && replay.quality_rows == 0 {
        s.push_str(
            "meterflow: the input's quality column was not used: no job sets `quality`, so readings of every quality \
             were processed\n",
        );
    }
    if let Some(idle) = &replay.idle {
        s.push_str(&format!(
            "meterflow: --idle-timeout moved the watermark of a silent series {}: this output depends on when \
             readings arrived\n",
            count(idle.advances, "time", "times")
        ));
    }
    s
}

/// One job's lines; `verb` says what became of its rows (`written`, or `made` when the output's
/// reader left before they were all written).
fn job_summary(job: &JobStats, names: &Names, wide: bool, verb: &str) -> String {
    let read = if wide { ("reading", "readings") } else { ("row", "rows") };
    let mut s = format!(
        "{} ({}): {} read, {} dropped as late, {} {verb}, final watermark {}\n",
        job.name,
        job.file,
        count(job.rows_read, read.0, read.1),
        job.late_dropped,
        count(job.rows_written, "row", "rows"),
        timestamp_text(job.final_watermark)
    );
    s.extend(super::repeats::summary_line(job));
    for p in &job.policies {
        s.push_str(&format!(
            "  {}: {} valid ({} late accepted), {} out of threshold, {} late dropped, {} {verb}\n",
            p.output,
            p.valid,
            p.late_accepted,
            p.out_of_threshold,
            p.late_dropped,
            count(p.rows_written, "row", "rows")
        ));
        let notes = [
            (p.non_finite, "window wrote", "windows wrote", "no row: their value overflowed the float range"),
            (p.below_min_count, "window", "windows", "below min_count: no row"),
            (p.below_min_coverage, "window", "windows", "below min_coverage: no row"),
            (p.exchanges, "step", "steps", "across a meter exchange: left out"),
            (p.outside_slope, "step", "steps", "outside the slope: left out"),
            (p.beyond_max_gap, "interval", "intervals", "longer than max_gap: not integrated"),
            (p.nothing_integrated, "window with", "windows with", "no interval integrated: no row"),
            (
                p.interpolated,
                "out-of-threshold reading",
                "out-of-threshold readings",
                "replaced by the last valid value",
            ),
        ];
        for (n, one, many, what) in notes {
            if n > 0 {
                s.push_str(&format!("  {}: {} {what}\n", p.output, count(n, one, many)));
            }
        }
        if p.partially_late > 0 {
            s.push_str(&format!(
                "  {}: {} partially late: dropped from {}, added to the others\n",
                p.output,
                count(p.partially_late, "reading", "readings"),
                count(p.windows_missed, "expired window", "expired windows")
            ));
        }
    }
    if job.future_skewed > 0 {
        s.push_str(&format!(
            "  {} too far ahead of the watermark, never confirmed: dropped\n",
            count(job.future_skewed, "reading", "readings")
        ));
    }
    if job.quality_filtered > 0 {
        s.push_str(&format!(
            "  {} left out by the job's quality condition\n",
            count(job.quality_filtered, "reading", "readings")
        ));
    }
    if job.policies.is_empty() {
        let m = &job.merge;
        s.push_str(&format!(
            "  no row for {}, {}, {}, {}\n",
            count(m.missing_operand, "missing operand", "missing operands"),
            count(m.eval_error, "evaluation error", "evaluation errors"),
            count(m.non_finite, "non-finite result", "non-finite results"),
            count(m.empty, "empty result", "empty results")
        ));
        for c in job.carried.iter().filter(|c| c.rows > 0) {
            s.push_str(&format!(
                "  {}: {} from an operand carried over from before the previous trigger (oldest {} old)\n",
                c.output,
                count(c.rows, "row", "rows"),
                format_duration(c.oldest_age)
            ));
        }
        if m.stale_operand > 0 {
            s.push_str(&format!(
                "  no row for {} with a stale operand (its latest value older than max_age)\n",
                count(m.stale_operand, "evaluation", "evaluations")
            ));
        }
        for sample in &m.samples {
            s.push_str(&format!(
                "  no row for {} at {}: {}\n",
                names.assets.name(sample.asset),
                timestamp_text(sample.ts),
                sample.reason
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unbalanced_accounting_is_an_internal_error_naming_the_equation() {
        let part = |name: &str, n: u64| (name.to_string(), n);
        let holds = Balance {
            scope: "input rows".into(),
            total: part("rows", 3),
            parts: vec![part("rows read whole", 3), part("rejected rows", 0)],
        };
        assert!(accounting_error(std::slice::from_ref(&holds)).is_none());
        let broken = Balance {
            scope: "job w".into(),
            total: part("rows read", 5),
            parts: vec![part("kept", 3), part("late dropped", 1)],
        };
        let error = accounting_error(&[holds, broken]).expect("an error");
        assert_eq!(
            error.to_string(),
            "internal error: the row accounting does not balance, so rows may have been lost: job w: 5 rows read = 3 kept + 1 late dropped; \
             this is a bug in meterflow, please report it with the job files and input"
        );
    }
}

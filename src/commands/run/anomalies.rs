//! Warnings about one series that figures over all series hide: a meter whose clock jumped far
//! ahead makes the rest of its own readings late, while the run's share of late readings stays
//! small when it has many meters. Said even with `-q` (errors under `--strict`), from the
//! engine's per-series tallies.

use crate::engine::names::Names;
use crate::engine::stats::SeriesTally;
use crate::time::MS_PER_DAY;
use crate::time::timestamp_string as text;

/// Share of its own readings a series may drop as late before it is named.
const LATE_SHARE: f64 = 0.05;

/// How far one series' event time may jump ahead of every other series' in one reading.
const JUMP: i64 = MS_PER_DAY;

/// Series named at most, per warning kind; the rest are counted.
const NAMED: usize = 5;

/// What to do about a clock far ahead.
const SKEW_HINT: &str = "max_future_skew in the job (or --max-future-skew DURATION) keeps a lone reading stamped far \
                         ahead from moving the watermark";

/// Why the jobs' `max_future_skew` did not hold back a reading that moved the watermark far ahead.
const SKEW_SET_LATE: &str = "max_future_skew, set for the jobs that read it, holds a reading back only against a \
                             watermark already set: this one was set by the series' first reading, by one a later \
                             reading within the skew confirmed, or by one that confirmed a reading held back before it \
                             (taken with it however far ahead of it)";

/// Why the jobs' `max_future_skew` did not hold back a jump.
const SKEW_SET_JUMP: &str = "max_future_skew, set for the jobs that read it, did not hold this reading back: a later \
                             reading within the skew confirmed it, it confirmed a reading held back before it (taken \
                             with it however far ahead of it), or the jump was within the skew";

/// The warnings of the series that dropped more than [`LATE_SHARE`] of their readings as late
/// and over twice the share of the whole run (the run-wide late warning speaks for series that
/// are all alike), and of those whose event time jumped more than [`JUMP`] ahead of every other
/// series, and of those that had readings held back as too far ahead of their watermark
/// (`max_future_skew`) and dropped, never confirmed. `holds_skew` says whether every job reading
/// a point sets `max_future_skew`: then the hint says why it did not help, instead of advising it.
pub(crate) fn series_warnings(series: &[SeriesTally], names: &Names, holds_skew: &dyn Fn(u32) -> bool) -> Vec<String> {
    let label = |t: &SeriesTally| format!("series `{}` / `{}`", names.assets.name(t.asset), names.points.name(t.point));
    let mut lines = Vec::new();
    let share = |late: u64, readings: u64| late as f64 / readings.max(1) as f64;
    let run = share(series.iter().map(|t| t.late).sum(), series.iter().map(|t| t.readings).sum());
    let late: Vec<&SeriesTally> = series
        .iter()
        .filter(|t| share(t.late, t.readings) > LATE_SHARE && share(t.late, t.readings) > 2.0 * run)
        .collect();
    for t in late.iter().take(NAMED) {
        let cause = if t.late_far_behind * 2 > t.late {
            let hint = if holds_skew(t.point) { SKEW_SET_LATE } else { SKEW_HINT };
            format!("a device clock far ahead? {hint}")
        } else {
            "if the input is not in time order, replay it with --sort-input, or allow more latency".to_string()
        };
        lines.push(format!(
            "meterflow: warning: {} dropped {} of its {} readings ({:.1}%) as late beyond lateness, behind a watermark of \
             {} set by a reading stamped then; {cause}",
            label(t),
            t.late,
            t.readings,
            t.late as f64 * 100.0 / t.readings as f64,
            text(t.late_watermark)
        ));
    }
    if late.len() > NAMED {
        lines.push(format!(
            "meterflow: warning: and {} more series dropped over 5% of their readings as late",
            late.len() - NAMED
        ));
    }
    // The latest of the others: the highest latest timestamp but the series' own.
    let (mut first, mut second) = ((usize::MAX, i64::MIN), i64::MIN);
    for (k, t) in series.iter().enumerate() {
        if t.latest > first.1 {
            second = first.1;
            first = (k, t.latest);
        } else {
            second = second.max(t.latest);
        }
    }
    let mut jumped = Vec::new();
    for (k, t) in series.iter().enumerate().filter(|_| series.len() > 1) {
        let others = if k == first.0 { second } else { first.1 };
        // A far reading dropped as too far ahead wrote no row: the warning of dropped readings names it.
        let dropped = t.skewed > 0 && (t.skewed_at.0 == t.jump.1 || t.skewed_at.1 == t.jump.1);
        if t.jump.1 - t.jump.0 > JUMP && t.jump.1 > others.saturating_add(JUMP) && !dropped {
            jumped.push((t, others));
        }
    }
    for (t, others) in jumped.iter().take(NAMED) {
        let hint = if holds_skew(t.point) { SKEW_SET_JUMP } else { SKEW_HINT };
        lines.push(format!(
            "meterflow: warning: {} jumped from {} to {} in one reading, more than a day ahead of every other series \
             (the latest of the others is {}), and rows are written for the windows of that reading; a device clock \
             far ahead? {hint}",
            label(t),
            text(t.jump.0),
            text(t.jump.1),
            text(*others)
        ));
    }
    if jumped.len() > NAMED {
        lines.push(format!(
            "meterflow: warning: and {} more series jumped more than a day ahead of the others",
            jumped.len() - NAMED
        ));
    }
    let skewed: Vec<&SeriesTally> = series.iter().filter(|t| t.skewed > 0).collect();
    for t in skewed.iter().take(NAMED) {
        let (first, latest) = t.skewed_at;
        let which = match t.skewed {
            1 => format!("a reading stamped {}", text(first)),
            n => format!("{n} readings, the first stamped {} and the latest {},", text(first), text(latest)),
        };
        lines.push(format!(
            "meterflow: warning: {} had {which} more than max_future_skew ahead of its watermark, which no later \
             reading confirmed: dropped, used by no aggregation (reason future_skewed in --late-output)",
            label(t)
        ));
    }
    if skewed.len() > NAMED {
        lines.push(format!(
            "meterflow: warning: and {} more series had readings too far ahead of their watermark dropped",
            skewed.len() - NAMED
        ));
    }
    lines
}

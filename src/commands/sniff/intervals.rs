//! Whether a file's timestamps end their readings' intervals, as most utility exports write them:
//! the header says so (a timestamp column named for the end, `Read Date and End Time`,
//! `interval_end`), or the data does (rows in time order whose every series starts one step after
//! local midnight, at 00:30 for half hours: the interval 00:00-00:30 is stamped with its end). The
//! interval length proposed is the most common step between a series' readings in the sample.

use super::Order;
use super::columns::{Column, Roles, Timestamp};
use crate::input::InputSettings;
use crate::input::stamps::common_step;
use crate::input::timestamp::{DstPolicy, TimeFormat, TimeParser};
use crate::time::duration::format_duration;
use crate::time::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE};

/// Proposes `--interval-end` when the header or the data say the timestamps end intervals.
pub(crate) fn propose(
    (time, columns, roles, order): (&Timestamp, &[Column], &Roles, &Order),
    rows: &[Vec<&str>],
    proposal: &mut InputSettings,
    notes: &mut Vec<String>,
) {
    if proposal.interval_end.is_some() {
        return;
    }
    let sample = wall_times(time, roles, rows, proposal.time_format.as_deref());
    let step = common_step(&sample).filter(|&s| MS_PER_DAY % s == 0);
    let named = time.columns.iter().map(|&c| columns[c].name.as_str()).find(|name| names_an_end(name));
    let reason = match named {
        Some(name) => format!("the timestamp column `{name}` names the end of each interval"),
        None if *order == Order::Ascending && step.is_some_and(|s| every_series_starts_at(&sample, s)) => {
            let step = step.unwrap_or_default();
            format!(
                "every series starts at {:02}:{:02}, one step after midnight, as a file of interval ends does",
                step / MS_PER_HOUR,
                step % MS_PER_HOUR / MS_PER_MINUTE
            )
        }
        None => return,
    };
    let length = step.map_or_else(|| "auto".to_string(), format_duration);
    notes.push(format!(
        "{reason}: --interval-end {length} (proposed) reads each timestamp as the end of its interval and moves the \
         reading back to the interval's start, so a day or an hour holds the intervals that lie in it"
    ));
    proposal.interval_end = Some(length);
}

/// Whether a column name names an interval's end: a word `end`, `ends` or `ending`, in any case,
/// however the words are joined (`End Time`, `interval_end`, `PeriodEnd`).
fn names_an_end(name: &str) -> bool {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut after_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() || (c.is_uppercase() && after_lower) {
            words.push(std::mem::take(&mut word));
        }
        if c.is_alphanumeric() {
            word.push(c.to_ascii_lowercase());
        }
        after_lower = c.is_lowercase();
    }
    words.push(word);
    words.iter().any(|w| matches!(w.as_str(), "end" | "ends" | "ending"))
}

/// The sampled rows' wall-clock times (read as if UTC) by series text.
fn wall_times(
    time: &Timestamp,
    roles: &Roles,
    rows: &[Vec<&str>],
    format: Option<&str>,
) -> Vec<((String, String), i64)> {
    let format = match format.map(TimeFormat::parse) {
        None => TimeFormat::Auto,
        Some(Ok(f)) => f,
        Some(Err(_)) => return Vec::new(),
    };
    if time.has_offset {
        return Vec::new();
    }
    let parser = TimeParser { format, zone: None, dst: DstPolicy::default() };
    let cell = |row: &[&str], c: Option<usize>| c.and_then(|c| row.get(c)).map_or(String::new(), |t| t.to_string());
    rows.iter()
        .filter_map(|row| {
            let text: Vec<&str> = time.columns.iter().map(|&c| row.get(c).copied().unwrap_or("")).collect();
            let ts = parser.parse(text.join(" ").as_bytes()).ok()?;
            let point = if roles.wide { String::new() } else { cell(row, roles.point) };
            Some(((cell(row, roles.asset), point), ts))
        })
        .collect()
}

/// Whether the first reading of every series lies `step` after a local midnight.
fn every_series_starts_at(sample: &[((String, String), i64)], step: i64) -> bool {
    let mut first: Vec<(&(String, String), i64)> = Vec::new();
    for (key, ts) in sample {
        match first.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = entry.1.min(*ts),
            None => first.push((key, *ts)),
        }
    }
    !first.is_empty() && first.iter().all(|&(_, ts)| ts.rem_euclid(MS_PER_DAY) == step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_names() {
        for name in ["Read Date and End Time", "interval_end", "PeriodEnd", "END", "period-ending"] {
            assert!(names_an_end(name), "{name}");
        }
        for name in ["timestamp", "weekend", "Trend", "Read Date", "endpoint"] {
            assert!(!names_an_end(name), "{name}");
        }
    }
}

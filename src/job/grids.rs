//! A pipeline-level warning: a frequency-triggered merge whose ticks do not fall on the starts of
//! the windows it reads (UTC midnights over local days, `every: 10m` over 15-minute windows). Such
//! a merge evaluates between window rows: each tick takes the row of the window before it, stamped
//! with another time, and the last windows get no tick at all. The grids are compared by probing
//! two years of ticks (for ticks of an hour or more) or the days around each clock change of both
//! zones (shorter ticks), so every rule of [`Grid`] takes part.

use super::plan::{Job, JobKind, Trigger, WindowType};
use crate::time::duration::format_duration;
use crate::time::grid::Grid;
use crate::time::period::Period;
use crate::time::zone::offset_ms;
use crate::time::{MS_PER_DAY, MS_PER_HOUR, days_from_civil, timestamp_string as text};
use chrono_tz::Tz;

/// The grid of a job's ticks or window starts, and the words for it.
struct Lay {
    step: Period,
    timezone: Option<Tz>,
    offset: i64,
}

impl Lay {
    fn grid(&self) -> Grid {
        Grid::new(self.step, self.timezone, self.offset)
    }

    fn describe(&self) -> String {
        let zone = self.timezone.map_or("UTC".to_string(), |tz| tz.name().to_string());
        let offset = if self.offset == 0 { String::new() } else { format!(" from {}", format_duration(self.offset)) };
        format!("{}{offset} in {zone}", self.step)
    }
}

/// Adds to each frequency-triggered merge job a warning per operand whose windows start on
/// another grid than its ticks.
pub(crate) fn warn_mismatched_grids(jobs: &mut [Job]) {
    let mut found = Vec::new();
    for (m, job) in jobs.iter().enumerate() {
        let JobKind::Merge(merge) = &job.kind else { continue };
        let (Trigger::Frequency { every, offset }, Some(site)) = (merge.trigger, &merge.tick_site) else { continue };
        let ticks = Lay { step: every, timezone: merge.timezone, offset };
        // A set: a merge may read tens of thousands of points.
        let mut seen = std::collections::HashSet::new();
        for operand in merge.policies.iter().flat_map(|p| &p.operands) {
            if !seen.insert(operand.as_str()) {
                continue;
            }
            let Some((producer, windows)) = windows_writing(jobs, operand) else { continue };
            if let Some(tick) = first_stray_tick(&ticks, &windows) {
                let mut warning = site.clone();
                warning.message = format!(
                    "the ticks (every {}) do not fall on the starts of the windows of `{operand}`, written by job `{}` \
                     (every {}): the tick {} is no window start; a tick between window starts stamps the row of \
                     the window before it with its own time, and a window with no tick at its start gets no row of \
                     its own; {}",
                    ticks.describe(),
                    jobs[producer].name,
                    windows.describe(),
                    text(tick),
                    fix(&ticks, &windows)
                );
                found.push((m, warning));
            }
        }
    }
    for (m, warning) in found {
        jobs[m].warnings.push(warning);
    }
}

/// The job writing `point` when it is a window job, and the grid its windows start on.
fn windows_writing(jobs: &[Job], point: &str) -> Option<(usize, Lay)> {
    jobs.iter().enumerate().find_map(|(j, job)| {
        let JobKind::Window(w) = &job.kind else { return None };
        let policy = w.policies.iter().find(|p| p.output == point)?;
        let step = match w.window {
            WindowType::Tumbling => policy.window_size,
            WindowType::Sliding { slide } => slide,
        };
        Some((j, Lay { step, timezone: w.timezone, offset: w.offset }))
    })
}

/// The first probed tick that is no window start, if any.
fn first_stray_tick(ticks: &Lay, windows: &Lay) -> Option<i64> {
    let (tick_grid, window_grid) = (ticks.grid(), windows.grid());
    let start = days_from_civil(2024, 1, 1) * MS_PER_DAY;
    let spans: Vec<(i64, i64)> = if ticks.step.shortest_ms() >= MS_PER_HOUR {
        vec![(start, days_from_civil(2026, 1, 1) * MS_PER_DAY)]
    } else {
        let mut days = vec![start];
        for tz in [ticks.timezone, windows.timezone].into_iter().flatten() {
            days.extend(clock_change_days(tz, start));
        }
        days.into_iter().map(|day| (day, day + 2 * MS_PER_DAY)).collect()
    };
    for (from, until) in spans {
        let mut k = tick_grid.step_of(from);
        loop {
            let tick = tick_grid.start(k);
            if tick >= until {
                break;
            }
            if !window_grid.starts_at(tick) {
                return Some(tick);
            }
            k += 1;
        }
    }
    None
}

/// The days of a year from `start` on which the zone's offset changes.
fn clock_change_days(tz: Tz, start: i64) -> Vec<i64> {
    (0..366)
        .map(|d| start + d * MS_PER_DAY)
        .filter(|&day| offset_ms(tz, day) != offset_ms(tz, day + MS_PER_DAY))
        .collect()
}

/// What to write in the merge job so its ticks fall on the window starts.
fn fix(ticks: &Lay, windows: &Lay) -> String {
    let mut changes = Vec::new();
    if ticks.timezone != windows.timezone {
        changes.push(match windows.timezone {
            Some(tz) => format!("`timezone: {}`", tz.name()),
            None => "no `timezone`".to_string(),
        });
    }
    if ticks.step.multiple_of(windows.step).is_none() {
        changes.push(format!("`every: {}`", windows.step));
    }
    if ticks.offset != windows.offset {
        changes.push(format!("`trigger.offset: {}`", format_duration(windows.offset)));
    }
    if changes.is_empty() {
        return "tick on the windows' grid".to_string();
    }
    format!("write {} in the merge job to tick where the windows start", changes.join(" and "))
}

#[cfg(test)]
mod tests {
    use crate::job::load_sources;

    /// The warnings of a daily-sum window job (`window` lines added, windows of `size`) and a merge
    /// reading its output (`merge` lines added).
    fn warnings(window: &str, size: &str, merge: &str) -> Vec<String> {
        let window_job = format!(
            "name: w\ntemplate: time_window_aggregation\nmodel: M\n{window}\npolicies:\n  - input: R\n    \
             aggregation: sum\n    window_size: {size}\n    output: S\n"
        );
        let merge_job = format!(
            "name: m\ntemplate: multi_point_merging\nmodel: M\n{merge}\npolicies:\n  - output: D\n    logic: \"${{S}} * 2\"\n"
        );
        let sources =
            vec![("w.yaml".to_string(), window_job.into_bytes()), ("m.yaml".to_string(), merge_job.into_bytes())];
        let jobs = load_sources(sources).expect("valid jobs");
        jobs.into_iter().flat_map(|j| j.warnings).map(|d| d.message).collect()
    }

    fn every(period: &str) -> String {
        format!("trigger:\n  mode: frequency\n  every: {period}")
    }

    #[test]
    fn utc_ticks_over_local_days() {
        let found = warnings("timezone: Europe/Dublin", "1d", &every("1d"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("the tick 2024-04-01T00:00:00.000Z is no window start"), "{}", found[0]);
        assert!(found[0].ends_with("write `timezone: Europe/Dublin` in the merge job to tick where the windows start"));
        let zoned = format!("timezone: Europe/Dublin\n{}", every("1d"));
        assert_eq!(warnings("timezone: Europe/Dublin", "1d", &zoned), Vec::<String>::new());
        // Local hours in Kolkata start at :30 UTC.
        let found = warnings("timezone: Asia/Kolkata", "1h", &every("1h"));
        assert!(found[0].contains("the tick 2024-01-01T00:00:00.000Z"), "{}", found[0]);
    }

    #[test]
    fn ticks_between_window_starts() {
        let found = warnings("", "15m", &every("10m"));
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("the tick 2024-01-01T00:10:00.000Z"), "{}", found[0]);
        assert!(found[0].contains("`every: 15m`"), "{}", found[0]);
        // Ticks on window starts, every one or every fourth: no warning.
        assert!(warnings("", "15m", &every("15m")).is_empty());
        assert!(warnings("", "15m", &every("1h")).is_empty());
        assert!(warnings("", "1mo", &every("1mo")).is_empty());
        // A gas day read at midnight.
        let found = warnings("window:\n  type: tumbling\n  offset: 6h", "1d", &every("1d"));
        assert!(found[0].contains("`trigger.offset: 6h`"), "{}", found[0]);
    }
}

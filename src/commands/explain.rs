//! `meterflow explain`: the resolved plan of a set of jobs in plain words. It is written from the
//! validated plans, not the YAML, so it shows what the engine will do: the points expected from the
//! input, the jobs in run order, each policy's window, threshold, lateness and output, and each
//! merge expression as compiled.

use crate::commands::{Failure, print};
use crate::job::expr::variable_name;
use crate::job::load_jobs;
use crate::job::pipeline::{external_inputs, run_order};
use crate::job::threshold::Threshold;
use crate::job::{
    Aggregation, Boundary, Interpolation, Job, JobKind, MergeJob, Method, PolicyRules, Reset, Trigger, WindowJob,
    WindowPolicy, WindowType,
};
use crate::time::MS_PER_DAY;
use crate::time::duration::format_duration;
use crate::time::period::Period;
use crate::time::zone::Alignment;
use chrono_tz::Tz;
use std::fmt::Write;
use std::path::PathBuf;

/// `meterflow explain`: prints the plan of the jobs in `paths`.
pub(crate) fn explain(paths: &[PathBuf]) -> Result<(), Failure> {
    let jobs = load_jobs(paths).map_err(Failure::Jobs)?;
    print(&describe(&jobs))
}

/// The plan of `jobs` (as loaded, any order) as text.
pub(crate) fn describe(jobs: &[Job]) -> String {
    let order = run_order(jobs).unwrap_or_else(|_| (0..jobs.len()).collect());
    let mut s = String::new();
    let count = crate::text::count(jobs.len() as u64, "job", "jobs");
    let _ = writeln!(s, "Pipeline: {count}, run in this order (producers before the jobs that read their points):");
    for (n, &j) in order.iter().enumerate() {
        let _ = writeln!(s, "  {}. {} ({})", n + 1, jobs[j].name, jobs[j].file);
    }
    let _ = writeln!(
        s,
        "Input: points {}, as CSV rows `timestamp,asset,point,value` (optionally `model`) replayed in file order.",
        external_inputs(jobs).join(", ")
    );
    let outputs: Vec<&str> = order.iter().flat_map(|&j| jobs[j].outputs()).collect();
    let _ = writeln!(s, "Output: points {}, as `timestamp,asset,point,value` rows.", outputs.join(", "));
    for &j in &order {
        s.push('\n');
        explain_job(jobs, j, &mut s);
    }
    s.lines().map(wrap).collect()
}

/// Widest line of the explanation.
const WIDTH: usize = 100;

/// `line` broken at spaces to at most [`WIDTH`] columns where it can be, continuation lines
/// indented 4 more than the first; with the newline.
fn wrap(line: &str) -> String {
    let indent = line.len() - line.trim_start().len();
    let continuation = " ".repeat(indent + 4);
    let mut out = String::new();
    let mut current = line[..indent].to_string();
    let mut empty = true;
    for word in line.split(' ').filter(|w| !w.is_empty()) {
        if !empty && current.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&current);
            out.push('\n');
            current = continuation.clone();
            empty = true;
        }
        if !empty {
            current.push(' ');
        }
        current.push_str(word);
        empty = false;
    }
    out.push_str(&current);
    out.push('\n');
    out
}

fn explain_job(jobs: &[Job], j: usize, s: &mut String) {
    let job = &jobs[j];
    let template = match job.kind {
        JobKind::Window(_) => "Time Window Aggregation",
        JobKind::Merge(_) => "Multi-Point Merging",
    };
    let _ = writeln!(s, "Job {} ({})", job.name, job.file);
    let _ = writeln!(s, "  Template: {template}, model {}.", job.model);
    let reads: Vec<String> = job
        .inputs()
        .iter()
        .map(|p| {
            format!("{p} ({})", producer(jobs, p).map_or("from the input".to_string(), |w| format!("written by {w}")))
        })
        .collect();
    let _ = writeln!(s, "  Reads: {}.", reads.join(", "));
    match &job.kind {
        JobKind::Window(w) => explain_window(w, s),
        JobKind::Merge(m) => explain_merge(m, s),
    }
    let writes: Vec<String> = job
        .outputs()
        .iter()
        .map(|p| {
            let readers: Vec<&str> = jobs.iter().filter(|o| o.inputs().contains(p)).map(|o| o.name.as_str()).collect();
            if readers.is_empty() {
                format!("{p} (pipeline output)")
            } else {
                format!("{p} (read by {})", readers.join(", "))
            }
        })
        .collect();
    let _ = writeln!(s, "  Writes: {}.", writes.join(", "));
}

/// The job that writes `point`, if any.
fn producer<'a>(jobs: &'a [Job], point: &str) -> Option<&'a str> {
    jobs.iter().find(|j| j.outputs().contains(&point)).map(|j| j.name.as_str())
}

fn explain_window(w: &WindowJob, s: &mut String) {
    let latency = format_duration(w.latency);
    let rule = if w.latency == 0 {
        "is final when its watermark reaches the end; a later reading for it is dropped and counted".to_string()
    } else {
        format!(
            "closes when its watermark reaches the end; a late reading is still added, and the window computed again, until \
             the watermark passes end + {latency}; after that its readings are dropped and counted"
        )
    };
    let _ = writeln!(
        s,
        "  Lateness: {latency}. Event time is tracked per series (asset x point) unless `--watermark` shares it. A window \
         [start, end) {rule}."
    );
    if let Some(q) = w.quality {
        let _ = writeln!(
            s,
            "  Quality: only readings whose quality code is in {q} are read; the others are counted and left out."
        );
    }
    if let Some(skew) = w.max_future_skew {
        let _ = writeln!(
            s,
            "  Max future skew: {}: a reading further ahead of its watermark is held back, in no window; the next \
             reading ahead confirms the jump (the held reading is taken, and the watermark moves on) when it lands not \
             more than that before it, and shows it a lone glitch (dropped, counted, never aggregated) when it lands \
             within that of the watermark.",
            format_duration(skew)
        );
    }
    for (n, p) in w.policies.iter().enumerate() {
        let valid = match (p.threshold == Threshold::ALL, p.interpolation) {
            (true, _) => "every value is valid".to_string(),
            (false, Interpolation::Ignore) => format!("valid values {}, others are ignored", p.threshold),
            (false, Interpolation::LastValue) => format!(
                "valid values {}, others are replaced by the series' latest valid value when that is not later than \
                 them (left out when there is none)",
                p.threshold
            ),
        };
        let crossed = match p.aggregation {
            Aggregation::Delta => p.rules.register.boundary == Boundary::Interpolate,
            a => a.is_integral(),
        };
        let empty = if crossed { " unless a step between readings crosses it" } else { "" };
        let _ = writeln!(
            s,
            "  Policy {} -> {}: {} of {} over {} ({}, stamped at the window start); {valid}; a window without a valid value \
             writes no row{empty}.",
            n + 1,
            p.output,
            p.aggregation.name(),
            p.input,
            windows(w.window, p.window_size),
            alignment(w, p.window_size),
        );
        for line in rules(p) {
            let _ = writeln!(s, "      {line}");
        }
    }
}

/// The policy's register, integration and coverage rules in words, one sentence a line.
fn rules(p: &WindowPolicy) -> Vec<String> {
    let mut lines = Vec::new();
    let PolicyRules { register, integration, coverage } = p.rules;
    if p.aggregation == Aggregation::Delta {
        let boundary = match register.boundary {
            Boundary::Previous => {
                "belongs to the earlier window, which is therefore final only once the window holding \
                                   the series' next reading expires, or the input ends"
            }
            Boundary::Interpolate => {
                "is split at each window edge it crosses, linearly in time (a window it crosses without a reading \
                 of its own writes its share as a row), so a window is final only once the window holding the \
                 series' next reading expires, or the input ends"
            }
            Boundary::None => "belongs to neither window (the increase across each window edge is not booked)",
        };
        lines.push(format!("The step from a window's last reading to the next window's first {boundary}."));
        let drop = match register.reset {
            Reset::Zero => "is a reset to 0: a -> b adds b".to_string(),
            Reset::Rollover { at } => format!("is a rollover at {at}: a -> b adds {at} - a + b"),
            Reset::Exchange => "is a meter exchange: the step across it is left out and counted".to_string(),
        };
        let tolerance = if register.reset_tolerance > 0.0 {
            format!(
                " larger than {} (a smaller one is noise, booked as the negative step it is)",
                register.reset_tolerance
            )
        } else {
            String::new()
        };
        lines.push(format!("A drop of the register{tolerance} {drop}."));
        if register.scale != 1.0 {
            lines.push(format!("Every increase is multiplied by {}.", register.scale));
        }
        if let Some(slope) = register.slope {
            lines.push(format!(
                "A step whose increase per hour (after the scale) lies outside {slope} is left out and counted."
            ));
        }
    }
    if p.aggregation.is_integral() {
        let method = match integration.method {
            Method::Left => "each reading's value holds until the next reading (left sum: p1 x (t2 - t1))",
            Method::Trapezoid => {
                "each interval between readings counts the mean of its two ends (trapezoid: (p1 + p2) / 2 \
                                  x (t2 - t1))"
            }
        };
        let unit = if p.aggregation == Aggregation::Integral {
            format!(", divided by {}", format_duration(integration.unit))
        } else {
            " over the time integrated".to_string()
        };
        let gap = integration.max_gap.map_or(String::new(), |g| {
            format!("; an interval longer than {} is not integrated, and counted", format_duration(g))
        });
        lines.push(format!(
            "Integration: {method}{unit}; an interval crossing a window edge is split at the edge (a window it crosses \
             without a reading of its own writes its share as a row), so a window is final only once the window \
             holding the series' next reading expires, or the input ends{gap}."
        ));
        lines.push("A window in which no interval was integrated writes no row, and is counted.".to_string());
    }
    if matches!(p.aggregation, Aggregation::Median | Aggregation::Percentile(_) | Aggregation::Stddev) {
        lines.push("The window keeps its readings (16 bytes each, one per timestamp) until it expires.".to_string());
    }
    if let Some(interval) = coverage.expected_interval {
        lines.push(format!(
            "A window expects one reading every {} of its real length (a local day at a clock change is 23 or 25 \
             hours long).",
            format_duration(interval)
        ));
    }
    if let Some(n) = coverage.min_count {
        lines.push(format!("A window with fewer than {n} valid readings writes no row, and is counted."));
    }
    if let Some(share) = coverage.min_coverage {
        lines.push(format!(
            "A window holding less than {share} of its expected readings writes no row, and is counted."
        ));
    }
    lines
}

/// `tumbling 10m windows`, `sliding 1h windows starting every 15m`.
fn windows(window: WindowType, size: Period) -> String {
    match window {
        WindowType::Tumbling => format!("tumbling {size} windows"),
        WindowType::Sliding { slide } => format!("sliding {size} windows starting every {slide}"),
    }
}

/// Where a policy's windows start, as the layout places them.
fn alignment(w: &WindowJob, size: Period) -> String {
    let step = match w.window {
        WindowType::Tumbling => size,
        WindowType::Sliding { slide } => slide,
    };
    grid(step, w.timezone, w.offset)
}

/// Where steps of `step` start, `offset` into each, in `timezone` (UTC when `None`): the words
/// for window starts and merge ticks alike.
fn grid(step: Period, timezone: Option<Tz>, offset: i64) -> String {
    let unit = match step {
        Period::Months(_) => "month",
        Period::Fixed(ms) if ms % MS_PER_DAY == 0 => "day",
        Period::Fixed(_) => "step",
    };
    let into =
        if offset == 0 { String::new() } else { format!(", starting {} into each {unit}", format_duration(offset)) };
    let zone = timezone.map_or("UTC", |tz| tz.name());
    match (step, timezone.and_then(|_| Alignment::of_period(step))) {
        (Period::Months(_), _) => format!(
            "calendar months starting at midnight on the 1st in {zone}{into}, so a window is as long as its months"
        ),
        (_, Some(Alignment::Wall)) => format!(
            "aligned to the local wall clock in {zone}{into}, so a window spanning a clock change is an hour shorter or \
             longer"
        ),
        (_, Some(Alignment::Marks)) => format!(
            "aligned to the local clock in {zone}{into}: a window starts wherever the local clock reads a multiple of \
             {step}, so a repeated hour at a clock change holds its windows twice and a skipped hour none"
        ),
        _ => format!("aligned to the epoch in UTC{into}"),
    }
}

fn explain_merge(m: &MergeJob, s: &mut String) {
    let latency = format_duration(m.latency);
    match m.trigger {
        Trigger::Frequency { every, offset } => {
            let _ = writeln!(
                s,
                "  Trigger: every {every}, at ticks laid out as the starts of tumbling {every} windows ({}), from each \
                 asset's earliest operand timestamp to its operands' watermark; each operand takes its latest value at or \
                 before the tick.",
                grid(every, m.timezone, offset)
            );
        }
        Trigger::Point => {
            let _ = writeln!(
                s,
                "  Trigger: at each reading of a policy's trigger point; each operand takes its latest value at or before it."
            );
        }
    }
    let _ = writeln!(
        s,
        "  Lateness: {latency}. An evaluation is written once every operand series of the asset has a watermark past it plus \
         {latency}, or at end of input; operand readings older than that are dropped and counted."
    );
    if let Some(q) = m.quality {
        let _ = writeln!(
            s,
            "  Quality: only readings whose quality code is in {q} are read; the others are counted and left out."
        );
    }
    match m.max_age {
        Some(age) => {
            let _ = writeln!(
                s,
                "  Max age: {}: an operand whose latest value is older than that at an evaluation time is missing, and no \
                 row is written for that time.",
                format_duration(age)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "  Carry-over: no max_age, so an operand keeps its latest value over any gap (the platform's last_value): \
                 a silent meter's last value is used again at every trigger time. Rows that use a value from before \
                 the previous trigger time are counted and warned about; set max_age to write no row instead."
            );
        }
    }
    for (n, p) in m.policies.iter().enumerate() {
        let trigger = p.trigger_point.as_ref().map_or(String::new(), |t| format!(" (at each reading of {t})"));
        let _ = writeln!(s, "  Policy {} -> {}{trigger}: {}", n + 1, p.output, p.logic.compiled_text());
        let bindings: Vec<String> = p
            .logic
            .operands()
            .iter()
            .enumerate()
            .map(|(i, o)| {
                format!(
                    "{} = {}",
                    variable_name(i),
                    o.model.as_ref().map_or(o.point.clone(), |m| format!("{m}::{}", o.point))
                )
            })
            .collect();
        if !bindings.is_empty() {
            let _ = writeln!(s, "      where {}", bindings.join(", "));
        }
    }
}

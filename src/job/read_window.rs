//! Reading a Time Window Aggregation job file into a [`WindowJob`] plan: its window type and time
//! zone, and per policy the input, threshold, interpolation, aggregation, window size and output,
//! checked against each other (a window size against the slide and the zone) and warned about when
//! a policy could keep very many windows open.

use super::fields::{WindowKind, window, window_job, window_policy as policy};
use super::plan::{Aggregation, Interpolation, Job, JobKind, WindowJob, WindowPolicy, WindowType};
use super::read_common::{
    Outputs, read_duplicates, read_identity, read_latency, read_max_future_skew, read_offset, read_output, read_period,
    read_point, read_quality, read_timezone, site,
};
use super::read_rules::read_rules;
use crate::job::threshold::Threshold;
use crate::time::duration::format_duration;
use crate::time::period::Period;
use crate::time::zone::Alignment;
use crate::yaml::{Listing, Located, Mapping, Reader, choice, list};
use chrono_tz::Tz;
use marked_yaml::Node;

/// The most sliding windows a reading may belong to (window size / slide): each costs an update
/// per reading and an open window per series, and a slide of `1ms` is more likely a typo.
const MAX_SLIDES_PER_WINDOW: i64 = 10_000;

/// What a window size or slide must be with a `timezone`.
const LOCAL_STEPS: &str = "divide an hour (aligned to the local hour), divide a day or be whole days (aligned to local \
                           midnight), or be whole months";

pub(crate) fn read_window_job(reader: &mut Reader<'_>, root: &Node, default_name: String) -> Option<(Job, Outputs)> {
    let top = Mapping::new(reader, root, "", window_job::FIELDS)?;
    let (name, model) = read_identity(reader, &top, default_name);
    let (window, offset_at) = read_window_type(reader, &top);
    let latency = read_latency(reader, &top, &window_job::LATENCY);
    let max_future_skew = read_max_future_skew(reader, &top, &window_job::MAX_FUTURE_SKEW);
    let quality = read_quality(reader, &top);
    let duplicates = read_duplicates(reader, &top);
    let timezone = read_timezone(reader, &top, &window_job::TIMEZONE);
    let mut steps: Vec<Period> = Vec::new();
    let mut policies = Vec::new();
    let mut outputs: Outputs = Vec::new();
    for p in top.mappings(reader, &window_job::POLICIES) {
        let input = p.scalar(reader, &policy::INPUT).and_then(|at| read_point(reader, &at, model.as_deref()));
        let (threshold, threshold_site) = match p.scalar(reader, &policy::THRESHOLD) {
            Some(at) => (Threshold::parse(at.text).map_err(|e| reader.error(&at, e)).ok(), Some(site(reader, &at))),
            None => (Some(Threshold::ALL), None),
        };
        let interpolation = match p.scalar(reader, &policy::INTERPOLATION) {
            None => Some(Interpolation::Ignore),
            Some(at) => choice(reader, &at, "interpolation", &Interpolation::NAMES, Listing::Or),
        };
        let aggregation = p.scalar(reader, &policy::AGGREGATION).and_then(|at| read_aggregation(reader, &at));
        let window_size = p.scalar(reader, &policy::WINDOW_SIZE).and_then(|at| {
            let size = read_period(reader, &at, "window size")?;
            check_window_size(reader, &at, size, window, timezone.flatten())?;
            steps.push(match window {
                Some(WindowType::Sliding { slide }) => slide,
                _ => size,
            });
            if let (Some(latency), Some(window)) = (latency, window) {
                warn_open_windows(reader, &at, latency, size, window);
            }
            Some(size)
        });
        let output = read_output(reader, &p, &policy::OUTPUT, model.as_deref(), &mut outputs);
        let sliding = matches!(window, Some(WindowType::Sliding { .. }));
        let rules = read_rules(reader, &p, aggregation, window_size, sliding);
        if let (
            Some(input),
            Some(threshold),
            Some(interpolation),
            Some(aggregation),
            Some(window_size),
            Some(output),
            Some(rules),
        ) = (input, threshold, interpolation, aggregation, window_size, output, rules)
        {
            policies.push(WindowPolicy {
                input,
                threshold,
                threshold_site,
                interpolation,
                aggregation,
                window_size,
                output,
                rules,
            });
        }
    }
    // The offset is checked against the shortest step of the job's policies.
    let shortest = steps.iter().copied().min_by_key(|p| p.shortest_ms());
    let offset = read_offset(reader, offset_at, shortest);
    let plan = WindowJob {
        latency: latency?,
        max_future_skew: max_future_skew?,
        window: window?,
        timezone: timezone?,
        offset: offset?,
        quality: quality?,
        duplicates: duplicates?,
        policies,
    };
    let job =
        Job { name, file: reader.file().to_string(), model: model?, kind: JobKind::Window(plan), warnings: Vec::new() };
    Some((job, outputs))
}

/// An aggregation's word: one of [`Aggregation::NAMES`] or a percentile `pNN`.
fn read_aggregation(reader: &mut Reader<'_>, at: &Located<'_>) -> Option<Aggregation> {
    let text = at.text.trim();
    let found = Aggregation::parse(text);
    if found.is_none() {
        let words: Vec<&str> = Aggregation::NAMES.iter().map(|(n, _)| *n).collect();
        let lower = text.to_ascii_lowercase();
        let hint = if let Some(word) = Aggregation::parse(&lower) {
            format!(
                "; did you mean `{}`?",
                if Aggregation::NAMES.iter().any(|(n, _)| *n == lower) { lower } else { word.name() }
            )
        } else if text.starts_with('p') && text.len() > 1 {
            "; a percentile is `p` and 0 to 100 with at most two decimals, such as `p95` or `p99.9`".to_string()
        } else {
            String::new()
        };
        reader.error(
            at,
            format!(
                "unknown aggregation `{text}`, expected {} or a percentile such as `p95`{hint}",
                list(&words, Listing::OneOf)
            ),
        );
    }
    found
}

/// The `window` mapping: `type: tumbling` (also when absent) or `type: sliding` with a `slide`,
/// and where its `offset` is written (read once the policies' steps are known). A slide that
/// cannot be aligned in the job's `timezone` is reported here too.
fn read_window_type<'n>(reader: &mut Reader<'_>, top: &Mapping<'n>) -> (Option<WindowType>, Option<Located<'n>>) {
    let Some(window) = top.mapping(reader, &window_job::WINDOW) else { return (Some(WindowType::Tumbling), None) };
    let offset = window.scalar(reader, &window::OFFSET);
    let Some(kind) = window.scalar(reader, &window::TYPE) else { return (None, offset) };
    let slide = window.scalar(reader, &window::SLIDE);
    let kind = match choice(reader, &kind, "window type", &WindowKind::NAMES, Listing::Or) {
        Some(WindowKind::Tumbling) => {
            if let Some(at) = slide {
                reader.error(&at, "`slide` applies to sliding windows only (type: sliding)");
                return (None, offset);
            }
            Some(WindowType::Tumbling)
        }
        Some(WindowKind::Sliding) => read_slide(reader, top, &window, &kind, slide),
        None => None,
    };
    (kind, offset)
}

fn read_slide(
    reader: &mut Reader<'_>,
    top: &Mapping<'_>,
    window: &Mapping<'_>,
    kind: &Located<'_>,
    slide: Option<Located<'_>>,
) -> Option<WindowType> {
    let Some(at) = slide else {
        let message = "sliding windows need `slide`, how far apart windows start (e.g. slide: 5m)";
        reader.error_at(kind.line, kind.column, window.path(), message);
        return None;
    };
    let slide = read_period(reader, &at, "slide")?;
    let zoned = top.get(&window_job::TIMEZONE).is_some();
    if zoned && Alignment::of_period(slide).is_none() {
        reader.error(
            &at,
            format!("with a `timezone`, the slide must {LOCAL_STEPS}; {} is none of these", at.text.trim()),
        );
        return None;
    }
    Some(WindowType::Sliding { slide })
}

/// A policy's window size against the job's window type and time zone.
fn check_window_size(
    reader: &mut Reader<'_>,
    at: &Located<'_>,
    size: Period,
    window: Option<WindowType>,
    timezone: Option<Tz>,
) -> Option<()> {
    match window {
        Some(WindowType::Sliding { slide }) => match size.multiple_of(slide) {
            None => {
                let why = if matches!(slide, Period::Months(_)) == matches!(size, Period::Months(_)) {
                    "a sliding window spans whole slides"
                } else {
                    "a sliding window spans whole slides, and months and durations do not divide each other"
                };
                let size = at.text.trim();
                reader.error(
                    at,
                    format!("the window size {size} is not a multiple of the slide {slide} (window.slide): {why}"),
                );
                None
            }
            Some(n) if n > MAX_SLIDES_PER_WINDOW => {
                let size = at.text.trim();
                reader.error(at, format!("the window size {size} spans more than {MAX_SLIDES_PER_WINDOW} slides of {slide}: use a longer slide"));
                None
            }
            Some(_) => Some(()),
        },
        Some(WindowType::Tumbling) if timezone.is_some() && Alignment::of_period(size).is_none() => {
            reader.error(
                at,
                format!("with a `timezone`, the window size must {LOCAL_STEPS}; {} is none of these", at.text.trim()),
            );
            None
        }
        _ => Some(()),
    }
}

/// Above this many windows open per series and policy, `validate` warns: at ~100 bytes a window,
/// 10,000 windows over 1,000 meters already take a gigabyte.
pub(crate) const WARN_OPEN_WINDOWS_PER_SERIES: i64 = 10_000;

/// Warns when a policy could keep many windows open. A series holds every window whose end plus
/// the latency is still ahead of its watermark: windows start every `step` (the slide, or the size
/// for tumbling windows), so at most `(latency + size) / step` rounded up, which for tumbling
/// windows is `latency / size + 1`, when every window receives readings.
fn warn_open_windows(reader: &mut Reader<'_>, at: &Located<'_>, latency: i64, size: Period, window: WindowType) {
    let step = match window {
        WindowType::Sliding { slide } => slide,
        WindowType::Tumbling => size,
    };
    // Durations are at most 100 years, so the sum cannot overflow.
    let step_ms = step.shortest_ms();
    let estimate = (latency + size.longest_ms() + step_ms - 1) / step_ms;
    if estimate > WARN_OPEN_WINDOWS_PER_SERIES {
        let formula = match window {
            WindowType::Tumbling => format!("latency {} / window size {size} + 1", format_duration(latency)),
            WindowType::Sliding { .. } => {
                format!("(latency {} + window size {size}) / slide {step}", format_duration(latency))
            }
        };
        reader.warning(
            at,
            format!(
                "up to {estimate} windows per series may be open at once ({formula}), and memory grows with that times the \
                 number of series; use a larger window_size or a shorter latency, or bound runs with --max-open-windows"
            ),
        );
    }
}

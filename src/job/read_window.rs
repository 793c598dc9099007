//! Reading a Time Window Aggregation job file into a [`WindowJob`] plan: its window type and time
//! zone, and per policy the input, threshold, interpolation, aggregation, window size and output,
//! checked against each other (a window size against the slide and the zone) and warned about when
//! a policy could keep very many windows open.

use super::fields::{WindowKind, window, window_job, window_policy as policy};
use super::plan::{Aggregation, Interpolation, Job, JobKind, WindowJob, WindowPolicy, WindowType};
use super::read_common::{
    Outputs, read_duplicates, read_duration, read_identity, read_latency, read_max_future_skew, read_output,
    read_point, read_quality,
};
use crate::job::threshold::Threshold;
use crate::time::duration::format_duration;
use crate::time::zone::{Alignment, parse_zone};
use crate::yaml::{Listing, Located, Mapping, Reader, choice};
use chrono_tz::Tz;
use marked_yaml::Node;

/// The most sliding windows a reading may belong to (window size / slide): each costs an update
/// per reading and an open window per series, and a slide of `1ms` is more likely a typo.
const MAX_SLIDES_PER_WINDOW: i64 = 10_000;

/// What a window size or slide must be with a `timezone`.
const LOCAL_STEPS: &str =
    "divide an hour (aligned to the UTC epoch), or divide a day or be whole days (aligned to local midnight)";

pub fn read_window_job(reader: &mut Reader<'_>, root: &Node, default_name: String) -> Option<(Job, Outputs)> {
    let top = Mapping::new(reader, root, "", window_job::FIELDS)?;
    let (name, model) = read_identity(reader, &top, default_name);
    let window = read_window_type(reader, &top);
    let latency = read_latency(reader, &top, &window_job::LATENCY);
    let max_future_skew = read_max_future_skew(reader, &top, &window_job::MAX_FUTURE_SKEW);
    let quality = read_quality(reader, &top);
    let duplicates = read_duplicates(reader, &top);
    let timezone: Option<Option<Tz>> = match top.scalar(reader, &window_job::TIMEZONE) {
        Some(at) => parse_zone(at.text).map_err(|e| reader.error(&at, e)).ok().map(Some),
        None => Some(None),
    };
    let mut policies = Vec::new();
    let mut outputs: Outputs = Vec::new();
    for p in top.mappings(reader, &window_job::POLICIES) {
        let input = p.scalar(reader, &policy::INPUT).and_then(|at| read_point(reader, &at, model.as_deref()));
        let threshold = match p.scalar(reader, &policy::THRESHOLD) {
            Some(at) => Threshold::parse(at.text).map_err(|e| reader.error(&at, e)).ok(),
            None => Some(Threshold::ALL),
        };
        let interpolation = match p.scalar(reader, &policy::INTERPOLATION) {
            None => Some(Interpolation::Ignore),
            Some(at) => choice(reader, &at, "interpolation", &Interpolation::NAMES, Listing::Or),
        };
        let aggregation = p
            .scalar(reader, &policy::AGGREGATION)
            .and_then(|at| choice(reader, &at, "aggregation", &Aggregation::NAMES, Listing::OneOf));
        let window_size = p.scalar(reader, &policy::WINDOW_SIZE).and_then(|at| {
            let size = read_duration(reader, &at)?;
            if size == 0 {
                reader.error(&at, "the window size must be longer than 0");
                return None;
            }
            check_window_size(reader, &at, size, window, timezone.flatten())?;
            if let (Some(latency), Some(window)) = (latency, window) {
                warn_open_windows(reader, &at, latency, size, window);
            }
            Some(size)
        });
        let output = read_output(reader, &p, &policy::OUTPUT, model.as_deref(), &mut outputs);
        if let (Some(input), Some(threshold), Some(interpolation), Some(aggregation), Some(window_size), Some(output)) =
            (input, threshold, interpolation, aggregation, window_size, output)
        {
            policies.push(WindowPolicy { input, threshold, interpolation, aggregation, window_size, output });
        }
    }
    let plan = WindowJob {
        latency: latency?,
        max_future_skew: max_future_skew?,
        window: window?,
        timezone: timezone?,
        quality: quality?,
        duplicates: duplicates?,
        policies,
    };
    let job =
        Job { name, file: reader.file().to_string(), model: model?, kind: JobKind::Window(plan), warnings: Vec::new() };
    Some((job, outputs))
}

/// The `window` mapping: `type: tumbling` (also when absent) or `type: sliding` with a `slide`.
/// A slide that cannot be aligned in the job's `timezone` is reported here too.
fn read_window_type(reader: &mut Reader<'_>, top: &Mapping<'_>) -> Option<WindowType> {
    let Some(window) = top.mapping(reader, &window_job::WINDOW) else { return Some(WindowType::Tumbling) };
    let kind = window.scalar(reader, &window::TYPE)?;
    let slide = window.scalar(reader, &window::SLIDE);
    match choice(reader, &kind, "window type", &WindowKind::NAMES, Listing::Or)? {
        WindowKind::Tumbling => {
            if let Some(at) = slide {
                reader.error(&at, "`slide` applies to sliding windows only (type: sliding)");
                return None;
            }
            Some(WindowType::Tumbling)
        }
        WindowKind::Sliding => {
            let Some(at) = slide else {
                let message = "sliding windows need `slide`, how far apart windows start (e.g. slide: 5m)";
                reader.error_at(kind.line, kind.column, window.path(), message);
                return None;
            };
            let slide = read_duration(reader, &at)?;
            if slide == 0 {
                reader.error(&at, "the slide must be longer than 0");
                return None;
            }
            let zoned = top.get(&window_job::TIMEZONE).is_some();
            if zoned && Alignment::of_step(slide).is_none() {
                reader.error(
                    &at,
                    format!("with a `timezone`, the slide must {LOCAL_STEPS}; {} is neither", at.text.trim()),
                );
                return None;
            }
            Some(WindowType::Sliding { slide })
        }
    }
}

/// A policy's window size against the job's window type and time zone.
fn check_window_size(
    reader: &mut Reader<'_>,
    at: &Located<'_>,
    size: i64,
    window: Option<WindowType>,
    timezone: Option<Tz>,
) -> Option<()> {
    match window {
        Some(WindowType::Sliding { slide }) if size % slide != 0 => {
            let (size, slide) = (at.text.trim(), format_duration(slide));
            reader.error(at, format!("the window size {size} is not a multiple of the slide {slide} (window.slide): a sliding window spans whole slides"));
            None
        }
        Some(WindowType::Sliding { slide }) if size / slide > MAX_SLIDES_PER_WINDOW => {
            let (size, slide) = (at.text.trim(), format_duration(slide));
            reader.error(at, format!("the window size {size} spans more than {MAX_SLIDES_PER_WINDOW} slides of {slide}: use a longer slide"));
            None
        }
        Some(WindowType::Tumbling) if timezone.is_some() && Alignment::of_step(size).is_none() => {
            reader.error(
                at,
                format!("with a `timezone`, the window size must {LOCAL_STEPS}; {} is neither", at.text.trim()),
            );
            None
        }
        _ => Some(()),
    }
}

/// Above this many windows open per series and policy, `validate` warns: at ~100 bytes a window,
/// 10,000 windows over 1,000 meters already take a gigabyte.
pub const WARN_OPEN_WINDOWS_PER_SERIES: i64 = 10_000;

/// Warns when a policy could keep many windows open. A series holds every window whose end plus
/// the latency is still ahead of its watermark: windows start every `step` (the slide, or the size
/// for tumbling windows), so at most `(latency + size) / step` rounded up, which for tumbling
/// windows is `latency / size + 1`, when every window receives readings.
fn warn_open_windows(reader: &mut Reader<'_>, at: &Located<'_>, latency: i64, size: i64, window: WindowType) {
    let step = match window {
        WindowType::Sliding { slide } => slide,
        WindowType::Tumbling => size,
    };
    // Durations are at most 100 years, so the sum cannot overflow.
    let estimate = (latency + size + step - 1) / step;
    if estimate > WARN_OPEN_WINDOWS_PER_SERIES {
        let formula = match window {
            WindowType::Tumbling => {
                format!("latency {} / window size {} + 1", format_duration(latency), format_duration(size))
            }
            WindowType::Sliding { .. } => format!(
                "(latency {} + window size {}) / slide {}",
                format_duration(latency),
                format_duration(size),
                format_duration(step)
            ),
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

//! Reading a Multi-Point Merging job file into a [`MergeJob`] plan: its trigger, and per policy the
//! output, the trigger point (point mode) and the expression, compiled with its operands checked
//! against the job's model. Expression errors point into the expression's text in the file.

use super::fields::{TimingInterpolation, TriggerMode, merge_job, merge_policy as policy, trigger};
use super::plan::{Job, JobKind, MergeJob, MergePolicy, Trigger};
use super::read_common::{
    Outputs, read_duplicates, read_duration, read_identity, read_latency, read_max_future_skew, read_offset,
    read_output, read_period, read_point, read_quality, read_timezone, site,
};
use crate::job::expr::{CompileError, Expression, integer_divisions, sandboxed_engine};
use crate::time::zone::Alignment;
use crate::yaml::{Listing, Located, Mapping, Reader, choice};
use marked_yaml::Node;

pub(crate) fn read_merge_job(reader: &mut Reader<'_>, root: &Node, default_name: String) -> Option<(Job, Outputs)> {
    let top = Mapping::new(reader, root, "", merge_job::FIELDS)?;
    let (name, model) = read_identity(reader, &top, default_name);
    let timezone = read_timezone(reader, &top, &merge_job::TIMEZONE);
    let mut tick_site = None;
    let trigger = top.mapping(reader, &merge_job::TRIGGER).and_then(|t| {
        let mode = t.scalar(reader, &trigger::MODE)?;
        let every = t.scalar(reader, &trigger::EVERY);
        let offset = t.scalar(reader, &trigger::OFFSET);
        match choice(reader, &mode, "trigger mode", &TriggerMode::NAMES, Listing::Or)? {
            TriggerMode::Frequency => {
                let Some(every) = every else {
                    reader.error_span(t.span(), t.path(), "frequency mode needs `every` (e.g. every: 10m)");
                    return None;
                };
                let period = read_period(reader, &every, "trigger frequency")?;
                if top.get(&merge_job::TIMEZONE).is_some() && Alignment::of_period(period).is_none() {
                    let message = format!(
                        "with a `timezone`, `every` must divide an hour, divide a day, be whole days or be whole months; {} \
                         is none of these",
                        every.text.trim()
                    );
                    reader.error(&every, message);
                    return None;
                }
                tick_site = Some(site(reader, &every));
                Some(Trigger::Frequency { every: period, offset: read_offset(reader, offset, Some(period))? })
            }
            TriggerMode::Point => {
                if let Some(at) = every.or(offset) {
                    reader.error(
                        &at,
                        format!(
                            "`{}` applies to frequency mode only; in point mode each policy names its `trigger_point`",
                            at.field.rsplit('.').next().unwrap_or("every")
                        ),
                    );
                }
                Some(Trigger::Point)
            }
        }
    });
    // The one timing interpolation is what the engine does; the field is checked, not kept.
    if let Some(at) = top.scalar(reader, &merge_job::TIMING_INTERPOLATION) {
        choice(reader, &at, "timing interpolation", &TimingInterpolation::NAMES, Listing::Or);
    }
    let latency = read_latency(reader, &top, &merge_job::LATENCY);
    let max_future_skew = read_max_future_skew(reader, &top, &merge_job::MAX_FUTURE_SKEW);
    let max_age = match top.scalar(reader, &merge_job::MAX_AGE) {
        Some(at) => read_duration(reader, &at).and_then(|ms| {
            if ms == 0 {
                reader.error(&at, "must be longer than 0s: every operand value would be stale");
                return None;
            }
            Some(Some(ms))
        }),
        None => Some(None),
    };
    let quality = read_quality(reader, &top);
    let duplicates = read_duplicates(reader, &top);
    let engine = sandboxed_engine();
    let mut policies = Vec::new();
    let mut outputs: Outputs = Vec::new();
    for p in top.mappings(reader, &merge_job::POLICIES) {
        let output = read_output(reader, &p, &policy::OUTPUT, model.as_deref(), &mut outputs);
        let trigger_point: Option<Option<String>> = match (trigger, p.scalar(reader, &policy::TRIGGER_POINT)) {
            (None, _) => None,
            (Some(Trigger::Point), None) => {
                reader.error_span(
                    p.span(),
                    p.path(),
                    "missing field `trigger_point` (point mode needs one per policy)",
                );
                None
            }
            (Some(Trigger::Point), Some(at)) => read_point(reader, &at, model.as_deref()).and_then(|t| {
                if output.as_deref() == Some(t.as_str()) {
                    reader.error(&at, format!("the trigger point `{t}` cannot be the policy's own output point"));
                    return None;
                }
                Some(Some(t))
            }),
            (Some(Trigger::Frequency { .. }), Some(at)) => {
                reader.error(&at, "`trigger_point` applies to point mode only (trigger.mode: point)");
                None
            }
            (Some(Trigger::Frequency { .. }), None) => Some(None),
        };
        let logic =
            p.scalar(reader, &policy::LOGIC).and_then(|at| compile_logic(reader, &at, &engine, model.as_deref()));
        if let (Some(output), Some(trigger_point), Some((logic, operands))) = (output, trigger_point, logic) {
            policies.push(MergePolicy { output, trigger_point, logic, operands });
        }
    }
    let plan = MergeJob {
        trigger: trigger?,
        latency: latency?,
        max_future_skew: max_future_skew?,
        max_age: max_age?,
        quality: quality?,
        timezone: timezone?,
        tick_site,
        duplicates: duplicates?,
        policies,
    };
    let job =
        Job { name, file: reader.file().to_string(), model: model?, kind: JobKind::Merge(plan), warnings: Vec::new() };
    Some((job, outputs))
}

fn compile_logic(
    reader: &mut Reader<'_>,
    at: &Located<'_>,
    engine: &std::rc::Rc<rhai::Engine>,
    model: Option<&str>,
) -> Option<(Expression, Vec<String>)> {
    let compiled = Expression::compile(engine, at.text).and_then(|mut e| {
        if e.operands().is_empty() {
            return Err(CompileError {
                line: 1,
                column: 1,
                message: "the expression reads no point: use at least one operand such as ${ElectricMeter::Reading}"
                    .to_string(),
            });
        }
        e.check_calls().map(|()| e)
    });
    let expression = match compiled {
        Ok(e) => e,
        Err(e) => {
            let (line, column) = locate_in_value(reader, at, e.line, e.column);
            let path = at.field.clone();
            let place = if at.text.contains('\n') {
                format!("line {}, column {}", e.line, e.column)
            } else {
                format!("column {}", e.column)
            };
            reader.error_at(line, column, &path, format!("{place}: {}", e.message));
            return None;
        }
    };
    for d in integer_divisions(at.text) {
        let (line, column) = locate_in_value(reader, at, d.line, d.column);
        let message = if d.integer as f64 == d.float {
            format!(
                "`{}` divides integers: exact here ({}), but a division of integers drops the remainder (`1/2` gives 0); \
                 write `{}`",
                d.written, d.integer, d.float_form
            )
        } else {
            format!(
                "`{}` divides integers: it gives {} (the remainder is dropped), not {}; write `{}`",
                d.written, d.integer, d.float, d.float_form
            )
        };
        reader.warning_at(line, column, &at.field, message);
    }
    let mut operands = Vec::new();
    for operand in expression.operands() {
        if let (Some(q), Some(m)) = (&operand.model, model)
            && q != m
        {
            reader.error(
                at,
                format!("operand `{q}::{}` belongs to model `{q}`, but this job's model is `{m}`", operand.point),
            );
            return None;
        }
        operands.push(operand.point.clone());
    }
    Some((expression, operands))
}

/// The file position of (line, column) inside a scalar value, when the value appears verbatim on
/// its source line (plain or quoted single-line scalars); otherwise the value's own position.
fn locate_in_value(reader: &Reader<'_>, at: &Located<'_>, line: usize, column: usize) -> (usize, usize) {
    if line == 1
        && !at.text.contains('\n')
        && let Some(source) = reader.source_line(at.line)
    {
        let start: String = source.chars().skip(at.column - 1).collect();
        let skip = usize::from(start.starts_with('"') || start.starts_with('\''));
        let tail: String = start.chars().skip(skip).collect();
        if tail.starts_with(at.text) {
            return (at.line, at.column + skip + column - 1);
        }
    }
    (at.line, at.column)
}

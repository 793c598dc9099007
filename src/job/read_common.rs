//! Readers of the values both templates hold: a job's name and model, point names, durations,
//! window periods and offsets, time zones, lateness, the future-skew bound and output points (recorded with their location for the
//! pipeline-level checks).

use super::fields::job;
use crate::job::options::Duplicates;
use crate::job::threshold::Threshold;
use crate::time::duration::parse_duration;
use crate::time::period::Period;
use crate::time::zone::parse_zone;
use crate::yaml::diagnostic::Diagnostic;
use crate::yaml::{Field, Listing, Located, Mapping, Reader, choice};
use chrono_tz::Tz;

/// A job's output points with where each is declared.
pub(crate) type Outputs = Vec<(String, Diagnostic)>;

/// Common top-level fields: name, model.
pub(crate) fn read_identity(
    reader: &mut Reader<'_>,
    top: &Mapping<'_>,
    default_name: String,
) -> (String, Option<String>) {
    let name = match top.scalar(reader, &job::NAME) {
        Some(n) if n.text.trim().is_empty() => {
            reader.error(&n, "the job name cannot be empty");
            default_name
        }
        Some(n) => n.text.trim().to_string(),
        None => default_name,
    };
    let model = top.scalar(reader, &job::MODEL).and_then(|m| {
        let text = m.text.trim();
        if is_valid_name(text) {
            Some(text.to_string())
        } else {
            reader.error(&m, format!("invalid model name {text:?}: use letters, digits, `_`, `-` or `.`"));
            None
        }
    });
    (name, model)
}

fn is_valid_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A point field: `Reading` or `Model::Reading` where Model is the job's model.
pub(crate) fn read_point(reader: &mut Reader<'_>, at: &Located<'_>, model: Option<&str>) -> Option<String> {
    let text = at.text.trim();
    let (qualifier, point) = match text.split_once("::") {
        Some((m, p)) => (Some(m), p),
        None => (None, text),
    };
    if !is_valid_name(point) || qualifier.is_some_and(|m| !is_valid_name(m)) {
        reader.error(
            at,
            format!("invalid point {text:?}: expected `Point` or `Model::Point` (letters, digits, `_`, `-`, `.`)"),
        );
        return None;
    }
    if let (Some(q), Some(m)) = (qualifier, model)
        && q != m
    {
        reader.error(at, format!("point `{text}` belongs to model `{q}`, but this job's model is `{m}`"));
        return None;
    }
    Some(point.to_string())
}

pub(crate) fn read_duration(reader: &mut Reader<'_>, at: &Located<'_>) -> Option<i64> {
    parse_duration(at.text).map_err(|e| reader.error(at, e)).ok()
}

/// A window size, slide or tick interval: a duration or months, longer than 0.
pub(crate) fn read_period(reader: &mut Reader<'_>, at: &Located<'_>, what: &str) -> Option<Period> {
    let period = Period::parse(at.text).map_err(|e| reader.error(at, e)).ok()?;
    if period.is_zero() {
        reader.error(at, format!("the {what} must be longer than 0"));
        return None;
    }
    Some(period)
}

/// The optional `offset` of windows or ticks of `step`: a duration shorter than the step (its
/// shortest, for months), `0` when absent; `None` when it is invalid (reported).
pub(crate) fn read_offset(reader: &mut Reader<'_>, at: Option<Located<'_>>, step: Option<Period>) -> Option<i64> {
    let Some(at) = at else { return Some(0) };
    let offset = read_duration(reader, &at)?;
    if let Some(step) = step
        && offset >= step.shortest_ms()
    {
        let message = format!(
            "the offset {} is not shorter than the step {step}: windows start `offset` into each step",
            at.text.trim()
        );
        reader.error(&at, message);
        return None;
    }
    Some(offset)
}

/// The optional allowed lateness, `0` when absent; `None` when it is invalid (reported).
pub(crate) fn read_latency(reader: &mut Reader<'_>, top: &Mapping<'_>, field: &Field) -> Option<i64> {
    match top.scalar(reader, field) {
        Some(at) => read_duration(reader, &at),
        None => Some(0),
    }
}

/// The optional `timezone`; `None` when it is invalid (reported).
pub(crate) fn read_timezone(reader: &mut Reader<'_>, top: &Mapping<'_>, field: &Field) -> Option<Option<Tz>> {
    match top.scalar(reader, field) {
        Some(at) => parse_zone(at.text).map_err(|e| reader.error(&at, e)).ok().map(Some),
        None => Some(None),
    }
}

/// The optional `quality` condition; `None` when it is invalid (reported).
pub(crate) fn read_quality(reader: &mut Reader<'_>, top: &Mapping<'_>) -> Option<Option<Threshold>> {
    match top.scalar(reader, &job::QUALITY) {
        Some(at) => Threshold::parse(at.text).map_err(|e| reader.error(&at, e)).ok().map(Some),
        None => Some(None),
    }
}

/// The optional `duplicates` rule, `first` when absent; `None` when it is invalid (reported).
pub(crate) fn read_duplicates(reader: &mut Reader<'_>, top: &Mapping<'_>) -> Option<Duplicates> {
    match top.scalar(reader, &job::DUPLICATES) {
        Some(at) => choice(reader, &at, "duplicates rule", &Duplicates::NAMES, Listing::Or),
        None => Some(Duplicates::default()),
    }
}

/// The optional `max_future_skew`; `None` when it is invalid (reported).
pub(crate) fn read_max_future_skew(reader: &mut Reader<'_>, top: &Mapping<'_>, field: &Field) -> Option<Option<i64>> {
    match top.scalar(reader, field) {
        Some(at) => read_duration(reader, &at).map(Some),
        None => Some(None),
    }
}

/// A policy's `output` point, checked against the outputs of the job's earlier policies and
/// recorded with its location for pipeline-level checks.
pub(crate) fn read_output(
    reader: &mut Reader<'_>,
    policy: &Mapping<'_>,
    field: &Field,
    model: Option<&str>,
    outputs: &mut Outputs,
) -> Option<String> {
    let at = policy.scalar(reader, field)?;
    let point = read_point(reader, &at, model)?;
    if outputs.iter().any(|(o, _)| *o == point) {
        reader.error(&at, format!("output point `{point}` is already written by another policy of this job"));
    }
    outputs.push((point.clone(), site(reader, &at)));
    Some(point)
}

/// Where a value is written, as a diagnostic to be worded later (by pipeline-level checks).
pub(crate) fn site(reader: &mut Reader<'_>, at: &Located<'_>) -> Diagnostic {
    let before = reader.problems.len();
    reader.error(at, "");
    reader.problems.remove(before)
}

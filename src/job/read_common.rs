//! Readers of the values both templates hold: a job's name and model, point names, durations,
//! lateness, the future-skew bound and output points (recorded with their location for the
//! pipeline-level checks).

use super::fields::job;
use crate::job::options::Duplicates;
use crate::job::threshold::Threshold;
use crate::time::duration::parse_duration;
use crate::yaml::diagnostic::Diagnostic;
use crate::yaml::{Field, Listing, Located, Mapping, Reader, choice};

/// A job's output points with where each is declared.
pub type Outputs = Vec<(String, Diagnostic)>;

/// Common top-level fields: name, model.
pub fn read_identity(reader: &mut Reader<'_>, top: &Mapping<'_>, default_name: String) -> (String, Option<String>) {
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
pub fn read_point(reader: &mut Reader<'_>, at: &Located<'_>, model: Option<&str>) -> Option<String> {
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

pub fn read_duration(reader: &mut Reader<'_>, at: &Located<'_>) -> Option<i64> {
    parse_duration(at.text).map_err(|e| reader.error(at, e)).ok()
}

/// The optional allowed lateness, `0` when absent; `None` when it is invalid (reported).
pub fn read_latency(reader: &mut Reader<'_>, top: &Mapping<'_>, field: &Field) -> Option<i64> {
    match top.scalar(reader, field) {
        Some(at) => read_duration(reader, &at),
        None => Some(0),
    }
}

/// The optional `quality` condition; `None` when it is invalid (reported).
pub fn read_quality(reader: &mut Reader<'_>, top: &Mapping<'_>) -> Option<Option<Threshold>> {
    match top.scalar(reader, &job::QUALITY) {
        Some(at) => Threshold::parse(at.text).map_err(|e| reader.error(&at, e)).ok().map(Some),
        None => Some(None),
    }
}

/// The optional `duplicates` rule, `first` when absent; `None` when it is invalid (reported).
pub fn read_duplicates(reader: &mut Reader<'_>, top: &Mapping<'_>) -> Option<Duplicates> {
    match top.scalar(reader, &job::DUPLICATES) {
        Some(at) => choice(reader, &at, "duplicates rule", &Duplicates::NAMES, Listing::Or),
        None => Some(Duplicates::default()),
    }
}

/// The optional `max_future_skew`; `None` when it is invalid (reported).
pub fn read_max_future_skew(reader: &mut Reader<'_>, top: &Mapping<'_>, field: &Field) -> Option<Option<i64>> {
    match top.scalar(reader, field) {
        Some(at) => read_duration(reader, &at).map(Some),
        None => Some(None),
    }
}

/// A policy's `output` point, checked against the outputs of the job's earlier policies and
/// recorded with its location for pipeline-level checks.
pub fn read_output(
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
    let before = reader.problems.len();
    reader.error(&at, "");
    let site = reader.problems.remove(before);
    outputs.push((point.clone(), site));
    Some(point)
}

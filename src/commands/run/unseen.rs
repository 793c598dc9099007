//! Warnings about names that did not meet: a point or a model the jobs read that never appeared in
//! the input, a `--points` rename whose point text never did, each with the names seen and a near
//! spelling; and a quality column whose non-zero codes no job filters out.

use crate::replay::Replay;
use crate::text::{closest, count};

/// Names seen, as a message lists them: the first ten, then how many more.
fn listed(seen: &[&str]) -> String {
    let mut listed: Vec<String> = seen.iter().take(10).map(|p| format!("`{p}`")).collect();
    if seen.len() > 10 {
        listed.push(format!("and {} more", seen.len() - 10));
    }
    listed.join(", ")
}

/// `; did you mean ...?` when one of `seen` is a near spelling of `typed`.
fn did_you_mean(typed: &str, seen: &[&str], what: &str) -> String {
    match closest(typed, seen) {
        Some(s) if s.eq_ignore_ascii_case(typed) => format!("; did you mean `{s}`? ({what} names are case-sensitive)"),
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

/// The input's points that some reading had.
fn points_seen(replay: &Replay) -> Vec<&str> {
    let points = &replay.names.points;
    (0..points.len() as u32).filter(|&id| replay.pipeline.input_readings(id) > 0).map(|id| points.name(id)).collect()
}

/// Points the jobs read from the input that never appeared in it while others did.
pub(crate) fn point_warnings(replay: &Replay) -> Vec<String> {
    let points = &replay.names.points;
    let seen = points_seen(replay);
    if seen.is_empty() {
        return Vec::new();
    }
    replay
        .expected_points
        .iter()
        .filter(|p| points.get(p).is_none_or(|id| replay.pipeline.input_readings(id) == 0))
        .map(|p| {
            format!(
                "meterflow: warning: point `{p}`, which the jobs read, never appeared in the input; the points seen were {}{}",
                listed(&seen),
                did_you_mean(p, &seen, "point")
            )
        })
        .collect()
}

/// Job models that no row of an input with a model column named, while other models were seen:
/// the rows of those were ignored.
pub(crate) fn model_warnings(replay: &Replay) -> Vec<String> {
    let (models, pipeline) = (&replay.names.models, &replay.pipeline);
    let seen: Vec<&str> =
        (0..models.len() as u32).filter(|&id| pipeline.model_readings(id) > 0).map(|id| models.name(id)).collect();
    if seen.is_empty() {
        return Vec::new();
    }
    let mut warned = Vec::new();
    let mut lines = Vec::new();
    for &model in pipeline.job_models() {
        if pipeline.model_readings(model) > 0 || warned.contains(&model) {
            continue;
        }
        warned.push(model);
        let name = models.name(model);
        let readers: Vec<String> = pipeline
            .job_models()
            .iter()
            .enumerate()
            .filter(|&(_, &m)| m == model)
            .map(|(k, _)| format!("`{}`", replay.names.jobs[k]))
            .collect();
        lines.push(format!(
            "meterflow: warning: model `{name}`, which job {} {}, never appeared in the input's model column; the \
             models seen were {} (their rows were ignored){}",
            readers.join(", "),
            crate::text::noun(readers.len() as u64, "reads", "read"),
            listed(&seen),
            did_you_mean(name, &seen, "model")
        ));
    }
    lines
}

/// `--points` renames of long input whose point text never appeared.
pub(crate) fn rename_warnings(replay: &Replay) -> Vec<String> {
    let seen = points_seen(replay);
    replay
        .unused_renames()
        .into_iter()
        .map(|from| {
            format!(
                "meterflow: warning: --points renames `{from}`, which never appeared in the input's point column; the \
                 points seen were {}{}",
                listed(&seen),
                did_you_mean(from, &seen, "point")
            )
        })
        .collect()
}

/// A quality column whose non-zero codes reached jobs that do not filter on quality.
pub(crate) fn quality_warning(replay: &Replay) -> Option<String> {
    (replay.quality_column && !replay.pipeline.filters_quality() && replay.quality_rows > 0).then(|| {
        format!(
            "meterflow: warning: {} of the input had a non-zero quality code, and no job sets `quality`, so they \
             were processed like good readings; give the jobs a `quality` condition (such as \"[0, 0]\") to leave \
             them out",
            count(replay.quality_rows, "row", "rows")
        )
    })
}

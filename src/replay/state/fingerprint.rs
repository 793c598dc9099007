//! The job set's fingerprint: for each job, every planned field that can change its rows, spelled
//! out so a resumed run can say which job and which field differ from the run that saved the
//! state. It is taken from the validated plan, which holds no description, comment or layout of
//! the YAML: changing those cannot change a row, so they leave the fingerprint as it was.

use crate::job::{Job, JobKind, PolicyRules, Trigger, WindowType};
use crate::time::duration::format_duration;
use serde::{Deserialize, Serialize};

/// One job's result-changing fields, as (field, value) in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JobPrint {
    pub(crate) name: String,
    pub(crate) fields: Vec<(String, String)>,
}

/// The fingerprint of a job set, in run order.
pub(crate) fn of_jobs(jobs: &[Job]) -> Vec<JobPrint> {
    jobs.iter().map(of_job).collect()
}

fn of_job(job: &Job) -> JobPrint {
    let mut fields = vec![("model".to_owned(), job.model.clone())];
    let mut field = |key: String, value: String| fields.push((key, value));
    let optional = |v: Option<i64>| v.map_or_else(|| "none".to_owned(), format_duration);
    match &job.kind {
        JobKind::Window(w) => {
            field("template".into(), "time_window_aggregation".into());
            field("latency".into(), format_duration(w.latency));
            field("max_future_skew".into(), optional(w.max_future_skew));
            field("quality".into(), w.quality.map_or_else(|| "any".to_owned(), |q| q.to_string()));
            field("duplicates".into(), w.duplicates.name().to_owned());
            let window = match w.window {
                WindowType::Tumbling => "tumbling".to_owned(),
                WindowType::Sliding { slide } => format!("sliding every {slide}"),
            };
            field("window".into(), window);
            // Listed only when set, so a state saved before offsets existed still matches.
            if w.offset != 0 {
                field("window.offset".into(), format_duration(w.offset));
            }
            field("timezone".into(), w.timezone.map_or_else(|| "UTC".to_owned(), |tz| tz.name().to_owned()));
            field("policies".into(), w.policies.len().to_string());
            for (i, p) in w.policies.iter().enumerate() {
                field(format!("policies[{i}].input"), p.input.clone());
                field(format!("policies[{i}].threshold"), p.threshold.to_string());
                field(format!("policies[{i}].interpolation"), format!("{:?}", p.interpolation));
                field(format!("policies[{i}].aggregation"), p.aggregation.name().to_owned());
                field(format!("policies[{i}].window_size"), p.window_size.to_string());
                field(format!("policies[{i}].output"), p.output.clone());
                // Listed only when set, so a state saved before these rules existed still matches.
                if p.rules != PolicyRules::default() {
                    field(format!("policies[{i}].rules"), format!("{:?}", p.rules));
                }
            }
        }
        JobKind::Merge(m) => {
            field("template".into(), "multi_point_merging".into());
            let trigger = match m.trigger {
                Trigger::Frequency { every, offset: 0 } => format!("every {every}"),
                Trigger::Frequency { every, offset } => format!("every {every} offset {}", format_duration(offset)),
                Trigger::Point => "point".to_owned(),
            };
            field("trigger".into(), trigger);
            if let Some(tz) = m.timezone {
                field("timezone".into(), tz.name().to_owned());
            }
            field("latency".into(), format_duration(m.latency));
            field("max_future_skew".into(), optional(m.max_future_skew));
            field("max_age".into(), optional(m.max_age));
            field("quality".into(), m.quality.map_or_else(|| "any".to_owned(), |q| q.to_string()));
            field("duplicates".into(), m.duplicates.name().to_owned());
            field("policies".into(), m.policies.len().to_string());
            for (i, p) in m.policies.iter().enumerate() {
                field(format!("policies[{i}].output"), p.output.clone());
                field(format!("policies[{i}].trigger_point"), p.trigger_point.clone().unwrap_or_else(|| "none".into()));
                field(format!("policies[{i}].logic"), p.logic.compiled_text().to_owned());
            }
        }
    }
    JobPrint { name: job.name.clone(), fields }
}

/// What differs between the job set a state was saved with and the one given now, one line per
/// difference naming the job (empty: the same results follow).
pub(crate) fn differences(saved: &[JobPrint], now: &[JobPrint]) -> Vec<String> {
    let mut lines = Vec::new();
    for old in saved {
        let Some(new) = now.iter().find(|j| j.name == old.name) else {
            lines.push(format!("job `{}` was removed", old.name));
            continue;
        };
        for (key, was) in &old.fields {
            match new.fields.iter().find(|(k, _)| k == key) {
                Some((_, is)) if is != was => {
                    lines.push(format!("job `{}`: {key} was `{was}`, is now `{is}`", old.name));
                }
                Some(_) => {}
                None => lines.push(format!("job `{}`: {key} (`{was}`) was removed", old.name)),
            }
        }
        for (key, is) in &new.fields {
            if !old.fields.iter().any(|(k, _)| k == key) {
                lines.push(format!("job `{}`: {key} (`{is}`) was added", old.name));
            }
        }
    }
    for new in now {
        if !saved.iter().any(|j| j.name == new.name) {
            lines.push(format!("job `{}` was added", new.name));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::load_sources;

    const WINDOW: &str = "template: time_window_aggregation\nmodel: M\npolicies:\n  - input: R\n    aggregation: max\n    \
                          window_size: 10m\n    output: O\n";
    const MERGE: &str = "template: multi_point_merging\nmodel: M\ntrigger:\n  mode: point\npolicies:\n  - output: P\n    \
                         trigger_point: O\n    logic: ${O} * 2\n";

    fn prints(files: &[(&str, &str)]) -> Vec<JobPrint> {
        let sources = files.iter().map(|(name, yaml)| (name.to_string(), yaml.as_bytes().to_vec())).collect();
        of_jobs(&load_sources(sources).map_err(|e| e.to_string()).unwrap())
    }

    #[test]
    fn a_description_or_comment_changes_nothing() {
        let saved = prints(&[("w.yaml", WINDOW), ("m.yaml", MERGE)]);
        let described = format!("# daily\ndescription: energy per 10 minutes\n{WINDOW}");
        assert_eq!(differences(&saved, &prints(&[("w.yaml", &described), ("m.yaml", MERGE)])), Vec::<String>::new());
    }

    #[test]
    fn a_changed_field_is_named_with_its_job() {
        let saved = prints(&[("w.yaml", WINDOW), ("m.yaml", MERGE)]);
        let now = prints(&[("w.yaml", &WINDOW.replace("max", "avg")), ("m.yaml", &MERGE.replace("* 2", "* 3"))]);
        let lines = differences(&saved, &now);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0], "job `w`: policies[0].aggregation was `max`, is now `avg`");
        assert!(lines[1].starts_with("job `m`: policies[0].logic was `"), "{lines:?}");
    }

    #[test]
    fn jobs_added_and_removed_are_named() {
        let saved = prints(&[("w.yaml", WINDOW)]);
        let now = prints(&[("w2.yaml", WINDOW)]);
        assert_eq!(differences(&saved, &now), ["job `w` was removed", "job `w2` was added"]);
    }

    #[test]
    fn a_policy_added_is_named() {
        let saved = prints(&[("w.yaml", WINDOW)]);
        let two = format!("{WINDOW}  - input: R\n    aggregation: min\n    window_size: 1h\n    output: Q\n");
        let lines = differences(&saved, &prints(&[("w.yaml", &two)]));
        assert_eq!(lines[0], "job `w`: policies was `1`, is now `2`");
        assert!(
            lines[1..].iter().all(|l| l.starts_with("job `w`: policies[1].") && l.ends_with("was added")),
            "{lines:?}"
        );
    }
}

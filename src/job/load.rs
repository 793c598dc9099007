//! Loading jobs: job files -> [`Job`] plans, reporting every problem of every file together. The
//! files are found by `discover`, each is read by its template's reader (`read_window`,
//! `read_merge`), and the jobs together are checked as one pipeline.

use super::derived::warn_threshold_on_derived;
use super::discover::{job_files, read_limited};
use super::fields::{Template, job};
use super::grids::warn_mismatched_grids;
use super::pipeline::{OutputSite, check_pipeline};
use super::plan::Job;
use super::read_common::Outputs;
use super::read_merge::read_merge_job;
use super::read_window::read_window_job;
use crate::yaml::diagnostic::{Diagnostic, JobErrors, sort_problems};
use crate::yaml::{Listing, Reader, list, parse};
use std::path::{Path, PathBuf};

/// Loads every job file named by `args` (files or directories) and checks them as one pipeline.
pub fn load_jobs(args: &[PathBuf]) -> Result<Vec<Job>, JobErrors> {
    load_jobs_and_sources(args).map(|(jobs, _)| jobs)
}

/// Job files as read: (name for messages, contents), to load the same jobs again elsewhere with
/// [`load_sources`] (a file read twice could have changed, or be a pipe read once).
pub(crate) type JobSources = Vec<(String, Vec<u8>)>;

/// As [`load_jobs`], with the files as read.
pub(crate) fn load_jobs_and_sources(args: &[PathBuf]) -> Result<(Vec<Job>, JobSources), JobErrors> {
    let mut problems = Vec::new();
    let mut sources = Vec::new();
    for file in job_files(args, &mut problems) {
        let display = file.display().to_string();
        match read_limited(&file) {
            Ok(bytes) => sources.push((display, bytes)),
            Err(message) => problems.push(Diagnostic::whole_file(&display, message)),
        }
    }
    match load_sources(sources.clone()) {
        Ok(jobs) if problems.is_empty() => Ok((jobs, sources)),
        Ok(_) => {
            sort_problems(&mut problems);
            Err(JobErrors(problems))
        }
        Err(JobErrors(mut more)) => {
            problems.append(&mut more);
            sort_problems(&mut problems);
            Err(JobErrors(problems))
        }
    }
}

/// Loads job files given as (name for messages, contents) and checks them as one pipeline: the
/// whole of loading except finding and reading the files.
pub fn load_sources(sources: Vec<(String, Vec<u8>)>) -> Result<Vec<Job>, JobErrors> {
    let mut problems = Vec::new();
    let mut jobs = Vec::new();
    let mut sites = Vec::new();
    for (display, bytes) in sources {
        let Ok(source) = String::from_utf8(bytes) else {
            problems.push(Diagnostic::whole_file(&display, "the file is not valid UTF-8"));
            continue;
        };
        let default_name =
            Path::new(&display).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let mut reader = Reader::new(display, &source);
        if let Some((mut job, outputs)) = read_job(&mut reader, default_name)
            && reader.problems.is_empty()
        {
            job.warnings = std::mem::take(&mut reader.warnings);
            let index = jobs.len();
            sites.extend(outputs.into_iter().map(|(point, diagnostic)| OutputSite { job: index, point, diagnostic }));
            jobs.push(job);
        }
        problems.append(&mut reader.problems);
    }
    if problems.is_empty() {
        check_pipeline(&jobs, &sites, &mut problems);
        warn_mismatched_grids(&mut jobs);
        warn_threshold_on_derived(&mut jobs);
    }
    sort_problems(&mut problems);
    if problems.is_empty() { Ok(jobs) } else { Err(JobErrors(problems)) }
}

/// One job file, read by the reader of the template it names.
fn read_job(reader: &mut Reader<'_>, default_name: String) -> Option<(Job, Outputs)> {
    let root = parse(reader)?;
    let map = root.as_mapping()?;
    let names: Vec<&str> = Template::NAMES.iter().map(|(n, _)| *n).collect();
    let Some(template) = map.get_scalar(job::TEMPLATE_KEY) else {
        // Not quoted: a mapping without a template may be any YAML file a path led to.
        let message = format!("missing field `{}` ({})", job::TEMPLATE_KEY, names.join(" or "));
        let (line, column) = root.span().start().map_or((0, 0), |m| (m.line(), m.column()));
        reader.error_unquoted(line, column, "(top level)", message);
        return None;
    };
    // Spelling is forgiven here (`Time Window Aggregation`), since nothing else can be checked
    // before the template is known.
    let normalized = template.as_str().trim().to_ascii_lowercase().replace([' ', '-'], "_");
    match Template::NAMES.iter().find(|(n, _)| *n == normalized).map(|(_, t)| *t) {
        Some(Template::Window) => read_window_job(reader, &root, default_name),
        Some(Template::Merge) => read_merge_job(reader, &root, default_name),
        None => {
            let message = format!("unknown template `{normalized}`, expected {}", list(&names, Listing::Or));
            reader.error_span(template.span(), job::TEMPLATE_KEY, message);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one problem of a job file given as text, as (field, message).
    fn problem(yaml: &str) -> (String, String) {
        let Err(JobErrors(problems)) = load_sources(vec![("job.yaml".to_string(), yaml.as_bytes().to_vec())]) else {
            panic!("the job loaded")
        };
        assert_eq!(problems.len(), 1, "{problems:?}");
        (problems[0].field.clone(), problems[0].message.clone())
    }

    const WINDOW: &str = "template: time_window_aggregation\nmodel: M\npolicies:\n  - input: R\n    aggregation: max\n    \
                          window_size: 10m\n    output: O\n";
    const MERGE: &str = "template: multi_point_merging\nmodel: M\ntrigger:\n  mode: point\npolicies:\n  - output: O\n    \
                         trigger_point: R\n    logic: ${R} * 2\n";

    #[test]
    fn both_templates_load_as_written() {
        let sources =
            vec![("w.yaml".to_string(), WINDOW.into()), ("m.yaml".to_string(), MERGE.replace("O", "P").into())];
        let jobs = load_sources(sources).map_err(|e| e.to_string()).unwrap();
        assert_eq!(jobs.iter().map(|j| j.name.as_str()).collect::<Vec<_>>(), ["w", "m"]);
    }

    #[test]
    fn an_unknown_template_lists_both_names() {
        let (field, message) = problem("template: time window merging\nmodel: M\n");
        assert_eq!(field, "template");
        assert_eq!(
            message,
            "unknown template `time_window_merging`, expected `time_window_aggregation` or `multi_point_merging`"
        );
    }

    #[test]
    fn a_missing_template_names_both_templates() {
        let (field, message) = problem("model: M\n");
        assert_eq!(field, "(top level)");
        assert_eq!(message, "missing field `template` (time_window_aggregation or multi_point_merging)");
    }

    #[test]
    fn choices_name_their_words_from_their_types() {
        let cases = [
            (
                WINDOW.replace("aggregation: max", "aggregation: max\n    interpolation: linear"),
                "policies[0].interpolation",
                "unknown interpolation `linear`, expected `ignore` or `last_value`",
            ),
            (
                WINDOW.replace("policies:", "window:\n  type: hopping\npolicies:"),
                "window.type",
                "unknown window type `hopping`, expected `tumbling` or `sliding`",
            ),
            (
                MERGE.replace("mode: point", "mode: often"),
                "trigger.mode",
                "unknown trigger mode `often`, expected `frequency` or `point`",
            ),
            (
                MERGE.replace("policies:", "timing_interpolation: linear\npolicies:"),
                "timing_interpolation",
                "unknown timing interpolation `linear`, expected `last_value`",
            ),
        ];
        for (yaml, field, message) in cases {
            assert_eq!(problem(&yaml), (field.to_string(), message.to_string()), "{yaml}");
        }
    }

    #[test]
    fn a_required_field_is_reported_missing_by_its_table_entry() {
        let (field, message) = problem(&WINDOW.replace("    window_size: 10m\n", ""));
        assert_eq!((field.as_str(), message.as_str()), ("policies[0]", "missing field `window_size`"));
        let (field, message) = problem(&MERGE.replace("    logic: ${R} * 2\n", ""));
        assert_eq!((field.as_str(), message.as_str()), ("policies[0]", "missing field `logic`"));
    }
}

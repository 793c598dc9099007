//! Reading job files: YAML text -> located checks -> [`Job`] plans, reporting every problem of every
//! file together. Directories expand to their `*.yaml` / `*.yml` files in name order, test files
//! (`*.test.yaml`) excepted.

use super::diagnostic::{Diagnostic, JobErrors};
use super::pipeline::check_pipeline;
use super::unit_test::TEST_FIELDS;
use super::yaml::{Field, Located, Mapping, Reader, Shape};
use super::{
    Aggregation, Interpolation, Job, JobKind, MergeJob, MergePolicy, Trigger, WindowJob, WindowPolicy, WindowType,
};
use crate::duration::{format_duration, parse_duration};
use crate::expr::{Expression, sandboxed_engine};
use crate::threshold::Threshold;
use crate::zone::{Alignment, parse_zone};
use chrono_tz::Tz;
use marked_yaml::{LoadError, LoaderOptions, Node};
use std::io::Read;
use std::path::{Path, PathBuf};

const NAME_DOC: &str =
    "Job name, used in summaries, messages and late-output rows. Default: the file name without its extension.";
const DESCRIPTION_DOC: &str = "Free text for people; meterflow does not read it.";
const MODEL_DOC: &str = "The device model the job belongs to. Bare point names mean points of this model, and input rows \
                         whose `model` column names another model are ignored by the job.";
const TESTS_DOC: &str = "Unit tests of this job, run by `meterflow test`; `run` and `validate` do not read them.";

pub(crate) const WINDOW_JOB_FIELDS: &[Field] = &[
    Field::optional("name", Shape::Text, NAME_DOC),
    Field::optional("description", Shape::Text, DESCRIPTION_DOC),
    Field::required(
        "template",
        Shape::Choice(&["time_window_aggregation"]),
        "The job template: a Time Window Aggregation job aggregates one input point per policy over event-time windows.",
    ),
    Field::required("model", Shape::Name, MODEL_DOC),
    Field::optional("window", Shape::Mapping(WINDOW_FIELDS), "The kind of window: tumbling (the default) or sliding."),
    Field::optional(
        "latency",
        Shape::Duration,
        "Allowed lateness: a reading whose window has closed (its series' watermark reached the window end) is still added \
         and the window written again until the watermark passes the window end plus this duration; later readings are \
         dropped and counted. Default `0s`.",
    )
    .aliases(&["latency_setting", "latencySetting"]),
    Field::optional(
        "max_future_skew",
        Shape::Duration,
        "A reading further than this ahead of its watermark does not advance the watermark (a meter with a bad clock). \
         Default: no limit.",
    )
    .aliases(&["maxFutureSkew"]),
    Field::optional(
        "timezone",
        Shape::Text,
        "An IANA time zone such as `Europe/Dublin`: windows of whole days, or of steps that divide a day, start at local \
         midnight (a day at a DST change is 23 or 25 hours long). Steps that divide an hour keep UTC epoch alignment. \
         Default: UTC.",
    )
    .aliases(&["time_zone", "timeZone"]),
    Field::required("policies", Shape::List(WINDOW_POLICY_FIELDS), "One policy per output point: which input point is aggregated and how."),
    Field::optional("tests", Shape::List(TEST_FIELDS), TESTS_DOC),
];
const WINDOW_FIELDS: &[Field] = &[
    Field::required(
        "type",
        Shape::Choice(&["tumbling", "sliding"]),
        "`tumbling`: fixed-size, non-overlapping windows aligned to the Unix epoch in UTC; `sliding`: windows of the \
         policy's size starting every `slide`, so a reading belongs to size / slide windows.",
    ),
    Field::optional(
        "slide",
        Shape::Duration,
        "Sliding windows only (required there): how far apart windows start; it must divide the window size.",
    ),
];

/// The most sliding windows a reading may belong to (window size / slide): each costs an update
/// per reading and an open window per series, and a slide of `1ms` is more likely a typo.
const MAX_SLIDES_PER_WINDOW: i64 = 10_000;

/// What a window size or slide must be with a `timezone`.
const LOCAL_STEPS: &str =
    "divide an hour (aligned to the UTC epoch), or divide a day or be whole days (aligned to local midnight)";
const WINDOW_POLICY_FIELDS: &[Field] = &[
    Field::required("input", Shape::Point, "The point aggregated: `Point` or `Model::Point` of the job's model.")
        .aliases(&["input_point", "inputPoint"]),
    Field::optional(
        "threshold",
        Shape::Threshold,
        "The valid values, in interval notation such as `[0, 100)` or `(-inf, 5]`. Values outside are never aggregated \
         but still advance the watermark. Default: every value is valid.",
    ),
    Field::optional(
        "interpolation",
        Shape::Choice(&["ignore", "last_value"]),
        "What happens to a value outside the threshold: `ignore` leaves it out of every aggregation; `last_value` \
         replaces it with the series' latest valid value at or before it. Default `ignore`.",
    ),
    Field::required("aggregation", Shape::Aggregation, "How the valid values of a window become its output value."),
    Field::required(
        "window_size",
        Shape::Duration,
        "The window length, e.g. `10m`. Windows are half-open `[start, start + size)` and stamped at their start.",
    )
    .aliases(&["windowSize"]),
    Field::required(
        "output",
        Shape::Point,
        "The point written, one row per window that holds at least one valid value.",
    )
    .aliases(&["output_point", "outputPoint"]),
];
pub(crate) const MERGE_JOB_FIELDS: &[Field] = &[
    Field::optional("name", Shape::Text, NAME_DOC),
    Field::optional("description", Shape::Text, DESCRIPTION_DOC),
    Field::required(
        "template",
        Shape::Choice(&["multi_point_merging"]),
        "The job template: a Multi-Point Merging job computes an expression over several points of an asset.",
    ),
    Field::required("model", Shape::Name, MODEL_DOC),
    Field::required("trigger", Shape::Mapping(TRIGGER_FIELDS), "When the policies are evaluated."),
    Field::optional(
        "timing_interpolation",
        Shape::Choice(&["last_value"]),
        "How operands are lined up with an evaluation time: `last_value` takes each operand's latest value at or before it.",
    )
    .aliases(&["timingInterpolation"]),
    Field::optional(
        "latency",
        Shape::Duration,
        "Allowed lateness of operand readings: an evaluation is written once every operand series' watermark is past it \
         by this much. Default `0s`.",
    )
    .aliases(&["latency_setting", "latencySetting"]),
    Field::optional(
        "max_future_skew",
        Shape::Duration,
        "An operand reading further than this ahead of its series' watermark does not advance the watermark (a meter with \
         a bad clock). Default: no limit.",
    )
    .aliases(&["maxFutureSkew"]),
    Field::required("policies", Shape::List(MERGE_POLICY_FIELDS), "One policy per output point: the expression that computes it."),
    Field::optional("tests", Shape::List(TEST_FIELDS), TESTS_DOC),
];
const TRIGGER_FIELDS: &[Field] = &[
    Field::required(
        "mode",
        Shape::Choice(&["frequency", "point"]),
        "`frequency`: evaluate at epoch-aligned ticks of `every`; `point`: evaluate at each reading of a policy's `trigger_point`.",
    ),
    Field::optional("every", Shape::Duration, "The tick interval of frequency mode, e.g. `10m` (required there).")
        .aliases(&["frequency"]),
];
const MERGE_POLICY_FIELDS: &[Field] = &[
    Field::required("output", Shape::Point, "The point written with the expression's value.").aliases(&["output_point", "outputPoint"]),
    Field::required(
        "logic",
        Shape::Expression,
        "The expression, with operands written `${Model::Point}`: arithmetic, comparisons, `if`/`else`, and functions \
         such as `abs`, `min`, `max`, `round`, `sqrt`. Operands are floats.",
    )
    .aliases(&["output_logic", "outputLogic"]),
    Field::optional(
        "trigger_point",
        Shape::Point,
        "Point mode only (required there): the point whose readings trigger an evaluation; not the policy's own output.",
    )
    .aliases(&["triggerPoint"]),
];

/// Where a job's output point is declared, for pipeline-level messages.
pub(super) struct OutputSite {
    pub job: usize,
    pub point: String,
    pub diagnostic: Diagnostic,
}

/// Job files larger than this are refused unread: a job is a few hundred bytes, and a path such as
/// `/dev/zero` given by mistake must not exhaust memory.
pub const MAX_JOB_FILE_BYTES: u64 = 1 << 20;

/// Loads every job file named by `args` (files or directories) and checks them as one pipeline.
pub fn load_jobs(args: &[PathBuf]) -> Result<Vec<Job>, JobErrors> {
    let mut problems = Vec::new();
    let mut sources = Vec::new();
    for file in expand_paths(args, &mut problems) {
        let display = file.display().to_string();
        match read_limited(&file) {
            Ok(bytes) => sources.push((display, bytes)),
            Err(message) => problems.push(file_problem(&display, &message)),
        }
    }
    match load_sources(sources) {
        Ok(jobs) if problems.is_empty() => Ok(jobs),
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

/// Reads a job file, refusing one larger than [`MAX_JOB_FILE_BYTES`].
pub fn read_limited(file: &Path) -> Result<Vec<u8>, String> {
    let handle = std::fs::File::open(file).map_err(|e| format!("cannot read job file: {e}"))?;
    let mut bytes = Vec::new();
    handle.take(MAX_JOB_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read job file: {e}"))?;
    if bytes.len() as u64 > MAX_JOB_FILE_BYTES {
        return Err(format!(
            "the file is larger than {} KiB; a job file is a short YAML mapping",
            MAX_JOB_FILE_BYTES / 1024
        ));
    }
    Ok(bytes)
}

/// Loads job files given as (name for messages, contents) and checks them as one pipeline: the
/// whole of loading except finding and reading the files.
pub fn load_sources(sources: Vec<(String, Vec<u8>)>) -> Result<Vec<Job>, JobErrors> {
    let mut problems = Vec::new();
    let mut jobs = Vec::new();
    let mut sites = Vec::new();
    for (display, bytes) in sources {
        let Ok(source) = String::from_utf8(bytes) else {
            problems.push(file_problem(&display, "the file is not valid UTF-8"));
            continue;
        };
        let default_name =
            Path::new(&display).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let mut reader = Reader::new(display, &source);
        if let Some((mut job, outputs)) = read_job(&mut reader, default_name) {
            if reader.problems.is_empty() {
                job.warnings = std::mem::take(&mut reader.warnings);
                let index = jobs.len();
                sites.extend(outputs.into_iter().map(|(point, diagnostic)| OutputSite {
                    job: index,
                    point,
                    diagnostic,
                }));
                jobs.push(job);
            }
        }
        problems.append(&mut reader.problems);
    }
    if problems.is_empty() {
        check_pipeline(&jobs, &sites, &mut problems);
    }
    sort_problems(&mut problems);
    if problems.is_empty() { Ok(jobs) } else { Err(JobErrors(problems)) }
}

/// Orders problems by file, then line and column, whichever check found them; file-level problems
/// (line 0) come first in their file.
pub fn sort_problems(problems: &mut [Diagnostic]) {
    problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
}

fn file_problem(file: &str, message: &str) -> Diagnostic {
    Diagnostic {
        file: file.to_string(),
        line: 0,
        column: 0,
        field: String::new(),
        message: message.to_string(),
        source_line: None,
    }
}

/// Files first as given; a directory contributes its YAML files sorted by name.
fn expand_paths(args: &[PathBuf], problems: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for arg in args {
        if !arg.is_dir() {
            files.push(arg.clone());
            continue;
        }
        let entries = match std::fs::read_dir(arg) {
            Ok(entries) => entries,
            Err(e) => {
                problems.push(file_problem(&arg.display().to_string(), &format!("cannot read job directory: {e}")));
                continue;
            }
        };
        let mut found: Vec<PathBuf> =
            entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file() && is_job_file(p)).collect();
        found.sort();
        if found.is_empty() {
            problems.push(file_problem(&arg.display().to_string(), "no job files (*.yaml, *.yml) in this directory"));
        }
        files.extend(found);
    }
    // A file named twice (`jobs/ jobs/a.yaml`) is one job, loaded once, where it first appears.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    files
}

/// A YAML file that is not a test file.
pub fn is_job_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) && !is_test_file(path)
}

/// A job's unit-test file, `<job>.test.yaml` (or `.test.yml`): a directory of jobs holds them too.
pub fn is_test_file(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".test.yaml") || n.ends_with(".test.yml"))
}

type Outputs = Vec<(String, Diagnostic)>;

fn read_job(reader: &mut Reader<'_>, default_name: String) -> Option<(Job, Outputs)> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true).toplevel_mapping();
    let root = match marked_yaml::parse_yaml_with_options(0, reader.source(), options) {
        Ok(root) => root,
        Err(e) => {
            report_yaml_error(reader, &e);
            return None;
        }
    };
    let map = root.as_mapping()?;
    let Some(template) = map.get_scalar("template") else {
        reader.error_span(
            root.span(),
            "(top level)",
            "missing field `template` (time_window_aggregation or multi_point_merging)",
        );
        return None;
    };
    let normalized = template.as_str().trim().to_ascii_lowercase().replace([' ', '-'], "_");
    match normalized.as_str() {
        "time_window_aggregation" => read_window_job(reader, &root, default_name),
        "multi_point_merging" => read_merge_job(reader, &root, default_name),
        other => {
            reader.error_span(
                template.span(),
                "template",
                format!("unknown template `{other}`, expected `time_window_aggregation` or `multi_point_merging`"),
            );
            None
        }
    }
}

pub(super) fn report_yaml_error(reader: &mut Reader<'_>, error: &LoadError) {
    let (marker, message) = match error {
        LoadError::TopLevelMustBeMapping(m) => (Some(*m), "a job file must be a YAML mapping of fields".to_string()),
        LoadError::TopLevelMustBeSequence(m) => (Some(*m), "unexpected top-level sequence".to_string()),
        LoadError::UnexpectedAnchor(m) => {
            (Some(*m), "YAML anchors and aliases are not supported in job files".to_string())
        }
        LoadError::MappingKeyMustBeScalar(m) => (Some(*m), "mapping keys must be plain names".to_string()),
        LoadError::UnexpectedTag(m) => (Some(*m), "YAML tags are not supported in job files".to_string()),
        LoadError::ScanError(m, e) => (Some(*m), format!("invalid YAML: {}", e.info())),
        LoadError::DuplicateKey(d) => {
            (d.key.span().start().copied(), format!("field `{}` is given twice", d.key.as_str()))
        }
    };
    match marker {
        Some(m) => reader.error_at(m.line(), m.column(), "", message),
        None => reader.error_at(0, 0, "", message),
    }
}

/// Common top-level fields: name, model.
fn read_identity(reader: &mut Reader<'_>, top: &Mapping<'_>, default_name: String) -> (String, Option<String>) {
    let name = match top.scalar(reader, "name", false) {
        Some(n) if n.text.trim().is_empty() => {
            reader.error(&n, "the job name cannot be empty");
            default_name
        }
        Some(n) => n.text.trim().to_string(),
        None => default_name,
    };
    let model = top.scalar(reader, "model", true).and_then(|m| {
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
fn read_point(reader: &mut Reader<'_>, at: &Located<'_>, model: Option<&str>) -> Option<String> {
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
    if let (Some(q), Some(m)) = (qualifier, model) {
        if q != m {
            reader.error(at, format!("point `{text}` belongs to model `{q}`, but this job's model is `{m}`"));
            return None;
        }
    }
    Some(point.to_string())
}

fn read_duration(reader: &mut Reader<'_>, at: &Located<'_>) -> Option<i64> {
    parse_duration(at.text).map_err(|e| reader.error(at, e)).ok()
}

fn read_latency(reader: &mut Reader<'_>, top: &Mapping<'_>) -> Option<i64> {
    match top.scalar(reader, "latency", false) {
        Some(at) => read_duration(reader, &at),
        None => Some(0),
    }
}

/// The optional `max_future_skew`; `None` when it is invalid (reported).
fn read_max_future_skew(reader: &mut Reader<'_>, top: &Mapping<'_>) -> Option<Option<i64>> {
    match top.scalar(reader, "max_future_skew", false) {
        Some(at) => read_duration(reader, &at).map(Some),
        None => Some(None),
    }
}

/// A policy's `output` point, checked against the outputs of the job's earlier policies and
/// recorded with its location for pipeline-level checks.
fn read_output(
    reader: &mut Reader<'_>,
    policy: &Mapping<'_>,
    model: Option<&str>,
    outputs: &mut Outputs,
) -> Option<String> {
    let at = policy.scalar(reader, "output", true)?;
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

fn read_window_job(reader: &mut Reader<'_>, root: &Node, default_name: String) -> Option<(Job, Outputs)> {
    let top = Mapping::new(reader, root, "", WINDOW_JOB_FIELDS)?;
    let (name, model) = read_identity(reader, &top, default_name);
    let window = read_window_type(reader, &top);
    let latency = read_latency(reader, &top);
    let max_future_skew = read_max_future_skew(reader, &top);
    let timezone: Option<Option<Tz>> = match top.scalar(reader, "timezone", false) {
        Some(at) => parse_zone(at.text).map_err(|e| reader.error(&at, e)).ok().map(Some),
        None => Some(None),
    };
    let mut policies = Vec::new();
    let mut outputs: Outputs = Vec::new();
    for p in top.mappings(reader, "policies", WINDOW_POLICY_FIELDS) {
        let input = p.scalar(reader, "input", true).and_then(|at| read_point(reader, &at, model.as_deref()));
        let threshold = match p.scalar(reader, "threshold", false) {
            Some(at) => Threshold::parse(at.text).map_err(|e| reader.error(&at, e)).ok(),
            None => Some(Threshold::ALL),
        };
        let interpolation = match p.scalar(reader, "interpolation", false) {
            None => Some(Interpolation::Ignore),
            Some(at) => match at.text.trim() {
                "ignore" => Some(Interpolation::Ignore),
                "last_value" => Some(Interpolation::LastValue),
                other => {
                    reader.error(&at, format!("unknown interpolation `{other}`, expected `ignore` or `last_value`"));
                    None
                }
            },
        };
        let aggregation = p.scalar(reader, "aggregation", true).and_then(|at| {
            let text = at.text.trim();
            let found = Aggregation::NAMES.iter().find(|(n, _)| *n == text).map(|(_, a)| *a);
            if found.is_none() {
                let names: Vec<_> = Aggregation::NAMES.iter().map(|(n, _)| format!("`{n}`")).collect();
                reader.error(&at, format!("unknown aggregation `{text}`, expected one of {}", names.join(", ")));
            }
            found
        });
        let window_size = p.scalar(reader, "window_size", true).and_then(|at| {
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
        let output = read_output(reader, &p, model.as_deref(), &mut outputs);
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
        policies,
    };
    let job =
        Job { name, file: reader.file().to_string(), model: model?, kind: JobKind::Window(plan), warnings: Vec::new() };
    Some((job, outputs))
}

/// The `window` mapping: `type: tumbling` (also when absent) or `type: sliding` with a `slide`.
/// A slide that cannot be aligned in the job's `timezone` is reported here too.
fn read_window_type(reader: &mut Reader<'_>, top: &Mapping<'_>) -> Option<WindowType> {
    let Some(window) = top.mapping(reader, "window", WINDOW_FIELDS, false) else { return Some(WindowType::Tumbling) };
    let kind = window.scalar(reader, "type", true)?;
    let slide = window.scalar(reader, "slide", false);
    match kind.text.trim() {
        "tumbling" => {
            if let Some(at) = slide {
                reader.error(&at, "`slide` applies to sliding windows only (type: sliding)");
                return None;
            }
            Some(WindowType::Tumbling)
        }
        "sliding" => {
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
            let zoned = top.get("timezone").is_some();
            if zoned && Alignment::of_step(slide).is_none() {
                reader.error(
                    &at,
                    format!("with a `timezone`, the slide must {LOCAL_STEPS}; {} is neither", at.text.trim()),
                );
                return None;
            }
            Some(WindowType::Sliding { slide })
        }
        other => {
            reader.error(&kind, format!("unknown window type `{other}`, expected `tumbling` or `sliding`"));
            None
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

fn read_merge_job(reader: &mut Reader<'_>, root: &Node, default_name: String) -> Option<(Job, Outputs)> {
    let top = Mapping::new(reader, root, "", MERGE_JOB_FIELDS)?;
    let (name, model) = read_identity(reader, &top, default_name);
    let trigger = top.mapping(reader, "trigger", TRIGGER_FIELDS, true).and_then(|t| {
        let mode = t.scalar(reader, "mode", true)?;
        let every = t.scalar(reader, "every", false);
        match mode.text.trim() {
            "frequency" => {
                let Some(every) = every else {
                    reader.error_span(t.span(), t.path(), "frequency mode needs `every` (e.g. every: 10m)");
                    return None;
                };
                let ms = read_duration(reader, &every)?;
                if ms == 0 {
                    reader.error(&every, "the trigger frequency must be longer than 0");
                    return None;
                }
                Some(Trigger::Frequency { every: ms })
            }
            "point" => {
                if let Some(every) = every {
                    reader.error(
                        &every,
                        "`every` applies to frequency mode only; in point mode each policy names its `trigger_point`",
                    );
                }
                Some(Trigger::Point)
            }
            other => {
                reader.error(&mode, format!("unknown trigger mode `{other}`, expected `frequency` or `point`"));
                None
            }
        }
    });
    if let Some(at) = top.scalar(reader, "timing_interpolation", false) {
        if at.text.trim() != "last_value" {
            reader.error(&at, format!("unknown timing interpolation `{}`, expected `last_value`", at.text.trim()));
        }
    }
    let latency = read_latency(reader, &top);
    let max_future_skew = read_max_future_skew(reader, &top);
    let engine = sandboxed_engine();
    let mut policies = Vec::new();
    let mut outputs: Outputs = Vec::new();
    for p in top.mappings(reader, "policies", MERGE_POLICY_FIELDS) {
        let output = read_output(reader, &p, model.as_deref(), &mut outputs);
        let trigger_point: Option<Option<String>> = match (trigger, p.scalar(reader, "trigger_point", false)) {
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
            p.scalar(reader, "logic", true).and_then(|at| compile_logic(reader, &at, &engine, model.as_deref()));
        if let (Some(output), Some(trigger_point), Some((logic, operands))) = (output, trigger_point, logic) {
            policies.push(MergePolicy { output, trigger_point, logic, operands });
        }
    }
    let plan = MergeJob { trigger: trigger?, latency: latency?, max_future_skew: max_future_skew?, policies };
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
    let expression = match Expression::compile(engine, at.text) {
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
    let mut operands = Vec::new();
    for operand in expression.operands() {
        if let (Some(q), Some(m)) = (&operand.model, model) {
            if q != m {
                reader.error(
                    at,
                    format!("operand `{q}::{}` belongs to model `{q}`, but this job's model is `{m}`", operand.point),
                );
                return None;
            }
        }
        operands.push(operand.point.clone());
    }
    Some((expression, operands))
}

/// The file position of (line, column) inside a scalar value, when the value appears verbatim on
/// its source line (plain or quoted single-line scalars); otherwise the value's own position.
fn locate_in_value(reader: &Reader<'_>, at: &Located<'_>, line: usize, column: usize) -> (usize, usize) {
    if line == 1 && !at.text.contains('\n') {
        if let Some(source) = reader.source_line(at.line) {
            let start: String = source.chars().skip(at.column - 1).collect();
            let skip = usize::from(start.starts_with('"') || start.starts_with('\''));
            let tail: String = start.chars().skip(skip).collect();
            if tail.starts_with(at.text) {
                return (at.line, at.column + skip + column - 1);
            }
        }
    }
    (at.line, at.column)
}

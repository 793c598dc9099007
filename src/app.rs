//! One invocation: turns parsed flags into a run (load jobs -> build the pipeline -> replay every
//! input -> write points and late rows -> summary), or validates job files.

use crate::cli::{Cli, Command, EmitArg, FormatArg, RunArgs, ScopeArg, ValidateArgs};
use crate::duration::{format_duration, parse_duration};
use crate::engine::stats::JobStats;
use crate::engine::watermark::NO_WATERMARK;
use crate::engine::{Dropped, EmitMode, EngineOptions, Pipeline, Point, Reading, Sink, WatermarkScope};
use crate::input::{self, BadRowPolicy, BadRows, InputCounts, InputOptions, Reader, Sorter};
use crate::intern::Names;
use crate::job::pipeline::{external_inputs, run_order};
use crate::job::{Job, JobErrors, JobKind, Trigger, WindowJob, WindowType, load_jobs};
use crate::output::{Format, LateWriter, PointWriter};
use crate::time::format_timestamp;
use anyhow::{Context, anyhow};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

/// How a run can fail; `main` maps each to an exit code.
#[derive(Debug)]
pub enum Failure {
    /// stdout was closed by the reader (e.g. `| head`): not an error.
    BrokenPipe,
    /// Job files with problems (exit 2).
    Jobs(JobErrors),
    /// Bad flags (exit 2).
    Usage(anyhow::Error),
    /// Data or I/O error during the run (exit 1).
    Run(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        let broken_pipe = e.chain().any(|c| c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe));
        if broken_pipe { Failure::BrokenPipe } else { Failure::Run(e) }
    }
}

pub fn main(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Run(args) => run(*args),
        Command::Validate(args) => validate(args),
    }
}

fn validate(args: ValidateArgs) -> Result<(), Failure> {
    let jobs = load_jobs(&args.jobs).map_err(Failure::Jobs)?;
    let mut out = io::stdout().lock();
    let write = |out: &mut io::StdoutLock<'_>, text: String| writeln!(out, "{text}").context("failed to write to stdout");
    for job in &jobs {
        write(&mut out, format!("{}: ok: {}", job.file, describe(job)))?;
    }
    write(&mut out, format!("pipeline reads from input: {}", external_inputs(&jobs).join(", ")))?;
    Ok(())
}

/// A one-line description of a job.
fn describe(job: &Job) -> String {
    let (template, detail) = match &job.kind {
        JobKind::Window(w) => ("time_window_aggregation", describe_windows(w)),
        JobKind::Merge(m) => (
            "multi_point_merging",
            match m.trigger {
                Trigger::Frequency { every } => format!("every {}", format_duration(every)),
                Trigger::Point => "point trigger".to_string(),
            },
        ),
    };
    format!("{} ({template}, model {}, {detail}): {} -> {}", job.name, job.model, job.inputs().join(", "), job.outputs().join(", "))
}

/// Latency, and the window type and time zone when they are not the defaults.
fn describe_windows(job: &WindowJob) -> String {
    let mut text = format!("latency {}", format_duration(job.latency));
    if let WindowType::Sliding { slide } = job.window {
        text.push_str(&format!(", sliding every {}", format_duration(slide)));
    }
    if let Some(tz) = job.timezone {
        text.push_str(&format!(", timezone {}", tz.name()));
    }
    text
}

fn engine_options(args: &RunArgs) -> Result<EngineOptions, Failure> {
    let max_future_skew = match &args.max_future_skew {
        Some(text) => Some(parse_duration(text).map_err(|e| Failure::Usage(anyhow!("--max-future-skew: {e}")))?),
        None => None,
    };
    Ok(EngineOptions {
        emit: match args.emit {
            EmitArg::Final => EmitMode::Final,
            EmitArg::Updates => EmitMode::Updates,
        },
        watermark: match args.watermark {
            ScopeArg::Series => WatermarkScope::Series,
            ScopeArg::Asset => WatermarkScope::Asset,
            ScopeArg::Global => WatermarkScope::Global,
        },
        max_future_skew,
    })
}

fn create(path: &Path) -> anyhow::Result<Box<dyn Write>> {
    let file = File::create(path).with_context(|| format!("failed to create {}", path.display()))?;
    Ok(Box::new(BufWriter::with_capacity(1 << 16, file)))
}

/// Routes what the pipeline produces to the writers, keeping the first write error.
struct RunSink<'a> {
    points: &'a mut PointWriter,
    late: Option<&'a mut LateWriter>,
    names: &'a Names,
    job_names: &'a [String],
    error: Option<io::Error>,
}

impl Sink for RunSink<'_> {
    fn point(&mut self, point: &Point) {
        if self.error.is_none() {
            self.error = self.points.write(point, self.names).err();
        }
    }

    fn dropped(&mut self, dropped: &Dropped) {
        if let (None, Some(late)) = (&self.error, self.late.as_mut()) {
            self.error = late.write(dropped, &self.job_names[dropped.job], self.names).err();
        }
    }
}

/// Share of the readings jobs receive that, dropped as late, earns a hint about `--sort-input`.
const LATE_WARNING_SHARE: f64 = 0.05;

/// What a replay produced besides its rows: the figures of the summary.
pub struct Report {
    pub counts: InputCounts,
    pub unrouted: u64,
    pub jobs: Vec<JobStats>,
    /// The run's name tables, to name the assets in the figures.
    pub names: Names,
}

/// Puts jobs in run order (producers before consumers). `load_jobs` has rejected cycles.
pub fn in_run_order(mut jobs: Vec<Job>) -> Vec<Job> {
    let order = run_order(&jobs).unwrap_or_else(|_| (0..jobs.len()).collect());
    let mut slots: Vec<Option<Job>> = jobs.drain(..).map(Some).collect();
    order.iter().filter_map(|&i| slots[i].take()).collect()
}

/// The pipeline and where its results go, for one replay.
struct Replay<'a> {
    pipeline: Pipeline,
    points: &'a mut PointWriter,
    late: Option<&'a mut LateWriter>,
    job_names: Vec<String>,
}

impl Replay<'_> {
    fn push(&mut self, reading: Reading, names: &Names) -> Result<(), Failure> {
        let mut sink = RunSink { points: self.points, late: self.late.as_deref_mut(), names, job_names: &self.job_names, error: None };
        self.pipeline.push(reading, &mut sink);
        match sink.error {
            Some(e) => Err(anyhow::Error::new(e).context("failed to write output").into()),
            None => Ok(()),
        }
    }

    fn finish(&mut self, names: &Names) -> Result<(), Failure> {
        let mut sink = RunSink { points: self.points, late: self.late.as_deref_mut(), names, job_names: &self.job_names, error: None };
        self.pipeline.finish(&mut sink);
        if let Some(e) = sink.error {
            return Err(anyhow::Error::new(e).context("failed to write output").into());
        }
        self.points.flush().context("failed to write output")?;
        if let Some(late) = self.late.as_mut() {
            late.flush().context("failed to write the late-output file")?;
        }
        Ok(())
    }
}

/// Replays `sources` (name and stream, in order) through `jobs` and writes to the writers: the
/// whole of a run except opening files and printing.
pub fn replay(
    jobs: Vec<Job>,
    options: EngineOptions,
    input: &InputOptions,
    sources: Vec<(String, Box<dyn Read>)>,
    points: &mut PointWriter,
    late: Option<&mut LateWriter>,
    bad_rows: &mut BadRows,
) -> Result<Report, Failure> {
    let jobs = in_run_order(jobs);
    let job_names = jobs.iter().map(|j| j.name.clone()).collect();
    let mut names = Names::default();
    let pipeline = Pipeline::new(jobs, &mut names, options);
    let mut replay = Replay { pipeline, points, late, job_names };
    let mut counts = InputCounts::default();
    let mut sorter = input.sort.then(Sorter::default);
    for (name, stream) in sources {
        let mut reader = Reader::new(&name, stream, input, &mut names)?;
        while let Some(reading) = reader.next(&mut names, &mut counts, bad_rows)? {
            match sorter.as_mut() {
                Some(sorter) => sorter.push(reading)?,
                None => replay.push(reading, &names)?,
            }
        }
    }
    if let Some(sorter) = sorter {
        let mut sorted = sorter.finish()?;
        while let Some(reading) = sorted.next_reading()? {
            replay.push(reading, &names)?;
        }
    }
    replay.finish(&names)?;
    bad_rows.flush()?;
    let jobs = replay.pipeline.stats().into_iter().cloned().collect();
    Ok(Report { counts, unrouted: replay.pipeline.unrouted(), jobs, names })
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let options = engine_options(&args)?;
    let input_options = InputOptions::from_args(&args.input).map_err(Failure::Usage)?;
    let jobs = load_jobs(&args.jobs).map_err(Failure::Jobs)?;
    // Every input is opened before any output is written, so a typo leaves no partial files.
    let inputs = if args.inputs.is_empty() { vec!["-".to_string()] } else { args.inputs.clone() };
    let mut sources = Vec::new();
    for path in &inputs {
        let display = if path == "-" { "<stdin>" } else { path.as_str() };
        sources.push((display.to_string(), input::open(path)?));
    }
    let out: Box<dyn Write> = match &args.output {
        Some(path) => create(path)?,
        None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout())),
    };
    let format = match args.format {
        FormatArg::Csv => Format::Csv,
        FormatArg::Jsonl => Format::Jsonl,
    };
    let mut points = PointWriter::new(out, format, options.emit == EmitMode::Updates).context("failed to write output")?;
    let mut late = match &args.late_output {
        Some(path) => Some(LateWriter::new(create(path)?).context("failed to write the late-output file")?),
        None => None,
    };
    let rejects = match &args.input.rejects {
        Some(path) => Some(create(path)?),
        None => None,
    };
    let mut bad_rows = BadRows::new(input_options.on_bad_row, rejects)?;
    let report = replay(jobs, options, &input_options, sources, &mut points, late.as_mut(), &mut bad_rows)?;
    if !args.quiet {
        eprint!("{}", summary(&report, &bad_rows, &args, inputs.len()));
    }
    if !input_options.sort {
        if let Some(warning) = late_warning(&report.jobs) {
            eprintln!("{warning}");
        }
    }
    if let Some(path) = &args.stats_json {
        write_stats_json(path, &report)?;
    }
    Ok(())
}

/// A hint when many readings were dropped as late: the input is probably not in time order.
fn late_warning(jobs: &[JobStats]) -> Option<String> {
    let received: u64 = jobs.iter().map(|j| j.rows_read).sum();
    let dropped: u64 = jobs.iter().map(|j| j.late_dropped).sum();
    let share = dropped as f64 / received.max(1) as f64;
    (share > LATE_WARNING_SHARE).then(|| {
        format!(
            "meterflow: warning: {dropped} of the {received} readings the jobs received ({:.1}%) were dropped as late beyond lateness; \
             if the input is not in time order (e.g. newest first), replay it with --sort-input",
            share * 100.0
        )
    })
}

fn timestamp_text(ms: i64) -> String {
    if ms == NO_WATERMARK {
        return "none".to_string();
    }
    let mut out = Vec::new();
    format_timestamp(ms, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// The run summary printed on stderr.
fn summary(report: &Report, bad_rows: &BadRows, args: &RunArgs, inputs: usize) -> String {
    let counts = &report.counts;
    let skipped = match bad_rows.policy() {
        BadRowPolicy::Skip => format!("{} bad rows skipped, ", counts.rejected),
        BadRowPolicy::Fail => String::new(),
    };
    let mut s = format!(
        "meterflow: {} rows read from {inputs} input{} ({} missing values skipped, {skipped}{} rows of points or models no job reads)\n",
        counts.rows,
        if inputs == 1 { "" } else { "s" },
        counts.missing,
        report.unrouted
    );
    if let Some(first) = &bad_rows.first {
        let all = match &args.input.rejects {
            Some(path) => format!("all are in {}", path.display()),
            None => "--rejects FILE records them all".to_string(),
        };
        s.push_str(&format!("  first bad row: {first} ({all})\n"));
    }
    for job in &report.jobs {
        s.push_str(&job_summary(job, &report.names));
    }
    s
}

fn job_summary(job: &JobStats, names: &Names) -> String {
    let mut s = format!(
        "{} ({}): {} rows read, {} dropped as late, {} rows written, final watermark {}\n",
        job.name,
        job.file,
        job.rows_read,
        job.late_dropped,
        job.rows_written,
        timestamp_text(job.final_watermark)
    );
    for p in &job.policies {
        s.push_str(&format!(
            "  {}: {} valid ({} late accepted), {} out of threshold, {} late dropped, {} rows written\n",
            p.output, p.valid, p.late_accepted, p.out_of_threshold, p.late_dropped, p.rows_written
        ));
        if p.interpolated > 0 {
            s.push_str(&format!("  {}: {} out-of-threshold readings replaced by the last valid value\n", p.output, p.interpolated));
        }
        if p.partially_late > 0 {
            s.push_str(&format!(
                "  {}: {} readings partially late: dropped from {} expired windows, added to the others\n",
                p.output, p.partially_late, p.windows_missed
            ));
        }
    }
    if job.future_skewed > 0 {
        s.push_str(&format!("  {} readings too far ahead of the watermark did not advance it\n", job.future_skewed));
    }
    if job.policies.is_empty() {
        let m = &job.merge;
        s.push_str(&format!(
            "  no row for {} missing operand, {} evaluation error, {} non-finite, {} empty results\n",
            m.missing_operand, m.eval_error, m.non_finite, m.empty
        ));
        for sample in &m.samples {
            s.push_str(&format!("  no row for {} at {}: {}\n", names.assets.name(sample.asset), timestamp_text(sample.ts), sample.reason));
        }
    }
    s
}

/// The figures of the summary as JSON, for CI.
fn stats_json(report: &Report) -> serde_json::Value {
    use serde_json::json;
    let watermark = |ms: i64| if ms == NO_WATERMARK { serde_json::Value::Null } else { json!(timestamp_text(ms)) };
    let jobs: Vec<_> = report
        .jobs
        .iter()
        .map(|job| {
            let policies: Vec<_> = job
                .policies
                .iter()
                .map(|p| {
                    json!({
                        "output": p.output,
                        "read": p.read,
                        "valid": p.valid,
                        "out_of_threshold": p.out_of_threshold,
                        "late_accepted": p.late_accepted,
                        "late_dropped": p.late_dropped,
                        "rows_written": p.rows_written,
                    })
                })
                .collect();
            let m = &job.merge;
            let samples: Vec<_> = m
                .samples
                .iter()
                .map(|s| json!({"asset": report.names.assets.name(s.asset), "timestamp": timestamp_text(s.ts), "reason": s.reason}))
                .collect();
            json!({
                "name": job.name,
                "file": job.file,
                "rows_read": job.rows_read,
                "rows_written": job.rows_written,
                "late_dropped": job.late_dropped,
                "future_skewed": job.future_skewed,
                "final_watermark": watermark(job.final_watermark),
                "policies": policies,
                "merge_skipped": {
                    "missing_operand": m.missing_operand,
                    "eval_error": m.eval_error,
                    "non_finite": m.non_finite,
                    "empty": m.empty,
                    "samples": samples,
                },
            })
        })
        .collect();
    json!({
        "input": {
            "rows": report.counts.rows,
            "missing_values": report.counts.missing,
            "rejected": report.counts.rejected,
            "rows_of_unread_points": report.unrouted,
        },
        "jobs": jobs,
    })
}

fn write_stats_json(path: &Path, report: &Report) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(&stats_json(report)).context("failed to encode the figures")?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("failed to write {}", path.display()))
}

//! One invocation: turns parsed flags into a run (load jobs -> build the pipeline -> replay every
//! input -> write points and late rows -> summary), or validates job files.

use crate::cli::{Cli, Command, EmitArg, FormatArg, RunArgs, ScopeArg, ValidateArgs};
use crate::duration::{format_duration, parse_duration};
use crate::engine::stats::JobStats;
use crate::engine::watermark::NO_WATERMARK;
use crate::engine::{Dropped, EmitMode, EngineOptions, Pipeline, Point, Sink, WatermarkScope};
use crate::fast_long::InputReader;
use crate::input::{self, InputCounts};
use crate::intern::Names;
use crate::job::pipeline::{external_inputs, run_order};
use crate::job::{Job, JobErrors, JobKind, Trigger, load_jobs};
use crate::output::{Format, LateWriter, PointWriter};
use crate::writer::{Files, Output};
use crate::time::format_timestamp;
use anyhow::{Context, anyhow};
use std::fs::File;
use std::io::{self, BufWriter, Write};
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
        Command::Run(args) => run(args),
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
        JobKind::Window(w) => ("time_window_aggregation", format!("latency {}", format_duration(w.latency))),
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

fn create(path: &Path) -> anyhow::Result<Box<dyn Write + Send>> {
    let file = File::create(path).with_context(|| format!("failed to create {}", path.display()))?;
    Ok(Box::new(BufWriter::with_capacity(1 << 16, file)))
}

/// Routes what the pipeline produces to the output.
struct RunSink<'a> {
    output: &'a mut Output,
    names: &'a Names,
}

impl Sink for RunSink<'_> {
    fn point(&mut self, point: &Point) {
        self.output.point(point, self.names);
    }

    fn dropped(&mut self, dropped: &Dropped) {
        self.output.dropped(dropped, self.names);
    }
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let options = engine_options(&args)?;
    let mut jobs = load_jobs(&args.jobs).map_err(Failure::Jobs)?;
    // load_jobs has rejected cycles, so an order exists.
    let order = run_order(&jobs).unwrap_or_else(|_| (0..jobs.len()).collect());
    let mut slots: Vec<Option<Job>> = jobs.drain(..).map(Some).collect();
    let jobs: Vec<Job> = order.iter().filter_map(|&i| slots[i].take()).collect();
    let job_names: Vec<String> = jobs.iter().map(|j| j.name.clone()).collect();

    let mut names = Names::default();
    let mut pipeline = Pipeline::new(jobs, &mut names, options);
    let out: Box<dyn Write + Send> = match &args.output {
        Some(path) => create(path)?,
        None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout())),
    };
    let format = match args.format {
        FormatArg::Csv => Format::Csv,
        FormatArg::Jsonl => Format::Jsonl,
    };
    let points = PointWriter::new(out, format, options.emit == EmitMode::Updates).context("failed to write output")?;
    let late = match &args.late_output {
        Some(path) => Some(LateWriter::new(create(path)?).context("failed to write the late-output file")?),
        None => None,
    };
    let threads = match args.threads {
        Some(n) => usize::from(n),
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let mut output = Output::new(Files { points, late, job_names }, threads > 1)?;

    let inputs = if args.inputs.is_empty() { vec!["-".to_string()] } else { args.inputs.clone() };
    let mut counts = InputCounts::default();
    for path in &inputs {
        let display = if path == "-" { "<stdin>" } else { path.as_str() };
        let mut reader = InputReader::open(display, input::open(path)?, threads)?;
        while let Some(batch) = reader.next_batch(&mut names, &mut counts)? {
            let mut sink = RunSink { output: &mut output, names: &names };
            for &reading in batch {
                pipeline.push(reading, &mut sink);
            }
            output.check()?;
        }
    }
    pipeline.finish(&mut RunSink { output: &mut output, names: &names });
    output.finish()?;
    if !args.quiet {
        eprint!("{}", summary(&counts, &pipeline, &names, inputs.len()));
    }
    Ok(())
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
fn summary(counts: &InputCounts, pipeline: &Pipeline, names: &Names, inputs: usize) -> String {
    let mut s = format!(
        "meterflow: {} rows read from {inputs} input{} ({} missing values skipped, {} rows of points no job reads)\n",
        counts.rows,
        if inputs == 1 { "" } else { "s" },
        counts.missing,
        pipeline.unrouted()
    );
    for job in pipeline.stats() {
        s.push_str(&job_summary(job, names));
    }
    s
}

fn job_summary(job: &JobStats, names: &Names) -> String {
    let mut s = format!(
        "{} ({}): {} rows read, {} rows written, final watermark {}\n",
        job.name,
        job.file,
        job.rows_read,
        job.rows_written,
        timestamp_text(job.final_watermark)
    );
    for p in &job.policies {
        s.push_str(&format!(
            "  {}: {} valid ({} late accepted), {} out of threshold, {} late dropped, {} rows written\n",
            p.output, p.valid, p.late_accepted, p.out_of_threshold, p.late_dropped, p.rows_written
        ));
    }
    if job.future_skewed > 0 {
        s.push_str(&format!("  {} readings too far ahead of the watermark did not advance it\n", job.future_skewed));
    }
    if job.policies.is_empty() {
        let m = &job.merge;
        s.push_str(&format!(
            "  {} late dropped; no row for {} missing operand, {} evaluation error, {} non-finite, {} empty results\n",
            job.late_dropped, m.missing_operand, m.eval_error, m.non_finite, m.empty
        ));
        for sample in &m.samples {
            s.push_str(&format!("  no row for {} at {}: {}\n", names.assets.name(sample.asset), timestamp_text(sample.ts), sample.reason));
        }
    }
    s
}

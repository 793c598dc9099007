//! One invocation: turns parsed flags into a run (load jobs -> build the pipeline -> replay every
//! input -> write points and late rows -> summary), or into one of the tooling subcommands
//! (validate, test, explain, schema, plot, completions, man) and maps their outcome to a
//! [`Failure`].

use crate::cli::{Cli, Command, EmitArg, FormatArg, ManArgs, PlotArgs, ReportFormat, RunArgs, ScopeArg, TestArgs, ValidateArgs};
use crate::duration::{format_duration, parse_duration};
use crate::engine::stats::JobStats;
use crate::engine::watermark::NO_WATERMARK;
use crate::engine::{EmitMode, EngineOptions, WatermarkScope};
use crate::explain::explain;
use crate::input;
use crate::intern::Names;
use crate::job::pipeline::external_inputs;
use crate::job::unit_test::load_tests;
use crate::job::{Job, JobErrors, JobKind, Trigger, load_jobs};
use crate::output::{Format, LateWriter, PointWriter};
use crate::plot::{self, PlotData};
use crate::progress::Progress;
use crate::replay::{Replay, WriterOutput};
use crate::schema::job_schema_text;
use crate::test_runner::{check_jobs, run_tests};
use crate::time::{format_timestamp, parse_timestamp};
use anyhow::{Context, anyhow};
use clap::CommandFactory;
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
    /// Already reported on stdout (failed tests, `validate --format json`): exit with this code.
    Silent(u8),
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
        Command::Test(args) => test(args),
        Command::Explain(args) => {
            let jobs = load_jobs(&args.jobs).map_err(Failure::Jobs)?;
            print(&explain(&jobs))
        }
        Command::Schema => print(&job_schema_text()),
        Command::Completions(args) => {
            let mut out = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "meterflow", &mut out);
            print(&String::from_utf8_lossy(&out))
        }
        Command::Man(args) => man(args),
        Command::Plot(args) => plot(args),
    }
}

fn timestamp_arg(flag: &str, text: Option<&String>) -> Result<Option<i64>, Failure> {
    text.map(|t| parse_timestamp(t.trim().as_bytes()).map_err(|e| Failure::Usage(anyhow!("{flag}: invalid timestamp {t:?}: {e}")))).transpose()
}

fn plot(args: PlotArgs) -> Result<(), Failure> {
    let from = timestamp_arg("--from", args.from.as_ref())?;
    let to = timestamp_arg("--to", args.to.as_ref())?;
    let jobs = load_jobs(&args.jobs).map_err(Failure::Jobs)?;
    let mut data = PlotData::new(&args.asset, &jobs);
    let mut replay = Replay::new(jobs, EngineOptions::default());
    let inputs = if args.inputs.is_empty() { vec!["-".to_string()] } else { args.inputs.clone() };
    for path in &inputs {
        let display = if path == "-" { "<stdin>" } else { path.as_str() };
        replay.read(display, input::open(path)?, &mut data)?;
    }
    replay.finish(&mut data)?;
    let svg = plot::draw(data, from, to, (args.width, args.height))?;
    plot::write(&svg, &args.output)?;
    Ok(())
}

/// Writes `text` to stdout.
fn print(text: &str) -> Result<(), Failure> {
    io::stdout().lock().write_all(text.as_bytes()).context("failed to write to stdout")?;
    Ok(())
}

fn man(args: ManArgs) -> Result<(), Failure> {
    let mut command = Cli::command();
    command.build();
    let page = match &args.subcommand {
        None => command,
        Some(name) => {
            let Some(sub) = command.find_subcommand(name) else {
                let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).filter(|n| *n != "help").collect();
                return Err(Failure::Usage(anyhow!("no subcommand `{name}`; expected one of {}", names.join(", "))));
            };
            // The page of `meterflow run` is titled meterflow-run, as git and cargo name theirs.
            sub.clone().name(format!("meterflow-{name}"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out).context("failed to render the manual page")?;
    print(&String::from_utf8_lossy(&out))
}

fn test(args: TestArgs) -> Result<(), Failure> {
    let tests = load_tests(&args.paths).map_err(Failure::Jobs)?;
    if tests.is_empty() {
        let named: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Failure::Usage(anyhow!("no tests found in {}: write a `tests:` block in a job file or a <job>.test.yaml file", named.join(", "))));
    }
    check_jobs(&tests).map_err(Failure::Jobs)?;
    let (_, failed) = run_tests(&tests, &mut io::stdout().lock()).context("failed to write to stdout")?;
    if failed > 0 { Err(Failure::Silent(1)) } else { Ok(()) }
}

fn validate(args: ValidateArgs) -> Result<(), Failure> {
    if args.format == ReportFormat::Json {
        let problems = load_jobs(&args.jobs).err().map_or_else(Vec::new, |e| e.0);
        let json: Vec<serde_json::Value> = problems.iter().map(|d| d.to_json()).collect();
        let text = serde_json::to_string_pretty(&json).context("failed to encode the problems as JSON")?;
        writeln!(io::stdout().lock(), "{text}").context("failed to write to stdout")?;
        return if problems.is_empty() { Ok(()) } else { Err(Failure::Silent(2)) };
    }
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

fn create(path: &Path) -> anyhow::Result<Box<dyn Write>> {
    let file = File::create(path).with_context(|| format!("failed to create {}", path.display()))?;
    Ok(Box::new(BufWriter::with_capacity(1 << 16, file)))
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let options = engine_options(&args)?;
    let jobs = load_jobs(&args.jobs).map_err(Failure::Jobs)?;
    let mut replay = Replay::new(jobs, options);
    let out: Box<dyn Write> = match &args.output {
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
    let mut output = WriterOutput { points, late, job_names: replay.job_names() };

    let inputs = if args.inputs.is_empty() { vec!["-".to_string()] } else { args.inputs.clone() };
    let progress = Progress::new(args.progress, Progress::total_size(&inputs));
    for path in &inputs {
        let display = if path == "-" { "<stdin>" } else { path.as_str() };
        let read = replay.read(display, progress.watch(input::open(path)?), &mut output);
        if read.is_err() {
            progress.finish();
        }
        read?;
    }
    replay.finish(&mut output)?;
    output.flush()?;
    progress.finish();
    if !args.quiet {
        eprint!("{}", summary(&replay));
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
fn summary(replay: &Replay) -> String {
    let (counts, pipeline, names, inputs) = (&replay.counts, &replay.pipeline, &replay.names, replay.sources);
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

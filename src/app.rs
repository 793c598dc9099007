//! One invocation: turns parsed flags into a run (load jobs -> build the pipeline -> replay every
//! input -> write points and late rows -> summary), or into one of the tooling subcommands
//! (validate, test, explain, schema, plot, completions, man) and maps their outcome to a
//! [`Failure`].

use crate::cli::{
    Cli, Command, EmitArg, FormatArg, ManArgs, PlotArgs, ReportFormat, RunArgs, ScopeArg, TestArgs, ValidateArgs,
};
use crate::duration::{format_duration, parse_duration};
use crate::engine::accounting::Balance;
use crate::engine::stats::JobStats;
use crate::engine::watermark::NO_WATERMARK;
use crate::engine::{Dropped, EmitMode, EngineOptions, Point, WatermarkScope};
use crate::explain::explain;
use crate::input::{self, BadRowPolicy, BadRows, InputOptions};
use crate::intern::Names;
use crate::job::pipeline::external_inputs;
use crate::job::unit_test::load_tests;
use crate::job::{Job, JobErrors, JobKind, Trigger, WindowJob, WindowType, load_jobs};
use crate::output::{Format, LateWriter, PointWriter};
use crate::plot::{self, PlotData};
use crate::progress::Progress;
use crate::replay::{Output, Replay, WriterOutput};
use crate::schema::job_schema_text;
use crate::test_runner::{check_jobs, run_tests};
use crate::time::{format_timestamp, parse_timestamp};
use crate::write_thread::ThreadedOutput;
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
        if is_broken_pipe(&e) { Failure::BrokenPipe } else { Failure::Run(e) }
    }
}

/// Whether `e` comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe))
}

pub fn main(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Run(args) => run(*args),
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
    text.map(|t| {
        parse_timestamp(t.trim().as_bytes())
            .map_err(|e| Failure::Usage(anyhow!("{flag}: invalid timestamp {t:?}: {e}")))
    })
    .transpose()
}

fn plot(args: PlotArgs) -> Result<(), Failure> {
    let from = timestamp_arg("--from", args.from.as_ref())?;
    let to = timestamp_arg("--to", args.to.as_ref())?;
    let jobs = load_jobs(&args.jobs).map_err(Failure::Jobs)?;
    let mut data = PlotData::new(&args.asset, &jobs);
    let mut replay = Replay::long_format(jobs, EngineOptions::default())?;
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
                let names: Vec<&str> =
                    command.get_subcommands().map(|c| c.get_name()).filter(|n| *n != "help").collect();
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
        return Err(Failure::Usage(anyhow!(
            "no tests found in {}: write a `tests:` block in a job file or a <job>.test.yaml file",
            named.join(", ")
        )));
    }
    check_jobs(&tests).map_err(Failure::Jobs)?;
    let (_, failed) = run_tests(&tests, &mut io::stdout().lock()).context("failed to write to stdout")?;
    if failed > 0 { Err(Failure::Silent(1)) } else { Ok(()) }
}

fn validate(args: ValidateArgs) -> Result<(), Failure> {
    if args.format == ReportFormat::Json {
        let (problems, warnings) = match load_jobs(&args.jobs) {
            Ok(jobs) => (Vec::new(), jobs.into_iter().flat_map(|j| j.warnings).collect()),
            Err(e) => (e.0, Vec::new()),
        };
        let json: Vec<serde_json::Value> =
            problems.iter().map(|d| d.to_json()).chain(warnings.iter().map(|d| d.to_json_as("warning"))).collect();
        let text = serde_json::to_string_pretty(&json).context("failed to encode the problems as JSON")?;
        writeln!(io::stdout().lock(), "{text}").context("failed to write to stdout")?;
        return if problems.is_empty() { Ok(()) } else { Err(Failure::Silent(2)) };
    }
    let jobs = load_jobs(&args.jobs).map_err(Failure::Jobs)?;
    let mut out = io::stdout().lock();
    let write =
        |out: &mut io::StdoutLock<'_>, text: String| writeln!(out, "{text}").context("failed to write to stdout");
    for job in &jobs {
        write(&mut out, format!("{}: ok: {}", job.file, describe(job)))?;
        for warning in &job.warnings {
            eprint!("{}", warning.as_warning());
        }
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
    format!(
        "{} ({template}, model {}, {detail}): {} -> {}",
        job.name,
        job.model,
        job.inputs().join(", "),
        job.outputs().join(", ")
    )
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
        max_open_windows: args.max_open_windows,
    })
}

fn create(path: &Path) -> anyhow::Result<Box<dyn Write + Send>> {
    let file = File::create(path).with_context(|| format!("failed to create {}", path.display()))?;
    Ok(Box::new(BufWriter::with_capacity(1 << 16, file)))
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
    let rejects = match &args.input.rejects {
        Some(path) => Some(create(path)? as Box<dyn Write>),
        None => None,
    };
    let bad_rows = BadRows::new(input_options.on_bad_row, rejects)?;
    let sorted = input_options.sort;
    let threads = match args.threads {
        Some(n) => usize::from(n),
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let mut replay = Replay::new(jobs, options, input_options, bad_rows).with_threads(threads);
    let files = WriterOutput { points, late, job_names: replay.job_names() };
    // With more than one thread the output is formatted and written on a thread of its own.
    let mut output =
        if threads > 1 { RunOutput::Threaded(ThreadedOutput::start(files)?) } else { RunOutput::Direct(files) };
    let progress = Progress::new(args.progress, Progress::total_size(&inputs));
    let replayed = sources
        .into_iter()
        .try_for_each(|(display, source)| replay.read(&display, progress.watch(source), &mut output))
        .and_then(|()| replay.finish(&mut output));
    let written = output.finish();
    progress.finish();
    if let Err(e) = replayed {
        // The rows made before the error are written first. If their reader has gone (`| head`),
        // that is the outcome, whichever came first: with a writer thread, rows reach the pipe in
        // batches, later than the error may stop the run.
        return Err(match written {
            Err(closed) if is_broken_pipe(&closed) => Failure::BrokenPipe,
            _ => Failure::from(e),
        });
    }
    written?;
    if !args.quiet {
        eprint!("{}", summary(&replay, &args));
    }
    if !sorted {
        if let Some(warning) = late_warning(&replay.pipeline.stats()) {
            eprintln!("{warning}");
        }
    }
    if let Some(path) = &args.stats_json {
        write_stats_json(path, &replay)?;
    }
    match accounting_error(&replay.balances()) {
        Some(e) => Err(Failure::Run(e)),
        None => Ok(()),
    }
}

/// Where `run` writes: on this thread, or on a writer thread.
enum RunOutput {
    Direct(WriterOutput),
    Threaded(ThreadedOutput),
}

impl Output for RunOutput {
    fn point(&mut self, point: &Point, names: &Names) -> io::Result<()> {
        match self {
            RunOutput::Direct(files) => files.point(point, names),
            RunOutput::Threaded(thread) => thread.point(point, names),
        }
    }

    fn dropped(&mut self, dropped: &Dropped, names: &Names) -> io::Result<()> {
        match self {
            RunOutput::Direct(files) => files.dropped(dropped, names),
            RunOutput::Threaded(thread) => thread.dropped(dropped, names),
        }
    }
}

impl RunOutput {
    /// Writes what is left and flushes the files.
    fn finish(self) -> anyhow::Result<()> {
        match self {
            RunOutput::Direct(mut files) => files.flush(),
            RunOutput::Threaded(thread) => thread.finish(),
        }
    }
}

/// The internal error of a run whose row accounting does not balance, or `None` when it does.
fn accounting_error(balances: &[Balance]) -> Option<anyhow::Error> {
    let broken: Vec<String> = balances.iter().filter(|b| !b.holds()).map(Balance::describe).collect();
    (!broken.is_empty()).then(|| {
        anyhow!(
            "internal error: the row accounting does not balance, so rows may have been lost: {}; \
             this is a bug in meterflow, please report it with the job files and input",
            broken.join("; ")
        )
    })
}

/// Share of the readings jobs receive that, dropped as late, earns a hint about `--sort-input`.
const LATE_WARNING_SHARE: f64 = 0.05;

/// A hint when many readings were dropped as late: the input is probably not in time order.
fn late_warning(jobs: &[&JobStats]) -> Option<String> {
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
fn summary(replay: &Replay, args: &RunArgs) -> String {
    let (counts, bad_rows, inputs) = (&replay.counts, &replay.bad_rows, replay.sources);
    let skipped = match bad_rows.policy() {
        BadRowPolicy::Skip => format!("{} bad rows skipped, ", counts.rejected),
        BadRowPolicy::Fail => String::new(),
    };
    let mut s = format!(
        "meterflow: {} rows read from {inputs} input{} ({} missing values skipped, {skipped}{} rows of points or models no job reads)\n",
        counts.rows,
        if inputs == 1 { "" } else { "s" },
        counts.missing,
        replay.pipeline.unrouted()
    );
    if let Some(first) = &bad_rows.first {
        let all = match &args.input.rejects {
            Some(path) => format!("all are in {}", path.display()),
            None => "--rejects FILE records them all".to_string(),
        };
        s.push_str(&format!("  first bad row: {first} ({all})\n"));
    }
    for job in replay.pipeline.stats() {
        s.push_str(&job_summary(job, &replay.names));
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
        if p.non_finite > 0 {
            s.push_str(&format!(
                "  {}: {} windows wrote no row: their value overflowed the float range\n",
                p.output, p.non_finite
            ));
        }
        if p.interpolated > 0 {
            s.push_str(&format!(
                "  {}: {} out-of-threshold readings replaced by the last valid value\n",
                p.output, p.interpolated
            ));
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
            s.push_str(&format!(
                "  no row for {} at {}: {}\n",
                names.assets.name(sample.asset),
                timestamp_text(sample.ts),
                sample.reason
            ));
        }
    }
    s
}

/// The figures of the summary as JSON, for CI.
fn stats_json(replay: &Replay) -> serde_json::Value {
    let (counts, names) = (&replay.counts, &replay.names);
    use serde_json::json;
    let balances = replay.balances();
    let balance_json: Vec<_> = balances
        .iter()
        .map(|b| {
            let parts: serde_json::Map<String, serde_json::Value> =
                b.parts.iter().map(|(name, n)| (name.clone(), json!(n))).collect();
            json!({"scope": b.scope, "equation": b.equation(), "total": b.total.1, "parts": parts, "holds": b.holds()})
        })
        .collect();
    let watermark = |ms: i64| if ms == NO_WATERMARK { serde_json::Value::Null } else { json!(timestamp_text(ms)) };
    let jobs: Vec<_> = replay
        .pipeline
        .stats()
        .into_iter()
        .map(|job| {
            let policies: Vec<_> = job
                .policies
                .iter()
                .map(|p| {
                    json!({
                        "input": p.input,
                        "output": p.output,
                        "read": p.read,
                        "valid": p.valid,
                        "out_of_threshold": p.out_of_threshold,
                        "interpolated": p.interpolated,
                        "late_accepted": p.late_accepted,
                        "late_dropped": p.late_dropped,
                        "partially_late": p.partially_late,
                        "rows_written": p.rows_written,
                        "non_finite": p.non_finite,
                    })
                })
                .collect();
            let m = &job.merge;
            let samples: Vec<_> = m
                .samples
                .iter()
                .map(|s| json!({"asset": names.assets.name(s.asset), "timestamp": timestamp_text(s.ts), "reason": s.reason}))
                .collect();
            json!({
                "name": job.name,
                "file": job.file,
                "rows_read": job.rows_read,
                "kept": job.kept,
                "rows_written": job.rows_written,
                "late_dropped": job.late_dropped,
                "partially_late": job.partially_late,
                "future_skewed": job.future_skewed,
                "peak_open_windows": job.peak_open_windows,
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
            "rows": counts.rows,
            "missing_values": counts.missing,
            "rejected": counts.rejected,
            "rows_of_unread_points": replay.pipeline.unrouted(),
        },
        "jobs": jobs,
        "accounting": {"balanced": balances.iter().all(Balance::holds), "balances": balance_json},
    })
}

fn write_stats_json(path: &Path, replay: &Replay) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(&stats_json(replay)).context("failed to encode the figures")?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("failed to write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unbalanced_accounting_is_an_internal_error_naming_the_equation() {
        let part = |name: &str, n: u64| (name.to_string(), n);
        let holds = Balance {
            scope: "input rows".into(),
            total: part("rows", 3),
            parts: vec![part("rows read whole", 3), part("rejected rows", 0)],
        };
        assert!(accounting_error(std::slice::from_ref(&holds)).is_none());
        let broken = Balance {
            scope: "job w".into(),
            total: part("rows read", 5),
            parts: vec![part("kept", 3), part("late dropped", 1)],
        };
        let error = accounting_error(&[holds, broken]).expect("an error");
        assert_eq!(
            error.to_string(),
            "internal error: the row accounting does not balance, so rows may have been lost: job w: 5 rows read = 3 kept + 1 late dropped; \
             this is a bug in meterflow, please report it with the job files and input"
        );
    }
}

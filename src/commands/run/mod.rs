//! `meterflow run`: load jobs, open every input, replay them through the pipeline, write points
//! and late rows (on this thread or a writer thread), then the summary, warnings and figures.

mod database;
mod files;
pub mod progress;
pub mod report;
pub mod signals;

use super::warnings::Warnings;
use super::{input_paths, input_settings};
use crate::cli::RunArgs;
use crate::commands::failure::{Failure, is_broken_pipe};
use crate::commands::run::progress::Progress;
use crate::commands::run::report::{
    accounting_error, late_warning, silent_job_warnings, state_note, stopped_note, summary, unseen_point_warnings,
    write_stats_json,
};
use crate::engine::names::Names;
use crate::engine::{Dropped, EmitMode, EngineOptions, Point, WatermarkScope};
use crate::input::{self, BadRows, InputOptions};
use crate::job::load_jobs;
use crate::output::LateWriter;
use crate::output::live::LiveOutputs;
use crate::output::threaded::ThreadedOutput;
use crate::output::{PointSink, PointWriter};
use crate::replay::state::session::{Refusal, StateRun, StreamDigest};
use crate::replay::{Output, Replay, WriterOutput};
use crate::time::duration::parse_duration;
use anyhow::{Context, anyhow};
use database::{Committed, database_output};
use files::RunFiles;
use std::io::{self, Write};
use std::path::Path;

pub fn run(args: RunArgs) -> Result<(), Failure> {
    let options = args.engine_options().map_err(Failure::Usage)?;
    let input_settings = input_settings(&args.input)?;
    let input_options = InputOptions::from_settings(&input_settings).map_err(Failure::Usage)?;
    let idle_timeout = idle_timeout(&args, &options, input_options.sort)?;
    input::rejects::check_limit(input_options.on_bad_row, args.max_bad_rows).map_err(Failure::Usage)?;
    let jobs = load_jobs(&args.jobs).map_err(Failure::Jobs)?;
    // Job-file warnings are `validate`'s to show, unless they are errors: then before any input is read.
    let mut warnings = Warnings::new(args.strict);
    if warnings.strict() {
        warnings.jobs(&jobs);
        warnings.finish(Failure::Run)?;
    }
    let (mut state, resume) = match &args.state {
        Some(path) => {
            if input_options.sort {
                return Err(Failure::Usage(anyhow!(
                    "--sort-input cannot be used with --state: each run would sort only its own input, so the result \
                     would depend on where the input was cut; sort the input files beforehand"
                )));
            }
            let (state, resume) =
                StateRun::open(path, args.finish, args.allow_repeated_input, &jobs, &options).map_err(refused)?;
            (Some(state), resume)
        }
        None => (None, None),
    };
    let stop = input_options.stop.clone();
    signals::install(&stop).context("failed to install the signal handlers")?;
    // Every input is opened before any output is written, so a typo leaves no partial files.
    let inputs = input_paths(&args.inputs);
    let live_inputs: Vec<(String, bool)> =
        inputs.iter().map(|(path, _)| (path.clone(), input::live::is_live(path))).collect();
    if let Some(state) = state.as_mut() {
        state.check_files(&live_inputs).map_err(refused)?;
    }
    let is_live = live_inputs.iter().any(|(_, live)| *live);
    // On files, wall-clock time says how fast the replay runs, not how long a meter was silent:
    // advances from it would change results at random.
    if idle_timeout.is_some() && !is_live {
        return Err(Failure::Usage(anyhow!(
            "--idle-timeout applies to live input (a pipe, FIFO, terminal or socket); every input here is a regular file, \
             whose event time alone decides when windows close"
        )));
    }
    let mut outputs =
        RunFiles::check(&inputs, &args, input_settings.rejects.as_deref(), is_live).map_err(Failure::Usage)?;
    let mut sources = Vec::new();
    let mut streamed = Vec::new();
    for ((path, display), (_, live)) in inputs.iter().zip(&live_inputs) {
        let mut source = input::open_watched(path, &input_options.idle, &input_options.stop)?;
        // A stream cannot be read twice, so the state learns its content as it is read.
        if state.is_some() && (*live || path == "-") {
            let digest = StreamDigest::default();
            source = digest.watch(source);
            streamed.push((display.clone(), digest));
        }
        sources.push((display.clone(), source));
    }
    // On a live input the outputs are flushed whenever the input waits (see `live_output`).
    let mut live = is_live.then(LiveOutputs::default);
    // A database output is connected to, and its table checked, before any file is created.
    let database = database_output(&args)?;
    let committed = database.as_ref().map(Committed::of);
    let database = database.map(|sink| -> Box<dyn PointSink> {
        match live.as_mut() {
            Some(live) => live.share_points(Box::new(sink)),
            None => Box::new(sink),
        }
    });
    let points: Box<dyn PointSink> = match database {
        Some(points) => points,
        None => {
            let out = outputs.create("-o", args.output.as_deref().unwrap_or(Path::new("-")))?;
            let points = PointWriter::new(out, args.format.into(), options.emit == EmitMode::Updates)
                .context("failed to write output")?;
            let points = Box::new(points.with_decimals(args.decimals));
            // Shared as a point sink, not as a file: the writer holds formatted rows of its own.
            match live.as_mut() {
                Some(live) => live.share_points(points),
                None => points,
            }
        }
    };
    let mut share = |out| match live.as_mut() {
        Some(live) => live.share(out),
        None => out,
    };
    let late = match &args.late_output {
        Some(path) => Some(
            LateWriter::with_format(share(outputs.create("--late-output", path)?), args.format.into())
                .context("failed to write the late-output file")?,
        ),
        None => None,
    };
    let rejects = match &input_settings.rejects {
        Some(path) => Some(outputs.create("--rejects", path)? as Box<dyn Write>),
        None => None,
    };
    let bad_rows = BadRows::new(input_options.on_bad_row, rejects)?.with_limit(args.max_bad_rows);
    let sorted = input_options.sort;
    let idle = input_options.idle.clone();
    let threads = match args.threads {
        Some(n) => usize::from(n),
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let mut replay = match (resume, args.state.as_deref()) {
        (Some(resume), Some(path)) => {
            resume.into_replay(jobs, options, input_options, bad_rows, path).map_err(refused)?
        }
        _ => Replay::new(jobs, options, input_options, bad_rows),
    }
    .with_threads(threads)
    .with_idle_timeout(idle_timeout);
    // Without --finish, a run with a state leaves open what it has not finished for the next run.
    let ends_stream = state.as_ref().is_none_or(StateRun::finishes);
    let files = WriterOutput { points, late, job_names: replay.job_names() };
    // With more than one thread the output is formatted and written on a thread of its own, unless
    // the input is live: rows batched for that thread would wait there while the input waits.
    let mut output = match live {
        Some(live) => {
            live.flush_when_idle(&idle);
            RunOutput::Direct(files)
        }
        None if threads > 1 => RunOutput::Threaded(ThreadedOutput::start(files)?),
        None => RunOutput::Direct(files),
    };
    let paths: Vec<String> = inputs.into_iter().map(|(path, _)| path).collect();
    let progress = Progress::new(args.progress.into(), Progress::total_size(&paths));
    let replayed = sources
        .into_iter()
        .try_for_each(|(display, source)| {
            if stop.requested() {
                return Ok(());
            }
            replay.read(&display, progress.watch(source), &mut output)
        })
        .and_then(|()| if ends_stream { replay.finish(&mut output) } else { replay.suspend() });
    let written = output.finish();
    progress.finish();
    if let Err(e) = replayed {
        // The rows made before the error are written first. If their reader has gone (`| head`),
        // that is the outcome, whichever came first: with a writer thread, rows reach the pipe in
        // batches, later than the error may stop the run.
        return Err(outputs.abandon(match written {
            Err(closed) if is_broken_pipe(&closed) => Failure::BrokenPipe,
            _ => Failure::from(e),
        }));
    }
    if let Err(e) = written {
        return Err(outputs.abandon(Failure::from(e)));
    }
    if let Some(state) = state.as_mut() {
        for (name, digest) in &streamed {
            state.check_streamed(name, digest).map_err(|refusal| {
                let failure = refused(refusal);
                eprintln!(
                    "meterflow: the state was not saved; the output of this run repeats readings already counted"
                );
                outputs.abandon(failure)
            })?;
        }
        if let Some(name) = &replay.stopped_in {
            state.stopped_in(name);
        }
    }
    if !args.quiet {
        eprint!("{}", summary(&replay, input_settings.rejects.as_deref()));
        if let Some(committed) = &committed {
            eprintln!("{}", committed.line());
        }
    }
    if let Some(warning) = replay.bad_rows.warning(&replay.counts) {
        warnings.say(&warning);
    }
    if !sorted && let Some(warning) = late_warning(&replay.pipeline.stats(), replay.pipeline.late_far_behind()) {
        warnings.say(&warning);
    }
    // Said even with -q, like the late-data warning: a run that exits 0 without the rows the user
    // expects must say why. A stream left open in a state has not written its rows yet.
    for warning in unseen_point_warnings(&replay) {
        warnings.say(&warning);
    }
    if ends_stream {
        for warning in silent_job_warnings(&replay) {
            warnings.say(&warning);
        }
    }
    if let Some(state) = state.as_ref().filter(|_| !args.quiet) {
        eprintln!("{}", state_note(state, &replay));
    }
    if let Some(path) = &args.stats_json {
        write_stats_json(outputs.create("--stats-json", path)?, path, &replay)?;
    }
    outputs.commit()?;
    // Saved last: a run killed after the outputs took their names leaves the previous state, and
    // replaying the same input writes the same outputs again; the other way round it would leave
    // a state ahead of outputs still named `.partial`.
    if let Some(state) = &state {
        state.save(&replay)?;
    }
    if let Some(e) = accounting_error(&replay.balances()) {
        return Err(Failure::Run(e));
    }
    match stop.signal() {
        // Said even with -q: the run did not read all its input, which its exit status also says.
        Some(signal) => {
            eprintln!("{}", stopped_note(signal, &replay, state.as_ref()));
            Err(Failure::Silent(signals::exit_status(signal)))
        }
        None => warnings.finish(Failure::Run),
    }
}

/// `--idle-timeout` in ms, checked against the options it cannot work with.
fn idle_timeout(args: &RunArgs, options: &EngineOptions, sorted: bool) -> Result<Option<i64>, Failure> {
    let Some(text) = &args.idle_timeout else { return Ok(None) };
    let ms = parse_duration(text).map_err(|e| Failure::Usage(anyhow!("--idle-timeout: {e}")))?;
    if options.watermark != WatermarkScope::Series {
        return Err(Failure::Usage(anyhow!(
            "--idle-timeout works with --watermark series only: a shared watermark moves with every series that \
             still sends, so one silent series must not move it"
        )));
    }
    if sorted {
        return Err(Failure::Usage(anyhow!(
            "--idle-timeout cannot be used with --sort-input: sorted readings are replayed after the input ends, when \
             wall-clock time says nothing about them"
        )));
    }
    Ok(Some(ms))
}

/// A state file refused: a usage error, or damage found in it.
fn refused(refusal: Refusal) -> Failure {
    match refusal {
        Refusal::Usage(e) => Failure::Usage(e),
        Refusal::Damaged(e) => Failure::Run(e),
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

//! `meterflow run`: load jobs, open every input and output, replay the inputs through the
//! pipeline, then the summary, warnings and figures, the outputs' final names and the state.
//! The settings arrive checked (every usage error is found before this runs); what is left to
//! fail here is data, I/O and the state file.

mod anomalies;
#[cfg(feature = "database")]
pub mod database;
pub mod files;
mod outputs;
pub mod progress;
pub mod report;
pub mod signals;

use super::warnings::Warnings;
use super::{Failure, InputPath, is_broken_pipe};
use crate::engine::EngineOptions;
use crate::input::{self, BadRows, InputOptions};
use crate::job::{Job, load_jobs};
use crate::output::Format;
use crate::replay::Replay;
use crate::replay::state::session::{Refusal, Resume, StateRun, StreamDigest};
use anomalies::series_warnings;
use anyhow::Context;
use files::RunFiles;
use outputs::Outputs;
use progress::{Progress, ProgressMode};
use report::{
    accounting_error, late_warning, silent_job_warnings, state_note, stopped_note, summary, unseen_point_warnings,
    write_stats_json,
};
use std::io::Read;
use std::path::PathBuf;

/// Everything a run needs, resolved and checked from the command line.
pub struct Settings {
    pub jobs: Vec<PathBuf>,
    pub inputs: Vec<InputPath>,
    pub input: InputOptions,
    /// `--rejects`: where skipped bad rows are recorded.
    pub rejects: Option<PathBuf>,
    pub max_bad_rows: Option<u64>,
    pub engine: EngineOptions,
    pub outputs: OutputSettings,
    pub state: Option<StateSettings>,
    /// `--idle-timeout` in ms (live input, series watermarks only).
    pub idle_timeout: Option<i64>,
    /// Threads parsing input (1: everything on one thread).
    pub threads: usize,
    pub strict: bool,
    pub quiet: bool,
    pub progress: ProgressMode,
}

/// Where a run writes.
pub struct OutputSettings {
    pub points: PointsTo,
    pub format: Format,
    pub decimals: Option<u8>,
    pub late: Option<PathBuf>,
    pub stats_json: Option<PathBuf>,
}

/// The destination of output points.
pub enum PointsTo {
    /// A file, or stdout for `-`.
    File(PathBuf),
    #[cfg(feature = "database")]
    Database(database::DatabaseSettings),
}

/// `--state` and the flags that go with it.
pub struct StateSettings {
    pub path: PathBuf,
    pub finish: bool,
    pub allow_repeated_input: bool,
}

pub fn run(settings: Settings) -> Result<(), Failure> {
    let s = &settings;
    let jobs = load_jobs(&s.jobs).map_err(Failure::Jobs)?;
    // Job-file warnings are `validate`'s to show, unless they are errors: then before any input is read.
    let mut warnings = Warnings::new(s.strict);
    if warnings.strict() {
        warnings.jobs(&jobs);
        warnings.finish(Failure::Run)?;
    }
    let (mut state, resume) = open_state(s, &jobs)?;
    signals::install(&s.input.stop).context("failed to install the signal handlers")?;
    let (sources, streamed) = open_sources(s, state.is_some())?;
    let live = s.inputs.iter().any(|i| i.live);
    let mut files = RunFiles::new(live, s.outputs.stats_json.clone());
    let mut outputs = Outputs::open(s, &mut files, &mut warnings)?;
    let bad_rows = BadRows::new(s.input.on_bad_row, outputs.take_rejects())?.with_limit(s.max_bad_rows);
    let mut replay = build_replay(s, jobs, bad_rows, resume)?;
    // Without --finish, a run with a state leaves open what it has not finished for the next run.
    let ends_stream = state.as_ref().is_none_or(StateRun::finishes);
    let (mut output, committed) = outputs.start(s, &replay.names)?;
    let paths: Vec<String> = s.inputs.iter().map(|i| i.path.clone()).collect();
    let progress = Progress::new(s.progress, Progress::total_size(&paths));
    let replayed = sources
        .into_iter()
        .try_for_each(|(name, source)| {
            if s.input.stop.requested() {
                return Ok(());
            }
            replay.read(&name, progress.watch(source), &mut output)
        })
        .and_then(|()| if ends_stream { replay.finish(&mut output) } else { replay.suspend() });
    let written = output.flush().context("failed to write output");
    drop(output);
    progress.finish();
    if let Err(e) = replayed {
        // The rows made before the error are written first. If their reader has gone (`| head`),
        // that is the outcome, whichever came first: with a writer thread, rows reach the pipe in
        // batches, later than the error may stop the run.
        return Err(files.abandon(match written {
            Err(closed) if is_broken_pipe(&closed) => Failure::BrokenPipe,
            _ => Failure::from(e),
        }));
    }
    if let Err(e) = written {
        return Err(files.abandon(Failure::from(e)));
    }
    if let Some(state) = state.as_mut() {
        for (name, digest) in &streamed {
            state.check_streamed(name, digest).map_err(|refusal| {
                eprintln!(
                    "meterflow: the state was not saved; the output of this run repeats readings already counted"
                );
                files.abandon(refused(refusal))
            })?;
        }
        if let Some(name) = &replay.stopped_in {
            state.stopped_in(name);
        }
    }
    if !s.quiet {
        eprint!("{}", summary(&replay, s.rejects.as_deref()));
        if let Some(line) = committed.line() {
            eprintln!("{line}");
        }
    }
    say_warnings(&replay, s, ends_stream, &mut warnings);
    if let Some(state) = state.as_ref().filter(|_| !s.quiet) {
        eprintln!("{}", state_note(state, &replay));
    }
    if let Some(path) = &s.outputs.stats_json {
        write_stats_json(files.create("--stats-json", path)?, path, &replay)?;
    }
    files.commit()?;
    // Saved last: a run killed after the outputs took their names leaves the previous state, and
    // replaying the same input writes the same outputs again; the other way round it would leave
    // a state ahead of outputs still named `.partial`.
    if let Some(state) = &state {
        state.save(&replay)?;
    }
    if let Some(e) = accounting_error(&replay.balances()) {
        return Err(Failure::Run(e));
    }
    match s.input.stop.signal() {
        // Said even with -q: the run did not read all its input, which its exit status also says.
        Some(signal) => {
            eprintln!("{}", stopped_note(signal, &replay, state.as_ref()));
            Err(Failure::Silent(signals::exit_status(signal)))
        }
        None => warnings.finish(Failure::Run),
    }
}

/// The state file of `--state`, checked against the jobs and options, and what it resumes from.
fn open_state(s: &Settings, jobs: &[Job]) -> Result<(Option<StateRun>, Option<Resume>), Failure> {
    let Some(settings) = &s.state else { return Ok((None, None)) };
    let (mut state, resume) =
        StateRun::open(&settings.path, settings.finish, settings.allow_repeated_input, jobs, &s.engine)
            .map_err(refused)?;
    let kinds: Vec<(String, bool)> = s.inputs.iter().map(|i| (i.path.clone(), i.live)).collect();
    state.check_files(&kinds).map_err(refused)?;
    Ok((Some(state), resume))
}

/// Every input opened (before any output is created, so a typo leaves no partial files), each
/// with its name in messages; under a state, the digests of the streams as they are read.
type Sources = Vec<(String, Box<dyn Read + Send>)>;

fn open_sources(s: &Settings, with_state: bool) -> Result<(Sources, Vec<(String, StreamDigest)>), Failure> {
    let mut sources = Vec::new();
    let mut streamed = Vec::new();
    for input in &s.inputs {
        let mut source = input::open_watched(&input.path, &s.input.idle, &s.input.stop)?;
        // A stream cannot be read twice, so the state learns its content as it is read.
        if with_state && (input.live || input.path == "-") {
            let digest = StreamDigest::default();
            source = digest.watch(source);
            streamed.push((input.name.clone(), digest));
        }
        sources.push((input.name.clone(), source));
    }
    Ok((sources, streamed))
}

/// The replay of `jobs`: resumed from the state, or new.
fn build_replay(s: &Settings, jobs: Vec<Job>, bad_rows: BadRows, resume: Option<Resume>) -> Result<Replay, Failure> {
    let input = s.input.clone();
    let replay = match (resume, &s.state) {
        (Some(resume), Some(state)) => {
            resume.into_replay(jobs, s.engine, input, bad_rows, &state.path).map_err(refused)?
        }
        _ => Replay::new(jobs, s.engine, input, bad_rows),
    };
    Ok(replay.with_threads(s.threads).with_idle_timeout(s.idle_timeout))
}

/// The warnings of a finished replay, said even with `-q`: a run that exits 0 without the rows
/// the user expects must say why.
fn say_warnings(replay: &Replay, s: &Settings, ends_stream: bool, warnings: &mut Warnings) {
    if let Some(warning) = replay.bad_rows.warning(&replay.counts) {
        warnings.say(&warning);
    }
    if !s.input.sort
        && let Some(warning) = late_warning(&replay.pipeline.stats(), replay.pipeline.late_far_behind())
    {
        warnings.say(&warning);
    }
    for warning in unseen_point_warnings(replay) {
        warnings.say(&warning);
    }
    for warning in series_warnings(replay.pipeline.series(), &replay.names) {
        warnings.say(&warning);
    }
    // A stream left open in a state has not written its rows yet.
    if ends_stream {
        for warning in silent_job_warnings(replay) {
            warnings.say(&warning);
        }
    }
}

/// A state file refused: a usage error, or damage found in it.
fn refused(refusal: Refusal) -> Failure {
    match refusal {
        Refusal::Usage(e) => Failure::Usage(e),
        Refusal::Damaged(e) => Failure::Run(e),
    }
}

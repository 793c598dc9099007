//! `meterflow run`: load jobs, open every input and output, replay the inputs through the
//! pipeline, then the summary, warnings and figures, the outputs' final names and the state.
//! The settings arrive checked (every usage error is found before this runs); what is left to
//! fail here is data, I/O and the state file. How a run ends, and what each ending leaves of its
//! outputs and state, is `ending`'s.

mod anomalies;
#[cfg(feature = "database")]
pub mod database;
mod ending;
pub mod files;
mod outputs;
pub mod progress;
pub mod repeats;
pub mod report;
mod settings;
pub mod signals;
mod stats_json;
mod unseen;

pub use settings::{OutputSettings, PointsTo, Settings, StateSettings};

use super::Failure;
use super::stderr::say;
use super::warnings::Warnings;
use crate::input::{self, BadRows};
use crate::job::{Job, JobSources, load_jobs_and_sources};
use crate::output::Output;
use crate::replay::Replay;
use crate::replay::state::session::{Refusal, Resume, StateRun, StreamDigest};
use anyhow::Context;
use ending::Ending;
use files::RunFiles;
use outputs::Outputs;
use progress::Progress;
use std::io::IsTerminal;

pub fn run(settings: Settings) -> Result<(), Failure> {
    let s = &settings;
    // First of all: from here on a signal ends the input, whatever the run is doing.
    let on_second = signals::install(&s.input.stop).context("failed to install the signal handlers")?;
    let (jobs, job_sources) = load_jobs_and_sources(&s.jobs).map_err(Failure::Jobs)?;
    // Job-file warnings are `validate`'s to show, unless they are errors: then before any input is read.
    let mut warnings = Warnings::new(s.strict);
    if warnings.strict() {
        warnings.jobs(&jobs);
        warnings.finish(Failure::Run)?;
    }
    let (state, resume) = open_state(s, &jobs)?;
    let (sources, streamed, reread) = open_sources(s, state.is_some())?;
    let live = s.inputs.iter().any(|i| i.live);
    let mut files = RunFiles::new(live, s.outputs.stats_json.clone(), s.state.as_ref().map(|st| st.path.clone()));
    let abandoned = files.clone();
    on_second.set(move |why| abandoned.leave_incomplete(false).map(|left| say_abandoned(why, &left)).is_some());
    // From here on output files exist: a run that fails before reading says which it leaves.
    let mut outputs = Outputs::open(s, &mut files, &mut warnings).map_err(|e| files.abandon_created(e))?;
    let bad_rows = BadRows::new(s.input.on_bad_row, outputs.take_rejects())
        .map_err(|e| files.abandon_created(Failure::from(e)))?
        .with_limit(s.max_bad_rows);
    let mut replay = build_replay(s, (jobs, &job_sources), bad_rows, resume).map_err(|e| files.abandon_created(e))?;
    let (mut output, committed) = outputs.start(s, &replay.names).map_err(|e| files.abandon_created(e))?;
    let paths: Vec<String> = s.inputs.iter().map(|i| i.path.clone()).collect();
    let progress = Progress::new(s.progress, Progress::total_size(&paths));
    let read = read_sources(&mut replay, sources, &progress, output.as_mut());
    // Without --finish, a run with a state leaves open what it has not finished for the next run,
    // and so does a run a signal stopped: the rest of its input is still to come.
    let ends_stream = state.as_ref().is_none_or(StateRun::finishes) && !(state.is_some() && read.stopped);
    let replayed = read.result.and_then(|()| if ends_stream { replay.finish(&mut output) } else { replay.suspend() });
    let written = output.flush().context("failed to write output");
    drop(output);
    progress.finish();
    let ending = Ending { settings: s, files, state, replay, streamed, reread, unread: read.unread, ends_stream };
    ending.end(replayed, written, &committed, warnings)
}

/// Says that a second signal abandoned the run (`why`), leaving `left`.
fn say_abandoned(why: &str, left: &str) {
    match left {
        "" => say(format_args!("meterflow: {why}, so its output is not complete")),
        left => say(format_args!("meterflow: {why}, so {left}")),
    }
}

/// What reading the sources came to: the replay's outcome, whether a stop ended the input, and
/// the inputs it left unread.
struct Read {
    result: anyhow::Result<()>,
    stopped: bool,
    unread: Vec<String>,
}

/// Reads each source in turn until one fails or a stop ends the input.
fn read_sources(replay: &mut Replay, sources: Sources, progress: &Progress, output: &mut dyn Output) -> Read {
    let mut unread = Vec::new();
    let mut result = Ok(());
    for (name, source) in sources {
        if replay.stopped_in.is_some() || result.is_err() {
            unread.push(name);
        } else if replay.stop_requested() {
            replay.stop_before(&name);
        } else {
            result = replay.read(&name, progress.watch(source), output);
        }
    }
    Read { result, stopped: replay.stopped_in.is_some(), unread }
}

/// The state file of `--state`, locked and checked against the jobs and options, and what it
/// resumes from.
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
/// with its name in messages; under a state, the digests of the streams and (path, name, digest)
/// of the files as they are read. An open that a stop ended (a FIFO waiting for its writer) gives
/// a source the replay sees stopped.
type Sources = Vec<(String, Box<dyn std::io::Read + Send>)>;
type Streamed = Vec<(String, StreamDigest)>;
type Reread = Vec<(String, String, StreamDigest)>;

fn open_sources(s: &Settings, with_state: bool) -> Result<(Sources, Streamed, Reread), Failure> {
    let mut sources = Vec::new();
    let mut streamed = Vec::new();
    let mut reread = Vec::new();
    for input in &s.inputs {
        // Said even with -q: without it a run started in a terminal waits without a word.
        if input.path == "-" && std::io::stdin().is_terminal() {
            say(format_args!(
                "meterflow: reading input rows from the terminal (stdin); end them with Ctrl-D, or give --input FILE"
            ));
        }
        let mut source = match input::open_watched(&input.path, &s.input.idle, &s.input.stop) {
            Err(e) if input::stop::Stopped::caused(&e) => Box::new(input::live::StoppedSource),
            opened => opened?,
        };
        // A stream cannot be read twice, so the state learns its content as it is read.
        if with_state && (input.live || input.path == "-") {
            let digest = StreamDigest::default();
            source = digest.watch(source);
            streamed.push((input.name.clone(), digest));
        } else if with_state {
            // A file was hashed before the run; what the replay reads must be that content.
            let digest = StreamDigest::default();
            source = digest.watch(source);
            reread.push((input.path.clone(), input.name.clone(), digest));
        }
        sources.push((input.name.clone(), source));
    }
    Ok((sources, streamed, reread))
}

/// The replay of `jobs` (read from `sources`): resumed from the state, or new.
fn build_replay(
    s: &Settings,
    (jobs, sources): (Vec<Job>, &JobSources),
    bad_rows: BadRows,
    resume: Option<Resume>,
) -> Result<Replay, Failure> {
    let input = s.input.clone();
    let replay = match (resume, &s.state) {
        (Some(resume), Some(state)) => {
            resume.into_replay(jobs, s.engine, input, bad_rows, &state.path).map_err(refused)?
        }
        _ => Replay::new(jobs, s.engine, input, bad_rows),
    };
    let replay = replay.with_threads(s.threads).with_idle_timeout(s.idle_timeout);
    replay.with_shards(s.shards, sources, s.engine).map_err(Failure::Run)
}

/// A state file refused: a usage error, or damage or an I/O error.
fn refused(refusal: Refusal) -> Failure {
    match refusal {
        Refusal::Usage(e) => Failure::Usage(e),
        Refusal::Damaged(e) | Refusal::Io(e) => Failure::Run(e),
    }
}

//! One run's use of a state file (`run --state FILE [--finish]`): reading and checking it before
//! anything is written (the job set and run options it was saved with, whether it was finished,
//! which inputs it has consumed), handing the saved replay back, and saving the replay at the end.
//! Every refusal leaves the file as it was.

use super::atomic;
use super::file::DecodeError;
use super::fingerprint::{self, JobPrint};
use super::lock::{LockError, Locked};
use super::saved::{ConsumedInput, OptionsPrint, SavedNames, SavedState};
use crate::engine::EngineOptions;
use crate::engine::names::Names;
use crate::input::{BadRows, InputOptions};
use crate::job::Job;
use crate::replay::{Replay, Resumed};
use anyhow::{Context, anyhow};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use xxhash_rust::xxh3::Xxh3;

/// Why a run may not use a state file: a usage error (exit 2), damage found in it, or an I/O
/// error on it or on an input it checks (exit 1, as any I/O error: a missing input is exit 1
/// with or without `--state`).
#[derive(Debug)]
pub enum Refusal {
    Usage(anyhow::Error),
    Damaged(anyhow::Error),
    Io(anyhow::Error),
}

/// A state file, locked, and what this run does with it.
pub struct StateRun {
    path: PathBuf,
    lock: Locked,
    finish: bool,
    jobs: Vec<JobPrint>,
    options: OptionsPrint,
    /// Inputs of earlier runs, then those of this run as they are read.
    consumed: Vec<ConsumedInput>,
    /// This run's number, counting from 1.
    run: u32,
    allow_repeated: bool,
    /// The size and hash of each file input, taken before the run read it (see
    /// [`StateRun::check_reread`]).
    checked: Vec<(String, u64, String)>,
}

/// What a resumed run starts from.
pub struct Resume {
    names: Names,
    saved: SavedState,
}

impl Resume {
    /// The replay of `jobs` continuing where the saved one stopped: its name tables (so the ids in
    /// its state name what they named then), input figures and pipeline.
    pub fn into_replay(
        self,
        jobs: Vec<Job>,
        options: EngineOptions,
        input: InputOptions,
        bad_rows: BadRows,
        path: &Path,
    ) -> Result<Replay, Refusal> {
        let saved = self.saved;
        let mut replay = Replay::with_names(jobs, options, input, bad_rows, self.names);
        let (_, points_written, late_written) = saved.pipeline.totals();
        let resumed = Resumed {
            from: path.display().to_string(),
            runs_before: saved.runs,
            inputs_before: saved.sources,
            rows_before: saved.counts.rows,
            points_written_before: points_written,
            late_written_before: late_written,
        };
        replay.restore(saved.counts, saved.sources, saved.pipeline, resumed).map_err(|why| {
            Refusal::Damaged(anyhow!(
                "--state {}: damaged state file: {why}; the state cannot be resumed (restore it from a copy, or \
                     replay from the first input with a new state file)",
                path.display()
            ))
        })?;
        Ok(replay)
    }
}

impl StateRun {
    /// Locks `path` and reads it when it holds a state, and checks it against the jobs and
    /// options of this run. A state another run holds is refused.
    pub fn open(
        path: &Path,
        finish: bool,
        allow_repeated: bool,
        jobs: &[Job],
        options: &EngineOptions,
    ) -> Result<(StateRun, Option<Resume>), Refusal> {
        let shown = path.display();
        let (lock, bytes) = Locked::take(path).map_err(|e| match e {
            LockError::Busy => Refusal::Usage(anyhow!(
                "--state {shown} is in use by another meterflow run: runs on one state must follow one another, or \
                 the last to save would lose the other's readings; run this one when the other has ended"
            )),
            LockError::Io(e) => Refusal::Io(anyhow!("--state: failed to open {shown}: {e}")),
        })?;
        let mut run = StateRun {
            path: path.to_path_buf(),
            lock,
            finish,
            jobs: fingerprint::of_jobs(jobs),
            options: OptionsPrint::of(options),
            consumed: Vec::new(),
            run: 1,
            allow_repeated,
            checked: Vec::new(),
        };
        if bytes.is_empty() {
            return Ok((run, None));
        }
        let saved = SavedState::decode(&bytes).map_err(|e| match e {
            DecodeError::Foreign | DecodeError::NewerVersion { .. } | DecodeError::OlderVersion { .. } => {
                Refusal::Usage(anyhow!("--state {shown}: {e}"))
            }
            DecodeError::Truncated { .. } | DecodeError::Damaged(_) => Refusal::Damaged(anyhow!(
                "--state {shown}: {e}; the state cannot be resumed (restore it from a copy, or replay from the first input \
                 with a new state file)"
            )),
        })?;
        if saved.finished {
            return Err(Refusal::Usage(anyhow!(
                "--state {shown} was finished by a --finish run (run {}): the stream it holds has ended; give a new state \
                 file to start another",
                saved.runs
            )));
        }
        let mut changes = fingerprint::differences(&saved.jobs, &run.jobs);
        changes.extend(saved.options.differences(&run.options));
        if !changes.is_empty() {
            return Err(Refusal::Usage(anyhow!(
                "--state {shown} was saved with other jobs or options, so resuming would mix two computations:\n  {}\n\
                 run with the jobs and options it was saved with, or give a new state file",
                changes.join("\n  ")
            )));
        }
        let names = saved.names.tables().ok_or_else(|| {
            Refusal::Damaged(anyhow!("--state {shown}: damaged state file: a name repeats in its name tables"))
        })?;
        run.consumed = saved.inputs.clone();
        run.run = saved.runs + 1;
        Ok((run, Some(Resume { names, saved })))
    }

    /// Checks and records the regular-file inputs before any is read: an input whose content an
    /// earlier run (or an earlier input of this run) consumed is refused, unless allowed.
    pub(crate) fn check_files(&mut self, paths: &[(String, bool)]) -> Result<(), Refusal> {
        for (path, live) in paths {
            if *live || path == "-" {
                continue;
            }
            let (bytes, hash) = digest_file(path)
                .map_err(|e| Refusal::Io(anyhow!("--state: failed to read input {path} to check it: {e:#}")))?;
            self.checked.push((path.clone(), bytes, hash.clone()));
            self.record(path, bytes, hash)?;
        }
        Ok(())
    }

    /// Records an input read as a stream (stdin, a pipe), whose content could not be checked
    /// before it was read; a repeat is refused now, before the state is saved.
    pub(crate) fn check_streamed(&mut self, name: &str, digest: &StreamDigest) -> Result<(), Refusal> {
        let (bytes, hash) = digest.finish();
        self.record(name, bytes, hash)
    }

    /// Checks that the file input `path` (`name` in messages), which this run read to its end
    /// with `digest` watching, held what [`StateRun::check_files`] hashed before the run: a file
    /// that grew or was rewritten in between was replayed with other content than the state
    /// records, so a later run given a copy of what was read could not be told it repeats it.
    pub(crate) fn check_reread(&self, path: &str, name: &str, digest: &StreamDigest) -> anyhow::Result<()> {
        let Some((_, bytes, hash)) = self.checked.iter().find(|(checked, ..)| checked == path) else {
            return Ok(());
        };
        let (read, read_hash) = digest.finish();
        if read == *bytes && read_hash == *hash {
            return Ok(());
        }
        Err(anyhow!(
            "input {name} changed while this run read it ({bytes} bytes when --state checked it before the run, \
             {read} bytes{} when the run read it): --state {} cannot record what was read, so it was not saved; \
             give the input again once nothing writes to it",
            if read == *bytes { " of other content" } else { "" },
            self.path.display()
        ))
    }

    fn record(&mut self, name: &str, bytes: u64, hash: String) -> Result<(), Refusal> {
        // An empty input adds nothing, so reading one again cannot count anything twice.
        if bytes == 0 {
            return Ok(());
        }
        if let Some(seen) = self.consumed.iter().find(|c| c.hash == hash && c.bytes == bytes)
            && !self.allow_repeated
        {
            let when =
                if seen.run == self.run { "earlier in this run".to_owned() } else { format!("by run {}", seen.run) };
            return Err(Refusal::Usage(anyhow!(
                "input {name} has the same content as {}, read into --state {} {when}: reading it again would count \
                 its readings twice; pass --allow-repeated-input to read it again on purpose",
                seen.name,
                self.path.display()
            )));
        }
        self.consumed.push(ConsumedInput { name: name.to_owned(), bytes, hash, run: self.run, stopped: false });
        Ok(())
    }

    /// Saves `replay` to the state file, whole or not at all: to be called once every output of
    /// the run is flushed, so the state never runs ahead of what was written.
    pub fn save(&self, replay: &Replay) -> anyhow::Result<()> {
        let (counts, sources) = (replay.counts, replay.sources);
        let state = SavedState {
            written_by: env!("CARGO_PKG_VERSION").to_owned(),
            jobs: self.jobs.clone(),
            options: self.options.clone(),
            finished: self.finish,
            runs: self.run,
            inputs: self.consumed.clone(),
            names: SavedNames::of(&replay.names),
            counts,
            sources,
            pipeline: replay.pipeline.save(),
        };
        atomic::save(&self.path, &state.encode())
            .with_context(|| format!("failed to save the state to {}", self.path.display()))?;
        self.lock.saved();
        Ok(())
    }

    /// A signal stopped this run after `rows` rows of input `name`, before the inputs `unread`:
    /// the record of `name` says it was read part-way, or goes with those of `unread` when no
    /// row of it was read, so that all of it may be given to the next run. A stopped run does
    /// not finish the stream, whatever `--finish` said: the rest of the input is still to come.
    pub(crate) fn stopped_in(&mut self, name: &str, rows: u64, unread: &[String]) {
        let run = self.run;
        if let Some(at) = self.consumed.iter().rposition(|c| c.run == run && c.name == name) {
            match rows {
                0 => drop(self.consumed.remove(at)),
                _ => self.consumed[at].stopped = true,
            }
        }
        self.consumed.retain(|c| c.run != run || !unread.contains(&c.name));
        self.finish = false;
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub fn finishes(&self) -> bool {
        self.finish
    }
}

/// Hashes a file's content as meterflow reads it (decompressed).
fn digest_file(path: &str) -> anyhow::Result<(u64, String)> {
    let mut source = crate::input::open(path)?;
    let mut hasher = Xxh3::new();
    let mut buf = vec![0; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, format!("{:032x}", hasher.digest128())))
}

/// The running digest of a streamed input, shared with the reader that feeds it.
#[derive(Clone, Default)]
pub(crate) struct StreamDigest(Arc<Mutex<(Xxh3, u64)>>);

impl StreamDigest {
    /// Wraps `source` so every byte read through it is hashed.
    pub(crate) fn watch(&self, source: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
        Box::new(Digesting { inner: source, digest: self.clone() })
    }

    fn finish(&self) -> (u64, String) {
        let guard = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (guard.1, format!("{:032x}", guard.0.digest128()))
    }
}

struct Digesting {
    inner: Box<dyn Read + Send>,
    digest: StreamDigest,
}

impl Read for Digesting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut guard = self.digest.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.0.update(&buf[..n]);
        guard.1 += n as u64;
        Ok(n)
    }
}

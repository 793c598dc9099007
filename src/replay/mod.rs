//! One replay of input through a pipeline: jobs put in run order, input sources read in turn by
//! the input reader (with the run's input options and bad-row policy, in event-time order when
//! asked to sort), each reading pushed through the engine, and everything the engine produces
//! handed to an [`Output`] (see [`crate::output`]). `run`, `test` and `plot` all replay through here, so a unit test or a
//! plot sees exactly what a run computes.

pub mod idle;
mod shards;
pub mod state;

use crate::engine::accounting::{Balance, InputFigures};
use crate::engine::names::Names;
use crate::engine::{Dropped, EngineOptions, Pipeline, PipelineState, Point, Reading, Runaway, Sink, UNREAD_ASSET};
use crate::input::fast::AtHand;
use crate::input::interval::IntervalChoice;
use crate::input::options::Layout;
use crate::input::stop::{Stop, Stopped};
use crate::input::{BadRows, InputCounts, InputOptions, InputReader, InputSettings, Sorter};
use crate::job::pipeline::{external_inputs, run_order};
use crate::job::{Job, JobSources};
use crate::output::Output;
use crate::replay::idle::IdleClock;
use anyhow::Result;
use shards::Shards;
use std::io::{self, Read};
use std::time::Instant;

/// The engine's sink for one call: forwards to the output and keeps its first write error.
struct Bound<'a> {
    output: &'a mut dyn Output,
    names: &'a Names,
    error: Option<io::Error>,
}

impl Sink for Bound<'_> {
    fn point(&mut self, point: &Point) {
        if self.error.is_none() {
            self.error = self.output.point(point, self.names).err();
        }
    }

    fn dropped(&mut self, dropped: &Dropped) {
        if self.error.is_none() {
            self.error = self.output.dropped(dropped, self.names).err();
        }
    }
}

/// A pipeline, its name table, the input side and the input figures of one replay.
pub struct Replay {
    pub(crate) names: Names,
    pub pipeline: Pipeline,
    pub(crate) counts: InputCounts,
    /// Sources read so far.
    pub(crate) sources: usize,
    input: InputOptions,
    /// Where malformed rows go (an error, or the rejects file).
    pub(crate) bad_rows: BadRows,
    /// `--sort-input`: readings wait here until every source is read.
    sorter: Option<Sorter>,
    /// Threads parsing input (see [`InputReader::open`]).
    threads: usize,
    /// Where an incremental replay resumed from; the figures above are totals since its start.
    pub(crate) resumed: Option<Resumed>,
    /// Where a stop (a signal) ended the input, if one did.
    pub(crate) stopped_in: Option<StoppedIn>,
    /// `--idle-timeout`: moves the watermarks of silent series by wall-clock time.
    pub(crate) idle: Option<IdleClock>,
    /// The points the jobs expect from the input (read by a job, written by none).
    pub(crate) expected_points: Vec<String>,
    /// An input had a quality column.
    pub(crate) quality_column: bool,
    /// Rows of this run with a non-zero quality code.
    pub(crate) quality_rows: u64,
    /// Which `--points` renames of long input met their point text in this run.
    renamed: Vec<bool>,
    /// The interval length `--interval-end auto` chose for each input that decided one, in order.
    pub(crate) intervals: Vec<IntervalChoice>,
    /// `--shards`: the jobs run on shards by asset; `pipeline` then only adds up their figures.
    shards: Option<Shards>,
}

/// Where a stop ended the input: the source, and the rows read from it, all of whose readings the
/// jobs received. The rest of that source starts at its next row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoppedIn {
    pub(crate) input: String,
    pub(crate) rows: u64,
}

/// The state a replay resumed from, and its totals then, so a run can tell its own figures.
#[derive(Debug, Clone)]
pub struct Resumed {
    pub from: String,
    pub runs_before: u32,
    pub inputs_before: usize,
    pub rows_before: u64,
    pub points_written_before: u64,
    pub late_written_before: u64,
}

impl Replay {
    /// Builds the pipeline from loaded jobs (which `load_jobs` has checked to form a DAG).
    pub(crate) fn new(jobs: Vec<Job>, options: EngineOptions, input: InputOptions, bad_rows: BadRows) -> Replay {
        Replay::with_names(jobs, options, input, bad_rows, Names::default())
    }

    /// As [`Replay::new`], starting from the name tables of a run being resumed, so the ids in its
    /// saved state name what they named then.
    pub fn with_names(
        jobs: Vec<Job>,
        options: EngineOptions,
        mut input: InputOptions,
        bad_rows: BadRows,
        mut names: Names,
    ) -> Replay {
        let jobs = in_run_order(jobs);
        let expected_points = external_inputs(&jobs);
        let pipeline = Pipeline::new(jobs, &mut names, options);
        input.read_points = Some(pipeline.read_points().into());
        input.read_models = Some(pipeline.read_models().into());
        let sorter = input.sort.then(Sorter::default);
        Replay {
            names,
            pipeline,
            counts: InputCounts::default(),
            sources: 0,
            input,
            bad_rows,
            sorter,
            threads: 1,
            resumed: None,
            stopped_in: None,
            idle: None,
            expected_points,
            quality_column: false,
            quality_rows: 0,
            renamed: Vec::new(),
            intervals: Vec::new(),
            shards: None,
        }
    }

    /// Continues a saved replay: its input figures, the sources it read, and its pipeline.
    pub fn restore(
        &mut self,
        counts: InputCounts,
        sources: usize,
        pipeline: PipelineState,
        resumed: Resumed,
    ) -> Result<(), String> {
        self.pipeline.restore(pipeline, self.names.assets.len())?;
        self.counts = counts;
        self.sources = sources;
        self.resumed = Some(resumed);
        Ok(())
    }

    /// A replay of long-format CSV with the default input options, stopping at a malformed row.
    pub fn long_format(jobs: Vec<Job>, options: EngineOptions) -> Result<Replay> {
        let input = InputOptions::from_settings(&InputSettings::default())?;
        let bad_rows = BadRows::new(input.on_bad_row, None)?;
        Ok(Replay::new(jobs, options, input, bad_rows))
    }

    /// Parses input on `threads` threads while the jobs run on this one (1: all on this one).
    /// The readings, and so the output, are the same whatever the number.
    pub(crate) fn with_threads(mut self, threads: usize) -> Replay {
        self.threads = threads;
        self
    }

    /// Runs the jobs of the files `jobs` (as read for the jobs this replay was built with) on `n`
    /// shards by asset (see [`shards`]); 1: on this thread.
    pub(crate) fn with_shards(mut self, n: usize, jobs: &JobSources, options: EngineOptions) -> Result<Replay> {
        if n > 1 {
            self.shards = Some(Shards::start(n, jobs, options, &self.pipeline)?);
        }
        Ok(self)
    }

    /// Moves the watermark of a series silent for `timeout_ms` of wall-clock time by the time that
    /// passed (see [`IdleClock`]).
    pub(crate) fn with_idle_timeout(mut self, timeout_ms: Option<i64>) -> Replay {
        self.idle = timeout_ms.map(|ms| IdleClock::new(ms, Instant::now()));
        self.input.idle_clock = self.idle.is_some();
        self
    }

    /// Long or wide input.
    pub(crate) fn layout(&self) -> Layout {
        self.input.layout
    }

    /// Reads `source` (named `name` in messages) to its end, or until a stop is requested: then
    /// between two rows, once the jobs have every reading of the rows read (a reader counts a row
    /// as it reads it), or when a read that waits for data is ended by the stop.
    pub fn read(&mut self, name: &str, source: Box<dyn Read + Send>, output: &mut dyn Output) -> Result<()> {
        self.sources += 1;
        let rows_before = self.counts.rows;
        let stop = self.input.stop.clone();
        // `--idle-timeout` reads the input ahead on a thread of its own and parses it on this one
        // (see `idle_tick`): worker threads would hold the input while the jobs wait.
        let threads = if self.idle.is_some() { 1 } else { self.threads };
        let mut reader = match InputReader::open(name, source, &self.input, &mut self.names, threads) {
            Err(e) if Stopped::caused(&e) => {
                self.stop_before(name);
                return Ok(());
            }
            opened => opened?,
        };
        self.quality_column |= reader.has_quality_column();
        let revisions = reader.carries_revisions();
        loop {
            if stop.requested() && reader.between_rows() {
                break;
            }
            // The rest of a parsed chunk goes in as a run, without a call to the reader each.
            let run = reader.pending();
            if !run.is_empty() {
                let (taken, pushed) = self.push_run(run, revisions, output, &stop);
                reader.took(taken);
                pushed?;
                continue;
            }
            // `--idle-timeout`: a silent input still moves the clock (see `idle_tick`).
            if let Some(wait) = self.idle.as_ref().map(IdleClock::wait)
                && !reader.wait(wait)
            {
                self.idle_tick(output)?;
                continue;
            }
            match reader.next_at_hand(&mut self.names, &mut self.counts, &mut self.bad_rows) {
                Ok(AtHand::Waiting) => self.idle_tick(output)?,
                Ok(AtHand::Reading(reading)) => {
                    output.input(&reading, &self.names);
                    match self.sorter.as_mut() {
                        Some(sorter) => sorter.push(reading, revisions)?,
                        None => self.push(reading, revisions, output)?,
                    }
                }
                Ok(AtHand::End) => {
                    self.take_tally(&reader);
                    return Ok(());
                }
                Err(e) if Stopped::caused(&e) => break,
                Err(e) => {
                    // The rows of the readings before the error are written, as without shards.
                    if let Some(shards) = self.shards.as_mut() {
                        let _ = shards.drain(output, &self.names);
                    }
                    return Err(e);
                }
            }
        }
        self.take_tally(&reader);
        self.stopped_in = Some(StoppedIn { input: name.to_owned(), rows: self.counts.rows - rows_before });
        Ok(())
    }

    /// `--idle-timeout` while the input is silent: hands the engine the advances now due, and
    /// flushes what they wrote, as the reader flushes before it waits, so the rows leave now
    /// rather than with the next input line.
    fn idle_tick(&mut self, output: &mut dyn Output) -> Result<()> {
        let Some(idle) = self.idle.as_mut() else { return Ok(()) };
        let due = idle.due(Instant::now());
        if due.is_empty() {
            return Ok(());
        }
        let mut sink = Bound { output, names: &self.names, error: None };
        for &(asset, point, by) in due {
            self.pipeline.advance_idle(asset, point, by, &mut sink);
        }
        let written = match sink.error {
            Some(e) => Err(e),
            None => sink.output.flush(),
        };
        written.map_err(|e| anyhow::Error::new(e).context("failed to write output"))
    }

    /// Adds what `reader` saw to the run's own figures: rows with a quality code, `--points`
    /// renames that met their point, the interval length `--interval-end auto` chose.
    fn take_tally(&mut self, reader: &InputReader) {
        let tally = reader.tally();
        self.intervals.extend(tally.interval.clone());
        self.quality_rows += tally.quality_rows;
        if self.renamed.len() < tally.renamed.len() {
            self.renamed.resize(tally.renamed.len(), false);
        }
        for (seen, now) in self.renamed.iter_mut().zip(&tally.renamed) {
            *seen |= now;
        }
    }

    /// Whether a stop has been requested (by a signal).
    pub(crate) fn stop_requested(&self) -> bool {
        self.input.stop.requested()
    }

    /// A stop ended the input before source `name` was read.
    pub(crate) fn stop_before(&mut self, name: &str) {
        self.stopped_in = Some(StoppedIn { input: name.to_owned(), rows: 0 });
    }

    /// The `--points` renames of long input whose point text never appeared in this run's input.
    pub(crate) fn unused_renames(&self) -> Vec<&str> {
        match (&self.input.points, self.input.layout, &self.input.point) {
            (Some(renames), Layout::Long, None) => renames
                .iter()
                .enumerate()
                .filter(|&(k, _)| !self.renamed.get(k).copied().unwrap_or(false))
                .map(|(_, r)| r.from.as_str())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Pushes a run of the fast reader's readings (whole rows, one reading each) in order, as
    /// [`Replay::read`] pushes a reading from `next`, until a stop is requested between two of
    /// them: returns how many it took (each counted as a row) and the first error.
    fn push_run(
        &mut self,
        run: &[Reading],
        revisions: bool,
        output: &mut dyn Output,
        stop: &Stop,
    ) -> (usize, Result<()>) {
        // With no sorting, shards, revisions, idle clock or limit to check after each reading, a
        // reading needs only the pipeline, and one sink serves the whole run.
        let direct = self.sorter.is_none()
            && self.shards.is_none()
            && self.idle.is_none()
            && !revisions
            && !self.pipeline.checks_limits();
        // Shards take the run at once: their rows are written as batches come back, not between
        // the readings, so only the stop and the output's view of each reading come first.
        if let Some(shards) = self.shards.as_mut().filter(|_| self.sorter.is_none() && self.idle.is_none()) {
            let mut taken = 0;
            for reading in run {
                if stop.requested() {
                    break;
                }
                self.counts.fast_row();
                output.input(reading, &self.names);
                taken += 1;
            }
            let dealt =
                shards.deal(&run[..taken], revisions, output, &self.names).and_then(|()| match shards.take_error() {
                    Some(e) => Err(anyhow::Error::new(e).context("failed to write output")),
                    None => Ok(()),
                });
            return (taken, dealt);
        }
        if direct {
            let takes_input = output.takes_input();
            let mut sink = Bound { output, names: &self.names, error: None };
            // A reading goes in until a stop is requested between two of them, or one's rows
            // failed to be written. The rows are counted once the run stops, for every reading
            // that went in.
            let taken = self.pipeline.push_run(run, &mut sink, |reading, sink| {
                if sink.error.is_some() || stop.requested() {
                    return false;
                }
                if takes_input {
                    sink.output.input(reading, sink.names);
                }
                true
            });
            self.counts.fast_rows(taken as u64);
            let pushed = match sink.error {
                Some(e) => Err(anyhow::Error::new(e).context("failed to write output")),
                None => Ok(()),
            };
            return (taken, pushed);
        }
        for (k, &reading) in run.iter().enumerate() {
            if stop.requested() {
                return (k, Ok(()));
            }
            self.counts.fast_row();
            output.input(&reading, &self.names);
            let pushed = match self.sorter.as_mut() {
                Some(sorter) => sorter.push(reading, revisions),
                None => self.push(reading, revisions, output),
            };
            if let Err(e) = pushed {
                return (k + 1, Err(e));
            }
        }
        (run.len(), Ok(()))
    }

    /// Runs one reading through the pipeline; `revision` when its input carries meterflow's
    /// `emit` and `revision` columns.
    fn push(&mut self, reading: Reading, revision: bool, output: &mut dyn Output) -> Result<()> {
        if let Some(shards) = self.shards.as_mut() {
            shards.deal(std::slice::from_ref(&reading), revision, output, &self.names)?;
            return match shards.take_error() {
                Some(e) => Err(anyhow::Error::new(e).context("failed to write output")),
                None => Ok(()),
            };
        }
        let mut sink = Bound { output, names: &self.names, error: None };
        if revision {
            self.pipeline.push_revision(reading, &mut sink);
        } else {
            self.pipeline.push(reading, &mut sink);
        }
        if let Some(idle) = self.idle.as_mut().filter(|_| reading.asset != UNREAD_ASSET) {
            let now = Instant::now();
            idle.saw(&reading, now);
            for &(asset, point, by) in idle.due(now) {
                self.pipeline.advance_idle(asset, point, by, &mut sink);
            }
        }
        if let Some(e) = sink.error {
            return Err(anyhow::Error::new(e).context("failed to write output"));
        }
        if let Some(runaway) = self.pipeline.runaway() {
            return Err(self.runaway_error(&runaway));
        }
        match self.pipeline.runaway_merge() {
            Some((job, series, limit)) => Err(self.runaway_merge_error(job, series, limit)),
            None => Ok(()),
        }
    }

    fn runaway_merge_error(&self, job: usize, series: u64, limit: u64) -> anyhow::Error {
        let job = self.pipeline.stats()[job];
        anyhow::anyhow!(
            "after {}: merge job `{}` ({}) holds {series} operand series, more than --max-merge-series {limit} allows: \
             it keeps the latest values of every operand of every asset it has seen, so raise the limit or give it \
             fewer assets",
            crate::text::count(self.counts.rows, "input row", "input rows"),
            job.name,
            job.file,
        )
    }

    fn runaway_error(&self, runaway: &Runaway) -> anyhow::Error {
        let job = self.pipeline.stats()[runaway.job];
        anyhow::anyhow!(
            "after {}: more than {} {} (--max-open-{} {}); job `{}` ({}) holds {}: {}, or raise the limit",
            crate::text::count(self.counts.rows, "input row", "input rows"),
            runaway.limit,
            if runaway.readings { "readings are held to recognise repeats" } else { "windows are open at once" },
            if runaway.readings { "readings" } else { "windows" },
            runaway.limit,
            job.name,
            job.file,
            runaway.job_open,
            if runaway.readings {
                "a series holds the timestamp (and under `duplicates: last` the value) of every reading whose window \
                 can still change, so use a shorter latency, or `duplicates: first` or `keep` (timestamps only)"
            } else {
                "a series keeps every window of the last `latency` open, so use a shorter latency or a larger window_size"
            }
        )
    }

    /// The row accounting of the replay so far (see [`crate::engine::accounting`]).
    pub fn balances(&self) -> Vec<Balance> {
        let c = &self.counts;
        self.pipeline.balances(InputFigures {
            rows: c.rows,
            whole_rows: c.whole_rows,
            rejected: c.rejected,
            values: c.values,
            missing: c.missing,
        })
    }

    /// End of this run's input in an incremental replay: the jobs keep everything open for the
    /// next run; only the bad-row record is flushed.
    pub fn suspend(&mut self) -> Result<()> {
        self.bad_rows.flush()
    }

    /// End of input: replays sorted readings if sorting, then flushes every job.
    pub fn finish(&mut self, output: &mut dyn Output) -> Result<()> {
        if let Some(sorter) = self.sorter.take() {
            let mut sorted = sorter.finish()?;
            while let Some((reading, revision)) = sorted.next_reading()? {
                self.push(reading, revision, output)?;
            }
        }
        self.bad_rows.flush()?;
        let mut sink = Bound { output, names: &self.names, error: None };
        match self.shards.take() {
            Some(shards) => {
                let merged = shards.finish(sink.output, sink.names)?;
                self.pipeline.absorb_shards(&merged.figures, &merged.ordinals, &merged.peaks);
                sink.error = merged.error;
            }
            None => self.pipeline.finish(&mut sink),
        }
        match sink.error {
            Some(e) => Err(anyhow::Error::new(e).context("failed to write output")),
            None => Ok(()),
        }
    }
}

/// `jobs` with producers before their consumers.
fn in_run_order(jobs: Vec<Job>) -> Vec<Job> {
    let order = run_order(&jobs).unwrap_or_else(|_| (0..jobs.len()).collect());
    let mut slots: Vec<Option<Job>> = jobs.into_iter().map(Some).collect();
    order.iter().filter_map(|&i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests;

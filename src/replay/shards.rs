//! A replay sharded by asset across threads (`run --shards N`), with output bytes, late rows and
//! figures identical to one pipeline's.
//!
//! Design. Every job state the engine keeps is local to one asset under `--watermark series` or
//! `asset`: a window job's series, rings and clocks are per series or per asset, a merge job keeps
//! per-asset operands and ticks, job chains keep the asset of the row they feed on, and the
//! per-series figures are per series. (What couples assets is refused before the run starts, in
//! `cli::settings::run`: the `global` watermark, which one clock moves for every asset; the
//! `--max-open-*` and `--max-merge-series` limits, which count over all assets after each
//! reading; `--state`, whose file holds one pipeline; and live input, whose rows must leave as
//! soon as the input waits.) So each shard runs a whole pipeline of its own on the assets a
//! stable hash of the asset id deals it, and computes for them exactly what one pipeline would.
//!
//! The reading thread numbers each reading (its sequence number), deals it to its shard's batch,
//! and hands the shards their batches through bounded channels, [`BATCH`] readings at a time (so
//! the hand-off costs nothing per reading beyond a copy, and buffers go round instead of being
//! allocated), keeping at most [`DEPTH`] batches in flight. Each shard answers a batch with the
//! rows each reading caused, in order, and the figures each reading left (see
//! [`crate::engine::shard`]). The same thread then merges: it knows which shard had each reading,
//! so it walks the batch in input order and writes each reading's rows from its shard, which is
//! the one pipeline's order. At the end of input every shard flushes its jobs, each flush batch an
//! event with the key one pipeline fires it by, and the merger takes those events job by job in
//! key order across shards. The shards' figures are added up at the end, the few that depend on
//! order (series first seen, the first skipped merge evaluations, the peak of open windows) put in
//! the one-pipeline order from the events.

use crate::engine::names::Names;
use crate::engine::shard::{EventSink, FLUSH, Figures, FlushEvent};
use crate::engine::{Dropped, EngineOptions, Pipeline, Point, Reading, Sink};
use crate::job::{JobSources, load_sources};
use crate::output::Output;
use anyhow::{Result, anyhow};
use std::collections::VecDeque;
use std::io;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

/// Readings handed over at a time, over all shards.
const BATCH: usize = 4096;
/// Batches in flight before the reading thread merges the oldest.
const DEPTH: usize = 4;
/// Flush events, or rows, a shard sends at a time at the end of input.
const FLUSH_CHUNK: usize = 4096;

/// One reading dealt to a shard.
#[derive(Clone, Copy)]
struct Item {
    seq: u64,
    reading: Reading,
    revision: bool,
}

enum Row {
    Point(Point),
    Dropped(Dropped),
}

enum Work {
    Readings(Vec<Item>),
    Finish,
}

/// A shard's answer to a batch, or a chunk of its end-of-input flush.
#[derive(Default)]
struct Done {
    /// The batch's buffer, handed back for the next batch.
    items: Vec<Item>,
    rows: Vec<Row>,
    /// Per event: the end of its rows in `rows`.
    ends: Vec<u32>,
    /// The events after which some window job's open windows were not what they were before
    /// (most readings open and close none), and for each, every window job's peak of open
    /// windows during it and its open windows after.
    changed: Vec<u32>,
    peaks: Vec<u64>,
    /// Per event of the flush: its order key.
    flushes: Vec<FlushEvent>,
    /// The flush's last chunk.
    last: bool,
}

impl Done {
    fn clear(&mut self) {
        self.rows.clear();
        self.ends.clear();
        self.changed.clear();
        self.peaks.clear();
        self.flushes.clear();
    }
}

/// A shard's sink: rows and events go into the answer being made, sent when full.
struct Recorder<'a> {
    done: Done,
    send: &'a SyncSender<Done>,
    free: &'a Receiver<Done>,
    /// Each window job's open windows after the last event recorded as changed.
    open: &'a mut Vec<u64>,
}

impl Recorder<'_> {
    fn new<'a>(send: &'a SyncSender<Done>, free: &'a Receiver<Done>, open: &'a mut Vec<u64>) -> Recorder<'a> {
        let mut done = free.try_recv().unwrap_or_default();
        done.clear();
        Recorder { done, send, free, open }
    }

    /// Ends an event whose window jobs' peaks and open windows are `peaks` (see [`Done`]).
    fn end(&mut self, peaks: &[u64]) {
        let event = self.done.ends.len() as u32;
        self.done.ends.push(self.done.rows.len() as u32);
        let same = peaks.chunks_exact(2).zip(self.open.iter()).all(|(p, &open)| p[0] == open && p[1] == open);
        if !same {
            self.done.changed.push(event);
            self.done.peaks.extend_from_slice(peaks);
            for (open, p) in self.open.iter_mut().zip(peaks.chunks_exact(2)) {
                *open = p[1];
            }
        }
    }

    /// Sends the answer so far; false when the merger has gone.
    fn send(&mut self) -> bool {
        let mut next = self.free.try_recv().unwrap_or_default();
        next.clear();
        self.send.send(std::mem::replace(&mut self.done, next)).is_ok()
    }
}

impl Sink for Recorder<'_> {
    fn point(&mut self, point: &Point) {
        self.done.rows.push(Row::Point(point.clone()));
    }

    fn dropped(&mut self, dropped: &Dropped) {
        self.done.rows.push(Row::Dropped(*dropped));
    }
}

impl EventSink for Recorder<'_> {
    fn flushed(&mut self, event: FlushEvent, peaks: &[u64]) {
        self.done.flushes.push(event);
        self.end(peaks);
        if self.done.flushes.len() >= FLUSH_CHUNK || self.done.rows.len() >= FLUSH_CHUNK {
            self.send();
        }
    }
}

/// A shard's thread: builds its pipeline from the job files as the run read them (the expression
/// engine of a merge job stays on the thread that made it, so each shard loads the jobs itself,
/// giving every name the id the reading thread gave it: both intern the same files' names in the
/// same order into an empty table), runs each batch through it, answers with the rows and figures of each reading,
/// and at the end flushes; returns the pipeline's figures.
fn shard(
    jobs: JobSources,
    options: EngineOptions,
    work: Receiver<Work>,
    send: SyncSender<Done>,
    free: Receiver<Done>,
) -> Result<Figures, String> {
    let jobs = load_sources(jobs).map_err(|e| format!("{e:#}"))?;
    let mut pipeline = Pipeline::new(super::in_run_order(jobs), &mut Names::default(), options);
    pipeline.track_events();
    let (mut open, mut peaks) = (vec![0; pipeline.window_jobs()], Vec::new());
    while let Ok(work) = work.recv() {
        let mut recorder = Recorder::new(&send, &free, &mut open);
        match work {
            Work::Readings(mut items) => {
                for item in &items {
                    pipeline.begin_event(item.seq);
                    if item.revision {
                        pipeline.push_revision(item.reading, &mut recorder);
                    } else {
                        pipeline.push_in_run(item.reading, &mut recorder);
                    }
                    peaks.clear();
                    pipeline.end_event(&mut peaks);
                    recorder.end(&peaks);
                }
                // The batch is the shard's run of readings: the jobs' figures are settled once.
                pipeline.settle_figures();
                items.clear();
                recorder.done.items = items;
                if !recorder.send() {
                    break;
                }
            }
            Work::Finish => {
                pipeline.finish_events(&mut recorder);
                recorder.done.last = true;
                recorder.send();
                break;
            }
        }
    }
    Ok(pipeline.into_figures())
}

/// Where the merger is in one shard's flush.
#[derive(Default)]
struct Cursor {
    done: Option<Done>,
    event: usize,
    row: usize,
    /// The next of the chunk's events that changed open windows.
    change: usize,
}

/// The shards of a replay, seen from the reading thread: dealing, and merging their answers.
pub(crate) struct Shards {
    work: Vec<SyncSender<Work>>,
    answers: Vec<Receiver<Done>>,
    free: Vec<Sender<Done>>,
    threads: Vec<JoinHandle<Result<Figures, String>>>,
    /// The batch being filled, per shard, and which shard had each of its readings.
    filling: Vec<Vec<Item>>,
    owners: Vec<u8>,
    in_flight: VecDeque<Vec<u8>>,
    spare_items: Vec<Vec<Item>>,
    spare_owners: Vec<Vec<u8>>,
    /// Readings dealt so far.
    seq: u64,
    jobs: usize,
    /// Window jobs; per shard and window job its open windows, and per window job the total and peak.
    windows: usize,
    open: Vec<u64>,
    total: Vec<u64>,
    peak: Vec<u64>,
    /// Per shard, its flush events numbered in the merged order.
    ordinals: Vec<Vec<u64>>,
    flushes: u64,
    /// The first error writing the output: then nothing more is written.
    error: Option<io::Error>,
}

/// What the shards leave at the end: their pipelines (for the figures), the merged order of their
/// flush events, and each window job's peak of open windows over all of them.
pub(crate) struct Merged {
    pub(crate) figures: Vec<Figures>,
    pub(crate) ordinals: Vec<Vec<u64>>,
    pub(crate) peaks: Vec<u64>,
    /// The first error writing the output.
    pub(crate) error: Option<io::Error>,
}

impl Shards {
    /// Starts `n` shards running the jobs of the files `jobs` (the jobs of `pipeline`).
    pub(crate) fn start(n: usize, jobs: &JobSources, options: EngineOptions, pipeline: &Pipeline) -> Result<Shards> {
        let windows = pipeline.window_jobs();
        let (mut work, mut answers, mut free, mut threads) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for k in 0..n {
            let sources = jobs.clone();
            let (work_tx, work_rx) = sync_channel(DEPTH + 1);
            let (done_tx, done_rx) = sync_channel(DEPTH + 1);
            let (free_tx, free_rx) = channel();
            let thread = std::thread::Builder::new()
                .name(format!("meterflow-shard-{k}"))
                .spawn(move || shard(sources, options, work_rx, done_tx, free_rx))?;
            work.push(work_tx);
            answers.push(done_rx);
            free.push(free_tx);
            threads.push(thread);
        }
        Ok(Shards {
            work,
            answers,
            free,
            threads,
            filling: (0..n).map(|_| Vec::with_capacity(BATCH)).collect(),
            owners: Vec::with_capacity(BATCH),
            in_flight: VecDeque::new(),
            spare_items: Vec::new(),
            spare_owners: Vec::new(),
            seq: 0,
            jobs: pipeline.stats().len(),
            windows,
            open: vec![0; n * windows],
            total: vec![0; windows],
            peak: vec![0; windows],
            ordinals: vec![Vec::new(); n],
            flushes: 0,
            error: None,
        })
    }

    /// The shard of an asset: a fixed mix of its id, so neighbouring ids spread, scaled to the
    /// shards by a multiplication (a division by their number took a sizeable part of this
    /// thread's time per reading).
    #[inline]
    fn shard_of(&self, asset: u32) -> usize {
        let mixed = u64::from(asset).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        ((mixed * self.work.len() as u64) >> 32) as usize
    }

    /// Deals `run` in order to the readings' shards, handing each batch over as it fills and
    /// merging the oldest when enough are in flight; `revision` as for [`Pipeline::push_revision`].
    pub(crate) fn deal(
        &mut self,
        run: &[Reading],
        revision: bool,
        output: &mut dyn Output,
        names: &Names,
    ) -> Result<()> {
        let mut rest = run;
        while !rest.is_empty() {
            // The batch being filled never holds BATCH readings between calls.
            let (now, later) = rest.split_at((BATCH - self.owners.len()).min(rest.len()));
            for &reading in now {
                let s = self.shard_of(reading.asset);
                self.filling[s].push(Item { seq: self.seq, reading, revision });
                self.owners.push(s as u8);
                self.seq += 1;
            }
            if self.owners.len() >= BATCH {
                self.hand_over()?;
                while self.in_flight.len() > DEPTH {
                    self.merge_oldest(output, names)?;
                }
            }
            rest = later;
        }
        Ok(())
    }

    /// The first error writing the output, taken.
    pub(crate) fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// Sends each shard its part of the batch being filled (empty parts too: the answers come
    /// back batch by batch).
    fn hand_over(&mut self) -> Result<()> {
        for (s, work) in self.work.iter().enumerate() {
            let next = self.spare_items.pop().unwrap_or_else(|| Vec::with_capacity(BATCH));
            let items = std::mem::replace(&mut self.filling[s], next);
            work.send(Work::Readings(items)).map_err(|_| anyhow!("shard {s} stopped"))?;
        }
        let next = self.spare_owners.pop().unwrap_or_else(|| Vec::with_capacity(BATCH));
        self.in_flight.push_back(std::mem::replace(&mut self.owners, next));
        Ok(())
    }

    fn answer(&self, s: usize) -> Result<Done> {
        self.answers[s].recv().map_err(|_| anyhow!("shard {s} stopped"))
    }

    /// Writes the rows of the oldest batch in flight in input order.
    fn merge_oldest(&mut self, output: &mut dyn Output, names: &Names) -> Result<()> {
        let Some(mut owners) = self.in_flight.pop_front() else { return Ok(()) };
        let mut dones = Vec::with_capacity(self.work.len());
        for s in 0..self.work.len() {
            dones.push(self.answer(s)?);
        }
        let mut cursors = vec![(0usize, 0usize, 0usize); dones.len()];
        for &s in &owners {
            let s = s as usize;
            let (event, row, mut change) = cursors[s];
            let done = &dones[s];
            let end = done.ends[event] as usize;
            if end > row {
                write_rows(&done.rows[row..end], output, names, &mut self.error);
            }
            if done.changed.get(change) == Some(&(event as u32)) {
                let stride = 2 * self.windows;
                count_peaks(self, s, &done.peaks[change * stride..(change + 1) * stride]);
                change += 1;
            }
            cursors[s] = (event + 1, end, change);
        }
        owners.clear();
        self.spare_owners.push(owners);
        for (s, mut done) in dones.into_iter().enumerate() {
            self.spare_items.push(std::mem::take(&mut done.items));
            // A shard that has ended no longer takes buffers back; nothing is lost.
            let _ = self.free[s].send(done);
        }
        Ok(())
    }

    /// Writes the rows of every reading dealt so far, as one pipeline would have by now.
    pub(crate) fn drain(&mut self, output: &mut dyn Output, names: &Names) -> Result<()> {
        if !self.owners.is_empty() {
            self.hand_over()?;
        }
        while !self.in_flight.is_empty() {
            self.merge_oldest(output, names)?;
        }
        Ok(())
    }

    /// End of input: merges what is in flight, then the shards' flushes; joins the shards.
    pub(crate) fn finish(mut self, output: &mut dyn Output, names: &Names) -> Result<Merged> {
        self.drain(output, names)?;
        for (s, work) in self.work.iter().enumerate() {
            work.send(Work::Finish).map_err(|_| anyhow!("shard {s} stopped"))?;
        }
        let mut cursors: Vec<Cursor> = (0..self.work.len()).map(|_| Cursor::default()).collect();
        for op in 0..self.jobs as u32 {
            loop {
                let mut next: Option<(usize, (i64, u64, u32))> = None;
                for (s, cursor) in cursors.iter_mut().enumerate() {
                    let Some(event) = self.head(cursor, s)? else { continue };
                    if event.op != op {
                        continue;
                    }
                    let key = (event.at, self.resolve(s, event.created), event.series);
                    if next.is_none_or(|(_, first)| key < first) {
                        next = Some((s, key));
                    }
                }
                let Some((s, _)) = next else { break };
                let cursor = &mut cursors[s];
                let (event, row, change) = (cursor.event, cursor.row, cursor.change);
                let Some(done) = cursor.done.as_ref() else { break };
                let end = done.ends[event] as usize;
                write_rows(&done.rows[row..end], output, names, &mut self.error);
                if done.changed.get(change) == Some(&(event as u32)) {
                    let stride = 2 * self.windows;
                    count_peaks(&mut self, s, &done.peaks[change * stride..(change + 1) * stride]);
                    cursor.change += 1;
                }
                cursor.event += 1;
                cursor.row = end;
                self.ordinals[s].push(FLUSH | self.flushes);
                self.flushes += 1;
            }
        }
        let mut figures = Vec::with_capacity(self.threads.len());
        for (s, thread) in std::mem::take(&mut self.threads).into_iter().enumerate() {
            let joined = thread.join().map_err(|_| anyhow!("shard {s} failed"))?;
            figures.push(joined.map_err(|e| anyhow!("shard {s} failed to load the jobs: {e}"))?);
        }
        Ok(Merged { figures, ordinals: self.ordinals, peaks: self.peak, error: self.error })
    }

    /// The next flush event of shard `s`, receiving its next chunk when needed; `None` when its
    /// flush is over.
    fn head(&self, cursor: &mut Cursor, s: usize) -> Result<Option<FlushEvent>> {
        loop {
            if let Some(done) = cursor.done.as_ref() {
                if let Some(&event) = done.flushes.get(cursor.event) {
                    return Ok(Some(event));
                }
                if done.last {
                    return Ok(None);
                }
            }
            let next = self.answer(s)?;
            if let Some(old) = cursor.done.replace(next) {
                let _ = self.free[s].send(old);
            }
            cursor.event = 0;
            cursor.row = 0;
            cursor.change = 0;
        }
    }

    /// A shard's event key in the merged order (see [`crate::engine::shard`]).
    fn resolve(&self, s: usize, key: u64) -> u64 {
        match key & FLUSH {
            0 => key,
            _ => self.ordinals[s].get((key & !FLUSH) as usize).copied().unwrap_or(u64::MAX),
        }
    }
}

/// Each window job's open windows as shard `s` reports them for one event: the peak over all
/// shards is its peak during the event plus what the other shards held then.
fn count_peaks(shards: &mut Shards, s: usize, peaks: &[u64]) {
    for j in 0..shards.windows {
        let (during, after) = (peaks[2 * j], peaks[2 * j + 1]);
        let open = &mut shards.open[s * shards.windows + j];
        let others = shards.total[j] - *open;
        shards.peak[j] = shards.peak[j].max(others + during);
        shards.total[j] = others + after;
        *open = after;
    }
}

/// Writes rows to the output, keeping the first error (then writing no more).
fn write_rows(rows: &[Row], output: &mut dyn Output, names: &Names, error: &mut Option<io::Error>) {
    for row in rows {
        if error.is_some() {
            return;
        }
        let written = match row {
            Row::Point(p) => output.point(p, names),
            Row::Dropped(d) => output.dropped(d, names),
        };
        *error = written.err();
    }
}

//! One shard of a run sharded by asset (`run --shards N`, dealt and merged in
//! `crate::replay::shards`): what a shard's pipeline records so that the rows and figures of all
//! shards can be put back into the exact order and totals of one pipeline.
//!
//! A shard's work is a sequence of *events*: an input reading (keyed by its sequence number in
//! the input), or one batch of an end-of-input flush. Every row a shard emits belongs to the
//! event that caused it, so the merger only has to order events. Input events are ordered by
//! their sequence number. A flush batch of job `op` is ordered as one pipeline orders it: a window
//! job fires its timers by (due time, series, group, kind, window), a merge job flushes asset by
//! asset in order of first appearance, and its rows are delivered batch by batch with what they
//! cause downstream. Series (and a merge's assets) are numbered in order of first appearance, so
//! one pipeline's series order is the order of the events that created them, and within one
//! event (which belongs to one shard) the shard's own order. A batch's key is therefore (due time,
//! the creating event, the shard's series number); the creating event is a sequence number, or a
//! flush batch of an earlier job, which the merger numbered as it merged it.
//!
//! The figures that are not sums are recorded per event the same way: the peak of open windows
//! (each event reports its own peak and the count it left, so the merger can add the other shards'
//! counts of that moment), and the first merge skips and carried-over examples.

use super::stats::{
    CarriedExample, JobStats, MergeSkips, PolicyStats, SAMPLES_PER_JOB, SeriesStats, SeriesTally, SkipSample,
};
use super::{Emitted, FLUSH_PART, Operator, Pipeline, Sink};

/// Set in the key of a flush event (shard-local or as the merger numbered it): they come after
/// every input event.
pub(crate) const FLUSH: u64 = 1 << 63;

/// Where one batch of an end-of-input flush begins in [`Emitted::points`] and [`Emitted::dropped`], and its order: due time
/// (`i64::MIN` for a merge job) and the job's series number (a merge job's asset number); and the
/// batch's asset, to which the skips the flush records belong.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    pub(crate) point: usize,
    /// Where the batch begins in [`Emitted::dropped`] (readings held back as too far ahead and
    /// undecided at the end of input).
    pub(crate) dropped: usize,
    pub(crate) at: i64,
    pub(crate) series: u32,
    pub(crate) asset: u32,
}

/// One flush event of a shard, for the merger's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlushEvent {
    /// Run-order index of the job flushed.
    pub(crate) op: u32,
    pub(crate) at: i64,
    /// The shard-local key of the event that created the series.
    pub(crate) created: u64,
    /// The shard's number of the series.
    pub(crate) series: u32,
}

/// Receives a shard's rows and, at the end of each flush event, the event and its figures.
pub(crate) trait EventSink: Sink {
    fn flushed(&mut self, event: FlushEvent, peaks: &[u64]);
}

/// What a shard's pipeline records per event (see the module doc).
#[derive(Default)]
pub(crate) struct Tracker {
    /// Key of the event under way.
    key: u64,
    /// Flush events so far.
    flushes: u64,
    /// Per job: the key of the event that created each series (merge jobs: each asset).
    created: Vec<Vec<u64>>,
    /// The key of the event that created each input series tally.
    tallies: Vec<u64>,
    /// Per job: the key of the event of each merge skip sample, and of each policy's carried-over
    /// example.
    samples: Vec<Vec<u64>>,
    carried: Vec<Vec<Option<u64>>>,
}

impl Tracker {
    /// Gives the skip samples and carried-over examples job `op` recorded while flushing (whose
    /// batches are `marks`, numbered from the next flush event) the event of their asset's batch.
    fn flush_skips(&mut self, op: usize, stats: &JobStats, marks: &[Mark]) {
        let first = self.flushes;
        let key = |asset: u32| {
            marks.iter().position(|m| m.asset == asset).map_or(FLUSH | u64::MAX, |k| FLUSH | (first + k as u64))
        };
        for sample in stats.merge.samples.iter().skip(self.samples[op].len()) {
            self.samples[op].push(key(sample.asset));
        }
        for (slot, carried) in self.carried[op].iter_mut().zip(&stats.carried) {
            if let (None, Some(example)) = (&slot, &carried.example) {
                *slot = Some(key(example.asset));
            }
        }
    }
}

impl Operator {
    /// Series created so far (a merge job: assets seen).
    fn created(&self) -> usize {
        match self {
            Operator::Window(w) => w.series_count(),
            Operator::Merge(m) => m.assets_seen(),
        }
    }
}

impl Pipeline {
    /// Makes this pipeline a shard's: it records what [`Pipeline::begin_event`] and
    /// [`Pipeline::end_event`] need.
    pub(crate) fn track_events(&mut self) {
        let n = self.operators.len();
        let carried = self.operators.iter().map(|op| vec![None; op.stats().carried.len()]).collect();
        self.tracker = Some(Box::new(Tracker {
            created: vec![Vec::new(); n],
            samples: vec![Vec::new(); n],
            carried,
            ..Tracker::default()
        }));
    }

    /// Window jobs, whose open windows each event reports.
    pub(crate) fn window_jobs(&self) -> usize {
        self.operators.iter().filter(|op| matches!(op, Operator::Window(_))).count()
    }

    /// An event with key `key` begins: each window job's peak starts again from what is open.
    pub(crate) fn begin_event(&mut self, key: u64) {
        if let Some(tracker) = self.tracker.as_mut() {
            tracker.key = key;
        }
        for op in &mut self.operators {
            if let Operator::Window(w) = op {
                w.stats.peak_open_windows = w.open_windows();
            }
        }
    }

    /// The event under way has ended: records what it created, and puts each window job's peak
    /// during the event and open windows after it into `peaks`.
    pub(crate) fn end_event(&mut self, peaks: &mut Vec<u64>) {
        let Some(t) = self.tracker.as_mut() else { return };
        for (k, op) in self.operators.iter().enumerate() {
            let created = op.created();
            if t.created[k].len() < created {
                t.created[k].resize(created, t.key);
            }
            match op {
                // A window job has no merge samples or carried values, and its figures may wait to
                // be settled until the end of the shard's batch (`Pipeline::push_in_run`).
                Operator::Window(w) => {
                    peaks.push(w.stats.peak_open_windows);
                    peaks.push(w.open_windows());
                }
                Operator::Merge(m) => {
                    if t.samples[k].len() < m.stats.merge.samples.len() {
                        t.samples[k].resize(m.stats.merge.samples.len(), t.key);
                    }
                    for (key, carried) in t.carried[k].iter_mut().zip(&m.stats.carried) {
                        if key.is_none() && carried.example.is_some() {
                            *key = Some(t.key);
                        }
                    }
                }
            }
        }
        if t.tallies.len() < self.series.tallies.len() {
            t.tallies.resize(self.series.tallies.len(), t.key);
        }
    }

    /// End of input for a shard: as [`Pipeline::finish`], with each flush batch an event of its
    /// own. A job flushes every batch before any is delivered, so the skips it records on the way
    /// are given the events of their assets' batches here.
    pub(crate) fn finish_events(&mut self, sink: &mut dyn EventSink) {
        let mut segment = Emitted::default();
        let mut peaks = Vec::new();
        for op in 0..self.operators.len() {
            let mut out = std::mem::take(&mut self.scratch[op]);
            let mut marks = Vec::new();
            let mut done = false;
            // A part at a time, as `Pipeline::finish` does: a job's whole flush would hold every
            // row of every window still open in the shard at once.
            while !done {
                out.marks = Some(std::mem::take(&mut marks));
                done = self.operators[op].finish_part(&mut out, FLUSH_PART);
                marks = out.marks.take().unwrap_or_default();
                let Some(t) = self.tracker.as_mut() else { return };
                t.flush_skips(op, self.operators[op].stats(), &marks);
                let (total, total_dropped) = (out.points.len(), out.dropped.len());
                let mut points = out.points.drain(..);
                let mut dropped = out.dropped.drain(..);
                for (k, mark) in marks.iter().enumerate() {
                    let len = marks.get(k + 1).map_or(total, |next| next.point) - mark.point;
                    segment.points.extend(points.by_ref().take(len));
                    let len = marks.get(k + 1).map_or(total_dropped, |next| next.dropped) - mark.dropped;
                    segment.dropped.extend(dropped.by_ref().take(len));
                    let Some(t) = self.tracker.as_mut() else { return };
                    let key = FLUSH | t.flushes;
                    t.flushes += 1;
                    let created = t.created[op].get(mark.series as usize).copied().unwrap_or(key);
                    self.begin_event(key);
                    self.deliver(&mut segment, sink);
                    peaks.clear();
                    self.end_event(&mut peaks);
                    let event = FlushEvent { op: op as u32, at: mark.at, created, series: mark.series };
                    sink.flushed(event, &peaks);
                }
                drop(points);
                drop(dropped);
                marks.clear();
            }
            self.scratch[op] = out;
        }
    }

    /// What a shard's figures are once its input is flushed, to be added up on another thread.
    pub(crate) fn into_figures(self) -> Figures {
        let operators = self.operators;
        Figures {
            readings: self.readings,
            unrouted: self.unrouted,
            points_written: self.points_written,
            late_written: self.late_written,
            late_far_behind: self.late_far_behind,
            input_points: self.input_points,
            input_models: self.input_models,
            tallies: self.series.tallies,
            jobs: operators.iter().map(|op| op.stats().clone()).collect(),
            tracker: self.tracker.map(|t| *t).unwrap_or_default(),
        }
    }

    /// Takes in the figures of the shards of a sharded run (this pipeline read nothing itself):
    /// `ordinals[s]` numbers shard `s`'s flush events as the merger ordered them, and `peaks` is
    /// the peak of open windows of each window job over all shards, as the merger counted it.
    pub(crate) fn absorb_shards(&mut self, shards: &[Figures], ordinals: &[Vec<u64>], peaks: &[u64]) {
        let resolve = |s: usize, key: u64| match key & FLUSH {
            0 => key,
            _ => ordinals[s].get((key & !FLUSH) as usize).copied().unwrap_or(u64::MAX),
        };
        let mut tallies = Vec::new();
        for (s, shard) in shards.iter().enumerate() {
            self.readings += shard.readings;
            self.unrouted += shard.unrouted;
            self.points_written += shard.points_written;
            self.late_written += shard.late_written;
            self.late_far_behind += shard.late_far_behind;
            add_counts(&mut self.input_points, &shard.input_points);
            add_counts(&mut self.input_models, &shard.input_models);
            for (k, tally) in shard.tallies.iter().enumerate() {
                tallies.push(((resolve(s, shard.tracker.tallies[k]), s, k), *tally));
            }
            for (mine, theirs) in self.operators.iter_mut().zip(&shard.jobs) {
                add_job(op_stats_mut(mine), theirs);
            }
        }
        tallies.sort_by_key(|&(key, _)| key);
        self.series = SeriesStats::from_tallies(tallies.into_iter().map(|(_, tally)| tally).collect());
        let mut window = 0;
        for (op, mine) in self.operators.iter_mut().enumerate() {
            let is_window = matches!(mine, Operator::Window(_));
            let stats = op_stats_mut(mine);
            let mut samples: Vec<((u64, usize, usize), SkipSample)> = Vec::new();
            let mut examples: Vec<Option<((u64, usize), CarriedExample)>> = vec![None; stats.carried.len()];
            for (s, shard) in shards.iter().enumerate() {
                let theirs = &shard.jobs[op];
                for (k, sample) in theirs.merge.samples.iter().enumerate() {
                    let key = shard.tracker.samples[op].get(k).map_or(u64::MAX, |&key| resolve(s, key));
                    samples.push(((key, s, k), sample.clone()));
                }
                for (pi, carried) in theirs.carried.iter().enumerate() {
                    if let (Some(example), Some(key)) = (&carried.example, shard.tracker.carried[op][pi]) {
                        let key = (resolve(s, key), s);
                        if examples[pi].as_ref().is_none_or(|(first, _)| key < *first) {
                            examples[pi] = Some((key, example.clone()));
                        }
                    }
                }
            }
            samples.sort_by_key(|&(key, _)| key);
            stats.merge.samples = samples.into_iter().take(SAMPLES_PER_JOB).map(|(_, s)| s).collect();
            for (carried, example) in stats.carried.iter_mut().zip(examples) {
                carried.example = example.map(|(_, e)| e);
            }
            if is_window {
                stats.peak_open_windows = peaks.get(window).copied().unwrap_or(0);
                window += 1;
            }
        }
    }
}

/// A shard's figures at the end of its input (see [`Pipeline::into_figures`]).
pub(crate) struct Figures {
    readings: u64,
    unrouted: u64,
    points_written: u64,
    late_written: u64,
    late_far_behind: u64,
    input_points: Vec<u64>,
    input_models: Vec<u64>,
    tallies: Vec<SeriesTally>,
    jobs: Vec<JobStats>,
    tracker: Tracker,
}

fn op_stats_mut(op: &mut Operator) -> &mut JobStats {
    match op {
        Operator::Window(w) => &mut w.stats,
        Operator::Merge(m) => &mut m.stats,
    }
}

fn add_counts(mine: &mut Vec<u64>, theirs: &[u64]) {
    if mine.len() < theirs.len() {
        mine.resize(theirs.len(), 0);
    }
    for (a, b) in mine.iter_mut().zip(theirs) {
        *a += b;
    }
}

/// Adds a shard's figures of one job to `mine`: the sums, and the latest watermark. The peak of
/// open windows, the skip samples and the carried-over examples are the caller's (they need the
/// order of events).
fn add_job(mine: &mut JobStats, theirs: &JobStats) {
    let JobStats {
        name: _,
        file: _,
        rows_read,
        kept,
        rows_written,
        late_dropped,
        partially_late,
        future_skewed,
        quality_filtered,
        duplicates: _,
        repeats,
        repeats_changed,
        revisions,
        peak_open_windows: _,
        final_watermark,
        policies,
        merge,
        carried,
        updates_left_standing,
    } = theirs;
    mine.rows_read += rows_read;
    mine.kept += kept;
    mine.rows_written += rows_written;
    mine.late_dropped += late_dropped;
    mine.partially_late += partially_late;
    mine.future_skewed += future_skewed;
    mine.quality_filtered += quality_filtered;
    mine.repeats += repeats;
    if let (Some(a), Some(b)) = (mine.repeats_changed.as_mut(), repeats_changed) {
        *a += b;
    }
    mine.revisions += revisions;
    mine.updates_left_standing += updates_left_standing;
    mine.final_watermark = mine.final_watermark.max(*final_watermark);
    for (a, b) in mine.policies.iter_mut().zip(policies) {
        add_policy(a, b);
    }
    let MergeSkips { missing_operand, stale_operand, eval_error, non_finite, empty, samples: _ } = merge;
    mine.merge.missing_operand += missing_operand;
    mine.merge.stale_operand += stale_operand;
    mine.merge.eval_error += eval_error;
    mine.merge.non_finite += non_finite;
    mine.merge.empty += empty;
    for (a, b) in mine.carried.iter_mut().zip(carried) {
        a.rows += b.rows;
        a.oldest_age = a.oldest_age.max(b.oldest_age);
    }
}

fn add_policy(mine: &mut PolicyStats, theirs: &PolicyStats) {
    let PolicyStats {
        input: _,
        output: _,
        read,
        valid,
        out_of_threshold,
        interpolated,
        late_accepted,
        late_dropped,
        partially_late,
        windows_missed,
        repeats,
        rows_written,
        non_finite,
        below_min_count,
        below_min_coverage,
        exchanges,
        outside_slope,
        beyond_max_gap,
        nothing_integrated,
    } = theirs;
    mine.read += read;
    mine.valid += valid;
    mine.out_of_threshold += out_of_threshold;
    mine.interpolated += interpolated;
    mine.late_accepted += late_accepted;
    mine.late_dropped += late_dropped;
    mine.partially_late += partially_late;
    mine.windows_missed += windows_missed;
    mine.repeats += repeats;
    mine.rows_written += rows_written;
    mine.non_finite += non_finite;
    mine.below_min_count += below_min_count;
    mine.below_min_coverage += below_min_coverage;
    mine.exchanges += exchanges;
    mine.outside_slope += outside_slope;
    mine.beyond_max_gap += beyond_max_gap;
    mine.nothing_integrated += nothing_integrated;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::names::Names;
    use crate::engine::{Dropped, EngineOptions, NO_MODEL, Point, Reading};
    use crate::job::load_sources;

    /// Counts a shard's rows and flush events.
    #[derive(Default)]
    struct Count {
        points: usize,
        events: usize,
    }

    impl Sink for Count {
        fn point(&mut self, _: &Point) {
            self.points += 1;
        }
        fn dropped(&mut self, _: &Dropped) {}
    }

    impl EventSink for Count {
        fn flushed(&mut self, _: FlushEvent, _: &[u64]) {
            self.events += 1;
        }
    }

    /// A shard flushes a part at a time, as one pipeline does: with 5,000 windows open at the end
    /// of input, the job's buffer never holds them all (it held every row at once before).
    #[test]
    fn a_shards_flush_holds_a_part_at_a_time() {
        let job = "name: j\ntemplate: time_window_aggregation\nmodel: M\nlatency: 0s\npolicies:\n  - input: A\n    \
                   aggregation: max\n    window_size: 10m\n    output: MaxA\n";
        let jobs = load_sources(vec![("j.yaml".into(), job.as_bytes().to_vec())]).unwrap();
        let mut names = Names::default();
        let mut pipeline = Pipeline::new(jobs, &mut names, EngineOptions::default());
        pipeline.track_events();
        let point = names.points.intern("A");
        let mut sink = Count::default();
        let assets = 5_000;
        for k in 0..assets {
            let asset = names.assets.intern(&format!("m{k}"));
            pipeline.begin_event(k);
            pipeline.push(Reading { asset, point, model: NO_MODEL, ts: 0, value: 1.0, quality: 0 }, &mut sink);
            pipeline.end_event(&mut Vec::new());
        }
        assert_eq!(sink.points, 0);
        pipeline.finish_events(&mut sink);
        assert_eq!((sink.points, sink.events), (assets as usize, assets as usize));
        let held = pipeline.scratch[0].points.capacity();
        assert!(held <= 2 * FLUSH_PART, "the flush's buffer grew to {held} rows");
    }
}

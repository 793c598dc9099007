//! What each job did: the figures of the run summary and `--stats-json`.

use super::watermark::NO_WATERMARK;
use super::{DropReason, Dropped, FAR_BEHIND, Reading};
use crate::job::{Job, JobKind};
use crate::time::format_timestamp;
use serde::{Deserialize, Serialize, Serializer};

/// How many skipped evaluations of each cause are described individually.
pub(crate) const SAMPLES_PER_JOB: usize = 5;

/// Adds one to `counts[id]`, growing the table as ids appear.
#[inline]
pub(crate) fn count_into(counts: &mut Vec<u64>, id: u32) {
    match counts.get_mut(id as usize) {
        Some(n) => *n += 1,
        None => {
            counts.resize(id as usize + 1, 0);
            counts[id as usize] = 1;
        }
    }
}

/// Figures of one window policy (one output point). Field order is the order of `--stats-json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyStats {
    /// The point the policy reads.
    pub(crate) input: String,
    pub output: String,
    /// Readings of the policy's input point.
    pub read: u64,
    /// Readings added to at least one window (on time or late within lateness).
    pub valid: u64,
    pub out_of_threshold: u64,
    /// Out-of-threshold readings replaced by the series' last valid value (`last_value`).
    pub(crate) interpolated: u64,
    /// Readings added to at least one window that had closed.
    pub(crate) late_accepted: u64,
    /// Readings dropped from every window they belong to: they changed nothing.
    pub late_dropped: u64,
    /// Readings added to some of their (sliding) windows and too late for others.
    pub(crate) partially_late: u64,
    /// The windows those partially late readings missed.
    pub(crate) windows_missed: u64,
    /// Repeats (readings whose timestamp the series had while a window of theirs could still
    /// change) the job's `duplicates` rule took: dropped (`first`) or replacing the earlier value
    /// (`last`). Under `keep` repeats count as new readings.
    pub(crate) repeats: u64,
    pub(crate) rows_written: u64,
    /// Windows whose sum or average overflowed the float range: no row written.
    pub(crate) non_finite: u64,
    /// Windows with fewer valid readings than the policy's `min_count`: no row written.
    pub(crate) below_min_count: u64,
    /// Windows holding less than the policy's `min_coverage` of their expected readings: no row
    /// written.
    pub(crate) below_min_coverage: u64,
    /// `delta` steps across a meter exchange (`reset: exchange`), left out of the increase.
    pub(crate) exchanges: u64,
    /// `delta` steps whose increase per hour lay outside the policy's `slope`, left out.
    pub(crate) outside_slope: u64,
    /// `integral` / `twa` intervals between readings longer than `max_gap`: not integrated.
    pub(crate) beyond_max_gap: u64,
    /// `integral` / `twa` windows in which no interval was integrated: no row written.
    pub(crate) nothing_integrated: u64,
}

/// Why a merge evaluation wrote no row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MergeSkips {
    pub(crate) missing_operand: u64,
    /// An operand's latest value was older than the job's `max_age`.
    pub(crate) stale_operand: u64,
    pub(crate) eval_error: u64,
    pub(crate) non_finite: u64,
    pub(crate) empty: u64,
    /// The first few skips, with asset and timestamp: written with their asset's name by the
    /// report, which has the name table.
    #[serde(skip)]
    pub(crate) samples: Vec<SkipSample>,
}

/// One merge evaluation that wrote no row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SkipSample {
    pub(crate) asset: u32,
    pub(crate) ts: i64,
    pub(crate) reason: String,
}

/// Rows a merge policy wrote from an operand value carried over from before the previous trigger
/// time (the previous tick, or the trigger point's previous reading of the asset): the value had
/// not changed since a row was last evaluated, as when a meter went silent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CarriedOver {
    /// The policy's output point.
    pub(crate) output: String,
    /// The job's `max_age`, which would have left such rows out.
    pub(crate) max_age: Option<i64>,
    /// The trigger period of a frequency trigger (its shortest, for months).
    pub(crate) every: Option<i64>,
    pub(crate) rows: u64,
    /// The oldest operand value among them: its age at the trigger time, in ms.
    pub(crate) oldest_age: i64,
    /// The first such row.
    pub(crate) example: Option<CarriedExample>,
}

/// One row written from a carried-over operand value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CarriedExample {
    pub(crate) asset: u32,
    /// The trigger time.
    pub(crate) ts: i64,
    /// The operand, as the job names it.
    pub(crate) operand: String,
    /// Its value's age at the trigger time, in ms.
    pub(crate) age: i64,
}

/// Figures of one job. Field order is the order of `--stats-json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStats {
    pub(crate) name: String,
    pub(crate) file: String,
    pub rows_read: u64,
    /// Readings no policy dropped as late (they may still be out of threshold).
    pub(crate) kept: u64,
    pub(crate) rows_written: u64,
    /// Readings dropped as late: by at least one policy of a window job, or by a merge.
    pub late_dropped: u64,
    /// Readings of a window job kept by every policy but too late for some of their sliding
    /// windows: each is a row of the late output too.
    pub(crate) partially_late: u64,
    /// Readings held back as too far ahead of their watermark (`max_future_skew`) that no later
    /// reading confirmed: dropped (a glitch, replaced, or undecided at the end of input), they never
    /// moved it nor entered a window.
    pub(crate) future_skewed: u64,
    /// Readings left out by the job's `quality` condition, before anything else (not in `rows_read`).
    pub(crate) quality_filtered: u64,
    /// The job's `duplicates` rule (`last`, `first` or `keep`), as the run applied it.
    pub(crate) duplicates: Option<String>,
    /// Input readings whose (asset, point, timestamp) the job had already read while it could
    /// still change what they belong to.
    pub(crate) repeats: u64,
    /// Of those, the ones whose value differed from the value held; `None` where only timestamps
    /// are kept (`first` and `keep` window jobs), so values were not compared.
    pub(crate) repeats_changed: Option<u64>,
    /// Input rows carrying meterflow's `emit`/`revision` columns that replaced an earlier revision
    /// of their key.
    pub(crate) revisions: u64,
    /// Most windows open at once (window jobs), the figure `--max-open-windows` bounds.
    pub(crate) peak_open_windows: u64,
    /// Largest watermark of the job, [`NO_WATERMARK`] when it read nothing (`null` in JSON).
    #[serde(serialize_with = "watermark_json")]
    pub(crate) final_watermark: i64,
    pub policies: Vec<PolicyStats>,
    /// Written as `merge_skipped` by the report, with the samples' asset names.
    #[serde(skip)]
    pub(crate) merge: MergeSkips,
    /// Per merge policy, written as `carried_over` by the report, with the example's asset name.
    #[serde(skip)]
    pub(crate) carried: Vec<CarriedOver>,
    /// `updates` mode: rows written for a window that a later reading or correction left with no
    /// row in `final` mode (no valid reading left, below `min_count` or `min_coverage`, or not
    /// finite). A row written cannot be taken back, so they stand; the run warns. This run's
    /// only: `--state` does not keep it.
    #[serde(skip)]
    pub(crate) updates_left_standing: u64,
}

/// A watermark as its timestamp text, or `null` when there is none. A binary format (the state
/// file) keeps the number itself, which the derived `Deserialize` reads back.
fn watermark_json<S: Serializer>(ms: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    if !serializer.is_human_readable() {
        return serializer.serialize_i64(*ms);
    }
    if *ms == NO_WATERMARK {
        return serializer.serialize_none();
    }
    let mut text = Vec::with_capacity(24);
    format_timestamp(*ms, &mut text);
    serializer.serialize_str(&String::from_utf8_lossy(&text))
}

impl JobStats {
    pub(crate) fn new(job: &Job) -> JobStats {
        let policies = match &job.kind {
            JobKind::Window(w) => w
                .policies
                .iter()
                .map(|p| PolicyStats { input: p.input.clone(), output: p.output.clone(), ..PolicyStats::default() })
                .collect(),
            JobKind::Merge(_) => Vec::new(),
        };
        let carried = match &job.kind {
            JobKind::Window(_) => Vec::new(),
            JobKind::Merge(m) => m
                .policies
                .iter()
                .map(|p| CarriedOver {
                    output: p.output.clone(),
                    max_age: m.max_age,
                    every: match m.trigger {
                        crate::job::Trigger::Frequency { every, .. } => Some(every.shortest_ms()),
                        crate::job::Trigger::Point => None,
                    },
                    ..CarriedOver::default()
                })
                .collect(),
        };
        JobStats {
            name: job.name.clone(),
            file: job.file.clone(),
            rows_read: 0,
            kept: 0,
            policies,
            merge: MergeSkips::default(),
            carried,
            updates_left_standing: 0,
            late_dropped: 0,
            partially_late: 0,
            future_skewed: 0,
            quality_filtered: 0,
            duplicates: None,
            repeats: 0,
            repeats_changed: None,
            revisions: 0,
            rows_written: 0,
            peak_open_windows: 0,
            final_watermark: NO_WATERMARK,
        }
    }
}

/// What the per-series anomaly warnings need of one input series (asset x point).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SeriesTally {
    pub(crate) asset: u32,
    pub(crate) point: u32,
    pub(crate) readings: u64,
    /// Readings dropped as late beyond lateness by at least one job.
    pub(crate) late: u64,
    /// Those of them more than [`FAR_BEHIND`] behind the watermark they were dropped against.
    pub(crate) late_far_behind: u64,
    /// The highest watermark one of them was dropped against.
    pub(crate) late_watermark: i64,
    /// The latest timestamp of the series.
    pub(crate) latest: i64,
    /// The largest step its latest timestamp took in one reading: from, to.
    pub(crate) jump: (i64, i64),
    /// Readings held back as too far ahead of their watermark and never confirmed (by at least
    /// one job), and the timestamps of the first and of the latest.
    pub(crate) skewed: u64,
    pub(crate) skewed_at: (i64, i64),
}

/// Per input series, readings, late drops and the largest jump of its event time, for the
/// warnings about one series (a meter with a bad clock) that figures over all series hide.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SeriesStats {
    /// Index into `tallies` by point, then asset; `u32::MAX` where a series has not been seen.
    index: Vec<Vec<u32>>,
    pub(crate) tallies: Vec<SeriesTally>,
}

impl SeriesStats {
    /// Counts an input reading; returns its series' index.
    #[inline]
    pub(crate) fn reading(&mut self, asset: u32, point: u32, ts: i64) -> usize {
        let k = self.series(asset, point);
        let tally = &mut self.tallies[k];
        tally.readings += 1;
        if ts > tally.latest {
            if tally.readings > 1 && ts - tally.latest > tally.jump.1 - tally.jump.0 {
                tally.jump = (tally.latest, ts);
            }
            tally.latest = ts;
        }
        k
    }

    /// The tallies of several series stats (of a sharded run), put in the order they appeared.
    pub(crate) fn from_tallies(tallies: Vec<SeriesTally>) -> SeriesStats {
        let mut stats = SeriesStats::default();
        for tally in tallies {
            let k = stats.series(tally.asset, tally.point);
            stats.tallies[k] = tally;
        }
        stats
    }

    /// Whether every index of a restored state points into its tallies.
    pub(crate) fn fits(&self) -> bool {
        self.index.iter().flatten().all(|&k| k == u32::MAX || (k as usize) < self.tallies.len())
    }

    /// Counts an input reading of series `k` stamped `ts` dropped as late against `watermark`.
    pub(crate) fn late(&mut self, k: usize, ts: i64, watermark: i64) {
        let tally = &mut self.tallies[k];
        tally.late += 1;
        tally.late_far_behind += u64::from(watermark.saturating_sub(ts) > FAR_BEHIND);
        tally.late_watermark = tally.late_watermark.max(watermark);
    }

    /// Counts a reading dropped as too far ahead of its watermark (`max_future_skew`); a series that
    /// is not an input series (a point a job writes) has no tally, and other drops count elsewhere.
    pub(crate) fn skewed(&mut self, d: &Dropped) {
        let Reading { asset, point, ts, .. } = d.reading;
        if d.reason != DropReason::FutureSkewed {
            return;
        }
        let Some(&k) = self.index.get(point as usize).and_then(|row| row.get(asset as usize)) else { return };
        let Some(tally) = self.tallies.get_mut(k as usize) else { return };
        // Jobs reading the same series drop the same reading: counted once.
        if tally.skewed > 0 && tally.skewed_at.1 == ts {
            return;
        }
        if tally.skewed == 0 {
            tally.skewed_at.0 = ts;
        }
        tally.skewed_at.1 = ts;
        tally.skewed += 1;
    }

    /// The series' index: a lookup on every input reading, so the known series is the inlined
    /// fast path and a new one the out-of-line slow path.
    #[inline]
    fn series(&mut self, asset: u32, point: u32) -> usize {
        match self.index.get(point as usize).and_then(|row| row.get(asset as usize)) {
            Some(&k) if k != u32::MAX => k as usize,
            _ => self.new_series(asset, point),
        }
    }

    #[cold]
    fn new_series(&mut self, asset: u32, point: u32) -> usize {
        let (p, a) = (point as usize, asset as usize);
        if self.index.len() <= p {
            self.index.resize_with(p + 1, Vec::new);
        }
        if self.index[p].len() <= a {
            self.index[p].resize(a + 1, u32::MAX);
        }
        if self.index[p][a] == u32::MAX {
            self.index[p][a] = self.tallies.len() as u32;
            self.tallies.push(SeriesTally {
                asset,
                point,
                readings: 0,
                late: 0,
                late_far_behind: 0,
                late_watermark: NO_WATERMARK,
                latest: NO_WATERMARK,
                jump: (0, 0),
                skewed: 0,
                skewed_at: (NO_WATERMARK, NO_WATERMARK),
            });
        }
        self.index[p][a] as usize
    }
}

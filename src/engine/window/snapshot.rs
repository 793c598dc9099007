//! What a window operator carries from one run to the next (see [`crate::replay::state`]): every
//! field that changes as readings arrive, the series' logs included, so a repeat that arrives
//! after a cut is recognised as it would be in one run. The plan's part (groups, layouts, latency)
//! is not saved: the resumed run builds it again from job files whose fingerprint matched.

use super::{ABSENT, Series, WindowOperator};
use crate::engine::WatermarkScope;
use crate::engine::accumulator::Samples;
use crate::engine::clock::Clock;
use crate::engine::open_windows::Slots;
use crate::engine::repeats::Log;
use crate::engine::stats::JobStats;
use crate::engine::watermark::NO_WATERMARK;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
pub struct WindowState {
    series_of: Vec<Vec<u32>>,
    series: Vec<Series>,
    rings: Vec<Slots>,
    logs: Vec<Log>,
    clocks: Vec<Clock>,
    asset_clock: Vec<u32>,
    samples: Samples,
    open_windows: u64,
    open_readings: u64,
    stats: JobStats,
}

impl WindowState {
    /// Series (asset x input point) seen so far.
    pub(crate) fn series(&self) -> usize {
        self.series.len()
    }

    /// Windows open, over all series and policies.
    pub(crate) fn open_windows(&self) -> u64 {
        self.open_windows
    }

    /// Timestamps held to recognise repeats, over all series.
    pub(crate) fn open_readings(&self) -> u64 {
        self.open_readings
    }

    /// The lowest and highest watermark over the clocks that have one.
    pub(crate) fn watermarks(&self) -> Option<(i64, i64)> {
        let marks = self.clocks.iter().map(|c| c.watermark).filter(|&w| w != NO_WATERMARK);
        marks.fold(None, |range, w| Some(range.map_or((w, w), |(lo, hi): (i64, i64)| (lo.min(w), hi.max(w)))))
    }

    pub(crate) fn stats(&self) -> &JobStats {
        &self.stats
    }
}

impl WindowOperator {
    pub(crate) fn save(&self) -> WindowState {
        debug_assert!(self.figures_settled(), "figures saved before the pipeline settled them");
        WindowState {
            series_of: self.series_of.clone(),
            series: self.series.clone(),
            rings: self.rings.clone(),
            logs: self.logs.clone(),
            clocks: self.clocks.clone(),
            asset_clock: self.asset_clock.clone(),
            samples: self.samples.clone(),
            open_windows: self.open_windows,
            open_readings: self.open_readings,
            stats: self.stats.clone(),
        }
    }

    /// Puts a saved state back, keeping this run's job name and file. Refuses a state whose shape
    /// does not fit the plan or whose asset ids pass the table's `assets` names: no index is out of range.
    pub(crate) fn restore(&mut self, state: WindowState, assets: usize) -> Result<(), String> {
        let groups = self.groups.len();
        let series = state.series.len();
        let clocks = state.clocks.len();
        let rings_fit = state.rings.len() == series * groups
            && state.rings.iter().enumerate().all(|(i, ring)| {
                let group = &self.groups[i % groups];
                ring.stride() == group.fused.stride()
                    && ring.ordered()
                    && (0..ring.len())
                        .all(|k| group.fused.sample_list(ring.slot(k)).is_none_or(|l| state.samples.holds(l)))
            });
        let within = |ids: &[u32], bound: usize| ids.iter().all(|&i| i == ABSENT || (i as usize) < bound);
        let fits = state.series_of.len() == self.inputs.len()
            && state.series_of.iter().all(|by_asset| by_asset.len() <= assets && within(by_asset, series))
            && rings_fit
            && state.logs.len() == series
            && state.logs.iter().all(Log::consistent)
            && state.logs.iter().map(Log::held).sum::<u64>() == state.open_readings
            && state
                .series
                .iter()
                .all(|s| s.clock < clocks && s.registers.len() == groups && self.inputs.contains(&s.input))
            && state.series.iter().all(|s| (s.asset as usize) < assets)
            && state.asset_clock.len() <= assets
            && within(&state.asset_clock, clocks)
            && state
                .clocks
                .iter()
                .flat_map(|c| c.timers.iter())
                .all(|t| (t.series as usize) < series && (t.group as usize) < groups)
            && state.clocks.iter().filter_map(|c| c.guard.held()).all(|h| {
                // A reading held back belongs to a series of the job.
                let input = self.inputs.iter().position(|&p| p == h.reading.point);
                input.and_then(|i| state.series_of[i].get(h.reading.asset as usize)).is_some_and(|&k| k != ABSENT)
            })
            && state.stats.policies.len() == self.policies.len()
            && (self.scope != WatermarkScope::Global || clocks == 1);
        if !fits {
            return Err(format!("the saved windows of job `{}` do not fit its plan", self.stats.name));
        }
        let (name, file) = (std::mem::take(&mut self.stats.name), std::mem::take(&mut self.stats.file));
        self.series_of = state.series_of;
        self.series = state.series;
        self.rings = state.rings;
        self.logs = state.logs;
        self.clocks = state.clocks;
        self.asset_clock = state.asset_clock;
        self.samples = state.samples;
        self.open_windows = state.open_windows;
        self.open_readings = state.open_readings;
        self.stats = JobStats { name, file, ..state.stats };
        Ok(())
    }
}

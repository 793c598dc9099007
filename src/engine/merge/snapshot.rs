//! What a merge operator carries from one run to the next (see `replay::state`).

use super::{AssetState, MergeOperator};
use crate::engine::stats::{CarriedOver, JobStats, MergeSkips, SkipSample};
use crate::engine::watermark::NO_WATERMARK;
use serde::{Deserialize, Serialize};

/// What a merge operator carries from one run to the next (see [`crate::replay::state`]): per policy, the
/// operand histories, pending ticks and trigger times of every asset; the asset order; and the
/// figures. The expressions and horizons are built again from the plan.
#[derive(Clone, Serialize, Deserialize)]
pub struct MergeState {
    assets: Vec<Vec<Option<AssetState>>>,
    asset_order: Vec<u32>,
    seen_asset: Vec<bool>,
    stats: JobStats,
    /// Kept apart from `stats`, whose JSON form leaves them out (the report writes them).
    skips: MergeSkips,
    skip_samples: Vec<SkipSample>,
    carried: Vec<CarriedOver>,
}

impl MergeState {
    /// Assets seen so far.
    pub(crate) fn assets(&self) -> usize {
        self.asset_order.len()
    }

    /// Trigger times evaluated or due and not yet final, over all policies and assets.
    pub(crate) fn pending(&self) -> u64 {
        let states = self.assets.iter().flatten().flatten();
        states.map(|s| (s.triggers.len() + s.evaluated.len()) as u64).sum()
    }

    /// The lowest and highest operand watermark.
    pub(crate) fn watermarks(&self) -> Option<(i64, i64)> {
        let marks = self.assets.iter().flatten().flatten().flat_map(|s| s.series.iter().map(|o| o.watermark));
        marks
            .filter(|&w| w != NO_WATERMARK)
            .fold(None, |range, w| Some(range.map_or((w, w), |(lo, hi): (i64, i64)| (lo.min(w), hi.max(w)))))
    }

    pub(crate) fn stats(&self) -> &JobStats {
        &self.stats
    }
}

impl MergeOperator {
    pub(crate) fn save(&self) -> MergeState {
        let mut skips = self.stats.merge.clone();
        let skip_samples = std::mem::take(&mut skips.samples);
        MergeState {
            assets: self.policies.iter().map(|p| p.assets.clone()).collect(),
            asset_order: self.asset_order.clone(),
            seen_asset: self.seen_asset.clone(),
            stats: self.stats.clone(),
            skips,
            skip_samples,
            carried: self.stats.carried.clone(),
        }
    }

    /// Puts a saved state back, refusing one whose shape does not fit this operator's plan or
    /// whose asset ids reach past the `assets` names of the table.
    pub(crate) fn restore(&mut self, state: MergeState, assets: usize) -> Result<(), String> {
        let fits = state.assets.len() == self.policies.len()
            && state.assets.iter().all(|by_asset| by_asset.len() <= assets)
            && state.seen_asset.len() <= assets
            && state.skip_samples.iter().all(|s| (s.asset as usize) < assets)
            && state
                .assets
                .iter()
                .zip(&self.policies)
                .all(|(assets, p)| assets.iter().flatten().all(|s| s.series.len() == p.horizons.len()))
            && state.assets.iter().zip(&self.policies).all(|(by_asset, p)| {
                // A reading held back belongs to its asset and to the point of its series.
                by_asset.iter().enumerate().all(|(asset, s)| {
                    s.iter().flat_map(|s| s.series.iter().enumerate()).all(|(k, series)| {
                        series.guard.held().is_none_or(|h| {
                            let point = p.operands.get(k).copied().or(p.trigger.map(|(id, _)| id));
                            h.reading.asset as usize == asset && Some(h.reading.point) == point
                        })
                    })
                })
            })
            && state.asset_order.iter().all(|&a| state.seen_asset.get(a as usize) == Some(&true))
            && state.carried.len() == self.policies.len();
        if !fits {
            return Err(format!("the saved operands of job `{}` do not fit its plan", self.stats.name));
        }
        for (policy, assets) in self.policies.iter_mut().zip(state.assets) {
            policy.assets = assets;
        }
        let series = self.policies.iter().flat_map(|p| p.assets.iter().flatten()).map(|s| s.series.len() as u64);
        self.series_held = series.sum();
        self.asset_order = state.asset_order;
        self.seen_asset = state.seen_asset;
        let (name, file) = (std::mem::take(&mut self.stats.name), std::mem::take(&mut self.stats.file));
        let merge = MergeSkips { samples: state.skip_samples, ..state.skips };
        self.stats = JobStats { name, file, merge, carried: state.carried, ..state.stats };
        Ok(())
    }
}

//! The pipeline's state between two runs of an incremental replay: each operator's state and the
//! pipeline's own counters. Saving it instead of flushing at end of input, and restoring it into a
//! pipeline built from the same jobs, continues the stream exactly where it stopped: the engine
//! sees one sequence of readings whatever the number of runs it was cut into.

use super::merge::MergeState;
use super::stats::SeriesStats;
use super::window::WindowState;
use super::{Operator, Pipeline};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
pub enum OperatorState {
    Window(WindowState),
    Merge(MergeState),
}

impl OperatorState {
    pub(crate) fn stats(&self) -> &super::stats::JobStats {
        match self {
            OperatorState::Window(w) => w.stats(),
            OperatorState::Merge(m) => m.stats(),
        }
    }
}

/// Operator states in run order, and the figures the accounting draws from the pipeline.
#[derive(Clone, Serialize, Deserialize)]
pub struct PipelineState {
    pub(crate) operators: Vec<OperatorState>,
    readings: u64,
    unrouted: u64,
    points_written: u64,
    late_written: u64,
    input_points: Vec<u64>,
    late_far_behind: u64,
    series: SeriesStats,
}

impl PipelineState {
    /// Readings the pipeline received, and output and late rows it handed on, over every run.
    pub(crate) fn totals(&self) -> (u64, u64, u64) {
        (self.readings, self.points_written, self.late_written)
    }
}

impl Pipeline {
    /// The state to resume from: what [`Pipeline::finish`] would flush stays open in it.
    pub(crate) fn save(&self) -> PipelineState {
        PipelineState {
            operators: self
                .operators
                .iter()
                .map(|op| match op {
                    Operator::Window(w) => OperatorState::Window(w.save()),
                    Operator::Merge(m) => OperatorState::Merge(m.save()),
                })
                .collect(),
            readings: self.readings,
            unrouted: self.unrouted,
            points_written: self.points_written,
            late_written: self.late_written,
            input_points: self.input_points.clone(),
            late_far_behind: self.late_far_behind,
            series: self.series.clone(),
        }
    }

    /// Continues from `state`, saved by a pipeline of the same jobs in the same order, whose name
    /// table holds `assets` names: an asset id at or past it is refused here, before any name
    /// lookup could run past the table.
    pub(crate) fn restore(&mut self, state: PipelineState, assets: usize) -> Result<(), String> {
        if state.operators.len() != self.operators.len() {
            return Err(format!(
                "the state holds {} jobs, the run has {}",
                state.operators.len(),
                self.operators.len()
            ));
        }
        if !state.series.fits() {
            return Err("the saved per-series figures do not fit together".to_string());
        }
        for (op, saved) in self.operators.iter_mut().zip(state.operators) {
            match (op, saved) {
                (Operator::Window(w), OperatorState::Window(s)) => w.restore(s, assets)?,
                (Operator::Merge(m), OperatorState::Merge(s)) => m.restore(s, assets)?,
                (op, _) => return Err(format!("job `{}` changed its template", op.stats().name)),
            }
        }
        self.readings = state.readings;
        self.unrouted = state.unrouted;
        self.points_written = state.points_written;
        self.late_written = state.late_written;
        self.input_points = state.input_points;
        self.late_far_behind = state.late_far_behind;
        self.series = state.series;
        Ok(())
    }
}

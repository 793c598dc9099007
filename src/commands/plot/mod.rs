//! `meterflow plot`: one asset's input readings and output points over a time range, as SVG.

pub mod chart;

use super::{Failure, InputPath};
use crate::engine::EngineOptions;
use crate::input::{self, BadRows, InputOptions};
use crate::job::load_jobs;
use crate::replay::Replay;
use anyhow::Context;
use chart::PlotData;
use std::path::PathBuf;

/// What `meterflow plot` draws, resolved from its flags.
pub struct Settings {
    pub(crate) jobs: Vec<PathBuf>,
    pub(crate) inputs: Vec<InputPath>,
    pub(crate) input: InputOptions,
    /// `--rejects`: where skipped bad rows are recorded.
    pub(crate) rejects: Option<PathBuf>,
    /// The asset drawn.
    pub(crate) asset: String,
    /// The time range drawn, `[from, to)` in ms; open ends follow the asset's readings.
    pub(crate) from: Option<i64>,
    pub(crate) to: Option<i64>,
    /// The SVG file and the chart's size in pixels.
    pub(crate) output: PathBuf,
    pub(crate) size: (u32, u32),
}

pub(crate) fn plot(args: Settings) -> Result<(), Failure> {
    let jobs = load_jobs(&args.jobs).map_err(Failure::Jobs)?;
    let mut data = PlotData::new(&args.asset, &jobs);
    let rejects = match &args.rejects {
        Some(path) if path.as_os_str() == "-" => Some(Box::new(std::io::stdout()) as Box<dyn std::io::Write>),
        Some(path) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("failed to create {}", path.display()))?,
        )) as Box<dyn std::io::Write>),
        None => None,
    };
    let bad_rows = BadRows::new(args.input.on_bad_row, rejects)?;
    let mut replay = Replay::new(jobs, EngineOptions::default(), args.input, bad_rows);
    for input in &args.inputs {
        replay.read(&input.name, input::open(&input.path)?, &mut data)?;
    }
    replay.finish(&mut data)?;
    let svg = chart::draw(data, args.from, args.to, args.size)?;
    chart::write(&svg, &args.output)?;
    Ok(())
}

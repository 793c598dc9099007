//! `meterflow plot`: one asset's input readings and output points over a time range, as SVG.

use super::input_paths;
use crate::cli::PlotArgs;
use crate::engine::EngineOptions;
use crate::failure::Failure;
use crate::input;
use crate::job::load_jobs;
use crate::plot::{self, PlotData};
use crate::replay::Replay;
use crate::time::parse_timestamp;
use anyhow::anyhow;

fn timestamp_arg(flag: &str, text: Option<&String>) -> Result<Option<i64>, Failure> {
    text.map(|t| {
        parse_timestamp(t.trim().as_bytes())
            .map_err(|e| Failure::Usage(anyhow!("{flag}: invalid timestamp {t:?}: {e}")))
    })
    .transpose()
}

pub fn plot(args: PlotArgs) -> Result<(), Failure> {
    let from = timestamp_arg("--from", args.from.as_ref())?;
    let to = timestamp_arg("--to", args.to.as_ref())?;
    let jobs = load_jobs(&args.jobs).map_err(Failure::Jobs)?;
    let mut data = PlotData::new(&args.asset, &jobs);
    let mut replay = Replay::long_format(jobs, EngineOptions::default())?;
    for (path, display) in input_paths(&args.inputs) {
        replay.read(&display, input::open(&path)?, &mut data)?;
    }
    replay.finish(&mut data)?;
    let svg = plot::draw(data, from, to, (args.width, args.height))?;
    plot::write(&svg, &args.output)?;
    Ok(())
}

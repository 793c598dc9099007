//! `meterflow plot`: one asset's input readings and output points over a time range, as SVG.

pub mod chart;

use super::{input_paths, input_settings};
use crate::cli::PlotArgs;
use crate::commands::failure::Failure;
use crate::engine::EngineOptions;
use crate::input::{self, BadRows, InputOptions};
use crate::job::load_jobs;
use crate::replay::Replay;
use crate::time::parse_timestamp;
use anyhow::{Context, anyhow};
use chart::PlotData;

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
    let mut settings = input_settings(&args.input)?;
    let Some(asset) = settings.asset.take() else {
        return Err(Failure::Usage(anyhow!("--asset: give the asset to draw")));
    };
    if settings.asset_column.is_none() {
        settings.fallback_asset = Some(asset.clone());
    }
    let input_options = InputOptions::from_settings(&settings).map_err(Failure::Usage)?;
    let jobs = load_jobs(&args.jobs).map_err(Failure::Jobs)?;
    let mut data = PlotData::new(&asset, &jobs);
    let rejects = match &settings.rejects {
        Some(path) if path.as_os_str() == "-" => Some(Box::new(std::io::stdout()) as Box<dyn std::io::Write>),
        Some(path) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("failed to create {}", path.display()))?,
        )) as Box<dyn std::io::Write>),
        None => None,
    };
    let bad_rows = BadRows::new(input_options.on_bad_row, rejects)?;
    let mut replay = Replay::new(jobs, EngineOptions::default(), input_options, bad_rows);
    for (path, display) in input_paths(&args.inputs) {
        replay.read(&display, input::open(&path)?, &mut data)?;
    }
    replay.finish(&mut data)?;
    let svg = chart::draw(data, from, to, (args.width, args.height))?;
    chart::write(&svg, &args.output)?;
    Ok(())
}

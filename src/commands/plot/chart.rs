//! `meterflow plot`: one asset's input readings and the output points the jobs computed from them,
//! over a time range, as an SVG chart. The data comes from a normal replay (the same pipeline as
//! `run`); this module only gathers the asset's share and draws it: readings as lines in event-time
//! order, window outputs as steps over their window, merge outputs as lines with markers, and
//! readings dropped as late beyond lateness as red crosses (left out of the reading line).

use crate::engine::names::Names;
use crate::engine::{Dropped, Point, Reading};
use crate::job::pipeline::external_inputs;
use crate::job::{Job, JobKind};
use crate::output::Output;
use crate::time::format_timestamp;
use crate::time::period::Period;
use anyhow::{Context, Result, bail};
use plotters::prelude::*;
use std::io;

/// Readings and outputs of one point.
#[derive(Debug, Clone, Default)]
struct Series {
    point: String,
    /// (timestamp ms, value), in arrival order until drawn.
    values: Vec<(i64, f64)>,
    /// For window outputs: the window length and aggregation, drawn as steps.
    window: Option<(Period, String)>,
}

/// What a plot shows, gathered during a replay.
#[derive(Debug, Default)]
pub(crate) struct PlotData {
    asset: String,
    inputs: Vec<Series>,
    outputs: Vec<Series>,
    /// (timestamp, point, value) of readings dropped as late beyond lateness.
    dropped: Vec<(i64, String, f64)>,
    /// Points some job reads from the input: the only input points drawn.
    read_by_jobs: Vec<String>,
    asset_id: Option<u32>,
}

fn series<'a>(list: &'a mut Vec<Series>, point: &str) -> &'a mut Series {
    match list.iter().position(|s| s.point == point) {
        Some(i) => &mut list[i],
        None => {
            list.push(Series { point: point.to_string(), ..Series::default() });
            list.last_mut().expect("just pushed")
        }
    }
}

impl PlotData {
    /// Prepares to gather `asset`'s data; window outputs of `jobs` are drawn as steps.
    pub(crate) fn new(asset: &str, jobs: &[Job]) -> PlotData {
        let mut data =
            PlotData { asset: asset.to_string(), read_by_jobs: external_inputs(jobs), ..PlotData::default() };
        for job in jobs {
            match &job.kind {
                JobKind::Window(w) => {
                    for p in &w.policies {
                        series(&mut data.outputs, &p.output).window = Some((p.window_size, p.aggregation.name()));
                    }
                }
                JobKind::Merge(m) => {
                    for p in &m.policies {
                        series(&mut data.outputs, &p.output);
                    }
                }
            }
        }
        data
    }

    fn is_asset(&mut self, asset: u32, names: &Names) -> bool {
        if self.asset_id.is_none() {
            self.asset_id = names.assets.get(&self.asset);
        }
        self.asset_id == Some(asset)
    }
}

impl Output for PlotData {
    fn input(&mut self, r: &Reading, names: &Names) {
        if self.is_asset(r.asset, names) {
            let point = names.points.name(r.point);
            if self.read_by_jobs.iter().any(|p| p == point) {
                series(&mut self.inputs, point).values.push((r.ts, r.value));
            }
        }
    }

    fn point(&mut self, p: &Point, names: &Names) -> io::Result<()> {
        if let (true, Some(v)) = (self.is_asset(p.asset, names), p.value.as_f64()) {
            series(&mut self.outputs, names.points.name(p.point)).values.push((p.ts, v));
        }
        Ok(())
    }

    fn dropped(&mut self, d: &Dropped, names: &Names) -> io::Result<()> {
        let r = d.reading;
        if self.is_asset(r.asset, names) {
            let entry = (r.ts, names.points.name(r.point).to_string(), r.value);
            // A reading read by several policies is dropped by each: mark it once.
            if !self.dropped.contains(&entry) {
                self.dropped.push(entry);
            }
        }
        Ok(())
    }
}

/// Tick spacings the time axis may use, so labels fall on round times.
const TICK_STEPS_MS: [i64; 14] = [
    1_000, 5_000, 15_000, 60_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000,
    43_200_000, 86_400_000,
];

/// Epoch-aligned tick times in `[from, to)`: the smallest round step giving at most 10 ticks.
fn time_ticks(from: i64, to: i64) -> Vec<i64> {
    let span = to - from;
    let step = TICK_STEPS_MS
        .iter()
        .copied()
        .find(|s| span / s <= 10)
        .unwrap_or_else(|| (span / 10 / 86_400_000 + 1) * 86_400_000);
    let first = from.div_euclid(step) * step + if from.rem_euclid(step) == 0 { 0 } else { step };
    (0..).map(|k| first + k * step).take_while(|t| *t < to).collect()
}

/// A time as the axis shows it: `03-01 06:00`, with seconds when the range is short.
fn time_label(ms: i64, with_seconds: bool) -> String {
    let mut out = Vec::new();
    format_timestamp(ms, &mut out);
    let text = String::from_utf8_lossy(&out);
    // format_timestamp writes YYYY-MM-DDTHH:MM:SS.mmmZ; a negative year only shifts the start.
    let t = text.len().saturating_sub(24);
    let end = if with_seconds { t + 19 } else { t + 16 };
    text.get(t + 5..end).map_or_else(|| text.to_string(), |s| s.replace('T', " "))
}

fn full_time(ms: i64) -> String {
    let mut out = Vec::new();
    format_timestamp(ms, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Input readings are blues and greens, outputs warm colours, late drops red.
const INPUT_COLOURS: [RGBColor; 3] = [RGBColor(31, 119, 180), RGBColor(44, 160, 44), RGBColor(23, 190, 207)];
const OUTPUT_COLOURS: [RGBColor; 5] = [
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
];
const LATE_COLOUR: RGBColor = RGBColor(214, 39, 40);

/// Draws `data` between `from` (inclusive) and `to` (exclusive) as SVG text.
pub(crate) fn draw(mut data: PlotData, from: Option<i64>, to: Option<i64>, size: (u32, u32)) -> Result<String> {
    let dropped = std::mem::take(&mut data.dropped);
    for s in &mut data.inputs {
        s.values.retain(|(ts, v)| !dropped.iter().any(|(dts, dp, dv)| dts == ts && *dp == s.point && dv == v));
        s.values.sort_by_key(|(ts, _)| *ts);
    }
    let all_ts = data
        .inputs
        .iter()
        .chain(&data.outputs)
        .flat_map(|s| s.values.iter().map(|(ts, _)| *ts))
        .chain(dropped.iter().map(|d| d.0));
    let (first, last) = all_ts.fold((i64::MAX, i64::MIN), |(lo, hi), ts| (lo.min(ts), hi.max(ts)));
    if first > last {
        bail!("asset {} has no readings of the points the jobs read", data.asset);
    }
    let (from, to) = (from.unwrap_or(first), to.unwrap_or(last + 1));
    if from >= to {
        bail!("the time range is empty: --from {} is not before --to {}", full_time(from), full_time(to));
    }
    let inside = |ts: i64| ts >= from && ts < to;
    for s in data.inputs.iter_mut().chain(data.outputs.iter_mut()) {
        s.values.retain(|(ts, _)| inside(*ts));
    }
    data.outputs.retain(|s| !s.values.is_empty());
    let dropped: Vec<_> = dropped.into_iter().filter(|d| inside(d.0)).collect();
    let values = data
        .inputs
        .iter()
        .chain(&data.outputs)
        .flat_map(|s| s.values.iter().map(|(_, v)| *v))
        .chain(dropped.iter().map(|d| d.2));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        bail!("asset {} has no readings between {} and {}", data.asset, full_time(from), full_time(to));
    }
    let span = if hi > lo { hi - lo } else { 1.0 };
    // Headroom above the data keeps the legend (upper right) off the lines.
    let (bottom, top) = (lo - span * 0.05, hi + span * 0.3);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let title = format!("{}, {} to {}", data.asset, full_time(from), full_time(to));
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((from..to).with_key_points(time_ticks(from, to)), bottom..top)
            .map_err(plot_error)?;
        let with_seconds = to - from <= 2 * 3_600_000;
        chart
            .configure_mesh()
            .y_labels(8)
            .x_label_formatter(&|ms| time_label(*ms, with_seconds))
            .x_desc("event time (UTC)")
            .y_desc("value")
            .draw()
            .map_err(plot_error)?;

        for (i, s) in data.inputs.iter().enumerate() {
            let colour = INPUT_COLOURS[i % INPUT_COLOURS.len()];
            chart
                .draw_series(LineSeries::new(s.values.iter().copied(), colour.stroke_width(1)))
                .map_err(plot_error)?
                .label(format!("{} (input)", s.point))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
        for (i, s) in data.outputs.iter().enumerate() {
            let colour = OUTPUT_COLOURS[i % OUTPUT_COLOURS.len()];
            let style = colour.stroke_width(2);
            let (label, anno) = match &s.window {
                Some((size, aggregation)) => (
                    format!("{} ({aggregation} per {size} window)", s.point),
                    chart
                        .draw_series(s.values.iter().map(|&(ts, v)| {
                            PathElement::new(vec![(ts, v), ((ts + size.shortest_ms()).min(to), v)], style)
                        }))
                        .map_err(plot_error)?,
                ),
                None => {
                    chart
                        .draw_series(s.values.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                        .map_err(plot_error)?;
                    (
                        format!("{} (output)", s.point),
                        chart.draw_series(LineSeries::new(s.values.iter().copied(), style)).map_err(plot_error)?,
                    )
                }
            };
            anno.label(label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        if !dropped.is_empty() {
            let style = LATE_COLOUR.stroke_width(2);
            chart
                .draw_series(dropped.iter().map(|&(ts, _, v)| Cross::new((ts, v), 5, style)))
                .map_err(plot_error)?
                .label("dropped as late beyond lateness")
                .legend(move |(x, y)| Cross::new((x + 10, y), 5, style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

fn plot_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> anyhow::Error {
    anyhow::Error::new(e).context("failed to draw the chart")
}

/// Writes the chart to `path`, whole: the previous file stays until the new one is complete.
pub(crate) fn write(svg: &str, path: &std::path::Path) -> Result<()> {
    crate::output::file::write_whole(path, svg.as_bytes())
        .with_context(|| format!("failed to write {}", path.display()))
}

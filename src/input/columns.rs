//! Which column holds what: the header names matched (case-insensitively, with common aliases)
//! against the column flags, giving the timestamp column(s), the asset and model, and either the
//! point and value columns (long) or the point columns (wide). Constant assets and points and the
//! `--points` renames are interned here, once per file.

use super::options::{InputOptions, Layout};
use super::shown::shorten;
use crate::intern::Names;
use anyhow::{Result, bail};

/// Header names recognised for each column when no flag names it.
const TIMESTAMP_NAMES: &[&str] = &["timestamp", "time", "ts", "datetime", "date_time", "event_time", "eventtime"];
const ASSET_NAMES: &[&str] =
    &["asset", "asset_id", "assetid", "device", "device_id", "deviceid", "meter", "meter_id", "meterid"];
const POINT_NAMES: &[&str] = &["point", "point_id", "pointid", "measurement", "metric"];
const VALUE_NAMES: &[&str] = &["value", "val", "point_value"];
const MODEL_NAMES: &[&str] = &["model", "model_id", "modelid"];

/// Where a row's asset or point comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Column(usize),
    /// An interned id, the same for every row.
    Constant(u32),
}

/// The columns of a long or wide file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fields {
    Long {
        point: Source,
        value: usize,
        /// `--points`: point texts (as written) and the ids they become.
        renames: Vec<(Box<[u8]>, u32)>,
    },
    Wide {
        /// Each point column and the id of its point.
        points: Vec<(usize, u32)>,
    },
}

/// The resolved columns of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// Fields in the header; every row must have as many.
    pub width: usize,
    /// One column, or several joined with a space.
    pub time: Vec<usize>,
    pub asset: Source,
    pub model: Option<usize>,
    pub fields: Fields,
}

impl Columns {
    /// Matches `header` (the raw names) against the options; errors name `file` and line 1.
    pub fn resolve(file: &str, header: &[String], options: &InputOptions, names: &mut Names) -> Result<Columns> {
        let lower: Vec<String> = header.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
        // Control characters escaped and long names cut: the header may be binary garbage.
        let shown = lower.iter().map(|n| shorten(&n.escape_debug().to_string())).collect::<Vec<_>>().join(",");
        let named = |flag: &str, name: &str| -> Result<usize> {
            let wanted = name.to_ascii_lowercase();
            match lower.iter().position(|n| *n == wanted) {
                Some(i) => Ok(i),
                None => bail!("{file}:1: no column {name:?} ({flag}) in the header ({shown})"),
            }
        };
        let aliased = |role: &str, aliases: &[&str], hint: &str| -> Result<usize> {
            let mut found = lower.iter().enumerate().filter(|(_, n)| aliases.contains(&n.as_str()));
            let Some((first, name)) = found.next() else {
                bail!(
                    "{file}:1: no {role} column in the header ({shown}); expected one named {}{hint}",
                    aliases.join(", ")
                )
            };
            // Two columns for one role would leave the reading ambiguous.
            if let Some((second, other)) = found.next() {
                bail!(
                    "{file}:1: columns {} ({name}) and {} ({other}) both name the {role}; keep one",
                    first + 1,
                    second + 1
                );
            }
            Ok(first)
        };
        let time = match &options.time_columns {
            Some(list) => list.iter().map(|n| named("--time-column", n)).collect::<Result<Vec<_>>>()?,
            None => vec![aliased("timestamp", TIMESTAMP_NAMES, ", or give --time-column NAME")?],
        };
        let asset = match (&options.asset, &options.asset_column) {
            (Some(id), _) => Source::Constant(names.assets.intern(id)),
            (None, Some(name)) => Source::Column(named("--asset-column", name)?),
            (None, None) => match &options.fallback_asset {
                Some(id) if !lower.iter().any(|n| ASSET_NAMES.contains(&n.as_str())) => {
                    Source::Constant(names.assets.intern(id))
                }
                _ => Source::Column(aliased(
                    "asset",
                    ASSET_NAMES,
                    ", or give --asset-column NAME or a constant --asset ID",
                )?),
            },
        };
        let model = match lower.iter().any(|n| MODEL_NAMES.contains(&n.as_str())) {
            true => Some(aliased("model", MODEL_NAMES, "")?),
            false => None,
        };
        let fields = match options.layout {
            Layout::Long => {
                let point = match (&options.point, &options.point_column) {
                    (Some(p), _) => Source::Constant(names.points.intern(p)),
                    (None, Some(name)) => Source::Column(named("--point-column", name)?),
                    (None, None) => Source::Column(aliased(
                        "point",
                        POINT_NAMES,
                        ", or give --point-column NAME or a constant --point NAME",
                    )?),
                };
                let value = match &options.value_column {
                    Some(name) => named("--value-column", name)?,
                    None => aliased("value", VALUE_NAMES, ", or give --value-column NAME")?,
                };
                let renames = options
                    .points
                    .iter()
                    .flatten()
                    .map(|r| (r.from.as_bytes().into(), names.points.intern(&r.to)))
                    .collect();
                Fields::Long { point, value, renames }
            }
            Layout::Wide => {
                let points = match &options.points {
                    Some(list) => list
                        .iter()
                        .map(|r| Ok((named("--points", &r.from)?, names.points.intern(&r.to))))
                        .collect::<Result<Vec<_>>>()?,
                    None => {
                        let keys: Vec<usize> = time
                            .iter()
                            .copied()
                            .chain(model)
                            .chain(match asset {
                                Source::Column(c) => Some(c),
                                Source::Constant(_) => None,
                            })
                            .collect();
                        header
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| !keys.contains(i))
                            .map(|(i, h)| (i, names.points.intern(h.trim())))
                            .collect()
                    }
                };
                if points.is_empty() {
                    bail!(
                        "{file}:1: no point column in the header ({shown}); wide input needs a column per point besides the timestamp and asset"
                    );
                }
                Fields::Wide { points }
            }
        };
        Ok(Columns { width: header.len(), time, asset, model, fields })
    }

    /// Value cells in a row: one in long input, one per point column in wide input.
    pub fn value_cells(&self) -> u64 {
        match &self.fields {
            Fields::Long { .. } => 1,
            Fields::Wide { points } => points.len() as u64,
        }
    }

    /// The 1-based column number(s) of the timestamp, for messages (`1` or `1+2`).
    pub fn time_label(&self) -> String {
        self.time.iter().map(|c| (c + 1).to_string()).collect::<Vec<_>>().join("+")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputSettings;

    fn resolve(header: &str, edit: impl FnOnce(&mut InputSettings)) -> Result<(Columns, Names)> {
        let mut args = InputSettings::default();
        edit(&mut args);
        let options = InputOptions::from_settings(&args)?;
        let mut names = Names::default();
        let header: Vec<String> = header.split(',').map(str::to_string).collect();
        Ok((Columns::resolve("in.csv", &header, &options, &mut names)?, names))
    }

    #[test]
    fn long_columns_by_flag_and_alias() {
        let (c, names) = resolve("MPRN,Serial,Read Value,Read Type,Read Date and End Time", |a| {
            a.time_column = Some("Read Date and End Time".into());
            a.point_column = Some("read type".into());
            a.value_column = Some("Read Value".into());
            a.asset = Some("esb".into());
            a.points = Some("Active Import Interval (kWh)=Import".into());
        })
        .unwrap();
        assert_eq!(c.time, [4]);
        assert_eq!(c.asset, Source::Constant(names.assets.get("esb").unwrap()));
        let import = names.points.get("Import").unwrap();
        assert_eq!(
            c.fields,
            Fields::Long {
                point: Source::Column(3),
                value: 2,
                renames: vec![(b"Active Import Interval (kWh)".as_slice().into(), import)]
            }
        );
    }

    #[test]
    fn wide_points_are_the_non_key_columns_or_the_listed_ones() {
        let (c, names) = resolve("Date,Time,Voltage,asset,Model,Power", |a| {
            a.wide = true;
            a.time_column = Some("Date,Time".into());
        })
        .unwrap();
        assert_eq!(c.time, [0, 1]);
        assert_eq!(c.time_label(), "1+2");
        assert_eq!(c.asset, Source::Column(3));
        assert_eq!(c.model, Some(4));
        let id = |n: &str| names.points.get(n).unwrap();
        assert_eq!(c.fields, Fields::Wide { points: vec![(2, id("Voltage")), (5, id("Power"))] });

        let (c, names) = resolve("LCLid,tstp,energy(kWh/hh)", |a| {
            a.wide = true;
            a.time_column = Some("tstp".into());
            a.asset_column = Some("LCLid".into());
            a.points = Some("energy(kWh/hh)=Energy".into());
        })
        .unwrap();
        assert_eq!(c.fields, Fields::Wide { points: vec![(2, names.points.get("Energy").unwrap())] });
    }

    #[test]
    fn missing_columns_are_located() {
        let err = resolve("timestamp,asset,value", |_| {}).unwrap_err();
        assert_eq!(
            err.to_string(),
            "in.csv:1: no point column in the header (timestamp,asset,value); expected one named point, point_id, pointid, measurement, metric, or give --point-column NAME or a constant --point NAME"
        );
        let err = resolve("ts,v", |a| {
            a.wide = true;
            a.points = Some("x=X".into());
            a.asset = Some("m".into());
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "in.csv:1: no column \"x\" (--points) in the header (ts,v)");
        let err = resolve("timestamp,asset,point,value,Val", |_| {}).unwrap_err();
        assert_eq!(err.to_string(), "in.csv:1: columns 4 (value) and 5 (val) both name the value; keep one");
        let err = resolve("ts,meter", |a| a.wide = true).unwrap_err();
        assert!(err.to_string().starts_with("in.csv:1: no point column in the header (ts,meter); wide input"), "{err}");
    }
}

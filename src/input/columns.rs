//! Which column holds what: the header names matched (case-insensitively, with common aliases)
//! against the column flags, giving the timestamp column(s), the asset and model, and either the
//! point and value columns (long) or the point columns (wide). Constant assets and points and the
//! `--points` renames are interned here, once per file.

use super::name_field::{CONTROL, has_control};
use super::options::{InputOptions, Layout};
use super::shown::{escaped, quoted, shorten};
use crate::engine::names::Names;
use anyhow::Result;
use csv::ByteRecord;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

/// Header names recognised for each column when no flag names it.
pub(crate) const TIMESTAMP_NAMES: &[&str] =
    &["timestamp", "time", "ts", "datetime", "date_time", "event_time", "eventtime"];
pub(crate) const ASSET_NAMES: &[&str] =
    &["asset", "asset_id", "assetid", "device", "device_id", "deviceid", "meter", "meter_id", "meterid"];
pub(crate) const POINT_NAMES: &[&str] = &["point", "point_id", "pointid", "measurement", "metric"];
pub(crate) const VALUE_NAMES: &[&str] = &["value", "val", "point_value"];
pub(crate) const MODEL_NAMES: &[&str] = &["model", "model_id", "modelid"];
/// Header names of the optional quality column (an integer code per row, 0 when empty).
pub(crate) const QUALITY_NAMES: &[&str] = &["quality", "quality_code", "qualitycode"];

/// Where a row's asset or point comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Column(usize),
    /// An interned id, the same for every row.
    Constant(u32),
}

/// The columns of a long or wide file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fields {
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
pub(crate) struct Columns {
    /// Fields in the header; every row must have as many.
    pub(crate) width: usize,
    /// One column, or several joined with a space.
    pub(crate) time: Vec<usize>,
    pub(crate) asset: Source,
    pub(crate) model: Option<usize>,
    pub(crate) quality: Option<usize>,
    pub(crate) fields: Fields,
}

impl Columns {
    /// A record's series as text, for a sample read before names are interned: asset and point
    /// (the asset alone in wide input, where one timestamp serves every point of a row). A
    /// constant part is empty: the same for every row, it tells no series apart.
    pub(crate) fn series_text(&self, record: &ByteRecord) -> (Vec<u8>, Vec<u8>) {
        let text = |source: Source| match source {
            Source::Column(c) => record[c].trim_ascii().to_vec(),
            Source::Constant(_) => Vec::new(),
        };
        match &self.fields {
            Fields::Long { point, .. } => (text(self.asset), text(*point)),
            Fields::Wide { .. } => (text(self.asset), Vec::new()),
        }
    }

    /// Matches `header` (the raw names) against the options. Every role the header lacks is
    /// reported at once, as a [`HeaderError`] naming `file` and line 1.
    pub(crate) fn resolve(file: &str, header: &[String], options: &InputOptions, names: &mut Names) -> Result<Columns> {
        let lower: Vec<String> = header.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
        // The first column of each name, so a list of named columns costs time linear in the
        // header's width (a wide header may have hundreds of thousands).
        let mut position: HashMap<&str, usize> = HashMap::with_capacity(lower.len());
        for (i, n) in lower.iter().enumerate().rev() {
            position.insert(n.as_str(), i);
        }
        let problems = RefCell::new(Vec::new());
        let problem = |role: &'static str, text: String| problems.borrow_mut().push((role, text));
        // A missing column is recorded and stands in as column 0: the error is returned before
        // any stand-in is used.
        let named = |role: &'static str, flag: &str, name: &str| -> usize {
            let wanted = name.trim().to_ascii_lowercase();
            position.get(wanted.as_str()).copied().unwrap_or_else(|| {
                problem(role, format!("no column {name:?} ({flag})"));
                0
            })
        };
        let aliased = |role: &'static str, aliases: &[&str], hint: &str| -> usize {
            let mut found = lower.iter().enumerate().filter(|(_, n)| aliases.contains(&n.as_str()));
            let Some((first, _)) = found.next() else {
                problem(role, format!("no {role} column; expected one named {}{hint}", aliases.join(", ")));
                return 0;
            };
            // Two columns for one role would leave the reading ambiguous.
            if let Some((second, _)) = found.next() {
                problem(
                    "duplicate",
                    format!(
                        "columns {} ({}) and {} ({}) both name the {role}; keep one",
                        first + 1,
                        header[first].trim(),
                        second + 1,
                        header[second].trim()
                    ),
                );
            }
            first
        };
        let time = match &options.time_columns {
            Some(list) => list.iter().map(|n| named("timestamp", "--time-column", n)).collect::<Vec<_>>(),
            None => vec![aliased("timestamp", TIMESTAMP_NAMES, ", or give --time-column NAME")],
        };
        let asset = match (&options.asset, &options.asset_column) {
            (Some(id), _) => Source::Constant(names.assets.intern(id)),
            (None, Some(name)) => Source::Column(named("asset", "--asset-column", name)),
            (None, None) => match &options.fallback_asset {
                Some(id) if !lower.iter().any(|n| ASSET_NAMES.contains(&n.as_str())) => {
                    Source::Constant(names.assets.intern(id))
                }
                _ => Source::Column(aliased(
                    "asset",
                    ASSET_NAMES,
                    ", or give --asset-column NAME or a constant --asset ID",
                )),
            },
        };
        let model = match lower.iter().any(|n| MODEL_NAMES.contains(&n.as_str())) {
            true => Some(aliased("model", MODEL_NAMES, "")),
            false => None,
        };
        let quality = match lower.iter().any(|n| QUALITY_NAMES.contains(&n.as_str())) {
            true => Some(aliased("quality", QUALITY_NAMES, "")),
            false => None,
        };
        let fields = match options.layout {
            Layout::Long => {
                let point = match (&options.point, &options.point_column) {
                    (Some(p), _) => Source::Constant(names.points.intern(p)),
                    (None, Some(name)) => Source::Column(named("point", "--point-column", name)),
                    (None, None) => Source::Column(aliased(
                        "point",
                        POINT_NAMES,
                        ", or give --point-column NAME or a constant --point NAME",
                    )),
                };
                let value = match &options.value_column {
                    Some(name) => named("value", "--value-column", name),
                    None => aliased("value", VALUE_NAMES, ", or give --value-column NAME"),
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
                let points: Vec<(usize, u32)> = match &options.points {
                    Some(list) => {
                        list.iter().map(|r| (named("point", "--points", &r.from), names.points.intern(&r.to))).collect()
                    }
                    None => {
                        let keys: Vec<usize> = time
                            .iter()
                            .copied()
                            .chain(model)
                            .chain(quality)
                            .chain(match asset {
                                Source::Column(c) => Some(c),
                                Source::Constant(_) => None,
                            })
                            .collect();
                        let points: Vec<(usize, &str)> = header
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| !keys.contains(i))
                            .map(|(i, h)| (i, h.trim()))
                            .collect();
                        for &(i, name) in points.iter().filter(|(_, name)| has_control(name.as_bytes())) {
                            problem("point", format!("column {} {}: {CONTROL}", i + 1, quoted(name)));
                        }
                        points.into_iter().map(|(i, name)| (i, names.points.intern(name))).collect()
                    }
                };
                if points.is_empty() {
                    problem(
                        "point",
                        "no point column; wide input needs a column per point besides the timestamp and asset"
                            .to_string(),
                    );
                }
                Fields::Wide { points }
            }
        };
        if problems.borrow().is_empty() {
            for text in constant_over_column(&lower, header, options).into_iter().chain(shared_column(
                header,
                &time,
                asset,
                [model, quality],
                &fields,
            )) {
                problem("duplicate", text);
            }
        }
        let problems = problems.into_inner();
        if !problems.is_empty() {
            return Err(HeaderError {
                file: file.to_string(),
                header: header.iter().map(|h| h.trim().to_string()).collect(),
                problems,
                hints: Vec::new(),
            }
            .into());
        }
        Ok(Columns { width: header.len(), time, asset, model, quality, fields })
    }

    /// Value cells in a row: one in long input, one per point column in wide input.
    pub(crate) fn value_cells(&self) -> u64 {
        match &self.fields {
            Fields::Long { .. } => 1,
            Fields::Wide { points } => points.len() as u64,
        }
    }

    /// The 1-based column number(s) of the timestamp, for messages (`1` or `1+2`).
    pub(crate) fn time_label(&self) -> String {
        self.time.iter().map(|c| (c + 1).to_string()).collect::<Vec<_>>().join("+")
    }
}

/// A constant `--asset` or `--point` for a file that has a column of that role: the constant would
/// silently replace every row's own asset or point (three meters read as one).
fn constant_over_column(lower: &[String], header: &[String], options: &InputOptions) -> Vec<String> {
    let point = if options.layout == Layout::Long { options.point.as_ref() } else { None };
    [
        ("--asset", "asset", options.asset.as_ref(), ASSET_NAMES),
        ("--point", "point", point, POINT_NAMES),
    ]
    .into_iter()
    .filter_map(|(flag, role, constant, aliases)| {
        let constant = constant?;
        let column = lower.iter().position(|n| aliases.contains(&n.as_str()))?;
        Some(format!(
            "{flag} {constant:?} would replace the {role} of every row, but column {} ({}) holds each row's {role}; \
                 drop {flag} to read it",
            column + 1,
            header[column].trim()
        ))
    })
    .collect()
}

/// A column given two roles (`--asset-column model`, `--time-column value`): each role needs its
/// own column, or a row would be read twice over.
fn shared_column(
    header: &[String],
    time: &[usize],
    asset: Source,
    [model, quality]: [Option<usize>; 2],
    fields: &Fields,
) -> Vec<String> {
    let mut roles: Vec<(usize, &str)> = time.iter().map(|&c| (c, "timestamp")).collect();
    if let Source::Column(c) = asset {
        roles.push((c, "asset"));
    }
    roles.extend(model.map(|c| (c, "model")));
    roles.extend(quality.map(|c| (c, "quality")));
    match fields {
        Fields::Long { point, value, .. } => {
            if let Source::Column(c) = *point {
                roles.push((c, "point"));
            }
            roles.push((*value, "value"));
        }
        Fields::Wide { points } => roles.extend(points.iter().map(|&(c, _)| (c, "point"))),
    }
    let mut problems = Vec::new();
    let mut first_role: HashMap<usize, &str> = HashMap::with_capacity(roles.len());
    for &(column, role) in &roles {
        if let Some(&first) = first_role.get(&column) {
            problems.push(format!(
                "column {} ({}) is given two roles, {first} and {role}; each role needs a column of its own",
                column + 1,
                header[column].trim()
            ));
        } else {
            first_role.insert(column, role);
        }
    }
    problems
}

/// The roles a header lacks (or names twice), all at once, and the flags that would fix them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderError {
    pub(crate) file: String,
    /// The header names as written (trimmed).
    pub(crate) header: Vec<String>,
    /// Each problem with the role it leaves without a column (`timestamp`, `asset`, `point`,
    /// `value`), or `duplicate` for a role two columns name.
    pub(crate) problems: Vec<(&'static str, String)>,
    /// Fixes proposed from the rows after the header ([`super::header_hint`]).
    pub(crate) hints: Vec<String>,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Control characters escaped and long names cut: the header may be binary garbage.
        let shown = self.header.iter().map(|n| escaped(&shorten(n))).collect::<Vec<_>>().join(",");
        match (self.problems.as_slice(), self.hints.is_empty()) {
            ([(_, only)], true) => write!(f, "{}:1: {only} (header: {shown})", self.file),
            (problems, _) => {
                write!(f, "{}:1: header ({shown}):", self.file)?;
                for (_, text) in problems {
                    write!(f, "\n  {text}")?;
                }
                for hint in &self.hints {
                    write!(f, "\n  hint: {hint}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for HeaderError {}

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
            "in.csv:1: no point column; expected one named point, point_id, pointid, measurement, metric, or give --point-column NAME or a constant --point NAME (header: timestamp,asset,value)"
        );
        let err = resolve("ts,v", |a| {
            a.wide = true;
            a.points = Some("x=X".into());
            a.asset = Some("m".into());
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "in.csv:1: no column \"x\" (--points) (header: ts,v)");
        let err = resolve("timestamp,asset,point,value,Val", |_| {}).unwrap_err();
        assert_eq!(
            err.to_string(),
            "in.csv:1: columns 4 (value) and 5 (Val) both name the value; keep one (header: timestamp,asset,point,value,Val)"
        );
        let err = resolve("ts,meter", |a| a.wide = true).unwrap_err();
        assert!(err.to_string().starts_with("in.csv:1: no point column; wide input"), "{err}");
    }

    #[test]
    fn every_missing_role_at_once_with_the_header_as_written() {
        let err = resolve("LCLid,tstp,energy(kWh/hh)", |_| {}).unwrap_err();
        let header = err.downcast_ref::<HeaderError>().unwrap();
        let roles: Vec<&str> = header.problems.iter().map(|(role, _)| *role).collect();
        assert_eq!(roles, ["timestamp", "asset", "point", "value"]);
        assert!(
            err.to_string().starts_with("in.csv:1: header (LCLid,tstp,energy(kWh/hh)):\n  no timestamp column;"),
            "{err}"
        );
        let err = resolve("Time,Kind,V", |a| {
            a.asset_column = Some("Meter".into());
            a.value_column = Some("Value".into());
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "in.csv:1: header (Time,Kind,V):\n  no column \"Meter\" (--asset-column)\n  no point column; expected one named point, point_id, pointid, measurement, metric, or give --point-column NAME or a constant --point NAME\n  no column \"Value\" (--value-column)"
        );
    }
}

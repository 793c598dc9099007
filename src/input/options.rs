//! The input settings of a run: [`InputSettings`] as the user wrote them (layout, column, dialect,
//! time, marker and bad-row texts, from flags or any other front end) and [`InputOptions`], the
//! same checked and turned into the values the readers use. Every problem here is a usage error
//! (exit 2), found before any input is read; messages name the settings by their flags.

use super::live::Idle;
use super::name_field::{CONTROL, has_control};
use super::number::NumberFormat;
use super::shown::quoted;
use super::stamps::IntervalEnd;
use super::stop::Stop;
use super::timestamp::{Ambiguous, DstPolicy, Nonexistent, TimeFormat, TimeParser};
use crate::time::duration::parse_duration;
use anyhow::{Result, anyhow, bail};
use std::path::PathBuf;
use std::sync::Arc;

/// Value texts that mean "no reading" unless `--null-values` says otherwise (an empty field always
/// does).
pub(crate) const DEFAULT_NULL_VALUES: &[&str] = &["?", "NA", "NaN", "null"];

/// How a file lays out its readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One reading per row: timestamp, asset, point, value.
    Long,
    /// One row per timestamp (and asset), one column per point.
    Wide,
}

/// What a malformed row does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BadRowPolicy {
    #[default]
    Fail,
    Skip,
}

/// How input files are read, as the user wrote it: texts not yet checked. The default reads long
/// CSV with the column aliases, a detected delimiter and the default timestamp layouts.
#[derive(Debug, Clone, Default)]
pub struct InputSettings {
    pub wide: bool,
    /// `NAME` or `NAME,NAME` (joined with a space).
    pub time_column: Option<String>,
    pub asset_column: Option<String>,
    pub point_column: Option<String>,
    pub value_column: Option<String>,
    pub asset: Option<String>,
    /// The asset of every row when the header has no asset column and none is named (`plot`'s
    /// `--asset`, which is also the asset drawn).
    pub fallback_asset: Option<String>,
    pub point: Option<String>,
    /// `COLUMN=POINT,COLUMN,...`.
    pub points: Option<String>,
    pub delimiter: Option<String>,
    pub time_format: Option<String>,
    pub timezone: Option<String>,
    /// `ambiguous=...` / `nonexistent=...` entries, each possibly comma-separated.
    pub dst: Vec<String>,
    /// `--interval-end`: a duration, or `auto` to infer it; `None` reads timestamps as instants.
    pub interval_end: Option<String>,
    pub null_values: Option<String>,
    /// `point` or `comma`: the decimal separator of values.
    pub decimal: Option<String>,
    /// The thousands separator of values, when they have one.
    pub thousands: Option<String>,
    pub on_bad_row: BadRowPolicy,
    /// Where skipped bad rows are recorded.
    pub rejects: Option<PathBuf>,
    pub sort_input: bool,
    /// `--max-line-bytes`: the longest line the input may have (see [`super::source::LineCap`]).
    pub max_line_bytes: Option<u64>,
}

/// One `--points` entry: a column (wide) or point name (long) and the point it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PointRename {
    pub(crate) from: String,
    pub(crate) to: String,
}

/// Everything the readers need to know about the input, validated.
#[derive(Debug, Clone)]
pub struct InputOptions {
    pub(crate) layout: Layout,
    /// Timestamp column names (several are joined with a space), or `None` for the aliases.
    pub(crate) time_columns: Option<Vec<String>>,
    pub(crate) asset_column: Option<String>,
    pub(crate) point_column: Option<String>,
    pub(crate) value_column: Option<String>,
    pub(crate) asset: Option<String>,
    pub(crate) fallback_asset: Option<String>,
    pub(crate) point: Option<String>,
    pub(crate) points: Option<Vec<PointRename>>,
    /// `None`: detected from the header line.
    pub(crate) delimiter: Option<u8>,
    pub(crate) time: TimeParser,
    /// Timestamps end their readings' intervals: readings move to the intervals' starts.
    pub(crate) interval_end: Option<IntervalEnd>,
    /// Lower-cased missing-value markers besides the empty field.
    pub(crate) null_values: Vec<String>,
    /// How value texts write numbers.
    pub(crate) numbers: NumberFormat,
    pub on_bad_row: BadRowPolicy,
    pub(crate) sort: bool,
    /// The longest line an input may have, in bytes once decompressed; `None`: no cap.
    pub(crate) max_line_bytes: Option<u64>,
    /// Called when a live input is about to wait (see [`super::live`]); unset until the run sets it.
    pub(crate) idle: Idle,
    /// `--idle-timeout`: the run looks at the idle clock between rows while the input is silent,
    /// so a reader on the jobs' thread has its input read ahead on a thread of its own (see
    /// [`super::pump`]).
    pub(crate) idle_clock: bool,
    /// Set when the input is to end early (a signal); polled between readings (see [`super::stop`]).
    pub(crate) stop: Stop,
    /// Whether some job reads each point, by point id (ids past the end: none does). The value of
    /// a point no job reads is not parsed, so text such as a merge's `high` passes through a
    /// piped run; `None` parses every value.
    pub(crate) read_points: Option<Arc<[bool]>>,
    /// Whether some job has each model, by model id; with `read_points`, a reading of a point or
    /// model no job reads gets [`crate::engine::UNREAD_ASSET`] and its asset name is not kept.
    /// `None` reads every model.
    pub(crate) read_models: Option<Arc<[bool]>>,
}

impl InputOptions {
    /// Checks the input settings; the error names the flag.
    pub fn from_settings(args: &InputSettings) -> Result<InputOptions> {
        let layout = if args.wide { Layout::Wide } else { Layout::Long };
        if layout == Layout::Wide {
            for (flag, given) in [
                ("--point-column", args.point_column.is_some()),
                ("--value-column", args.value_column.is_some()),
                ("--point", args.point.is_some()),
            ] {
                if given {
                    bail!(
                        "{flag} applies to long input; with --wide each column is a point (choose them with --points)"
                    );
                }
            }
        }
        if args.asset.is_some() && args.asset_column.is_some() {
            bail!("--asset and --asset-column exclude each other: give a constant asset or the column that holds it");
        }
        if args.point.is_some() && args.point_column.is_some() {
            bail!("--point and --point-column exclude each other: give a constant point or the column that holds it");
        }
        let rejects_without_skip = args.rejects.is_some() && args.on_bad_row != BadRowPolicy::Skip;
        if rejects_without_skip {
            bail!("--rejects records the rows that --on-bad-row skip skips: add --on-bad-row skip");
        }
        let time_columns = match &args.time_column {
            Some(text) => Some(name_list("--time-column", text)?),
            None => None,
        };
        let format = match &args.time_format {
            Some(text) => TimeFormat::parse(text).map_err(|e| anyhow!("--time-format: {e}"))?,
            None => TimeFormat::Auto,
        };
        let zone = match &args.timezone {
            Some(name) => Some(name.trim().parse::<chrono_tz::Tz>().map_err(|_| {
                anyhow!("--timezone: unknown time zone {name:?}; expected an IANA name such as Europe/Dublin or UTC")
            })?),
            None => None,
        };
        // UTC needs no zone lookup per row.
        let zone = zone.filter(|z| *z != chrono_tz::Tz::UTC);
        Ok(InputOptions {
            layout,
            time_columns,
            asset_column: non_empty("--asset-column", &args.asset_column)?,
            point_column: non_empty("--point-column", &args.point_column)?,
            value_column: non_empty("--value-column", &args.value_column)?,
            asset: constant_name("--asset", &args.asset)?,
            fallback_asset: constant_name("--asset", &args.fallback_asset)?,
            point: constant_name("--point", &args.point)?,
            points: match &args.points {
                Some(text) => Some(parse_points(text)?),
                None => None,
            },
            delimiter: match &args.delimiter {
                Some(text) => Some(parse_delimiter(text)?),
                None => None,
            },
            time: TimeParser { format, zone, dst: parse_dst(&args.dst)? },
            interval_end: match &args.interval_end {
                Some(text) => Some(parse_interval_end(text)?),
                None => None,
            },
            null_values: match &args.null_values {
                Some(text) => {
                    text.split(',').map(|m| m.trim().to_ascii_lowercase()).filter(|m| !m.is_empty()).collect()
                }
                None => DEFAULT_NULL_VALUES.iter().map(|m| m.to_ascii_lowercase()).collect(),
            },
            numbers: NumberFormat::from_texts(args.decimal.as_deref(), args.thousands.as_deref())
                .map_err(|e| anyhow!(e))?,
            on_bad_row: args.on_bad_row,
            sort: args.sort_input,
            max_line_bytes: args.max_line_bytes,
            idle: Idle::default(),
            idle_clock: false,
            stop: Stop::default(),
            read_points: None,
            read_models: None,
        })
    }
}

fn non_empty(flag: &str, value: &Option<String>) -> Result<Option<String>> {
    match value.as_deref().map(str::trim) {
        Some("") => bail!("{flag}: expected a name, found an empty text"),
        Some(text) => Ok(Some(text.to_string())),
        None => Ok(None),
    }
}

/// A constant asset or point: a name as a name field must be (see [`has_control`]).
fn constant_name(flag: &str, value: &Option<String>) -> Result<Option<String>> {
    let name = non_empty(flag, value)?;
    if let Some(text) = name.as_deref().filter(|n| has_control(n.as_bytes())) {
        bail!("{flag}: {}: {CONTROL}", quoted(text));
    }
    Ok(name)
}

fn name_list(flag: &str, text: &str) -> Result<Vec<String>> {
    let names: Vec<String> = text.split(',').map(|n| n.trim().to_string()).collect();
    if names.iter().any(String::is_empty) {
        bail!("{flag}: expected NAME or NAME,NAME, found {text:?}");
    }
    Ok(names)
}

/// `COLUMN=POINT,COLUMN,...`; the last `=` of an entry splits it, so a column name may hold `=`.
fn parse_points(text: &str) -> Result<Vec<PointRename>> {
    let mut renames = Vec::new();
    for entry in text.split(',') {
        let (from, to) = match entry.rsplit_once('=') {
            Some((from, to)) => (from.trim(), to.trim()),
            None => (entry.trim(), entry.trim()),
        };
        if from.is_empty() || to.is_empty() {
            bail!("--points: invalid entry {entry:?}; expected COLUMN=POINT or COLUMN, separated by commas");
        }
        if renames.iter().any(|r: &PointRename| r.from == from) {
            bail!("--points: {from:?} is listed twice");
        }
        renames.push(PointRename { from: from.to_string(), to: to.to_string() });
    }
    Ok(renames)
}

fn parse_delimiter(text: &str) -> Result<u8> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if text.len() == 1 && text.is_ascii() && !matches!(text, "\"" | "\n" | "\r") => Ok(text.as_bytes()[0]),
        _ => bail!(
            "--delimiter: expected one ASCII character (other than a quote or line break) or `tab`, found {text:?}"
        ),
    }
}

/// `--dst` texts: `ambiguous=...` and `nonexistent=...`, comma-separated or repeated.
fn parse_dst(texts: &[String]) -> Result<DstPolicy> {
    let mut policy = DstPolicy::default();
    for entry in texts.iter().flat_map(|t| t.split(',')) {
        let (key, value) = entry.split_once('=').map_or((entry.trim(), ""), |(k, v)| (k.trim(), v.trim()));
        match (key, value) {
            ("ambiguous", "earlier") => policy.ambiguous = Ambiguous::Earlier,
            ("ambiguous", "later") => policy.ambiguous = Ambiguous::Later,
            ("ambiguous", "infer") => policy.ambiguous = Ambiguous::Infer,
            ("ambiguous", "reject") => policy.ambiguous = Ambiguous::Reject,
            ("nonexistent", "shift") => policy.nonexistent = Nonexistent::Shift,
            ("nonexistent", "reject") => policy.nonexistent = Nonexistent::Reject,
            _ => bail!(
                "--dst: invalid policy {entry:?}; expected ambiguous=infer|earlier|later|reject or nonexistent=shift|reject"
            ),
        }
    }
    Ok(policy)
}

/// `--interval-end`: the length of the intervals whose ends the timestamps are, or `auto`.
fn parse_interval_end(text: &str) -> Result<IntervalEnd> {
    if text.trim() == "auto" {
        return Ok(IntervalEnd::Inferred);
    }
    match parse_duration(text) {
        Ok(0) => bail!("--interval-end: the interval length must be longer than 0s"),
        Ok(ms) => Ok(IntervalEnd::Given(ms)),
        Err(e) => bail!("--interval-end: {e}, or `auto` to infer it from the first rows"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(edit: impl FnOnce(&mut InputSettings)) -> Result<InputOptions> {
        let mut args = InputSettings::default();
        edit(&mut args);
        InputOptions::from_settings(&args)
    }

    #[test]
    fn defaults() {
        let o = options(|_| {}).unwrap();
        assert_eq!(o.layout, Layout::Long);
        assert_eq!(o.null_values, ["?", "na", "nan", "null"]);
        assert_eq!(o.delimiter, None);
        assert_eq!(o.on_bad_row, BadRowPolicy::Fail);
        assert_eq!(o.time.dst, DstPolicy { ambiguous: Ambiguous::Reject, nonexistent: Nonexistent::Reject });
    }

    #[test]
    fn points_split_on_the_last_equals_sign() {
        let o = options(|a| a.points = Some("energy(kWh/hh)=Energy, a=b=c ,Voltage".into())).unwrap();
        let pairs: Vec<(&str, &str)> =
            o.points.as_ref().unwrap().iter().map(|r| (r.from.as_str(), r.to.as_str())).collect();
        assert_eq!(pairs, [("energy(kWh/hh)", "Energy"), ("a=b", "c"), ("Voltage", "Voltage")]);
        let err = options(|a| a.points = Some("a=,b".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--points: invalid entry \"a=\"; expected COLUMN=POINT or COLUMN, separated by commas"
        );
    }

    #[test]
    fn dst_policies_combine() {
        let o = options(|a| a.dst = vec!["ambiguous=later,nonexistent=shift".into()]).unwrap();
        assert_eq!(o.time.dst, DstPolicy { ambiguous: Ambiguous::Later, nonexistent: Nonexistent::Shift });
        let o = options(|a| a.dst = vec!["nonexistent=shift".into(), "ambiguous=earlier".into()]).unwrap();
        assert_eq!(o.time.dst, DstPolicy { ambiguous: Ambiguous::Earlier, nonexistent: Nonexistent::Shift });
        let err = options(|a| a.dst = vec!["ambiguous=first".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--dst: invalid policy \"ambiguous=first\"; expected ambiguous=infer|earlier|later|reject or nonexistent=shift|reject"
        );
    }

    #[test]
    fn delimiters() {
        assert_eq!(options(|a| a.delimiter = Some("tab".into())).unwrap().delimiter, Some(b'\t'));
        assert_eq!(options(|a| a.delimiter = Some(";".into())).unwrap().delimiter, Some(b';'));
        assert!(options(|a| a.delimiter = Some(";;".into())).is_err());
        assert!(options(|a| a.delimiter = Some("\"".into())).is_err());
    }

    #[test]
    fn null_values_replace_the_default() {
        let o = options(|a| a.null_values = Some("-, N/A".into())).unwrap();
        assert_eq!(o.null_values, ["-", "n/a"]);
    }

    #[test]
    fn conflicting_flags_are_usage_errors() {
        let err = options(|a| {
            a.wide = true;
            a.value_column = Some("v".into());
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--value-column applies to long input; with --wide each column is a point (choose them with --points)"
        );
        assert!(
            options(|a| {
                a.asset = Some("m1".into());
                a.asset_column = Some("meter".into());
            })
            .is_err()
        );
        let err = options(|a| a.rejects = Some(PathBuf::from("r.csv"))).unwrap_err();
        assert_eq!(err.to_string(), "--rejects records the rows that --on-bad-row skip skips: add --on-bad-row skip");
        let err = options(|a| a.timezone = Some("Europe/Dublinn".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--timezone: unknown time zone \"Europe/Dublinn\"; expected an IANA name such as Europe/Dublin or UTC"
        );
        assert!(options(|a| a.time_column = Some("Date,".into())).is_err());
    }
}

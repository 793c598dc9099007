//! The output encodings read back by decoders that are not meterflow's: CSV by the `csv` crate,
//! JSON lines by `serde_json`, InfluxDB line protocol by a parser written here from the
//! protocol's published rules (InfluxDB docs, "Line protocol": elements, escaping, comments), not
//! from meterflow's encoder. Random runs whose asset names hold commas, quotes, spaces, `=`,
//! backslashes, `#` and non-ASCII text (in JSON lines input also spaces around a name, which the
//! input trims as CSV input trims its cells, and a tab inside it), and whose values are any finite double, huge,
//! tiny, `-0`, integers above 2^53, texts of 40 decimals, are replayed through max, min, first,
//! last and cnt windows with late readings, and a merge whose expressions divide by zero and take
//! square roots of negative numbers. Each format must decode to the rows of a model written here
//! (every float exactly the double computed; in CSV the shortest text that round-trips, as ryu
//! writes it; a non-finite merge result no row, as the contract says), the three formats must
//! carry the same rows in the same order, and so must the late-row files (CSV and JSON lines) and
//! `--stats-json`, in `final` and `updates` mode (labels and revisions), Parquet included (read by
//! the parquet crate) when the feature is on. The window job's output read back as input (CSV or
//! JSON lines) must give the merge one run gives, and `--decimals N` must round as an integer
//! model of the exact binary value says. `PROPTEST_CASES=N` runs more cases than the default.

use crate::line_protocol::{Field, influx_line};
use crate::support::{Written, fresh_dir, meterflow, run_written};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// 2024-01-01T00:00:00Z.
const START: i64 = 1_704_067_200_000;

/// Where a run's readings start: today, an hour before the epoch (negative milliseconds, windows
/// across 1970), and near both ends of what line protocol's 64-bit nanoseconds hold (1677-09-21
/// to 2262-04-11).
const STARTS: [i64; 4] = [START, -3_600_000, -9_223_286_400_000, 9_223_358_400_000];
/// The windows and the merge's ticks: 10 minutes.
const WINDOW: i64 = 600_000;

/// Pieces of asset names: every character some format must escape, and text beyond ASCII.
const PIECES: [&str; 18] =
    ["m", "1", ",", "\"", " ", "=", "\\", "#", "'", ";", "{}", ":", "ü", "Zähler", "电表", "🔌", "a b", "\\\\"];

/// One generated run: asset names (as written in the input), the input's format, the lateness in
/// minutes and the readings in arrival order (asset, timestamp, value text).
#[derive(Debug, Clone)]
struct Run {
    assets: Vec<String>,
    jsonl: bool,
    latency_min: i64,
    readings: Vec<(usize, i64, String)>,
    /// `--emit updates`: rows carry their label and revision.
    updates: bool,
}

fn value_text() -> impl Strategy<Value = String> {
    prop_oneof![
        // Any finite double, in Rust's shortest text.
        any::<u64>().prop_map(f64::from_bits).prop_filter("finite", |v| v.is_finite()).prop_map(|v| format!("{v:?}")),
        // Integers, most above 2^53 (where not every integer is a double).
        any::<i64>().prop_map(|n| n.to_string()),
        (1u64 << 53..(1u64 << 54)).prop_map(|n| n.to_string()),
        // Many decimals, more than a double holds.
        (0u32..1000, "[0-9]{20,40}", any::<bool>())
            .prop_map(|(int, digits, neg)| format!("{}{int}.{digits}", if neg { "-" } else { "" })),
        // Meter values.
        (-100_000i64..100_000).prop_map(|n| format!("{}", n as f64 / 1000.0)),
        prop::sample::select(vec![
            "0",
            "-0",
            "-0.0",
            "1e308",
            "-1.7976931348623157e308",
            "5e-324",
            "-5e-324",
            "2.2250738585072014e-308",
            "0.1",
            "0.30000000000000004",
            "0.41000000000000003",
            "-0.49996666666666667",
            "100",
            "1e21",
            "1e-7",
        ])
        .prop_map(str::to_string),
    ]
}

fn runs() -> impl Strategy<Value = Run> {
    let name = (prop::collection::vec(prop::sample::select(PIECES.to_vec()), 1..4), 0u8..8);
    (
        prop::collection::vec(name, 1..4),
        any::<bool>(),
        prop::sample::select(vec![0i64, 5, 20]),
        // (asset, minute, second, value, delay class)
        prop::collection::vec((0usize..4, 0i64..120, 0i64..60, value_text(), 0u8..6), 1..60),
        any::<bool>(),
        prop::sample::select(STARTS.to_vec()),
    )
        .prop_map(|(names, jsonl, latency_min, rows, updates, start)| {
            let mut assets: Vec<String> = Vec::new();
            for (pieces, pad) in names {
                let mut name = pieces.concat();
                // Spaces around a name, which the input trims, and a space inside it, which it keeps
                // (a tab inside it is a control character: a bad row).
                if jsonl && pad == 0 {
                    name = format!(" {name} ");
                }
                if jsonl && pad == 1 {
                    name = format!("{name} {name}");
                }
                let kept = name.trim_ascii().to_string();
                if !kept.is_empty() && !assets.iter().any(|a| a.trim_ascii() == kept) {
                    assets.push(name);
                }
            }
            if assets.is_empty() {
                assets.push("m".to_string());
            }
            let mut seen = std::collections::BTreeSet::new();
            let mut timed: Vec<(i64, usize, i64, String)> = rows
                .into_iter()
                .map(|(a, minute, second, value, delay)| {
                    let asset = a % assets.len();
                    let ts = start + minute * 60_000 + second * 1000;
                    // Most readings on time, some 15 or 40 minutes late.
                    let arrival = ts + [0, 0, 0, 0, 900_000, 2_400_000][delay as usize];
                    (arrival, asset, ts, value)
                })
                .filter(|&(_, asset, ts, _)| seen.insert((asset, ts)))
                .collect();
            timed.sort_by_key(|&(arrival, asset, ts, _)| (arrival, asset, ts));
            let readings = timed.into_iter().map(|(_, asset, ts, value)| (asset, ts, value)).collect();
            Run { assets, jsonl, latency_min, readings, updates }
        })
}

const WINDOWS: &str = "name: w\ntemplate: time_window_aggregation\nmodel: M\nlatency: LATENCY\npolicies:\n  \
    - {input: R, aggregation: max, window_size: 10m, output: Max}\n  \
    - {input: R, aggregation: min, window_size: 10m, output: Min}\n  \
    - {input: R, aggregation: first, window_size: 10m, output: First}\n  \
    - {input: R, aggregation: last, window_size: 10m, output: Last}\n  \
    - {input: R, aggregation: cnt, window_size: 10m, output: Cnt}\n";

/// Cross-point expressions over the window rows: a difference that overflows for huge values, a
/// division by a zero `first`, the square root of a negative `min`; a text result holding every
/// character some format quotes or escapes, and a boolean.
const MERGE: &str = r#"name: d
template: multi_point_merging
model: M
trigger: {mode: frequency, every: 10m}
policies:
  - {output: Spread, logic: "${M::Max} - ${M::Min}"}
  - {output: Ratio, logic: "${M::Last} / ${M::First}"}
  - {output: Root, logic: "sqrt(${M::Min})"}
  - output: Level
    logic: 'if ${M::Max} > 1.0 { "high, \"peak\" = \\ ü " } else { " low;#" }'
  - {output: Up, logic: "${M::Max} > ${M::Min}"}
"#;

/// The texts of `Level`.
const HIGH: &str = r#"high, "peak" = \ ü "#;
const LOW: &str = " low;#";

fn input_text(run: &Run) -> Vec<u8> {
    if run.jsonl {
        let mut text = String::new();
        for (asset, ts, value) in &run.readings {
            let stamp = chrono::DateTime::from_timestamp_millis(*ts).unwrap().to_rfc3339();
            let name = serde_json::to_string(&run.assets[*asset]).unwrap();
            text.push_str(&format!(
                "{{\"timestamp\":\"{stamp}\",\"asset\":{name},\"point\":\"R\",\"value\":{value}}}\n"
            ));
        }
        return text.into_bytes();
    }
    let mut writer = csv::WriterBuilder::new().quote_style(csv::QuoteStyle::Necessary).from_writer(Vec::new());
    writer.write_record(["timestamp", "asset", "point", "value"]).unwrap();
    for (asset, ts, value) in &run.readings {
        let stamp = chrono::DateTime::from_timestamp_millis(*ts).unwrap().to_rfc3339();
        writer.write_record([stamp.as_str(), &run.assets[*asset], "R", value]).unwrap();
    }
    writer.into_inner().unwrap()
}

/// A decoded value: a float's bits, or an integer (a count).
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Float(u64),
    Int(i64),
    Text(String),
    Bool(bool),
}

impl Val {
    fn float(&self) -> f64 {
        match self {
            Val::Float(bits) => f64::from_bits(*bits),
            Val::Int(n) => *n as f64,
            Val::Text(_) | Val::Bool(_) => f64::NAN,
        }
    }
}

/// (timestamp ms, asset, point, value, label and revision in `updates` mode) of an output row.
type Row = (i64, String, String, Val, Option<(String, i64)>);

/// A late row: the reading (timestamp, asset, point, value bits), job, reason, window start and
/// end, watermark.
type LateRow = (i64, String, String, u64, String, String, i64, i64, i64);

/// An RFC 3339 timestamp in meterflow's one layout (`YYYY-MM-DDTHH:MM:SS.mmmZ`), read by chrono.
fn stamp(text: &str) -> Result<i64, String> {
    let shape = text.len() == 24
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'.',
            23 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if !shape {
        return Err(format!("timestamp {text:?} is not YYYY-MM-DDTHH:MM:SS.mmmZ"));
    }
    chrono::DateTime::parse_from_rfc3339(text).map(|t| t.timestamp_millis()).map_err(|e| format!("{text:?}: {e}"))
}

/// A value field's text: an integer for a count, else a float read by Rust's correctly rounded
/// parser; in CSV the float must be the shortest text that reads back as itself, as ryu writes it
/// (without a trailing `.0`).
fn csv_value(point: &str, text: &str) -> Result<Val, String> {
    match (point, text) {
        ("Level", _) => return Ok(Val::Text(text.to_string())),
        ("Up", "true" | "false") => return Ok(Val::Bool(text == "true")),
        ("Up", _) => return Err(format!("boolean {text:?}")),
        _ => {}
    }
    if point == "Cnt" {
        return text.parse().map(Val::Int).map_err(|e| format!("count {text:?}: {e}"));
    }
    let v: f64 = text.parse().map_err(|e| format!("value {text:?}: {e}"))?;
    if !v.is_finite() {
        return Err(format!("value {text:?} is not finite"));
    }
    let mut buffer = ryu::Buffer::new();
    let shortest = buffer.format(v);
    let shortest = shortest.strip_suffix(".0").unwrap_or(shortest);
    if text != shortest {
        return Err(format!("value {text:?}: the shortest round-trip text is {shortest:?}"));
    }
    Ok(Val::Float(v.to_bits()))
}

fn csv_reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().has_headers(true).from_reader(bytes)
}

/// A revision's label and number, checked.
fn revision(emit: &str, revision: Option<i64>) -> Result<Option<(String, i64)>, String> {
    match (emit, revision) {
        ("on_time" | "late", Some(n)) if n >= 0 => Ok(Some((emit.to_string(), n))),
        _ => Err(format!("emit {emit:?}, revision {revision:?}")),
    }
}

fn decode_csv(bytes: &[u8], updates: bool) -> Result<Vec<Row>, String> {
    let mut reader = csv_reader(bytes);
    let header = reader.headers().map_err(|e| e.to_string())?.clone();
    let mut expected = vec!["timestamp", "asset", "point", "value"];
    if updates {
        expected.extend(["emit", "revision"]);
    }
    if header != expected {
        return Err(format!("header {header:?}"));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| e.to_string())?;
        if r.len() != expected.len() {
            return Err(format!("{r:?}: {} fields", r.len()));
        }
        let label = match updates {
            true => revision(&r[4], r[5].parse().ok())?,
            false => None,
        };
        rows.push((stamp(&r[0])?, r[1].to_string(), r[2].to_string(), csv_value(&r[2], &r[3])?, label));
    }
    Ok(rows)
}

fn json_text(object: &serde_json::Map<String, serde_json::Value>, key: &str) -> Result<String, String> {
    object.get(key).and_then(|v| v.as_str()).map(str::to_string).ok_or_else(|| format!("{key} in {object:?}"))
}

/// A JSON value: a text, a boolean, an integer for a count, else a number's double (`-0` keeps
/// its sign).
fn json_number(point: &str, value: Option<&serde_json::Value>) -> Result<Val, String> {
    match (point, value) {
        ("Level", Some(serde_json::Value::String(text))) => return Ok(Val::Text(text.clone())),
        ("Up", Some(serde_json::Value::Bool(b))) => return Ok(Val::Bool(*b)),
        ("Level" | "Up", _) => return Err(format!("value {value:?}")),
        _ => {}
    }
    let number = value.and_then(|v| v.as_number()).ok_or_else(|| format!("value {value:?} is not a number"))?;
    if point == "Cnt" {
        return number.as_i64().map(Val::Int).ok_or_else(|| format!("count {number}"));
    }
    number.as_f64().map(|v| Val::Float(v.to_bits())).ok_or_else(|| format!("value {number}"))
}

fn decode_jsonl(bytes: &[u8], updates: bool) -> Result<Vec<Row>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for line in text.lines() {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).map_err(|e| format!("{line:?}: {e}"))?;
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        let expected: &[&str] = match updates {
            true => &["timestamp", "asset", "point", "value", "emit", "revision"],
            false => &["timestamp", "asset", "point", "value"],
        };
        if keys != expected {
            return Err(format!("keys {keys:?}"));
        }
        let point = json_text(&object, "point")?;
        let value = json_number(&point, object.get("value"))?;
        let label = match updates {
            true => revision(&json_text(&object, "emit")?, object["revision"].as_i64())?,
            false => None,
        };
        rows.push((stamp(&json_text(&object, "timestamp")?)?, json_text(&object, "asset")?, point, value, label));
    }
    Ok(rows)
}

fn decode_influx(bytes: &[u8], updates: bool) -> Result<Vec<Row>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for line in text.lines() {
        let Some((point, tags, fields, time)) = influx_line(line)? else {
            return Err(format!("{line:?} reads as a comment"));
        };
        let [(tag, asset)] = &tags[..] else { return Err(format!("{line:?}: tags {tags:?}")) };
        let ((field, value), label) = match (&fields[..], updates) {
            ([value], false) => (value, None),
            ([value, (emit_key, Field::Text(emit)), (revision_key, Field::Int(n))], true)
                if emit_key == "emit" && revision_key == "revision" =>
            {
                (value, revision(emit, Some(*n))?)
            }
            _ => return Err(format!("{line:?}: fields {fields:?}")),
        };
        if tag != "asset" || field != "value" {
            return Err(format!("{line:?}: tag {tag:?}, field {field:?}"));
        }
        let value = match (point.as_str(), value) {
            ("Cnt", Field::Int(n)) => Val::Int(*n),
            ("Level", Field::Text(t)) => Val::Text(t.clone()),
            ("Up", Field::Bool(b)) => Val::Bool(*b),
            (p, Field::Float(v)) if !["Cnt", "Level", "Up"].contains(&p) => Val::Float(v.to_bits()),
            _ => return Err(format!("{line:?}: value {value:?}")),
        };
        let ns = time.ok_or_else(|| format!("{line:?}: no time"))?;
        if ns % 1_000_000 != 0 {
            return Err(format!("{line:?}: time not on a millisecond"));
        }
        rows.push((ns / 1_000_000, asset.clone(), point, value, label));
    }
    Ok(rows)
}

fn decode_late_csv(bytes: &[u8]) -> Result<Vec<LateRow>, String> {
    let mut reader = csv_reader(bytes);
    let header = reader.headers().map_err(|e| e.to_string())?.clone();
    let expected = ["timestamp", "asset", "point", "value", "job", "reason", "window_start", "window_end", "watermark"];
    if header != expected.to_vec() {
        return Err(format!("late header {header:?}"));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| e.to_string())?;
        let Val::Float(bits) = csv_value("R", &r[3])? else { unreachable!() };
        rows.push((
            stamp(&r[0])?,
            r[1].to_string(),
            r[2].to_string(),
            bits,
            r[4].to_string(),
            r[5].to_string(),
            stamp(&r[6])?,
            stamp(&r[7])?,
            stamp(&r[8])?,
        ));
    }
    Ok(rows)
}

fn decode_late_jsonl(bytes: &[u8]) -> Result<Vec<LateRow>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for line in text.lines() {
        let o: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).map_err(|e| format!("{line:?}: {e}"))?;
        let Val::Float(bits) = json_number("R", o.get("value"))? else { unreachable!() };
        let t = |key: &str| json_text(&o, key).and_then(|text| stamp(&text));
        rows.push((
            t("timestamp")?,
            json_text(&o, "asset")?,
            json_text(&o, "point")?,
            bits,
            json_text(&o, "job")?,
            json_text(&o, "reason")?,
            t("window_start")?,
            t("window_end")?,
            t("watermark")?,
        ));
    }
    Ok(rows)
}

/// The readings of each window by (asset name, window start): (timestamp, value).
type Windows = BTreeMap<(String, i64), Vec<(i64, f64)>>;

/// The model: the readings each window keeps by (asset name, window start), in timestamp order,
/// and the late rows in arrival order. One watermark per asset (one point), a reading whose
/// window has expired (`W >= end + latency`) dropped.
fn model(run: &Run) -> (Windows, Vec<LateRow>) {
    let latency = run.latency_min * 60_000;
    let name = |a: usize| run.assets[a].trim_ascii().to_string();
    let mut watermarks: BTreeMap<usize, i64> = BTreeMap::new();
    let mut windows = Windows::new();
    let mut late = Vec::new();
    for (asset, ts, text) in &run.readings {
        let value: f64 = text.parse().unwrap();
        let start = ts.div_euclid(WINDOW) * WINDOW;
        match watermarks.get(asset) {
            Some(&w) if w >= start + WINDOW + latency => late.push((
                *ts,
                name(*asset),
                "R".to_string(),
                value.to_bits(),
                "w".to_string(),
                "late_beyond_lateness".to_string(),
                start,
                start + WINDOW,
                w,
            )),
            _ => windows.entry((name(*asset), start)).or_default().push((*ts, value)),
        }
        let w = watermarks.entry(*asset).or_insert(*ts);
        *w = (*w).max(*ts);
    }
    for readings in windows.values_mut() {
        readings.sort_by_key(|&(ts, _)| ts);
    }
    (windows, late)
}

/// The window rows the model expects, by (asset, window start, point); max and min of a window
/// whose largest (smallest) value is a zero of either sign may write either zero.
fn window_rows(windows: &Windows) -> BTreeMap<(String, i64, String), Val> {
    let mut rows = BTreeMap::new();
    for ((asset, start), readings) in windows {
        let values: Vec<f64> = readings.iter().map(|&(_, v)| v).collect();
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        for (point, v) in [
            ("Max", Val::Float(max.to_bits())),
            ("Min", Val::Float(min.to_bits())),
            ("First", Val::Float(values[0].to_bits())),
            ("Last", Val::Float(values[values.len() - 1].to_bits())),
            ("Cnt", Val::Int(values.len() as i64)),
        ] {
            rows.insert((asset.clone(), *start, point.to_string()), v);
        }
    }
    rows
}

/// The merge rows the model expects from the window rows written: per asset a tick at each
/// window start from its first window to its last, each operand the row of the latest window at
/// or before the tick; a non-finite result writes no row.
fn merge_rows(written: &BTreeMap<(String, i64, String), Val>) -> BTreeMap<(String, i64, String), Val> {
    let mut starts: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (asset, start, point) in written.keys() {
        if point == "Max" {
            starts.entry(asset).or_default().push(*start);
        }
    }
    let mut rows = BTreeMap::new();
    for (asset, starts) in starts {
        let mut tick = starts[0];
        while tick <= starts[starts.len() - 1] {
            let held = *starts.iter().rev().find(|&&s| s <= tick).unwrap();
            let op = |point: &str| written[&(asset.to_string(), held, point.to_string())].float();
            for (point, v) in
                [("Spread", op("Max") - op("Min")), ("Ratio", op("Last") / op("First")), ("Root", op("Min").sqrt())]
            {
                if v.is_finite() {
                    rows.insert((asset.to_string(), tick, point.to_string()), Val::Float(v.to_bits()));
                }
            }
            let level = if op("Max") > 1.0 { HIGH } else { LOW };
            rows.insert((asset.to_string(), tick, "Level".to_string()), Val::Text(level.to_string()));
            let (max, min) = (op("Max"), op("Min"));
            // Comparisons are exact on doubles (the contract's expressions rule).
            rows.insert((asset.to_string(), tick, "Up".to_string()), Val::Bool(max > min));
            tick += WINDOW;
        }
    }
    rows
}

fn run_format(dir: &Path, run: &Run, input: &str, format: &str) -> Written {
    let emit = if run.updates { "updates" } else { "final" };
    run_written(dir, &["run", "w.yaml", "d.yaml", "-i", input, "-q", "--emit", emit], "out", format)
}

/// The points of the merge job.
const MERGED: [&str; 5] = ["Spread", "Ratio", "Root", "Level", "Up"];

/// The rows by key, each key's last row (`updates` mode writes several), split into window rows
/// and merge rows; in `final` mode a key written twice fails.
type Keyed = BTreeMap<(String, i64, String), Val>;

fn keyed(rows: &[Row], updates: bool) -> Result<(Keyed, Keyed), TestCaseError> {
    let (mut written, mut merged) = (Keyed::new(), Keyed::new());
    for (ts, asset, point, value, _) in rows {
        let key = (asset.clone(), *ts, point.clone());
        let into = if MERGED.contains(&point.as_str()) { &mut merged } else { &mut written };
        let again = into.insert(key, value.clone()).is_some();
        prop_assert!(updates || !again, "a key written twice: {} {} {}", ts, asset, point);
    }
    Ok((written, merged))
}

/// The model's checks on the CSV run's rows: the windows (each key's last row in `updates`
/// mode), then in `final` mode the merge's rows from the window rows written.
fn check_rows(rows: &[Row], windows: &Windows, updates: bool) -> Result<(), TestCaseError> {
    let (written, merged) = keyed(rows, updates)?;
    let expected = window_rows(windows);
    prop_assert_eq!(written.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "the windows written");
    for (key, want) in &expected {
        let got = &written[key];
        // A zero of either sign may be the max or min of a window holding both; and in `updates`
        // mode a change of a zero's sign alone is no revision (the contract, section 3).
        let zeros = got.float() == 0.0 && want.float() == 0.0 && (updates || ["Max", "Min"].contains(&key.2.as_str()));
        prop_assert!(
            got == want || zeros,
            "{:?}: wrote {:?} ({}), model {:?} ({})",
            key,
            got,
            got.float(),
            want,
            want.float()
        );
    }
    // In `updates` mode a merge row stands when a late reading later takes its value away (a
    // division by a `first` that became 0): the contract's one corner, not compared here.
    if !updates {
        prop_assert_eq!(&merged, &merge_rows(&written), "the merge's rows");
    }
    // Revisions count from 0 per key, the first `on_time` unless the window was closed already.
    let mut next: BTreeMap<(String, i64, String), i64> = BTreeMap::new();
    for (ts, asset, point, _, label) in rows {
        let n = next.entry((asset.clone(), *ts, point.clone())).or_insert(0);
        if let Some((emit, revision)) = label {
            prop_assert_eq!(*revision, *n, "revision of {} {} {}", ts, asset, point);
            prop_assert!(*n == 0 || emit == "late", "revision {} of {} {} {} is {}", n, ts, asset, point, emit);
        }
        *n += 1;
    }
    Ok(())
}

fn check(run: &Run, dir: &Path) -> Result<(), TestCaseError> {
    std::fs::write(dir.join("w.yaml"), WINDOWS.replace("LATENCY", &format!("{}m", run.latency_min))).unwrap();
    std::fs::write(dir.join("d.yaml"), MERGE).unwrap();
    let input = if run.jsonl { "in.jsonl" } else { "in.csv" };
    std::fs::write(dir.join(input), input_text(run)).unwrap();
    let (windows, late_model) = model(run);
    let fail = |what: &str, e: String| TestCaseError::fail(format!("{what}: {e}"));
    let updates = run.updates;

    let csv = run_format(dir, run, input, "csv");
    prop_assert_eq!(csv.status, 0, "csv: {}", csv.stderr);
    let rows = decode_csv(csv.points.as_bytes(), updates).map_err(|e| fail("CSV points", e))?;
    check_rows(&rows, &windows, updates)?;
    let late = decode_late_csv(csv.late.as_bytes()).map_err(|e| fail("CSV late rows", e))?;
    prop_assert_eq!(&late, &late_model, "late rows");

    let jsonl = run_format(dir, run, input, "jsonl");
    prop_assert_eq!(jsonl.status, 0, "jsonl: {}", jsonl.stderr);
    let decoded = decode_jsonl(jsonl.points.as_bytes(), updates).map_err(|e| fail("JSON lines points", e))?;
    prop_assert_eq!(&decoded, &rows, "JSON lines");
    prop_assert_eq!(decode_late_jsonl(jsonl.late.as_bytes()).map_err(|e| fail("JSON late rows", e))?, late.clone());
    prop_assert_eq!(&jsonl.stats, &csv.stats, "--stats-json of the JSON lines run");

    #[cfg(feature = "parquet")]
    {
        let parquet = run_format(dir, run, input, "parquet");
        prop_assert_eq!(parquet.status, 0, "parquet: {}", parquet.stderr);
        let decoded = decode_parquet(&dir.join("out.parquet"), updates).map_err(|e| fail("Parquet", e))?;
        prop_assert_eq!(&decoded, &rows, "Parquet");
        prop_assert_eq!(
            decode_late_csv(parquet.late.as_bytes()).map_err(|e| fail("Parquet late rows", e))?,
            late.clone()
        );
        prop_assert_eq!(&parquet.stats, &csv.stats, "--stats-json of the Parquet run");
    }

    let influx = run_format(dir, run, input, "influx");
    // Line protocol cannot hold a control character in a tag: such a run stops (exit 1).
    let control = rows.iter().any(|(_, asset, _, _, _)| asset.chars().any(char::is_control));
    if control {
        prop_assert_eq!(influx.status, 1, "influx with a tab in a name: {}", influx.stderr);
        prop_assert!(influx.stderr.contains("control character"), "{}", influx.stderr);
        return Ok(());
    }
    prop_assert_eq!(influx.status, 0, "influx: {}", influx.stderr);
    let decoded = decode_influx(influx.points.as_bytes(), updates).map_err(|e| fail("line protocol", e))?;
    prop_assert_eq!(&decoded, &rows, "line protocol");
    prop_assert_eq!(decode_late_csv(influx.late.as_bytes()).map_err(|e| fail("influx late rows", e))?, late);
    prop_assert_eq!(&influx.stats, &csv.stats, "--stats-json of the influx run");
    Ok(())
}

/// The rows of a Parquet file as the parquet crate's Arrow reader gives them: a count, a boolean
/// (1 or 0) and a text (`text_value`, `value` null) by their point, other values as doubles.
#[cfg(feature = "parquet")]
fn decode_parquet(path: &Path, updates: bool) -> Result<Vec<Row>, String> {
    use arrow_array::{Array, Float64Array, Int64Array, StringArray, TimestampMillisecondArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).and_then(|b| b.build()).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let column = |name: &str| batch.column_by_name(name).ok_or_else(|| format!("no column {name}"));
        let texts = |name: &str| -> Result<StringArray, String> {
            column(name)?.as_any().downcast_ref::<StringArray>().cloned().ok_or_else(|| format!("{name} is not text"))
        };
        let stamps = column("timestamp")?;
        let stamps = stamps.as_any().downcast_ref::<TimestampMillisecondArray>().ok_or("timestamp type")?;
        let values = column("value")?;
        let values = values.as_any().downcast_ref::<Float64Array>().ok_or("value type")?;
        let (assets, points, text_values) = (texts("asset")?, texts("point")?, texts("text_value")?);
        let labels = if updates { Some((texts("emit")?, column("revision")?)) } else { None };
        for i in 0..batch.num_rows() {
            let point = points.value(i).to_string();
            let value = match point.as_str() {
                "Level" if values.is_null(i) => Val::Text(text_values.value(i).to_string()),
                "Up" => Val::Bool(values.value(i) == 1.0),
                "Cnt" => Val::Int(values.value(i) as i64),
                _ if values.is_null(i) || text_values.is_valid(i) => return Err(format!("row {i}: no number")),
                _ => Val::Float(values.value(i).to_bits()),
            };
            let label = match &labels {
                Some((emit, revisions)) => {
                    let revisions = revisions.as_any().downcast_ref::<Int64Array>().ok_or("revision type")?;
                    revision(emit.value(i), Some(revisions.value(i)))?
                }
                None => None,
            };
            rows.push((stamps.value(i), assets.value(i).to_string(), point, value, label));
        }
    }
    Ok(rows)
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(32)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn every_format_decodes_to_the_model_rows(run in runs()) {
        let dir = fresh_dir(&format!("encodings_{}", std::process::id()));
        check(&run, &dir)?;
    }
}

/// The merge's rows of a run's CSV points as (timestamp, asset, point, value), sorted: rows of
/// one run and of a chain come in different orders. With `zero_sign_open` a `-0` reads as `0`.
fn merge_rows_written(points: &[u8], zero_sign_open: bool) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = csv_reader(points)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<String>>())
        .filter(|r| MERGED.contains(&r[2].as_str()))
        .map(|mut r| {
            if zero_sign_open && r[3] == "-0" {
                r[3] = "0".to_string();
            }
            r
        })
        .collect();
    rows.sort();
    rows
}

/// The output read back as input (the contract, section 5): the window job's points written as
/// CSV, JSON lines or Parquet and given to the merge job alone give the rows one run of both jobs gives
/// (section 3a: in `final` mode the same rows, also when the window job's rows are its `updates`
/// revisions and the merge's lateness covers their horizon).
fn check_chain(run: &Run, dir: &Path, format: &str) -> Result<(), TestCaseError> {
    std::fs::write(dir.join("w.yaml"), WINDOWS.replace("LATENCY", &format!("{}m", run.latency_min))).unwrap();
    // Piped revisions are input readings to the merge: its lateness must cover the window job's
    // revision horizon (its latency, at most 20m, plus the 10m window).
    let merge = MERGE.replace("model: M\n", "model: M\nlatency: 40m\n");
    assert!(merge.contains("latency: 40m"));
    std::fs::write(dir.join("d.yaml"), merge).unwrap();
    let input = if run.jsonl { "in.jsonl" } else { "in.csv" };
    std::fs::write(dir.join(input), input_text(run)).unwrap();
    let meterflow_run = |args: &[&str]| meterflow().current_dir(dir).arg("run").args(args).arg("-q").output().unwrap();
    let one = meterflow_run(&["w.yaml", "d.yaml", "-i", input]);
    prop_assert!(one.status.success(), "{}", String::from_utf8_lossy(&one.stderr));
    let middle = format!("middle.{format}");
    // The window job's `updates` rows piped are revisions: a later one replaces the earlier.
    let emit = if run.updates { "updates" } else { "final" };
    let first = meterflow_run(&["w.yaml", "-i", input, "--format", format, "-o", &middle, "--emit", emit]);
    prop_assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let second = meterflow_run(&["d.yaml", "-i", &middle]);
    prop_assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    // A window's last `updates` row may read `-0` where its `final` row reads `0` (a change of a
    // zero's sign alone is no revision: the contract, section 3), and the merge computes on it.
    let (chained, whole) =
        (merge_rows_written(&second.stdout, run.updates), merge_rows_written(&one.stdout, run.updates));
    prop_assert_eq!(chained, whole, "the merge over the {} chain", format);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn output_read_back_as_input_gives_one_run_s_merge(run in runs(), chain in 0u8..3) {
        let format = match chain {
            0 => "csv",
            2 if cfg!(feature = "parquet") => "parquet",
            _ => "jsonl",
        };
        let dir = fresh_dir(&format!("encodings_chain_{}", std::process::id()));
        check_chain(&run, &dir, format)?;
    }
}

/// `v` rounded to `decimals` places as `--decimals` promises (cli.md): correctly rounded from the
/// exact binary value, an exact tie to the even digit, trailing zeros and a trailing point
/// dropped, `0` for a value that rounds to zero. Worked in integers here: `v` is `m * 2^e`, so
/// `v * 10^d` is `m * 10^d` shifted by `e` bits, its remainder deciding the rounding. For `|v|`
/// below 2^64 (what the test draws), so every product fits a u128.
fn rounded_text(v: f64, decimals: u32) -> String {
    let bits = v.to_bits();
    let negative = bits >> 63 == 1;
    let (exponent, fraction) = ((bits >> 52) & 0x7ff, bits & ((1 << 52) - 1));
    let (m, e) = match exponent {
        0 => (u128::from(fraction), -1074i32),
        _ => (u128::from(fraction | 1 << 52), exponent as i32 - 1075),
    };
    let scaled = m * 10u128.pow(decimals);
    let q = match e {
        0.. => scaled << e,
        -127..=-1 => {
            let shift = -e as u32;
            let (q, r, half) = (scaled >> shift, scaled & ((1u128 << shift) - 1), 1u128 << (shift - 1));
            if r > half || (r == half && q % 2 == 1) { q + 1 } else { q }
        }
        // Below 2^-127 * 2^53 * 10^8: far below half a unit of the last place.
        _ => 0,
    };
    let digits = format!("{q:0>width$}", width = decimals as usize + 1);
    let (int, frac) = digits.split_at(digits.len() - decimals as usize);
    let frac = frac.trim_end_matches('0');
    let sign = if negative && q != 0 { "-" } else { "" };
    if frac.is_empty() { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") }
}

#[test]
fn the_rounding_model_rounds_as_the_reference_says() {
    assert_eq!(rounded_text(2.1700000000000728, 2), "2.17");
    assert_eq!(rounded_text(12.0, 2), "12");
    assert_eq!(
        (rounded_text(2.5, 0), rounded_text(3.5, 0), rounded_text(0.25, 1)),
        ("2".into(), "4".into(), "0.2".into())
    );
    // 0.35 is a little below 0.35 in binary, 0.45 a little above.
    assert_eq!((rounded_text(0.35, 1), rounded_text(0.45, 1)), ("0.3".into(), "0.5".into()));
    assert_eq!(
        (rounded_text(-0.0004, 3), rounded_text(-0.0, 2), rounded_text(-1.25, 1)),
        ("0".into(), "0".into(), "-1.2".into())
    );
    assert_eq!(
        (rounded_text(1500.0, 0), rounded_text(5e-324, 8), rounded_text(1e19, 1)),
        ("1500".into(), "0".into(), "10000000000000000000".into())
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// `--decimals N`: each value of a `last` window (one reading each) written in CSV, JSON lines
    /// and line protocol as [`rounded_text`] says.
    #[test]
    fn decimals_round_as_the_model_says(
        values in prop::collection::vec(
            prop_oneof![
                any::<u64>().prop_map(f64::from_bits).prop_filter("below 2^64", |v| v.abs() < 1.8e19),
                (-1_000_000i64..1_000_000, 0u32..6).prop_map(|(n, d)| n as f64 / 10f64.powi(d as i32)),
                (-1000i64..1000).prop_map(|n| n as f64 / 8.0),
            ],
            1..30,
        ),
        decimals in 0u8..9,
    ) {
        let dir = fresh_dir(&format!("encodings_decimals_{}", std::process::id()));
        let job = "name: w\ntemplate: time_window_aggregation\nmodel: M\nlatency: 0s\npolicies:\n  \
                   - {input: R, aggregation: last, window_size: 1m, output: Last}\n";
        std::fs::write(dir.join("w.yaml"), job).unwrap();
        let mut input = String::from("timestamp,asset,point,value\n");
        for (i, v) in values.iter().enumerate() {
            input.push_str(&format!("{},m,R,{v:?}\n", START + i as i64 * 60_000));
        }
        std::fs::write(dir.join("in.csv"), input).unwrap();
        let expected: Vec<String> = values.iter().map(|&v| rounded_text(v, u32::from(decimals))).collect();
        for format in ["csv", "jsonl", "influx"] {
            let out = meterflow()
                .current_dir(&dir)
                .args(["run", "w.yaml", "-i", "in.csv", "-q", "--format", format, "--decimals", &decimals.to_string()])
                .output()
                .unwrap();
            prop_assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let written: Vec<String> = match format {
                "csv" => text.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().to_string()).collect(),
                "jsonl" => text
                    .lines()
                    .map(|l| {
                        let (_, value) = l.rsplit_once("\"value\":").unwrap();
                        value.trim_end_matches('}').to_string()
                    })
                    .collect(),
                _ => text
                    .lines()
                    .map(|l| match influx_line(l) {
                        Ok(Some((_, _, fields, _))) => match &fields[..] {
                            [(_, Field::Float(_))] => {
                                l.split_once(" value=").unwrap().1.split(' ').next().unwrap().to_string()
                            }
                            other => format!("{other:?}"),
                        },
                        other => format!("{other:?}"),
                    })
                    .collect(),
            };
            prop_assert_eq!(&written, &expected, "{} with --decimals {}", format, decimals);
        }
    }
}

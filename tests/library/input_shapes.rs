//! The same readings written as CSV in different shapes give the same output as the plain file
//! (docs/guides/input.md, "Dialect", "Missing values", "Long format", "Wide format"): fields quoted
//! or padded with spaces, CRLF line ends, a byte-order mark, a `;` or tab delimiter, a decimal
//! comma, header aliases and columns in another order, the header again within the file (files
//! concatenated, with their byte-order marks), extra columns, a `model` column (with rows
//! of another model, which the job ignores), rows whose value is a missing marker (skipped, so
//! they move no watermark), timestamps written with an offset or as epoch milliseconds; and the
//! wide file (one column per point) of the same readings. The model here is the plain file: the
//! variants are written from the readings, never from the program's output.

use crate::shared_buf::SharedBuf;
use chrono::{FixedOffset, TimeZone, Utc};
use meterflow::engine::names::Names;
use meterflow::engine::{EmitMode, EngineOptions, WatermarkScope};
use meterflow::input::{BadRows, InputOptions, InputSettings};
use meterflow::job::{Job, load_sources};
use meterflow::output::{Format, Output, PointWriter, Split};
use meterflow::replay::Replay;
use proptest::prelude::*;
use std::io::{Cursor, Read};

/// 2026-03-02T00:00:00Z.
const START: i64 = 1_772_409_600_000;

const POINTS: [&str; 2] = ["R", "V"];

/// A row of the wide file: meter, timestamp (ms), the value of each point in thousandths.
type WideRow = (usize, i64, [Option<i64>; 2]);

fn rows() -> impl Strategy<Value = Vec<WideRow>> {
    let cell = prop::option::weighted(0.85, -99_999i64..2_000_000);
    prop::collection::vec((0usize..3, 0i64..240, any::<u16>(), cell.clone(), cell), 1..120).prop_map(|steps| {
        let mut clocks = [0i64; 3];
        steps
            .into_iter()
            .map(|(m, back, jitter, r, v)| {
                clocks[m] += 1;
                // Now and then a reading late by up to four hours, and off the minute.
                let minute = if back % 7 == 0 { clocks[m] - back } else { clocks[m] };
                let ts = START + minute * 60_000 + if jitter % 5 == 0 { i64::from(jitter % 60) * 1000 } else { 0 };
                (m, ts, [r, v])
            })
            .collect()
    })
}

fn job() -> Vec<Job> {
    let mut yaml =
        "name: s\ntemplate: time_window_aggregation\nmodel: M\nlatency: 30m\nduplicates: last\npolicies:\n".to_string();
    for p in POINTS {
        for a in ["max", "min", "sum", "cnt", "first", "last"] {
            yaml.push_str(&format!("  - {{input: {p}, aggregation: {a}, window_size: 5m, output: {p}{a}}}\n"));
        }
    }
    load_sources(vec![("s.yaml".to_string(), yaml.into_bytes())]).unwrap_or_else(|e| panic!("jobs load: {e}"))
}

fn run(settings: &InputSettings, text: Vec<u8>) -> String {
    let input = InputOptions::from_settings(settings).unwrap();
    let bad_rows = BadRows::new(input.on_bad_row, None).unwrap();
    let options =
        EngineOptions { emit: EmitMode::Final, watermark: WatermarkScope::Series, ..EngineOptions::default() };
    let mut replay = Replay::with_names(job(), options, input, bad_rows, Names::default());
    let out = SharedBuf::default();
    let points = PointWriter::new(Box::new(out.clone()), Format::Csv, false, None).unwrap();
    let mut output = Split { points: Box::new(points), late: None };
    let source: Box<dyn Read + Send> = Box::new(Cursor::new(text));
    replay.read("in.csv", source, &mut output).unwrap_or_else(|e| panic!("replay failed: {e:?}"));
    replay.finish(&mut output).unwrap();
    output.flush().unwrap();
    out.text()
}

fn plain_value(v: i64) -> String {
    format!("{:.3}", v as f64 / 1000.0)
}

/// The plain long file: `timestamp,asset,point,value`, RFC 3339 in UTC, LF.
fn plain(rows: &[WideRow]) -> String {
    let mut text = "timestamp,asset,point,value\n".to_string();
    for &(m, ts, cells) in rows {
        for (p, cell) in cells.iter().enumerate() {
            if let Some(v) = cell {
                let stamp = Utc.timestamp_millis_opt(ts).unwrap().format("%Y-%m-%dT%H:%M:%S%.3fZ");
                text.push_str(&format!("{stamp},m{m},{},{}\n", POINTS[p], plain_value(*v)));
            }
        }
    }
    text
}

/// How a variant writes the file; each field drawn per case.
#[derive(Debug, Clone)]
struct Shape {
    /// 0 `,`, 1 `;`, 2 tab.
    delimiter: u8,
    decimal_comma: bool,
    crlf: bool,
    bom: bool,
    /// The columns' order (a permutation of timestamp, asset, point, value, model, unit, note).
    order: Vec<usize>,
    model: bool,
    extras: bool,
    aliases: bool,
    /// Per field, drawn from: quote it, pad it with spaces, how to write the timestamp.
    noise: Vec<u8>,
    /// Where rows with a missing value, or of another model, go, and their marker.
    inserts: Vec<(usize, u8)>,
    /// Where the header is written again (files concatenated), with a byte-order mark when drawn.
    headers: Vec<(usize, bool)>,
}

fn shapes() -> impl Strategy<Value = Shape> {
    (
        0u8..3,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        Just((0..7).collect::<Vec<usize>>()).prop_shuffle(),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        prop::collection::vec(any::<u8>(), 64),
        prop::collection::vec((0usize..400, any::<u8>()), 0..8),
        prop::collection::vec((0usize..400, any::<bool>()), 0..3),
    )
        .prop_map(
            |(delimiter, decimal_comma, crlf, bom, order, (model, extras, aliases), noise, inserts, headers)| Shape {
                delimiter,
                decimal_comma,
                crlf,
                bom,
                order,
                model,
                extras,
                aliases,
                noise,
                inserts,
                headers,
            },
        )
}

const MISSING: [&str; 8] = ["", "NA", "?", "null", "NaN", "na", "NULL", "nan"];

impl Shape {
    fn delimiter(&self) -> char {
        [',', ';', '\t'][self.delimiter as usize]
    }

    /// The columns written, in order: 0 timestamp, 1 asset, 2 point, 3 value, 4 model, 5 and 6
    /// extras.
    fn columns(&self) -> Vec<usize> {
        self.order.iter().copied().filter(|&c| c < 4 || (c == 4 && self.model) || (c > 4 && self.extras)).collect()
    }

    fn field(&self, text: &str, k: usize) -> String {
        let noise = self.noise[k % self.noise.len()];
        let d = self.delimiter();
        let padded = if noise & 1 == 1 { format!("  {text} ") } else { text.to_string() };
        if noise & 2 == 2 || padded.contains(d) || padded.contains('"') {
            format!("\"{}\"", padded.replace('"', "\"\""))
        } else {
            padded
        }
    }

    fn value(&self, v: i64) -> String {
        let text = plain_value(v);
        if self.decimal_comma { text.replace('.', ",") } else { text }
    }

    fn timestamp(&self, ts: i64, k: usize) -> String {
        let utc = Utc.timestamp_millis_opt(ts).unwrap();
        match self.noise[(k + 7) % self.noise.len()] % 5 {
            0 => ts.to_string(),
            1 => utc.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string(),
            2 => {
                utc.with_timezone(&FixedOffset::east_opt(3600).unwrap()).format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
            }
            3 => utc.with_timezone(&FixedOffset::west_opt(5 * 3600 + 1800).unwrap()).to_rfc3339(),
            _ => utc.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        }
    }

    fn line(&self, fields: [String; 7], k: usize) -> String {
        let d = self.delimiter().to_string();
        let cols = self.columns();
        let line: Vec<String> = cols.iter().enumerate().map(|(i, &c)| self.field(&fields[c], k * 7 + i)).collect();
        line.join(&d) + if self.crlf { "\r\n" } else { "\n" }
    }

    fn write(&self, rows: &[WideRow]) -> Vec<u8> {
        let names = if self.aliases {
            ["time", "meter", "metric", "val", "model", "unit", "note"]
        } else {
            ["timestamp", "asset", "point", "value", "model", "unit", "note"]
        };
        let mut text = String::new();
        if self.bom {
            text.push('\u{feff}');
        }
        text.push_str(&self.line(names.map(str::to_string), usize::MAX / 8));
        let mut k = 0;
        let readings: Vec<(usize, i64, usize, i64)> = rows
            .iter()
            .flat_map(|&(m, ts, cells)| {
                cells.into_iter().enumerate().filter_map(move |(p, c)| c.map(|v| (m, ts, p, v)))
            })
            .collect();
        for (i, &(m, ts, p, v)) in readings.iter().enumerate() {
            for &(at, bom) in &self.headers {
                if at % (readings.len() + 1) == i {
                    if bom {
                        text.push('\u{feff}');
                    }
                    text.push_str(&self.line(names.map(str::to_string), at));
                }
            }
            for &(at, what) in &self.inserts {
                if at % (readings.len() + 1) == i {
                    // A row with a missing value, or (with a model column) a reading of another
                    // model, stamped a day ahead: it would move the job's watermark were it read.
                    let other = self.model && what % 2 == 1;
                    let (value, model) = if other {
                        (self.value(1), "N")
                    } else {
                        (MISSING[what as usize / 2 % MISSING.len()].to_string(), "M")
                    };
                    let fields = [
                        self.timestamp(ts + 86_400_000, k),
                        format!("m{m}"),
                        POINTS[p].into(),
                        value,
                        model.into(),
                        "kWh".into(),
                        "x".into(),
                    ];
                    text.push_str(&self.line(fields, k));
                    k += 1;
                }
            }
            let fields = [
                self.timestamp(ts, k),
                format!("m{m}"),
                POINTS[p].into(),
                self.value(v),
                "M".into(),
                "kWh".into(),
                "a, \"b\"".into(),
            ];
            text.push_str(&self.line(fields, k));
            k += 1;
        }
        text.into_bytes()
    }

    fn settings(&self) -> InputSettings {
        InputSettings { decimal: self.decimal_comma.then(|| "comma".to_string()), ..InputSettings::default() }
    }
}

/// The wide file: `timestamp,asset,R,V`, a missing cell empty or a marker; or as a European
/// spreadsheet saves it: a byte-order mark, `;`, decimal commas, CRLF.
fn wide(rows: &[WideRow], markers: &[u8], european: bool) -> Vec<u8> {
    let (d, end) = if european { (";", "\r\n") } else { (",", "\n") };
    let mut text = if european { "\u{feff}" } else { "" }.to_string();
    text.push_str(&format!("timestamp{d}asset{d}R{d}V{end}"));
    for (i, &(m, ts, cells)) in rows.iter().enumerate() {
        let cell = |p: usize| {
            let value = |v| if european { plain_value(v).replace('.', ",") } else { plain_value(v) };
            cells[p].map_or_else(
                || MISSING[markers[(i * 2 + p) % markers.len()] as usize % MISSING.len()].to_string(),
                value,
            )
        };
        text.push_str(&format!("{ts}{d}m{m}{d}{}{d}{}{end}", cell(0), cell(1)));
    }
    text.into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn csv_shapes_give_the_plain_files_output(rows in rows(), shape in shapes()) {
        let expected = run(&InputSettings::default(), plain(&rows).into_bytes());
        let text = shape.write(&rows);
        let got = run(&shape.settings(), text.clone());
        prop_assert_eq!(got, expected, "{:?}\n{}", shape, String::from_utf8_lossy(&text));
    }

    #[test]
    fn the_wide_file_gives_the_long_files_output(
        rows in rows(),
        markers in prop::collection::vec(any::<u8>(), 1..16),
        european in any::<bool>(),
    ) {
        let expected = run(&InputSettings::default(), plain(&rows).into_bytes());
        let decimal = european.then(|| "comma".to_string());
        let settings = InputSettings { wide: true, decimal, ..InputSettings::default() };
        prop_assert_eq!(run(&settings, wide(&rows, &markers, european)), expected);
    }
}

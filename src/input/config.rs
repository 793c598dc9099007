//! Input settings in a file (`--input-config FILE`): a YAML mapping whose keys are the input
//! flags' names with `_` for `-` (`time_column: tstp`, `wide: true`, `dst: ambiguous=earlier`),
//! read into [`InputSettings`] with every problem reported at its line and column and unknown
//! keys refused, like job files. [`to_yaml`] writes the same form (`sniff --write-config`).

use super::options::{BadRowPolicy, InputSettings};
use crate::yaml::diagnostic::Diagnostic;
use crate::yaml::{Field, Mapping, Reader, Shape};
use marked_yaml::{LoadError, LoaderOptions, Node};
use std::path::PathBuf;

const WIDE: Field =
    Field::optional("wide", Shape::Choice(&["true", "false"]), "Wide input: each column besides the keys is a point.");
const TIME_COLUMN: Field =
    Field::optional("time_column", Shape::Text, "The timestamp column; `Date,Time` joins two columns.");
const ASSET_COLUMN: Field = Field::optional("asset_column", Shape::Text, "The asset column.");
const POINT_COLUMN: Field = Field::optional("point_column", Shape::Text, "The point column (long input).");
const VALUE_COLUMN: Field = Field::optional("value_column", Shape::Text, "The value column (long input).");
const ASSET: Field = Field::optional("asset", Shape::Text, "One asset for every row.");
const POINT: Field = Field::optional("point", Shape::Text, "One point for every row of long input.");
const POINTS: Field =
    Field::optional("points", Shape::Text, "`COLUMN=POINT,...`: the point columns (wide) or point renames (long).");
const DELIMITER: Field = Field::optional("delimiter", Shape::Text, "Field delimiter: one character or `tab`.");
const TIME_FORMAT: Field =
    Field::optional("time_format", Shape::Text, "Timestamp layout: a strftime pattern, `epoch_s` or `epoch_ms`.");
const TIMEZONE: Field = Field::optional("timezone", Shape::Text, "IANA time zone of timestamps without offset.");
const DST: Field = Field::optional(
    "dst",
    Shape::Text,
    "`ambiguous=infer|earlier|later|reject`, `nonexistent=shift|reject`: a text or a list.",
);
const INTERVAL_END: Field = Field::optional(
    "interval_end",
    Shape::Text,
    "Timestamps end their readings' intervals of this length (`30m`, or `auto` to infer it).",
);
const NULL_VALUES: Field =
    Field::optional("null_values", Shape::Text, "Value texts meaning no reading, comma-separated.");
const DECIMAL: Field =
    Field::optional("decimal", Shape::Choice(&["point", "comma"]), "The decimal separator of values: point or comma.");
const THOUSANDS: Field = Field::optional(
    "thousands",
    Shape::Text,
    "The thousands separator of values (`.`, `,`, `'` or `space`), between groups of three digits.",
);
const ON_BAD_ROW: Field = Field::optional("on_bad_row", Shape::Choice(&["fail", "skip"]), "What a malformed row does.");
const REJECTS: Field =
    Field::optional("rejects", Shape::Text, "Where skipped bad rows are written (with on_bad_row: skip).");
const SORT_INPUT: Field =
    Field::optional("sort_input", Shape::Choice(&["true", "false"]), "Replay input in event-time order.");

/// The keys of an input-config file, one per input flag.
pub(crate) const FIELDS: &[Field] = &[
    WIDE,
    TIME_COLUMN,
    ASSET_COLUMN,
    POINT_COLUMN,
    VALUE_COLUMN,
    ASSET,
    POINT,
    POINTS,
    DELIMITER,
    TIME_FORMAT,
    TIMEZONE,
    DST,
    INTERVAL_END,
    NULL_VALUES,
    DECIMAL,
    THOUSANDS,
    ON_BAD_ROW,
    REJECTS,
    SORT_INPUT,
];

/// Reads an input-config file named `file` from `source`; the error lists every problem as
/// `file:line:col: error: key: message`.
pub(crate) fn parse(file: &str, source: &str) -> Result<InputSettings, Vec<Diagnostic>> {
    let mut reader = Reader::new(file.to_string(), source);
    if let Some((line, column, message)) = crate::yaml::too_deep(source) {
        reader.error_unquoted(line, column, "", message);
        return Err(reader.problems);
    }
    let options = LoaderOptions::default().error_on_duplicate_keys(true).toplevel_mapping();
    let root = match marked_yaml::parse_yaml_with_options(0, source, options) {
        Ok(root) => root,
        Err(e) => {
            let (marker, message) = match &e {
                LoadError::TopLevelMustBeMapping(m) => {
                    (Some(*m), "an input config must be a YAML mapping of input settings".to_string())
                }
                LoadError::ScanError(m, scan) => (Some(*m), format!("invalid YAML: {}", scan.info())),
                LoadError::DuplicateKey(d) => {
                    (d.key.span().start().copied(), format!("field `{}` is given twice", d.key.as_str()))
                }
                other => (None, format!("invalid input config: {other}")),
            };
            let (line, column) = marker.map_or((0, 0), |m| (m.line(), m.column()));
            reader.error_unquoted(line, column, "", message);
            return Err(reader.problems);
        }
    };
    let mut settings = InputSettings::default();
    if let Some(map) = Mapping::new(&mut reader, &root, "", FIELDS) {
        read(&mut reader, &map, &mut settings);
    }
    if reader.problems.is_empty() { Ok(settings) } else { Err(reader.problems) }
}

fn read(reader: &mut Reader<'_>, map: &Mapping<'_>, s: &mut InputSettings) {
    let text = |reader: &mut Reader<'_>, field: &Field| map.scalar(reader, field).map(|v| v.text.to_string());
    s.time_column = text(reader, &TIME_COLUMN);
    s.asset_column = text(reader, &ASSET_COLUMN);
    s.point_column = text(reader, &POINT_COLUMN);
    s.value_column = text(reader, &VALUE_COLUMN);
    s.asset = text(reader, &ASSET);
    s.point = text(reader, &POINT);
    s.points = text(reader, &POINTS);
    s.delimiter = text(reader, &DELIMITER);
    s.time_format = text(reader, &TIME_FORMAT);
    s.timezone = text(reader, &TIMEZONE);
    s.interval_end = text(reader, &INTERVAL_END);
    s.null_values = text(reader, &NULL_VALUES);
    s.decimal = text(reader, &DECIMAL);
    s.thousands = text(reader, &THOUSANDS);
    s.rejects = text(reader, &REJECTS).map(PathBuf::from);
    for (field, slot) in [(&WIDE, &mut s.wide), (&SORT_INPUT, &mut s.sort_input)] {
        if let Some(v) = map.scalar(reader, field) {
            match v.text {
                "true" => *slot = true,
                "false" => *slot = false,
                other => reader.error(&v, format!("expected true or false, found {other:?}")),
            }
        }
    }
    if let Some(v) = map.scalar(reader, &ON_BAD_ROW) {
        match v.text {
            "fail" => s.on_bad_row = BadRowPolicy::Fail,
            "skip" => s.on_bad_row = BadRowPolicy::Skip,
            other => reader.error(&v, format!("expected fail or skip, found {other:?}")),
        }
    }
    if let Some((_, node)) = map.get(&DST) {
        match node {
            Node::Sequence(list) => {
                for (i, item) in list.iter().enumerate() {
                    match item.as_scalar() {
                        Some(v) => s.dst.push(v.as_str().to_string()),
                        None => reader.error_span(
                            item.span(),
                            &format!("dst[{i}]"),
                            "expected a text such as ambiguous=earlier",
                        ),
                    }
                }
            }
            _ => s.dst.extend(map.scalar(reader, &DST).map(|v| v.text.to_string())),
        }
    }
}

/// `settings` as an input-config file: the keys that differ from the defaults, in flag order,
/// texts in double quotes.
pub(crate) fn to_yaml(settings: &InputSettings) -> String {
    let quoted = |text: &str| serde_json::Value::String(text.to_string()).to_string();
    let mut out = String::new();
    let mut line = |key: &str, value: String| out.push_str(&format!("{key}: {value}\n"));
    if settings.wide {
        line("wide", "true".to_string());
    }
    let texts = [
        ("time_column", &settings.time_column),
        ("asset_column", &settings.asset_column),
        ("point_column", &settings.point_column),
        ("value_column", &settings.value_column),
        ("asset", &settings.asset),
        ("point", &settings.point),
        ("points", &settings.points),
        ("delimiter", &settings.delimiter),
        ("time_format", &settings.time_format),
        ("timezone", &settings.timezone),
    ];
    for (key, value) in texts {
        if let Some(v) = value {
            line(key, quoted(v));
        }
    }
    match settings.dst.as_slice() {
        [] => {}
        [one] => line("dst", quoted(one)),
        several => line("dst", format!("[{}]", several.iter().map(|d| quoted(d)).collect::<Vec<_>>().join(", "))),
    }
    if let Some(v) = &settings.interval_end {
        line("interval_end", quoted(v));
    }
    if let Some(v) = &settings.null_values {
        line("null_values", quoted(v));
    }
    if let Some(v) = &settings.decimal {
        line("decimal", v.clone());
    }
    if let Some(v) = &settings.thousands {
        line("thousands", quoted(v));
    }
    if settings.on_bad_row == BadRowPolicy::Skip {
        line("on_bad_row", "skip".to_string());
    }
    if let Some(path) = &settings.rejects {
        line("rejects", quoted(&path.display().to_string()));
    }
    if settings.sort_input {
        line("sort_input", "true".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_reads_and_writes_back_the_same() {
        let source = "wide: true\ntime_column: \"Date,Time\"\nasset: sceaux\npoints: \"energy(kWh/hh)=Energy\"\n\
                      delimiter: \";\"\ntime_format: \"%d/%m/%Y %H:%M:%S\"\ntimezone: Europe/Dublin\n\
                      dst: [ambiguous=earlier, nonexistent=shift]\ninterval_end: 30m\nnull_values: \"?,-\"\ndecimal: comma\n\
                      thousands: \".\"\non_bad_row: skip\n\
                      rejects: bad.csv\nsort_input: true\n";
        let s = parse("in.yaml", source).unwrap();
        assert!(s.wide && s.sort_input);
        assert_eq!(s.time_column.as_deref(), Some("Date,Time"));
        assert_eq!(s.dst, ["ambiguous=earlier", "nonexistent=shift"]);
        assert_eq!(s.on_bad_row, BadRowPolicy::Skip);
        assert_eq!(s.rejects, Some(PathBuf::from("bad.csv")));
        let again = parse("out.yaml", &to_yaml(&s)).unwrap();
        assert_eq!(format!("{again:?}"), format!("{s:?}"));
        assert_eq!(parse("d.yaml", "dst: ambiguous=later\n").unwrap().dst, ["ambiguous=later"]);
    }

    #[test]
    fn every_problem_is_located_and_unknown_keys_are_refused() {
        let problems =
            parse("in.yaml", "wide: yes\ntime-column: tstp\non_bad_row: ignore\npoints: [a, b]\n").unwrap_err();
        let lines: Vec<String> = problems.iter().map(Diagnostic::headline).collect();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert_eq!(
            lines[0],
            "in.yaml:2:1: error: time-column: unknown field `time-column`, expected one of `wide`, `time_column`, `asset_column`, `point_column`, `value_column`, `asset`, `point`, `points`, `delimiter`, `time_format`, `timezone`, `dst`, `interval_end`, `null_values`, `decimal`, `thousands`, `on_bad_row`, `rejects`, `sort_input`"
        );
        assert!(
            lines.contains(&"in.yaml:1:7: error: wide: expected true or false, found \"yes\"".to_string()),
            "{lines:#?}"
        );
        assert!(
            lines.contains(&"in.yaml:3:13: error: on_bad_row: expected fail or skip, found \"ignore\"".to_string()),
            "{lines:#?}"
        );
        assert!(
            lines.contains(&"in.yaml:4:9: error: points: expected a single value, found a list or mapping".to_string()),
            "{lines:#?}"
        );
        let problems = parse("in.yaml", "- wide\n").unwrap_err();
        assert!(
            problems[0].headline().starts_with("in.yaml:1:1: error: an input config must be a YAML mapping"),
            "{problems:?}"
        );
    }
}

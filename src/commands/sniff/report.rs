//! A sniffed file in words (for people) and as JSON, with the command line that reads it
//! (shell-quoted) and the same settings as an input-config file.

use super::columns::Role;
use super::{Order, Sniffed};
use crate::input::InputSettings;
use crate::input::config;
use crate::input::shown::{shell_quote, shorten};
use serde_json::{Value, json};
use std::fmt::Write;

/// Distinct texts shown per text column.
const SHOWN_TEXTS: usize = 3;

/// The `meterflow run` flags of `settings`, shell-quoted, in the order of `--help`.
pub(crate) fn flags(settings: &InputSettings) -> Vec<String> {
    let mut out = Vec::new();
    let mut flag = |name: &str, value: Option<&str>| {
        out.push(format!("--{name}"));
        if let Some(v) = value {
            out.push(shell_quote(v));
        }
    };
    if settings.wide {
        flag("wide", None);
    }
    let texts = [
        ("time-column", &settings.time_column),
        ("asset-column", &settings.asset_column),
        ("point-column", &settings.point_column),
        ("value-column", &settings.value_column),
        ("asset", &settings.asset),
        ("point", &settings.point),
        ("points", &settings.points),
        ("delimiter", &settings.delimiter),
        ("time-format", &settings.time_format),
        ("timezone", &settings.timezone),
    ];
    for (name, value) in texts {
        if let Some(v) = value {
            flag(name, Some(v));
        }
    }
    for d in &settings.dst {
        flag("dst", Some(d));
    }
    if let Some(v) = &settings.interval_end {
        flag("interval-end", Some(v));
    }
    if let Some(v) = &settings.null_values {
        flag("null-values", Some(v));
    }
    if let Some(v) = &settings.decimal {
        flag("decimal", Some(v));
    }
    if let Some(v) = &settings.thousands {
        flag("thousands", Some(v));
    }
    if settings.sort_input {
        flag("sort-input", None);
    }
    out
}

/// The command that runs jobs over the file with the proposed settings.
pub(crate) fn command(sniffed: &Sniffed, jobs: &str) -> String {
    let input = if sniffed.file == "<stdin>" { "-".to_string() } else { shell_quote(&sniffed.file) };
    let mut words = vec!["meterflow".to_string(), "run".to_string(), jobs.to_string(), "--input".to_string(), input];
    words.extend(flags(&sniffed.proposal));
    words.join(" ")
}

fn order_text(order: &Order) -> String {
    match order {
        Order::Ascending => "oldest first (in time order)".to_string(),
        Order::Descending => "newest first".to_string(),
        Order::Unordered(line) => format!("not in time order (goes back at line {line})"),
        Order::Unknown => "unknown (some timestamp did not parse)".to_string(),
    }
}

fn column_detail(sniffed: &Sniffed, i: usize) -> String {
    let c = &sniffed.columns[i];
    let mut detail = if let Some(layout) = &c.time {
        let example = c.first.as_deref().unwrap_or_default();
        match &layout.format {
            Some(f) => format!("time {example:?} ({f})"),
            None => format!("time {example:?}"),
        }
    } else if c.numeric {
        "numbers".to_string()
    } else if c.present == 0 {
        "empty in the sample".to_string()
    } else {
        let shown: Vec<String> = c.distinct.iter().take(SHOWN_TEXTS).map(|d| format!("{:?}", shorten(d))).collect();
        let more = if c.distinct_count > SHOWN_TEXTS { ", ..." } else { "" };
        format!("text, {} distinct: {}{more}", c.distinct_count, shown.join(", "))
    };
    if !c.missing.is_empty() {
        let markers: Vec<String> = c.missing.iter().map(|(m, n)| format!("{m} x{n}")).collect();
        let _ = write!(detail, "; missing: {}", markers.join(", "));
    }
    detail
}

/// The report for people.
pub(crate) fn text(sniffed: &Sniffed, jobs: &str) -> String {
    let mut out = String::new();
    let d = &sniffed.dialect;
    let _ = writeln!(out, "{}", sniffed.file);
    let sample = if sniffed.whole_file { "the whole file" } else { "the first rows" };
    let _ = writeln!(out, "  rows looked at: {} ({sample})", sniffed.rows);
    let _ = writeln!(
        out,
        "  dialect: delimiter {:?}, {}, {} line ends, {}",
        d.delimiter_text(),
        if d.quoted { "double-quoted fields" } else { "no quoting" },
        d.line_ends,
        if d.bom { "UTF-8 BOM" } else { "no BOM" }
    );
    if sniffed.time.is_some() {
        let _ = writeln!(out, "  layout: {}", sniffed.roles.layout_reason);
        let _ = writeln!(out, "  order: {}", order_text(&sniffed.order));
    }
    let _ = writeln!(out, "  columns:");
    // Shortened before padding: a name of any length is a header cell, and the formatter refuses
    // widths over 65,535.
    let names: Vec<String> = sniffed.columns.iter().map(|c| shorten(&c.name)).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for (i, (c, name)) in sniffed.columns.iter().zip(&names).enumerate() {
        let _ = writeln!(out, "    {:>2} {name:<width$}  {:<12}  {}", i + 1, c.role.name(), column_detail(sniffed, i));
    }
    let missing = missing_markers(sniffed);
    if !missing.is_empty() {
        let _ = writeln!(out, "  missing markers seen: {}", missing.join(", "));
    }
    for note in &sniffed.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    if sniffed.time.is_none() {
        return out;
    }
    match &sniffed.read_error {
        Some(e) => {
            let _ = writeln!(out, "  reading the sample with these settings failed:\n    {e}");
        }
        None => {
            let _ =
                writeln!(out, "  first readings as meterflow reads them ({} from the sample):", sniffed.reading_count);
            for r in &sniffed.readings {
                let _ = writeln!(out, "    {} {} {} {}", r.timestamp, r.asset, r.point, r.value);
            }
        }
    }
    let _ = writeln!(out, "  command:\n    {}", command(sniffed, jobs));
    let _ = writeln!(out, "  input config (--input-config FILE, or sniff --write-config FILE):");
    for line in config::to_yaml(&sniffed.proposal).lines() {
        let _ = writeln!(out, "    {line}");
    }
    out
}

/// `marker (count)` for each missing marker over the columns read.
fn missing_markers(sniffed: &Sniffed) -> Vec<String> {
    let mut total: std::collections::BTreeMap<&str, usize> = Default::default();
    for c in sniffed.columns.iter().filter(|c| matches!(c.role, Role::Value | Role::WidePoint)) {
        for (m, n) in &c.missing {
            *total.entry(m.as_str()).or_insert(0) += n;
        }
    }
    total.iter().map(|(m, n)| format!("{m} ({n})")).collect()
}

/// The report as JSON.
pub(crate) fn json(sniffed: &Sniffed, jobs: &str) -> Value {
    let d = &sniffed.dialect;
    let columns: Vec<Value> = sniffed
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "index": i + 1,
                "name": c.name,
                "role": c.role.name(),
                "kind": if c.time.is_some() { "time" } else if c.numeric { "number" } else if c.present == 0 { "empty" } else { "text" },
                "time_format": c.time.as_ref().and_then(|l| l.format.clone()),
                "distinct": c.distinct.iter().take(SHOWN_TEXTS).collect::<Vec<_>>(),
                "missing": c.missing,
            })
        })
        .collect();
    let time = sniffed.time.as_ref().map(|t| {
        json!({
            "columns": t.columns.iter().map(|&i| sniffed.columns[i].name.clone()).collect::<Vec<_>>(),
            "time_format": sniffed.proposal.time_format,
            "day_month_ambiguous": t.day_month_ambiguous,
            "has_offset": t.has_offset,
        })
    });
    let order = match &sniffed.order {
        Order::Ascending => json!("ascending"),
        Order::Descending => json!("descending"),
        Order::Unordered(line) => json!({ "unordered_at_line": line }),
        Order::Unknown => json!(null),
    };
    json!({
        "file": sniffed.file,
        "rows_sampled": sniffed.rows,
        "whole_file": sniffed.whole_file,
        "dialect": {
            "delimiter": d.delimiter_text(),
            "quoted": d.quoted,
            "line_ends": d.line_ends,
            "bom": d.bom,
        },
        "layout": if sniffed.time.is_none() { None } else if sniffed.roles.wide { Some("wide") } else { Some("long") },
        "timestamp": time,
        "order": order,
        "columns": columns,
        "missing_markers": missing_markers(sniffed),
        "notes": sniffed.notes,
        "readings": sniffed.readings.iter().map(|r| json!({
            "timestamp": r.timestamp, "asset": r.asset, "point": r.point, "value": r.value,
        })).collect::<Vec<_>>(),
        "readings_in_sample": sniffed.reading_count,
        "repeats_in_sample": {
            "count": sniffed.repeats.count,
            "changed": sniffed.repeats.changed,
            "first": sniffed.repeats.first.as_ref().map(|r| json!({
                "timestamp": r.timestamp, "asset": r.asset, "point": r.point, "value": r.value,
            })),
        },
        "read_error": sniffed.read_error,
        "flags": flags(&sniffed.proposal),
        "command": sniffed.time.as_ref().map(|_| command(sniffed, jobs)),
        "input_config": config::to_yaml(&sniffed.proposal),
    })
}

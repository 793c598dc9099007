//! Local calendar windows (`timezone:` with `1d` and `1mo` windows) over meter readings that
//! cross clock changes, against a model written here with chrono-tz: each reading's local date
//! (or month) names its window, which runs from the first instant the local clock shows midnight
//! of that date (of the 1st) or later to the same instant of the next (docs/reference/contract.md,
//! "Time zone" and "Calendar windows and offsets"). Lateness is judged per window as in UTC
//! (`W >= end + latency`, the series watermark), and each (meter, timestamp) keeps its first
//! value (`first`) or its last (`last`). Zones: Dublin and New York (northern hemisphere), Sydney
//! (southern: clocks go back in April), Chatham (+12:45/+13:45, changing at 02:45 local).

use crate::state_split::{csv, run_jobs};
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use meterflow::engine::{EmitMode, EngineOptions, WatermarkScope};
use meterflow::job::{Job, load_sources};
use meterflow::time::parse_timestamp;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Zones and an instant of one of their 2024 clock changes (ms), so exports start a few days
/// before one.
const CHANGES: [(&str, i64); 8] = [
    ("Europe/Dublin", 1_711_846_800_000),    // 2024-03-31T01:00Z forward
    ("Europe/Dublin", 1_729_990_800_000),    // 2024-10-27T01:00Z back
    ("America/New_York", 1_710_054_000_000), // 2024-03-10T07:00Z forward
    ("America/New_York", 1_730_613_600_000), // 2024-11-03T06:00Z back
    ("Australia/Sydney", 1_712_419_200_000), // 2024-04-06T16:00Z back
    ("Australia/Sydney", 1_727_971_200_000), // 2024-10-05T16:00Z forward
    ("Pacific/Chatham", 1_712_412_000_000),  // 2024-04-06T14:00Z back
    ("Pacific/Chatham", 1_727_532_000_000),  // 2024-09-28T14:00Z forward
];

/// A reading as written: meter, timestamp (ms), value in thousandths.
type Line = (usize, i64, i64);

/// One step: meter, what happens, and numbers it draws from.
type Step = (usize, u8, u32, u32);

/// The export: per meter a clock on its cadence, with repeats (same value or a correction), late
/// rows up to two days behind, and gaps of hours.
fn export(start: i64, cadence: i64, steps: &[Step]) -> Vec<Line> {
    let mut clocks = [start; 2];
    let mut lines: Vec<Line> = Vec::new();
    for &(m, what, a, b) in steps {
        let value = i64::from(b % 100_000);
        match what {
            0..=5 => {
                let last = lines.iter().rev().find(|l| l.0 == m).copied();
                if let Some((_, ts, old)) = last {
                    lines.push((m, ts, if a % 2 == 0 { old } else { value }));
                }
            }
            6..=9 => lines.push((m, clocks[m] - i64::from(a % 172_800) * 1000, value)),
            10 => {
                clocks[m] += 3_600_000 * i64::from(1 + a % 20);
                lines.push((m, clocks[m], value));
            }
            _ => {
                clocks[m] += cadence;
                lines.push((m, clocks[m], value));
            }
        }
    }
    lines
}

/// The UTC instant (ms) of local midnight starting `date` in `tz`: the first instant the clock
/// shows that time or later.
fn midnight(tz: Tz, date: NaiveDate) -> i64 {
    let mut local = date.and_hms_opt(0, 0, 0).unwrap();
    loop {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.timestamp_millis();
        }
        local += chrono::Duration::minutes(1);
    }
}

/// The local window (start, end) of instant `ts`: its local day, or its local month.
fn window(tz: Tz, ts: i64, month: bool) -> (i64, i64) {
    let local = Utc.timestamp_millis_opt(ts).unwrap().with_timezone(&tz).date_naive();
    if month {
        let first = local.with_day(1).unwrap();
        let next = if first.month() == 12 {
            NaiveDate::from_ymd_opt(first.year() + 1, 1, 1).unwrap()
        } else {
            NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1).unwrap()
        };
        (midnight(tz, first), midnight(tz, next))
    } else {
        (midnight(tz, local), midnight(tz, local.succ_opt().unwrap()))
    }
}

/// The readings each window keeps, by (meter, window start), values in thousandths.
fn model(lines: &[Line], tz: Tz, month: bool, latency: i64, last: bool) -> BTreeMap<(usize, i64), Vec<i64>> {
    let mut watermarks: BTreeMap<usize, i64> = BTreeMap::new();
    let mut kept: BTreeMap<(usize, i64), BTreeMap<i64, i64>> = BTreeMap::new();
    for &(m, ts, value) in lines {
        let (start, end) = window(tz, ts, month);
        let expired = watermarks.get(&m).is_some_and(|&w| w >= end + latency);
        if !expired {
            let values = kept.entry((m, start)).or_default();
            if last || !values.contains_key(&ts) {
                values.insert(ts, value);
            }
        }
        let w = watermarks.entry(m).or_insert(ts);
        *w = (*w).max(ts);
    }
    kept.into_iter().map(|(k, v)| (k, v.into_values().collect())).collect()
}

fn job(zone: &str, size: &str, latency_s: i64, last: bool) -> Vec<Job> {
    let duplicates = if last { "last" } else { "first" };
    let mut yaml = format!(
        "name: l\ntemplate: time_window_aggregation\nmodel: M\ntimezone: {zone}\nlatency: {latency_s}s\n\
         duplicates: {duplicates}\npolicies:\n"
    );
    for a in ["max", "min", "sum", "cnt"] {
        yaml.push_str(&format!("  - {{input: R, aggregation: {a}, window_size: {size}, output: {a}}}\n"));
    }
    load_sources(vec![("l.yaml".to_string(), yaml.into_bytes())]).unwrap_or_else(|e| panic!("jobs load: {e}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn local_days_and_months_equal_the_chrono_tz_model(
        change in 0usize..CHANGES.len(),
        before_s in 0i64..5 * 86_400,
        cadence in prop::sample::select(vec![900_000i64, 3_600_000, 10_800_000]),
        month in any::<bool>(),
        latency in prop::sample::select(vec![0i64, 3_600, 86_400]),
        last in any::<bool>(),
        steps in prop::collection::vec((0usize..2, 0u8..32, any::<u32>(), any::<u32>()), 1..250),
    ) {
        let (zone, at) = CHANGES[change];
        let tz: Tz = zone.parse().unwrap();
        let lines = export(at - before_s * 1000, cadence, &steps);
        let input: Vec<String> =
            lines.iter().map(|&(m, ts, v)| format!("{ts},m{m},R,{:.3}", v as f64 / 1000.0)).collect();
        let size = if month { "1mo" } else { "1d" };
        let options = EngineOptions { emit: EmitMode::Final, watermark: WatermarkScope::Series, ..EngineOptions::default() };
        let (output, _) = run_jobs(&|| job(zone, size, latency, last), options, &csv(&input), None, false);
        let expected = model(&lines, tz, month, latency * 1000, last);
        let mut written: BTreeMap<(usize, i64, String), f64> = BTreeMap::new();
        for line in output.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let ts = parse_timestamp(f[0].as_bytes()).unwrap_or_else(|_| panic!("timestamp {}", f[0]));
            let m: usize = f[1][1..].parse().unwrap();
            prop_assert!(written.insert((m, ts, f[2].to_string()), f[3].parse().unwrap()).is_none(), "one row: {}", line);
        }
        let mut want: BTreeMap<(usize, i64, String), f64> = BTreeMap::new();
        for (&(m, start), values) in &expected {
            let sum = values.iter().sum::<i64>() as f64 / 1000.0;
            want.insert((m, start, "max".into()), *values.iter().max().unwrap() as f64 / 1000.0);
            want.insert((m, start, "min".into()), *values.iter().min().unwrap() as f64 / 1000.0);
            want.insert((m, start, "sum".into()), sum);
            want.insert((m, start, "cnt".into()), values.len() as f64);
        }
        prop_assert_eq!(
            written.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "the windows written, {} {}", zone, size
        );
        for (key, &w) in &want {
            let got = written[key];
            prop_assert!((got - w).abs() <= 1e-9 * w.abs().max(1.0), "{:?} in {}: wrote {}, model {}", key, zone, got, w);
        }
    }
}

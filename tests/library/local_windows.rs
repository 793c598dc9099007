//! Local windows (`timezone:` with `1h`, `30m`, `1d`, `1mo`, `6h`, `3h` steps, offsets, and sliding
//! windows of several steps) over meter readings that cross clock changes, against a model written
//! here with chrono-tz (docs/reference/contract.md, "Time zone" and "Calendar windows and
//! offsets"): steps dividing an hour follow the clock's marks (UTC multiples moved by the zone's
//! offset, as these zones change by whole hours); for the others boundary `k` is the first instant
//! the local clock shows step `k` counted from local 1970-01-01 00:00 (months from January 1970)
//! plus the offset, or later; a reading belongs to the windows of the `n` steps ending with the one
//! holding it. Lateness is judged per window as in UTC (`W >= end + latency`, the series
//! watermark), and each (meter, timestamp) keeps its first value (`first`) or its last (`last`).
//! Zones: Dublin and New York (northern hemisphere), Sydney (southern: clocks go back in April),
//! Chatham (+12:45/+13:45, changing at 02:45 local).

use crate::meter_data::rows_written;
use crate::state_split::{csv, run_jobs};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use meterflow::engine::{EmitMode, EngineOptions, WatermarkScope};
use meterflow::job::{Job, load_sources};
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

/// 2024-01-01T00:00:00Z: where the model reads a zone's offset from UTC.
const START_2024: i64 = 1_704_067_200_000;

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

/// How windows are laid: a step of whole months or of a duration (ms) dividing a day or whole
/// days, `n` steps to a window (1: tumbling), each start moved `offset` ms into its step.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// A step dividing an hour: windows start where the local clock reads a multiple of it (the
    /// clock's marks), so each keeps its length, a repeated hour has its windows twice.
    marks: bool,
    months: bool,
    step: i64,
    n: i64,
    offset: i64,
}

impl Layout {
    /// The local clock time boundary `k` stands for: step `k` counted from local 1970-01-01 00:00,
    /// plus the offset.
    fn local(self, k: i64) -> NaiveDateTime {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let at = if self.months {
            let months = k * self.step;
            let (y, m) = (1970 + months.div_euclid(12), months.rem_euclid(12) + 1);
            NaiveDate::from_ymd_opt(y as i32, m as u32, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()
        } else {
            epoch + Duration::milliseconds(k * self.step)
        };
        at + Duration::milliseconds(self.offset)
    }

    /// Boundary `k` as a UTC instant (ms): the first instant the local clock shows its time or
    /// later (a repeated time's first occurrence; in a skipped hour, the instant of the jump).
    fn boundary(self, tz: Tz, k: i64) -> i64 {
        if self.marks {
            // Where the marks fall in UTC: minus the zone's offset, modulo the step (the same all year
            // in these zones, whose clocks change by an hour).
            let offset = tz.offset_from_utc_datetime(&Utc.timestamp_millis_opt(START_2024).unwrap().naive_utc());
            let shift = i64::from(offset.fix().local_minus_utc()) * 1000;
            return k * self.step + (self.offset - shift).rem_euclid(self.step);
        }
        let mut local = self.local(k);
        loop {
            if let Some(t) = tz.from_local_datetime(&local).earliest() {
                return t.timestamp_millis();
            }
            local += Duration::minutes(1);
        }
    }

    /// The step holding instant `ts`: `k` with `boundary(k) <= ts < boundary(k + 1)`.
    fn index(self, tz: Tz, ts: i64) -> i64 {
        if self.marks {
            let mut k = ts.div_euclid(self.step);
            while self.boundary(tz, k) > ts {
                k -= 1;
            }
            while self.boundary(tz, k + 1) <= ts {
                k += 1;
            }
            return k;
        }
        let local = Utc.timestamp_millis_opt(ts).unwrap().with_timezone(&tz).naive_local()
            - Duration::milliseconds(self.offset);
        let mut k = if self.months {
            ((i64::from(local.year()) - 1970) * 12 + i64::from(local.month0())).div_euclid(self.step)
        } else {
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
            (local - epoch).num_milliseconds().div_euclid(self.step)
        };
        while self.boundary(tz, k) > ts {
            k -= 1;
        }
        while self.boundary(tz, k + 1) <= ts {
            k += 1;
        }
        k
    }
}

/// The readings each window keeps, by (meter, window start), values in thousandths.
fn model(lines: &[Line], tz: Tz, layout: Layout, latency: i64, last: bool) -> BTreeMap<(usize, i64), Vec<i64>> {
    let mut watermarks: BTreeMap<usize, i64> = BTreeMap::new();
    let mut kept: BTreeMap<(usize, i64), BTreeMap<i64, i64>> = BTreeMap::new();
    for &(m, ts, value) in lines {
        let k = layout.index(tz, ts);
        for first in k - layout.n + 1..=k {
            let (start, end) = (layout.boundary(tz, first), layout.boundary(tz, first + layout.n));
            let expired = watermarks.get(&m).is_some_and(|&w| w >= end + latency);
            if !expired {
                let values = kept.entry((m, start)).or_default();
                if last || !values.contains_key(&ts) {
                    values.insert(ts, value);
                }
            }
        }
        let w = watermarks.entry(m).or_insert(ts);
        *w = (*w).max(ts);
    }
    kept.into_iter().map(|(k, v)| (k, v.into_values().collect())).collect()
}

/// The layouts tried, with the job file's window fields: (size, slide, offset) as written.
const LAYOUTS: [(&str, Option<&str>, Option<&str>, Layout); 12] = [
    ("1h", None, None, Layout { marks: true, months: false, step: 3_600_000, n: 1, offset: 0 }),
    ("30m", None, Some("10m"), Layout { marks: true, months: false, step: 1_800_000, n: 1, offset: 600_000 }),
    ("1h", Some("15m"), None, Layout { marks: true, months: false, step: 900_000, n: 4, offset: 0 }),
    ("1d", None, None, Layout { marks: false, months: false, step: 86_400_000, n: 1, offset: 0 }),
    ("1d", None, Some("6h"), Layout { marks: false, months: false, step: 86_400_000, n: 1, offset: 21_600_000 }),
    ("1mo", None, None, Layout { marks: false, months: true, step: 1, n: 1, offset: 0 }),
    ("1mo", None, Some("6h"), Layout { marks: false, months: true, step: 1, n: 1, offset: 21_600_000 }),
    ("6h", None, None, Layout { marks: false, months: false, step: 21_600_000, n: 1, offset: 0 }),
    ("3h", None, Some("30m"), Layout { marks: false, months: false, step: 10_800_000, n: 1, offset: 1_800_000 }),
    ("2d", Some("1d"), None, Layout { marks: false, months: false, step: 86_400_000, n: 2, offset: 0 }),
    ("12h", Some("6h"), None, Layout { marks: false, months: false, step: 21_600_000, n: 2, offset: 0 }),
    ("2mo", Some("1mo"), None, Layout { marks: false, months: true, step: 1, n: 2, offset: 0 }),
];

fn job(zone: &str, layout: usize, latency_s: i64, last: bool) -> Vec<Job> {
    let (size, slide, offset, _) = LAYOUTS[layout];
    let duplicates = if last { "last" } else { "first" };
    let kind = if slide.is_some() { "sliding" } else { "tumbling" };
    let slide = slide.map_or(String::new(), |s| format!(", slide: {s}"));
    let offset = offset.map_or(String::new(), |o| format!(", offset: {o}"));
    let mut yaml = format!(
        "name: l\ntemplate: time_window_aggregation\nmodel: M\ntimezone: {zone}\nlatency: {latency_s}s\n\
         duplicates: {duplicates}\nwindow: {{type: {kind}{slide}{offset}}}\npolicies:\n"
    );
    for a in ["max", "min", "sum", "cnt"] {
        yaml.push_str(&format!("  - {{input: R, aggregation: {a}, window_size: {size}, output: {a}}}\n"));
    }
    let mut sources = vec![("l.yaml".to_string(), yaml.into_bytes())];
    // Over tumbling windows, a frequency merge ticking on their starts.
    if kind == "tumbling" {
        let merge = format!(
            "name: n\ntemplate: multi_point_merging\nmodel: M\ntimezone: {zone}\n\
             trigger: {{mode: frequency, every: {size}{offset}}}\npolicies:\n  - {{output: diff, logic: \"${{max}} - ${{min}}\"}}\n"
        );
        sources.push(("n.yaml".to_string(), merge.into_bytes()));
    }
    load_sources(sources).unwrap_or_else(|e| panic!("jobs load: {e}"))
}

/// The merge's rows: per meter a tick at each boundary from its first window's start to its
/// last's, each the `max - min` of the latest window starting at or before it.
fn merge_model(expected: &BTreeMap<(usize, i64), Vec<i64>>, tz: Tz, layout: Layout) -> BTreeMap<(usize, i64), f64> {
    let mut rows = BTreeMap::new();
    for m in 0..2 {
        let starts: Vec<i64> = expected.range((m, i64::MIN)..(m + 1, i64::MIN)).map(|(k, _)| k.1).collect();
        let (Some(&first), Some(&last)) = (starts.first(), starts.last()) else { continue };
        for k in layout.index(tz, first)..=layout.index(tz, last) {
            let tick = layout.boundary(tz, k);
            let (_, values) = expected.range((m, i64::MIN)..=(m, tick)).next_back().unwrap();
            let (max, min) = (values.iter().max().unwrap(), values.iter().min().unwrap());
            rows.insert((m, tick), (max - min) as f64 / 1000.0);
        }
    }
    rows
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn local_days_and_months_equal_the_chrono_tz_model(
        change in 0usize..CHANGES.len(),
        before_s in 0i64..5 * 86_400,
        cadence in prop::sample::select(vec![900_000i64, 3_600_000, 10_800_000]),
        layout in 0usize..LAYOUTS.len(),
        latency in prop::sample::select(vec![0i64, 3_600, 86_400]),
        last in any::<bool>(),
        steps in prop::collection::vec((0usize..2, 0u8..32, any::<u32>(), any::<u32>()), 1..250),
    ) {
        let (zone, at) = CHANGES[change];
        let tz: Tz = zone.parse().unwrap();
        let lines = export(at - before_s * 1000, cadence, &steps);
        let input: Vec<String> =
            lines.iter().map(|&(m, ts, v)| format!("{ts},m{m},R,{:.3}", v as f64 / 1000.0)).collect();
        let options = EngineOptions { emit: EmitMode::Final, watermark: WatermarkScope::Series, ..EngineOptions::default() };
        let (output, _) = run_jobs(&|| job(zone, layout, latency, last), options, &csv(&input), None, false);
        let expected = model(&lines, tz, LAYOUTS[layout].3, latency * 1000, last);
        let (written, merged) = rows_written(&output)?;
        let mut want: BTreeMap<(usize, i64, String), f64> = BTreeMap::new();
        for (&(m, start), values) in &expected {
            let sum = values.iter().sum::<i64>() as f64 / 1000.0;
            want.insert((m, start, "max".into()), *values.iter().max().unwrap() as f64 / 1000.0);
            want.insert((m, start, "min".into()), *values.iter().min().unwrap() as f64 / 1000.0);
            want.insert((m, start, "sum".into()), sum);
            want.insert((m, start, "cnt".into()), values.len() as f64);
        }
        prop_assert_eq!(
            written.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "the windows written, {} {:?}", zone, LAYOUTS[layout]
        );
        for (key, &w) in &want {
            let got = written[key];
            prop_assert!((got - w).abs() <= 1e-9 * w.abs().max(1.0), "{:?} in {}: wrote {}, model {}", key, zone, got, w);
        }
        if LAYOUTS[layout].1.is_none() {
            let want = merge_model(&expected, tz, LAYOUTS[layout].3);
            prop_assert_eq!(merged.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "the ticks, {}", zone);
            for (key, &w) in &want {
                prop_assert!((merged[key] - w).abs() <= 1e-9 * w.abs().max(1.0), "tick {:?}: wrote {}, model {}", key, merged[key], w);
            }
        }
    }
}

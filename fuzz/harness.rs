//! What each fuzz target checks, written as plain functions of the input bytes. The libFuzzer
//! targets in `fuzz_targets/` call them, and `tests/fuzz_regressions.rs` replays every kept crash
//! input through the same functions in `cargo test`, so a fixed crash stays fixed on machines
//! without cargo-fuzz. Besides "never panic", each check asserts a property that must hold for any
//! input: parsed values stay in range and format back to themselves, and every row is accounted for.

use meterflow::app::replay as replay_run;
use meterflow::duration::{MAX_DURATION_MS, format_duration, parse_duration};
use meterflow::engine::{EmitMode, EngineOptions, WatermarkScope};
use meterflow::output::{Format, LateWriter, PointWriter};
use meterflow::expr::{Expression, sandboxed_engine};
use meterflow::input::{InputCounts, LongReader};
use meterflow::intern::Names;
use meterflow::job::load_sources;
use meterflow::threshold::Threshold;
use meterflow::time::{MAX_TIMESTAMP, MIN_TIMESTAMP, format_timestamp, parse_fixed_layout, parse_timestamp};
use std::io::{Cursor, Read};

/// The long-format CSV reader: any bytes give readings or a located error; the counts add up.
pub fn csv_long(data: &[u8]) {
    let mut names = Names::default();
    let mut counts = InputCounts::default();
    let Ok(mut reader) = LongReader::new("fuzz.csv", Box::new(Cursor::new(data.to_vec()))) else { return };
    let mut readings = 0u64;
    loop {
        match reader.next(&mut names, &mut counts) {
            Ok(Some(r)) => {
                readings += 1;
                assert!((MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&r.ts), "timestamp {} out of range", r.ts);
                assert!(r.value.is_finite(), "non-finite value {}", r.value);
            }
            Ok(None) => {
                assert_eq!(counts.rows, readings + counts.missing, "rows = readings + missing values");
                return;
            }
            Err(e) => {
                assert!(e.to_string().starts_with("fuzz.csv"), "error names the file: {e}");
                return;
            }
        }
    }
}

/// Timestamp parsing: results lie in years 0000-9999, format back to the same instant, and the
/// fast path agrees with chrono wherever both read the text.
pub fn timestamp(data: &[u8]) {
    let Ok(ms) = parse_timestamp(data) else { return };
    assert!((MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&ms), "{ms} out of range");
    let mut text = Vec::new();
    format_timestamp(ms, &mut text);
    assert_eq!(parse_timestamp(&text), Ok(ms), "formatted as {:?}", String::from_utf8_lossy(&text));
    if let (Some(fast), Ok(Ok(general))) = (parse_fixed_layout(data), std::str::from_utf8(data).map(chrono::DateTime::parse_from_rfc3339)) {
        assert_eq!(fast, general.timestamp_millis(), "fast path and chrono disagree on {:?}", String::from_utf8_lossy(data));
    }
}

/// Durations: accepted ones are within the maximum and format back to themselves.
pub fn duration(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(ms) = parse_duration(text) else { return };
    assert!((0..=MAX_DURATION_MS).contains(&ms), "{ms} out of range");
    assert_eq!(parse_duration(&format_duration(ms)), Ok(ms), "formatted as {}", format_duration(ms));
}

/// Threshold notation: an accepted interval is non-empty and its canonical form means the same.
pub fn threshold(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(t) = Threshold::parse(text) else { return };
    assert_eq!(Threshold::parse(&t.to_string()), Ok(t), "displayed as {t}");
}

/// The job-file loader over one file's bytes: loads, or reports located problems that render.
pub fn job_loader(data: &[u8]) {
    match load_sources(vec![("fuzz.yaml".to_string(), data.to_vec())]) {
        Ok(jobs) => assert_eq!(jobs.len(), 1),
        Err(errors) => {
            assert!(!errors.0.is_empty());
            let text = errors.to_string();
            assert!(text.starts_with("fuzz.yaml"), "{text}");
        }
    }
}

/// A merge expression: the first byte says how many operand values follow (8 bytes each, up to
/// 4), the rest is the expression text. Compiles or fails with a position inside the text;
/// evaluation gives the same outcome twice (no state survives between rows).
pub fn expression(data: &[u8]) {
    let Some((&count, rest)) = data.split_first() else { return };
    let count = usize::from(count % 5);
    if rest.len() < count * 8 {
        return;
    }
    let (numbers, text) = rest.split_at(count * 8);
    let values: Vec<f64> = numbers.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
    let Ok(text) = std::str::from_utf8(text) else { return };
    let mut e = match Expression::compile(&sandboxed_engine(), text) {
        Ok(e) => e,
        Err(err) => {
            let lines = text.split('\n').count().max(1);
            assert!((1..=lines).contains(&err.line), "error line {} of {lines}", err.line);
            assert!(err.column >= 1);
            return;
        }
    };
    let mut operands = values;
    operands.resize(e.operands().len(), 1.0);
    // Compared as text: a NaN result is not equal to itself.
    let first = format!("{:?}", e.evaluate(&operands));
    assert_eq!(first, format!("{:?}", e.evaluate(&operands)), "evaluation is repeatable");
}

/// A window job with several sizes and aggregations, a merge over its outputs and a merge over raw
/// readings: the pipeline the `replay` check runs. `LATENCY` is filled in from the input.
const REPLAY_JOBS: [(&str, &str); 3] = [
    (
        "a_window.yaml",
        "name: window
template: time_window_aggregation
model: M
latency: LATENCY
policies:
  - {input: Reading, threshold: \"[0, 100)\", aggregation: max, window_size: 10m, output: Max}
  - {input: Reading, threshold: \"[0, 100)\", aggregation: min, window_size: 10m, output: Min}
  - {input: Reading, aggregation: sum, window_size: 1ms, output: Sum}
  - {input: Voltage, aggregation: avg, window_size: 1h, output: Avg}
  - {input: Voltage, aggregation: cnt, window_size: 1d, output: Cnt}
",
    ),
    (
        "b_merge.yaml",
        "name: merge
template: multi_point_merging
model: M
trigger: {mode: frequency, every: 10m}
policies:
  - {output: Diff, logic: \"${M::Max} - ${M::Min}\"}
",
    ),
    (
        "c_raw.yaml",
        "name: raw
template: multi_point_merging
model: M
trigger: {mode: point}
latency: LATENCY
policies:
  - {output: Ratio, trigger_point: Reading, logic: \"if ${Voltage} == 0 { 1 / 0 } else { ${Reading} / ${Voltage} }\"}
  - {output: Twice, trigger_point: Voltage, logic: \"${Reading} * 2\"}
",
    ),
];

/// A whole run: the first byte picks the emit mode, watermark scope, future-skew limit and
/// latency; the rest is the CSV input. A run succeeds or fails with a message, and when it
/// succeeds its row accounting balances.
pub fn replay(data: &[u8]) {
    let Some((&options, csv)) = data.split_first() else { return };
    let latency = ["0s", "5m", "1d", "1ms"][usize::from(options >> 4 & 3)];
    let sources = REPLAY_JOBS.iter().map(|(name, text)| (name.to_string(), text.replace("LATENCY", latency).into_bytes())).collect();
    let jobs = load_sources(sources).expect("the replay jobs load");
    let emit = if options & 1 == 0 { EmitMode::Final } else { EmitMode::Updates };
    let watermark = [WatermarkScope::Series, WatermarkScope::Asset, WatermarkScope::Global, WatermarkScope::Series][usize::from(options >> 1 & 3)];
    let max_future_skew = (options & 8 != 0).then_some(3_600_000);
    let engine = EngineOptions { emit, watermark, max_future_skew, max_open_windows: (options & 64 != 0).then_some(50) };
    let output = SharedBuffer::default();
    let mut points = PointWriter::new(Box::new(output.clone()), Format::Csv, emit == EmitMode::Updates).expect("buffer");
    let mut late = LateWriter::new(Box::new(std::io::sink())).expect("sink");
    let input: Vec<(String, Box<dyn Read>)> = vec![("fuzz.csv".to_string(), Box::new(Cursor::new(csv.to_vec())))];
    let Ok(report) = replay_run(jobs, engine, input, &mut points, Some(&mut late)) else { return };
    for balance in &report.balances {
        assert!(balance.holds(), "{}", balance.describe());
    }
    // The output is valid input: every row reads back as a reading (finite value, timestamp in range).
    drop(points);
    let written = output.0.borrow().clone();
    let mut reader = LongReader::new("output", Box::new(Cursor::new(written))).expect("output header");
    let (mut names, mut counts) = (Names::default(), InputCounts::default());
    while reader.next(&mut names, &mut counts).unwrap_or_else(|e| panic!("output row does not read back: {e}")).is_some() {}
    assert_eq!(counts.missing, 0, "the output holds no missing values");
}

/// A writer whose bytes stay readable after the writer that owns it is dropped.
#[derive(Clone, Default)]
struct SharedBuffer(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

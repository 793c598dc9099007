//! What each fuzz target checks, written as plain functions of the input bytes. The libFuzzer
//! targets in `fuzz_targets/` call them, and `tests/fuzz_regressions.rs` replays every kept crash
//! input through the same functions in `cargo test`, so a fixed crash stays fixed on machines
//! without cargo-fuzz. Besides "never panic", each check asserts a property that must hold for any
//! input: parsed values stay in range and format back to themselves, every row is accounted for,
//! and a run's output reads back as input.

use meterflow::engine::names::Names;
use meterflow::engine::{Duplicates, EmitMode, EngineOptions, WatermarkScope};
use meterflow::input::timestamp::{Ambiguous, DstPolicy, Nonexistent, TimeFormat, TimeParser};
use meterflow::input::{BadRowPolicy, BadRows, InputCounts, InputOptions, InputReader, InputSettings, Reader};
use meterflow::job::expr::{Expression, sandboxed_engine};
use meterflow::job::load_sources;
use meterflow::job::threshold::Threshold;
use meterflow::output::{Format, LateWriter, Output, PointWriter, Split};
use meterflow::replay::Replay;
use meterflow::time::duration::{MAX_DURATION_MS, format_duration, parse_duration};
use meterflow::time::{MAX_TIMESTAMP, MIN_TIMESTAMP, format_timestamp, parse_fixed_layout, parse_timestamp};
use std::io::{Cursor, Read};

/// strftime patterns of real meter exports, for the checks that pick a `--time-format`.
const PATTERNS: [&str; 4] = ["%d/%m/%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%d/%m/%Y"];

/// The input reader (long or wide, any delimiter, time formats, zones, DST, bad-row policy): the
/// first byte picks the flags, the rest is the file. Any bytes give readings, a located error or
/// skipped bad rows, and every row is accounted for.
pub fn csv_input(data: &[u8]) {
    let Some((&flags, file)) = data.split_first() else { return };
    let mut args = InputSettings { wide: flags & 1 != 0, ..InputSettings::default() };
    if flags & 2 != 0 {
        args.on_bad_row = BadRowPolicy::Skip;
    }
    args.time_format = match flags >> 2 & 3 {
        // Without a format the pattern bits pick options the fast reader must leave to the
        // general one: delimiters that occur inside timestamps and numbers, a column with two roles.
        0 => {
            match flags >> 6 {
                1 => args.delimiter = Some(" ".to_string()),
                2 => args.delimiter = Some(".".to_string()),
                3 => args.asset_column = Some("model".to_string()),
                _ => {}
            }
            None
        }
        1 => Some(PATTERNS[usize::from(flags >> 6)].to_string()),
        2 => Some("epoch_s".to_string()),
        _ => Some("epoch_ms".to_string()),
    };
    if flags & 16 != 0 {
        args.timezone = Some("Europe/Dublin".to_string());
    }
    if flags & 32 != 0 {
        args.dst = vec!["ambiguous=earlier".to_string(), "nonexistent=shift".to_string()];
    }
    let options = InputOptions::from_settings(&args).expect("valid input flags");
    let general = read_input(file, &options, None);
    let Some((readings, counts)) = &general.read else { return };
    for r in readings {
        assert!((MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&r.0), "timestamp {} out of range", r.0);
        assert!(f64::from_bits(r.1).is_finite(), "non-finite value {}", f64::from_bits(r.1));
    }
    if let Some(text) = &general.error {
        assert!(
            text.starts_with("fuzz.csv") || text.starts_with("failed to read fuzz.csv"),
            "error names the file: {text}"
        );
    } else {
        assert_eq!(counts.rows, counts.whole_rows + counts.rejected, "rows = rows read whole + rejected");
        assert_eq!(counts.values, readings.len() as u64 + counts.missing, "value cells = readings + missing values");
    }
    // The fast path (inline and on threads) gives what the general reader alone gives.
    for threads in [1, 2] {
        let fast = read_input(file, &options, Some(threads));
        assert_eq!(fast.read.as_ref().map(|r| &r.1), Some(counts), "{threads} threads: counts");
        assert!(fast.read.as_ref().map(|r| &r.0) == Some(readings), "{threads} threads: readings");
        assert_eq!(fast.error, general.error, "{threads} threads: error");
    }
}

/// A reading with its names, comparable across name tables.
type NamedReading = (i64, u64, String, String, String);

/// One step of a reader under test: the next reading, or the error that ended the input.
type NextReading<'a> = Box<
    dyn FnMut(&mut Names, &mut InputCounts, &mut BadRows) -> Result<Option<meterflow::engine::Reading>, String> + 'a,
>;

/// What reading a file gives: the readings and counts (`None` when the header is refused), and
/// the error that ended it.
struct InputRun {
    read: Option<(Vec<NamedReading>, InputCounts)>,
    error: Option<String>,
}

/// Reads `file` with the general reader alone (`threads` `None`) or through the fast path.
fn read_input(file: &[u8], options: &InputOptions, threads: Option<usize>) -> InputRun {
    let mut bad_rows = BadRows::new(options.on_bad_row, None).expect("bad-row policy");
    let mut names = Names::default();
    let mut counts = InputCounts::default();
    let source = Box::new(Cursor::new(file.to_vec()));
    let mut next: NextReading = match threads {
        None => match Reader::new("fuzz.csv", source, options, &mut names) {
            Ok(mut reader) => {
                Box::new(move |names, counts, bad_rows| reader.next(names, counts, bad_rows).map_err(|e| e.to_string()))
            }
            Err(e) => return InputRun { read: None, error: Some(e.to_string()) },
        },
        Some(threads) => match InputReader::open("fuzz.csv", source, options, &mut names, threads) {
            Ok(mut reader) => {
                Box::new(move |names, counts, bad_rows| reader.next(names, counts, bad_rows).map_err(|e| e.to_string()))
            }
            Err(e) => return InputRun { read: None, error: Some(e.to_string()) },
        },
    };
    let mut readings = Vec::new();
    loop {
        match next(&mut names, &mut counts, &mut bad_rows) {
            Ok(Some(r)) => {
                let model = if r.model == meterflow::engine::NO_MODEL {
                    String::new()
                } else {
                    names.models.name(r.model).to_string()
                };
                readings.push((
                    r.ts,
                    r.value.to_bits(),
                    names.assets.name(r.asset).to_string(),
                    names.points.name(r.point).to_string(),
                    model,
                ));
            }
            Ok(None) => return InputRun { read: Some((readings, counts)), error: None },
            Err(e) => return InputRun { read: Some((readings, counts)), error: Some(e) },
        }
    }
}

/// A timestamp field under a `--time-format`, `--timezone` and `--dst`: the first byte picks them,
/// the rest is the field. Results lie in years 0000-9999; refusals are worded.
pub fn time_format(data: &[u8]) {
    let Some((&flags, field)) = data.split_first() else { return };
    let format = match flags & 7 {
        0 => TimeFormat::Auto,
        1 => TimeFormat::EpochSeconds,
        2 => TimeFormat::EpochMillis,
        k => TimeFormat::parse(PATTERNS[usize::from(k - 3) % PATTERNS.len()]).expect("valid pattern"),
    };
    let zone = match flags >> 3 & 3 {
        0 => None,
        1 => Some(chrono_tz::Europe::Dublin),
        2 => Some(chrono_tz::Australia::Lord_Howe),
        _ => Some(chrono_tz::America::Sao_Paulo),
    };
    let dst = DstPolicy {
        ambiguous: [Ambiguous::Reject, Ambiguous::Earlier, Ambiguous::Later, Ambiguous::Earlier]
            [usize::from(flags >> 5 & 3)],
        nonexistent: if flags & 128 != 0 { Nonexistent::Shift } else { Nonexistent::Reject },
    };
    let parser = TimeParser { format, zone, dst };
    match parser.parse(field) {
        Ok(ms) => assert!((MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&ms), "{ms} out of range"),
        Err(e) => assert!(!parser.explain(e).is_empty()),
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
    if let (Some(fast), Ok(Ok(general))) =
        (parse_fixed_layout(data), std::str::from_utf8(data).map(chrono::DateTime::parse_from_rfc3339))
    {
        assert_eq!(
            fast,
            general.timestamp_millis(),
            "fast path and chrono disagree on {:?}",
            String::from_utf8_lossy(data)
        );
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
    let values: Vec<f64> =
        numbers.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
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

/// A window job with several sizes and aggregations, a sliding window job, a merge over window
/// outputs and merges over raw readings: the pipeline the `replay` check runs. `LATENCY` is filled
/// in from the input. The frequency merge ticks every 30 days: it writes a row per tick from an
/// asset's earliest to its latest timestamp, so at 10 minutes one reading stamped in year 9999 would
/// take hours (a known cost, see SECURITY.md), which the fuzzer would report as a hang.
const REPLAY_JOBS: [(&str, &str); 5] = [
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
trigger: {mode: point}
policies:
  - {output: Diff, trigger_point: Max, logic: \"${M::Max} - ${M::Min}\"}
",
    ),
    (
        "e_ticks.yaml",
        "name: ticks
template: multi_point_merging
model: M
trigger: {mode: frequency, every: 30d}
latency: LATENCY
policies:
  - {output: Sum2, logic: \"${Reading} + ${Voltage}\"}
",
    ),
    (
        "d_sliding.yaml",
        "name: sliding
template: time_window_aggregation
model: M
window: {type: sliding, slide: 5m}
latency: LATENCY
policies:
  - {input: Reading, threshold: \"[0, 100)\", interpolation: last_value, aggregation: delta, window_size: 15m, output: Delta}
  - {input: Voltage, aggregation: range, window_size: 10m, output: Range}
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

/// A whole run: the first byte picks the emit mode, watermark scope, future-skew limit, latency,
/// open-window limit and duplicates rule; the rest is the CSV input. A run succeeds or fails with a message; when
/// it succeeds its row accounting balances and its output reads back as input.
pub fn replay(data: &[u8]) {
    let Some((&options, csv)) = data.split_first() else { return };
    let latency = ["0s", "5m", "1d", "1ms"][usize::from(options >> 4 & 3)];
    let sources = REPLAY_JOBS
        .iter()
        .map(|(name, text)| (name.to_string(), text.replace("LATENCY", latency).into_bytes()))
        .collect();
    let jobs = load_sources(sources).expect("the replay jobs load");
    let emit = if options & 1 == 0 { EmitMode::Final } else { EmitMode::Updates };
    let watermark = [WatermarkScope::Series, WatermarkScope::Asset, WatermarkScope::Global, WatermarkScope::Series]
        [usize::from(options >> 1 & 3)];
    let max_future_skew = (options & 8 != 0).then_some(3_600_000);
    let duplicates = Some(if options & 128 == 0 { Duplicates::First } else { Duplicates::Last });
    let engine = EngineOptions {
        emit,
        watermark,
        max_future_skew,
        max_open_windows: (options & 64 != 0).then_some(50),
        duplicates,
        max_open_readings: None,
    };
    let output = SharedBuffer::default();
    let points =
        PointWriter::new(Box::new(output.clone()), Format::Csv, emit == EmitMode::Updates, None).expect("buffer");
    let late = LateWriter::new(Box::new(std::io::sink()), Format::Csv).expect("sink");
    let mut replay = Replay::long_format(jobs, engine).expect("default input options");
    let mut out = Split { points: Box::new(points), late: Some(Box::new(late)) };
    let source: Box<dyn Read + Send> = Box::new(Cursor::new(csv.to_vec()));
    if replay
        .read("fuzz.csv", source, &mut out)
        .and_then(|()| replay.finish(&mut out))
        .and_then(|()| Ok(out.flush()?))
        .is_err()
    {
        return;
    }
    for balance in replay.balances() {
        assert!(balance.holds(), "{}", balance.describe());
    }
    // The output is valid input: every row reads back as a reading (finite value, timestamp in
    // range), except windows starting before year 0000, written with a sign as documented.
    drop(out);
    let text = String::from_utf8(output.0.lock().expect("buffer lock").clone()).expect("UTF-8 output");
    let (before_year_0, rows): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.starts_with('-'));
    for row in before_year_0 {
        assert!(
            row.as_bytes().get(5) == Some(&b'-') && row.starts_with("-0"),
            "a negative year is written -YYYY: {row}"
        );
    }
    let written = rows.join("\n").into_bytes();
    let options = InputOptions::from_settings(&InputSettings::default()).expect("default input options");
    let mut bad_rows = BadRows::new(options.on_bad_row, None).expect("bad-row policy");
    let (mut names, mut counts) = (Names::default(), InputCounts::default());
    let mut reader =
        Reader::new("output", Box::new(Cursor::new(written)), &options, &mut names).expect("output header");
    while reader
        .next(&mut names, &mut counts, &mut bad_rows)
        .unwrap_or_else(|e| panic!("output row does not read back: {e}"))
        .is_some()
    {}
    assert_eq!(counts.missing, 0, "the output holds no missing values");
}

/// A writer whose bytes stay readable after the writer that owns it is dropped.
#[derive(Clone, Default)]
struct SharedBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A job directory built from the bytes (the `job_directory` target): entries of `[kind, name,
/// length, content...]` where the kind makes a file, a subfolder, a link to a file beside it or a
/// link to a secret outside. Finding job and test files, loading the jobs and reading the tests
/// never panics, never returns a file outside the directory and never shows the secret's text.
pub fn job_directory(data: &[u8]) {
    const NAMES: [&str; 8] =
        ["a.yaml", "b.yml", "c.test.yaml", "d.test.yml", "e.txt", "f.yaml", "g.yaml.yaml", "h.test.yaml"];
    const SECRET: &str = "https://ci:SECRET-TOKEN@example.org";
    let root = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(root.path().join("secret.yaml"), SECRET).expect("the secret");
    let dir = root.path().join("jobs");
    std::fs::create_dir(&dir).expect("the job directory");
    let mut rest = data;
    while let [kind, name, length, tail @ ..] = rest {
        let len = usize::from(*length).min(tail.len());
        let (content, next) = tail.split_at(len);
        rest = next;
        let path = dir.join(NAMES[usize::from(*name) % NAMES.len()]);
        if path.exists() || path.is_symlink() {
            continue;
        }
        let made = match kind % 4 {
            0 => std::fs::write(&path, content),
            1 => std::fs::create_dir(&path),
            2 => std::os::unix::fs::symlink(NAMES[usize::from(*length) % NAMES.len()], &path),
            _ => std::os::unix::fs::symlink(root.path().join("secret.yaml"), &path),
        };
        made.expect("an entry of the job directory");
    }
    let inside = std::fs::canonicalize(&dir).expect("the directory");
    let mut problems = Vec::new();
    let files = meterflow::job::discover::job_files(std::slice::from_ref(&dir), &mut problems);
    let sources = meterflow::job::discover::test_sources(std::slice::from_ref(&dir), &mut problems);
    for file in files.iter().chain(&sources) {
        let real = std::fs::canonicalize(file).expect("a found file exists");
        assert!(real.starts_with(&inside), "{} leads out of the directory", file.display());
    }
    let mut shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    if let Err(errors) = meterflow::job::load_jobs(std::slice::from_ref(&dir)) {
        shown.push(errors.to_string());
    }
    if let Err(errors) = meterflow::commands::test::file::load_tests(std::slice::from_ref(&dir)) {
        shown.push(errors.to_string());
    }
    for text in shown {
        assert!(!text.contains("SECRET"), "the secret was shown: {text}");
    }
}

/// The state file decoder (the `state_decoder` target): the first byte picks whether the rest is a
/// whole file or a payload wrapped in a valid container (header and CRC right, contents fuzzed).
/// Decoding gives a state or a worded refusal; a decoded state is restored into the `replay`
/// check's pipeline and finished, which must refuse it or run without a panic.
pub fn state_decoder(data: &[u8]) {
    use meterflow::replay::state::{file, saved::SavedState};
    let Some((&wrap, rest)) = data.split_first() else { return };
    let bytes = if wrap & 1 == 1 { file::encode(rest) } else { rest.to_vec() };
    let saved = match SavedState::decode(&bytes) {
        Ok(saved) => saved,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let Some(names) = saved.names.tables() else { return };
    let sources =
        REPLAY_JOBS.iter().map(|(name, text)| (name.to_string(), text.replace("LATENCY", "1d").into_bytes())).collect();
    let jobs = load_sources(sources).expect("the replay jobs load");
    let input = InputOptions::from_settings(&InputSettings::default()).expect("default input options");
    let bad_rows = BadRows::new(input.on_bad_row, None).expect("bad-row policy");
    let mut replay = Replay::with_names(jobs, EngineOptions::default(), input, bad_rows, names);
    let resumed = meterflow::replay::Resumed {
        from: "fuzz.state".to_string(),
        runs_before: saved.runs,
        inputs_before: saved.sources,
        rows_before: saved.counts.rows,
        points_written_before: 0,
        late_written_before: 0,
    };
    if replay.restore(saved.counts, saved.sources, saved.pipeline, resumed).is_err() {
        return;
    }
    let points = PointWriter::new(Box::new(std::io::sink()), Format::Csv, false, None).expect("sink");
    let late = LateWriter::new(Box::new(std::io::sink()), Format::Csv).expect("sink");
    let mut out = Split { points: Box::new(points), late: Some(Box::new(late)) };
    let _ = replay.finish(&mut out).and_then(|()| Ok(out.flush()?));
}

/// The InfluxDB line-protocol encoder (the `influx_encoder` target): an asset, a point and a text
/// value from the bytes, split at the first two `\x01` bytes (`asset \x01 point \x01 text`; a
/// number when there is no text).
/// A row is refused with a message or written as exactly one line that reads back, with the
/// line-protocol reference's unescaping, as the same asset, point and text.
pub fn influx_encoder(data: &[u8]) {
    use meterflow::engine::{Emit, NO_MODEL, Point, Value};
    use meterflow::output::encode::PointEncoder;
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{1}');
    let (asset, point, value) = (parts.next().unwrap_or(""), parts.next().unwrap_or("p"), parts.next());
    if asset.is_empty() || point.is_empty() {
        return;
    }
    let mut names = Names::default();
    let p = Point {
        ts: 1_700_000_000_000,
        asset: names.assets.intern(asset),
        point: names.points.intern(point),
        model: NO_MODEL,
        value: value.map_or(Value::Number(1.5), |v| Value::Text(v.into())),
        job: 0,
        emit: Emit::Final,
        revision: 0,
    };
    let mut line = Vec::new();
    if PointEncoder::new(Format::Influx, false, None).point(&p, &names, &mut line).is_err() {
        assert!(line.is_empty(), "a refused row writes nothing");
        return;
    }
    let line = String::from_utf8(line).expect("UTF-8 line");
    let body = line.strip_suffix('\n').expect("a line ends in a newline");
    assert!(!body.contains('\n') && !body.contains('\r'), "one line: {line:?}");
    let (measurement, rest) = unescape_until(body, &[',', ' ']);
    assert_eq!(measurement, point, "{line:?}");
    let rest = rest.strip_prefix(",asset=").unwrap_or_else(|| panic!("tag set: {line:?}"));
    let (tag, rest) = unescape_until(rest, &[',', ' ']);
    assert_eq!(tag, asset, "{line:?}");
    let rest = rest.strip_prefix(" value=").unwrap_or_else(|| panic!("field set: {line:?}"));
    let (field, rest) = match value {
        Some(_) => string_field(rest),
        None => rest.split_once(' ').map(|(f, r)| (f.to_string(), format!(" {r}"))).expect("timestamp"),
    };
    assert_eq!(field, value.unwrap_or("1.5"), "{line:?}");
    assert_eq!(rest, " 1700000000000000000", "{line:?}");
}

/// Line protocol up to the first unescaped `stops` character: the text unescaped (a backslash
/// before any character stands for that character) and what follows.
fn unescape_until<'a>(text: &'a str, stops: &[char]) -> (String, &'a str) {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => out.push(escaped),
                None => out.push('\\'),
            },
            c if stops.contains(&c) => return (out, &text[at..]),
            c => out.push(c),
        }
    }
    (out, "")
}

/// A quoted string field at the start of `text`, unescaped, and what follows it.
fn string_field(text: &str) -> (String, String) {
    let inner = text.strip_prefix('"').unwrap_or_else(|| panic!("a string field: {text:?}"));
    let mut out = String::new();
    let mut chars = inner.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next().map_or('\\', |(_, c)| c)),
            '"' => return (out, inner[at + 1..].to_string()),
            c => out.push(c),
        }
    }
    panic!("an unterminated string field: {text:?}")
}

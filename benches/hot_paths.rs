//! Micro-benchmarks of the per-row hot paths (`cargo bench`): timestamp parsing, row parsing,
//! window update and merge-expression evaluation. End-to-end figures against the peers (DuckDB,
//! Polars, chdb, DataFusion) come from `bench/run.sh`.

use divan::{Bencher, black_box, counter::ItemsCount};
use meterflow::engine::names::Names;
use meterflow::engine::{Dropped, EngineOptions, Pipeline, Point, Reading, Sink};
use meterflow::input::fast::{Chunk, Layout, Role, Translation};
use meterflow::input::{BadRows, InputCounts, InputOptions, InputSettings, Reader};
use meterflow::job::expr::{Expression, sandboxed_engine};
use meterflow::job::load_jobs;
use meterflow::time::{FixedLayoutCache, format_timestamp, parse_timestamp};
use std::path::PathBuf;

fn main() {
    divan::main();
}

const ROWS: usize = 20_000;

/// Meter rows as the benchmark generator writes them: 15 s apart per meter, 100 meters.
fn lines() -> Vec<u8> {
    let mut text = Vec::new();
    for i in 0..ROWS {
        let ms = 1_704_067_200_000 + (i / 100) as i64 * 15_000 + (i % 100) as i64 * 137;
        format_timestamp(ms, &mut text);
        text.extend_from_slice(format!(",meter{:04},Reading,{}.{:03}\n", i % 100, 20 + i % 60, i % 1000).as_bytes());
    }
    text
}

fn timestamps() -> Vec<Vec<u8>> {
    lines().split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| l[..24].to_vec()).collect()
}

#[divan::bench]
fn timestamp_parse_general(bencher: Bencher) {
    let stamps = timestamps();
    bencher
        .counter(ItemsCount::new(stamps.len()))
        .bench(|| stamps.iter().map(|s| parse_timestamp(black_box(s)).unwrap_or(0)).sum::<i64>());
}

#[divan::bench]
fn timestamp_parse_cached(bencher: Bencher) {
    let stamps = timestamps();
    bencher.counter(ItemsCount::new(stamps.len())).bench(|| {
        let mut cache = FixedLayoutCache::default();
        stamps.iter().map(|s| cache.parse(black_box(s)).unwrap_or(0)).sum::<i64>()
    });
}

#[divan::bench]
fn row_parse_fast_path(bencher: Bencher) {
    let layout = Layout {
        delimiter: b',',
        roles: vec![Role::Timestamp, Role::Asset, Role::Point, Role::Value],
        numbers: Default::default(),
        read: None,
    };
    let mut chunk = Chunk::from_text(&lines());
    let (mut names, mut translation) = (Names::default(), Translation::default());
    let mut parser = translation.parser();
    bencher.counter(ItemsCount::new(ROWS)).bench_local(|| {
        chunk.parse(&layout, &mut parser);
        chunk.intern(&mut names, &mut translation);
        chunk.readings.len()
    });
}

#[divan::bench]
fn row_parse_general_reader(bencher: Bencher) {
    let mut text = b"timestamp,device,point,value\n".to_vec();
    text.extend_from_slice(&lines());
    let options = InputOptions::from_settings(&InputSettings::default()).expect("default input options");
    bencher.counter(ItemsCount::new(ROWS)).bench_local(|| {
        let (mut names, mut counts) = (Names::default(), InputCounts::default());
        let mut bad_rows = BadRows::new(options.on_bad_row, None).expect("bad-row policy");
        let mut reader =
            Reader::new("bench", Box::new(std::io::Cursor::new(text.clone())), &options, &mut names).expect("header");
        let mut n = 0;
        while let Ok(Some(_)) = reader.next(&mut names, &mut counts, &mut bad_rows) {
            n += 1;
        }
        n
    });
}

struct NoSink;

impl Sink for NoSink {
    fn point(&mut self, point: &Point) {
        black_box(point);
    }
    fn dropped(&mut self, dropped: &Dropped) {
        black_box(dropped);
    }
}

/// The seed max/min job (two policies, latency 1d) over readings of 1000 meters, 15 s apart.
#[divan::bench]
fn window_update(bencher: Bencher) {
    let job = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("jobs/meter_max_min.yaml");
    bencher
        .counter(ItemsCount::new(ROWS * 5))
        .with_inputs(|| {
            let mut names = Names::default();
            let pipeline = Pipeline::new(
                load_jobs(std::slice::from_ref(&job)).expect("seed job"),
                &mut names,
                EngineOptions::default(),
            );
            let point = names.points.intern("Reading");
            let readings: Vec<Reading> = (0..ROWS * 5)
                .map(|i| Reading {
                    asset: (i % 1000) as u32,
                    point,
                    model: u32::MAX,
                    ts: (i / 1000) as i64 * 15_000 + (i % 1000) as i64 * 13,
                    value: (i % 997) as f64 / 10.0,
                    quality: 0,
                })
                .collect();
            (pipeline, readings)
        })
        .bench_local_values(|(mut pipeline, readings)| {
            for r in readings {
                pipeline.push(r, &mut NoSink);
            }
            pipeline
        });
}

fn evaluate(bencher: Bencher, text: &str) {
    let mut e = Expression::compile(&sandboxed_engine(), text).expect("expression compiles");
    let values: Vec<[f64; 2]> = (0..1000).map(|i| [i as f64 * 0.37, 1.0 + i as f64 * 0.11]).collect();
    bencher
        .counter(ItemsCount::new(values.len()))
        .bench_local(|| values.iter().filter(|v| e.evaluate(black_box(&v[..])).is_ok()).count());
}

#[divan::bench]
fn expression_arithmetic(bencher: Bencher) {
    evaluate(bencher, "${ElectricMeter::MaxReading10Min} - ${ElectricMeter::MinReading10Min}");
}

/// A comparison, `&&` and `if` on the fast path.
#[divan::bench]
fn expression_branch(bencher: Bencher) {
    evaluate(bencher, "if ${M::A} > 40.0 && ${M::A} <= ${M::B} * 60 { ${M::A} * 15.0 / 3600 - 0.5 } else { 0.0 }");
}

/// A function the fast path leaves to rhai.
#[divan::bench]
fn expression_with_function(bencher: Bencher) {
    evaluate(bencher, "sqrt(${ElectricMeter::MaxReading10Min} - ${ElectricMeter::MinReading10Min})");
}

/// The costliest expressions found within the sandbox's limits (SECURITY.md quotes the figures):
/// 150 chains of 60 string functions over 4 KB strings (about 9,600 operations, a 620 KB job file;
/// the first string depends on an operand, so nothing is folded at compile time), and the
/// issue's balanced tree of 1,024 `pad`s, which the string-work budget stops after sixteen.
#[divan::bench(args = ["to_upper", "sub_string", "concatenation", "index", "pad_tree"])]
fn expression_worst_case(bencher: Bencher, case: &str) {
    let long = format!("(\"{}\" + ${{A}})", "a".repeat(4000));
    let chain = |call: &str| {
        let item = format!("({long}{}).len() > 0", call.repeat(55));
        format!("[{}][0]", vec![item; 150].join(", "))
    };
    fn tree(depth: u32) -> String {
        if depth == 0 {
            r#"("x".pad(4096, "y") == ())"#.to_string()
        } else {
            format!("({} && {})", tree(depth - 1), tree(depth - 1))
        }
    }
    let text = match case {
        "to_upper" => chain(".to_upper()"),
        "sub_string" => chain(".sub_string(1)"),
        "concatenation" => chain(" + \"\""),
        // Indexing runs without a function call, so it is not charged: each `[3999]` walks the
        // string; 200 of them make an expression near the 1 MiB job-file cap.
        "index" => format!("[{}][0]", vec![format!("{long}[3999] == 'a'"); 200].join(", ")),
        _ => format!("{} || ${{A}} > 0", tree(10)),
    };
    let mut e = Expression::compile(&sandboxed_engine(), &text).expect("expression compiles");
    bencher.bench_local(|| e.evaluate(black_box(&[1.0])).is_ok());
}

//! `run`'s flags resolved into [`Settings`]: every check that makes a run a usage error (exit 2)
//! is made here, in one phase, before the jobs are loaded or any input is read.

use super::{check_writes, format, input_options, input_paths, input_settings, progress, reads};
use crate::cli::args::{DuplicatesArg, EmitArg, RunArgs, ScopeArg, ShardsArg};
use crate::commands::Failure;
use crate::commands::clobber::Written;
use crate::commands::run::{OutputSettings, PointsTo, Settings, StateSettings};
use crate::engine::{Duplicates, EmitMode, EngineOptions, WatermarkScope};
use crate::input::rejects::check_limit;
use crate::input::stamps::IntervalEnd;
use crate::output::{Format, is_database_uri};
use crate::time::duration::parse_duration;
use anyhow::anyhow;
use std::path::Path;

pub fn run(args: RunArgs) -> Result<Settings, Failure> {
    let usage = |text: String| Failure::Usage(anyhow!("{text}"));
    let engine = engine_options(&args)?;
    let input_settings = input_settings(&args.input)?;
    let input = input_options(&input_settings)?;
    check_limit(input.on_bad_row, args.max_bad_rows).map_err(Failure::Usage)?;
    let inputs = input_paths(&args.inputs);
    let live = inputs.iter().any(|i| i.live);
    let idle_timeout = match &args.idle_timeout {
        Some(text) => Some(parse_duration(text).map_err(|e| usage(format!("--idle-timeout: {e}")))?),
        None => None,
    };
    if idle_timeout.is_some() {
        if engine.watermark != WatermarkScope::Series {
            return Err(usage(
                "--idle-timeout works with --watermark series only: a shared watermark moves with every series that \
                 still sends, so one silent series must not move it"
                    .into(),
            ));
        }
        if input.sort {
            return Err(usage(
                "--idle-timeout cannot be used with --sort-input: sorted readings are replayed after the input ends, \
                 when wall-clock time says nothing about them"
                    .into(),
            ));
        }
        // On files, wall-clock time says how fast the replay runs, not how long a meter was
        // silent: advances from it would change results at random.
        if !live {
            return Err(usage(
                "--idle-timeout applies to live input (a pipe, FIFO, terminal or socket); every input here is a \
                 regular file, whose event time alone decides when windows close"
                    .into(),
            ));
        }
    }
    let state = match &args.state {
        Some(path) => {
            if input.sort {
                let (setting, off) = match &args.input.input_config {
                    Some(file) if !args.input.sort_input => {
                        (format!("sort_input: true (in the input config {})", file.display()), " (or --no-sort-input)")
                    }
                    _ => ("--sort-input".to_string(), ""),
                };
                return Err(usage(format!(
                    "{setting} cannot be used with --state: each run would sort only its own input, so the result \
                     would depend on where the input was cut; sort the input files beforehand{off}"
                )));
            }
            if input.interval_end == Some(IntervalEnd::Inferred) {
                let setting = match &args.input.input_config {
                    Some(file) if args.input.interval_end.is_none() => {
                        format!("interval_end: auto (in the input config {})", file.display())
                    }
                    _ => "--interval-end auto".to_string(),
                };
                return Err(usage(format!(
                    "{setting} cannot be used with --state: each run would infer the interval length from its own \
                     first rows, so a part with a gap (or a single reading per series) would move its readings by \
                     another length than the whole input; give the length, such as --interval-end 30m (`meterflow \
                     sniff` proposes it)"
                )));
            }
            Some(StateSettings {
                path: path.clone(),
                finish: args.finish,
                allow_repeated_input: args.allow_repeated_input,
            })
        }
        None => None,
    };
    parquet(&args, &inputs)?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let shards = shards(&args, &engine, live, cores)?;
    let points = points_to(&args)?;
    let o = match args.output.as_deref() {
        _ if !matches!(points, PointsTo::File(_)) => None,
        Some(path) => Some(Written::file("-o", path)),
        None => Some(Written::stdout("-o", true)),
    };
    let written: Vec<Written> = [
        o,
        args.late_output.as_deref().map(|p| Written::file("--late-output", p)),
        input_settings.rejects.as_deref().map(|p| Written::file("--rejects", p)),
        args.stats_json.as_deref().map(|p| Written::file("--stats-json", p)),
        args.state.as_deref().map(|p| Written::replaced("--state", p)),
    ]
    .into_iter()
    .flatten()
    .collect();
    check_writes(&reads(&inputs, &args.jobs, &args.input), &written)?;
    let threads = args.threads.map_or(cores, usize::from);
    Ok(Settings {
        jobs: args.jobs,
        inputs,
        input,
        rejects: input_settings.rejects,
        max_bad_rows: args.max_bad_rows,
        engine,
        outputs: OutputSettings {
            points,
            format: format(args.format),
            decimals: args.decimals,
            late: args.late_output,
            stats_json: args.stats_json,
        },
        state,
        idle_timeout,
        threads,
        shards,
        strict: args.strict,
        quiet: args.quiet,
        progress: progress(args.progress),
    })
}

/// The shards of the run: `--shards N` refused with what it cannot be used with (whatever couples
/// assets or needs one pipeline), `auto` one shard there and where the cores are too few for
/// shards to pay (bench/RESULTS.md, the model for N cores: on 2 cores one pipeline is faster, and
/// on 3 the model's gain is too slim to count on; past about 4 shards the main thread, which deals
/// and merges, sets the pace).
fn shards(args: &RunArgs, engine: &EngineOptions, live: bool, cores: usize) -> Result<usize, Failure> {
    let n = match args.shards {
        ShardsArg::Count(n) => n,
        ShardsArg::Auto => {
            let alone = args.threads == Some(1) || cores <= 3 || shards_refused(args, engine, live).is_some();
            return Ok(if alone { 1 } else { (cores / 2).min(4) });
        }
    };
    match shards_refused(args, engine, live).filter(|_| n > 1) {
        Some(why) => Err(Failure::Usage(anyhow!("--shards {n}: {why}; use --shards 1"))),
        None => Ok(usize::from(n)),
    }
}

/// Why shards cannot run these jobs on this input, if they cannot.
fn shards_refused(args: &RunArgs, engine: &EngineOptions, live: bool) -> Option<String> {
    let refuse = |text: &str| Some(text.to_string());
    if engine.watermark == WatermarkScope::Global {
        return refuse(
            "--watermark global moves one clock with the readings of every asset, so the assets of one shard \
             decide what is late in another; shards need --watermark series or asset",
        );
    }
    if args.state.is_some() {
        return refuse("--state saves the jobs of one pipeline, and the shards each hold a part of them");
    }
    if live {
        return refuse(
            "a live input (a pipe, FIFO, terminal or socket) writes each row as soon as the input waits, and \
             sharded rows wait in their shard's batch; read a file",
        );
    }
    let limits = [
        ("--max-open-windows", args.max_open_windows),
        ("--max-open-readings", args.max_open_readings),
        ("--max-merge-series", args.max_merge_series),
    ];
    if let Some((flag, _)) = limits.iter().find(|(_, limit)| limit.is_some()) {
        return Some(format!(
            "{flag} counts over every asset after each reading, and each shard sees only its own assets"
        ));
    }
    None
}

/// What Parquet input or output asks of the build and of the other flags.
fn parquet(args: &RunArgs, inputs: &[crate::commands::InputPath]) -> Result<(), Failure> {
    let usage = |text: &str| Err(Failure::Usage(anyhow!("{text}")));
    let parquet_input = inputs.iter().find(|i| i.path.to_ascii_lowercase().ends_with(".parquet"));
    if !cfg!(feature = "parquet") {
        if format(args.format) == Format::Parquet {
            return usage("--format parquet: this meterflow was built without Parquet (cargo feature `parquet`)");
        }
        if let Some(input) = parquet_input {
            return Err(Failure::Usage(anyhow!(
                "{}: this meterflow was built without Parquet input (cargo feature `parquet`)",
                input.name
            )));
        }
    }
    if format(args.format) != Format::Parquet {
        return Ok(());
    }
    if args.decimals.is_some() {
        return usage("--decimals does not apply to --format parquet: it stores full doubles");
    }
    if inputs.iter().any(|i| i.live) {
        return usage(
            "--format parquet writes a file that is whole only once the run has ended, and a live input (a pipe, \
             FIFO, terminal or socket) is written as it arrives: use --format csv or jsonl, or read a file",
        );
    }
    Ok(())
}

/// The engine options of the run; the error names the flag.
fn engine_options(args: &RunArgs) -> Result<EngineOptions, Failure> {
    let max_future_skew = match &args.max_future_skew {
        Some(text) => Some(parse_duration(text).map_err(|e| Failure::Usage(anyhow!("--max-future-skew: {e}")))?),
        None => None,
    };
    Ok(EngineOptions {
        emit: match args.emit {
            EmitArg::Final => EmitMode::Final,
            EmitArg::Updates => EmitMode::Updates,
        },
        watermark: match args.watermark {
            ScopeArg::Series => WatermarkScope::Series,
            ScopeArg::Asset => WatermarkScope::Asset,
            ScopeArg::Global => WatermarkScope::Global,
        },
        max_future_skew,
        max_open_windows: args.max_open_windows,
        duplicates: args.duplicates.map(|rule| match rule {
            DuplicatesArg::Last => Duplicates::Last,
            DuplicatesArg::First => Duplicates::First,
            DuplicatesArg::Keep => Duplicates::Keep,
        }),
        max_open_readings: args.max_open_readings,
        max_merge_series: args.max_merge_series,
    })
}

fn uri(path: Option<&Path>) -> Option<&str> {
    path.and_then(Path::to_str).filter(|p| is_database_uri(p))
}

/// Where points go: `-o` as a file (stdout when absent), or a database table for a
/// `postgresql://` URI, whose flags are checked here.
fn points_to(args: &RunArgs) -> Result<PointsTo, Failure> {
    let usage = |text: &str| Failure::Usage(anyhow!("{text}"));
    if uri(args.late_output.as_deref()).is_some() {
        return Err(usage(
            "--late-output takes a file; load it into a table with psql's \\copy (see docs/guides/database.md)",
        ));
    }
    let Some(uri) = uri(args.output.as_deref()) else {
        if args.create_hypertable {
            return Err(usage("--create-hypertable applies to a database output: -o postgresql://..."));
        }
        return Ok(PointsTo::File(args.output.clone().unwrap_or_else(|| "-".into())));
    };
    // `--format` also shapes the late-output file, so it is refused only when nothing would use it.
    if format(args.format) != Format::Csv && args.late_output.is_none() {
        return Err(usage("--format does not apply to a database output: rows go into the table's columns"));
    }
    if args.decimals.is_some() {
        return Err(usage("--decimals does not apply to a database output: it stores full values; round in SQL"));
    }
    database(uri, args.create_hypertable)
}

#[cfg(feature = "database")]
fn database(uri: &str, create_hypertable: bool) -> Result<PointsTo, Failure> {
    use crate::commands::run::database::DatabaseSettings;
    use crate::output::database::{SinkOptions, Target, process_env};
    let target = Target::parse(uri, &process_env).map_err(|e| Failure::Usage(e.context("-o")))?;
    Ok(PointsTo::Database(DatabaseSettings { target, options: SinkOptions { create_hypertable } }))
}

#[cfg(not(feature = "database"))]
fn database(_: &str, _: bool) -> Result<PointsTo, Failure> {
    Err(Failure::Usage(anyhow!(
        "-o postgresql://...: this meterflow was built without database output (cargo feature `database`)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::{Cli, Command};
    use clap::Parser;

    /// The shards `run` with `flags` gets on `cores` cores, reading a file.
    fn shards_on(cores: usize, flags: &[&str]) -> usize {
        let line = [&["meterflow", "run", "jobs/", "-i", "in.csv"][..], flags].concat();
        let Command::Run(args) = Cli::try_parse_from(line).unwrap().command else { unreachable!() };
        let engine = engine_options(&args).unwrap();
        shards(&args, &engine, false, cores).unwrap()
    }

    /// `auto` (the default): one shard on up to 3 cores; half the cores from 4 on, at most 4 (past 4
    /// the main thread sets the pace).
    #[test]
    fn auto_shards_follow_the_cores() {
        let by_cores: Vec<usize> = [1, 2, 3, 4, 5, 6, 7, 8, 16, 64].iter().map(|&c| shards_on(c, &[])).collect();
        assert_eq!(by_cores, [1, 1, 1, 2, 2, 3, 3, 4, 4, 4]);
        assert_eq!(shards_on(8, &["--shards", "auto"]), 4);
        assert_eq!(shards_on(8, &["--shards", "3"]), 3);
        assert_eq!(shards_on(2, &["--shards", "2"]), 2);
    }

    /// `auto` gives one shard, never an error, where `--shards N` is refused, and with `--threads 1`.
    #[test]
    fn auto_is_one_shard_where_shards_do_not_work() {
        for flags in [
            &["--watermark", "global"][..],
            &["--state", "st.bin"],
            &["--max-open-windows", "1000"],
            &["--max-open-readings", "1000"],
            &["--max-merge-series", "1000"],
            &["--threads", "1"],
        ] {
            assert_eq!(shards_on(8, flags), 1, "{flags:?}");
        }
        let line = ["meterflow", "run", "jobs/", "-i", "in.csv"];
        let Command::Run(args) = Cli::try_parse_from(line).unwrap().command else { unreachable!() };
        let engine = engine_options(&args).unwrap();
        assert_eq!(shards(&args, &engine, true, 8).unwrap(), 1, "a live input");
        assert!(Cli::try_parse_from(["meterflow", "run", "jobs/", "--shards", "0"]).is_err());
        assert!(Cli::try_parse_from(["meterflow", "run", "jobs/", "--shards", "257"]).is_err());
        assert!(Cli::try_parse_from(["meterflow", "run", "jobs/", "--shards", "many"]).is_err());
    }
}

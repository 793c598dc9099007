//! The command line, as clap parses it. No file is touched here: `app` turns these raw flags into
//! a run.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "meterflow",
    version,
    about = "Replay smart-meter CSV readings through event-time window and multi-point merge jobs",
    long_about = "meterflow runs the stream service's job templates offline: Time Window Aggregation \
                  and Multi-Point Merging jobs written as YAML files, over CSV meter readings replayed \
                  in file order through event-time windows with allowed lateness.",
    after_help = "Examples:\n  meterflow run jobs/ --input samples/meters.csv\n  meterflow validate jobs/"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run jobs over input readings and write their output points.
    #[command(after_help = "Examples:\n  meterflow run jobs/ --input samples/meters.csv -o out.csv\n  \
                            zcat log.csv.gz | meterflow run jobs/meter_max_min.yaml --emit updates\n\n\
                            Exit status: 0 on success, 1 on a data or I/O error, 2 on a usage or job-file error.")]
    Run(RunArgs),
    /// Check job files without reading any input: exit 0 when all are valid.
    #[command(after_help = "Example:\n  meterflow validate jobs/\n\n\
                            Each valid job gets a one-line summary; every problem is reported as \
                            path:line:col: error: field: message.")]
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Job files, or directories of *.yaml / *.yml job files (taken in name order).
    #[arg(required = true, value_name = "JOB_FILE|DIR")]
    pub jobs: Vec<PathBuf>,
    /// Input CSV file; repeat for several files, read in order. `-` or none reads stdin.
    #[arg(short, long = "input", value_name = "FILE")]
    pub inputs: Vec<String>,
    /// Write output points to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// `final`: one row per key with its final value; `updates`: a row when a window closes and one
    /// per late change, labelled with `emit` and `revision`.
    #[arg(long, value_enum, default_value_t = EmitArg::Final)]
    pub emit: EmitArg,
    /// Write every row dropped as late beyond lateness to FILE, with the reason, window and watermark.
    #[arg(long, value_name = "FILE")]
    pub late_output: Option<PathBuf>,
    /// How far event time is shared: per `series` (asset x point), per `asset`, or one `global` clock.
    #[arg(long, value_enum, default_value_t = ScopeArg::Series)]
    pub watermark: ScopeArg,
    /// A reading further than this ahead of its watermark does not advance it (overrides the jobs').
    #[arg(long, value_name = "DURATION")]
    pub max_future_skew: Option<String>,
    /// Output encoding.
    #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
    pub format: FormatArg,
    /// Write the run's figures as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,
    /// Do not print the summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Threads parsing input while the jobs run on the main thread (with more than 1, output is
    /// written on a thread of its own too); 1 does everything on one thread. The output is the
    /// same whatever the number. Default: the number of cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Job files, or directories of job files.
    #[arg(required = true, value_name = "JOB_FILE|DIR")]
    pub jobs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmitArg {
    Final,
    Updates,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    Series,
    Asset,
    Global,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Csv,
    Jsonl,
}

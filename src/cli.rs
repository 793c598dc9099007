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
                            meterflow run jobs/meter_max_min.yaml --input log.csv.gz --emit updates\n\n\
                            Exit status: 0 on success, 1 on a data or I/O error, 2 on a usage or job-file error.")]
    Run(Box<RunArgs>),
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
    #[command(flatten)]
    pub input: InputArgs,
}

/// How input files are read: layout, columns, dialect, time, markers, bad rows, order. Raw texts
/// here; `input::options` validates them.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// Wide input: `timestamp, <point>, <point>, ...`, each other column a point (see --points).
    #[arg(long)]
    pub wide: bool,
    /// The timestamp column; `Date,Time` joins two columns with a space before --time-format.
    #[arg(long, value_name = "NAME[,NAME]")]
    pub time_column: Option<String>,
    /// The asset column.
    #[arg(long, value_name = "NAME")]
    pub asset_column: Option<String>,
    /// The point column (long input).
    #[arg(long, value_name = "NAME")]
    pub point_column: Option<String>,
    /// The value column (long input).
    #[arg(long, value_name = "NAME")]
    pub value_column: Option<String>,
    /// One asset for every row, for single-meter files without an asset column.
    #[arg(long, value_name = "ID")]
    pub asset: Option<String>,
    /// One point for every row of long input without a point column.
    #[arg(long, value_name = "NAME")]
    pub point: Option<String>,
    /// Wide: the columns that are points, renamed (`energy(kWh/hh)=Energy`; `COLUMN` alone keeps
    /// the name). Long: renames the listed points; other points keep their names.
    #[arg(long, value_name = "COLUMN=POINT,...")]
    pub points: Option<String>,
    /// Field delimiter: a single character, or `tab`. Default: detected from the header line
    /// (`,`, `;` or tab).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Timestamp layout: a strftime pattern such as `%d/%m/%Y %H:%M:%S`, or `epoch_s`, `epoch_ms`.
    /// Default: RFC 3339 / `YYYY-MM-DD HH:MM:SS[.fff]` or epoch milliseconds.
    #[arg(long, value_name = "FORMAT")]
    pub time_format: Option<String>,
    /// IANA time zone of timestamps written without offset (default UTC), e.g. Europe/Dublin.
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// Local times at a DST change: `ambiguous=earlier|later|reject` (a repeated time),
    /// `nonexistent=shift|reject` (a skipped time); comma-separated or repeated. Default: reject.
    #[arg(long, value_name = "POLICY")]
    pub dst: Vec<String>,
    /// Value texts meaning "no reading", comma-separated, case-insensitive; an empty field always
    /// is one. Default: ?,NA,NaN,null.
    #[arg(long, value_name = "LIST")]
    pub null_values: Option<String>,
    /// What a malformed row does: `fail` stops the run, `skip` skips and counts it.
    #[arg(long, value_enum, default_value_t = BadRowArg::Fail)]
    pub on_bad_row: BadRowArg,
    /// Write every skipped bad row (file, line, reason, row) as CSV to FILE (with --on-bad-row skip).
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Replay all input in event-time order instead of file order (for newest-first exports);
    /// large inputs are sorted through temporary files.
    #[arg(long)]
    pub sort_input: bool,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum BadRowArg {
    #[default]
    Fail,
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Csv,
    Jsonl,
}

//! The command line as clap parses it: raw flags, checked only for their shape. [`super::settings`]
//! turns them into the commands' settings.

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
    after_help = "Examples:\n  meterflow run jobs/ --input samples/meters.csv\n  meterflow validate jobs/\n  meterflow test jobs/\n  meterflow explain jobs/"
)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run jobs over input readings and write their output points.
    #[command(after_help = "Examples:\n  meterflow run jobs/ --input samples/meters.csv -o out.csv\n  \
                            meterflow run jobs/meter_max_min.yaml --input log.csv.gz --emit updates\n\n\
                            Exit status: 0 on success, 1 on a data or I/O error, 2 on a usage or job-file error.")]
    Run(Box<RunArgs>),
    /// Check job files without reading any input: exit 0 when all are valid, 2 otherwise.
    #[command(
        after_help = "Examples:\n  meterflow validate jobs/\n  meterflow validate --format json jobs/ > problems.json\n\n\
                            Each valid job gets a one-line summary; every problem of every file is reported, sorted by \
                            file and line, as path:line:col: error: field: message with the source line and a caret. \
                            Pipeline checks (cycles, an output point written by two jobs, a trigger point that is the \
                            policy's own output) run once every file is valid."
    )]
    Validate(ValidateArgs),
    /// Run the unit tests written in job files (`tests:`) and in `<job>.test.yaml` files.
    #[command(after_help = "Example:\n  meterflow test jobs/\n\n\
                            A test replays its input rows through the job as `run` does and compares the output rows, \
                            the rows dropped as late and the counts it expects. Prints one line per test, a diff for each \
                            failure and a final `N passed, N failed` line.\n\n\
                            Exit status: 0 when every test passes, 1 when one fails, 2 on a job-file or test-file error.")]
    Test(TestArgs),
    /// Describe in plain words what jobs will do: inputs, windows, thresholds, lateness, outputs.
    #[command(after_help = "Example:\n  meterflow explain jobs/\n\n\
                            Prints the resolved plan: the points expected from the input, the jobs in the order they run \
                            (producers first), each policy's window, threshold, lateness and output, and each merge \
                            expression as compiled.")]
    Explain(ExplainArgs),
    /// Print the JSON Schema (draft 2020-12) of job files and test files, for editors and CI.
    #[command(after_help = "Example:\n  meterflow schema > schema/job.schema.json\n\n\
                            With the YAML language server, start a job file with\n  \
                            # yaml-language-server: $schema=../schema/job.schema.json")]
    Schema,
    /// Draw one asset's input readings and output points over a time range as an SVG chart.
    #[command(after_help = "Example:\n  meterflow plot jobs/ --input samples/meters.csv --asset meter-001 \\\n      \
                            --from 2024-03-01T06:00:00Z --to 2024-03-01T09:00:00Z -o plot.svg\n\n\
                            Input readings are drawn as lines, window outputs as steps over their window, merge outputs \
                            as lines with markers, and readings dropped as late beyond lateness as red crosses.\n\n\
                            The input flags are those of `run`; --asset names the asset drawn and, for a file without \
                            an asset column, is also the asset of every row.")]
    #[cfg(feature = "plot")]
    Plot(Box<PlotArgs>),
    /// Look at the head of meter exports and propose the input flags that read them.
    #[command(after_help = "Examples:\n  meterflow sniff export.csv\n  \
                            meterflow sniff export.csv --jobs jobs/ --timezone Europe/Dublin --write-config in.yaml\n\n\
                            Prints the dialect, each column's role, the timestamp layout and its --time-format, long or \
                            wide, missing markers, the time order, the first readings as a run reads them with the \
                            proposed flags, the command line and the input-config file. Input flags given here are \
                            taken as known and win over detection.")]
    Sniff(Box<SniffArgs>),
    /// Look into the state file of an incremental replay (`run --state`).
    #[command(
        after_help = "Example:\n  meterflow state show day.state\n  meterflow state show --format json day.state"
    )]
    State(StateArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  meterflow completions bash > ~/.local/share/bash-completion/completions/meterflow\n  \
                            meterflow completions zsh > ~/.zfunc/_meterflow\n  \
                            meterflow completions fish > ~/.config/fish/completions/meterflow.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), generated from this command line.
    #[command(
        after_help = "Examples:\n  meterflow man > meterflow.1 && man ./meterflow.1\n  meterflow man run > meterflow-run.1"
    )]
    Man(ManArgs),
    /// Plumbing for the Spark runner (`spark/`): each record of stdin as `LINE<TAB>ASSET`.
    #[command(hide = true)]
    PartitionKeys(Box<PartitionKeysArgs>),
}

#[derive(Debug, Args)]
pub(crate) struct PartitionKeysArgs {
    /// Read only the header and say how a row's asset is found instead: `delimiter<TAB>BYTE` (the
    /// delimiter as a decimal byte), then `asset-column<TAB>INDEX` (the field, from 0) or
    /// `asset<TAB>NAME` (a constant), so the runner can key rows without running meterflow on them.
    #[arg(long)]
    pub(crate) describe: bool,
    #[command(flatten)]
    pub(crate) input: InputArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Job files, or directories of *.yaml / *.yml job files (taken in name order).
    #[arg(required = true, value_name = "JOB_FILE|DIR")]
    pub(crate) jobs: Vec<PathBuf>,
    /// Input CSV file; repeat for several files, read in order. `-` or none reads stdin.
    #[arg(short, long = "input", value_name = "FILE")]
    pub(crate) inputs: Vec<String>,
    /// Write output points to FILE instead of stdout (`-`: stdout). Written as FILE.partial and
    /// renamed when the run has finished. A `postgresql://USER@HOST:PORT/DB?table=NAME` URI upserts
    /// them into a PostgreSQL table instead (password from PGPASSWORD or ~/.pgpass).
    #[arg(short, long, value_name = "FILE|URI")]
    pub(crate) output: Option<PathBuf>,
    /// With a database output: make the table a TimescaleDB hypertable on `ts` (the timescaledb
    /// extension must be installed in the database).
    #[arg(long)]
    pub(crate) create_hypertable: bool,
    /// `final`: one row per key with its final value; `updates`: a row when a window closes and one
    /// per late change, labelled with `emit` and `revision`.
    #[arg(long, value_enum, default_value_t = EmitArg::Final)]
    pub(crate) emit: EmitArg,
    /// Write every row dropped as late beyond lateness to FILE, with the reason, window and watermark
    /// (`-`: stdout; JSON lines with --format jsonl).
    #[arg(long, value_name = "FILE")]
    pub(crate) late_output: Option<PathBuf>,
    /// How far event time is shared: per `series` (asset x point), per `asset`, or one `global` clock.
    #[arg(long, value_enum, default_value_t = ScopeArg::Series)]
    pub(crate) watermark: ScopeArg,
    /// A reading further than this ahead of its watermark is held back, in no window, until the next
    /// reading ahead confirms the jump, landing not more than this before it; else it is dropped as
    /// a glitch (overrides the jobs').
    #[arg(long, value_name = "DURATION")]
    pub(crate) max_future_skew: Option<String>,
    /// Output encoding (late rows are CSV with parquet).
    #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
    pub(crate) format: FormatArg,
    /// Round output numbers to N decimal places (exact ties to even; trailing zeros dropped).
    /// Default: the shortest form that reads back as the same number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=17))]
    pub(crate) decimals: Option<u8>,
    /// Stop with an error (exit 1) when the window jobs hold more than N windows open at once,
    /// instead of running out of memory on a job whose latency keeps millions of windows open.
    #[arg(long, value_name = "N")]
    pub(crate) max_open_windows: Option<u64>,
    /// Stop with an error (exit 1) when the window jobs hold more than N readings to recognise
    /// repeats (every reading whose window can still change: a day of readings with `latency: 1d`).
    #[arg(long, value_name = "N")]
    pub(crate) max_open_readings: Option<u64>,
    /// What a repeated reading (same asset, point and timestamp as one already read) does, for
    /// every job (overrides the jobs' `duplicates`): `last` replaces the earlier value, `first`
    /// drops the repeat, `keep` aggregates it again.
    #[arg(long, value_enum, value_name = "RULE")]
    pub(crate) duplicates: Option<DuplicatesArg>,
    /// Stop with an error (exit 1) when a merge job holds more than N operand series (one per
    /// asset and operand it has seen), instead of running out of memory on millions of assets.
    #[arg(long, value_name = "N")]
    pub(crate) max_merge_series: Option<u64>,
    /// Write the run's figures as JSON to FILE (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub(crate) stats_json: Option<PathBuf>,
    /// Incremental replay: resume from FILE when it exists, and at end of input save the open
    /// windows and everything else the stream needs to FILE instead of ending the stream. Rows
    /// are written once final, so runs over consecutive parts of an input write exactly what one
    /// run over all of it writes.
    #[arg(long, value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
    /// With --state: end the stream after this run's input (every window flushed, as a run without
    /// --state does at end of input) and mark FILE finished.
    #[arg(long, requires = "state")]
    pub(crate) finish: bool,
    /// Live input: a series (asset x point) that has had no reading for DURATION of wall-clock
    /// time has its watermark moved forward by the wall-clock time that passes, so its last windows
    /// close. Not reproducible: the result depends on when readings arrive. `--watermark series` only.
    #[arg(long, value_name = "DURATION")]
    pub(crate) idle_timeout: Option<String>,
    /// With --state: read an input whose content the state has already consumed (refused otherwise,
    /// as its readings would be counted twice).
    #[arg(long, requires = "state")]
    pub(crate) allow_repeated_input: bool,
    /// With --on-bad-row skip: stop the run (exit 1) at the first bad row past N skipped ones.
    #[arg(long, value_name = "N")]
    pub(crate) max_bad_rows: Option<u64>,
    /// Every warning is an error: the run exits 1 after it (job-file warnings: before any input
    /// is read).
    #[arg(long)]
    pub(crate) strict: bool,
    /// Do not print the summary on stderr.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Show a progress bar on stderr: `auto` only when stderr is a terminal.
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub(crate) progress: ProgressArg,
    /// Threads parsing plain long-format input while the jobs run on the main thread (with more
    /// than 1, output is written on a thread of its own too); 1 does everything on one thread.
    /// The output is the same whatever the number. Default: the number of cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) threads: Option<u16>,
    /// Run the jobs on N threads, each the assets of its share (by a hash of the asset), on top of
    /// the parsing threads; the output is the same bytes whatever N. It pays when there are cores
    /// to spare beyond the parsing threads (4 or more); on 2 cores one shard is faster. Works with
    /// `--watermark series` or `asset` on file input, and not with --state or the --max-open-* and
    /// --max-merge-series limits (see docs/guides/input.md, "Shards"). `auto`: one shard on up to
    /// 3 cores, with `--threads 1`, or where shards do not work; else half the cores, at most 4.
    #[arg(long, value_name = "N|auto", default_value = "auto", value_parser = parse_shards)]
    pub(crate) shards: ShardsArg,
    #[command(flatten)]
    pub(crate) input: InputArgs,
}

/// How input files are read: layout, columns, dialect, time, markers, bad rows, order. Raw texts
/// here; the library validates them.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Input")]
pub(crate) struct InputArgs {
    /// Wide input: `timestamp, <point>, <point>, ...`, each other column a point (see --points).
    #[arg(long, overrides_with = "no_wide")]
    pub(crate) wide: bool,
    /// Long input, whatever the input config says.
    #[arg(long, overrides_with = "wide")]
    pub(crate) no_wide: bool,
    /// The timestamp column; `Date,Time` joins two columns with a space before --time-format.
    #[arg(long, value_name = "NAME[,NAME]")]
    pub(crate) time_column: Option<String>,
    /// The asset column.
    #[arg(long, value_name = "NAME")]
    pub(crate) asset_column: Option<String>,
    /// The point column (long input).
    #[arg(long, value_name = "NAME")]
    pub(crate) point_column: Option<String>,
    /// The value column (long input).
    #[arg(long, value_name = "NAME")]
    pub(crate) value_column: Option<String>,
    /// One asset for every row, for single-meter files without an asset column.
    #[arg(long, value_name = "ID")]
    pub(crate) asset: Option<String>,
    /// One point for every row of long input without a point column.
    #[arg(long, value_name = "NAME")]
    pub(crate) point: Option<String>,
    /// Wide: the columns that are points, renamed (`energy(kWh/hh)=Energy`; `COLUMN` alone keeps
    /// the name). Long: renames the listed points; other points keep their names.
    #[arg(long, value_name = "COLUMN=POINT,...")]
    pub(crate) points: Option<String>,
    /// Field delimiter: a single character, or `tab`. Default: detected from the header line
    /// (`,`, `;` or tab).
    #[arg(long, value_name = "CHAR")]
    pub(crate) delimiter: Option<String>,
    /// Timestamp layout: a strftime pattern such as `%d/%m/%Y %H:%M:%S`, or `epoch_s`, `epoch_ms`.
    /// Default: RFC 3339 / `YYYY-MM-DD HH:MM:SS[.fff]` or epoch milliseconds.
    #[arg(long, value_name = "FORMAT")]
    pub(crate) time_format: Option<String>,
    /// IANA time zone of timestamps written without offset (default UTC), e.g. Europe/Dublin.
    #[arg(long, value_name = "ZONE")]
    pub(crate) timezone: Option<String>,
    /// Local times at a DST change: `ambiguous=infer|earlier|later|reject` (a repeated time;
    /// `infer` tells the two apart by the order of each series' rows), `nonexistent=shift|reject`
    /// (a skipped time); comma-separated or repeated. Default: reject.
    #[arg(long, value_name = "POLICY")]
    pub(crate) dst: Vec<String>,
    /// Timestamps are the ends of the readings' intervals (as most utility exports write them):
    /// each reading moves to the start of the interval it closes, LENGTH before its timestamp
    /// (`30m`), or, with `auto`, the most common step between a series' readings in the first rows,
    /// which the run names on stderr (even with -q) and in --stats-json (refused with `--state`,
    /// whose parts would each infer their own).
    #[arg(long, value_name = "LENGTH|auto")]
    pub(crate) interval_end: Option<String>,
    /// Value texts meaning "no reading", comma-separated, case-insensitive; an empty field always
    /// is one. Default: ?,NA,NaN,null.
    #[arg(long, value_name = "LIST")]
    pub(crate) null_values: Option<String>,
    /// The decimal separator of values: `point` (1.25, the default) or `comma` (1,25).
    #[arg(long, value_parser = ["point", "comma"])]
    pub(crate) decimal: Option<String>,
    /// The thousands separator of values, taken only between groups of three digits: `.`, `,`,
    /// `'` or `space` (e.g. `--decimal comma --thousands .` reads 1.234,5). Default: none.
    #[arg(long, value_name = "CHAR")]
    pub(crate) thousands: Option<String>,
    /// What a malformed row does: `fail` (the default) stops the run, `skip` skips and counts it.
    #[arg(long, value_enum)]
    pub(crate) on_bad_row: Option<BadRowArg>,
    /// Write every skipped bad row (file, line, reason, row) as CSV to FILE (with --on-bad-row skip;
    /// `-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub(crate) rejects: Option<PathBuf>,
    /// Replay all input in event-time order instead of file order (for newest-first exports);
    /// large inputs are sorted through temporary files.
    #[arg(long, overrides_with = "no_sort_input")]
    pub(crate) sort_input: bool,
    /// Replay input in file order, whatever the input config says.
    #[arg(long, overrides_with = "sort_input")]
    pub(crate) no_sort_input: bool,
    /// Stop with an error naming the file and line (exit 1) at a line longer than N bytes,
    /// counted after decompression, instead of holding a line of any length in memory.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_line_bytes: Option<u64>,
    /// Input settings in a YAML file, keys named like these flags with `_` for `-`
    /// (`time_column: tstp`); a flag given on the command line wins over the file.
    #[arg(long, value_name = "FILE")]
    pub(crate) input_config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Job files, or directories of job files.
    #[arg(required = true, value_name = "JOB_FILE|DIR")]
    pub(crate) jobs: Vec<PathBuf>,
    /// `text` for people; `json`: an array of {file, line, column, field, message, severity} on stdout.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub(crate) format: ReportFormat,
    /// Every warning is an error: exit 2 when a job has one.
    #[arg(long)]
    pub(crate) strict: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StateArgs {
    #[command(subcommand)]
    pub(crate) command: StateCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StateCommand {
    /// Whether the state is finished, its options, jobs with their watermarks and what each holds
    /// open, the inputs consumed and the running totals.
    Show {
        /// The state file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
}

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Test files (`*.test.yaml`), job files with a `tests:` block, or directories holding them.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub(crate) paths: Vec<PathBuf>,
    /// Run only the tests whose name contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub(crate) filter: Option<String>,
    /// Also write the results as JUnit XML to FILE, for CI systems.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// Rewrite the `expect_file` of each test whose output alone differs with the actual output,
    /// after you have checked that output is right. Nothing is written without this flag.
    #[arg(long)]
    pub(crate) bless: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// Job files, or directories of job files.
    #[arg(required = true, value_name = "JOB_FILE|DIR")]
    pub(crate) jobs: Vec<PathBuf>,
}

#[cfg(feature = "plot")]
#[derive(Debug, Args)]
pub(crate) struct PlotArgs {
    /// Job files, or directories of job files.
    #[arg(required = true, value_name = "JOB_FILE|DIR")]
    pub(crate) jobs: Vec<PathBuf>,
    /// Input CSV file; repeat for several files, read in order. `-` or none reads stdin.
    #[arg(short, long = "input", value_name = "FILE")]
    pub(crate) inputs: Vec<String>,
    /// Start of the time range drawn (a timestamp as in the input); default: the asset's first reading.
    #[arg(long, value_name = "TIMESTAMP")]
    pub(crate) from: Option<String>,
    /// End of the time range drawn (exclusive); default: just after the asset's last reading.
    #[arg(long, value_name = "TIMESTAMP")]
    pub(crate) to: Option<String>,
    /// The SVG file to write.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// Chart width in pixels.
    #[arg(long, default_value_t = 1200, value_parser = clap::value_parser!(u32).range(200..=20000))]
    pub(crate) width: u32,
    /// Chart height in pixels.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(150..=20000))]
    pub(crate) height: u32,
    /// `--asset` is the asset to draw (and, for a file without an asset column, every row's asset).
    #[command(flatten)]
    pub(crate) input: InputArgs,
}

#[derive(Debug, Args)]
pub struct SniffArgs {
    /// Input files (gzip and zstd read as `run` reads them); `-` is stdin.
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<String>,
    /// `text` for people; `json`: an array with one object per file.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub(crate) format: ReportFormat,
    /// Data rows looked at from the start of each file.
    #[arg(long, value_name = "N", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub(crate) rows: u32,
    /// Job files or directories: the points they read are matched to the file's columns or point
    /// texts, and the proposed command runs them.
    #[arg(long, value_name = "JOB_FILE|DIR")]
    pub(crate) jobs: Vec<PathBuf>,
    /// Write the proposed input settings to FILE as an input-config file (one input file only).
    #[arg(long, value_name = "FILE")]
    pub(crate) write_config: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) input: InputArgs,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// A subcommand whose page to print instead of the main page.
    pub(crate) subcommand: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProgressArg {
    Never,
    Auto,
    Always,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DuplicatesArg {
    Last,
    First,
    Keep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EmitArg {
    Final,
    Updates,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScopeArg {
    Series,
    Asset,
    Global,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum BadRowArg {
    #[default]
    Fail,
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    Csv,
    Jsonl,
    /// InfluxDB line protocol (for influx write, Telegraf, VictoriaMetrics, QuestDB).
    Influx,
    /// A Parquet file (timestamp, asset, point, value as a double, text_value; emit and revision
    /// with --emit updates), for DuckDB, Polars, Spark, pandas.
    Parquet,
}

/// `--shards`: a number of shards, or `auto` (chosen from the cores when the run allows shards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShardsArg {
    Auto,
    Count(u16),
}

fn parse_shards(text: &str) -> Result<ShardsArg, String> {
    if text == "auto" {
        return Ok(ShardsArg::Auto);
    }
    match text.parse::<u16>() {
        Ok(n @ 1..=256) => Ok(ShardsArg::Count(n)),
        _ => Err("expected `auto` or a number from 1 to 256".to_string()),
    }
}

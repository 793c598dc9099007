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
    after_help = "Examples:\n  meterflow run jobs/ --input samples/meters.csv\n  meterflow validate jobs/\n  meterflow test jobs/\n  meterflow explain jobs/"
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
    /// Check job files without reading any input: exit 0 when all are valid, 2 otherwise.
    #[command(after_help = "Examples:\n  meterflow validate jobs/\n  meterflow validate --format json jobs/ > problems.json\n\n\
                            Each valid job gets a one-line summary; every problem of every file is reported, sorted by \
                            file and line, as path:line:col: error: field: message with the source line and a caret. \
                            Pipeline checks (cycles, an output point written by two jobs, a trigger point that is the \
                            policy's own output) run once every file is valid.")]
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
                            as lines with markers, and readings dropped as late beyond lateness as red crosses.")]
    Plot(PlotArgs),
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  meterflow completions bash > ~/.local/share/bash-completion/completions/meterflow\n  \
                            meterflow completions zsh > ~/.zfunc/_meterflow\n  \
                            meterflow completions fish > ~/.config/fish/completions/meterflow.fish")]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), generated from this command line.
    #[command(after_help = "Examples:\n  meterflow man > meterflow.1 && man ./meterflow.1\n  meterflow man run > meterflow-run.1")]
    Man(ManArgs),
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
    /// Show a progress bar on stderr: `auto` only when stderr is a terminal.
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub progress: ProgressArg,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Job files, or directories of job files.
    #[arg(required = true, value_name = "JOB_FILE|DIR")]
    pub jobs: Vec<PathBuf>,
    /// `text` for people; `json`: an array of {file, line, column, field, message, severity} on stdout.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Test files (`*.test.yaml`), job files with a `tests:` block, or directories holding them.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Job files, or directories of job files.
    #[arg(required = true, value_name = "JOB_FILE|DIR")]
    pub jobs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Job files, or directories of job files.
    #[arg(required = true, value_name = "JOB_FILE|DIR")]
    pub jobs: Vec<PathBuf>,
    /// Input CSV file; repeat for several files, read in order. `-` or none reads stdin.
    #[arg(short, long = "input", value_name = "FILE")]
    pub inputs: Vec<String>,
    /// The asset to draw.
    #[arg(long)]
    pub asset: String,
    /// Start of the time range drawn (a timestamp as in the input); default: the asset's first reading.
    #[arg(long, value_name = "TIMESTAMP")]
    pub from: Option<String>,
    /// End of the time range drawn (exclusive); default: just after the asset's last reading.
    #[arg(long, value_name = "TIMESTAMP")]
    pub to: Option<String>,
    /// The SVG file to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Chart width in pixels.
    #[arg(long, default_value_t = 1200, value_parser = clap::value_parser!(u32).range(200..=20000))]
    pub width: u32,
    /// Chart height in pixels.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(150..=20000))]
    pub height: u32,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A subcommand whose page to print instead of the main page.
    pub subcommand: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressArg {
    Never,
    Auto,
    Always,
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

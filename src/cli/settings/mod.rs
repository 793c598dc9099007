//! Flags resolved into the commands' settings, each verb in one function: every flag check and
//! every usage error (exit 2) happens here, before a command reads anything. Like ripgrep's
//! `HiArgs` and uv's `RunSettings::resolve`: raw flags in, plain settings out.

mod run;

pub use run::run;

use super::args::{
    BadRowArg, FormatArg, InputArgs, PartitionKeysArgs, ProgressArg, ReportFormat as ReportArg, StateArgs,
};
use crate::commands::clobber::{self, Read, Written};
use crate::commands::run::progress::ProgressMode;
use crate::commands::{Failure, InputPath, ReportFormat, partition_keys, sniff, test};
use crate::input::live::is_live;
use crate::input::{BadRowPolicy, InputOptions, InputSettings};
use crate::output::Format;
use anyhow::anyhow;
use std::path::PathBuf;

/// The `--input` paths with their names in messages and whether each is live: stdin (`-`) when
/// none is given.
pub(crate) fn input_paths(inputs: &[String]) -> Vec<InputPath> {
    let paths = if inputs.is_empty() { vec!["-".to_string()] } else { inputs.to_vec() };
    paths
        .into_iter()
        .map(|path| {
            let name = if path == "-" { "<stdin>".to_string() } else { path.clone() };
            InputPath { live: is_live(&path), path, name }
        })
        .collect()
}

/// What a command reads: its inputs, job files and input config, for [`clobber::check`].
fn reads(inputs: &[InputPath], jobs: &[PathBuf], args: &InputArgs) -> Vec<Read> {
    let mut reads: Vec<Read> = inputs.iter().map(Read::input).collect();
    reads.extend(Read::jobs(jobs));
    reads.extend(args.input_config.iter().map(|path| Read::new("the input config", path)));
    reads
}

/// [`clobber::check`], a refusal being a usage error.
fn check_writes(reads: &[Read], writes: &[Written]) -> Result<(), Failure> {
    clobber::check(reads, writes).map_err(Failure::Usage)
}

/// The input settings of a command: `--input-config`'s file, if given, with the flags laid over it.
pub(crate) fn input_settings(args: &InputArgs) -> Result<InputSettings, Failure> {
    let Some(path) = &args.input_config else { return Ok(over(args, InputSettings::default())) };
    let file = path.display().to_string();
    let source = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(anyhow!("--input-config: failed to read {file}: {e}")))?;
    match crate::input::config::parse(&file, &source) {
        Ok(base) => Ok(over(args, base)),
        Err(problems) => {
            let shown: String = problems.iter().map(ToString::to_string).collect();
            let n = crate::text::count(problems.len() as u64, "problem", "problems");
            Err(Failure::Usage(anyhow!("{shown}{n} found in the input config {file}")))
        }
    }
}

/// The flags laid over `base` (an input-config file's settings): each flag given wins.
fn over(args: &InputArgs, base: InputSettings) -> InputSettings {
    let text = |flag: &Option<String>, file: Option<String>| flag.clone().or(file);
    let switch = |on: bool, off: bool, file: bool| if on || off { on } else { file };
    InputSettings {
        wide: switch(args.wide, args.no_wide, base.wide),
        time_column: text(&args.time_column, base.time_column),
        asset_column: text(&args.asset_column, base.asset_column),
        point_column: text(&args.point_column, base.point_column),
        value_column: text(&args.value_column, base.value_column),
        asset: text(&args.asset, base.asset),
        fallback_asset: base.fallback_asset,
        point: text(&args.point, base.point),
        points: text(&args.points, base.points),
        delimiter: text(&args.delimiter, base.delimiter),
        time_format: text(&args.time_format, base.time_format),
        timezone: text(&args.timezone, base.timezone),
        dst: if args.dst.is_empty() { base.dst } else { args.dst.clone() },
        interval_end: text(&args.interval_end, base.interval_end),
        null_values: text(&args.null_values, base.null_values),
        decimal: text(&args.decimal, base.decimal),
        thousands: text(&args.thousands, base.thousands),
        on_bad_row: match args.on_bad_row {
            Some(BadRowArg::Fail) => BadRowPolicy::Fail,
            Some(BadRowArg::Skip) => BadRowPolicy::Skip,
            None => base.on_bad_row,
        },
        rejects: args.rejects.clone().or(base.rejects),
        sort_input: switch(args.sort_input, args.no_sort_input, base.sort_input),
        max_line_bytes: args.max_line_bytes.or(base.max_line_bytes),
    }
}

/// The input options of `settings`, checked.
fn input_options(settings: &InputSettings) -> Result<InputOptions, Failure> {
    InputOptions::from_settings(settings).map_err(Failure::Usage)
}

fn report_format(arg: ReportArg) -> ReportFormat {
    match arg {
        ReportArg::Text => ReportFormat::Text,
        ReportArg::Json => ReportFormat::Json,
    }
}

fn format(arg: FormatArg) -> Format {
    match arg {
        FormatArg::Csv => Format::Csv,
        FormatArg::Jsonl => Format::Jsonl,
        FormatArg::Influx => Format::Influx,
        FormatArg::Parquet => Format::Parquet,
    }
}

fn progress(arg: ProgressArg) -> ProgressMode {
    match arg {
        ProgressArg::Never => ProgressMode::Never,
        ProgressArg::Auto => ProgressMode::Auto,
        ProgressArg::Always => ProgressMode::Always,
    }
}

pub(crate) fn validate(args: &super::args::ValidateArgs) -> ReportFormat {
    report_format(args.format)
}

pub(crate) fn test(args: super::args::TestArgs) -> test::Settings {
    test::Settings { paths: args.paths, filter: args.filter, junit: args.junit, bless: args.bless }
}

/// `state show`'s file and format; its report must not land in the state (`>> FILE`).
pub(crate) fn state(args: StateArgs) -> Result<(PathBuf, ReportFormat), Failure> {
    let super::args::StateCommand::Show { file, format } = args.command;
    check_writes(&[Read::new("the state file", &file)], &[Written::stdout("the report", false)])?;
    Ok((file, report_format(format)))
}

pub(crate) fn partition_keys(args: &PartitionKeysArgs) -> Result<partition_keys::Settings, Failure> {
    Ok(partition_keys::Settings { options: input_options(&input_settings(&args.input)?)?, describe: args.describe })
}

pub fn sniff(args: super::args::SniffArgs) -> Result<sniff::Settings, Failure> {
    if args.write_config.is_some() && args.files.len() != 1 {
        return Err(Failure::Usage(anyhow!("--write-config writes the settings of one file: give one FILE")));
    }
    let mut writes = vec![Written::stdout("the report", false)];
    writes.extend(args.write_config.as_deref().map(|path| Written::file("--write-config", path)));
    check_writes(&reads(&input_paths(&args.files), &args.jobs, &args.input), &writes)?;
    Ok(sniff::Settings {
        given: input_settings(&args.input)?,
        files: args.files,
        format: report_format(args.format),
        rows: args.rows as usize,
        jobs: args.jobs,
        write_config: args.write_config,
    })
}

#[cfg(feature = "plot")]
pub(crate) fn plot(args: super::args::PlotArgs) -> Result<crate::commands::plot::Settings, Failure> {
    let timestamp = |flag: &str, text: Option<&String>| {
        text.map(|t| {
            crate::time::parse_timestamp(t.trim().as_bytes())
                .map_err(|e| Failure::Usage(anyhow!("{flag}: invalid timestamp {t:?}: {e}")))
        })
        .transpose()
    };
    let from = timestamp("--from", args.from.as_ref())?;
    let to = timestamp("--to", args.to.as_ref())?;
    let mut settings = input_settings(&args.input)?;
    let Some(asset) = settings.asset.take() else {
        return Err(Failure::Usage(anyhow!("--asset: give the asset to draw")));
    };
    if settings.asset_column.is_none() {
        settings.fallback_asset = Some(asset.clone());
    }
    let inputs = input_paths(&args.inputs);
    let mut writes = vec![Written::file("-o", &args.output)];
    writes.extend(settings.rejects.as_deref().map(|path| Written::file("--rejects", path)));
    check_writes(&reads(&inputs, &args.jobs, &args.input), &writes)?;
    Ok(crate::commands::plot::Settings {
        jobs: args.jobs,
        inputs,
        input: input_options(&settings)?,
        rejects: settings.rejects,
        asset,
        from,
        to,
        output: args.output,
        size: (args.width, args.height),
    })
}

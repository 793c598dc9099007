//! `meterflow sniff`: each file's head looked at, the report printed, the proposed settings
//! written as an input-config file when asked. Exits 1 when some file's head could not be read
//! with the proposal (the report says why).

use super::report;
use super::{Request, sniff_file};
use crate::commands::{Failure, ReportFormat, print};
use crate::input;
use crate::input::InputSettings;
use crate::input::config;
use crate::input::shown::shell_quote;
use crate::job::load_jobs;
use crate::job::pipeline::external_inputs;
use anyhow::Context;
use std::path::PathBuf;

/// What `meterflow sniff` looks at, resolved from its flags.
pub struct Settings {
    /// Input files (`-` is stdin).
    pub(crate) files: Vec<String>,
    pub(crate) format: ReportFormat,
    /// Data rows looked at from the start of each file.
    pub(crate) rows: usize,
    /// Job files whose input points are matched to the files' columns.
    pub(crate) jobs: Vec<PathBuf>,
    /// Where to write the proposed input settings (one file only).
    pub(crate) write_config: Option<PathBuf>,
    /// Input settings the user gave: taken as known, they win over detection.
    pub(crate) given: InputSettings,
}

pub fn sniff(args: Settings) -> Result<(), Failure> {
    let given = args.given;
    let job_points = if args.jobs.is_empty() {
        Vec::new()
    } else {
        let jobs = load_jobs(&args.jobs).map_err(Failure::Jobs)?;
        external_inputs(&jobs)
            .into_iter()
            .map(|p| p.rsplit_once("::").map_or(p.clone(), |(_, point)| point.to_string()))
            .collect()
    };
    let jobs_text = if args.jobs.is_empty() {
        "JOBS".to_string()
    } else {
        args.jobs.iter().map(|p| shell_quote(&p.display().to_string())).collect::<Vec<_>>().join(" ")
    };
    let request = Request { rows: args.rows, given, job_points };
    let mut found = Vec::new();
    for path in &args.files {
        let display = if path == "-" { "<stdin>".to_string() } else { path.clone() };
        let numbers = input::number::NumberFormat::from_texts(
            request.given.decimal.as_deref(),
            request.given.thousands.as_deref(),
        )
        .unwrap_or_default();
        let source = input::parquet::csv_view(input::open(path)?, &display, b',', numbers)?;
        found.push(sniff_file(&display, source, &request)?);
    }
    match args.format {
        ReportFormat::Text => {
            let texts: Vec<String> = found.iter().map(|s| report::text(s, &jobs_text)).collect();
            print(&texts.join("\n"))?;
        }
        ReportFormat::Json => {
            let all: Vec<serde_json::Value> = found.iter().map(|s| report::json(s, &jobs_text)).collect();
            print(&format!("{:#}\n", serde_json::Value::Array(all)))?;
        }
    }
    if let (Some(path), [one]) = (&args.write_config, found.as_slice()) {
        crate::output::file::write_whole(path, config::to_yaml(&one.proposal).as_bytes())
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    if found.iter().any(|s| s.time.is_none() || s.read_error.is_some()) { Err(Failure::Silent(1)) } else { Ok(()) }
}

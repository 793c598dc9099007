//! `meterflow sniff`: each file's head looked at, the report printed, the proposed settings
//! written as an input-config file when asked. Exits 1 when some file's head could not be read
//! with the proposal (the report says why).

use super::report;
use super::{Request, sniff_file};
use crate::cli::{ReportFormat, SniffArgs};
use crate::commands::failure::Failure;
use crate::commands::{input_settings, print};
use crate::input;
use crate::input::config;
use crate::input::shown::shell_quote;
use crate::job::load_jobs;
use crate::job::pipeline::external_inputs;
use anyhow::{Context, anyhow};

pub fn sniff(args: SniffArgs) -> Result<(), Failure> {
    if args.write_config.is_some() && args.files.len() != 1 {
        return Err(Failure::Usage(anyhow!("--write-config writes the settings of one file: give one FILE")));
    }
    let given = input_settings(&args.input)?;
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
    let request = Request { rows: args.rows as usize, given, job_points };
    let mut found = Vec::new();
    for path in &args.files {
        let display = if path == "-" { "<stdin>".to_string() } else { path.clone() };
        found.push(sniff_file(&display, input::open(path)?, &request)?);
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
        std::fs::write(path, config::to_yaml(&one.proposal))
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    if found.iter().any(|s| s.time.is_none() || s.read_error.is_some()) { Err(Failure::Silent(1)) } else { Ok(()) }
}

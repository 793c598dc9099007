//! `run -o postgresql://...`: the database output's flags resolved into a connected sink, and the
//! line saying what it committed.

use crate::cli::{FormatArg, RunArgs};
use crate::commands::failure::Failure;
use crate::output::database::{DatabaseSink, SinkOptions, Target, is_database_uri, process_env};
use anyhow::anyhow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

fn uri(path: Option<&Path>) -> Option<&str> {
    path.and_then(Path::to_str).filter(|p| is_database_uri(p))
}

/// The connected sink when `-o` is a `postgresql://` URI. A bad URI or a flag that cannot apply
/// is a usage error; a server that cannot be reached or a table that cannot take the rows, a run error.
pub fn database_output(args: &RunArgs) -> Result<Option<DatabaseSink>, Failure> {
    let usage = |text: &str| Failure::Usage(anyhow!("{text}"));
    if uri(args.late_output.as_deref()).is_some() {
        return Err(usage(
            "--late-output takes a file; load it into a table with psql's \\copy (see docs/database.md)",
        ));
    }
    let Some(uri) = uri(args.output.as_deref()) else {
        if args.create_hypertable {
            return Err(usage("--create-hypertable applies to a database output: -o postgresql://..."));
        }
        return Ok(None);
    };
    // `--format` also shapes the late-output file, so it is refused only when nothing would use it.
    if args.format != FormatArg::Csv && args.late_output.is_none() {
        return Err(usage("--format does not apply to a database output: rows go into the table's columns"));
    }
    if args.decimals.is_some() {
        return Err(usage("--decimals does not apply to a database output: it stores full values; round in SQL"));
    }
    let target = Target::parse(uri, &process_env).map_err(|e| Failure::Usage(e.context("-o")))?;
    let options = SinkOptions { create_hypertable: args.create_hypertable };
    Ok(Some(DatabaseSink::connect(target, options, &process_env)?))
}

/// What a finished run committed, for the summary on stderr.
pub struct Committed {
    rows: Arc<AtomicU64>,
    target: Target,
}

impl Committed {
    pub fn of(sink: &DatabaseSink) -> Committed {
        Committed { rows: sink.committed(), target: sink.target().clone() }
    }

    pub fn line(&self) -> String {
        let rows = self.rows.load(Ordering::Relaxed);
        format!("{rows} output rows committed to table {} on {}", self.target.table, self.target)
    }
}

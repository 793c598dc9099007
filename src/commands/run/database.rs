//! `run -o postgresql://...`: the database output connected from its settings, and the line
//! saying what it committed.

use crate::commands::Failure;
use crate::output::database::{DatabaseSink, SinkOptions, Target, process_env};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The database output of a run: the server and table, and what it does besides upserting.
pub struct DatabaseSettings {
    pub(crate) target: Target,
    pub(crate) options: SinkOptions,
}

/// The connected sink. A server that cannot be reached or a table that cannot take the rows is a
/// run error.
pub(crate) fn connect(settings: &DatabaseSettings) -> Result<DatabaseSink, Failure> {
    Ok(DatabaseSink::connect(settings.target.clone(), settings.options, &process_env)?)
}

/// What a finished run committed, for the summary on stderr.
pub(crate) struct Committed {
    rows: Arc<AtomicU64>,
    sent: Arc<AtomicU64>,
    target: Target,
}

impl Committed {
    pub(crate) fn of(sink: &DatabaseSink) -> Committed {
        let (rows, sent) = sink.committed();
        Committed { rows, sent, target: sink.target().clone() }
    }

    /// The rows the server inserted or updated, and the rows sent when they differ.
    pub(crate) fn line(&self) -> String {
        let (rows, sent) = (self.rows.load(Ordering::Relaxed), self.sent.load(Ordering::Relaxed));
        let mut line = format!(
            "{} committed to table {} on {}",
            crate::text::count(rows, "output row", "output rows"),
            self.target.table,
            self.target
        );
        if sent != rows {
            line.push_str(&format!(
                " ({sent} sent: the server inserted or updated {rows}; the others equal the stored rows, repeat a key \
                 in their batch or were dropped by the table's triggers or rules)"
            ));
        }
        line
    }
}

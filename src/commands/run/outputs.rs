//! The output stack of a run, built from its settings: points to a file, stdout or a database
//! table, late rows to their file, skipped bad rows to theirs; written on a thread of its own when
//! the run has more than one, and on a live input shared with the input's idle hook.

use super::files::RunFiles;
use super::{Failure, PointsTo, Settings};
use crate::commands::warnings::Warnings;
use crate::engine::EmitMode;
use crate::engine::names::Names;
use crate::output::live::LiveOutputs;
#[cfg(feature = "parquet")]
use crate::output::parquet::ParquetWriter;
use crate::output::points::Delivered;
use crate::output::threaded::ThreadedOutput;
use crate::output::{BoxOutput, LateWriter, PointWriter, Split};
use anyhow::Context;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The outputs of a run, opened and not yet written to.
pub(crate) struct Outputs {
    points: BoxOutput,
    late: Option<BoxOutput>,
    rejects: Option<Box<dyn Write>>,
    /// Shared with the idle hook (a live input).
    live: Option<LiveOutputs>,
    /// Rows of a file or stdout output that have left.
    delivered: Option<Arc<Delivered>>,
    #[cfg(feature = "database")]
    committed: Option<super::database::Committed>,
}

impl Outputs {
    /// Opens every output of `s`. A database output is connected to, and its table checked,
    /// before any file is created.
    pub fn open(s: &Settings, files: &mut RunFiles, warnings: &mut Warnings) -> Result<Outputs, Failure> {
        let mut live = s.inputs.iter().any(|i| i.live).then(LiveOutputs::default);
        // With a writer thread, its output is shared whole instead (see `start`).
        let mut share = |output: BoxOutput| match live.as_mut() {
            Some(live) if s.threads == 1 => live.share(output),
            _ => output,
        };
        #[cfg(feature = "database")]
        let mut committed = None;
        let (points, delivered): (BoxOutput, _) = match &s.outputs.points {
            #[cfg(feature = "database")]
            PointsTo::Database(settings) => {
                let mut sink = super::database::connect(settings)?;
                if let Some(warning) = sink.take_warning() {
                    warnings.say(&warning);
                }
                committed = Some(super::database::Committed::of(&sink));
                (share(Box::new(sink)), None)
            }
            #[cfg(feature = "parquet")]
            PointsTo::File(path) if s.outputs.format == crate::output::Format::Parquet => {
                let out = files.create("-o", path)?;
                let revisions = s.engine.emit == EmitMode::Updates;
                let writer = ParquetWriter::new(out, revisions).context("failed to write output")?;
                (share(Box::new(writer)), None)
            }
            PointsTo::File(path) => {
                let out = files.create("-o", path)?;
                let revisions = s.engine.emit == EmitMode::Updates;
                let writer = PointWriter::new(out, s.outputs.format, revisions, s.outputs.decimals)
                    .context("failed to write output")?;
                let delivered = writer.delivered();
                (share(Box::new(writer)), Some(delivered))
            }
        };
        #[cfg(not(feature = "database"))]
        let _ = warnings;
        let late = match &s.outputs.late {
            Some(path) => {
                let writer = LateWriter::new(files.create("--late-output", path)?, s.outputs.format)
                    .context("failed to write the late-output file")?;
                Some(share(Box::new(writer)))
            }
            None => None,
        };
        let rejects = match &s.rejects {
            Some(path) => Some(files.create("--rejects", path)? as Box<dyn Write>),
            None => None,
        };
        Ok(Outputs {
            points,
            late,
            rejects,
            live,
            delivered,
            #[cfg(feature = "database")]
            committed,
        })
    }

    /// The file of skipped bad rows, for the input side.
    pub(crate) fn take_rejects(&mut self) -> Option<Box<dyn Write>> {
        self.rejects.take()
    }

    /// The output the replay writes to, and what a database output will have committed. With
    /// more than one thread, the output is formatted and written on a thread of its own. On a live
    /// input the idle hook flushes every output whenever the input waits; the writer thread's
    /// output is flushed whole, the hook handing it the rows batched so far without waiting for
    /// the writing. (A live input once kept the writing on the jobs' thread, so that no rows
    /// waited in a batch: with `cat FILE |`, that thread, which sets the pace, took the writer's
    /// 0.07 s of CPU on top of its own: bench/RESULTS.md, "Ninth round: the piped input".)
    pub(crate) fn start(self, s: &Settings, names: &Names) -> Result<(BoxOutput, Committed), Failure> {
        let late = self.late.is_some();
        let committed = Committed {
            #[cfg(feature = "database")]
            database: self.committed,
            delivered: self.delivered,
        };
        let split: BoxOutput = Box::new(Split { points: self.points, late: self.late });
        let output: BoxOutput =
            if s.threads > 1 { Box::new(ThreadedOutput::start(split, late, names)?) } else { split };
        let Some(mut live) = self.live else { return Ok((output, committed)) };
        let output = if s.threads > 1 { live.share(output) } else { output };
        s.input.idle.set(live.flusher());
        Ok((output, committed))
    }
}

/// What a database output committed, and the rows of a file or stdout output that left, for the
/// summary.
pub(crate) struct Committed {
    #[cfg(feature = "database")]
    database: Option<super::database::Committed>,
    delivered: Option<Arc<Delivered>>,
}

impl Committed {
    /// Rows of a file or stdout output that left, and rows of the piece cut short when its
    /// reader left (`None` for a database output).
    pub(crate) fn delivered(&self) -> Option<(u64, u64)> {
        self.delivered.as_ref().map(|d| (d.rows.load(Ordering::Relaxed), d.cut.load(Ordering::Relaxed)))
    }

    pub(crate) fn line(&self) -> Option<String> {
        #[cfg(feature = "database")]
        return self.database.as_ref().map(super::database::Committed::line);
        #[cfg(not(feature = "database"))]
        None
    }
}

//! What a state file holds: the job set's fingerprint and the run options that shape results,
//! the inputs consumed so far, the name tables (so ids in the engine state mean the same names),
//! the input figures and the pipeline's state; and its encoding, postcard inside the
//! [`super::file`] container.

use super::file::{self, DecodeError};
use super::fingerprint::JobPrint;
use crate::engine::names::{Interner, Names};
use crate::engine::{EmitMode, EngineOptions, PipelineState, WatermarkScope};
use crate::input::InputCounts;
use serde::{Deserialize, Serialize};

/// One input a run read into the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ConsumedInput {
    /// The name the input was given as (`-` for stdin).
    pub(crate) name: String,
    pub(crate) bytes: u64,
    /// XXH3-128 of its bytes as read (before decompression), in hex.
    pub(crate) hash: String,
    /// The run that read it, counting from 1.
    pub(crate) run: u32,
    /// A signal ended that run while it read this input: only the rows before are in the state.
    pub(crate) stopped: bool,
}

/// The run options that change results, as the saving run had them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OptionsPrint {
    pub(crate) emit: String,
    pub(crate) watermark: String,
    pub(crate) max_future_skew: Option<i64>,
    /// `--duplicates`, when given.
    pub(crate) duplicates: Option<String>,
}

impl OptionsPrint {
    pub(crate) fn of(options: &EngineOptions) -> OptionsPrint {
        let emit = EmitMode::NAMES.iter().find(|(_, m)| *m == options.emit).map_or("?", |(n, _)| n);
        let watermark = WatermarkScope::NAMES.iter().find(|(_, s)| *s == options.watermark).map_or("?", |(n, _)| n);
        OptionsPrint {
            emit: emit.to_owned(),
            watermark: watermark.to_owned(),
            max_future_skew: options.max_future_skew,
            duplicates: options.duplicates.map(|d| d.name().to_owned()),
        }
    }

    /// `--emit was final, is now updates`, one line per option that differs.
    pub(crate) fn differences(&self, now: &OptionsPrint) -> Vec<String> {
        let skew = |s: Option<i64>| s.map_or_else(|| "unset".to_owned(), crate::time::duration::format_duration);
        let mut lines = Vec::new();
        if self.emit != now.emit {
            lines.push(format!("--emit was `{}`, is now `{}`", self.emit, now.emit));
        }
        if self.watermark != now.watermark {
            lines.push(format!("--watermark was `{}`, is now `{}`", self.watermark, now.watermark));
        }
        if self.duplicates != now.duplicates {
            let flag = |d: &Option<String>| d.as_deref().map_or_else(|| "unset".to_owned(), |d| format!("`{d}`"));
            lines.push(format!("--duplicates was {}, is now {}", flag(&self.duplicates), flag(&now.duplicates)));
        }
        if self.max_future_skew != now.max_future_skew {
            lines.push(format!(
                "--max-future-skew was {}, is now {}",
                skew(self.max_future_skew),
                skew(now.max_future_skew)
            ));
        }
        lines
    }
}

/// The name tables, each in id order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedNames {
    pub(crate) assets: Vec<String>,
    pub(crate) points: Vec<String>,
    pub(crate) models: Vec<String>,
}

impl SavedNames {
    pub(crate) fn of(names: &Names) -> SavedNames {
        let list = |table: &Interner| table.names().map(str::to_owned).collect();
        SavedNames { assets: list(&names.assets), points: list(&names.points), models: list(&names.models) }
    }

    /// The tables back, or `None` when a name repeats (the ids would shift).
    pub fn tables(&self) -> Option<Names> {
        let table = |list: &[String]| {
            let table = Interner::from_names(list.iter().map(String::as_str));
            (table.len() == list.len()).then_some(table)
        };
        Some(Names {
            assets: table(&self.assets)?,
            points: table(&self.points)?,
            models: table(&self.models)?,
            jobs: Vec::new(),
        })
    }
}

/// A whole state file.
#[derive(Clone, Serialize, Deserialize)]
pub struct SavedState {
    /// The meterflow version that wrote it, for messages.
    pub(crate) written_by: String,
    pub(crate) jobs: Vec<JobPrint>,
    pub(crate) options: OptionsPrint,
    /// Saved by a `--finish` run: the stream has ended, nothing may resume from it.
    pub(crate) finished: bool,
    /// Runs that read into this state.
    pub runs: u32,
    pub(crate) inputs: Vec<ConsumedInput>,
    pub names: SavedNames,
    pub counts: InputCounts,
    /// Sources read over every run (an empty one too, which `inputs` leaves out).
    pub sources: usize,
    pub pipeline: PipelineState,
}

impl SavedState {
    pub(crate) fn encode(&self) -> Vec<u8> {
        file::encode(&postcard::to_stdvec(self).expect("every field of a state serialises"))
    }

    pub fn decode(bytes: &[u8]) -> Result<SavedState, DecodeError> {
        let payload = file::decode(bytes)?;
        postcard::from_bytes(&payload).map_err(|e| DecodeError::Damaged(format!("contents: {e}")))
    }
}

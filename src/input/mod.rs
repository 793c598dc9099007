//! Meter CSV to [`Reading`](crate::engine::Reading)s. [`source`] opens files or stdin
//! (decompressing gzip and zstd, dropping a BOM, detecting the delimiter); [`options`] holds the
//! input settings and checks them; [`number`] reads value texts (decimal and thousands
//! separators); [`columns`] finds the columns of a header; [`timestamp`] reads timestamp fields
//! (formats, time zones, DST policy), `row_time` a row's (from its columns), and [`stamps`]
//! finishes them once the series is known (`--dst ambiguous=infer`, `--interval-end`), [`interval`]
//! saying what `--interval-end auto` chose; [`reader`]
//! turns long or wide rows into readings; [`rejects`] applies the bad-row policy; `shown` quotes
//! input text in messages; [`sort`] replays readings in event-time order; [`fast`] reads plain
//! long-format files by a fast path, leaving every other row to [`reader`]; [`live`] flushes the
//! outputs whenever a pipe or terminal input is about to wait. [`config`] reads and writes input
//! settings as a YAML file; [`time_layout`] recognises timestamp layouts (for `sniff`, and for messages that propose a
//! `--time-format`); [`header_hint`] proposes the flags a header's missing roles need; [`jsonl`]
//! reads JSON lines, the objects `run --format jsonl` writes; [`parquet`] reads Parquet files as
//! the CSV text they hold (cargo feature `parquet`); `whole` fails a regular file that ends before
//! the size it had when opened (truncated while read), `quote_end` one that ends inside a quoted
//! field (cut short).
pub mod columns;
pub mod config;
pub mod fast;
pub mod header_hint;
pub mod interval;
pub mod jsonl;
pub mod live;
pub mod name_field;
pub mod number;
pub mod options;
pub mod parquet;
mod pump;
mod quote_end;
pub mod reader;
pub mod rejects;
mod row_time;
pub mod shown;
pub mod sort;
pub mod source;
pub mod stamps;
pub mod stop;
pub mod time_layout;
pub mod timestamp;
mod whole;

pub use fast::InputReader;
pub use options::{BadRowPolicy, InputOptions, InputSettings};
pub use reader::Reader;
pub use rejects::BadRows;
pub use sort::Sorter;
pub use source::{open, open_watched};

/// Figures of the input side, for the summary and `--stats-json` (in this field order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InputCounts {
    /// Data rows read (header excluded), bad rows included.
    pub rows: u64,
    /// Values that were a missing-value marker (one per cell in wide input).
    #[serde(rename = "missing_values")]
    pub missing: u64,
    /// Bad rows skipped under `--on-bad-row skip`.
    pub rejected: u64,
    /// Rows read whole (not rejected), and their value cells: one per long row, one per point
    /// column of a wide row. For the row accounting.
    pub whole_rows: u64,
    pub values: u64,
}

impl InputCounts {
    /// Counts a row the fast reader took: a whole row with one value cell.
    #[inline]
    pub(crate) fn fast_row(&mut self) {
        self.fast_rows(1);
    }

    /// Counts `n` rows the fast reader took, as `n` calls of [`InputCounts::fast_row`] would.
    #[inline]
    pub(crate) fn fast_rows(&mut self, n: u64) {
        self.rows += n;
        self.whole_rows += n;
        self.values += n;
    }
}

//! Output points as a Parquet file (`--format parquet`, cargo feature `parquet`): columns
//! `timestamp` (a UTC timestamp in milliseconds), `asset`, `point`, `value` (a double, null for a
//! text value), `text_value` (the text of a merge's text result, else null), and `emit` and
//! `revision` in `updates` mode, as the database table has them. Rows are gathered in column
//! builders and written a record batch at a time, zstd-compressed. A Parquet file is whole only
//! with its footer, so [`Output::flush`] ends the file: the run flushes once, at its end (a live
//! input, which flushes whenever it waits, is refused with this format).

use super::Output;
use super::encode::emit_label;
use crate::engine::names::Names;
use crate::engine::{Point, Value};
use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::io::{self, Write};
use std::sync::Arc;

/// Rows gathered before they are written as one record batch.
const BATCH: usize = 65_536;

/// The columns being filled for the next record batch.
#[derive(Default)]
struct Columns {
    timestamp: TimestampMillisecondBuilder,
    asset: StringBuilder,
    point: StringBuilder,
    value: Float64Builder,
    text: StringBuilder,
    emit: StringBuilder,
    revision: Int64Builder,
    rows: usize,
}

pub(crate) struct ParquetWriter {
    /// `None` once the file has been ended.
    writer: Option<ArrowWriter<Box<dyn Write + Send>>>,
    schema: SchemaRef,
    /// Whether rows carry `emit` and `revision` (`updates` mode).
    revisions: bool,
    columns: Columns,
}

impl ParquetWriter {
    /// A Parquet file written to `out`; `revisions` adds the `emit` and `revision` columns.
    pub(crate) fn new(out: Box<dyn Write + Send>, revisions: bool) -> io::Result<ParquetWriter> {
        let mut fields = vec![
            Field::new("timestamp", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), false),
            Field::new("asset", DataType::Utf8, false),
            Field::new("point", DataType::Utf8, false),
            Field::new("value", DataType::Float64, true),
            Field::new("text_value", DataType::Utf8, true),
        ];
        if revisions {
            fields.push(Field::new("emit", DataType::Utf8, false));
            fields.push(Field::new("revision", DataType::Int64, false));
        }
        let schema = Arc::new(Schema::new(fields));
        let level = ZstdLevel::try_new(1).map_err(failed)?;
        let properties = WriterProperties::builder().set_compression(Compression::ZSTD(level)).build();
        let writer = ArrowWriter::try_new(out, Arc::clone(&schema), Some(properties)).map_err(failed)?;
        Ok(ParquetWriter { writer: Some(writer), schema, revisions, columns: Columns::default() })
    }

    /// Writes the gathered rows as one record batch.
    fn write_batch(&mut self) -> io::Result<()> {
        let c = std::mem::take(&mut self.columns);
        if c.rows == 0 {
            return Ok(());
        }
        let Columns { mut timestamp, mut asset, mut point, mut value, mut text, mut emit, mut revision, .. } = c;
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(timestamp.finish().with_timezone("UTC")),
            Arc::new(asset.finish()),
            Arc::new(point.finish()),
            Arc::new(value.finish()),
            Arc::new(text.finish()),
        ];
        if self.revisions {
            arrays.push(Arc::new(emit.finish()));
            arrays.push(Arc::new(revision.finish()));
        }
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), arrays).map_err(failed)?;
        self.writer.as_mut().ok_or_else(ended)?.write(&batch).map_err(failed)
    }
}

impl Output for ParquetWriter {
    fn point(&mut self, p: &Point, names: &Names) -> io::Result<()> {
        if self.writer.is_none() {
            return Err(ended());
        }
        let c = &mut self.columns;
        c.timestamp.append_value(p.ts);
        c.asset.append_value(names.assets.name(p.asset));
        c.point.append_value(names.points.name(p.point));
        match &p.value {
            Value::Text(t) => {
                c.value.append_null();
                c.text.append_value(&**t);
            }
            other => {
                c.value.append_option(other.as_f64());
                c.text.append_null();
            }
        }
        if self.revisions {
            c.emit.append_value(emit_label(p.emit));
            c.revision.append_value(i64::from(p.revision));
        }
        c.rows += 1;
        if c.rows >= BATCH { self.write_batch() } else { Ok(()) }
    }

    /// Writes what is gathered and the footer: the file is complete, and takes no more rows.
    fn flush(&mut self) -> io::Result<()> {
        if self.writer.is_none() {
            return Ok(());
        }
        self.write_batch()?;
        // The footer goes out as the writer underneath is handed back.
        let writer = self.writer.take().ok_or_else(ended)?;
        writer.into_inner().map_err(failed)?.flush()
    }
}

fn failed(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("failed to write Parquet: {e}"))
}

fn ended() -> io::Error {
    io::Error::other("a row came after the Parquet file was ended")
}

//! Parquet input files (told by their `PAR1` magic bytes, so stdin works too) read as the CSV text
//! they hold: a header of the column names, then one line per row, each cell written as a CSV
//! export of the table would write it. Everything after that is the CSV readers' own: the column
//! roles, every flag, missing values, bad rows and messages, whose line N is the file's row N - 1.
//!
//! Cells: an instant (a timestamp adjusted to UTC) as RFC 3339 with `Z`; a local timestamp as
//! `YYYY-MM-DD HH:MM:SS.fff`, read in `--timezone`; dates and times of day as their text, for
//! `--time-column Date,Time`; numbers in the shortest text that reads back as the same number,
//! with the decimal separator of `--decimal`; null as an empty field (a missing value). A file is
//! read whole into memory first: Parquet keeps its index at its end.

use super::number::NumberFormat;
use anyhow::{Context, Result, bail};
use std::io::{Cursor, Read};

/// The first bytes of every Parquet file.
const MAGIC: &[u8] = b"PAR1";

/// `source` as CSV text when it is a Parquet file (named `file` in messages), else unchanged;
/// `delimiter` separates the cells, `numbers` says how to write them.
pub(crate) fn csv_view(
    mut source: Box<dyn Read + Send>,
    file: &str,
    delimiter: u8,
    numbers: NumberFormat,
) -> Result<Box<dyn Read + Send>> {
    let mut head = Vec::with_capacity(MAGIC.len());
    (&mut source).take(MAGIC.len() as u64).read_to_end(&mut head).with_context(|| format!("failed to read {file}"))?;
    let whole: Box<dyn Read + Send> = Box::new(Cursor::new(head.clone()).chain(source));
    if head != MAGIC {
        return Ok(whole);
    }
    read(whole, file, delimiter, numbers)
}

#[cfg(not(feature = "parquet"))]
fn read(_: Box<dyn Read + Send>, file: &str, _: u8, _: NumberFormat) -> Result<Box<dyn Read + Send>> {
    bail!("{file} is a Parquet file, and this meterflow was built without Parquet (cargo feature `parquet`)")
}

#[cfg(feature = "parquet")]
fn read(
    mut whole: Box<dyn Read + Send>,
    file: &str,
    delimiter: u8,
    numbers: NumberFormat,
) -> Result<Box<dyn Read + Send>> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut bytes = Vec::new();
    whole.read_to_end(&mut bytes).with_context(|| format!("failed to read {file}"))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .with_context(|| format!("{file}: not a readable Parquet file"))?;
    let schema = builder.schema().clone();
    for field in schema.fields() {
        if !cells::readable(field.data_type()) {
            bail!(
                "{file}: column {:?} holds Parquet values of type {}, which meterflow does not read (it reads text, \
                 numbers, booleans, timestamps, dates and times)",
                field.name(),
                field.data_type()
            );
        }
    }
    let batches = builder.with_batch_size(8192).build().with_context(|| format!("failed to read {file}"))?;
    let mut view = CsvView {
        batches,
        text: Vec::new(),
        at: 0,
        cells: cells::Cells { delimiter, decimal: numbers.decimal },
        file: file.to_string(),
    };
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    view.cells.header(&names, &mut view.text);
    Ok(Box::new(view))
}

/// The CSV text of a Parquet file, made one record batch at a time as it is read.
#[cfg(feature = "parquet")]
struct CsvView {
    batches: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    /// The text of the current batch, and how much of it was read.
    text: Vec<u8>,
    at: usize,
    cells: cells::Cells,
    file: String,
}

#[cfg(feature = "parquet")]
impl Read for CsvView {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.text.len() {
            let Some(batch) = self.batches.next() else { return Ok(0) };
            let batch = batch.map_err(|e| std::io::Error::other(format!("{}: {e}", self.file)))?;
            self.text.clear();
            self.at = 0;
            self.cells.batch(&batch, &mut self.text);
        }
        let n = out.len().min(self.text.len() - self.at);
        out[..n].copy_from_slice(&self.text[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(feature = "parquet")]
mod cells {
    use crate::time::format_timestamp;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        Date32Type, Date64Type, Decimal128Type, Decimal256Type, Float32Type, Float64Type, Int8Type, Int16Type,
        Int32Type, Int64Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType,
        TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type,
        UInt16Type, UInt32Type, UInt64Type,
    };
    use arrow_array::{Array, ArrayRef, RecordBatch};
    use arrow_schema::{DataType, TimeUnit};

    /// Whether a column of this type is read (a dictionary by its values).
    pub(crate) fn readable(data_type: &DataType) -> bool {
        use DataType::*;
        match data_type {
            Dictionary(_, values) => readable(values),
            Null | Boolean | Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float32 | Float64
            | Decimal128(..) | Decimal256(..) | Utf8 | LargeUtf8 | Utf8View | Binary | LargeBinary | BinaryView
            | Date32 | Date64 | Timestamp(..) => true,
            Time32(unit) => matches!(unit, TimeUnit::Second | TimeUnit::Millisecond),
            Time64(unit) => matches!(unit, TimeUnit::Microsecond | TimeUnit::Nanosecond),
            _ => false,
        }
    }

    /// How cells are written: the delimiter between them, the decimal separator of numbers.
    pub(crate) struct Cells {
        pub(crate) delimiter: u8,
        pub(crate) decimal: u8,
    }

    /// A column of one batch: its values, by row through the keys of a dictionary.
    struct Column {
        values: ArrayRef,
        keys: Option<Vec<usize>>,
        nulls: ArrayRef,
    }

    impl Cells {
        pub(crate) fn header(&self, names: &[&str], out: &mut Vec<u8>) {
            for (k, name) in names.iter().enumerate() {
                if k > 0 {
                    out.push(self.delimiter);
                }
                self.text(name.as_bytes(), out);
            }
            out.push(b'\n');
        }

        /// Appends the lines of `batch`.
        pub(crate) fn batch(&self, batch: &RecordBatch, out: &mut Vec<u8>) {
            let columns: Vec<Column> = batch
                .columns()
                .iter()
                .map(|array| match array.as_any_dictionary_opt() {
                    Some(dictionary) => Column {
                        values: dictionary.values().clone(),
                        keys: Some(dictionary.normalized_keys()),
                        nulls: array.clone(),
                    },
                    None => Column { values: array.clone(), keys: None, nulls: array.clone() },
                })
                .collect();
            for row in 0..batch.num_rows() {
                for (k, column) in columns.iter().enumerate() {
                    if k > 0 {
                        out.push(self.delimiter);
                    }
                    if column.nulls.is_null(row) {
                        continue;
                    }
                    let at = column.keys.as_ref().map_or(row, |keys| keys[row]);
                    if !column.values.is_null(at) {
                        self.cell(column.values.as_ref(), at, out);
                    }
                }
                out.push(b'\n');
            }
        }

        /// A text cell, quoted when it holds the delimiter, a quote or a line break.
        fn text(&self, text: &[u8], out: &mut Vec<u8>) {
            if !text.iter().any(|&b| b == self.delimiter || matches!(b, b'"' | b'\n' | b'\r' | b',' | b';' | b'\t')) {
                out.extend_from_slice(text);
                return;
            }
            out.push(b'"');
            for &b in text {
                if b == b'"' {
                    out.push(b'"');
                }
                out.push(b);
            }
            out.push(b'"');
        }

        /// A number's text, with the decimal separator the readers expect.
        fn number(&self, text: &str, out: &mut Vec<u8>) {
            if self.decimal == b'.' {
                self.text(text.as_bytes(), out);
            } else {
                let swapped: Vec<u8> = text.bytes().map(|b| if b == b'.' { self.decimal } else { b }).collect();
                self.text(&swapped, out);
            }
        }

        fn cell(&self, a: &dyn Array, i: usize, out: &mut Vec<u8>) {
            let integer = |n: i128, out: &mut Vec<u8>| out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            match a.data_type() {
                DataType::Boolean => out.extend_from_slice(if a.as_boolean().value(i) { b"true" } else { b"false" }),
                DataType::Int8 => integer(a.as_primitive::<Int8Type>().value(i).into(), out),
                DataType::Int16 => integer(a.as_primitive::<Int16Type>().value(i).into(), out),
                DataType::Int32 => integer(a.as_primitive::<Int32Type>().value(i).into(), out),
                DataType::Int64 => integer(a.as_primitive::<Int64Type>().value(i).into(), out),
                DataType::UInt8 => integer(a.as_primitive::<UInt8Type>().value(i).into(), out),
                DataType::UInt16 => integer(a.as_primitive::<UInt16Type>().value(i).into(), out),
                DataType::UInt32 => integer(a.as_primitive::<UInt32Type>().value(i).into(), out),
                DataType::UInt64 => integer(a.as_primitive::<UInt64Type>().value(i).into(), out),
                // A float32 as the shortest text of the float32, the number its writer meant.
                DataType::Float32 => {
                    self.number(zmij::Buffer::new().format(a.as_primitive::<Float32Type>().value(i)), out);
                }
                DataType::Float64 => {
                    self.number(zmij::Buffer::new().format(a.as_primitive::<Float64Type>().value(i)), out);
                }
                DataType::Decimal128(..) => self.number(&a.as_primitive::<Decimal128Type>().value_as_string(i), out),
                DataType::Decimal256(..) => self.number(&a.as_primitive::<Decimal256Type>().value_as_string(i), out),
                DataType::Utf8 => self.text(a.as_string::<i32>().value(i).as_bytes(), out),
                DataType::LargeUtf8 => self.text(a.as_string::<i64>().value(i).as_bytes(), out),
                DataType::Utf8View => self.text(a.as_string_view().value(i).as_bytes(), out),
                DataType::Binary => self.text(a.as_binary::<i32>().value(i), out),
                DataType::LargeBinary => self.text(a.as_binary::<i64>().value(i), out),
                DataType::BinaryView => self.text(a.as_binary_view().value(i), out),
                DataType::Date32 => date(i64::from(a.as_primitive::<Date32Type>().value(i)) * 86_400_000, out),
                DataType::Date64 => date(a.as_primitive::<Date64Type>().value(i), out),
                DataType::Time32(TimeUnit::Second) => {
                    time_of_day(i64::from(a.as_primitive::<Time32SecondType>().value(i)) * 1000, "", out);
                }
                DataType::Time32(_) => {
                    time_of_day(i64::from(a.as_primitive::<Time32MillisecondType>().value(i)), "", out);
                }
                DataType::Time64(TimeUnit::Microsecond) => {
                    let us = a.as_primitive::<Time64MicrosecondType>().value(i);
                    time_of_day(us.div_euclid(1000), &format!("{:03}", us.rem_euclid(1000)), out);
                }
                DataType::Time64(_) => {
                    let ns = a.as_primitive::<Time64NanosecondType>().value(i);
                    time_of_day(ns.div_euclid(1_000_000), &format!("{:06}", ns.rem_euclid(1_000_000)), out);
                }
                DataType::Timestamp(unit, zone) => {
                    let (ms, finer) = match unit {
                        TimeUnit::Second => (a.as_primitive::<TimestampSecondType>().value(i) * 1000, String::new()),
                        TimeUnit::Millisecond => (a.as_primitive::<TimestampMillisecondType>().value(i), String::new()),
                        TimeUnit::Microsecond => {
                            let us = a.as_primitive::<TimestampMicrosecondType>().value(i);
                            (us.div_euclid(1000), format!("{:03}", us.rem_euclid(1000)))
                        }
                        TimeUnit::Nanosecond => {
                            let ns = a.as_primitive::<TimestampNanosecondType>().value(i);
                            (ns.div_euclid(1_000_000), format!("{:06}", ns.rem_euclid(1_000_000)))
                        }
                    };
                    timestamp(ms, &finer, zone.is_some(), out);
                }
                // `readable` lets no other type through; a null column has only nulls.
                _ => {}
            }
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS.fff[finer]Z` for an instant, `YYYY-MM-DD HH:MM:SS.fff[finer]` for a
    /// local time.
    fn timestamp(ms: i64, finer: &str, instant: bool, out: &mut Vec<u8>) {
        let start = out.len();
        format_timestamp(ms, out);
        out.pop();
        out.extend_from_slice(finer.as_bytes());
        if instant {
            out.push(b'Z');
        } else if let Some(t) = out[start..].iter().position(|&b| b == b'T') {
            out[start + t] = b' ';
        }
    }

    fn date(ms: i64, out: &mut Vec<u8>) {
        let start = out.len();
        format_timestamp(ms, out);
        let date_end = out[start..].iter().position(|&b| b == b'T').map_or(out.len(), |t| start + t);
        out.truncate(date_end);
    }

    fn time_of_day(ms: i64, finer: &str, out: &mut Vec<u8>) {
        let mut stamp = Vec::new();
        format_timestamp(ms, &mut stamp);
        let from = stamp.iter().position(|&b| b == b'T').map_or(0, |t| t + 1);
        out.extend_from_slice(&stamp[from..stamp.len() - 1]);
        out.extend_from_slice(finer.as_bytes());
    }
}

//! The destination of rows dropped as late beyond lateness (`--late-output`): CSV, or JSON lines
//! with the same fields when points are written as JSON lines (line protocol has no place for
//! them: CSV then).

use super::Output;
use super::encode::{Format, LATE_HEADER, late_row};
use crate::engine::Dropped;
use crate::engine::names::Names;
use std::io::{self, Write};

pub struct LateWriter {
    out: Box<dyn Write + Send>,
    line: Vec<u8>,
    jsonl: bool,
}

impl LateWriter {
    /// A writer in the encoding that goes with points written as `format`, its header written.
    pub fn new(mut out: Box<dyn Write + Send>, format: Format) -> io::Result<LateWriter> {
        let jsonl = format == Format::Jsonl;
        if !jsonl {
            out.write_all(LATE_HEADER)?;
        }
        Ok(LateWriter { out, line: Vec::with_capacity(160), jsonl })
    }
}

impl Output for LateWriter {
    fn dropped(&mut self, d: &Dropped, names: &Names) -> io::Result<()> {
        late_row(d, names.job(d.job), names, self.jsonl, &mut self.line);
        self.out.write_all(&self.line)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

//! The destination of output points in a byte stream (a file or stdout): rows encoded by a
//! [`PointEncoder`] into one buffer, handed to the writer underneath a large piece at a time.

use super::Output;
use super::encode::{Format, PointEncoder};
use crate::engine::Point;
use crate::engine::names::Names;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Rows are handed to the writer underneath in pieces of about this many bytes.
const HAND_OVER: usize = 1 << 16;

/// Writes output points.
pub struct PointWriter {
    out: Box<dyn Write + Send>,
    /// Rows formatted and not yet handed to `out`: formatting straight into one large buffer and
    /// handing it over a piece at a time spares a copy and a call through `out` per row. Handed
    /// over by [`PointWriter::flush`], when dropped, and whenever it grows past [`HAND_OVER`].
    rows: Vec<u8>,
    encoder: PointEncoder,
    /// Rows in `rows`, and what became of the rows handed over.
    pending: u64,
    delivered: Arc<Delivered>,
}

/// Rows of a point writer that have left: handed over and flushed without an error; and the rows
/// of the piece whose hand-over failed, some of which may have left before the failure.
#[derive(Debug, Default)]
pub(crate) struct Delivered {
    pub(crate) rows: AtomicU64,
    pub(crate) cut: AtomicU64,
}

impl PointWriter {
    /// Wraps `out` and writes the format's header, if it has one; `revisions` adds the `emit`
    /// and `revision` fields (`updates` mode), `decimals` rounds numbers (`None`: the shortest
    /// round-trip form).
    pub fn new(
        mut out: Box<dyn Write + Send>,
        format: Format,
        revisions: bool,
        decimals: Option<u8>,
    ) -> io::Result<PointWriter> {
        let encoder = PointEncoder::new(format, revisions, decimals);
        out.write_all(encoder.header())?;
        Ok(PointWriter {
            out,
            rows: Vec::with_capacity(HAND_OVER + 1024),
            encoder,
            pending: 0,
            delivered: Arc::default(),
        })
    }

    /// Rows that have left so far (for a summary after the reader of a pipe has gone), readable
    /// once the writer has moved to another thread.
    pub(crate) fn delivered(&self) -> Arc<Delivered> {
        Arc::clone(&self.delivered)
    }

    #[inline]
    pub(crate) fn write(&mut self, p: &Point, names: &Names) -> io::Result<()> {
        self.encoder.point(p, names, &mut self.rows)?;
        self.pending += 1;
        if self.rows.len() < HAND_OVER { Ok(()) } else { self.hand_over() }
    }

    /// Hands the rows over and flushes the writer underneath, so a row counts as delivered only
    /// once no buffer of this process holds it.
    fn hand_over(&mut self) -> io::Result<()> {
        let written = self.out.write_all(&self.rows).and_then(|()| self.out.flush());
        self.rows.clear();
        let slot = if written.is_ok() { &self.delivered.rows } else { &self.delivered.cut };
        slot.fetch_add(std::mem::take(&mut self.pending), Ordering::Relaxed);
        written
    }
}

impl Output for PointWriter {
    fn takes_input(&self) -> bool {
        false
    }

    #[inline]
    fn point(&mut self, point: &Point, names: &Names) -> io::Result<()> {
        self.write(point, names)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.hand_over()
    }
}

impl Drop for PointWriter {
    /// Rows formatted before a run stopped early still reach the writer underneath (which, a
    /// `BufWriter`, writes them out when dropped in turn), as they did when each row was handed
    /// over at once.
    fn drop(&mut self) {
        let _ = self.hand_over();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Emit, Value};
    use std::sync::{Arc, Mutex};

    /// A writer whose bytes the test reads back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn influx_line_protocol_escapes_and_types() {
        let mut names = Names::default();
        let (asset, plain) = (names.assets.intern("m 1,a=b"), names.assets.intern("m2"));
        let point = names.points.intern("Max Reading,10");
        let bad = names.points.intern("two\nlines");
        let at = |asset, point, ts, value, emit, revision| Point {
            job: 0,
            asset,
            point,
            model: 0,
            ts,
            value,
            emit,
            revision,
        };
        let sink = Shared::default();
        let mut w = PointWriter::new(Box::new(sink.clone()), Format::Influx, false, None).unwrap();
        w.write(&at(asset, point, 1_704_067_800_000, Value::Number(12.5), Emit::Final, 0), &names).unwrap();
        w.write(&at(plain, point, 0, Value::Count(3), Emit::Final, 0), &names).unwrap();
        w.write(&at(plain, point, -1, Value::Text(r#"say "hi" \ ok"#.into()), Emit::Final, 0), &names).unwrap();
        w.write(&at(plain, point, 1, Value::Bool(true), Emit::Final, 0), &names).unwrap();
        let year_2286 = 10_000_000_000_000;
        let late = w.write(&at(plain, point, year_2286, Value::Number(1.0), Emit::Final, 0), &names).unwrap_err();
        assert_eq!(late.kind(), io::ErrorKind::InvalidData);
        assert!(late.to_string().contains("2286-11-20T17:46:40.000Z"), "{late}");
        let broken = w.write(&at(plain, bad, 0, Value::Number(1.0), Emit::Final, 0), &names).unwrap_err();
        assert!(broken.to_string().contains("line break"), "{broken}");
        w.flush().unwrap();
        let mut updates = PointWriter::new(Box::new(sink.clone()), Format::Influx, true, None).unwrap();
        updates.write(&at(plain, point, 0, Value::Number(1.0), Emit::Late, 2), &names).unwrap();
        // Dropped unflushed: the rows it holds are handed over all the same.
        drop(updates);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "Max\\ Reading\\,10,asset=m\\ 1\\,a\\=b value=12.5 1704067800000000000\n\
             Max\\ Reading\\,10,asset=m2 value=3i 0\n\
             Max\\ Reading\\,10,asset=m2 value=\"say \\\"hi\\\" \\\\ ok\" -1000000\n\
             Max\\ Reading\\,10,asset=m2 value=true 1000000\n\
             Max\\ Reading\\,10,asset=m2 value=1,emit=\"late\",revision=2i 0\n"
        );
    }
}

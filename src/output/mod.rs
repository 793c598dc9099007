//! Where a replay's products go. [`Output`] is the one seam: the replay hands it every output
//! point and every row dropped as late, and each destination takes the rows it is for. Encoders
//! ([`encode`], one per line format) are apart from destinations: byte streams ([`points`],
//! [`late`]), a Parquet file (`parquet`, cargo feature `parquet`), a database table (`database`,
//! cargo feature `database`); files are written aside and renamed once complete ([`file`](mod@file)).
//! Decorators wrap any output: on a thread of its own ([`threaded`]), or shared with the input's
//! idle hook on a live run ([`live`]).

#[cfg(feature = "database")]
pub mod database;
pub mod encode;
pub mod file;
pub mod late;
pub mod live;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod points;
pub mod threaded;

use crate::engine::names::Names;
use crate::engine::{Dropped, Point, Reading};
use std::io;

pub use encode::Format;
pub use late::LateWriter;
pub use points::PointWriter;

/// A destination of what a replay produces. Each method has a default that passes the row over,
/// so a destination implements only the rows it writes.
pub trait Output {
    /// Sees each input reading before it enters the pipeline.
    fn input(&mut self, _reading: &Reading, _names: &Names) {}

    /// Whether [`Output::input`] does anything: an output that leaves it as the default says no,
    /// and the replay spares it a call per reading.
    fn takes_input(&self) -> bool {
        true
    }

    /// An output point.
    fn point(&mut self, _point: &Point, _names: &Names) -> io::Result<()> {
        Ok(())
    }

    /// A reading dropped as late beyond lateness (wholly or from some windows).
    fn dropped(&mut self, _dropped: &Dropped, _names: &Names) -> io::Result<()> {
        Ok(())
    }

    /// Returns once everything written is in place: in the file, or committed to the database.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Sends everything written on its way to its place without waiting for it to get there: a
    /// live input's idle hook. An output that writes on the calling thread flushes.
    fn flush_without_waiting(&mut self) -> io::Result<()> {
        self.flush()
    }
}

/// Whether `text` names a database rather than a file (whether or not this build can write to
/// one).
pub(crate) fn is_database_uri(text: &str) -> bool {
    text.starts_with("postgresql://") || text.starts_with("postgres://")
}

/// An output that is one of several kinds, chosen at run time.
pub(crate) type BoxOutput = Box<dyn Output + Send>;

impl<O: Output + ?Sized> Output for Box<O> {
    #[inline]
    fn input(&mut self, reading: &Reading, names: &Names) {
        (**self).input(reading, names);
    }

    fn takes_input(&self) -> bool {
        (**self).takes_input()
    }

    #[inline]
    fn point(&mut self, point: &Point, names: &Names) -> io::Result<()> {
        (**self).point(point, names)
    }

    #[inline]
    fn dropped(&mut self, dropped: &Dropped, names: &Names) -> io::Result<()> {
        (**self).dropped(dropped, names)
    }

    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }

    fn flush_without_waiting(&mut self) -> io::Result<()> {
        (**self).flush_without_waiting()
    }
}

/// The outputs of a run: points to one destination, late rows to another when one is asked for.
pub struct Split {
    pub points: BoxOutput,
    pub late: Option<BoxOutput>,
}

impl Output for Split {
    fn takes_input(&self) -> bool {
        false
    }

    #[inline]
    fn point(&mut self, point: &Point, names: &Names) -> io::Result<()> {
        self.points.point(point, names)
    }

    fn dropped(&mut self, dropped: &Dropped, names: &Names) -> io::Result<()> {
        match self.late.as_mut() {
            Some(late) => late.dropped(dropped, names),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.points.flush()?;
        self.late.as_mut().map_or(Ok(()), Output::flush)
    }
}

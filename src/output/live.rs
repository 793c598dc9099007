//! The outputs of a run on a live input: each is shared with the input's idle hook (see
//! [`crate::input::live`]), which flushes them whenever the input is about to wait, so a row
//! leaves as soon as the input line that makes it has been read. The hook may run on a parsing
//! thread, hence the lock; it is taken once per written row, which costs little next to the row.
//! A database output is shared the same way: the hook commits the rows it holds.

use crate::engine::Point;
use crate::engine::names::Names;
use crate::input::live::Idle;
use crate::output::PointSink;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard};

/// An output and the error its last flush by the hook met, reported by the next write.
struct Slot {
    out: Box<dyn Write + Send>,
    failed: Option<io::Error>,
}

/// One output, written by the run and flushed by the hook.
#[derive(Clone)]
struct Shared(Arc<Mutex<Slot>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut slot = self.lock();
        if let Some(e) = slot.failed.take() {
            return Err(e);
        }
        slot.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut slot = self.lock();
        if let Some(e) = slot.failed.take() {
            return Err(e);
        }
        slot.out.flush()
    }
}

/// A point sink and the error its last flush by the hook met, reported by the next write.
struct PointsSlot {
    points: Box<dyn PointSink>,
    failed: Option<io::Error>,
}

/// A point sink, written by the run and flushed by the hook.
#[derive(Clone)]
struct SharedPoints(Arc<Mutex<PointsSlot>>);

impl SharedPoints {
    fn lock(&self) -> MutexGuard<'_, PointsSlot> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl PointSink for SharedPoints {
    fn write(&mut self, p: &Point, names: &Names, jobs: &[String]) -> io::Result<()> {
        let mut slot = self.lock();
        if let Some(e) = slot.failed.take() {
            return Err(e);
        }
        slot.points.write(p, names, jobs)
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut slot = self.lock();
        if let Some(e) = slot.failed.take() {
            return Err(e);
        }
        slot.points.flush()
    }
}

/// The outputs of a live run, gathered as they are created.
#[derive(Default)]
pub struct LiveOutputs {
    files: Vec<Shared>,
    points: Vec<SharedPoints>,
}

impl LiveOutputs {
    /// `out`, shared so that the hook set by [`LiveOutputs::flush_when_idle`] flushes it.
    pub fn share(&mut self, out: Box<dyn Write + Send>) -> Box<dyn Write + Send> {
        let shared = Shared(Arc::new(Mutex::new(Slot { out, failed: None })));
        self.files.push(shared.clone());
        Box::new(shared)
    }

    /// `points`, shared so that the hook flushes (for a database: commits) what it holds.
    pub fn share_points(&mut self, points: Box<dyn PointSink>) -> Box<dyn PointSink> {
        let shared = SharedPoints(Arc::new(Mutex::new(PointsSlot { points, failed: None })));
        self.points.push(shared.clone());
        Box::new(shared)
    }

    /// Makes `idle` flush every shared output.
    pub fn flush_when_idle(self, idle: &Idle) {
        idle.set(move || {
            for shared in &self.files {
                let mut slot = shared.lock();
                if slot.failed.is_none() {
                    slot.failed = slot.out.flush().err();
                }
            }
            for shared in &self.points {
                let mut slot = shared.lock();
                if slot.failed.is_none() {
                    slot.failed = slot.points.flush().err();
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose bytes can be looked at while it is shared.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<u8>>>);

    impl Write for Seen {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_idle_hook_flushes_what_was_buffered() {
        let seen = Seen::default();
        let mut outputs = LiveOutputs::default();
        let mut out = outputs.share(Box::new(io::BufWriter::new(seen.clone())));
        let idle = Idle::default();
        outputs.flush_when_idle(&idle);
        out.write_all(b"row\n").unwrap();
        assert!(seen.0.lock().unwrap().is_empty(), "buffered until the input waits");
        idle.call();
        assert_eq!(seen.0.lock().unwrap().as_slice(), b"row\n");
    }

    /// A writer that fails every write.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_error_met_by_the_hook_is_reported_by_the_next_write() {
        let mut outputs = LiveOutputs::default();
        let mut out = outputs.share(Box::new(io::BufWriter::new(Closed)));
        let idle = Idle::default();
        outputs.flush_when_idle(&idle);
        out.write_all(b"row\n").unwrap();
        idle.call();
        assert_eq!(out.write_all(b"next\n").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }

    /// A point sink that holds rows until flushed, as a database output does; flushes fail once
    /// `fail` is set.
    #[derive(Clone, Default)]
    struct Held {
        held: Arc<Mutex<usize>>,
        committed: Arc<Mutex<usize>>,
        fail: Arc<Mutex<bool>>,
    }

    impl PointSink for Held {
        fn write(&mut self, _: &Point, _: &Names, _: &[String]) -> io::Result<()> {
            *self.held.lock().unwrap() += 1;
            Ok(())
        }
        fn flush(&mut self) -> io::Result<()> {
            if *self.fail.lock().unwrap() {
                return Err(io::Error::other("connection lost"));
            }
            *self.committed.lock().unwrap() += std::mem::take(&mut *self.held.lock().unwrap());
            Ok(())
        }
    }

    #[test]
    fn the_idle_hook_commits_a_point_sink_and_its_error_comes_back_at_the_next_row() {
        let held = Held::default();
        let mut outputs = LiveOutputs::default();
        let mut points = outputs.share_points(Box::new(held.clone()));
        let idle = Idle::default();
        outputs.flush_when_idle(&idle);
        let point = Point {
            job: 0,
            asset: 0,
            point: 0,
            model: 0,
            ts: 0,
            value: crate::engine::Value::Number(1.0),
            emit: crate::engine::Emit::Final,
            revision: 0,
        };
        let names = Names::default();
        points.write(&point, &names, &[]).unwrap();
        points.write(&point, &names, &[]).unwrap();
        assert_eq!(*held.committed.lock().unwrap(), 0, "held until the input waits");
        idle.call();
        assert_eq!(*held.committed.lock().unwrap(), 2);
        *held.fail.lock().unwrap() = true;
        points.write(&point, &names, &[]).unwrap();
        idle.call();
        assert_eq!(points.write(&point, &names, &[]).unwrap_err().to_string(), "connection lost");
    }
}

//! The outputs of a run on a live input: each is shared with a flush hook that the input calls
//! whenever it is about to wait, so a row leaves as soon as the input line that makes it has been
//! read. The hook may run on a parsing thread, hence the lock; it is taken once per written row,
//! which costs little next to the row. A database output is shared the same way: the hook commits
//! the rows it holds. An output written on a thread of its own is shared whole: the hook hands its
//! rows to that thread and does not wait for the writing. This module knows nothing of the input: [`LiveOutputs::flusher`] is a plain
//! closure that the run hands to the input's idle hook.

use super::{BoxOutput, Output};
use crate::engine::names::Names;
use crate::engine::{Dropped, Point, Reading};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

/// An output and the error its last flush by the hook met, reported by the next write.
struct Slot {
    output: BoxOutput,
    failed: Option<io::Error>,
}

/// One output, written by the run and flushed by the hook.
#[derive(Clone)]
struct Shared(Arc<Mutex<Slot>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the output unless the hook's last flush failed: then returns that error.
    fn with(&self, f: impl FnOnce(&mut BoxOutput) -> io::Result<()>) -> io::Result<()> {
        let mut slot = self.lock();
        if let Some(e) = slot.failed.take() {
            return Err(e);
        }
        f(&mut slot.output)
    }
}

impl Output for Shared {
    // Passed on, so that the replay spares a call per reading to an output that takes none (the
    // writer thread's, shared whole).
    fn takes_input(&self) -> bool {
        self.lock().output.takes_input()
    }

    fn input(&mut self, reading: &Reading, names: &Names) {
        self.lock().output.input(reading, names);
    }

    fn point(&mut self, point: &Point, names: &Names) -> io::Result<()> {
        self.with(|output| output.point(point, names))
    }

    fn dropped(&mut self, dropped: &Dropped, names: &Names) -> io::Result<()> {
        self.with(|output| output.dropped(dropped, names))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.with(Output::flush)
    }
}

/// The outputs of a live run, gathered as they are created.
#[derive(Default)]
pub(crate) struct LiveOutputs {
    shared: Vec<Shared>,
}

impl LiveOutputs {
    /// `output`, shared so that the closure from [`LiveOutputs::flusher`] flushes it.
    pub(crate) fn share(&mut self, output: BoxOutput) -> BoxOutput {
        let shared = Shared(Arc::new(Mutex::new(Slot { output, failed: None })));
        self.shared.push(shared.clone());
        Box::new(shared)
    }

    /// A closure that flushes (for a database: commits) every shared output, without waiting for
    /// one written on a thread of its own; an error it meets is reported by that output's next
    /// write.
    pub(crate) fn flusher(self) -> impl Fn() + Send + Sync + 'static {
        move || {
            for shared in &self.shared {
                let mut slot = shared.lock();
                if slot.failed.is_none() {
                    slot.failed = slot.output.flush_without_waiting().err();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Emit, Value};

    /// An output that holds rows until flushed, as a database output does; flushes fail once
    /// `fail` is set.
    #[derive(Clone, Default)]
    struct Held {
        held: Arc<Mutex<usize>>,
        committed: Arc<Mutex<usize>>,
        fail: Arc<Mutex<bool>>,
    }

    impl Output for Held {
        fn point(&mut self, _: &Point, _: &Names) -> io::Result<()> {
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
    fn the_flusher_flushes_what_was_held_and_its_error_comes_back_at_the_next_row() {
        let held = Held::default();
        let mut outputs = LiveOutputs::default();
        let mut points = outputs.share(Box::new(held.clone()));
        let flush = outputs.flusher();
        let point = Point {
            job: 0,
            asset: 0,
            point: 0,
            model: 0,
            ts: 0,
            value: Value::Number(1.0),
            emit: Emit::Final,
            revision: 0,
        };
        let names = Names::default();
        points.point(&point, &names).unwrap();
        points.point(&point, &names).unwrap();
        assert_eq!(*held.committed.lock().unwrap(), 0, "held until the input waits");
        flush();
        assert_eq!(*held.committed.lock().unwrap(), 2);
        *held.fail.lock().unwrap() = true;
        points.point(&point, &names).unwrap();
        flush();
        assert_eq!(points.point(&point, &names).unwrap_err().to_string(), "connection lost");
    }

    /// An output that takes no input readings.
    struct Writes;

    impl Output for Writes {
        fn takes_input(&self) -> bool {
            false
        }
    }

    /// A shared output says what the output inside says, so the replay spares it a call per
    /// reading (the writer thread's output, shared on a live input, takes none).
    #[test]
    fn a_shared_output_takes_input_as_the_output_inside_does() {
        let mut outputs = LiveOutputs::default();
        assert!(!outputs.share(Box::new(Writes)).takes_input());
        assert!(outputs.share(Box::new(Held::default())).takes_input());
    }
}

//! Ending the input early: a flag that the run's signal handlers set (with the signal's number)
//! and the input side polls. The replay stops between two rows when it is set, once the jobs have
//! taken every reading of the rows read so far, so the rows it says it read are the rows the jobs
//! received and the rest of the input starts at the next row. A live input waiting for data, or a
//! FIFO waiting for its writer, wakes up to see the flag and fails with [`Stopped`] instead of
//! waiting on: never an end of input, which would make a row of a line cut short.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Shared by the signal handlers and every reader of a run; 0 until a stop is requested.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicUsize>);

impl Stop {
    /// Whether the input should end now: one relaxed load, cheap enough for every reading.
    #[inline]
    pub(crate) fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }

    /// Asks the input to end, for `signal`; a stop already asked for keeps its signal.
    pub(crate) fn request(&self, signal: i32) {
        let signal = usize::try_from(signal).unwrap_or(usize::MAX).max(1);
        let _ = self.0.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// The signal that ended the input, if one did.
    pub(crate) fn signal(&self) -> Option<i32> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            n => Some(i32::try_from(n).unwrap_or(i32::MAX)),
        }
    }
}

/// The error of a read or an open that a stop request ended while it waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the input was ended by a signal while it waited")
    }
}

impl std::error::Error for Stopped {}

impl Stopped {
    /// The I/O error a waiting read or open returns.
    pub(crate) fn io() -> io::Error {
        io::Error::other(Stopped)
    }

    /// Whether `e` (with its causes) is a read or open that a stop ended. The csv crate's error
    /// holds the I/O error without giving it as its source, so it is looked into too.
    pub(crate) fn caused(e: &anyhow::Error) -> bool {
        let stopped = |io: &io::Error| io.get_ref().is_some_and(|inner| inner.is::<Stopped>());
        e.chain().any(|cause| {
            cause.is::<Stopped>()
                || cause.downcast_ref::<io::Error>().is_some_and(stopped)
                || cause
                    .downcast_ref::<csv::Error>()
                    .is_some_and(|e| matches!(e.kind(), csv::ErrorKind::Io(io) if stopped(io)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn a_stop_is_told_through_contexts_and_io_errors_and_nothing_else_is() {
        let e = Err::<(), _>(Stopped::io()).context("failed to read x").unwrap_err();
        assert!(Stopped::caused(&e));
        let csv = csv::Reader::from_reader(Failing).records().next().unwrap().unwrap_err();
        assert!(Stopped::caused(&anyhow::Error::new(csv).context("failed to read x")));
        assert!(!Stopped::caused(&anyhow::Error::new(io::Error::other("disk"))));
    }

    struct Failing;

    impl io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(Stopped::io())
        }
    }

    #[test]
    fn the_first_signal_is_kept() {
        let stop = Stop::default();
        assert_eq!(stop.signal(), None);
        stop.request(15);
        stop.request(2);
        assert_eq!(stop.signal(), Some(15));
        assert!(stop.requested());
    }
}

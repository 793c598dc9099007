//! Live inputs: an input that is not a regular file (a pipe, FIFO, terminal or socket) delivers
//! rows as they happen, so whatever the run has produced must leave before the reader waits for
//! more. This module tells live inputs apart and calls an [`Idle`] hook whenever a read of one is
//! about to block; the run sets the hook to flush its outputs. Regular files never call it, so
//! they keep their large buffered writes.
//!
//! A piped input's buffer is widened (see [`PIPE_BYTES`]), so that a read takes a whole chunk of
//! the fast reader while the writer keeps ahead (issue 31: `cat FILE | meterflow run` within 1.25x
//! of reading the file by name).

use super::stop::{Stop, Stopped};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// What runs when the input is about to wait: set once by the run, shared by every reader of the
/// input (the raw read on whichever thread reads, and the thread waiting for parsed chunks).
#[derive(Clone, Default)]
pub struct Idle(Arc<OnceLock<Box<dyn Fn() + Send + Sync>>>);

impl Idle {
    /// Sets the hook; a second hook is ignored (a run has one set of outputs).
    pub(crate) fn set(&self, hook: impl Fn() + Send + Sync + 'static) {
        let _ = self.0.set(Box::new(hook));
    }

    /// Runs the hook, if one is set.
    pub(crate) fn call(&self) {
        if let Some(hook) = self.0.get() {
            hook();
        }
    }
}

impl fmt::Debug for Idle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.get().is_some() { "Idle(set)" } else { "Idle(unset)" })
    }
}

/// Whether `path` (`-`: stdin) is live: anything but a regular file. An input that cannot be
/// looked at is taken as a file; opening it reports the error.
pub(crate) fn is_live(path: &str) -> bool {
    let kind = if path == "-" {
        rustix::fs::fstat(io::stdin()).map(|stat| rustix::fs::FileType::from_raw_mode(stat.st_mode))
    } else {
        return std::fs::metadata(path).is_ok_and(|m| !m.file_type().is_file());
    };
    kind.is_ok_and(|t| t != rustix::fs::FileType::RegularFile)
}

/// How long a waiting live input sleeps between two looks at the stop flag: a signal ends the
/// wait within this time (the handlers restart interrupted reads and opens, so the call itself
/// never sees it).
const STOP_CHECK: Duration = Duration::from_millis(50);

/// The buffer asked for a piped input. A pipe read returns at most what the buffer holds, 64 KiB
/// by default, so the fast reader's 512 KiB chunks came out eight times as many, each a hand-over
/// between threads; a writer faster than the run (`cat FILE |`) fills this one while the run
/// parses, and a read takes a whole chunk. 1 MiB is the most an unprivileged process may ask by
/// default (`/proc/sys/fs/pipe-max-size`).
const PIPE_BYTES: usize = 1 << 20;

/// Widens the buffer of `pipe` to [`PIPE_BYTES`] when it is a pipe or FIFO. Only speed depends on
/// it, so a refusal (a socket or terminal, a lower system limit, a user over its pipe quota) keeps
/// the buffer as it is.
fn widen(pipe: impl AsFd) {
    let _ = rustix::pipe::fcntl_setpipe_size(pipe, PIPE_BYTES);
}

/// A live source: before a read that would block, calls the idle hook; while waiting, fails with
/// [`Stopped`] when a stop is requested (not an end of input: a line cut short must not be read
/// as a row).
pub(crate) struct Watched<R> {
    inner: R,
    idle: Idle,
    stop: Stop,
}

impl<R: Read + AsFd> Watched<R> {
    pub(crate) fn new(inner: R, idle: Idle, stop: Stop) -> Watched<R> {
        Watched { inner, idle, stop }
    }

    /// Whether a read would return within `wait` (data, end of input or an error are all ready).
    fn ready(&self, wait: Duration) -> bool {
        let mut fds = [rustix::event::PollFd::new(&self.inner, rustix::event::PollFlags::IN)];
        let wait = rustix::event::Timespec { tv_sec: 0, tv_nsec: wait.subsec_nanos().into() };
        match rustix::event::poll(&mut fds, Some(&wait)) {
            Ok(n) => n > 0,
            // A signal handled on this thread ends a poll early whatever `SA_RESTART` says: taken
            // as ready, the read would then block with the stop never looked at.
            Err(rustix::io::Errno::INTR) => false,
            // A poll that fails otherwise says nothing: the read itself finds out.
            Err(_) => true,
        }
    }
}

impl<R: Read + AsFd> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.ready(Duration::ZERO) {
            self.idle.call();
            while !self.ready(STOP_CHECK) {
                if self.stop.requested() {
                    return Err(Stopped::io());
                }
            }
        }
        self.inner.read(buf)
    }
}

/// Opens `path` (`-`: stdin) raw, watched when live.
pub(crate) fn open_raw(path: &str, idle: &Idle, stop: &Stop) -> io::Result<Box<dyn Read + Send>> {
    let live = is_live(path);
    Ok(match (path == "-", live) {
        (true, true) => {
            widen(io::stdin());
            Box::new(Watched::new(io::stdin(), idle.clone(), stop.clone()))
        }
        (true, false) => match super::whole::Whole::stdin() {
            Some(whole) => Box::new(whole),
            None => Box::new(io::stdin()),
        },
        (false, true) => {
            let fifo = open_waiting(path, stop)?;
            widen(&fifo);
            Box::new(Watched::new(fifo, idle.clone(), stop.clone()))
        }
        (false, false) => Box::new(super::whole::Whole::open(path)?),
    })
}

/// Opens a live `path`, which may wait (a FIFO waits for a writer), on a thread of its own so
/// that a stop ends the wait: the open then fails with [`Stopped`], and the thread, still waiting,
/// ends with the process.
fn open_waiting(path: &str, stop: &Stop) -> io::Result<File> {
    let (tx, rx) = mpsc::channel();
    let owned = path.to_owned();
    std::thread::Builder::new().name("meterflow-open".into()).spawn(move || {
        let _ = tx.send(File::open(owned));
    })?;
    loop {
        match rx.recv_timeout(STOP_CHECK) {
            Ok(opened) => return opened,
            Err(RecvTimeoutError::Timeout) if stop.requested() => return Err(Stopped::io()),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Err(io::Error::other("the thread opening it stopped")),
        }
    }
}

/// A source whose open a stop ended: every read fails with [`Stopped`].
pub(crate) struct StoppedSource;

impl Read for StoppedSource {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(Stopped::io())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_hook_runs_before_a_read_that_would_block_and_not_before_one_that_would_not() {
        let (reader, mut writer) = std::os::unix::net::UnixStream::pair().unwrap();
        let idle = Idle::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        idle.set(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let mut watched = Watched::new(reader, idle, Stop::default());
        writer.write_all(b"a\n").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(watched.read(&mut buf).unwrap(), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        // The next line comes only once the hook has run (or after a minute, when it never does):
        // written after a fixed pause instead, it could come before a slow read had looked.
        let seen = Arc::clone(&calls);
        let late = std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while seen.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            writer.write_all(b"b\n").unwrap();
            writer
        });
        assert_eq!(watched.read(&mut buf).unwrap(), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        drop(late.join().unwrap());
        assert_eq!(watched.read(&mut buf).unwrap(), 0, "end of input");
    }

    #[test]
    fn a_pipe_is_widened_as_far_as_the_system_allows() {
        let (reader, _writer) = rustix::pipe::pipe().unwrap();
        widen(&reader);
        // A system with a lower limit keeps the default size, unless the tests run privileged.
        let limit: usize = std::fs::read_to_string("/proc/sys/fs/pipe-max-size").unwrap().trim().parse().unwrap();
        if limit >= PIPE_BYTES {
            assert_eq!(rustix::pipe::fcntl_getpipe_size(&reader).unwrap(), PIPE_BYTES);
        }
    }

    #[test]
    fn a_stop_ends_a_waiting_read_with_an_error_not_an_end_of_input() {
        let (reader, mut writer) = std::os::unix::net::UnixStream::pair().unwrap();
        let stop = Stop::default();
        let mut watched = Watched::new(reader, Idle::default(), stop.clone());
        // Part of a line has arrived; the rest never will.
        writer.write_all(b"2024-01-01T00:00:00Z,m1,Reading,12").unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(watched.read(&mut buf).unwrap(), 34);
        stop.request(15);
        let e = watched.read(&mut buf).unwrap_err();
        assert!(Stopped::caused(&anyhow::Error::new(e)), "a cut line must not read as the end of input");
    }

    #[test]
    fn a_stop_ends_an_open_that_waits() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let stop = Stop::default();
        stop.request(2);
        let e = open_waiting(fifo.to_str().unwrap(), &stop).unwrap_err();
        assert!(Stopped::caused(&anyhow::Error::new(e)));
    }

    #[test]
    fn a_regular_file_is_not_live() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.csv");
        std::fs::write(&file, "x\n").unwrap();
        assert!(!is_live(file.to_str().unwrap()));
    }
}

//! Parsing chunks on worker threads while the calling thread runs the jobs. Workers take turns at
//! the input (one reads while the others parse), tag each chunk with its position, and the calling
//! thread takes the parsed chunks back in input order, so the jobs see exactly the readings, in
//! the order, that one thread would have given them. A fixed set of chunks circulates between the
//! two sides, which bounds memory and how far the workers run ahead.
//!
//! Once the general reader takes over, the workers go on reading, without parsing, and it reads
//! the rest of the input from their chunks ([`Unparsed`]): stopping them would mean waiting for the
//! one blocked in a read of a live input, and so holding back the lines that have arrived until
//! the next one does.

use super::chunk::Chunk;
use super::layout::Layout;
use super::lines::Source;
use super::names::Parser;
use crate::input::live::Idle;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// Chunks in circulation at most (each about 0.8 MiB with its readings, more while it holds a line
/// longer than a chunk).
const MAX_CHUNKS: usize = 16;

/// The input as the workers share it.
struct Shared {
    source: Source,
    next_seq: u64,
    /// End of input or a read error was met: nothing more to read.
    finished: bool,
}

pub(crate) struct Workers {
    free: Option<Sender<Chunk>>,
    done: Receiver<Chunk>,
    handles: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    /// The general reader has taken over: chunks are read and handed over unparsed.
    unparsed: Arc<AtomicBool>,
    /// A worker met the end of the input or a read error: no worker will read again.
    exhausted: Arc<AtomicBool>,
    /// Chunks that arrived ahead of their turn.
    early: Vec<Chunk>,
    next_seq: u64,
    /// Runs before this thread waits for a chunk (a live input flushes the outputs).
    idle: Idle,
}

/// A lock that a panicked holder did not leave unusable (the data stays consistent: each holder
/// only reads the input or takes a number).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Workers {
    /// Starts a worker for each of `parsers` on `source`.
    pub(crate) fn start(parsers: Vec<Parser>, source: Source, layout: Layout, idle: Idle) -> io::Result<Workers> {
        let threads = parsers.len();
        let (free_tx, free_rx) = mpsc::channel::<Chunk>();
        let (done_tx, done_rx) = mpsc::channel::<Chunk>();
        // Four chunks per worker let the workers run far enough ahead that the jobs seldom wait
        // when three threads share two cores (with two per worker the jobs' thread waited twice
        // as long, a quarter of its running time); past a few workers more chunks only cost
        // memory.
        for _ in 0..(4 * threads + 1).min(MAX_CHUNKS) {
            let _ = free_tx.send(Chunk::default());
        }
        let free_rx = Arc::new(Mutex::new(free_rx));
        let shared = Arc::new(Mutex::new(Shared { source, next_seq: 0, finished: false }));
        let stop = Arc::new(AtomicBool::new(false));
        let unparsed = Arc::new(AtomicBool::new(false));
        let exhausted = Arc::new(AtomicBool::new(false));
        let layout = Arc::new(layout);
        let mut handles = Vec::with_capacity(threads);
        for (i, parser) in parsers.into_iter().enumerate() {
            let (free_rx, done_tx, shared, layout) =
                (Arc::clone(&free_rx), done_tx.clone(), Arc::clone(&shared), Arc::clone(&layout));
            let flags =
                Flags { stop: Arc::clone(&stop), unparsed: Arc::clone(&unparsed), exhausted: Arc::clone(&exhausted) };
            let handle = std::thread::Builder::new()
                .name(format!("meterflow-parse-{i}"))
                .spawn(move || work(parser, &free_rx, &done_tx, &shared, &flags, &layout))?;
            handles.push(handle);
        }
        Ok(Workers {
            free: Some(free_tx),
            done: done_rx,
            handles,
            stop,
            unparsed,
            exhausted,
            early: Vec::new(),
            next_seq: 0,
            idle,
        })
    }

    /// The next chunk in input order.
    pub(crate) fn next(&mut self) -> Option<Chunk> {
        loop {
            if let Some(i) = self.early.iter().position(|c| c.seq == self.next_seq) {
                self.next_seq += 1;
                return Some(self.early.swap_remove(i));
            }
            let chunk = match self.done.try_recv() {
                Ok(chunk) => chunk,
                Err(TryRecvError::Empty) => {
                    self.idle.call();
                    self.done.recv().ok()?
                }
                Err(TryRecvError::Disconnected) => return None,
            };
            self.early.push(chunk);
        }
    }

    /// Gives a consumed chunk back for reuse.
    pub(crate) fn recycle(&mut self, chunk: Chunk) {
        if let Some(free) = &self.free {
            let _ = free.send(chunk);
        }
    }

    /// The rest of the input, from the chunk after the last one taken, for the general reader.
    pub(crate) fn into_unparsed(self) -> Unparsed {
        self.unparsed.store(true, Ordering::Relaxed);
        Unparsed { workers: self, chunk: None, at: 0, end: None }
    }
}

impl Drop for Workers {
    /// Workers finish the chunk in hand and exit. Once the input is exhausted they are waited for
    /// (none can block any more); before, one may be blocked reading a pipe that no longer
    /// matters, so they are left to end on their own.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.free = None;
        if self.exhausted.load(Ordering::Acquire) {
            for handle in self.handles.drain(..) {
                let _ = handle.join();
            }
        }
    }
}

/// What tells the workers how to go on.
struct Flags {
    stop: Arc<AtomicBool>,
    unparsed: Arc<AtomicBool>,
    exhausted: Arc<AtomicBool>,
}

/// How much nicer than the jobs' thread a parsing thread is. On two cores the parsing threads, the
/// writer thread, the jobs' thread (and a piped run's `cat`) contend for them; the jobs' thread
/// sets the run's pace, so it should not wait for a core while a parsing thread that is ahead of it
/// runs. Measured in bench/RESULTS.md ("Tenth round: the parsing threads' priority").
#[cfg(target_os = "linux")]
const PARSING_NICENESS: i32 = 5;

/// Lowers the calling parsing thread's priority by [`PARSING_NICENESS`] (Linux sets it per thread;
/// elsewhere it would apply to the whole process, so it is left alone). A refusal leaves it as it is.
fn yield_to_the_jobs_thread() {
    #[cfg(target_os = "linux")]
    if let Ok(now) = rustix::process::getpriority_process(None) {
        let _ = rustix::process::setpriority_process(None, (now + PARSING_NICENESS).min(19));
    }
}

fn work(
    mut parser: Parser,
    free: &Mutex<Receiver<Chunk>>,
    done: &Sender<Chunk>,
    shared: &Mutex<Shared>,
    flags: &Flags,
    layout: &Layout,
) {
    yield_to_the_jobs_thread();
    loop {
        let Ok(mut chunk) = lock(free).recv() else { return };
        if flags.stop.load(Ordering::Relaxed) {
            return;
        }
        let guard = {
            let mut shared = lock(shared);
            if shared.finished {
                return;
            }
            chunk.seq = shared.next_seq;
            shared.next_seq += 1;
            let guard = Numbered { seq: chunk.seq, done };
            chunk.fill(&mut shared.source);
            shared.finished = chunk.end || chunk.error.is_some();
            if shared.finished {
                flags.exhausted.store(true, Ordering::Release);
            }
            guard
        };
        if !flags.unparsed.load(Ordering::Relaxed) {
            chunk.parse(layout, &mut parser);
        }
        drop(guard);
        if done.send(chunk).is_err() {
            return;
        }
    }
}

/// The input as the workers go on reading it once the general reader has taken over: the bytes of
/// their chunks, in input order. A worker that stopped is a failed read, never an end of input.
pub(crate) struct Unparsed {
    workers: Workers,
    /// The chunk being handed out, and how far.
    chunk: Option<Chunk>,
    at: usize,
    /// Whether the input ended (`Some(true)`) or failed (`Some(false)`).
    end: Option<bool>,
}

impl Read for Unparsed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(chunk) = &self.chunk {
                let rest = &chunk.raw()[self.at..];
                if !rest.is_empty() {
                    let n = rest.len().min(buf.len());
                    buf[..n].copy_from_slice(&rest[..n]);
                    self.at += n;
                    return Ok(n);
                }
            }
            match self.end {
                Some(true) => return Ok(0),
                Some(false) => return Err(io::Error::other("the input failed before")),
                None => {}
            }
            if let Some(used) = self.chunk.take() {
                self.workers.recycle(used);
            }
            let Some(mut chunk) = self.workers.next() else {
                self.end = Some(false);
                return Err(io::Error::other("a parsing thread stopped"));
            };
            if let Some(e) = chunk.error.take() {
                self.end = Some(false);
                return Err(e);
            }
            self.end = chunk.end.then_some(true);
            self.chunk = Some(chunk);
            self.at = 0;
        }
    }
}

/// A chunk number taken by a worker. Should the worker panic before handing the chunk over, the
/// number still arrives, as a failed read: the calling thread waits for chunks in number order,
/// and a missing one would leave it waiting for ever.
struct Numbered<'a> {
    seq: u64,
    done: &'a Sender<Chunk>,
}

impl Drop for Numbered<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut failed = Chunk::default();
            failed.seq = self.seq;
            failed.error = Some(io::Error::other("a parsing thread stopped"));
            let _ = self.done.send(failed);
        }
    }
}

//! Parsing chunks on worker threads while the calling thread runs the jobs. Workers take turns at
//! the input (one reads while the others parse), tag each chunk with its position, and the calling
//! thread takes the parsed chunks back in input order, so the jobs see exactly the readings, in
//! the order, that one thread would have given them. A fixed set of chunks circulates between the
//! two sides, which bounds memory and how far the workers run ahead.

use super::chunk::{Chunk, Layout};
use super::lines::Source;
use super::names::Parser;
use crate::input::live::Idle;
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
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
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
    pub(crate) fn start(parsers: Vec<Parser>, source: Source, layout: Layout, idle: Idle) -> std::io::Result<Workers> {
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
        let exhausted = Arc::new(AtomicBool::new(false));
        let layout = Arc::new(layout);
        let mut handles = Vec::with_capacity(threads);
        for (i, parser) in parsers.into_iter().enumerate() {
            let (free_rx, done_tx, shared, layout) =
                (Arc::clone(&free_rx), done_tx.clone(), Arc::clone(&shared), Arc::clone(&layout));
            let flags = (Arc::clone(&stop), Arc::clone(&exhausted));
            let handle = std::thread::Builder::new()
                .name(format!("meterflow-parse-{i}"))
                .spawn(move || work(parser, &free_rx, &done_tx, &shared, (&flags.0, &flags.1), &layout))?;
            handles.push(handle);
        }
        Ok(Workers {
            free: Some(free_tx),
            done: done_rx,
            handles,
            shared,
            stop,
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

    /// Stops the workers and returns what they had read and not yet handed out: the chunks after
    /// the last one taken, in input order, and the rest of the input.
    pub(crate) fn into_rest(mut self) -> (Vec<Chunk>, Source) {
        self.stop.store(true, Ordering::Relaxed);
        self.free = None;
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
        self.early.extend(self.done.try_iter());
        let mut chunks = std::mem::take(&mut self.early);
        chunks.sort_by_key(|c| c.seq);
        let source =
            std::mem::replace(&mut lock(&self.shared).source, Source::new(Box::new(std::io::empty()), Vec::new()));
        (chunks, source)
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

fn work(
    mut parser: Parser,
    free: &Mutex<Receiver<Chunk>>,
    done: &Sender<Chunk>,
    shared: &Mutex<Shared>,
    (stop, exhausted): (&AtomicBool, &AtomicBool),
    layout: &Layout,
) {
    loop {
        let Ok(mut chunk) = lock(free).recv() else { return };
        if stop.load(Ordering::Relaxed) {
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
                exhausted.store(true, Ordering::Release);
            }
            guard
        };
        chunk.parse(layout, &mut parser);
        drop(guard);
        if done.send(chunk).is_err() {
            return;
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
            failed.error = Some(std::io::Error::other("a parsing thread stopped"));
            let _ = self.done.send(failed);
        }
    }
}

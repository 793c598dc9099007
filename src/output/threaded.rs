//! Writing a run's output on a thread of its own. Rows are handed over in batches, in order, to a
//! thread that gives them to the wrapped [`Output`] exactly as the calling thread would, so
//! the thread running the jobs does not wait on number formatting or the file system. The bytes
//! written are the same either way. A write error comes back to the calling thread at its next
//! row (as the `io::Error` itself, so a closed pipe is still recognised), or at
//! [`Output::flush`], which waits until the thread has written and flushed everything handed over;
//! the jobs run at most a few batches ahead of the writing, so they
//! may read a little further before they learn of it (`run` then lets a closed pipe win over a
//! data error met meanwhile, as it does without this thread).

use super::{BoxOutput, Output};
use crate::engine::names::Names;
use crate::engine::{Dropped, Point};
use anyhow::{Context, Result};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// Rows handed to the writer thread at a time.
const BATCH: usize = 4096;
/// Batches in flight: bounds memory and how far the jobs run ahead of the writing.
const IN_FLIGHT: usize = 2;

/// Rows for the writer thread, with the names it has not seen yet.
#[derive(Default)]
struct Batch {
    points: Vec<Point>,
    dropped: Vec<Dropped>,
    new_assets: Vec<String>,
    new_points: Vec<String>,
    /// Flush the output after this batch and answer on the acknowledgement channel.
    flush: bool,
    /// Flush the output after this batch without answering: a live input's idle hook, which
    /// must not wait on the writing (a flush error comes back at the next row).
    push: bool,
}

/// The first write error of the writer thread, for the calling thread to take.
#[derive(Default)]
struct Failure {
    failed: AtomicBool,
    error: Mutex<Option<io::Error>>,
}

pub(crate) struct ThreadedOutput {
    batch: Batch,
    /// Whether late rows are written at all.
    late: bool,
    sender: Option<SyncSender<Batch>>,
    /// Batches the writer thread gives back for reuse.
    spare: Receiver<Batch>,
    handle: Option<JoinHandle<Result<()>>>,
    /// The outcome of each flush the writer thread was asked for.
    acks: Receiver<io::Result<()>>,
    failure: Arc<Failure>,
    /// How many asset and point names the writer thread has.
    synced: (usize, usize),
}

impl ThreadedOutput {
    /// Starts the writer thread on `files`; `late` says whether it writes late rows at all.
    pub(crate) fn start(files: BoxOutput, late: bool, names: &Names) -> Result<ThreadedOutput> {
        let (sender, batches) = mpsc::sync_channel(IN_FLIGHT);
        let (give_back, spare) = mpsc::channel();
        let (ack, acks) = mpsc::channel();
        let failure = Arc::new(Failure::default());
        let shared = Arc::clone(&failure);
        let jobs = names.jobs.clone();
        let handle = std::thread::Builder::new()
            .name("meterflow-write".to_string())
            .spawn(move || write_batches(files, jobs, &batches, &give_back, &ack, &shared))
            .context("failed to start the output thread")?;
        Ok(ThreadedOutput {
            batch: Batch::default(),
            late,
            sender: Some(sender),
            spare,
            handle: Some(handle),
            acks,
            failure,
            synced: (0, 0),
        })
    }

    /// Names are only ever added, so the ones past what the writer thread has are the new ones;
    /// they travel in the batch of the first row that may use them.
    #[inline]
    fn sync_names(&mut self, names: &Names) {
        if names.assets.len() > self.synced.0 || names.points.len() > self.synced.1 {
            self.add_names(names);
        }
    }

    /// Kept out of line: the check above runs per row, this only when names are new.
    #[cold]
    fn add_names(&mut self, names: &Names) {
        self.batch
            .new_assets
            .extend((self.synced.0..names.assets.len()).map(|id| names.assets.name(id as u32).to_string()));
        self.batch
            .new_points
            .extend((self.synced.1..names.points.len()).map(|id| names.points.name(id as u32).to_string()));
        self.synced = (names.assets.len(), names.points.len());
    }

    /// The writer thread's error, once it has met one.
    #[inline]
    fn check(&self) -> io::Result<()> {
        if !self.failure.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        let taken = self.failure.error.lock().unwrap_or_else(PoisonError::into_inner).take();
        Err(taken.unwrap_or_else(|| io::Error::other("the output thread stopped after a write error")))
    }

    #[inline]
    fn send_if_full(&mut self) {
        if self.batch.points.len() + self.batch.dropped.len() >= BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        let next = self.spare.try_recv().unwrap_or_default();
        let batch = std::mem::replace(&mut self.batch, next);
        if let Some(sender) = &self.sender {
            // A closed channel means the writer thread stopped: `flush` reports why.
            let _ = sender.send(batch);
        }
    }

    fn stop(&mut self) -> Result<()> {
        self.send();
        self.sender = None;
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(anyhow::anyhow!("failed to write output: the output thread stopped")),
            None => Ok(()),
        }
    }
}

impl Output for ThreadedOutput {
    fn takes_input(&self) -> bool {
        false
    }

    fn point(&mut self, point: &Point, names: &Names) -> io::Result<()> {
        self.check()?;
        self.sync_names(names);
        self.batch.points.push(point.clone());
        self.send_if_full();
        Ok(())
    }

    fn dropped(&mut self, dropped: &Dropped, names: &Names) -> io::Result<()> {
        self.check()?;
        if self.late {
            self.sync_names(names);
            self.batch.dropped.push(*dropped);
            self.send_if_full();
        }
        Ok(())
    }

    /// Hands over the rows so far and waits until the writer thread has written and flushed them.
    fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        self.batch.flush = true;
        self.send();
        let acked = self.acks.recv();
        // A write error the thread met meanwhile is the one to report, as the `io::Error` itself.
        self.check()?;
        match acked {
            Ok(outcome) => outcome,
            Err(_) => match self.stop() {
                Ok(()) => Err(io::Error::other("the output thread stopped")),
                Err(e) => Err(io::Error::other(format!("{e:#}"))),
            },
        }
    }

    /// Hands over the rows so far for the writer thread to write and flush at once, without
    /// waiting for it: the thread that calls this (the jobs' or a parsing thread, about to wait
    /// for input) is not held up by the writing.
    fn flush_without_waiting(&mut self) -> io::Result<()> {
        self.check()?;
        self.batch.push = true;
        self.send();
        Ok(())
    }
}

impl Drop for ThreadedOutput {
    /// A run that stops early (a bad row, say) still gets the rows made so far written, as
    /// writing on the calling thread would have.
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn write_batches(
    mut files: BoxOutput,
    jobs: Vec<String>,
    batches: &Receiver<Batch>,
    give_back: &Sender<Batch>,
    ack: &Sender<io::Result<()>>,
    failure: &Failure,
) -> Result<()> {
    // The same names interned in the same order get the same ids as on the calling thread.
    let mut names = Names { jobs, ..Names::default() };
    let mut failed = false;
    for mut batch in batches {
        for name in batch.new_assets.drain(..) {
            names.assets.intern(&name);
        }
        for name in batch.new_points.drain(..) {
            names.points.intern(&name);
        }
        if !failed {
            let written = batch
                .points
                .iter()
                .try_for_each(|p| files.point(p, &names))
                .and_then(|()| batch.dropped.iter().try_for_each(|d| files.dropped(d, &names)));
            if let Err(e) = written.and_then(|()| if batch.push { files.flush() } else { Ok(()) }) {
                *failure.error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
                failure.failed.store(true, Ordering::Release);
                failed = true;
            }
        }
        if batch.flush {
            let flushed = if failed { Err(io::Error::other("a write error came first")) } else { files.flush() };
            let _ = ack.send(flushed);
        }
        batch.points.clear();
        batch.dropped.clear();
        batch.flush = false;
        batch.push = false;
        let _ = give_back.send(batch);
    }
    if failed {
        // The calling thread reports the error; stopped early, it may not have taken it yet.
        return match failure.error.lock().unwrap_or_else(PoisonError::into_inner).take() {
            Some(e) => Err(anyhow::Error::new(e).context("failed to write output")),
            None => Ok(()),
        };
    }
    files.flush().context("failed to write output")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{DropReason, Emit, Reading, Value};
    use crate::output::{Format, LateWriter, PointWriter, Split};
    use std::io::Write;

    /// A file in memory, shared with the test; past `fail_after` bytes, writes fail.
    #[derive(Clone)]
    struct Memory(Arc<Mutex<Vec<u8>>>, usize);

    impl Write for Memory {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut bytes = self.0.lock().unwrap();
            if bytes.len() + buf.len() > self.1 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// 10,000 points and 304 late rows, with names appearing along the way, through the direct
    /// or the threaded output; returns both files and the first error.
    /// A final row of job 0 at second `i`.
    fn final_row(asset: u32, point: u32, i: u32, value: f64) -> Point {
        let value = Value::Number(value);
        Point { job: 0, asset, point, model: 0, ts: i64::from(i) * 1000, value, emit: Emit::Final, revision: 0 }
    }

    fn run(threaded: bool, fail_after: usize) -> (Vec<u8>, Vec<u8>, Result<()>) {
        let (points_file, late_file) = (Memory(Arc::default(), fail_after), Memory(Arc::default(), usize::MAX));
        let files = Split {
            points: Box::new(PointWriter::new(Box::new(points_file.clone()), Format::Csv, false, None).unwrap()),
            late: Some(Box::new(LateWriter::new(Box::new(late_file.clone()), Format::Csv).unwrap())),
        };
        let mut names = Names { jobs: vec!["job".to_string()], ..Names::default() };
        let mut direct = None;
        let mut thread = None;
        let output: &mut dyn Output = if threaded {
            thread.insert(ThreadedOutput::start(Box::new(files), true, &names).unwrap())
        } else {
            direct.insert(files)
        };
        let point = names.points.intern("Max");
        let mut outcome = Ok(());
        for i in 0..10_000u32 {
            let asset = names.assets.intern(&format!("meter{}", i % 700));
            let mut written = output.point(&final_row(asset, point, i, f64::from(i) / 8.0), &names);
            if i % 33 == 0 {
                let reading = Reading { asset, point, model: 0, ts: 5, value: 1.5, quality: 0 };
                let d = Dropped {
                    job: 0,
                    reading,
                    reason: DropReason::LateBeyondLateness,
                    window_start: 0,
                    window_end: 10,
                    watermark: 99,
                };
                written = written.and_then(|()| output.dropped(&d, &names));
            }
            if let Err(e) = written {
                outcome = Err(anyhow::Error::new(e).context("failed to write output"));
                break;
            }
        }
        let finished = match (direct, thread) {
            (Some(mut files), _) => files.flush().context("failed to write output"),
            (_, Some(mut thread)) => thread.flush().context("failed to write output"),
            _ => Ok(()),
        };
        let outcome = outcome.and(finished);
        let (points, late) = (points_file.0.lock().unwrap().clone(), late_file.0.lock().unwrap().clone());
        (points, late, outcome)
    }

    #[test]
    fn the_writer_thread_writes_the_same_bytes() {
        let (points, late, outcome) = run(false, usize::MAX);
        assert!(outcome.is_ok());
        assert_eq!(points.iter().filter(|&&b| b == b'\n').count(), 10_001);
        assert!(points.ends_with(b"1970-01-01T02:46:39.000Z,meter199,Max,1249.875\n"));
        assert_eq!(late.iter().filter(|&&b| b == b'\n').count(), 1 + 304);
        let (threaded_points, threaded_late, threaded_outcome) = run(true, usize::MAX);
        assert!(threaded_outcome.is_ok());
        assert!(threaded_points == points);
        assert!(threaded_late == late);
    }

    #[test]
    fn write_errors_come_back_as_the_io_error() {
        for threaded in [false, true] {
            let (points, _, outcome) = run(threaded, 100_000);
            assert!(points.len() <= 100_000);
            let error = outcome.unwrap_err();
            assert_eq!(format!("{error:#}"), "failed to write output: disk full", "threaded: {threaded}");
            let kind = error.chain().find_map(|c| c.downcast_ref::<io::Error>()).map(io::Error::kind);
            assert_eq!(kind, Some(io::ErrorKind::StorageFull), "threaded: {threaded}");
        }
    }

    /// An output whose writing panics at its `n`th row, or at its flush (a bug in an encoder).
    struct PanicsAt(usize);

    impl Output for PanicsAt {
        fn point(&mut self, _: &Point, _: &Names) -> io::Result<()> {
            self.0 -= 1;
            assert!(self.0 > 0, "an encoder's bug");
            Ok(())
        }
        fn flush(&mut self) -> io::Result<()> {
            panic!("a flush's bug")
        }
    }

    /// A writer thread that stops (a panic) fails the flush that the run ends with: the rows handed
    /// to it were not written, so the run must not end as if they were.
    #[test]
    fn a_writer_thread_that_stops_fails_the_flush() {
        let mut names = Names { jobs: vec!["job".to_string()], ..Names::default() };
        let (asset, point) = (names.assets.intern("m1"), names.points.intern("Max"));
        // At the 3rd of 10,000 rows, in the first batch; at the 9,000th, in a later one; and at the
        // flush itself, all rows written.
        for panics_at in [3, 9_000, usize::MAX] {
            let mut output = ThreadedOutput::start(Box::new(PanicsAt(panics_at)), false, &names).unwrap();
            for i in 0..10_000 {
                output.point(&final_row(asset, point, i, 1.0), &names).unwrap();
            }
            let e = output.flush().unwrap_err();
            assert_eq!(e.to_string(), "failed to write output: the output thread stopped", "at {panics_at}");
            assert!(output.flush().is_err(), "at {panics_at}: a second flush does not find it finished");
        }
    }

    /// An output that counts the rows it was given and, once flushed, the rows that left; its
    /// flushes fail once `fail` is set.
    #[derive(Clone, Default)]
    struct Counted {
        given: Arc<Mutex<usize>>,
        left: Arc<Mutex<usize>>,
        fail: Arc<AtomicBool>,
    }

    impl Output for Counted {
        fn point(&mut self, _: &Point, _: &Names) -> io::Result<()> {
            *self.given.lock().unwrap() += 1;
            Ok(())
        }
        fn flush(&mut self) -> io::Result<()> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(io::Error::other("connection lost"));
            }
            *self.left.lock().unwrap() = *self.given.lock().unwrap();
            Ok(())
        }
    }

    /// A live input's idle hook hands the rows over without waiting: the writer thread writes and
    /// flushes them on its own (here 5 rows, fewer than a batch, which alone the thread would
    /// never see), and a flush error comes back at the next row.
    #[test]
    fn rows_flushed_without_waiting_leave_and_a_failed_flush_comes_back_at_the_next_row() {
        let mut names = Names { jobs: vec!["job".to_string()], ..Names::default() };
        let (asset, point) = (names.assets.intern("m1"), names.points.intern("Max"));
        let counted = Counted::default();
        let mut output = ThreadedOutput::start(Box::new(counted.clone()), false, &names).unwrap();
        for i in 0..5 {
            output.point(&final_row(asset, point, i, 1.0), &names).unwrap();
        }
        output.flush_without_waiting().unwrap();
        // Only a writer thread that never flushes keeps the test here a minute.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while *counted.left.lock().unwrap() < 5 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(*counted.left.lock().unwrap(), 5);
        counted.fail.store(true, Ordering::SeqCst);
        output.point(&final_row(asset, point, 5, 1.0), &names).unwrap();
        output.flush_without_waiting().unwrap();
        while !output.failure.failed.load(Ordering::Acquire) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let e = output.point(&final_row(asset, point, 6, 1.0), &names).unwrap_err();
        assert_eq!(e.to_string(), "connection lost");
    }
}

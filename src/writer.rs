//! Where a run's rows go. With one thread they are formatted and written as they come; with more,
//! they are handed in batches to a writer thread that formats and writes them in the same order,
//! so the thread running the jobs does not wait on number formatting or on the file system. The
//! bytes written are the same either way.

use crate::engine::{Dropped, Point};
use crate::intern::Names;
use crate::output::{LateWriter, PointWriter};
use anyhow::{Context, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

/// Rows handed to the writer thread at a time.
const BATCH: usize = 4096;
/// Batches in flight: bounds memory and how far the jobs run ahead of the writing.
const IN_FLIGHT: usize = 2;

/// The files of a run: output points, and the late rows when asked for.
pub struct Files {
    pub points: PointWriter,
    pub late: Option<LateWriter>,
    /// Job names by job index, for the late rows.
    pub job_names: Vec<String>,
}

impl Files {
    fn write(&mut self, points: &[Point], dropped: &[Dropped], names: &Names) -> Result<()> {
        for p in points {
            self.points.write(p, names).context("failed to write output")?;
        }
        if let Some(late) = &mut self.late {
            for d in dropped {
                late.write(d, &self.job_names[d.job], names).context("failed to write output")?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.points.flush().context("failed to write output")?;
        if let Some(late) = &mut self.late {
            late.flush().context("failed to write the late-output file")?;
        }
        Ok(())
    }
}

/// The output side of a run.
pub enum Output {
    /// Written on the calling thread; the first error stops the writing.
    Direct { files: Files, error: Option<anyhow::Error> },
    Threaded(Threaded),
}

impl Output {
    pub fn new(files: Files, threaded: bool) -> Result<Output> {
        if !threaded {
            return Ok(Output::Direct { files, error: None });
        }
        Ok(Output::Threaded(Threaded::start(files)?))
    }

    pub fn point(&mut self, p: &Point, names: &Names) {
        match self {
            Output::Direct { files, error: error @ None } => *error = files.write(std::slice::from_ref(p), &[], names).err(),
            Output::Direct { .. } => {}
            Output::Threaded(t) => {
                t.sync_names(names);
                t.batch.points.push(p.clone());
                t.send_if_full();
            }
        }
    }

    pub fn dropped(&mut self, d: &Dropped, names: &Names) {
        match self {
            Output::Direct { files, error: error @ None } => *error = files.write(&[], std::slice::from_ref(d), names).err(),
            Output::Direct { .. } => {}
            Output::Threaded(t) => {
                if t.late {
                    t.sync_names(names);
                    t.batch.dropped.push(*d);
                    t.send_if_full();
                }
            }
        }
    }

    /// The write error met so far, if any (the writer thread's shows up a little later).
    pub fn check(&mut self) -> Result<()> {
        match self {
            Output::Direct { error, .. } => error.take().map_or(Ok(()), Err),
            Output::Threaded(t) if t.failed.load(Ordering::Relaxed) => t.finish(),
            Output::Threaded(_) => Ok(()),
        }
    }

    /// Writes what is left and flushes the files.
    pub fn finish(mut self) -> Result<()> {
        match &mut self {
            Output::Direct { files, error } => match error.take() {
                Some(e) => Err(e),
                None => files.flush(),
            },
            Output::Threaded(t) => t.finish(),
        }
    }
}

/// Rows for the writer thread, with the names it has not seen yet.
#[derive(Default)]
struct Batch {
    points: Vec<Point>,
    dropped: Vec<Dropped>,
    new_assets: Vec<String>,
    new_points: Vec<String>,
}

pub struct Threaded {
    batch: Batch,
    late: bool,
    sender: Option<SyncSender<Batch>>,
    /// Batches the writer thread gives back for reuse.
    spare: Receiver<Batch>,
    handle: Option<JoinHandle<Result<()>>>,
    failed: Arc<AtomicBool>,
    /// How many asset and point names the writer thread has.
    synced: (usize, usize),
}

impl Threaded {
    fn start(files: Files) -> Result<Threaded> {
        let (sender, batches) = mpsc::sync_channel(IN_FLIGHT);
        let (give_back, spare) = mpsc::channel();
        let failed = Arc::new(AtomicBool::new(false));
        let late = files.late.is_some();
        let flag = Arc::clone(&failed);
        let handle = std::thread::Builder::new()
            .name("meterflow-write".to_string())
            .spawn(move || write_batches(files, &batches, &give_back, &flag))
            .context("failed to start the output thread")?;
        Ok(Threaded { batch: Batch::default(), late, sender: Some(sender), spare, handle: Some(handle), failed, synced: (0, 0) })
    }

    /// Names are only ever added, so the ones past what the writer thread has are the new ones;
    /// they travel in the batch of the first row that may use them.
    #[inline]
    fn sync_names(&mut self, names: &Names) {
        if names.assets.len() > self.synced.0 || names.points.len() > self.synced.1 {
            self.batch.new_assets.extend((self.synced.0..names.assets.len()).map(|id| names.assets.name(id as u32).to_string()));
            self.batch.new_points.extend((self.synced.1..names.points.len()).map(|id| names.points.name(id as u32).to_string()));
            self.synced = (names.assets.len(), names.points.len());
        }
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
            // A closed channel means the writer thread stopped: `finish` reports why.
            let _ = sender.send(batch);
        }
    }

    /// Hands over the last rows, waits for the writer thread and returns its outcome.
    fn finish(&mut self) -> Result<()> {
        self.send();
        self.sender = None;
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(anyhow::anyhow!("failed to write output: the output thread stopped")),
            None => Ok(()),
        }
    }
}

impl Drop for Threaded {
    /// A run that ends early (an input error) still gets the rows made so far written, as
    /// writing on the calling thread would have.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

fn write_batches(mut files: Files, batches: &Receiver<Batch>, give_back: &Sender<Batch>, failed: &AtomicBool) -> Result<()> {
    // The same names interned in the same order get the same ids as on the calling thread.
    let mut names = Names::default();
    let mut outcome = Ok(());
    for mut batch in batches {
        for name in batch.new_assets.drain(..) {
            names.assets.intern(&name);
        }
        for name in batch.new_points.drain(..) {
            names.points.intern(&name);
        }
        if outcome.is_ok() {
            outcome = files.write(&batch.points, &batch.dropped, &names);
            failed.store(outcome.is_err(), Ordering::Relaxed);
        }
        batch.points.clear();
        batch.dropped.clear();
        let _ = give_back.send(batch);
    }
    outcome.and_then(|()| files.flush())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Emit, Reading, Value};
    use crate::output::Format;
    use std::io::{self, Write};
    use std::sync::Mutex;

    /// A file in memory, shared with the test; `fail_after` bytes in, writes fail.
    #[derive(Clone)]
    struct Memory(Arc<Mutex<Vec<u8>>>, usize);

    impl Write for Memory {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut bytes = self.0.lock().unwrap();
            if bytes.len() + buf.len() > self.1 {
                return Err(io::Error::other("disk full"));
            }
            bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Runs 10,000 points and 300 late rows, with names appearing along the way, through an
    /// output; returns both files and the outcome.
    fn run(threaded: bool, fail_after: usize) -> (Vec<u8>, Vec<u8>, Result<()>) {
        let (points_file, late_file) = (Memory(Arc::default(), fail_after), Memory(Arc::default(), usize::MAX));
        let files = Files {
            points: PointWriter::new(Box::new(points_file.clone()), Format::Csv, false).unwrap(),
            late: Some(LateWriter::new(Box::new(late_file.clone())).unwrap()),
            job_names: vec!["job".to_string()],
        };
        let mut output = Output::new(files, threaded).unwrap();
        let mut names = Names::default();
        let point = names.points.intern("Max");
        let mut outcome = Ok(());
        for i in 0..10_000u32 {
            let asset = names.assets.intern(&format!("meter{}", i % 700));
            output.point(&Point { job: 0, asset, point, model: 0, ts: i64::from(i) * 1000, value: Value::Number(f64::from(i) / 8.0), emit: Emit::Final, revision: 0 }, &names);
            if i % 33 == 0 {
                let reading = Reading { asset, point, model: 0, ts: 5, value: 1.5 };
                output.dropped(&Dropped { job: 0, reading, window_start: 0, window_end: 10, watermark: 99 }, &names);
            }
            if i % 1000 == 999 && outcome.is_ok() {
                outcome = output.check();
            }
        }
        let outcome = outcome.and_then(|()| output.finish());
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
    fn write_errors_are_reported_either_way() {
        for threaded in [false, true] {
            let (points, _, outcome) = run(threaded, 100_000);
            assert!(points.len() <= 100_000);
            assert_eq!(format!("{:#}", outcome.unwrap_err()), "failed to write output: disk full");
        }
    }
}

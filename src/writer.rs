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

//! The files `run` writes (`-o`, `--late-output`, `--rejects`, `--stats-json`; `-` is stdout), and
//! what a run that does not finish leaves of them. Each file is written as `<name>.partial` and
//! takes its own name only once the run has finished and its accounting holds, so a file under
//! its own name is always complete and the previous file of that name stays until then. On a
//! live input, whose outputs are read while they grow, files are written under their own names
//! until the run stops early: then they take their `.partial` names too. A run abandoned on the
//! way (an error, a closed stdout, a second signal) says on stderr which outputs are incomplete
//! and that the state was not saved. The checks against the inputs are made before (see
//! [`crate::commands::clobber`]).

use crate::commands::Failure;
use crate::commands::stderr::say;
use crate::output::file::{self as out_file, partial_name, plain_file_or_absent};
use anyhow::Context;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// One file created so far: its flag, the name it is written under, its own name, and whether
/// it is a plain file (anything else is written in place and never renamed).
struct Pending {
    flag: &'static str,
    written: PathBuf,
    path: PathBuf,
    plain: bool,
}

/// What the run and a second signal (on the signal thread) share: the files so far, and whether
/// the run has begun to give them their names (then a signal no longer abandons it).
#[derive(Default)]
struct Shared {
    pending: Vec<Pending>,
    /// The outputs written to stdout when it is a regular file (`> out.csv`): a run that stops
    /// early leaves them looking complete, under the name the shell gave, so it names them too.
    stdout_file: Vec<String>,
    committing: bool,
}

/// The files a run writes, each under its `.partial` name until [`RunFiles::commit`].
#[derive(Clone)]
pub(crate) struct RunFiles {
    shared: Arc<Mutex<Shared>>,
    /// Written under their own names (a live input).
    in_place: bool,
    /// `--stats-json`, written last: a stopped run never writes it.
    stats_json: Option<PathBuf>,
    /// `--state`, saved last: a run abandoned before does not save it.
    state: Option<PathBuf>,
}

impl RunFiles {
    /// Files written under their own names when `in_place` (a live input); `stats_json` is said
    /// to be missing and `state` not saved when the run stops early.
    pub(crate) fn new(in_place: bool, stats_json: Option<PathBuf>, state: Option<PathBuf>) -> RunFiles {
        RunFiles { shared: Arc::default(), in_place, stats_json, state }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens `path` (or stdout for `-`) for `flag`'s output. A file is created as `<path>.partial`
    /// (see [`out_file::create_partial`]); the file under `path`, if any, stays until the run
    /// commits. Anything but a plain file (a device such as `/dev/null`, a pipe, a symbolic link)
    /// is written in place: it must never be removed or replaced.
    pub(crate) fn create(&mut self, flag: &'static str, path: &Path) -> anyhow::Result<Box<dyn Write + Send>> {
        if path.as_os_str() == "-" {
            if stdout_is_file() {
                self.lock().stdout_file.push(format!("{flag} - (stdout)"));
            }
            return Ok(Box::new(Named::stdout(
                BufWriter::with_capacity(1 << 16, io::stdout()),
                format!("{flag} - (stdout)"),
            )));
        }
        let plain = plain_file_or_absent(path);
        let in_place = self.in_place || !plain;
        let replacing = !in_place && out_file::replaces(path);
        let written = if in_place { path.to_path_buf() } else { partial_name(path) };
        let file = match in_place {
            true => File::create(&written),
            false => out_file::create_partial(&written),
        }
        .with_context(|| format!("failed to create {}", written.display()))?;
        let name = format!("{flag} {}", written.display());
        self.lock().pending.push(Pending { flag, written, path: path.to_path_buf(), plain });
        if !plain && is_stdout(&file) {
            return Ok(Box::new(Named::stdout(BufWriter::with_capacity(1 << 16, file), name)));
        }
        Ok(match replacing && out_file::written_at_rename(&file) {
            true => Box::new(Named::new(BufWriter::with_capacity(1 << 16, out_file::Replacing::new(file)), name)),
            false => Box::new(Named::new(BufWriter::with_capacity(1 << 16, file), name)),
        })
    }

    /// Gives every file its own name: the run has finished, its accounting holds, and the files
    /// are complete. From here on a signal no longer abandons the run.
    ///
    /// Under `--state` every file (and stdout, when it is a file) is first synced to disk, and
    /// the folders of the renamed ones after: the state saved next says these outputs were
    /// written, and it is synced itself, so a power loss must not leave it on disk with an output
    /// short or empty under its own name, whose input the next run would refuse as already read.
    pub(crate) fn commit(&self) -> anyhow::Result<()> {
        let mut shared = self.lock();
        shared.committing = true;
        let durable = self.state.is_some();
        if durable {
            sync_stdout_file().context("failed to sync stdout to disk")?;
        }
        let mut folders: Vec<PathBuf> = Vec::new();
        for Pending { written, path, plain, .. } in &shared.pending {
            if durable && *plain {
                File::open(written)
                    .and_then(|file| file.sync_all())
                    .with_context(|| format!("failed to sync {} to disk", written.display()))?;
                let folder = out_file::folder(path).to_path_buf();
                if !folders.contains(&folder) {
                    folders.push(folder);
                }
            }
            if written != path {
                out_file::commit(written, path)
                    .with_context(|| format!("failed to rename {} to {}", written.display(), path.display()))?;
            }
        }
        for folder in &folders {
            out_file::sync_folder(folder)
                .with_context(|| format!("failed to sync folder {} to disk", folder.display()))?;
        }
        Ok(())
    }

    /// `failure` of a run that stopped before the end, after saying on stderr which outputs it
    /// left incomplete (under which names), which it did not write, and that the state was not
    /// saved.
    pub(crate) fn abandon(&self, failure: Failure) -> Failure {
        let why = match failure {
            Failure::BrokenPipe => "the output was closed before the run finished (e.g. `| head`)",
            _ => "the run stopped on an error",
        };
        let closed = matches!(failure, Failure::BrokenPipe);
        if let Some(left) = self.leave_incomplete(closed).filter(|left| !left.is_empty()) {
            say(format_args!("meterflow: warning: {why}, so {left}"));
        }
        failure
    }

    /// [`RunFiles::abandon`] when a file has been created, else `failure` alone: a run that fails
    /// before creating any (a refused state, a database that refuses the login) leaves nothing to
    /// name.
    pub(crate) fn abandon_created(&self, failure: Failure) -> Failure {
        let none = self.lock().pending.is_empty();
        if none { failure } else { self.abandon(failure) }
    }

    /// Leaves every output incomplete and says what that leaves (empty: no file, no state),
    /// unless the run has begun to commit: then `None`, and everything is left to the run. A
    /// plain file written in place (a live input) takes its `.partial` name now. stdout
    /// redirected to a file is named too, unless its reader `closed` it (`| head`).
    pub(crate) fn leave_incomplete(&self, closed: bool) -> Option<String> {
        let mut shared = self.lock();
        if shared.committing {
            return None;
        }
        let mut left: Vec<String> = shared
            .pending
            .iter_mut()
            .map(|p| {
                if p.plain && p.written == p.path {
                    let partial = partial_name(&p.path);
                    if fs::rename(&p.path, &partial).is_ok() {
                        p.written = partial;
                    }
                }
                format!("{} {} (incomplete)", p.flag, p.written.display())
            })
            .collect();
        if !closed {
            left.extend(shared.stdout_file.iter().map(|name| format!("{name} (incomplete)")));
        }
        // The figures are written last: if their own write failed, they are listed above.
        if let Some(path) =
            self.stats_json.as_ref().filter(|_| !shared.pending.iter().any(|p| p.flag == "--stats-json"))
        {
            left.push(format!("--stats-json {} (not written)", path.display()));
        }
        left.sort();
        let mut text = match left.is_empty() {
            true => String::new(),
            false => format!("these outputs are not complete: {}", left.join(", ")),
        };
        if let Some(path) = &self.state {
            let and = if text.is_empty() { "" } else { "; and " };
            text.push_str(&format!("{and}the state was not saved: {} is as it was before this run", path.display()));
        }
        Some(text)
    }
}

/// Whether `file` is the pipe or device stdout is (`-o /dev/stdout`): its reader leaving is then
/// `| head`, as for `-o -`.
fn is_stdout(file: &File) -> bool {
    match (rustix::fs::fstat(file), rustix::fs::fstat(io::stdout())) {
        (Ok(a), Ok(b)) => (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino),
        _ => false,
    }
}

/// Syncs stdout to disk when it is a regular file (`> out.csv`); a pipe or terminal has nothing
/// to sync.
fn sync_stdout_file() -> io::Result<()> {
    let stdout = io::stdout();
    let stat = rustix::fs::fstat(&stdout)?;
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::RegularFile {
        rustix::fs::fsync(&stdout)?;
    }
    Ok(())
}

/// Whether stdout is a regular file (`> out.csv`), which an early stop leaves looking complete.
fn stdout_is_file() -> bool {
    rustix::fs::fstat(io::stdout())
        .is_ok_and(|stat| rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::RegularFile)
}

/// An output's writer whose errors name the output (`-o out.csv.partial: No space left on
/// device`): a run that writes several files must say which one the disk could not take. The
/// error keeps its kind, which a closed stdout is known by; a broken pipe of any other output is
/// an error like any other.
struct Named<W> {
    inner: W,
    name: String,
    stdout: bool,
}

impl<W: Write> Named<W> {
    fn new(inner: W, name: String) -> Named<W> {
        Named { inner, name, stdout: false }
    }

    fn stdout(inner: W, name: String) -> Named<W> {
        Named { inner, name, stdout: true }
    }

    fn named(&self, e: io::Error) -> io::Error {
        match e.kind() {
            io::ErrorKind::Interrupted => e,
            // Only stdout's reader leaving is `| head`, which ends a run with exit 0. A FIFO or
            // socket named by a flag whose reader left is an output the run failed to deliver.
            io::ErrorKind::BrokenPipe if !self.stdout => io::Error::other(format!(
                "{}: its reader left before the run finished, so it did not receive every row: {e}",
                self.name
            )),
            kind => io::Error::new(kind, format!("{}: {e}", self.name)),
        }
    }
}

impl<W: Write> Write for Named<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.named(e))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf).map_err(|e| self.named(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.named(e))
    }
}

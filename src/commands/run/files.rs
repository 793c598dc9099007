//! The files `run` writes (`-o`, `--late-output`, `--rejects`, `--stats-json`): `-` names stdout;
//! a file that is one of the inputs (the same file, by device and inode, whatever its name) is
//! refused before anything is opened for writing, as are two outputs on one file or on stdout;
//! and each file is written as `<name>.partial` and takes its own name only once the run has
//! finished, so a file under its own name is always complete. On a live input, whose outputs are
//! read while they grow, files are written under their own names until the run stops early: then
//! they take their `.partial` names too.

use crate::commands::{Failure, InputPath};
use anyhow::{Context, bail};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where one output of a run goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Stdout,
    File(PathBuf),
}

impl Target {
    fn of(path: &Path) -> Target {
        if path.as_os_str() == "-" { Target::Stdout } else { Target::File(path.to_path_buf()) }
    }
}

/// One file created so far: its flag, the name it is written under, its own name, and whether
/// it is a plain file (anything else is written in place and never renamed).
struct Pending {
    flag: &'static str,
    written: PathBuf,
    path: PathBuf,
    plain: bool,
}

/// The files a run writes, each under its `.partial` name until [`RunFiles::commit`].
pub struct RunFiles {
    pending: Vec<Pending>,
    /// Written under their own names (a live input).
    in_place: bool,
    /// `--stats-json`, written last: a stopped run never writes it.
    stats_json: Option<PathBuf>,
}

/// Checks the outputs (flag, path; `-` is stdout) against the inputs and one another before any
/// is created: an output that is an input would be truncated before it is read, and two outputs
/// on one file or on stdout would interleave. `o_given` says whether `-o` was given (absent, it
/// is stdout), for the hint of a clash on stdout.
pub fn check(inputs: &[InputPath], outputs: &[(&'static str, &Path)], o_given: bool) -> anyhow::Result<()> {
    let mut seen: Vec<(&str, Target)> = Vec::new();
    for &(flag, path) in outputs {
        let target = Target::of(path);
        if let Some((other, _)) = seen.iter().find(|(_, t)| same_target(t, &target)) {
            let name = match &target {
                Target::Stdout => "stdout".to_string(),
                Target::File(path) => path.display().to_string(),
            };
            let hint = if flag != "-o" && !o_given { " (-o absent writes to stdout)" } else { "" };
            bail!("{other} and {flag} both write to {name}{hint}: give each its own file");
        }
        if let Target::File(path) = &target
            && let Some(input) = inputs.iter().find(|input| same_file(Path::new(&input.path), path))
        {
            bail!(
                "{flag} {} is the input {}: writing it would destroy the input before it is read; write to another file",
                path.display(),
                input.name
            );
        }
        seen.push((flag, target));
    }
    Ok(())
}

impl RunFiles {
    /// Files written under their own names when `in_place` (a live input); `stats_json` is said
    /// to be missing when the run stops early.
    pub fn new(in_place: bool, stats_json: Option<PathBuf>) -> RunFiles {
        RunFiles { pending: Vec::new(), in_place, stats_json }
    }

    /// Opens `path` (or stdout for `-`) for `flag`'s output. A file is created as `<path>.partial`
    /// and an older file under `path` is removed, so it cannot pass for this run's. Anything but a
    /// plain file (a device such as `/dev/null`, a pipe, a symbolic link) is written in place: it
    /// must never be removed or replaced.
    pub fn create(&mut self, flag: &'static str, path: &Path) -> anyhow::Result<Box<dyn Write + Send>> {
        let Target::File(path) = Target::of(path) else {
            return Ok(Box::new(BufWriter::with_capacity(1 << 16, io::stdout())));
        };
        let plain = plain_file_or_absent(&path);
        let written = if self.in_place || !plain { path.clone() } else { partial_name(&path) };
        let file = File::create(&written).with_context(|| format!("failed to create {}", written.display()))?;
        if written != path {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("failed to replace {}", path.display()));
                }
                _ => {}
            }
        }
        self.pending.push(Pending { flag, written, path, plain });
        Ok(Box::new(BufWriter::with_capacity(1 << 16, file)))
    }

    /// Gives every file its own name: the run has finished and they are complete.
    pub fn commit(self) -> anyhow::Result<()> {
        for Pending { written, path, .. } in self.pending {
            if written != path {
                fs::rename(&written, &path)
                    .with_context(|| format!("failed to rename {} to {}", written.display(), path.display()))?;
            }
        }
        Ok(())
    }

    /// `failure` of a run that stopped before the end, after saying on stderr which outputs it
    /// left incomplete (under which names) and which it did not write. A plain file written in
    /// place (a live input) takes its `.partial` name now.
    pub fn abandon(&self, failure: Failure) -> Failure {
        let renamed: Vec<PathBuf> = self
            .pending
            .iter()
            .map(|p| match p.plain && p.written == p.path {
                true => {
                    let partial = partial_name(&p.path);
                    if fs::rename(&p.path, &partial).is_ok() { partial } else { p.written.clone() }
                }
                false => p.written.clone(),
            })
            .collect();
        let why = match failure {
            Failure::BrokenPipe => "the output was closed before the run finished (e.g. `| head`)",
            _ => "the run stopped on an error",
        };
        let mut left: Vec<String> = self
            .pending
            .iter()
            .zip(&renamed)
            .map(|(p, written)| format!("{} {} (incomplete)", p.flag, written.display()))
            .chain(self.stats_json.iter().map(|path| format!("--stats-json {} (not written)", path.display())))
            .collect();
        left.sort();
        if !left.is_empty() {
            eprintln!("meterflow: warning: {why}, so these outputs are not complete: {}", left.join(", "));
        }
        failure
    }
}

/// Whether two outputs write to one place: both stdout, or one file by any spelling (an existing
/// file by device and inode, a new one by its folder and name).
fn same_target(a: &Target, b: &Target) -> bool {
    match (a, b) {
        (Target::Stdout, Target::Stdout) => true,
        (Target::File(a), Target::File(b)) => {
            if let (Ok(x), Ok(y)) = (fs::metadata(a), fs::metadata(b)) {
                return x.dev() == y.dev() && x.ino() == y.ino();
            }
            let place = |path: &Path| {
                let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                (fs::canonicalize(folder).ok(), path.file_name().map(ToOwned::to_owned))
            };
            a == b || place(a) == place(b)
        }
        _ => false,
    }
}

fn plain_file_or_absent(path: &Path) -> bool {
    match fs::symlink_metadata(path) {
        Ok(meta) => meta.file_type().is_file(),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    }
}

fn partial_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".partial");
    PathBuf::from(name)
}

/// Whether `input` and `output` are one file: same device and inode, so links and other spellings
/// of the path count. `-` is stdin, compared through the file it was redirected from.
fn same_file(input: &Path, output: &Path) -> bool {
    let input = if input.as_os_str() == "-" { Path::new("/dev/stdin") } else { input };
    match (fs::metadata(input), fs::metadata(output)) {
        (Ok(a), Ok(b)) => a.is_file() && a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

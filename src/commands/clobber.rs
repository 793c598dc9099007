//! The one check every command that writes makes before it opens anything for writing (`run`,
//! `plot`, `sniff --write-config`, `test --junit` and `--bless`, `state show`): no output may be
//! one of the files the command reads (its inputs, job files, input config, test files and
//! fixtures, state), and no two outputs may be one file or both stdout. Files are compared by
//! device and inode, so every spelling and every link of a file counts; a file not yet there by
//! its folder and name. Each output's `.partial` name, under which it is written until it is
//! complete, is checked like its own name, and so is stdout, whatever the shell redirected it to
//! (`>> input.csv`).

use crate::commands::InputPath;
use crate::output::file::partial_name;
use anyhow::bail;
use std::fs::{self, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A file a command reads: what it is in messages (`the input`, `the job file`, ...), its name
/// there, and its path (`-`: stdin).
pub(crate) struct Read {
    kind: &'static str,
    name: String,
    path: PathBuf,
}

impl Read {
    pub(crate) fn new(kind: &'static str, path: impl Into<PathBuf>) -> Read {
        let path = path.into();
        Read { kind, name: path.display().to_string(), path }
    }

    /// A data input of `run` or `plot`.
    pub(crate) fn input(input: &InputPath) -> Read {
        Read { kind: "the input", name: input.name.clone(), path: PathBuf::from(&input.path) }
    }

    /// Files given on the command line as job files or folders of them.
    pub(crate) fn jobs(paths: &[PathBuf]) -> Vec<Read> {
        crate::job::discover::job_files(paths, &mut Vec::new())
            .into_iter()
            .map(|path| Read::new("the job file", path))
            .collect()
    }
}

/// An output of a command: its flag (or what it is, for stdout: `the report`) and its path, `-`
/// for stdout.
pub(crate) struct Written<'a> {
    flag: &'a str,
    path: &'a Path,
    /// Written under its `.partial` name until complete (a state file is saved aside otherwise).
    partial: bool,
    /// Written to stdout because the flag was not given (`-o` absent).
    implied: bool,
}

impl<'a> Written<'a> {
    /// A file written as `<path>.partial` and renamed when complete, or stdout for `-`.
    pub(crate) fn file(flag: &'a str, path: &'a Path) -> Written<'a> {
        Written { flag, path, partial: true, implied: false }
    }

    /// A file replaced whole by a rename of a temporary file (the state).
    pub(crate) fn replaced(flag: &'a str, path: &'a Path) -> Written<'a> {
        Written { flag, path, partial: false, implied: false }
    }

    /// stdout, written by `what`: a report, or a flag that is absent and defaults to stdout.
    pub(crate) fn stdout(what: &'a str, implied: bool) -> Written<'a> {
        Written { flag: what, path: Path::new("-"), partial: false, implied }
    }

    fn is_stdout(&self) -> bool {
        self.path.as_os_str() == "-"
    }

    fn shown(&self) -> String {
        match (self.is_stdout(), self.implied) {
            (true, true) => format!("stdout (where points go without {})", self.flag),
            (true, false) if self.flag.starts_with('-') => format!("{} - (stdout)", self.flag),
            (true, false) => format!("stdout ({})", self.flag),
            (false, _) => format!("{} {}", self.flag, self.path.display()),
        }
    }
}

/// Refuses outputs that are one of `reads` or that share a file or stdout; says which and why.
pub(crate) fn check(reads: &[Read], writes: &[Written]) -> anyhow::Result<()> {
    for (k, out) in writes.iter().enumerate() {
        if let Some(other) = writes[..k].iter().find(|other| same_target(other, out)) {
            let name = if out.is_stdout() { "stdout".to_string() } else { out.path.display().to_string() };
            let implied = [other, out].into_iter().find(|w| w.implied);
            let hint = implied.map_or_else(String::new, |w| format!(" ({} absent writes to stdout)", w.flag));
            bail!("{} and {} both write to {name}{hint}: give each its own file", other.flag, out.flag);
        }
        let file = match out.is_stdout() {
            true => stdout_file(),
            false => fs::metadata(out.path).ok(),
        };
        if let Some(read) = reads.iter().find(|read| file.as_ref().is_some_and(|f| is_read(read, f))) {
            let remedy = if out.is_stdout() { "redirect stdout to another file" } else { "write to another file" };
            bail!("{} is {}; {remedy}", out.shown(), destroys(read));
        }
        if out.partial && !out.is_stdout() {
            let partial = partial_name(out.path);
            if let Some(read) = reads.iter().find(|read| fs::metadata(&partial).is_ok_and(|f| is_read(read, &f))) {
                bail!(
                    "{} is written as {} until it is complete, and that is {}; write to another file",
                    out.shown(),
                    partial.display(),
                    destroys(read)
                );
            }
        }
    }
    Ok(())
}

/// `the input m.csv: writing it would destroy the input before it is read`.
fn destroys(read: &Read) -> String {
    let when = if read.kind == "the input" { " before it is read" } else { "" };
    format!("{kind} {}: writing it would destroy {kind}{when}", read.name, kind = read.kind)
}

/// Whether `file` (an output's, as found) is the file `read`.
fn is_read(read: &Read, file: &Metadata) -> bool {
    let path = if read.path.as_os_str() == "-" { Path::new("/dev/stdin") } else { read.path.as_path() };
    fs::metadata(path).is_ok_and(|r| r.is_file() && r.dev() == file.dev() && r.ino() == file.ino())
}

/// What stdout was redirected to, when that is a file.
fn stdout_file() -> Option<Metadata> {
    fs::metadata("/dev/stdout").ok().filter(Metadata::is_file)
}

/// Whether two outputs write to one place: both stdout, or one file by any spelling (an existing
/// file by device and inode, a new one by its folder and name).
fn same_target(a: &Written, b: &Written) -> bool {
    match (a.is_stdout(), b.is_stdout()) {
        (true, true) => true,
        (false, false) => {
            if let (Ok(x), Ok(y)) = (fs::metadata(a.path), fs::metadata(b.path)) {
                return x.dev() == y.dev() && x.ino() == y.ino();
            }
            a.path == b.path || place(a.path) == place(b.path)
        }
        _ => false,
    }
}

fn place(path: &Path) -> (Option<PathBuf>, Option<&std::ffi::OsStr>) {
    (fs::canonicalize(crate::output::file::folder(path)).ok(), path.file_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_name_linked_to_an_input_is_refused_and_a_fresh_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("m.csv");
        fs::write(&input, "x\n").unwrap();
        let reads = [Read::new("the input", &input)];
        let out = dir.path().join("out.csv");
        check(&reads, &[Written::file("-o", &out)]).unwrap();
        std::os::unix::fs::symlink(&input, dir.path().join("out.csv.partial")).unwrap();
        let e = check(&reads, &[Written::file("-o", &out)]).unwrap_err().to_string();
        assert!(e.contains("is written as") && e.contains("out.csv.partial") && e.contains("the input"), "{e}");
        // The state is saved aside under another name: its `.partial` name means nothing.
        check(&reads, &[Written::replaced("--state", &out)]).unwrap();
    }

    #[test]
    fn a_state_and_an_output_on_one_file_clash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let e = check(&[], &[Written::file("-o", &path), Written::replaced("--state", &path)]).unwrap_err();
        assert!(e.to_string().starts_with("-o and --state both write to"), "{e}");
    }
}

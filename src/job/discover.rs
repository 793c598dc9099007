//! Finding and reading the files named on the command line: directories expand to their job files
//! (`*.yaml`, `*.yml`) in name order, test files (`*.test.yaml`) apart; a job brings its sibling
//! test file; a file named twice is read once; no file is read past a size limit.

use crate::yaml::diagnostic::Diagnostic;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Job files larger than this are refused unread: a job is a few hundred bytes, and a path such as
/// `/dev/zero` given by mistake must not exhaust memory.
pub(crate) const MAX_JOB_FILE_BYTES: u64 = 1 << 20;

/// Reads a job file, refusing one larger than [`MAX_JOB_FILE_BYTES`].
pub(crate) fn read_limited(file: &Path) -> Result<Vec<u8>, String> {
    read_capped(file, "a job file is a short YAML mapping").map_err(|e| match e {
        Capped::Io(e) => format!("cannot read job file: {e}"),
        Capped::TooLarge(message) => message,
    })
}

/// Why [`read_capped`] read nothing.
pub(crate) enum Capped {
    Io(std::io::Error),
    /// The file is larger than [`MAX_JOB_FILE_BYTES`]: the message says so.
    TooLarge(String),
}

/// Reads `file`, refusing one larger than [`MAX_JOB_FILE_BYTES`] with `why_small`.
pub(crate) fn read_capped(file: &Path, why_small: &str) -> Result<Vec<u8>, Capped> {
    let handle = std::fs::File::open(file).map_err(Capped::Io)?;
    let mut bytes = Vec::new();
    handle.take(MAX_JOB_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(Capped::Io)?;
    if bytes.len() as u64 > MAX_JOB_FILE_BYTES {
        return Err(Capped::TooLarge(format!(
            "the file is larger than {} KiB; {why_small}",
            MAX_JOB_FILE_BYTES / 1024
        )));
    }
    Ok(bytes)
}

/// The job files to load: files first as given; a directory contributes its job files sorted by
/// name.
pub fn job_files(args: &[PathBuf], problems: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for arg in args {
        if !arg.is_dir() {
            files.push(arg.clone());
            continue;
        }
        let Some(entries) = directory_files(arg, "cannot read job directory", problems) else { continue };
        let found: Vec<PathBuf> = entries.into_iter().filter(|p| is_job_file(p)).collect();
        if found.is_empty() {
            let message = "no job files (*.yaml, *.yml) in this directory";
            problems.push(Diagnostic::whole_file(&arg.display().to_string(), message));
        }
        files.extend(found);
    }
    // A file named twice (`jobs/ jobs/a.yaml`) is one job, loaded once, where it first appears.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    files
}

/// The regular files of `dir`, sorted by name. A symbolic link is followed only to a file inside
/// `dir`: a link a pull request adds (`zz.yaml -> ~/.git-credentials`) would otherwise have its
/// target read and quoted in a CI log. Such a link is a problem naming the link, not its target.
fn directory_files(dir: &Path, cannot_read: &str, problems: &mut Vec<Diagnostic>) -> Option<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(Diagnostic::whole_file(&dir.display().to_string(), format!("{cannot_read}: {e}")));
            return None;
        }
    };
    let inside = std::fs::canonicalize(dir).ok();
    let mut found = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let link = entry.file_type().is_ok_and(|t| t.is_symlink());
        if link && (is_job_file(&path) || is_test_file(&path)) {
            let target = std::fs::canonicalize(&path).ok();
            let contained = matches!((&target, &inside), (Some(t), Some(d)) if t.starts_with(d));
            if !contained {
                problems.push(Diagnostic::whole_file(
                    &path.display().to_string(),
                    "a symbolic link to a file outside its directory is not read; name the file itself to use it",
                ));
                continue;
            }
        }
        if path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Some(found)
}

/// The subfolders of the named directories, sorted: job files are read from a named directory
/// only, so `validate` says which folders it did not look into.
pub(crate) fn subfolders(args: &[PathBuf]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = args
        .iter()
        .filter(|a| a.is_dir())
        .filter_map(|a| std::fs::read_dir(a).ok())
        .flat_map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()))
        .collect();
    found.sort();
    found
}

/// The files that may hold tests: every YAML file of a named directory (job and test files, by
/// name), and each named file followed, for a job file, by its sibling test file. A file named
/// twice comes once, where it first appears.
pub fn test_sources(args: &[PathBuf], problems: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut sources: Vec<PathBuf> = Vec::new();
    for arg in args {
        if arg.is_dir() {
            if let Some(entries) = directory_files(arg, "cannot read directory", problems) {
                sources.extend(entries.into_iter().filter(|p| is_job_file(p) || is_test_file(p)));
            }
        } else {
            sources.push(arg.clone());
            if is_job_file(arg) {
                sources.extend(sibling_test_file(arg));
            }
        }
    }
    let mut seen: Vec<PathBuf> = Vec::new();
    sources.retain(|path| {
        let key = path.canonicalize().unwrap_or_else(|_| path.clone());
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    sources
}

/// A YAML file that is not a test file.
pub(crate) fn is_job_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) && !is_test_file(path)
}

/// A job's unit-test file, `<job>.test.yaml` (or `.test.yml`): a directory of jobs holds them too.
pub(crate) fn is_test_file(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".test.yaml") || n.ends_with(".test.yml"))
}

/// `dir/name.test.yaml` (or `.test.yml`) beside `dir/name.yaml`, if it exists.
fn sibling_test_file(job: &Path) -> Option<PathBuf> {
    let stem = job.file_stem()?.to_str()?;
    ["test.yaml", "test.yml"].iter().map(|ext| job.with_file_name(format!("{stem}.{ext}"))).find(|p| p.is_file())
}

/// `dir/name.yaml` (or `.yml`) for `dir/name.test.yaml`.
pub(crate) fn job_beside(test_file: &Path) -> Option<PathBuf> {
    let name = test_file.file_name()?.to_str()?;
    let stem = name.strip_suffix(".test.yaml").or_else(|| name.strip_suffix(".test.yml"))?;
    ["yaml", "yml"].iter().map(|ext| test_file.with_file_name(format!("{stem}.{ext}"))).find(|p| p.is_file())
}

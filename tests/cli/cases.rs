//! Golden cases: one folder per behaviour under `tests/cases/<area>/<name>/` holding the job
//! files, the input, `cmd` (the arguments after `meterflow`, split like a shell does, quotes
//! included; one run per line, in order, for cases of several runs, whose outputs are joined) and
//! the expected `stdout`, `stderr` (when pinned), `status` (when not 0) and `expected/<FILE>` for
//! each file the run writes into the folder (e.g. `--rejects FILE`). Every folder holding a `cmd`
//! is a case, found by walking `tests/cases/`. Each case runs on a copy of its folder in a
//! temporary directory (as `tests/cases/<name>/`, with the repository's `jobs/` at the root, so
//! `../../../jobs` reaches the shipped jobs), so a run never writes into the source tree; a run
//! that outlives [`TIME_LIMIT`] is killed and fails its case (a hang is a bug). Expected data
//! outputs were worked out by hand (each folder's NOTES.md shows how); error messages are the
//! contract they pin.
//!
//! `METERFLOW_CASE=TEXT` runs only the cases whose path contains TEXT. `METERFLOW_BLESS=1`
//! rewrites the expected files from the program's output; only use it for error-message changes
//! that were reviewed line by line.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Far above any run's time even on a loaded machine: reaching it means a hang.
const TIME_LIMIT: Duration = Duration::from_secs(60);

fn cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

/// Every case folder under `dir`, by path.
fn find_cases(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("cmd").is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    for entry in entries {
        find_cases(&entry, out);
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder in the temporary directory");
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let path = entry.expect("an entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("a copied file");
        }
    }
}

/// Runs `meterflow args` in `dir`, killing it at the time limit: (status, stdout, stderr), or
/// `Err` for a hang.
fn run(dir: &Path, args: &[String]) -> Result<(i32, String, String), String> {
    let mut child = crate::support::meterflow()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meterflow starts");
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).expect("read pipe");
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("stdout")));
    let stderr = read(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            child.kill().expect("kill");
            return Err(format!("meterflow {} did not finish within {TIME_LIMIT:?}", args.join(" ")));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let (stdout, stderr) = (stdout.join().expect("stdout thread"), stderr.join().expect("stderr thread"));
    if stderr.contains("panicked") {
        return Err(format!("meterflow {} panicked:\n{stderr}", args.join(" ")));
    }
    Ok((status.code().unwrap_or(-1), stdout, stderr))
}

/// Runs one case, with `extra` after the arguments of each run; `Err` says how it differs.
fn run_case(dir: &Path, extra: &[&str]) -> Result<(), String> {
    let name = dir.strip_prefix(cases_root()).unwrap_or(dir).display().to_string();
    let cmd = std::fs::read_to_string(dir.join("cmd")).map_err(|e| format!("{name}: cannot read cmd: {e}"))?;
    let root = tempfile::tempdir().expect("a temporary directory");
    let work = root.path().join("tests/cases").join(dir.file_name().expect("a case name"));
    copy_tree(dir, &work);
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs"), &root.path().join("jobs"));
    let (mut stdout, mut stderr, mut status) = (String::new(), String::new(), 0);
    for line in cmd.lines().filter(|l| !l.trim().is_empty()) {
        let mut args = shlex::split(line).ok_or_else(|| format!("{name}: cmd has unbalanced quotes"))?;
        args.extend(extra.iter().map(|a| a.to_string()));
        let (code, out, err) = run(&work, &args).map_err(|e| format!("{name}: {e}"))?;
        stdout.push_str(&out);
        stderr.push_str(&err);
        status = code;
    }
    let bless = std::env::var_os("METERFLOW_BLESS").is_some() && extra.is_empty();
    let expected_status: i32 =
        std::fs::read_to_string(dir.join("status")).map_or(0, |s| s.trim().parse().expect("status is a number"));
    let mut problems = Vec::new();
    for (file, actual) in [("stdout", &stdout), ("stderr", &stderr)] {
        let path = dir.join(file);
        if !path.exists() {
            continue;
        }
        if bless {
            std::fs::write(&path, actual.as_bytes()).expect("bless");
            continue;
        }
        let expected = std::fs::read_to_string(&path).expect("expected file");
        if expected != *actual {
            problems.push(format!("{file} differs\n--- expected\n{expected}\n--- actual\n{actual}"));
        }
    }
    let written = dir.join("expected");
    for entry in std::fs::read_dir(&written).into_iter().flatten() {
        let file = entry.expect("expected file").file_name();
        let Ok(actual) = std::fs::read_to_string(work.join(&file)) else {
            problems.push(format!("the run wrote no {file:?}"));
            continue;
        };
        if bless {
            std::fs::write(written.join(&file), actual.as_bytes()).expect("bless");
            continue;
        }
        let expected = std::fs::read_to_string(written.join(&file)).expect("expected file");
        if expected != actual {
            problems.push(format!("{file:?} differs\n--- expected\n{expected}\n--- actual\n{actual}"));
        }
    }
    if status != expected_status {
        problems.push(format!("exit status {status}, expected {expected_status}"));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!("{name}: {}\n--- stderr\n{stderr}", problems.join("\n")))
}

/// Runs `cases` (those whose path contains `METERFLOW_CASE`, when set) on a few threads, with
/// `extra` after each run's arguments; panics listing those that differ.
fn run_cases(cases: Vec<PathBuf>, extra: &[&str]) {
    let only = std::env::var("METERFLOW_CASE").ok();
    let cases: Vec<PathBuf> = cases
        .into_iter()
        .filter(|dir| only.as_deref().is_none_or(|text| dir.display().to_string().contains(text)))
        .collect();
    let queue = Mutex::new(cases.iter());
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, usize::from).clamp(2, 8);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(dir) = { queue.lock().unwrap().next() } {
                    if let Err(e) = run_case(dir, extra) {
                        failures.lock().unwrap().push(e);
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(failures.is_empty(), "{} of {} cases differ:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

#[test]
fn golden_cases() {
    let mut all = Vec::new();
    find_cases(&cases_root(), &mut all);
    assert!(all.len() > 200, "the walk found {} cases", all.len());
    run_cases(all, &[]);
}

/// Every case of a run `--shards` takes (file input, no `--state`, no `global` watermark, no
/// limit counted over all assets) gives the same bytes, messages and exit status on 3 shards as
/// the hand-worked expectation of one pipeline.
#[test]
fn golden_cases_on_three_shards() {
    let refused =
        ["--state", "global", "--max-open", "--max-merge-series", "--idle-timeout", "--follow", " - ", "--shards"];
    let sharded = |dir: &PathBuf| {
        let cmd = std::fs::read_to_string(dir.join("cmd")).unwrap_or_default();
        let lines: Vec<&str> = cmd.lines().filter(|l| !l.trim().is_empty()).collect();
        !lines.is_empty()
            && lines.iter().all(|line| {
                line.starts_with("run ")
                    && (line.contains("--input ") || line.contains("-i "))
                    && !refused.iter().any(|flag| line.contains(flag))
            })
    };
    let mut all = Vec::new();
    find_cases(&cases_root(), &mut all);
    let cases: Vec<PathBuf> = all.into_iter().filter(sharded).collect();
    assert!(cases.len() > 100, "{} cases run sharded", cases.len());
    run_cases(cases, &["--shards", "3"]);
}

/// A folder under `tests/cases/` that holds files but no `cmd` would silently never run.
#[test]
fn every_case_folder_has_a_cmd() {
    fn check(dir: &Path, stray: &mut Vec<String>) {
        if dir.join("cmd").is_file() {
            return;
        }
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                check(&path, stray);
            } else {
                stray.push(path.display().to_string());
            }
        }
    }
    let mut stray = Vec::new();
    check(&cases_root(), &mut stray);
    assert!(stray.is_empty(), "files outside any case folder (a folder without `cmd`): {stray:?}");
}

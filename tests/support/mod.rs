//! What the integration tests share: the binary under test, run from the repository's root, and
//! the small helpers every test binary was writing for itself.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The `meterflow` binary, run in the repository's root (so `jobs/` and `samples/` resolve).
pub fn meterflow() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meterflow"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// Starts `cmd` with its stdin, stdout and stderr on pipes.
pub fn spawn_piped(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Runs `cmd` with `stdin` as its input and collects its output.
pub fn with_stdin(cmd: &mut Command, stdin: impl AsRef<[u8]>) -> Output {
    let mut child = spawn_piped(cmd);
    // A run refused before it reads its input closes stdin early: the write may fail then.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_ref());
    child.wait_with_output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn stderr(out: &Output) -> String {
    text(&out.stderr)
}

/// An empty folder of this name under cargo's temporary folder for tests.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a run wrote: exit status, points, late rows, `--stats-json` and stderr.
#[derive(Debug, PartialEq)]
pub struct Written {
    pub status: i32,
    pub points: String,
    pub late: String,
    pub stats: String,
    pub stderr: String,
}

/// Runs `meterflow` with `args` in `dir`, writing its points as `format` (late rows as JSON lines
/// for `jsonl`, CSV otherwise) and `--stats-json` to files named after `tag`, and reads them back
/// (a Parquet file's points are left to be read from `{tag}.parquet`).
pub fn run_written(dir: &Path, args: &[&str], tag: &str, format: &str) -> Written {
    let late_format = if format == "jsonl" { "jsonl" } else { "csv" };
    let (points, late, stats) = (format!("{tag}.{format}"), format!("{tag}.late.{late_format}"), format!("{tag}.json"));
    let out = meterflow()
        .current_dir(dir)
        .args(args)
        .args(["--format", format, "-o", &points, "--late-output", &late, "--stats-json", &stats])
        .output()
        .unwrap();
    let read = |name: &str| match format {
        "parquet" if *name == points => String::new(),
        _ => std::fs::read_to_string(dir.join(name)).unwrap_or_default(),
    };
    Written {
        status: out.status.code().unwrap_or(-1),
        points: read(&points),
        late: read(&late),
        stats: read(&stats),
        stderr: text(&out.stderr),
    }
}

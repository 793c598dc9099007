//! What the integration tests share: the binary under test, run from the repository's root, and
//! the small helpers every test binary was writing for itself.

use std::io::Write;
use std::path::PathBuf;
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

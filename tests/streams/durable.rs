//! A run under `--state` syncs its outputs to disk before the state that says they were written:
//! the state is synced itself, so after a power loss it could otherwise be on disk while an output
//! is short or empty under its own name, and the next run would refuse the input as already read.
//! Seen through `strace` (the test is skipped without it, and fails without it under
//! `MF_REQUIRE_STRACE=1`, as CI runs it): each output's data is synced before it
//! takes its name, and the folder after, all before the state's temporary file takes the state's.

use std::process::Command;

use crate::support::meterflow;

const JOB: &str = "name: cnt\nmodel: x\ntemplate: time_window_aggregation\nlatency: 0s\npolicies:\n  - input: \
                   Reading\n    aggregation: cnt\n    window_size: 1s\n    output: Cnt\n";

/// Says the test is skipped, or fails it where CI requires strace.
fn skip(why: &str) {
    assert!(std::env::var_os("MF_REQUIRE_STRACE").is_none(), "MF_REQUIRE_STRACE is set: {why}");
    eprintln!("SKIPPED: {why}");
}

#[test]
fn outputs_reach_the_disk_before_the_state_that_counts_them() {
    if Command::new("strace").arg("-V").output().is_err() {
        skip("strace not found; install strace to check the order of syncs and renames");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("job.yaml"), JOB).unwrap();
    let rows: String = (0..100).map(|i| format!("{},m1,Reading,1\n", 1_700_000_000_000u64 + i * 1000)).collect();
    std::fs::write(dir.path().join("in.csv"), format!("timestamp,asset,point,value\n{rows}")).unwrap();
    let bin = meterflow().get_program().to_owned();
    let out = Command::new("strace")
        .current_dir(dir.path())
        .args(["-f", "-y", "-o", "trace.txt", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2"])
        .arg(bin)
        .args(["run", "job.yaml", "-q", "-i", "in.csv", "-o", "out.csv", "--late-output", "late.csv"])
        .args(["--state", "s.state"])
        .output()
        .unwrap();
    let trace = std::fs::read_to_string(dir.path().join("trace.txt")).unwrap_or_default();
    if !out.status.success() && trace.is_empty() {
        skip(&format!("strace cannot trace here: {}", String::from_utf8_lossy(&out.stderr)));
        return;
    }
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let folder = dir.path().canonicalize().unwrap().display().to_string();
    let lines: Vec<&str> = trace.lines().collect();
    // The first line from `from` on holding every one of `parts`.
    let at = |from: usize, parts: &[&str]| {
        (from..lines.len())
            .find(|&i| parts.iter().all(|part| lines[i].contains(part)))
            .unwrap_or_else(|| panic!("no line with {parts:?} after line {from} of the trace:\n{trace}"))
    };
    let state_named = at(0, &["\"s.state\")"]);
    for name in ["out.csv", "late.csv"] {
        let synced = at(0, &["fsync(", &format!("/{name}.partial>)")]);
        let renamed = at(0, &[&format!("\"{name}.partial\", \"{name}\"")]);
        assert!(synced < renamed, "{name} took its name before its data was synced:\n{trace}");
        let folder_synced = at(renamed, &["fsync(", &format!("<{folder}>)")]);
        assert!(folder_synced < state_named, "{name}'s new name was not synced before the state's:\n{trace}");
    }
}

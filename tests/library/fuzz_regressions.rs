//! Replays the kept fuzz inputs (`tests/fuzz_regressions/<target>/`) and the fuzz seeds
//! (`fuzz/seeds/<target>/`) through the checks of `fuzz/harness.rs`, so every crash the fuzzers
//! found stays fixed in `cargo test`, also where cargo-fuzz is not installed.

#[path = "../../fuzz/harness.rs"]
mod harness;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// A fuzz target's check of one input.
type Check = fn(&[u8]);

const CHECKS: [(&str, Check); 11] = [
    ("csv_input", harness::csv_input),
    ("time_format", harness::time_format),
    ("timestamp", harness::timestamp),
    ("duration", harness::duration),
    ("threshold", harness::threshold),
    ("job_loader", harness::job_loader),
    ("expression", harness::expression),
    ("replay", harness::replay),
    ("job_directory", harness::job_directory),
    ("state_decoder", harness::state_decoder),
    ("influx_encoder", harness::influx_encoder),
];

/// Runs every file of every target folder under `root`; returns how many ran and the failures.
fn replay_folder(root: &Path) -> (usize, Vec<String>) {
    let (mut ran, mut failures) = (0, Vec::new());
    for entry in std::fs::read_dir(root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
        let dir = entry.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        let target = dir.file_name().and_then(|n| n.to_str()).expect("folder name");
        let check = CHECKS
            .iter()
            .find(|(name, _)| *name == target)
            .unwrap_or_else(|| panic!("{}: no fuzz target of that name", dir.display()))
            .1;
        for file in std::fs::read_dir(&dir).expect("target folder") {
            let path = file.expect("entry").path();
            let bytes = std::fs::read(&path).expect("input");
            ran += 1;
            if catch_unwind(AssertUnwindSafe(|| check(&bytes))).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    (ran, failures)
}

#[test]
fn kept_crash_inputs_pass_their_checks() {
    let (ran, failures) = replay_folder(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions"));
    assert!(ran > 0);
    assert!(failures.is_empty(), "inputs failing their check: {failures:?}");
}

#[test]
fn fuzz_seeds_pass_their_checks() {
    let (ran, failures) = replay_folder(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds"));
    assert!(ran > 0);
    assert!(failures.is_empty(), "seeds failing their check: {failures:?}");
}

//! Golden cases: one folder per behaviour under `tests/cases/<name>/` holding the job files, the
//! input, `cmd` (the arguments after `meterflow`, run in the folder) and the expected `stdout`,
//! `stderr` (when pinned) and `status` (when not 0). Expected data outputs were worked out by hand
//! from the spec (each folder's NOTES.md shows how); error messages are the contract they pin.
//!
//! `METERFLOW_BLESS=1 cargo test --test cases` rewrites the expected files from the program's
//! output; only use it for error-message changes that were reviewed line by line.

use std::path::{Path, PathBuf};
use std::process::Command;

fn case_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(name)
}

fn run_case(name: &str) {
    let dir = case_dir(name);
    let cmd = std::fs::read_to_string(dir.join("cmd")).unwrap_or_else(|e| panic!("{name}: cannot read cmd: {e}"));
    let output = Command::new(env!("CARGO_BIN_EXE_meterflow"))
        .args(cmd.split_whitespace())
        .current_dir(&dir)
        .output()
        .expect("meterflow runs");
    let bless = std::env::var_os("METERFLOW_BLESS").is_some();
    let status = output.status.code().unwrap_or(-1);
    let expected_status: i32 = std::fs::read_to_string(dir.join("status")).map_or(0, |s| s.trim().parse().expect("status is a number"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
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
        assert!(
            expected == **actual,
            "{name}: {file} differs\n--- expected\n{expected}\n--- actual\n{actual}\n--- stderr\n{stderr}"
        );
    }
    assert_eq!(status, expected_status, "{name}: exit status\n--- stderr\n{stderr}");
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run_case(stringify!($name));
            }
        )*

        /// A folder without a test line here would silently never run.
        #[test]
        fn every_case_folder_has_a_test() {
            let listed = [$(stringify!($name)),*];
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
            for entry in std::fs::read_dir(root).unwrap() {
                let name = entry.unwrap().file_name().into_string().unwrap();
                assert!(listed.contains(&name.as_str()), "tests/cases/{name} has no line in the cases! list of tests/cases.rs");
            }
        }
    };
}

cases! {
    window_half_open_boundaries,
    window_threshold_closed_open,
    window_threshold_open_closed,
    window_threshold_closed_closed,
    window_threshold_open_open,
    window_threshold_closed_posinf,
    window_threshold_open_posinf,
    window_threshold_neginf_open,
    window_threshold_neginf_closed,
    window_threshold_neginf_posinf,
    window_threshold_none,
    window_threshold_infinity_sign,
    window_threshold_unsigned_inf,
    window_agg_max,
    window_agg_min,
    window_agg_avg,
    window_agg_avg_float,
    window_agg_sum,
    window_agg_cnt,
    window_latency_figure_5m,
    window_latency_figure_0s,
    window_late_beyond_lateness,
    window_created_by_late_reading,
    window_two_meters_one_day_behind,
    window_epoch_ms_input,
    window_several_policies_sizes,
    window_offset_timestamps,
    window_pre_1970,
    pipeline_seed,
    pipeline_seed_threads,
    pipeline_window_to_window,
    merge_point_trigger,
    merge_missing_operand,
    merge_if_else_string,
    merge_division_by_zero,
    merge_stale_operand,
    merge_last_arrival_wins,
    merge_frequency_ticks_alignment,
    merge_operands_as_floats,
    error_unknown_field,
    error_bad_duration,
    error_bad_threshold,
    error_unknown_aggregation,
    error_all_problems_together,
    error_malformed_csv_row,
    error_wrong_field_count,
    error_bad_timestamp,
    error_cycle,
    error_expression_syntax,
    error_trigger_is_output,
    error_duplicate_output,
    validate_seed_jobs,
}

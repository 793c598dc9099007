//! Golden cases: one folder per behaviour under `tests/cases/<name>/` holding the job files, the
//! input, `cmd` (the arguments after `meterflow`, split like a shell does, quotes included; one run
//! per line, in order, for cases of several runs, whose outputs are joined) and the expected `stdout`, `stderr` (when pinned), `status` (when not 0) and `expected/<FILE>` for each
//! file the run writes into the folder (e.g. `--rejects FILE`). Each case runs on a copy of its
//! folder in a temporary directory (laid out as in the repository, with the repository's `jobs/`
//! beside it for the cases that read the shipped jobs), so a run never writes into the source tree.
//! Expected data outputs were worked out by hand from the spec (each folder's NOTES.md shows how);
//! error messages are the contract they pin.
//!
//! `METERFLOW_BLESS=1 cargo test --test cases` rewrites the expected files from the program's
//! output; only use it for error-message changes that were reviewed line by line.

use std::path::{Path, PathBuf};
use std::process::Command;

fn case_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(name)
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

fn run_case(name: &str) {
    let dir = case_dir(name);
    let cmd = std::fs::read_to_string(dir.join("cmd")).unwrap_or_else(|e| panic!("{name}: cannot read cmd: {e}"));
    let root = tempfile::tempdir().expect("a temporary directory");
    let work = root.path().join("tests/cases").join(name);
    copy_tree(&dir, &work);
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs"), &root.path().join("jobs"));
    let (mut stdout, mut stderr, mut status) = (String::new(), String::new(), 0);
    for line in cmd.lines().filter(|l| !l.trim().is_empty()) {
        let args = shlex::split(line).unwrap_or_else(|| panic!("{name}: cmd has unbalanced quotes"));
        let output = Command::new(env!("CARGO_BIN_EXE_meterflow"))
            .args(&args)
            .current_dir(&work)
            .output()
            .expect("meterflow runs");
        stdout.push_str(&String::from_utf8_lossy(&output.stdout));
        stderr.push_str(&String::from_utf8_lossy(&output.stderr));
        status = output.status.code().unwrap_or(-1);
    }
    let bless = std::env::var_os("METERFLOW_BLESS").is_some();
    let expected_status: i32 =
        std::fs::read_to_string(dir.join("status")).map_or(0, |s| s.trim().parse().expect("status is a number"));
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
            expected == *actual,
            "{name}: {file} differs\n--- expected\n{expected}\n--- actual\n{actual}\n--- stderr\n{stderr}"
        );
    }
    let written = dir.join("expected");
    for entry in std::fs::read_dir(&written).into_iter().flatten() {
        let file = entry.expect("expected file").file_name();
        let actual = std::fs::read_to_string(work.join(&file))
            .unwrap_or_else(|e| panic!("{name}: the run wrote no {file:?}: {e}"));
        if bless {
            std::fs::write(written.join(&file), actual.as_bytes()).expect("bless");
            continue;
        }
        let expected = std::fs::read_to_string(written.join(&file)).expect("expected file");
        assert!(expected == actual, "{name}: {file:?} differs\n--- expected\n{expected}\n--- actual\n{actual}");
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
    state_daily_replay,
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
    window_calendar_months,
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
    window_offset_gas_day,
    window_pre_1970,
    window_agg_first,
    window_agg_last,
    window_agg_range,
    window_agg_delta,
    window_agg_delta_counter_reset,
    window_interpolation_last_value,
    window_sliding_every_containing_window,
    window_sliding_partial_late,
    window_sliding_partial_late_output,
    window_sliding_updates,
    window_timezone_dublin_23h_day,
    window_timezone_dublin_25h_day,
    window_timezone_local_6h,
    window_timezone_local_hours,
    window_timezone_sliding_days,
    pipeline_seed,
    pipeline_window_to_window,
    merge_point_trigger,
    merge_timezone_local_days,
    merge_missing_operand,
    merge_if_else_string,
    merge_division_by_zero,
    merge_ticks_follow_earliest_operand,
    merge_ticks_end_at_watermark,
    merge_max_age_gap,
    merge_stale_operand,
    merge_last_arrival_wins,
    merge_frequency_ticks_alignment,
    merge_operands_as_floats,
    merge_late_operand_two_policies,
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
    error_bad_slide,
    error_bad_timezone,
    error_max_age_zero,
    validate_seed_jobs,
    summary_pipeline_seed,
    summary_merge_skips,
    updates_latency_figure_5m,
    updates_late_no_change,
    updates_window_created_late,
    updates_merge_reemission,
    updates_equals_final,
    updates_equals_final_final_mode,
    late_output_contents,
    scope_series,
    scope_asset,
    scope_global,
    skew_future_reading,
    skew_without_guard,
    sniff_interval_end_from_data,
    skew_cli_flag,
    skew_outage_and_glitch,
    skew_cli_overrides_job,
    stats_json_seed,
    input_model_column,
    input_bad_rows_rejects,
    input_delimiter_semicolon_detected,
    input_delimiter_tab_bom_quoted,
    input_dst_ambiguous_reject,
    input_dst_fall_back_earlier,
    input_dst_fall_back_later,
    input_dst_fall_back_infer,
    input_dst_infer_undecided,
    input_dst_nonexistent_reject,
    input_dst_spring_forward_shift,
    input_epoch_seconds,
    input_error_asset_over_column,
    input_error_bad_time_format,
    input_error_column_two_roles,
    input_error_epoch_seconds_digits,
    input_error_marker_not_listed,
    input_error_point_over_column,
    input_error_two_column_date,
    input_error_unknown_column,
    input_gzip,
    input_interval_end,
    input_gzip_magic_bytes,
    input_late_warning_suggests_sort,
    input_long_constant_point,
    input_null_markers_custom,
    input_null_markers_default,
    input_two_column_dmy,
    input_wide_points_rename,
    input_zstd,
    input_zstd_magic_bytes,
    validate_window_options,
    validate_broken_files_sorted,
    validate_json,
    validate_json_pipeline,
    validate_json_valid,
    validate_merge_grid_mismatch,
    test_pass,
    test_fail,
    test_file_errors,
    explain_seed_jobs,
    explain_dag_order,
    explain_months_offset,
    quality_filter,
    quality_column_unused,
    warn_point_never_seen,
    warn_job_wrote_nothing,
    warn_late_far_ahead,
    warn_series_late_one_meter,
    explain_sliding_local_last_value,
    run_progress_not_a_terminal,
    test_job_errors,
    test_no_tests,
    skew_merge_counted_once,
    jobs_named_twice_load_once,
    threshold_before_lateness,
}

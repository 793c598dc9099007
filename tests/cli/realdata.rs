//! The four real meter exports (not in the repository: `../shared/realdata` beside the clone, or
//! the folder `METERFLOW_REALDATA` names): on each, `sniff` with the jobs (and what the file cannot
//! say: a time zone, an asset name, a point no column name hints at) writes an input-config file,
//! and `run` with that file alone gives output byte-identical to the README's recipe flags. When
//! the folder is absent each test says so loudly on stderr and passes.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

/// The flags that read the OPSD household file, as its recipe in docs/guides/input.md gives them.
const OPSD_FLAGS: &[&str] = &[
    "--wide",
    "--asset",
    "DE_KN_residential4",
    "--time-column",
    "utc_timestamp",
    "--points",
    "DE_KN_residential4_grid_import=GridImport,DE_KN_residential4_pv=PV",
];

fn realdata() -> Option<PathBuf> {
    let dir = match std::env::var_os("METERFLOW_REALDATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/realdata"),
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        // Written past the test harness's capture, so it shows even though the test passes.
        let _ = writeln!(
            std::io::stderr(),
            "\n!!! SKIPPED: real meter data not found at {} (set METERFLOW_REALDATA to the folder) !!!\n",
            dir.display()
        );
        None
    }
}

fn meterflow(args: &[&str]) -> (i32, String, String) {
    let out = crate::support::meterflow().current_dir(env!("CARGO_MANIFEST_DIR")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// Sniffs `file` with `sniff_args`, runs `jobs` with the written config and with the README's
/// `recipe` flags, and compares.
fn check(file: &str, jobs: &[&str], sniff_args: &[&str], recipe: &[&str]) {
    let Some(dir) = realdata() else { return };
    let input = dir.join(file);
    let input = input.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("input.yaml");
    let mut args = vec!["sniff", input, "--write-config", config.to_str().unwrap()];
    for job in jobs {
        args.extend(["--jobs", job]);
    }
    args.extend(sniff_args);
    let (status, report, stderr) = meterflow(&args);
    assert_eq!(status, 0, "{report}{stderr}");

    let mut by_config = vec!["run"];
    by_config.extend(jobs);
    by_config.extend(["--input", input, "--input-config", config.to_str().unwrap(), "-q"]);
    let (status, from_config, stderr) = meterflow(&by_config);
    assert_eq!(status, 0, "{stderr}\n{report}");

    let mut by_flags = vec!["run"];
    by_flags.extend(jobs);
    by_flags.extend(["--input", input, "-q"]);
    by_flags.extend(recipe);
    let (status, from_flags, stderr) = meterflow(&by_flags);
    assert_eq!(status, 0, "{stderr}");
    assert!(from_flags.lines().count() > 100, "the recipe gives output:\n{from_flags}");
    assert!(from_config == from_flags, "sniff's settings differ from the recipe's output\n{report}");
}

/// The README's ESB jobs: hourly and local-day energy and net.
const ESB_JOBS: [&str; 4] = [
    "jobs/realdata/esb_hourly.yaml",
    "jobs/realdata/esb_net.yaml",
    "jobs/realdata/esb_daily.yaml",
    "jobs/realdata/esb_daily_net.yaml",
];

/// The README's flags for the ESB file.
const ESB_RECIPE: [&str; 19] = [
    "--asset-column",
    "MPRN",
    "--time-column",
    "Read Date and End Time",
    "--point-column",
    "Read Type",
    "--value-column",
    "Read Value",
    "--points",
    "Active Import Interval (kWh)=Import,Active Export Interval (kWh)=Export",
    "--time-format",
    "%d-%m-%Y %H:%M",
    "--timezone",
    "Europe/Dublin",
    "--dst",
    "ambiguous=infer",
    "--interval-end",
    "30m",
    "--sort-input",
];

#[test]
fn esb_long_newest_first_local_time() {
    check("esb_ie_HDF_EXAMPLE.csv", &ESB_JOBS, &["--timezone", "Europe/Dublin"], &ESB_RECIPE);
}

/// The daily net of the ESB recipe has a row for every local day on which both series have
/// readings, equal to an independent computation (tests/realdata/esb_daily_net.py, Python's
/// zoneinfo) that tells the repeated hour apart by its own rule and assigns each half hour to the
/// local day it starts in.
#[test]
fn esb_daily_net_matches_an_independent_computation() {
    let Some(dir) = realdata() else { return };
    let input = dir.join("esb_ie_HDF_EXAMPLE.csv");
    let input = input.to_str().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/realdata/esb_daily_net.py");
    let python = match Command::new("python3").arg(script).arg(input).output() {
        Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap(),
        other => {
            let _ = writeln!(std::io::stderr(), "\n!!! SKIPPED: python3 could not run {script}: {other:?} !!!\n");
            return;
        }
    };
    let mut args = vec!["run"];
    args.extend(ESB_JOBS);
    args.extend(["--input", input, "-q"]);
    args.extend(ESB_RECIPE);
    let (status, output, stderr) = meterflow(&args);
    assert_eq!(status, 0, "{stderr}");
    let rows = |text: &str| -> Vec<(String, f64)> {
        text.lines()
            .filter(|l| l.contains(",NetKWh1d,"))
            .map(|l| {
                let fields: Vec<&str> = l.split(',').collect();
                (format!("{},{}", fields[0], fields[1]), fields[3].parse().unwrap())
            })
            .collect()
    };
    let (ours, theirs) = (rows(&output), rows(&python));
    assert!(theirs.len() > 400, "the script found {} days", theirs.len());
    assert_eq!(ours.iter().map(|r| &r.0).collect::<Vec<_>>(), theirs.iter().map(|r| &r.0).collect::<Vec<_>>());
    for ((day, a), (_, b)) in ours.iter().zip(&theirs) {
        assert!((a - b).abs() < 1e-9, "{day}: meterflow {a}, Python {b}");
    }
    // The last local day of the export, 4 October 2024 (two half hours), has its row.
    assert_eq!(ours.last().map(|r| r.0.as_str()), Some("2024-10-03T23:00:00.000Z,XXXX"));
}

#[test]
fn uci_semicolons_date_and_time_columns() {
    // No column name says "Reading", the point the seed jobs read: the user names it (and the asset).
    check(
        "uci_household_power_consumption_first3MiB.txt",
        &["jobs/"],
        &["--asset", "sceaux", "--points", "Global_active_power=Reading"],
        &[
            "--wide",
            "--asset",
            "sceaux",
            "--time-column",
            "Date,Time",
            "--time-format",
            "%d/%m/%Y %H:%M:%S",
            "--points",
            "Global_active_power=Reading",
        ],
    );
}

#[test]
fn opsd_wide_registers_with_empty_cells() {
    check(
        "opsd_household_data_60min_singleindex_residential4.csv",
        &["jobs/realdata/opsd_daily.yaml", "jobs/realdata/opsd_daily_use.yaml"],
        &[],
        OPSD_FLAGS,
    );
}

#[test]
fn lcl_one_point_wide_with_padded_values() {
    check(
        "lcl_MAC000079.csv",
        &["jobs/realdata/lcl_daily.yaml"],
        &[],
        &["--wide", "--asset-column", "LCLid", "--time-column", "tstp", "--points", "energy(kWh/hh)=Energy"],
    );
}

/// The input configs committed beside the real-data jobs read each file as the README's flags do.
#[test]
fn committed_input_configs_match_the_recipes() {
    let Some(dir) = realdata() else { return };
    let cases: [(&str, &str, &[&str], &[&str]); 3] = [
        ("esb_ie_HDF_EXAMPLE.csv", "jobs/realdata/inputs/esb.yaml", &ESB_JOBS, &ESB_RECIPE),
        (
            "lcl_MAC000079.csv",
            "jobs/realdata/inputs/lcl.yaml",
            &["jobs/realdata/lcl_daily.yaml"],
            &["--wide", "--asset-column", "LCLid", "--time-column", "tstp", "--points", "energy(kWh/hh)=Energy"],
        ),
        (
            "opsd_household_data_60min_singleindex_residential4.csv",
            "jobs/realdata/inputs/opsd.yaml",
            &["jobs/realdata/opsd_daily.yaml", "jobs/realdata/opsd_daily_use.yaml"],
            OPSD_FLAGS,
        ),
    ];
    for (file, config, jobs, recipe) in cases {
        let input = dir.join(file);
        let input = input.to_str().unwrap();
        let mut by_config: Vec<&str> = vec!["run"];
        by_config.extend(jobs);
        by_config.extend(["--input", input, "-q", "--input-config", config]);
        let mut by_flags: Vec<&str> = vec!["run"];
        by_flags.extend(jobs);
        by_flags.extend(["--input", input, "-q"]);
        by_flags.extend(recipe);
        let (a, b) = (meterflow(&by_config), meterflow(&by_flags));
        assert_eq!((a.0, b.0), (0, 0), "{file}: {}{}", a.2, b.2);
        assert!(a.1 == b.1 && a.1.lines().count() > 100, "{file}: the committed config reads as the recipe");
    }
}

//! `meterflow sniff` on small files made here, each with a quirk of a real export (newest-first
//! long rows in local time, `;` with separate unpadded date and time and `?` markers, a wide file
//! with two timestamp columns and empty cells, a one-point file with padded values), compressed
//! and on stdin; and `--input-config`: located problems, flags winning, output identical to flags.

use serde_json::Value;
use std::io::Write;
use std::path::Path;

fn meterflow(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let out = crate::support::with_stdin(crate::support::meterflow().args(args), stdin.unwrap_or_default());
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn sniff_json(path: &str, extra: &[&str], stdin: Option<&[u8]>) -> Value {
    let mut args = vec!["sniff", path, "--format", "json"];
    args.extend(extra);
    let (status, out, err) = meterflow(&args, stdin);
    assert_eq!(status, 0, "{out}{err}");
    let all: Value = serde_json::from_str(&out).unwrap();
    all[0].clone()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

const ESB_LIKE: &str = "MPRN,Meter Serial Number,Read Value,Read Type,Read Date and End Time\r\n\
    X1,S1,0.0000,Active Export Interval (kWh),14-10-2024 01:00\r\n\
    X1,S1,0.1610,Active Import Interval (kWh),14-10-2024 01:00\r\n\
    X1,S1,0.2380,Active Import Interval (kWh),14-10-2024 00:30\r\n\
    X1,S1,0.0100,Active Export Interval (kWh),14-10-2024 00:30\r\n";

#[test]
fn long_newest_first_local_time_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "hdf.csv.gz", &gzip(ESB_LIKE));
    let s = sniff_json(&path, &["--jobs", "jobs/realdata/esb_hourly.yaml", "--timezone", "Europe/Dublin"], None);
    assert_eq!(s["dialect"], serde_json::json!({"delimiter": ",", "quoted": false, "line_ends": "CRLF", "bom": false}));
    assert_eq!(s["layout"], "long");
    assert_eq!(s["order"], "descending");
    let roles: Vec<&str> = s["columns"].as_array().unwrap().iter().map(|c| c["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["asset", "unused", "value", "point", "timestamp"]);
    assert_eq!(s["timestamp"]["time_format"], "%d-%m-%Y %H:%M");
    assert_eq!(s["timestamp"]["day_month_ambiguous"], false);
    let flags: Vec<&str> = s["flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert_eq!(
        flags,
        [
            "--time-column",
            "'Read Date and End Time'",
            "--asset-column",
            "MPRN",
            "--point-column",
            "'Read Type'",
            "--value-column",
            "'Read Value'",
            "--points",
            "'Active Export Interval (kWh)=Export,Active Import Interval (kWh)=Import'",
            "--time-format",
            "'%d-%m-%Y %H:%M'",
            "--timezone",
            "Europe/Dublin",
            "--dst",
            "ambiguous=infer",
            "--interval-end",
            "30m",
            "--sort-input",
        ]
    );
    // 14 October 2024 is summer time in Dublin (UTC+1): the half hour ending 01:00 local starts
    // at 00:30 local, 23:30 UTC (the header names the end time; the rows step by 30 minutes).
    assert_eq!(
        s["readings"][0],
        serde_json::json!({"timestamp": "2024-10-13T23:30:00.000Z", "asset": "X1", "point": "Export", "value": 0.0})
    );
    assert_eq!(s["readings"][2]["timestamp"], "2024-10-13T23:00:00.000Z");
    assert_eq!(s["readings_in_sample"], 4);
}

#[test]
fn semicolons_date_and_time_columns_and_markers_on_stdin() {
    let text = "Date;Time;Global_active_power;Voltage;Sub_metering_3\r\n\
                16/12/2006;17:24:00;4.216;234.840;17.000\r\n\
                16/12/2006;17:25:00;?;?;\r\n\
                8/1/2007;0:00:00;2.580;233.1;1.000\r\n";
    let s = sniff_json("-", &[], Some(text.as_bytes()));
    assert_eq!(s["file"], "<stdin>");
    assert_eq!(s["dialect"]["delimiter"], ";");
    assert_eq!(s["layout"], "wide");
    assert_eq!(s["timestamp"]["columns"], serde_json::json!(["Date", "Time"]));
    assert_eq!(s["timestamp"]["time_format"], "%d/%m/%Y %H:%M:%S");
    assert_eq!(s["missing_markers"], serde_json::json!(["(empty) (1)", "? (2)"]));
    // No asset column and no shared prefix: the asset is a constant, named after stdin's default.
    let config = s["input_config"].as_str().unwrap();
    assert_eq!(
        config,
        "wide: true\ntime_column: \"Date,Time\"\nasset: \"meter\"\ntime_format: \"%d/%m/%Y %H:%M:%S\"\n"
    );
    // Two cells of row 2 are `?` and one empty: 3 + 0 + 3 readings.
    assert_eq!(s["readings_in_sample"], 6);
    assert_eq!(s["readings"][3]["timestamp"], "2007-01-08T00:00:00.000Z");
}

#[test]
fn wide_with_two_timestamps_a_shared_prefix_and_empty_cells_zstd() {
    let text = "utc_timestamp,cet_cest_timestamp,H4_grid_import,H4_pv,interpolated_values\r\n\
                2015-10-04T01:00:00Z,2015-10-04T03:00:00+0200,,0.5,\r\n\
                2015-10-04T02:00:00Z,2015-10-04T04:00:00+0200,1.25,0.75,H4_grid_import\r\n";
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "opsd.csv.zst", &zstd::encode_all(text.as_bytes(), 3).unwrap());
    let s = sniff_json(&path, &[], None);
    let roles: Vec<&str> = s["columns"].as_array().unwrap().iter().map(|c| c["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["timestamp", "unused", "point (wide)", "point (wide)", "unused"]);
    assert_eq!(s["timestamp"]["has_offset"], true);
    assert_eq!(
        s["input_config"],
        "wide: true\ntime_column: \"utc_timestamp\"\nasset: \"H4\"\npoints: \"H4_grid_import=grid_import,H4_pv=pv\"\n"
    );
    let points: Vec<&str> = s["readings"].as_array().unwrap().iter().map(|r| r["point"].as_str().unwrap()).collect();
    assert_eq!(points, ["pv", "grid_import", "pv"]);
}

#[test]
fn ambiguous_day_and_month_and_an_unreadable_head_are_said() {
    let (status, out, _) =
        meterflow(&["sniff", "-"], Some(b"ts,meter,kWh\n04-10-2024 01:00,m1,1\n05-10-2024 01:00,m1,2\n"));
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("note: no date in the sample has a day above 12, so day and month order cannot be told apart: day first was assumed (%d-%m-%Y %H:%M)"), "{out}");
    assert!(out.contains("--wide --time-column ts --asset-column meter --time-format '%d-%m-%Y %H:%M'"), "{out}");
    let (status, out, _) = meterflow(&["sniff", "-"], Some(b"a,b\nx,1\ny,2\n"));
    assert_eq!(status, 1, "{out}");
    assert!(out.contains("note: no column reads as a timestamp: name it with --time-column"), "{out}");
}

/// Daily sum and max over a one-point file with padded values, read through sniff's config:
/// 0.5 + 1.5 on 2013-01-01, 2.25 on 2013-01-02.
#[test]
fn a_sniffed_config_runs_like_the_flags_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let input =
        write(dir.path(), "lcl.csv", b"LCLid,tstp,energy(kWh/hh)\nMAC1,2013-01-01 00:00:00, 0.5 \nMAC1,2013-01-01 00:30:00, 1.5 \nMAC1,2013-01-02 00:00:00, 2.25 \n");
    let config = dir.path().join("in.yaml");
    let config = config.to_str().unwrap();
    let job = write(dir.path(), "daily.yaml", crate::basics::LCL_DAILY_ANY_COVERAGE.as_bytes());
    let job = job.as_str();
    let (status, out, err) = meterflow(&["sniff", &input, "--jobs", job, "--write-config", config], None);
    assert_eq!(status, 0, "{out}{err}");
    assert_eq!(
        std::fs::read_to_string(config).unwrap(),
        "wide: true\ntime_column: \"tstp\"\nasset_column: \"LCLid\"\npoints: \"energy(kWh/hh)=Energy\"\n"
    );
    let expected = "timestamp,asset,point,value\n\
                    2013-01-01T00:00:00.000Z,MAC1,EnergyKWh1d,2\n\
                    2013-01-01T00:00:00.000Z,MAC1,MaxHalfHourKWh1d,1.5\n\
                    2013-01-02T00:00:00.000Z,MAC1,EnergyKWh1d,2.25\n\
                    2013-01-02T00:00:00.000Z,MAC1,MaxHalfHourKWh1d,2.25\n";
    let (status, by_config, err) = meterflow(&["run", job, "--input", &input, "--input-config", config, "-q"], None);
    assert_eq!((status, by_config.as_str()), (0, expected), "{err}");
    let flags = ["--wide", "--time-column", "tstp", "--asset-column", "LCLid", "--points", "energy(kWh/hh)=Energy"];
    let mut args = vec!["run", job, "--input", &input, "-q"];
    args.extend(flags);
    let (status, by_flags, err) = meterflow(&args, None);
    assert_eq!((status, by_flags.as_bytes()), (0, by_config.as_bytes()), "{err}");
    // A flag wins over the file: a constant asset replaces the column.
    let (status, out, err) =
        meterflow(&["run", job, "--input", &input, "--input-config", config, "-q", "--asset", "home"], None);
    assert_eq!(status, 2, "{out}");
    assert_eq!(
        err.trim_end(),
        "error: --asset and --asset-column exclude each other: give a constant asset or the column that holds it"
    );
}

#[test]
fn input_config_problems_are_all_located() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "in.yaml", b"wide: maybe\ntime-column: tstp\n");
    let (status, _, err) = meterflow(&["run", "jobs/", "--input-config", &config], Some(b""));
    assert_eq!(status, 2, "{err}");
    assert!(
        err.contains(
            "in.yaml:2:1: error: time-column: unknown field `time-column`, expected one of `wide`, `time_column`"
        ),
        "{err}"
    );
    assert!(err.contains("in.yaml:1:7: error: wide: expected true or false, found \"maybe\""), "{err}");
    assert!(err.contains("2 problems found in the input config"), "{err}");
}

#[test]
fn a_header_without_roles_gets_every_problem_and_the_fixes_at_once() {
    let lcl = b"LCLid,tstp,energy(kWh/hh)\nMAC1,2013-01-01 00:00:00, 0.5 \nMAC1,2013-01-01 00:30:00, 1.5 \n";
    let (status, _, err) = meterflow(&["run", "jobs/realdata/lcl_daily.yaml", "-q"], Some(lcl));
    assert_eq!(status, 1, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "error: <stdin>:1: header (LCLid,tstp,energy(kWh/hh)):");
    let roles: Vec<&str> = lines[1..5].iter().map(|l| l.split(';').next().unwrap().trim()).collect();
    assert_eq!(roles, ["no timestamp column", "no asset column", "no point column", "no value column"]);
    assert_eq!(
        &lines[5..],
        [
            "  hint: \"tstp\" holds timestamps (\"2013-01-01 00:00:00\"): --time-column tstp",
            "  hint: no column names the point, and energy(kWh/hh) holds numbers: if each number column is a point (one row per timestamp), add --wide (a file with one number column is wide too)",
            "  hint: \"LCLid\" holds names (\"MAC1\"): --asset-column LCLid, or a constant --asset ID for a single meter",
        ]
    );
    let (status, _, err) = meterflow(
        &["run", "jobs/realdata/esb_hourly.yaml", "-q", "--asset-column", "MPRN", "--time-column", "End"],
        Some(ESB_LIKE.replace("Read Date and End Time", "End").as_bytes()),
    );
    assert_eq!(status, 1, "{err}");
    assert!(err.contains("\n  hint: \"Read Type\" holds names that change from row to row: --point-column 'Read Type'\n  hint: Read Value holds numbers: --value-column 'Read Value'\n"), "{err}");
}

#[test]
fn a_refused_timestamp_gets_the_time_format_that_reads_it() {
    let text = b"ts,meter,kWh\n14-10-2024 01:00,m1,1\n";
    let (status, _, err) = meterflow(&["run", "jobs/realdata/lcl_daily.yaml", "-q", "--wide"], Some(text));
    assert_eq!(status, 1, "{err}");
    assert!(
        err.ends_with("invalid timestamp \"14-10-2024 01:00\": expected an RFC 3339 timestamp (2024-01-01T00:00:00Z, optional fraction and offset) or epoch milliseconds, between years 0000 and 9999; it reads as --time-format '%d-%m-%Y %H:%M'\n"),
        "{err}"
    );
    let text = b"ts,meter,kWh\n04-10-2024 01:00,m1,1\n";
    let (_, _, err) = meterflow(
        &["run", "jobs/realdata/lcl_daily.yaml", "-q", "--wide", "--time-format", "%Y-%m-%d %H:%M"],
        Some(text),
    );
    assert!(
        err.contains(
            "; it reads as --time-format '%d-%m-%Y %H:%M' (day first: this text does not tell day from month)"
        ),
        "{err}"
    );
}

#[test]
fn plot_reads_a_file_without_asset_column_with_the_drawn_asset() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "uci.csv", b"Date;Time;P\n16/12/2006;17:24:00;4.2\n16/12/2006;17:25:00;5.5\n");
    let svg = dir.path().join("plot.svg");
    let (status, out, err) = meterflow(
        &[
            "plot",
            "jobs/",
            "--input",
            &input,
            "--wide",
            "--time-column",
            "Date,Time",
            "--time-format",
            "%d/%m/%Y %H:%M:%S",
            "--points",
            "P=Reading",
            "--asset",
            "sceaux",
            "-o",
            svg.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(status, 0, "{out}{err}");
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(svg.contains("sceaux, 2006-12-16"), "the title names the asset drawn");
}

#[test]
fn a_test_file_reads_its_rows_through_an_input_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy("jobs/realdata/lcl_daily.yaml", dir.path().join("lcl_daily.yaml")).unwrap();
    write(
        dir.path(),
        "lcl.yaml",
        b"wide: true\ntime_column: tstp\nasset_column: LCLid\npoints: \"energy(kWh/hh)=Energy\"\n",
    );
    let test = "tests:\n  - name: one day\n    input_config: lcl.yaml\n    input: |\n      LCLid,tstp,energy(kWh/hh)\n      \
                M1,2013-01-01 00:00:00, 0.25\n      M1,2013-01-01 00:30:00, 0.5\n    expect_counts:\n      rows_read: 2\n";
    let path = write(dir.path(), "lcl_daily.test.yaml", test.as_bytes());
    // The two readings of the inline rows reach the job.
    let (status, out, err) = meterflow(&["test", &path], None);
    assert_eq!(status, 0, "{out}{err}");
    write(dir.path(), "lcl.yaml", b"wide: true\ntime_colum: tstp\n");
    let (status, out, err) = meterflow(&["test", &path], None);
    assert_eq!(status, 2, "{out}{err}");
    assert!(err.contains("lcl.yaml:2:1: error: time_colum: unknown field `time_colum`"), "{err}");
}

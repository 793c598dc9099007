//! Parquet (issue 32): `--format parquet` read back by pyarrow (the reference implementation, so
//! the file is standard) holds exactly the CSV run's rows, in `final` and `updates` mode; meterflow's
//! Parquet output read as input gives what its CSV output gives; a Parquet file written by pyarrow
//! (wide, local timestamps, float32, dictionary-encoded names) reads with the usual flags. Without
//! python3 and pyarrow the pyarrow parts say SKIPPED loudly, and fail when `MF_REQUIRE_PYARROW=1`
//! (CI installs it: `pip install pyarrow`).

use crate::support::{meterflow, stderr, text, with_stdin};
use std::path::Path;
use std::process::Command;

/// Whether python3 with pyarrow is here.
fn pyarrow() -> bool {
    let found = Command::new("python3").args(["-c", "import pyarrow"]).output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("MF_REQUIRE_PYARROW").as_deref() != Ok("1"),
            "MF_REQUIRE_PYARROW=1 but python3 cannot import pyarrow: pip install pyarrow"
        );
        eprintln!(
            "SKIPPED: python3 with pyarrow not found (pip install pyarrow): the Parquet files are not checked by pyarrow"
        );
    }
    found
}

fn run_ok(args: &[&str]) -> std::process::Output {
    let out = meterflow().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    out
}

/// (timestamp ms, asset, point, value bits, emit, revision) of each CSV row.
type Row = (i64, String, String, u64, String, String);

fn csv_rows(text: &str) -> Vec<Row> {
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let ms = meterflow::time::parse_timestamp(f[0].as_bytes()).unwrap();
            let value: f64 = f[3].parse().unwrap();
            let rest = |k: usize| f.get(k).map_or(String::new(), |s| s.to_string());
            (ms, f[1].to_string(), f[2].to_string(), value.to_bits(), rest(4), rest(5))
        })
        .collect()
}

/// The rows of a Parquet file as pyarrow reads them, in the same shape, and its schema.
fn pyarrow_rows(path: &Path) -> (Vec<Row>, String) {
    let script = "import sys, pyarrow.parquet as pq\n\
                  t = pq.read_table(sys.argv[1])\n\
                  print(t.schema.to_string(show_schema_metadata=False).replace('\\n', ';'))\n\
                  cols = t.to_pydict()\n\
                  for i in range(t.num_rows):\n\
                  \x20   ts = cols['timestamp'][i]\n\
                  \x20   ms = int(ts.timestamp() * 1000)\n\
                  \x20   extra = [str(cols[c][i]) for c in ('emit', 'revision') if c in cols]\n\
                  \x20   print(','.join([str(ms), cols['asset'][i], cols['point'][i], repr(cols['value'][i])] + extra))\n";
    let out = Command::new("python3").args(["-c", script, path.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "pyarrow: {}", stderr(&out));
    let shown = text(&out.stdout);
    let mut lines = shown.lines();
    let schema = lines.next().unwrap().to_string();
    let rows = lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let value: f64 = f[3].parse().unwrap();
            let rest = |k: usize| f.get(k).map_or(String::new(), |s| s.to_string());
            (f[0].parse().unwrap(), f[1].to_string(), f[2].to_string(), value.to_bits(), rest(4), rest(5))
        })
        .collect();
    (rows, schema)
}

#[test]
fn pyarrow_reads_the_csv_runs_rows_in_both_modes() {
    if !pyarrow() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for emit in ["final", "updates"] {
        let parquet = dir.path().join(format!("{emit}.parquet"));
        let base = ["run", "jobs/", "-i", "samples/meters.csv", "--emit", emit, "-q"];
        let csv = run_ok(&base);
        run_ok(&[&base[..], &["--format", "parquet", "-o", parquet.to_str().unwrap()]].concat());
        let (rows, schema) = pyarrow_rows(&parquet);
        let expected = csv_rows(&text(&csv.stdout));
        assert!(expected.len() > 100, "{}", expected.len());
        assert_eq!(rows, expected, "{emit}");
        let mut columns = "timestamp: timestamp[ms, tz=UTC] not null;asset: string not null;point: string not null;\
                           value: double;text_value: string"
            .to_string();
        if emit == "updates" {
            columns.push_str(";emit: string not null;revision: int64 not null");
        }
        assert_eq!(schema, columns);
    }
}

/// Max/min written as Parquet and as CSV, each read back as the input of the difference job.
#[test]
fn the_parquet_output_reads_back_as_the_csv_output_does() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, parquet) = (dir.path().join("mm.csv"), dir.path().join("mm.parquet"));
    let base = ["run", "jobs/meter_max_min.yaml", "-i", "samples/meters.csv", "-q"];
    run_ok(&[&base[..], &["-o", csv.to_str().unwrap()]].concat());
    run_ok(&[&base[..], &["-o", parquet.to_str().unwrap(), "--format", "parquet"]].concat());
    let difference = |input: &Path| {
        let out = run_ok(&["run", "jobs/meter_reading_difference.yaml", "-i", input.to_str().unwrap()]);
        (text(&out.stdout), stderr(&out))
    };
    let (from_csv, csv_summary) = difference(&csv);
    let (from_parquet, parquet_summary) = difference(&parquet);
    assert!(from_csv.lines().count() > 10, "{from_csv}");
    assert_eq!(from_parquet, from_csv);
    assert_eq!(parquet_summary, csv_summary);
}

/// A wide export as pandas or Polars writes it: local timestamps without zone, float32 and
/// integer points, a dictionary-encoded meter column; read with the flags a CSV of it takes.
#[test]
fn a_wide_parquet_file_from_pyarrow_reads_with_the_usual_flags() {
    if !pyarrow() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wide.parquet");
    let script = "import sys, datetime, pyarrow as pa, pyarrow.parquet as pq\n\
                  t = pa.table({'local': pa.array([datetime.datetime(2024, 7, 1, 2, 0), datetime.datetime(2024, 7, 1, 2, 15)], pa.timestamp('ms')),\n\
                  \x20   'meter': pa.array(['h1', 'h1']).dictionary_encode(),\n\
                  \x20   'Import': pa.array([0.1, None], pa.float32()), 'Export': pa.array([3, 4], pa.int64())})\n\
                  pq.write_table(t, sys.argv[1], compression='snappy')\n";
    let made = Command::new("python3").args(["-c", script, file.to_str().unwrap()]).output().unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let job = dir.path().join("sum.yaml");
    std::fs::write(
        &job,
        "name: sum\ntemplate: time_window_aggregation\nmodel: M\npolicies:\n  - input: Import\n    aggregation: sum\n    \
         window_size: 1h\n    output: ImportSum\n  - input: Export\n    aggregation: sum\n    window_size: 1h\n    \
         output: ExportSum\n",
    )
    .unwrap();
    let out = run_ok(&[
        "run",
        job.to_str().unwrap(),
        "-i",
        file.to_str().unwrap(),
        "--wide",
        "--time-column",
        "local",
        "--asset-column",
        "meter",
        "--timezone",
        "Europe/Dublin",
    ]);
    // 02:00 and 02:15 in Dublin in July are 01:00Z and 01:15Z: one hour window at 01:00Z. Import
    // holds 0.1 (a float32 read as the 0.1 it was written as) and a null (a missing value);
    // Export 3 + 4.
    assert_eq!(
        text(&out.stdout),
        "timestamp,asset,point,value\n2024-07-01T01:00:00.000Z,h1,ImportSum,0.1\n2024-07-01T01:00:00.000Z,h1,ExportSum,7\n"
    );
    assert!(stderr(&out).contains("(3 readings, 1 missing value skipped"), "{}", stderr(&out));
}

#[test]
fn parquet_cannot_be_written_from_a_live_input_nor_rounded() {
    let out = with_stdin(meterflow().args(["run", "jobs/", "--format", "parquet", "-o", "x.parquet"]), "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--format parquet writes a file that is whole only once the run has ended"),
        "{}",
        stderr(&out)
    );
    let out = meterflow()
        .args(["run", "jobs/", "-i", "samples/meters.csv", "--format", "parquet", "--decimals", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).trim_end(), "error: --decimals does not apply to --format parquet: it stores full doubles");
}

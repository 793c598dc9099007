//! The general reader's rows, readings, counts and messages, from CSV text.

use super::*;
use crate::input::InputSettings;
use crate::input::options::BadRowPolicy;
use std::io::Cursor;

struct Run {
    readings: Vec<(String, String, i64, f64)>,
    counts: InputCounts,
    rejects: String,
}

fn read_with(text: &str, edit: impl FnOnce(&mut InputSettings)) -> Result<Run> {
    let mut args = InputSettings::default();
    edit(&mut args);
    let options = InputOptions::from_settings(&args)?;
    let mut names = Names::default();
    let mut counts = InputCounts::default();
    let rejects = tempfile::NamedTempFile::new()?;
    let mut bad_rows = BadRows::new(options.on_bad_row, Some(Box::new(rejects.reopen()?)))?;
    let mut reader = Reader::new("in.csv", Box::new(Cursor::new(text.as_bytes().to_vec())), &options, &mut names)?;
    let mut readings = Vec::new();
    while let Some(r) = reader.next(&mut names, &mut counts, &mut bad_rows)? {
        readings.push((names.assets.name(r.asset).to_string(), names.points.name(r.point).to_string(), r.ts, r.value));
    }
    bad_rows.flush()?;
    Ok(Run { readings, counts, rejects: std::fs::read_to_string(rejects.path())? })
}

fn read(text: &str) -> Result<Run> {
    read_with(text, |_| {})
}

fn reading(asset: &str, point: &str, ts: i64, value: f64) -> (String, String, i64, f64) {
    (asset.to_string(), point.to_string(), ts, value)
}

#[test]
fn aliases_and_markers() {
    let run = read(
        "\u{feff}Time,Device,PointId,Val\n1970-01-01T00:00:01Z,m1,Reading,1.5\n1970-01-01T00:00:02Z,m1,Reading,NA\n",
    )
    .unwrap();
    assert_eq!(run.readings, [reading("m1", "Reading", 1000, 1.5)]);
    assert_eq!(run.counts, InputCounts { rows: 2, missing: 1, rejected: 0, whole_rows: 2, values: 2 });
}

#[test]
fn malformed_rows_are_located() {
    let err =
        read("timestamp,asset,point,value\n1970-01-01T00:00:01Z,m1,Reading,1\n1970-01-01T00:00:02Z,m1,Reading,abc\n")
            .err()
            .unwrap();
    assert_eq!(err.to_string(), "in.csv:3: column 4 (value): invalid value \"abc\": expected a finite number");
    let err = read("timestamp,asset,point,value\n1970-01-01T00:00:01Z,m1,Reading\n").err().unwrap();
    assert_eq!(err.to_string(), "in.csv:2: expected 4 fields as in the header, found 3");
}

#[test]
fn quoted_fields_crlf_and_semicolons() {
    let run = read(
        "\"timestamp\";\"asset\";\"point\";\"value\"\r\n\"1970-01-01 00:00:01\";\"m;1\";\"Reading\";\" 2.5 \"\r\n",
    )
    .unwrap();
    assert_eq!(run.readings, [reading("m;1", "Reading", 1000, 2.5)]);
}

#[test]
fn wide_rows_give_one_reading_per_present_cell() {
    let text = "Date;Time;Global_active_power;Voltage;Sub_metering_3\r\n\
                16/12/2006;17:24:00;4.216;234.840;17.000\r\n\
                21/12/2006;11:23:00;?;?;\r\n\
                1/1/2007;0:00:00;2.580;;\r\n";
    let run = read_with(text, |a| {
        a.wide = true;
        a.asset = Some("house".into());
        a.time_column = Some("Date,Time".into());
        a.time_format = Some("%d/%m/%Y %H:%M:%S".into());
        a.points = Some("Global_active_power=Power,Voltage".into());
    })
    .unwrap();
    let t0 = crate::time::parse_timestamp(b"2006-12-16T17:24:00Z").unwrap();
    let t1 = crate::time::parse_timestamp(b"2007-01-01T00:00:00Z").unwrap();
    assert_eq!(
        run.readings,
        [
            reading("house", "Power", t0, 4.216),
            reading("house", "Voltage", t0, 234.84),
            reading("house", "Power", t1, 2.58)
        ]
    );
    // Sub_metering_3 is not selected, so only the two selected cells of each row count.
    assert_eq!(run.counts, InputCounts { rows: 3, missing: 3, rejected: 0, whole_rows: 3, values: 6 });
}

#[test]
fn long_points_are_renamed_and_a_constant_point_fills_in() {
    let run = read_with("meter,t,kind,v\nm1,1000,Import (kWh),1\nm1,1000,Other,2\n", |a| {
        a.time_column = Some("t".into());
        a.point_column = Some("kind".into());
        a.value_column = Some("v".into());
        a.points = Some("Import (kWh)=Import".into());
    })
    .unwrap();
    assert_eq!(run.readings, [reading("m1", "Import", 1000, 1.0), reading("m1", "Other", 1000, 2.0)]);
    let run = read_with("LCLid,tstp,energy(kWh/hh)\nMAC1,2013-01-01 00:30:00, 0.38 \n", |a| {
        a.time_column = Some("tstp".into());
        a.asset_column = Some("LCLid".into());
        a.value_column = Some("energy(kWh/hh)".into());
        a.point = Some("Energy".into());
    })
    .unwrap();
    assert_eq!(run.readings, [reading("MAC1", "Energy", 1_357_000_200_000, 0.38)]);
}

#[test]
fn skipped_rows_are_recorded_whole() {
    let text = "ts,asset,a,b\n1000,m1,1,2\n2000,m1,1,x\n3000,m1,1\n,m1,1,2\n4000,m1,,\n";
    let run = read_with(text, |a| {
        a.wide = true;
        a.on_bad_row = BadRowPolicy::Skip;
    })
    .unwrap();
    assert_eq!(run.readings, [reading("m1", "a", 1000, 1.0), reading("m1", "b", 1000, 2.0)]);
    assert_eq!(run.counts, InputCounts { rows: 5, missing: 2, rejected: 3, whole_rows: 2, values: 4 });
    assert_eq!(
        run.rejects,
        "file,line,reason,row\n\
         in.csv,3,\"column 4 (b): invalid value \"\"x\"\": expected a finite number\",\"2000,m1,1,x\"\n\
         in.csv,4,\"expected 4 fields as in the header, found 3\",\"3000,m1,1\"\n\
         in.csv,5,\"column 1 (timestamp): invalid timestamp \"\"\"\": expected an RFC 3339 timestamp (2024-01-01T00:00:00Z, optional fraction and offset) or epoch milliseconds, between years 0000 and 9999\",\",m1,1,2\"\n"
    );
    assert_eq!(
        BadRowPolicy::Skip,
        InputOptions::from_settings(&InputSettings { on_bad_row: BadRowPolicy::Skip, ..InputSettings::default() })
            .unwrap()
            .on_bad_row
    );
}

#[test]
fn two_column_timestamps_are_located_as_both_columns() {
    let err = read_with("Date;Time;v\n29/10/2023;01:30:00;1\n", |a| {
        a.wide = true;
        a.asset = Some("m".into());
        a.time_column = Some("Date,Time".into());
        a.time_format = Some("%d/%m/%Y %H:%M:%S".into());
        a.timezone = Some("Europe/Dublin".into());
    })
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "in.csv:2: columns 1+2 (timestamp): invalid timestamp \"29/10/2023 01:30:00\": ambiguous local time in Europe/Dublin: it occurs twice as clocks go back; choose one with --dst ambiguous=infer (by the order of each series' rows), ambiguous=earlier or ambiguous=later"
    );
}

/// Europe/Berlin falls back on 2024-10-27 at 03:00 CEST (01:00Z): local 02:00 is 00:00Z (CEST)
/// and again 01:00Z (CET); 01:00 is 2024-10-26T23:00Z, 03:00 is 02:00Z. Hourly rows 01:00, 02:00,
/// 02:00, 03:00 whose first 02:00 has no value: that row still shows the series' order, so the
/// second 02:00 is the CET one, 01:00Z. Skipped, it was read as the first instant, 00:00Z, an hour
/// early, without a word. Long rows (value 3 at 01:00Z) and wide rows with every cell empty alike.
#[test]
fn a_row_without_value_keeps_its_place_in_a_repeated_hour() {
    let z = |t: &str| crate::time::parse_timestamp(t.as_bytes()).unwrap();
    let berlin = |a: &mut InputSettings| {
        a.timezone = Some("Europe/Berlin".into());
        a.dst = vec!["ambiguous=infer".into()];
        a.time_format = Some("%Y-%m-%d %H:%M".into());
    };
    let long = "timestamp,asset,point,value\n2024-10-27 01:00,m,P,1\n2024-10-27 02:00,m,P,\n\
                2024-10-27 02:00,m,P,3\n2024-10-27 03:00,m,P,4\n";
    let run = read_with(long, berlin).unwrap();
    assert_eq!(
        run.readings,
        [
            reading("m", "P", z("2024-10-26T23:00:00Z"), 1.0),
            reading("m", "P", z("2024-10-27T01:00:00Z"), 3.0),
            reading("m", "P", z("2024-10-27T02:00:00Z"), 4.0),
        ]
    );
    assert_eq!(run.counts.missing, 1);
    let wide = "timestamp,A,B\n2024-10-27 01:00,1,1\n2024-10-27 02:00,,\n2024-10-27 02:00,3,NA\n";
    let run = read_with(wide, |a| {
        berlin(a);
        a.wide = true;
        a.asset = Some("m".into());
    })
    .unwrap();
    let third: Vec<i64> = run.readings.iter().skip(2).map(|r| r.2).collect();
    assert_eq!(third, [z("2024-10-27T01:00:00Z")]);
    assert_eq!(run.counts.missing, 3);
}

//! `--interval-end auto` says what it chose: the length it took for each input and from how many
//! rows, steps and series (a note on stderr, said even with `-q`, and `interval_end_auto` in
//! `--stats-json`), and a warning when the sample's series do not all step by that length.

use crate::support::{fresh_dir, meterflow, text};
use std::path::Path;

/// Runs the seed's max/min job over `input` (written as `in.csv` in `dir`) with `flags`:
/// (exit status, points, stderr, the `--stats-json` figures).
fn run(dir: &Path, input: &str, flags: &[&str]) -> (i32, String, String, serde_json::Value) {
    std::fs::write(dir.join("in.csv"), input).unwrap();
    let jobs = Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs/meter_max_min.yaml");
    let out = meterflow()
        .current_dir(dir)
        .arg("run")
        .arg(&jobs)
        .args(["--input", "in.csv", "-o", "out.csv", "--stats-json", "stats.json", "-q"])
        .args(flags)
        .output()
        .unwrap();
    let stats = std::fs::read_to_string(dir.join("stats.json")).unwrap_or_else(|_| "null".into());
    let points = std::fs::read_to_string(dir.join("out.csv")).unwrap_or_default();
    (out.status.code().unwrap_or(-1), points, text(&out.stderr), serde_json::from_str(&stats).unwrap())
}

/// Half-hour ends: m1 at 00:30, 01:00, 01:30 and 03:00 (steps 30m, 30m and 1h30m, a gap of two
/// readings), m2 at 00:30 and 01:00 (one step of 30m). Of the 4 steps 3 are 30m, the most common:
/// the length is 30m, from 6 rows and 2 series, and no series steps by another length (1h30m is a
/// whole multiple of 30m, and m1 also steps by 30m). Each reading moves back 30m, to 00:00, 00:30,
/// 01:00 and 02:30 (m1) and 00:00, 00:30 (m2): a 10-minute window of its own each, max = min =
/// its value; the rows are those of `--interval-end 30m`.
#[test]
fn auto_says_the_length_it_took_and_from_what() {
    let dir = fresh_dir("interval-end-auto-note");
    let input = "timestamp,asset,point,value\n\
                 2024-01-01T00:30:00Z,m1,Reading,1\n2024-01-01T00:30:00Z,m2,Reading,5\n\
                 2024-01-01T01:00:00Z,m1,Reading,2\n2024-01-01T01:00:00Z,m2,Reading,6\n\
                 2024-01-01T01:30:00Z,m1,Reading,3\n2024-01-01T03:00:00Z,m1,Reading,4\n";
    let (status, points, stderr, stats) = run(&dir, input, &["--interval-end", "auto"]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        stderr,
        "meterflow: --interval-end auto: in.csv took 30m as its interval length and moved each reading back 30m: \
         3 of the 4 steps between consecutive readings of 2 series in its first 6 rows were 30m\n"
    );
    assert_eq!(
        stats["interval_end_auto"],
        serde_json::json!([{
            "input": "in.csv", "length": "30m", "length_ms": 1_800_000, "rows": 6, "series": 2, "steps": 4,
            "steps_at_length": 3, "steps_off_length": 0, "series_at_other_lengths": 0, "example": null,
            "decided_when_silent": false
        }])
    );
    let mut rows: Vec<String> = points.lines().map(str::to_string).collect();
    rows.sort_unstable();
    let mut expected = vec!["timestamp,asset,point,value".to_string()];
    for (at, asset, value) in [
        ("00:00", "m1", 1),
        ("00:30", "m1", 2),
        ("01:00", "m1", 3),
        ("02:30", "m1", 4),
        ("00:00", "m2", 5),
        ("00:30", "m2", 6),
    ] {
        for point in ["MaxReading10Min", "MinReading10Min"] {
            expected.push(format!("2024-01-01T{at}:00.000Z,{asset},{point},{value}"));
        }
    }
    expected.sort_unstable();
    assert_eq!(rows, expected);
    let (status, given, _, stats) = run(&dir, input, &["--interval-end", "30m"]);
    assert_eq!((status, given), (0, points));
    // A length given is no choice: nothing to say.
    assert!(stats.get("interval_end_auto").is_none());
}

/// A 15-minute meter among half-hourly ones: a at 00:15, 00:30, 00:45 and 01:00 (3 steps of
/// 15m), b and c at 00:30, 01:00 and 01:30 (2 steps of 30m each). 30m is the most common step (4
/// of 7) and is taken; a's 3 steps are no whole multiple of it, so a is a series at another
/// length, and its readings moved back 30m, not 15m: a warning, even with `-q`, and an error
/// under `--strict`.
#[test]
fn auto_warns_when_the_series_step_by_other_lengths() {
    let dir = fresh_dir("interval-end-auto-mixed");
    let mut input = String::from("timestamp,asset,point,value\n");
    for minute in ["00:15", "00:30", "00:45", "01:00"] {
        input.push_str(&format!("2024-01-01T{minute}:00Z,a,Reading,1\n"));
    }
    for minute in ["00:30", "01:00", "01:30"] {
        input.push_str(&format!("2024-01-01T{minute}:00Z,b,Reading,2\n2024-01-01T{minute}:00Z,c,Reading,3\n"));
    }
    let (status, _, stderr, stats) = run(&dir, &input, &["--interval-end", "auto"]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        stderr,
        "meterflow: --interval-end auto: in.csv took 30m as its interval length and moved each reading back 30m: \
         4 of the 7 steps between consecutive readings of 3 series in its first 10 rows were 30m\n\
         meterflow: warning: --interval-end auto: 1 of the 3 series in the sample of in.csv do not step by 30m \
         (series `a` / `Reading` steps by 15m), yet their readings moved back 30m too; give the length \
         (--interval-end 30m) if it is right for every series, or give each interval length's series in an input \
         of their own with its length\n"
    );
    let choice = &stats["interval_end_auto"][0];
    assert_eq!((choice["steps"].as_u64(), choice["steps_off_length"].as_u64()), (Some(7), Some(3)));
    assert_eq!(choice["series_at_other_lengths"].as_u64(), Some(1));
    assert_eq!(
        choice["example"],
        serde_json::json!({"asset": "a", "point": "Reading", "step": "15m", "step_ms": 900_000})
    );
    let (status, _, stderr, _) = run(&dir, &input, &["--interval-end", "auto", "--strict"]);
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.ends_with("error: --strict: the warning above is an error\n"), "{stderr}");
}

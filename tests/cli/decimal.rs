//! Decimal commas (issue 32): a German export that `sniff` reads, whose proposed command runs and
//! gives the sums worked out by hand, and the refusal of a plain run that names the flag.

use crate::support::{stderr, text};

/// `;`, `DD.MM.YYYY HH:MM`, one meter, `Wert` with decimal commas and `.` between thousands.
const EXPORT: &str = "Zeitstempel;Zaehler;Wert\n\
                      01.03.2024 00:00;Z1;1,25\n\
                      01.03.2024 00:15;Z1;1.234,5\n\
                      13.03.2024 00:30;Z1;2\n";

const JOB: &str = "name: wert_sum\ntemplate: time_window_aggregation\nmodel: M\nlatency: 1h\npolicies:\n  \
                   - input: Wert\n    aggregation: sum\n    window_size: 30m\n    output: WertSum30m\n";

#[test]
fn sniff_proposes_the_decimal_comma_and_its_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("zaehler.csv");
    std::fs::write(&input, EXPORT).unwrap();
    let job = dir.path().join("wert.yaml");
    std::fs::write(&job, JOB).unwrap();
    let (input, job) = (input.to_str().unwrap(), job.to_str().unwrap());
    let out = crate::support::meterflow().args(["sniff", input, "--jobs", job, "--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let flags: Vec<&str> = report[0]["flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(flags.windows(2).any(|w| w == ["--decimal", "comma"]), "{flags:?}");
    assert!(flags.windows(2).any(|w| w == ["--thousands", "."]), "{flags:?}");
    assert_eq!(report[0]["readings"][1]["value"], 1234.5);
    // The command exactly as proposed, run.
    let command = report[0]["command"].as_str().unwrap();
    let words = shlex::split(command).unwrap();
    assert_eq!(words[0], "meterflow");
    let run = crate::support::meterflow().args(&words[1..]).arg("-q").output().unwrap();
    assert!(run.status.success(), "{command}: {}", stderr(&run));
    // 30m windows: [03-01 00:00, 00:30) sums 1.25 + 1234.5; [03-13 00:30, 01:00) holds 2.
    assert_eq!(
        text(&run.stdout),
        "timestamp,asset,point,value\n\
         2024-03-01T00:00:00.000Z,Z1,WertSum30m,1235.75\n\
         2024-03-13T00:30:00.000Z,Z1,WertSum30m,2\n"
    );
}

#[test]
fn a_decimal_comma_without_the_flag_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("long.csv");
    std::fs::write(&input, "timestamp;asset;point;value\n2024-03-01T00:00:00Z;Z1;Reading;1,25\n").unwrap();
    let out = crate::support::meterflow()
        .args(["run", "jobs/meter_max_min.yaml", "--input", input.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "long.csv:2: column 4 (value): invalid value \"1,25\": expected a finite number; it reads as a number \
             with --decimal comma"
        ),
        "{}",
        stderr(&out)
    );
}

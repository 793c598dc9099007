//! Job-file messages that guide: an unquoted interval says to quote it, near-miss durations and
//! choices get a "did you mean", and merge expressions that can never evaluate are refused at
//! `validate`.

fn validate(job: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.yaml");
    std::fs::write(&path, job).unwrap();
    let out = crate::support::meterflow().arg("validate").arg(&path).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    (out.status.code().unwrap_or(-1), stderr.replace(path.to_str().unwrap(), "job.yaml"))
}

const WINDOW: &str = "template: time_window_aggregation\nmodel: M\nwindow:\n  type: tumbling\nlatency: LATENCY\npolicies:\n  \
                      - input: R\n    threshold: THRESHOLD\n    aggregation: AGGREGATION\n    window_size: SIZE\n    output: O\n";

fn window(latency: &str, threshold: &str, aggregation: &str, size: &str) -> String {
    WINDOW
        .replace("LATENCY", latency)
        .replace("THRESHOLD", threshold)
        .replace("AGGREGATION", aggregation)
        .replace("SIZE", size)
}

#[test]
fn an_unquoted_interval_is_told_to_be_quoted() {
    let (status, err) = validate(&window("1h", "[0, 100)", "max", "10m"));
    assert_eq!(status, 2, "{err}");
    assert!(
        err.starts_with("job.yaml:9:16: error: invalid YAML: illegal placement of ':' indicator; line 8 gives `threshold` the interval [0, 100) unquoted, which YAML reads as a list: quote it, `threshold: \"[0, 100)\"`\n"),
        "{err}"
    );
}

#[test]
fn near_miss_durations_and_words_get_did_you_mean() {
    let (status, err) = validate(&window("1.5h", "\"[0, 100)\"", "MAX", "10 minutes"));
    assert_eq!(status, 2, "{err}");
    let headlines: Vec<&str> = err.lines().filter(|l| l.starts_with("job.yaml:")).collect();
    let tails: Vec<&str> = headlines.iter().map(|l| l.rsplit("; ").next().unwrap()).collect();
    assert_eq!(tails, ["did you mean 1h30m?", "did you mean `max`?", "did you mean 10m?"]);
    let (_, err) = validate(&window("0", "\"[0, 100)\"", "max", "15"));
    let tails: Vec<&str> =
        err.lines().filter(|l| l.starts_with("job.yaml:")).map(|l| l.rsplit("; ").next().unwrap()).collect();
    assert_eq!(tails, ["did you mean 0s?", "did you mean 15s or 15m (a duration needs a unit)?"]);
}

const MERGE: &str = "template: multi_point_merging\nmodel: M\ntrigger:\n  mode: frequency\n  every: 1h\n\
                     timing_interpolation: last_value\npolicies:\n  - output: A\n    logic: \"LOGIC\"\n";

#[test]
fn expressions_that_cannot_evaluate_are_refused_at_validate() {
    let (status, err) = validate(&MERGE.replace("LOGIC", "sqrt(${M::R}, 2)"));
    assert_eq!(status, 2, "{err}");
    assert!(
        err.starts_with("job.yaml:9:13: error: policies[0].logic: column 1: Function not found: sqrt (f64, i64): no function of that name takes these arguments (operands are numbers)\n"),
        "{err}"
    );
    let (status, err) = validate(&MERGE.replace("LOGIC", "1 + 2"));
    assert_eq!(status, 2, "{err}");
    assert!(
        err.starts_with("job.yaml:9:13: error: policies[0].logic: column 1: the expression reads no point: use at least one operand such as ${ElectricMeter::Reading}\n"),
        "{err}"
    );
    let (status, err) = validate(&MERGE.replace("LOGIC", "sqrt(${M::R}) + 1"));
    assert_eq!(status, 0, "{err}");
}

#[test]
fn validate_says_which_subfolders_it_did_not_look_into() {
    let out = crate::support::meterflow()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["validate", "jobs/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.ends_with("not looked into (name a folder to validate its jobs): jobs/realdata, jobs/testdata\n"),
        "{stdout}"
    );
}

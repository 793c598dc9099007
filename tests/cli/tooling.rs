//! The tooling around runs, checked through the binary: the committed JSON Schema is what
//! `meterflow schema` prints and accepts every file in `jobs/` (and rejects broken ones), every
//! subcommand's help carries a worked example, completions and the man page are generated, the
//! progress bar only shows where asked, and `plot` draws the sample as well-formed SVG.

use marked_yaml::Node;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn meterflow(args: &[&str]) -> Output {
    crate::support::meterflow().args(args).current_dir(root()).output().expect("meterflow runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout")
}

/// A YAML tree as JSON, scalars typed the way the YAML language server types them: plain `true`,
/// `false`, `null` and numbers become JSON values, everything else (and anything quoted) a string.
fn to_json(node: &Node) -> Value {
    match node {
        Node::Scalar(s) => {
            let text = s.as_str();
            let numeric = text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.')
                && text.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c));
            if !s.may_coerce() {
                json!(text)
            } else if let Some(b) = s.as_bool() {
                json!(b)
            } else if matches!(text, "null" | "~") {
                Value::Null
            } else if let (true, Some(i)) = (numeric, s.as_i64()) {
                json!(i)
            } else if let (true, Some(f)) = (numeric, s.as_f64()) {
                json!(f)
            } else {
                json!(text)
            }
        }
        Node::Sequence(seq) => Value::Array(seq.iter().map(to_json).collect()),
        Node::Mapping(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.as_str().to_string(), to_json(v))).collect::<Map<_, _>>())
        }
    }
}

fn yaml_file_as_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    to_json(&marked_yaml::parse_yaml(0, &text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn committed_schema() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("schema/job.schema.json")).unwrap()).unwrap()
}

#[test]
fn committed_schema_is_up_to_date() {
    let output = meterflow(&["schema"]);
    assert!(output.status.success());
    let committed = std::fs::read_to_string(root().join("schema/job.schema.json")).unwrap();
    assert!(
        stdout(&output) == committed,
        "schema/job.schema.json is out of date: regenerate it with `cargo run -- schema > schema/job.schema.json`"
    );
}

#[test]
fn schema_is_a_valid_draft_2020_12_schema() {
    let schema = committed_schema();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    jsonschema::meta::validate(&schema).expect("the schema follows the draft 2020-12 meta-schema");
}

#[test]
fn every_file_in_jobs_validates_against_the_schema() {
    let validator = jsonschema::validator_for(&committed_schema()).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("jobs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "the seed jobs and their test files: {files:?}");
    for file in files {
        let instance = yaml_file_as_json(&file);
        let errors: Vec<String> =
            validator.iter_errors(&instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

#[test]
fn schema_rejects_what_the_loader_rejects() {
    let validator = jsonschema::validator_for(&committed_schema()).unwrap();
    let seed = yaml_file_as_json(&root().join("jobs/meter_max_min.yaml"));
    let mut unknown_field = seed.clone();
    unknown_field["policies"][0]["colour"] = json!("blue");
    let mut missing_policies = seed.clone();
    missing_policies.as_object_mut().unwrap().remove("policies");
    let mut bad_aggregation = seed.clone();
    bad_aggregation["policies"][1]["aggregation"] = json!("mean");
    let mut bad_duration = seed.clone();
    bad_duration["latency"] = json!("5 minutes");
    let mut alias = seed.clone();
    alias.as_object_mut().unwrap().remove("latency");
    alias["latencySetting"] = json!("1d");
    assert!(validator.is_valid(&seed));
    assert!(validator.is_valid(&alias), "aliases are accepted like the loader accepts them");
    for (what, instance) in [
        ("unknown field", unknown_field),
        ("missing policies", missing_policies),
        ("mean", bad_aggregation),
        ("5 minutes", bad_duration),
    ] {
        assert!(!validator.is_valid(&instance), "{what} should be rejected");
    }
}

#[test]
fn every_subcommand_help_has_a_description_and_an_example() {
    let top = stdout(&meterflow(&["--help"]));
    let names: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        // Entries start two spaces in; wrapped descriptions are indented further.
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|n| n != "help")
        .collect();
    for expected in ["run", "validate", "test", "explain", "schema", "plot", "completions", "man"] {
        assert!(names.iter().any(|n| n == expected), "`{expected}` is listed in --help: {names:?}");
    }
    for name in &names {
        let help = stdout(&meterflow(&[name, "--help"]));
        let first = help.lines().next().unwrap_or_default();
        assert!(first.split_whitespace().count() >= 5, "`{name} --help` starts with a description: {first:?}");
        assert!(help.contains("Example"), "`{name} --help` has an example");
        assert!(help.contains(&format!("meterflow {name} ")), "`{name} --help` shows the command in use");
    }
}

#[test]
fn completions_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = meterflow(&["completions", shell]);
        assert!(output.status.success(), "{shell}");
        let script = stdout(&output);
        for sub in ["run", "validate", "test", "explain", "plot"] {
            assert!(script.contains(sub), "{shell} completion mentions {sub}");
        }
    }
    let bash = stdout(&meterflow(&["completions", "bash"]));
    assert!(bash.contains("--late-output") && bash.contains("complete -F"), "bash completes flags");
}

#[test]
fn man_pages_are_roff() {
    let page = stdout(&meterflow(&["man"]));
    assert!(page.contains(".TH meterflow 1"));
    assert!(page.contains("validate") && page.contains("explain"));
    let run = stdout(&meterflow(&["man", "run"]));
    assert!(run.contains(".TH meterflow-run 1"));
    assert!(run.contains("late\\-output"), "flags are documented");
    let unknown = meterflow(&["man", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr),
        "error: no subcommand `nope`; expected one of run, validate, test, explain, schema, plot, sniff, state, completions, man\n"
    );
}

/// `--progress auto` draws nothing when stderr is not a terminal (as here, a pipe); `always` does.
#[test]
fn progress_bar_only_where_asked() {
    let run = |mode: &str| {
        meterflow(&[
            "run",
            "jobs/meter_max_min.yaml",
            "--input",
            "samples/meters.csv",
            "-o",
            "/dev/null",
            "-q",
            "--progress",
            mode,
        ])
    };
    for mode in ["auto", "never"] {
        let output = run(mode);
        assert!(output.status.success());
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "--progress {mode} with stderr not a terminal");
    }
    let output = run("always");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("rows/s") && stderr.contains("MiB"), "--progress always draws the bar: {stderr:?}");
    assert!(
        stderr.ends_with("\r\u{1b}[2K") || stderr.ends_with("\u{1b}[1A"),
        "the bar is cleared at the end: {stderr:?}"
    );
}

/// An independent count of what the plot of meter-001 between 16:00 and 19:00 must hold, from
/// the sample file and the lateness rule of the contract (1 day after a 10-minute window's end, per series;
/// the threshold [0, 100) is applied first).
fn expected_plot_readings() -> (usize, usize) {
    let text = std::fs::read_to_string(root().join("samples/meters.csv")).unwrap();
    let parse = |ts: &str| meterflow::time::parse_timestamp(ts.as_bytes()).unwrap();
    let (from, to) = (parse("2024-03-01T16:00:00Z"), parse("2024-03-01T19:00:00Z"));
    let (mut watermark, mut kept, mut dropped) = (i64::MIN, 0, 0);
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        if cells[1] != "meter-001" {
            continue;
        }
        let (ts, value): (i64, f64) = (parse(cells[0]), cells[3].parse().unwrap());
        let window_end = ts.div_euclid(600_000) * 600_000 + 600_000;
        let late = (0.0..100.0).contains(&value) && watermark >= window_end + 86_400_000;
        watermark = watermark.max(ts);
        if ts >= from && ts < to {
            if late { dropped += 1 } else { kept += 1 }
        }
    }
    (kept, dropped)
}

#[test]
fn plot_draws_the_sample_as_svg() {
    let out = std::env::temp_dir().join(format!("meterflow-plot-{}.svg", std::process::id()));
    let output = meterflow(&[
        "plot",
        "jobs/",
        "--input",
        "samples/meters.csv",
        "--asset",
        "meter-001",
        "--from",
        "2024-03-01T16:00:00Z",
        "--to",
        "2024-03-01T19:00:00Z",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let svg = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    let root_node = doc.root_element();
    assert_eq!(root_node.tag_name().name(), "svg");
    assert_eq!((root_node.attribute("width"), root_node.attribute("height")), (Some("1200"), Some("600")));

    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or_default().trim().to_string())
        .collect();
    for label in [
        "Reading (input)",
        "MaxReading10Min (max per 10m window)",
        "MinReading10Min (min per 10m window)",
        "ReadingDifference (output)",
        "dropped as late beyond lateness",
        "03-01 16:00",
        "03-01 18:30",
        "event time (UTC)",
    ] {
        assert!(texts.iter().any(|t| t == label), "text {label:?} in {texts:?}");
    }

    // Shapes by stroke colour: readings blue, max orange, min purple, late drops red.
    let by_stroke = |colour: &str| -> Vec<roxmltree::Node<'_, '_>> {
        doc.descendants().filter(|n| n.attribute("stroke") == Some(colour)).collect()
    };
    let points = |n: &roxmltree::Node<'_, '_>| n.attribute("points").map_or(0, |p| p.split_whitespace().count());
    let (kept, dropped) = expected_plot_readings();
    assert_eq!(
        (kept, dropped),
        (719, 1),
        "3 hours at 15 s; the 17:27:00 reading arrives a day late (appended to the file)"
    );
    let reading_line = by_stroke("#1F77B4").iter().map(points).max();
    assert_eq!(reading_line, Some(kept), "the reading line holds every kept reading in range");
    // 18 ten-minute windows in 3 hours, each a step, plus the legend sample.
    assert_eq!(by_stroke("#FF7F0E").len(), 18 + 1, "max steps");
    assert_eq!(by_stroke("#9467BD").len(), 18 + 1, "min steps");
    // A cross is two strokes; one more cross in the legend.
    assert_eq!(by_stroke("#D62728").len(), 2 * (dropped + 1), "late-dropped crosses");
}

#[test]
fn plot_errors_name_the_problem() {
    let output =
        meterflow(&["plot", "jobs/", "--input", "samples/meters.csv", "--asset", "meter-404", "-o", "/dev/null"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: asset meter-404 has no readings of the points the jobs read\n"
    );
    let output = meterflow(&["plot", "jobs/", "--asset", "m", "--from", "yesterday", "-o", "/dev/null"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: --from: invalid timestamp \"yesterday\": expected an RFC 3339 timestamp (2024-01-01T00:00:00Z, optional fraction and offset) or epoch milliseconds, between years 0000 and 9999\n"
    );
}

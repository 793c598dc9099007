//! `meterflow test` options: `--filter` picks tests by name, `--junit` writes JUnit XML that CI
//! systems read, `--bless` rewrites an `expect_file` with the actual output, and only when asked.

use std::path::Path;

fn meterflow(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = crate::support::meterflow().current_dir(dir).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

const JOB: &str = "name: m\ntemplate: time_window_aggregation\nmodel: M\nwindow:\n  type: tumbling\nlatency: 1d\n\
                   policies:\n  - input: Reading\n    aggregation: max\n    window_size: 10m\n    output: Max10\n";
const INPUT: &str =
    "timestamp,asset,point,value\n2024-01-01T00:01:00Z,m1,Reading,5\n2024-01-01T00:02:00Z,m1,Reading,7\n";
/// The max of 5 and 7 in window 00:00, worked out by hand.
const RIGHT: &str = "timestamp,asset,point,value\n2024-01-01T00:00:00.000Z,m1,Max10,7\n";
const WRONG: &str = "timestamp,asset,point,value\n2024-01-01T00:00:00.000Z,m1,Max10,6\n";

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("job.yaml"), JOB).unwrap();
    std::fs::write(dir.path().join("input.csv"), INPUT).unwrap();
    std::fs::write(dir.path().join("expected.csv"), WRONG).unwrap();
    let inline = INPUT.lines().map(|l| format!("      {l}\n")).collect::<String>();
    let expect = WRONG.lines().map(|l| format!("      {l}\n")).collect::<String>();
    let tests = format!(
        "tests:\n  - name: max from a file\n    input_file: input.csv\n    expect_file: expected.csv\n  \
         - name: max inline\n    input: |\n{inline}    expect: |\n{expect}  - name: counts only\n    input_file: input.csv\n    \
         expect_counts:\n      rows_read: 2\n"
    );
    std::fs::write(dir.path().join("job.test.yaml"), tests).unwrap();
    dir
}

#[test]
fn filter_runs_only_the_named_tests() {
    let dir = setup();
    let (status, out, err) = meterflow(dir.path(), &["test", "job.test.yaml", "--filter", "counts"]);
    assert_eq!((status, out.as_str()), (0, "PASS job.test.yaml: counts only\n1 passed, 0 failed\n"), "{err}");
    let (status, _, err) = meterflow(dir.path(), &["test", "job.test.yaml", "--filter", "nothing like it"]);
    assert_eq!(status, 2);
    assert_eq!(err, "error: --filter: no test name contains \"nothing like it\"\n");
}

#[test]
fn junit_report_names_each_test_and_its_failure() {
    let dir = setup();
    let (status, _, _) = meterflow(dir.path(), &["test", "job.test.yaml", "--junit", "report.xml"]);
    assert_eq!(status, 1);
    let xml = std::fs::read_to_string(dir.path().join("report.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(
        (root.tag_name().name(), root.attribute("tests"), root.attribute("failures")),
        ("testsuites", Some("3"), Some("2"))
    );
    let cases: Vec<(&str, bool)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| (n.attribute("name").unwrap(), n.children().any(|c| c.has_tag_name("failure"))))
        .collect();
    assert_eq!(cases, [("max from a file", true), ("max inline", true), ("counts only", false)]);
    let failure = doc.descendants().find(|n| n.has_tag_name("failure")).unwrap();
    assert_eq!(failure.attribute("message"), Some("the output differs (- expected, + actual):"));
    assert!(failure.text().unwrap().contains("+ 2024-01-01T00:00:00.000Z,m1,Max10,7"), "{xml}");
}

#[test]
fn bless_rewrites_an_expect_file_only_when_asked() {
    let dir = setup();
    let expected = dir.path().join("expected.csv");
    let (status, _, _) = meterflow(dir.path(), &["test", "job.test.yaml"]);
    assert_eq!(status, 1);
    assert_eq!(std::fs::read_to_string(&expected).unwrap(), WRONG, "a failing run writes nothing");
    let (status, out, _) = meterflow(dir.path(), &["test", "job.test.yaml", "--bless"]);
    assert_eq!(status, 1, "the inline expectation still fails:\n{out}");
    assert!(out.starts_with("BLESSED job.test.yaml: max from a file (wrote "), "{out}");
    assert!(
        out.contains("--bless rewrites `expect_file` files only: move this inline `expect` to a file to bless it"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&expected).unwrap(), RIGHT);
    let (status, out, _) = meterflow(dir.path(), &["test", "job.test.yaml", "--filter", "from a file"]);
    assert_eq!((status, out.as_str()), (0, "PASS job.test.yaml: max from a file\n1 passed, 0 failed\n"));
}

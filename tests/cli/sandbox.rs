//! The sandbox: hostile job files, test fixtures, state files and inputs never hang, panic, leak
//! a file's content or write outside what the user named. Each test runs the real binary in a
//! temporary folder under a time limit, so a hang fails the test instead of stalling it; the
//! crafted files too large or too odd to build inline are committed under `tests/fixtures/sandbox/`.
//! SECURITY.md names the test behind each of its claims.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Far above any case's run time: reaching it means a hang.
pub(crate) const TIME_LIMIT: Duration = Duration::from_secs(60);

pub(crate) const HEADER: &str = "timestamp,asset,point,value\n";

/// A window job: max of `Reading` per 10-minute window, latency 0s.
const WINDOW_JOB: &str = "name: w
template: time_window_aggregation
model: M
policies:
  - input: Reading
    aggregation: max
    window_size: 10m
    output: Max10
";

pub(crate) struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs meterflow in `dir` with `stdin`, killing it at [`TIME_LIMIT`].
pub(crate) fn run_in(dir: &Path, args: &[&str], stdin: &[u8]) -> Run {
    let mut child = crate::support::meterflow()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meterflow starts");
    let mut input = child.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    while child.try_wait().expect("the child can be polled").is_none() {
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("meterflow {args:?} did not finish within {TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = feeder.join();
    let status = child.wait().expect("the child has exited");
    let run = Run {
        status: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out_reader.join().expect("stdout is read")).into_owned(),
        stderr: String::from_utf8_lossy(&err_reader.join().expect("stderr is read")).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "meterflow {args:?} panicked:\n{}", run.stderr);
    run
}

pub(crate) fn run(dir: &Path, args: &[&str]) -> Run {
    run_in(dir, args, b"")
}

pub(crate) fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("a file in the temporary folder");
    path
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sandbox").join(name)
}

// ---- sniff -------------------------------------------------------------------------------

/// A column name wider than the formatter's width limit (65,535) once panicked the text report.
#[test]
fn sniff_shortens_a_huge_column_name() {
    let dir = tempfile::tempdir().unwrap();
    let name = "c".repeat(70_000);
    write(dir.path(), "in.csv", format!("timestamp,asset,point,{name}\n2024-01-01T00:00:00Z,m1,Reading,1\n"));
    let out = run(dir.path(), &["sniff", "in.csv"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    // The column list shortens it; the proposed command and config keep it whole, to be pasted.
    let listed = out.stdout.lines().find(|l| l.starts_with("     4 ")).expect("the fourth column is listed");
    assert!(listed.starts_with(&format!("     4 {}...  value", "c".repeat(80))), "{listed}");
}

// ---- state files -------------------------------------------------------------------------

/// A folder holding the state fixtures' jobs and inputs and a copy of `state`, as `t.state`.
fn state_case(state: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["window.yaml", "merge.yaml", "day1.csv", "day2.csv"] {
        std::fs::copy(fixture("state").join(name), dir.path().join(name)).unwrap();
    }
    std::fs::copy(fixture("state").join(state), dir.path().join("t.state")).unwrap();
    dir
}

const RESUME: &[&str] =
    &["run", "window.yaml", "merge.yaml", "--input", "day2.csv", "--state", "t.state", "-q", "--finish"];

/// A valid container whose asset name table is shorter than the ids in the engine state once
/// panicked the output thread looking a name up; now it is refused before the run reads a row.
#[test]
fn state_with_a_short_name_table_is_damaged() {
    let dir = state_case("short_asset_table.state");
    let out = run(dir.path(), RESUME);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(
            "error: --state t.state: damaged state file: the saved windows of job `w` do not fit its plan; the state \
             cannot be resumed"
        ),
        "{}",
        out.stderr
    );
}

/// 131 KB of zstd that expands to 4 GiB: refused at the decoder's cap, not read into memory.
#[test]
fn state_zstd_bomb_is_refused_at_the_cap() {
    let dir = state_case("zstd_bomb.state");
    let out = run(dir.path(), RESUME);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(
            "error: --state t.state: damaged state file: the payload expands past 67108864 bytes, 256 times its \
             compressed size"
        ),
        "{}",
        out.stderr
    );
    let show = run(dir.path(), &["state", "show", "t.state"]);
    assert_eq!(show.status, 1, "{}", show.stderr);
    assert!(show.stderr.contains("damaged state file: the payload expands past"), "{}", show.stderr);
}

// ---- YAML ---------------------------------------------------------------------------------

const NESTING: &str =
    "lists and mappings are nested more than 64 levels deep; a job, test or input-config file needs a few";

/// 80 KB of `- - - ...` once overflowed the stack (exit 134) of every command reading YAML: as a
/// job file, a test file and an input config it is now a located error.
#[test]
fn yaml_block_nesting_is_limited_like_flow_nesting() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = std::fs::read(fixture("deep_nesting.yaml")).unwrap();
    write(dir.path(), "deep.yaml", &bomb);
    write(dir.path(), "deep.test.yaml", &bomb);
    write(dir.path(), "in.csv", format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1\n"));
    let located = format!("deep.yaml:4:127: error: {NESTING}");
    let out = run(dir.path(), &["validate", "deep.yaml"]);
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert!(out.stderr.starts_with(&located), "{}", out.stderr);
    let out = run(dir.path(), &["test", "deep.test.yaml"]);
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert!(out.stderr.starts_with(&format!("deep.test.yaml:4:127: error: {NESTING}")), "{}", out.stderr);
    write(dir.path(), "job.yaml", WINDOW_JOB);
    let out = run(dir.path(), &["run", "job.yaml", "--input", "in.csv", "--input-config", "deep.yaml"]);
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert!(out.stderr.contains(&located), "{}", out.stderr);
}

/// Tags could make a scalar anything the loader's type allows; they are refused like anchors.
#[test]
fn yaml_tags_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "job.yaml", WINDOW_JOB.replace("model: M", "model: !!str M"));
    let out = run(dir.path(), &["validate", "job.yaml"]);
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "job.yaml:3:14: error: YAML tags are not supported in job files\n1 problem found in job files\n"
    );
}

// ---- job directories and diagnostics -----------------------------------------------------

const SECRET: &str = "https://ci-bot:ghp_TOKEN1234@github.com\n";

/// A link in a job directory to a credentials file outside it (a pull request can add one) was
/// read by `validate`, `run` and `test`, and its token quoted under the caret in the CI log.
#[test]
fn a_link_out_of_a_job_directory_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "git-credentials", SECRET);
    std::fs::create_dir(dir.path().join("jobs")).unwrap();
    write(&dir.path().join("jobs"), "w.yaml", WINDOW_JOB);
    std::os::unix::fs::symlink(dir.path().join("git-credentials"), dir.path().join("jobs/zz.yaml")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("git-credentials"), dir.path().join("jobs/zz.test.yaml")).unwrap();
    write(dir.path(), "in.csv", format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1\n"));
    let refused = "a symbolic link to a file outside its directory is not read; name the file itself to use it";
    for args in [&["validate", "jobs"][..], &["run", "jobs", "--input", "in.csv"], &["test", "jobs"]] {
        let out = run(dir.path(), args);
        assert_eq!(out.status, 2, "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("TOKEN") && !out.stdout.contains("TOKEN"), "{args:?} leaked: {}", out.stderr);
        assert!(out.stderr.contains(&format!("jobs/zz.yaml: error: {refused}")), "{args:?}: {}", out.stderr);
    }
    // A link to a file of the same directory is an ordinary job file.
    std::fs::remove_file(dir.path().join("jobs/zz.yaml")).unwrap();
    std::fs::remove_file(dir.path().join("jobs/zz.test.yaml")).unwrap();
    std::os::unix::fs::symlink("w.yaml", dir.path().join("jobs/also.yaml")).unwrap();
    let out = run(dir.path(), &["validate", "jobs"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("jobs/also.yaml: ok: w "), "{}", out.stdout);
}

/// A file that is no YAML mapping is located but not quoted: whatever it holds stays out of logs.
#[test]
fn a_file_that_is_no_mapping_is_not_quoted() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "creds.yaml", SECRET);
    write(dir.path(), "pgpass.yaml", "db.example.org:5432:*:meter:TOKEN\n");
    write(dir.path(), "hosts.yml", "github.com:\n  oauth_token: TOKEN\n");
    write(dir.path(), "broken.yaml", "template: x\n  key: TOKEN: x\n");
    let out = run(dir.path(), &["validate", "creds.yaml", "pgpass.yaml", "hosts.yml", "broken.yaml"]);
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "broken.yaml:2:6: error: invalid YAML: mapping values are not allowed in this context\n\
         creds.yaml:1:1: error: a job file must be a YAML mapping of fields\n\
         hosts.yml:1:11: error: (top level): missing field `template` (time_window_aggregation or multi_point_merging)\n\
         pgpass.yaml:1:1: error: a job file must be a YAML mapping of fields\n\
         4 problems found in job files\n"
    );
}

// ---- test files ---------------------------------------------------------------------------

/// A folder with the window job in `suite/`, its test file holding `tests` (one test's fields,
/// indented under the list entry), and a file outside `suite/` (`victim.txt`) that no test may
/// read or overwrite.
fn test_suite(test: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("suite")).unwrap();
    write(&dir.path().join("suite"), "w.yaml", WINDOW_JOB);
    write(&dir.path().join("suite"), "w.test.yaml", format!("tests:\n  - name: t\n{test}"));
    write(dir.path(), "victim.txt", "SECRET first line\n");
    dir
}

const OUTSIDE: &str =
    "it is outside the test file's folder; a test reads (and --bless writes) only files in its folder or below";

/// `expect_file: /abs/path` (or a link out of the folder) was overwritten by `--bless` with the job's
/// output, and without `--bless` the FAIL diff printed the file's first line.
#[test]
fn test_files_stay_in_their_folder() {
    let input = "    input: |\n      timestamp,asset,point,value\n      2024-01-01T00:00:00Z,m1,Reading,1\n";
    let dir = test_suite("");
    let victim = dir.path().join("victim.txt");
    std::os::unix::fs::symlink(&victim, dir.path().join("suite/link.csv")).unwrap();
    for (field, value) in [
        ("expect_file", victim.display().to_string()),
        ("expect_file", "../victim.txt".to_string()),
        ("expect_file", "link.csv".to_string()),
        ("input_file", "/dev/zero".to_string()),
        ("input_config", "../victim.txt".to_string()),
    ] {
        let test = if field == "input_file" {
            format!("    {field}: {value}\n    expect_counts:\n      rows_read: 1\n")
        } else {
            format!("{input}    {field}: {value}\n    expect_counts:\n      rows_read: 1\n")
        };
        write(&dir.path().join("suite"), "w.test.yaml", format!("tests:\n  - name: t\n{test}"));
        for args in [&["test", "suite"][..], &["test", "suite", "--bless"]] {
            let out = run(dir.path(), args);
            assert_eq!(out.status, 2, "{field}: {value}: {}{}", out.stdout, out.stderr);
            assert!(out.stderr.contains(OUTSIDE), "{field}: {value}: {}", out.stderr);
            assert!(!out.stdout.contains("SECRET") && !out.stderr.contains("SECRET"), "{}{}", out.stdout, out.stderr);
            assert_eq!(std::fs::read_to_string(&victim).unwrap(), "SECRET first line\n", "{field}: {value}");
        }
    }
}

/// A fixture in the folder is held to the job files' 1 MiB cap, like the test file itself.
#[test]
fn test_fixtures_are_capped_at_1_mib() {
    let dir = test_suite("    input_file: big.csv\n    expect_counts:\n      rows_read: 1\n");
    let row = "2024-01-01T00:00:00Z,m1,Reading,1\n";
    write(&dir.path().join("suite"), "big.csv", format!("{HEADER}{}", row.repeat((1 << 20) / row.len() + 1)));
    let out = run(dir.path(), &["test", "suite"]);
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "tests[0].input_file: cannot read fixture file suite/big.csv: the file is larger than 1024 KiB; a test \
             fixture is a few rows"
        ),
        "{}",
        out.stderr
    );
}

// ---- output encoders ----------------------------------------------------------------------

/// A point-mode merge writing `logic` at every `Reading`.
pub(crate) fn merge_job(logic: &str) -> String {
    format!(
        "name: m\ntemplate: multi_point_merging\nmodel: M\ntrigger:\n  mode: point\npolicies:\n  - output: Out\n    \
         trigger_point: Reading\n    logic: '{logic}'\n"
    )
}

/// An asset ending in `\` escaped the separating space (`asset=m1\ value=1`), joining the tag
/// and the field into one tag value; it is written as two backslashes now.
#[test]
fn influx_escapes_a_backslash_in_names() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", merge_job("${M::Reading}"));
    write(dir.path(), "in.csv", format!("{HEADER}2024-01-01T00:00:00Z,m1\\,Reading,1\n"));
    let out = run(dir.path(), &["run", "m.yaml", "--input", "in.csv", "--format", "influx", "-q"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "Out,asset=m1\\\\ value=1 1704067200000000000\n");
}

/// A text result holding a line break split into a second, forged line (`O2 value=666 1`) with
/// exit status 0; a control character in a name went out raw. Both are refused now, exit 1.
#[test]
fn influx_refuses_line_breaks_and_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", merge_job(r#"if ${M::Reading} > 1 { "x\nO2 value=666 1" } else { 1 }"#));
    write(dir.path(), "in.csv", format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,2\n"));
    let out = run(dir.path(), &["run", "m.yaml", "--input", "in.csv", "--format", "influx", "-q"]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(!out.stdout.contains("O2"), "{}", out.stdout);
    assert!(
        out.stderr.contains("line protocol cannot hold a line break in a text value: asset \"m1\", point \"Out\""),
        "{}",
        out.stderr
    );
    // A name with a control character no longer reaches an output: the input refuses its row.
    write(dir.path(), "in.csv", format!("{HEADER}2024-01-01T00:00:00Z,m\tb,Reading,1\n"));
    let out = run(dir.path(), &["run", "m.yaml", "--input", "in.csv", "--format", "influx", "-q"]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("in.csv:2: column 2 (asset): invalid asset \"m\\tb\""), "{}", out.stderr);
}

/// A NUL (or any control character) in a name went into CSV output unquoted; names holding one
/// are refused by the input now (see `bounds.rs`), and a text value holding one is quoted.
#[test]
fn csv_quotes_fields_with_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", merge_job(r#"if ${M::Reading} > 0 { "a\tb" } else { 0 }"#));
    write(dir.path(), "in.csv", format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1\n"));
    let out = run(dir.path(), &["run", "m.yaml", "--input", "in.csv", "-q"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, format!("{HEADER}2024-01-01T00:00:00.000Z,m1,Out,\"a\tb\"\n"));
}

// ---- expressions --------------------------------------------------------------------------

/// rhai's `pad` with an empty padding never returned: `validate`, `explain`, `run` and `test` hung
/// at 100% CPU (the form behind `if` passed `validate` and hung `run` on the row with A = 2). Now
/// each evaluation that reaches it fails and is counted; the run goes on.
#[test]
fn pad_with_an_empty_padding_does_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    let input = format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:05:00Z,m1,Reading,2\n");
    write(dir.path(), "in.csv", &input);
    for logic in [
        r#""abc".pad(5, "") + ${M::Reading}"#,
        r#"if ${M::Reading} > 1 { type_of("abc".pad(5, "")).len() } else { ${M::Reading} }"#,
    ] {
        write(dir.path(), "m.yaml", merge_job(logic));
        let indented: String = input.lines().map(|l| format!("      {l}\n")).collect();
        let test = format!("tests:\n  - name: t\n    input: |\n{indented}    expect_counts:\n      rows_read: 2\n");
        write(dir.path(), "m.test.yaml", test);
        for args in [&["validate", "m.yaml"][..], &["explain", "m.yaml"], &["test", "m.yaml"]] {
            let out = run(dir.path(), args);
            assert_eq!(out.status, 0, "{logic}: {args:?}: {}{}", out.stdout, out.stderr);
        }
        let out = run(dir.path(), &["run", "m.yaml", "--input", "in.csv"]);
        assert_eq!(out.status, 0, "{logic}: {}", out.stderr);
        assert!(out.stderr.contains("evaluation failed: Runtime error: pad: the padding is empty"), "{}", out.stderr);
    }
}

/// A balanced sum of 4,096 operands is 13 levels deep, within the depth limit, and takes 12,286
/// of rhai's operations: each evaluation fails at the operation limit, as every expression does,
/// although it is plain arithmetic that the fast path could answer (it did, before the fast path
/// left such expressions to rhai). Half of it fits and is written: 2,048 times each reading.
#[test]
fn the_operation_limit_holds_for_plain_arithmetic() {
    fn sum(n: usize) -> String {
        if n == 1 { "${M::Reading}".to_string() } else { format!("({} + {})", sum(n / 2), sum(n / 2)) }
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "in.csv",
        format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:05:00Z,m1,Reading,2\n"),
    );
    write(dir.path(), "m.yaml", merge_job(&sum(4096)));
    let out = run(dir.path(), &["run", "m.yaml", "--input", "in.csv"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, HEADER);
    assert!(out.stderr.contains("2 evaluation errors"), "{}", out.stderr);
    assert!(out.stderr.contains("evaluation failed: Too many operations"), "{}", out.stderr);
    write(dir.path(), "m.yaml", merge_job(&sum(2048)));
    let out = run(dir.path(), &["run", "m.yaml", "--input", "in.csv", "-q"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let values: Vec<&str> = out.stdout.lines().skip(1).filter_map(|l| l.rsplit(',').next()).collect();
    assert_eq!(values, ["2048", "4096"], "{}", out.stdout);
}

/// A legal 32 KB expression, a balanced `&&` tree of 1,024 `("x".pad(4096, "y") == ())`, cost
/// 73 ms per evaluation (8 CPU-days for 10M rows). It now fails each evaluation at the string-work
/// budget after sixteen pads, as a counted evaluation error.
#[test]
fn string_work_over_the_budget_is_an_evaluation_error() {
    fn tree(depth: u32) -> String {
        if depth == 0 {
            r#"("x".pad(4096, "y") == ())"#.to_string()
        } else {
            format!("({} && {})", tree(depth - 1), tree(depth - 1))
        }
    }
    let logic = tree(10);
    assert!(logic.len() > 30_000, "{}", logic.len());
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", merge_job(&format!("{logic} || ${{M::Reading}} > 0")));
    write(
        dir.path(),
        "in.csv",
        format!("{HEADER}2024-01-01T00:00:00Z,m1,Reading,1\n2024-01-01T00:05:00Z,m1,Reading,2\n"),
    );
    let out = run(dir.path(), &["run", "m.yaml", "--input", "in.csv"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, HEADER);
    assert!(out.stderr.contains("2 evaluation errors"), "{}", out.stderr);
    assert!(
        out.stderr.contains("evaluation failed: String work in one evaluation (64 KiB) too large"),
        "{}",
        out.stderr
    );
}

//! `run -o postgresql://...` against a real PostgreSQL server each test starts for itself (see
//! `pg/server.rs`): the table holds what the CSV output holds, reruns and `updates` runs converge
//! on it, a server lost mid-run stops the run with the committed-row count, and a table, login or
//! database that cannot work is refused naming the server, never the password.

use crate::server::{PASSWORD, Server};
use crate::support::stderr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// One output row: timestamp text, asset, point, value.
type Row = (String, String, String, f64);

fn meterflow(args: &[&str]) -> Command {
    let mut command = crate::support::meterflow();
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PGPASSWORD", PASSWORD)
        .env_remove("PGPASSFILE")
        .env_remove("PGUSER")
        .env_remove("PGHOST")
        // The test servers have no TLS (tls.rs's have, and set these per run): a developer's
        // PGSSLMODE=require would otherwise fail every test here.
        .env_remove("PGSSLMODE")
        .env_remove("PGSSLROOTCERT");
    command
}

fn run_ok(command: &mut Command) -> Output {
    let out = command.output().expect("meterflow runs");
    assert!(out.status.success(), "meterflow failed: {}", stderr(&out));
    out
}

/// The seed pipeline over the sample readings into `uri`, in `emit` mode.
fn seed_into(uri: &str, emit: &str) -> Output {
    run_ok(&mut meterflow(&["run", "jobs/", "-i", "samples/meters.csv", "--emit", emit, "-o", uri]))
}

fn csv_rows(text: &str) -> Vec<Row> {
    let mut rows: Vec<Row> = text
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (f[0].to_string(), f[1].to_string(), f[2].to_string(), f[3].parse().expect("a number"))
        })
        .collect();
    rows.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    rows
}

fn table_rows(client: &mut postgres::Client, table: &str) -> Vec<Row> {
    let query = format!(
        "SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), asset, point, value FROM {table} \
         ORDER BY 1, 2, 3"
    );
    client
        .query(&query, &[])
        .expect("the table reads")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

fn count(client: &mut postgres::Client, table: &str) -> i64 {
    client.query_one(&format!("SELECT count(*) FROM {table}"), &[]).expect("count").get(0)
}

#[test]
fn the_seed_pipeline_table_equals_its_csv_output() {
    let Some(server) = Server::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("out.csv");
    run_ok(&mut meterflow(&["run", "jobs/", "-i", "samples/meters.csv", "-o", csv.to_str().unwrap()]));
    let out = seed_into(&server.uri("postgres", "points"), "final");
    let expected = csv_rows(&std::fs::read_to_string(&csv).unwrap());
    // The golden file is the reference model's, worked out apart from meterflow.
    let golden = csv_rows(&std::fs::read_to_string(Path::new("samples/expected_pipeline.csv")).unwrap());
    assert_eq!(expected, golden);
    let mut client = server.client();
    assert_eq!(table_rows(&mut client, "points"), expected);
    let labels: Vec<(String, i64, String)> = client
        .query("SELECT DISTINCT emit, revision, job FROM points ORDER BY 3", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        labels,
        [
            ("final".to_string(), 0, "meter-max-min".to_string()),
            ("final".to_string(), 0, "meter-reading-difference".to_string())
        ]
    );
    assert!(
        stderr(&out).contains(&format!("{} output rows committed to table points on", expected.len())),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_rerun_leaves_the_row_count_unchanged() {
    let Some(server) = Server::start() else { return };
    let uri = server.uri("postgres", "points") + "&batch=300";
    seed_into(&uri, "final");
    let mut client = server.client();
    let (first, rows) = (count(&mut client, "points"), table_rows(&mut client, "points"));
    assert_eq!(first, 2586);
    seed_into(&uri, "final");
    assert_eq!(count(&mut client, "points"), first);
    assert_eq!(table_rows(&mut client, "points"), rows);
}

#[test]
fn updates_runs_converge_on_the_final_rows() {
    let Some(server) = Server::start() else { return };
    let mut client = server.client();
    seed_into(&server.uri("postgres", "final_rows"), "final");
    let finals = table_rows(&mut client, "final_rows");
    // A small batch puts a key's on_time row and its late revisions in different transactions.
    let updates = server.uri("postgres", "update_rows") + "&batch=7";
    seed_into(&updates, "updates");
    assert_eq!(table_rows(&mut client, "update_rows"), finals);
    let revised: i64 = client.query_one("SELECT count(*) FROM update_rows WHERE emit = 'late'", &[]).unwrap().get(0);
    assert!(revised > 0, "the sample has late revisions, so the test sees them replace on_time rows");
    // The last run's rows win, labels too: the values stay those of the final rows.
    seed_into(&server.uri("postgres", "final_rows"), "updates");
    seed_into(&updates, "final");
    for (table, relabelled) in [("final_rows", true), ("update_rows", false)] {
        assert_eq!(table_rows(&mut client, table), finals, "{table}");
        let labels: i64 =
            client.query_one(&format!("SELECT count(*) FROM {table} WHERE emit <> 'final'"), &[]).unwrap().get(0);
        assert_eq!(labels > 0, relabelled, "{table}");
    }
}

/// Issue 27, case 4: a `final` run, then an `updates` run whose input changes a window: the
/// corrected value reaches the table, and the count committed is the rows applied.
#[test]
fn a_later_runs_corrected_value_reaches_the_table() {
    let Some(server) = Server::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("sum.yaml");
    std::fs::write(
        &job,
        "name: s\ntemplate: time_window_aggregation\nmodel: M\npolicies:\n  - {input: R, aggregation: sum, \
         window_size: 1h, output: S}\n",
    )
    .unwrap();
    let (first, second) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    std::fs::write(&first, "timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,R,1\n2024-01-01T00:30:00Z,m1,R,2\n")
        .unwrap();
    std::fs::write(&second, "timestamp,asset,point,value\n2024-01-01T00:00:00Z,m1,R,1\n2024-01-01T00:30:00Z,m1,R,5\n")
        .unwrap();
    let uri = server.uri("postgres", "corrected");
    let job = job.to_str().unwrap();
    run_ok(&mut meterflow(&["run", job, "-i", first.to_str().unwrap(), "-o", &uri]));
    let out = run_ok(&mut meterflow(&["run", job, "-i", second.to_str().unwrap(), "--emit", "updates", "-o", &uri]));
    assert!(stderr(&out).contains("1 output row committed"), "{}", stderr(&out));
    let mut client = server.client();
    let rows = table_rows(&mut client, "corrected");
    assert_eq!(rows, [("2024-01-01T00:00:00.000Z".to_string(), "m1".to_string(), "S".to_string(), 6.0)]);
}

/// `hours` of readings every 15 s for one meter from `from_hour` on 2024-03-01, in time order.
fn readings(from_hour: u32, hours: u32) -> String {
    let mut text = String::new();
    for i in from_hour * 240..(from_hour + hours) * 240 {
        let (day, seconds) = (1 + i / 5760, i % 5760 * 15);
        let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        text += &format!("2024-03-{day:02}T{h:02}:{m:02}:{s:02}.000Z,meter-001,Reading,{}\n", i % 97);
    }
    text
}

/// Waits until `table` has rows while the run goes on (the run reads its stdin as it comes).
/// Generous bound: it only turns a run that never commits into a failure rather than a hang.
fn wait_for_rows(server: &Server, child: &mut std::process::Child, table: &str) -> i64 {
    let mut client = server.client();
    for _ in 0..1200 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before committing anything");
        }
        let exists = client.query_opt("SELECT 1 FROM pg_tables WHERE tablename = $1", &[&table]).unwrap().is_some();
        if exists && count(&mut client, table) > 0 {
            return count(&mut client, table);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no rows reached table {table} in 60 s while the run read its input");
}

#[test]
fn a_live_input_commits_whenever_it_waits() {
    let Some(server) = Server::start() else { return };
    let input = format!("timestamp,asset,point,value\n{}", readings(0, 30));
    let mut child = meterflow(&["run", "jobs/", "-q", "-o", &server.uri("postgres", "points")])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meterflow starts");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    stdin.flush().unwrap();
    // Far fewer rows than a batch (10000): only the wait for more input can have committed them.
    let seen = wait_for_rows(&server, &mut child, "points");
    assert!(child.try_wait().unwrap().is_none(), "the run goes on while stdin is open");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    let (file, csv) = (dir.path().join("in.csv"), dir.path().join("out.csv"));
    std::fs::write(&file, &input).unwrap();
    run_ok(&mut meterflow(&["run", "jobs/", "-i", file.to_str().unwrap(), "-o", csv.to_str().unwrap()]));
    let expected = csv_rows(&std::fs::read_to_string(&csv).unwrap());
    assert!(seen < expected.len() as i64, "{seen} of {} rows before the end of input", expected.len());
    assert_eq!(table_rows(&mut server.client(), "points"), expected);
}

#[test]
fn a_server_stopped_mid_run_gives_exit_1_with_the_committed_row_count() {
    let Some(server) = Server::start() else { return };
    let mut child =
        meterflow(&["run", "jobs/", "--threads", "1", "-o", &(server.uri("postgres", "points") + "&batch=10")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("meterflow starts");
    let mut stdin = child.stdin.take().unwrap();
    // Windows close a day (the job's latency) after they end: 30 hours commit a few batches.
    stdin.write_all(format!("timestamp,asset,point,value\n{}", readings(0, 30)).as_bytes()).unwrap();
    stdin.flush().unwrap();
    wait_for_rows(&server, &mut child, "points");
    server.stop_immediately();
    // More readings close more windows; the next commit finds the server gone. The run may stop
    // before it has read them all, so a closed pipe here is expected.
    let _ = stdin.write_all(readings(30, 30).as_bytes());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(message.contains(&server.name("postgres")), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");
    let committed = committed_rows(&message, "points");
    server.restart();
    assert!(committed > 0);
    let rows = count(&mut server.client(), "points");
    // The failed batch is a full one, or the last, shorter one flushed at the end of input when
    // the run reads all the readings before it meets the stopped server.
    let batch = failed_batch_rows(&message);
    assert!((1..=10).contains(&batch), "{message}");
    let batch_rows = if batch == 1 { "1 row".to_string() } else { format!("{batch} rows") };
    // The server may stop between applying a commit and answering it: then the run cannot know,
    // and says so; the batch is in the table or not.
    if message.contains(&format!("the commit of a batch of {batch_rows} was not confirmed")) {
        assert!(rows == committed || rows == committed + batch, "{rows} rows: {message}");
    } else {
        assert!(message.contains(&format!("a batch of {batch_rows} was not committed")), "{message}");
        assert_eq!(rows, committed, "{message}");
    }
}

/// The `N` of `a batch of N rows` (or `1 row`) in `message`.
fn failed_batch_rows(message: &str) -> i64 {
    message
        .split("a batch of ")
        .nth(1)
        .and_then(|tail| tail.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no failed batch in: {message}"))
}

/// The `N` of `N rows committed to table TABLE before the error` in `message`.
fn committed_rows(message: &str, table: &str) -> i64 {
    message
        .split(&format!(" rows committed to table {table} before the error"))
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no committed-row count in: {message}"))
}

#[test]
fn a_constraint_error_stops_the_run_with_the_batches_before_it_committed() {
    let Some(server) = Server::start() else { return };
    let mut client = server.client();
    // The table as meterflow would create it, plus a check that some sample maxima break.
    client
        .batch_execute(
            "CREATE TABLE points (ts timestamptz NOT NULL, asset text NOT NULL, point text NOT NULL, \
             value double precision CHECK (value < 50), text_value text, job text NOT NULL, emit text NOT NULL, \
             revision bigint NOT NULL, PRIMARY KEY (asset, point, ts))",
        )
        .unwrap();
    let uri = server.uri("postgres", "points") + "&batch=100";
    let out = meterflow(&["run", "jobs/", "-i", "samples/meters.csv", "-o", &uri]).output().unwrap();
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(message.contains(&server.name("postgres")), "{message}");
    assert!(message.contains("a batch of 100 rows was not committed: ERROR 23514"), "{message}");
    let committed = committed_rows(&message, "points");
    assert_eq!(committed % 100, 0, "whole batches: {message}");
    assert_eq!(count(&mut client, "points"), committed);
    let broken: i64 = client.query_one("SELECT count(*) FROM points WHERE value >= 50", &[]).unwrap().get(0);
    assert_eq!(broken, 0);
}

#[test]
fn a_table_with_other_columns_is_refused() {
    let Some(server) = Server::start() else { return };
    server
        .client()
        .batch_execute("CREATE TABLE points (ts timestamptz, asset text, value text, PRIMARY KEY (asset, ts))")
        .unwrap();
    let out = meterflow(&["run", "jobs/", "-i", "samples/meters.csv", "-o", &server.uri("postgres", "points")])
        .output()
        .unwrap();
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(message.contains(&server.name("postgres")), "{message}");
    assert!(message.contains("table points exists but cannot take the output"), "{message}");
    assert!(message.contains("no column `point` (text)"), "{message}");
    assert!(message.contains("column `value` is text, not double precision or numeric"), "{message}");
    assert!(message.contains("no primary key or unique index on (asset, point, ts)"), "{message}");
    assert!(message.contains("no rows committed"), "{message}");
}

#[test]
fn a_refused_login_or_a_missing_database_names_the_server_not_the_password() {
    let Some(server) = Server::start() else { return };
    let out = meterflow(&["run", "jobs/", "-i", "samples/meters.csv", "-o", &server.uri("postgres", "points")])
        .env("PGPASSWORD", "not-the-Quokka")
        .output()
        .unwrap();
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(message.contains(&format!("PostgreSQL {}: login refused", server.name("postgres"))), "{message}");
    assert!(!message.contains("Quokka"), "{message}");

    let out =
        meterflow(&["run", "jobs/", "-i", "samples/meters.csv", "-o", &server.uri("nodb", "points")]).output().unwrap();
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(
        message.contains(&format!("PostgreSQL {}: database \"nodb\" does not exist", server.name("nodb"))),
        "{message}"
    );
    assert!(!message.contains(PASSWORD), "{message}");
}

#[test]
fn the_password_comes_from_the_password_file() {
    let Some(server) = Server::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pgpass = dir.path().join("pgpass");
    std::fs::write(&pgpass, format!("other:*:*:*:no\n127.0.0.1:{}:postgres:postgres:{PASSWORD}\n", server.port))
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = meterflow(&["run", "jobs/", "-i", "samples/meters.csv", "-q", "-o", &server.uri("postgres", "points")])
        .env_remove("PGPASSWORD")
        .env("PGPASSFILE", &pgpass)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(count(&mut server.client(), "points"), 2586);
}

#[test]
fn a_hypertable_needs_the_timescaledb_extension() {
    let Some(server) = Server::start() else { return };
    let out = meterflow(&[
        "run",
        "jobs/",
        "-i",
        "samples/meters.csv",
        "--create-hypertable",
        "-o",
        &server.uri("postgres", "points"),
    ])
    .output()
    .unwrap();
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(message.contains("the timescaledb extension is not installed in database postgres"), "{message}");
}

#[test]
fn flags_that_cannot_apply_are_usage_errors_before_any_connection() {
    // Port 1: nothing listens there, so reaching the server would be a different error (exit 1).
    let uri = "postgresql://meter@127.0.0.1:1/ops?table=points";
    let cases: [(&[&str], &str); 5] = [
        (&["-o", "postgresql://meter:pw-Hidden@127.0.0.1:1/ops?table=points"], "set PGPASSWORD"),
        (&["-o", "postgresql://meter@127.0.0.1:1/ops"], "name the table"),
        (&["-o", uri, "--format", "jsonl"], "--format does not apply to a database output"),
        (&["-o", uri, "--decimals", "2"], "--decimals does not apply to a database output"),
        (&["--create-hypertable"], "--create-hypertable applies to a database output"),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["run", "jobs/", "-i", "samples/meters.csv"];
        args.extend_from_slice(flags);
        let out = meterflow(&args).output().unwrap();
        let message = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {message}");
        assert!(message.contains(expected), "{flags:?}: {message}");
        assert!(!message.contains("pw-Hidden"), "{message}");
    }
}

#[test]
fn a_run_split_by_state_fills_the_table_as_one_run_does() {
    let Some(server) = Server::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("samples/meters.csv").unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    std::fs::write(&first, lines[..20_000].join("\n") + "\n").unwrap();
    std::fs::write(&second, format!("{}\n{}\n", lines[0], lines[20_000..].join("\n"))).unwrap();
    let state = dir.path().join("run.state");
    let uri = server.uri("postgres", "split");
    for (input, finish) in [(&first, false), (&second, true)] {
        let mut args =
            vec!["run", "jobs/", "-i", input.to_str().unwrap(), "--state", state.to_str().unwrap(), "-o", &uri];
        if finish {
            args.push("--finish");
        }
        run_ok(&mut meterflow(&args));
    }
    seed_into(&server.uri("postgres", "whole"), "final");
    let mut client = server.client();
    let whole = table_rows(&mut client, "whole");
    assert_eq!(whole.len(), 2586);
    assert_eq!(table_rows(&mut client, "split"), whole);
}

/// The committed count was the rows sent: a trigger that drops rows made the summary claim rows
/// the table never got. It is the server's count of rows inserted or updated now.
#[test]
fn the_committed_count_is_the_rows_the_server_wrote() {
    let Some(server) = Server::start() else { return };
    let mut client = server.client();
    client
        .batch_execute(
            "CREATE TABLE points (ts timestamptz NOT NULL, asset text NOT NULL, point text NOT NULL, \
             value double precision, text_value text, job text NOT NULL, emit text NOT NULL, \
             revision bigint NOT NULL, PRIMARY KEY (asset, point, ts));
             CREATE FUNCTION drop_high() RETURNS trigger AS $$ BEGIN \
               IF NEW.value >= 50 THEN RETURN NULL; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
             CREATE TRIGGER drop_high BEFORE INSERT ON points FOR EACH ROW EXECUTE FUNCTION drop_high();",
        )
        .unwrap();
    let out = seed_into(&server.uri("postgres", "points"), "final");
    let stored = count(&mut client, "points");
    assert!(stored > 0 && stored < 2586, "the trigger drops some rows: {stored}");
    let message = stderr(&out);
    assert!(
        message.contains(&format!("{stored} output rows committed to table points on {}", server.name("postgres"))),
        "{message}"
    );
    assert!(message.contains("(2586 sent: the server inserted or updated"), "{message}");
}

/// A table the server refuses gave "db error" alone; the SQLSTATE and the server's message now.
#[test]
fn table_errors_show_the_servers_code_and_message() {
    let Some(server) = Server::start() else { return };
    let out = meterflow(&["run", "jobs/", "-i", "samples/meters.csv", "-o", &server.uri("postgres", "nowhere.points")])
        .output()
        .unwrap();
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(message.contains("ERROR 3F000: schema \"nowhere\" does not exist"), "{message}");
    assert!(!message.contains("db error"), "{message}");
}

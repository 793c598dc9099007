//! TLS to the test's own server (issue 32): `sslmode` and `sslrootcert` as libpq means them. The
//! server's certificate names `localhost` and is signed by a root made for the test; the server
//! logs each connection, and whether it used TLS.

use crate::server::{PASSWORD, Server};
use crate::support::stderr;
use std::path::Path;

/// Runs the max/min job into `table` over `uri_tail` (`host:port/db?...`), with HOME in an empty
/// folder so that no `~/.postgresql/root.crt` takes part.
fn run(server: &Server, host: &str, table: &str, query: &str) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let uri = format!("postgresql://postgres@{host}:{}/postgres?table={table}{query}", server.port);
    crate::support::meterflow()
        .args(["run", "jobs/meter_max_min.yaml", "-i", "samples/meters.csv", "-q", "-o", &uri])
        .env("PGPASSWORD", PASSWORD)
        .env("HOME", home.path())
        .env_remove("PGSSLMODE")
        .env_remove("PGSSLROOTCERT")
        .env_remove("PGPASSFILE")
        .output()
        .unwrap()
}

fn root(path: &Path) -> String {
    format!("&sslrootcert={}", path.to_str().unwrap())
}

/// Connections the server log has authorised so far, with TLS and without.
fn connections(server: &Server) -> (usize, usize) {
    let log = server.log();
    let authorized = log.lines().filter(|l| l.contains("connection authorized") && l.contains("meterflow"));
    authorized
        .fold((0, 0), |(tls, plain), l| if l.contains("SSL enabled") { (tls + 1, plain) } else { (tls, plain + 1) })
}

#[test]
fn verify_full_with_the_right_root_passes_and_with_a_wrong_root_fails_clearly() {
    let Some((server, roots)) = Server::start_tls() else { return };
    let out = run(&server, "localhost", "tls_full", &format!("&sslmode=verify-full{}", root(&roots.right)));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(connections(&server), (1, 0), "{}", server.log());
    let rows: i64 = server.client().query_one("SELECT count(*) FROM tls_full", &[]).unwrap().get(0);
    assert!(rows > 0);

    let out = run(&server, "localhost", "wrong", &format!("&sslmode=verify-full{}", root(&roots.wrong)));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let expected = format!(
        "error: PostgreSQL postgres@localhost:{}/postgres: TLS: the server's certificate was refused under \
         sslmode=verify-full: it is not signed by a root of sslrootcert {}",
        server.port,
        roots.wrong.display()
    );
    assert!(err.starts_with(&expected), "{err}");
    assert!(err.trim_end().ends_with("; no rows committed"), "{err}");
    assert!(!err.contains(PASSWORD));
}

/// The certificate names `localhost`: at 127.0.0.1, verify-full refuses it for the name and
/// verify-ca, which checks the issuer only, takes it; require and prefer encrypt without a check,
/// disable does not encrypt.
#[test]
fn each_sslmode_checks_what_libpq_checks() {
    let Some((server, roots)) = Server::start_tls() else { return };
    let out = run(&server, "127.0.0.1", "t", &format!("&sslmode=verify-full{}", root(&roots.right)));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("it is not issued for host \"127.0.0.1\""), "{}", stderr(&out));
    for query in [format!("&sslmode=verify-ca{}", root(&roots.right)), "&sslmode=require".into(), String::new()] {
        let out = run(&server, "127.0.0.1", "t", &query);
        assert!(out.status.success(), "{query}: {}", stderr(&out));
    }
    // require with a root file checks it, as libpq does.
    let out = run(&server, "127.0.0.1", "t", &format!("&sslmode=require{}", root(&roots.wrong)));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(connections(&server), (3, 0), "{}", server.log());
    let out = run(&server, "127.0.0.1", "t", "&sslmode=disable");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(connections(&server), (3, 1), "{}", server.log());
    // verify-full without any root file says where libpq looks and what else to do.
    let out = run(&server, "localhost", "t", "&sslmode=verify-full");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(".postgresql/root.crt does not exist: name one with sslrootcert=FILE"),
        "{}",
        stderr(&out)
    );
}

//! A throwaway PostgreSQL server for the database-output tests: `initdb` in a temporary directory
//! (as the unprivileged `postgres` user when the tests run as root), `pg_ctl start` on 127.0.0.1
//! on a free port from 5439 up, password login (scram-sha-256) for the superuser `postgres`, and
//! `pg_ctl stop` when dropped. Without server binaries, [`Server::start`] says SKIPPED loudly and
//! gives `None`, unless `MF_REQUIRE_PG=1` (CI), where a missing server fails the test.
//! [`Server::start_tls`] also turns TLS on, with a certificate for `localhost` signed by a root
//! made for the test (the `openssl` command line), and logs each connection.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU16, Ordering};

/// The superuser's password: distinctive, so a test can check that no message shows it.
pub const PASSWORD: &str = "pw-Quokka-7319";

/// The next port to try; each test of the binary takes its own.
static NEXT_PORT: AtomicU16 = AtomicU16::new(5439);

pub struct Server {
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
    as_postgres: bool,
    tls: bool,
}

/// The certificate files of a TLS server: the root that signed its certificate, and another.
pub struct Roots {
    pub right: PathBuf,
    pub wrong: PathBuf,
}

/// `initdb` on PATH, else in the newest /usr/lib/postgresql/N/bin (Debian keeps it off PATH).
fn server_binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file());
    if let Some(dir) = on_path {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn id(args: &[&str]) -> u32 {
    let out = Command::new("id").args(args).output().expect("id runs");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("id prints a number")
}

impl Server {
    /// Starts a server, or says SKIPPED and gives `None` when no server binaries exist.
    pub fn start() -> Option<Server> {
        Server::start_with(false)
    }

    /// A server with TLS on, and the roots to check its certificate with.
    pub fn start_tls() -> Option<(Server, Roots)> {
        let server = Server::start_with(true)?;
        let roots = Roots { right: server.dir.path().join("ca.crt"), wrong: server.dir.path().join("other.crt") };
        Some((server, roots))
    }

    fn start_with(tls: bool) -> Option<Server> {
        let Some(bin) = server_binaries() else {
            if std::env::var("MF_REQUIRE_PG").is_ok_and(|v| v == "1") {
                panic!("MF_REQUIRE_PG=1 but no PostgreSQL binaries (initdb) were found: install postgresql");
            }
            eprintln!("SKIPPED: no PostgreSQL binaries (initdb) found; install postgresql to run the database tests");
            return None;
        };
        let as_postgres = id(&["-u"]) == 0;
        let dir = tempfile::Builder::new().prefix("meterflow-pg").tempdir().expect("temporary directory");
        let password_file = dir.path().join("password");
        std::fs::write(&password_file, PASSWORD).expect("password file");
        if as_postgres {
            let (uid, gid) = (id(&["-u", "postgres"]), id(&["-g", "postgres"]));
            for path in [dir.path(), &password_file] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown to postgres");
            }
        }
        if tls {
            make_certificates(dir.path());
        }
        if as_postgres {
            let (uid, gid) = (id(&["-u", "postgres"]), id(&["-g", "postgres"]));
            for name in ["server.crt", "server.key"].iter().filter(|_| tls) {
                std::os::unix::fs::chown(dir.path().join(name), Some(uid), Some(gid)).expect("chown to postgres");
            }
        }
        let mut server = Server { port: 0, bin, dir, as_postgres, tls };
        let data = server.data();
        server.pg(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "scram-sha-256",
                "--pwfile",
                &path(&password_file),
                "-N",
                "-E",
                "UTF8",
            ],
        );
        for _ in 0..50 {
            let port = NEXT_PORT.fetch_add(1, Ordering::Relaxed);
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                continue;
            }
            server.port = port;
            if server.try_start().status.success() {
                return Some(server);
            }
        }
        panic!("the test server did not start on any port from 5439:\n{}", server.log());
    }

    fn data(&self) -> String {
        path(&self.dir.path().join("data"))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Runs a server program, as `postgres` when the tests run as root.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let program = path(&self.bin.join(program));
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &program]);
            c
        } else {
            Command::new(&program)
        };
        command.args(args).current_dir(self.dir.path()).output().expect("server program runs")
    }

    fn pg(&self, program: &str, args: &[&str]) {
        let out = self.run(program, args);
        assert!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn try_start(&self) -> Output {
        let mut options =
            format!("-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off", self.port, path(self.dir.path()));
        if self.tls {
            let file = |name: &str| path(&self.dir.path().join(name));
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c log_connections=on",
                file("server.crt"),
                file("server.key")
            ));
        }
        let log = path(&self.dir.path().join("log"));
        // pg_ctl waits 60 s by default, and a start it gave up on would be retried on the next port
        // while the first server still comes up; a taken port fails at once whatever the limit.
        self.run("pg_ctl", &["-D", &self.data(), "-l", &log, "-o", &options, "-w", "-t", "600", "start"])
    }

    /// Starts the server again on its port (after [`Server::stop_immediately`]).
    pub fn restart(&self) {
        let out = self.try_start();
        assert!(out.status.success(), "restart failed:\n{}", self.log());
    }

    /// Stops the server at once, as a crash or a lost network would: sessions are cut.
    pub fn stop_immediately(&self) {
        self.pg("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }

    /// The `-o` URI of `table` in database `db` as the superuser.
    pub fn uri(&self, db: &str, table: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}?table={table}", self.port)
    }

    /// How messages name this server.
    pub fn name(&self, db: &str) -> String {
        format!("postgres@127.0.0.1:{}/{db}", self.port)
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .password(PASSWORD)
            .dbname("postgres")
            .connect(postgres::NoTls)
            .expect("the test connects to its server")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]);
    }
}

/// A root (`ca`), another root (`other`), and a server certificate for `localhost` (not for
/// 127.0.0.1) that `ca` signed, made with the `openssl` command line in `dir`.
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out =
            Command::new("openssl").args(args).current_dir(dir).output().unwrap_or_else(|e| {
                panic!("the TLS tests need the openssl command line (apt-get install openssl): {e}")
            });
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    for root in ["ca", "other"] {
        let (key_file, crt, subject) =
            (format!("{root}.key"), format!("{root}.crt"), format!("/CN=meterflow test {root}"));
        let mut args = vec!["req", "-x509"];
        args.extend(key);
        args.extend(["-days", "2", "-subj", &subject, "-keyout", &key_file, "-out", &crt]);
        args.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
        openssl(&args);
    }
    let mut args = vec!["req"];
    args.extend(key);
    args.extend(["-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"]);
    openssl(&args);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extensions file");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    ]);
    let mut permissions = std::fs::metadata(dir.join("server.key")).expect("key").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o600);
    std::fs::set_permissions(dir.join("server.key"), permissions).expect("key permissions");
}

fn path(p: &Path) -> String {
    p.to_str().expect("UTF-8 path").to_string()
}

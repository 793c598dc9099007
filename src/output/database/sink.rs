//! Output points upserted into a PostgreSQL table in batches. Each batch is one transaction:
//! binary COPY into a temporary staging table, then one `INSERT ... ON CONFLICT` applying the
//! replacement rule (see [`super::table::upsert`]). [`Output::flush`] commits what is pending
//! and returns only once the server has committed it, so whatever the run does after a flush
//! (save its state, say) never gets ahead of the database. Errors name the server as
//! `user@host:port/db` and say how many rows were committed before them: the rows the server says
//! the upsert inserted or updated, not the rows sent (a trigger or rule may drop some, and a row
//! equal to the stored one is left alone).

use super::pgpass::password_for;
use super::server_error::describe;
use super::target::{Env, SslMode, Target};
use super::{table, tls};
use crate::engine::names::Names;
use crate::engine::{Point, Value};
use crate::output::Output;
use crate::output::encode::emit_label;
use crate::text::count;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, Config, NoTls};
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Column types of the staging table, in COPY order.
const STAGING_TYPES: [Type; 9] = [
    Type::INT8,
    Type::TIMESTAMPTZ,
    Type::TEXT,
    Type::TEXT,
    Type::FLOAT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
];

/// What a database output does besides upserting.
#[derive(Debug, Clone, Copy, Default)]
pub struct SinkOptions {
    /// `--create-hypertable`.
    pub(crate) create_hypertable: bool,
}

/// Output points on their way into a table.
pub struct DatabaseSink {
    client: Client,
    target: Target,
    upsert: String,
    /// Points of the batch not yet committed.
    pending: Vec<Point>,
    /// Asset and point names by id, copied from the run's name table as ids first appear.
    names: [Vec<String>; 2],
    /// Job names by `Point::job`, copied at the first row.
    jobs: Vec<String>,
    /// Rows committed transactions inserted or updated, as the server counted them, and rows sent
    /// in them; shared with the run for its summary.
    committed: Arc<AtomicU64>,
    sent: Arc<AtomicU64>,
    /// The message of the batch that failed.
    failed: Option<String>,
    /// What the password lookup has to say (a `.pgpass` readable by others, say).
    warning: Option<String>,
}

impl DatabaseSink {
    /// Connects, creates or checks the table (and the hypertable when asked). A refused login, a
    /// missing database or an unusable table is an error naming the server, never the password.
    pub(crate) fn connect(target: Target, options: SinkOptions, env: Env) -> anyhow::Result<DatabaseSink> {
        let lookup = password_for(&target, env);
        let warning = lookup.warning.clone();
        let mut config = Config::new();
        config.user(&target.user).dbname(&target.database).port(target.port).application_name("meterflow");
        if target.is_socket() {
            config.host_path(&target.host);
        } else {
            config.host(&target.host);
        }
        if let Some(seconds) = target.connect_timeout {
            config.connect_timeout(Duration::from_secs(seconds));
        }
        let had_password = lookup.password.is_some();
        if let Some(password) = lookup.password {
            config.password(password);
        }
        let fail = |what: String| anyhow::anyhow!("PostgreSQL {target}: {what}; no rows committed");
        let tls = tls::for_target(&target, env).map_err(|e| fail(format!("{e:#}")))?;
        let problem = |e: postgres::Error| fail(connect_problem(&e, &target, had_password, tls.roots.as_deref()));
        config.ssl_mode(tls.mode);
        let mut client = match tls.connector {
            Some(connector) => config.connect(connector).map_err(problem)?,
            // `allow`: without TLS first, and with it if the server refuses a connection without.
            None if target.ssl_mode == SslMode::Allow && !target.is_socket() => match config.connect(NoTls) {
                Ok(client) => client,
                Err(_) => {
                    let retry = Target { ssl_mode: SslMode::Require, ssl_root_cert: None, ..target.clone() };
                    let tls = tls::for_target(&retry, &|_| None).map_err(|e| fail(format!("{e:#}")))?;
                    config.ssl_mode(tls.mode);
                    config.connect(tls.connector.ok_or_else(|| fail("TLS unavailable".into()))?).map_err(problem)?
                }
            },
            None => config.connect(NoTls).map_err(problem)?,
        };
        table::prepare(&mut client, &target).map_err(fail)?;
        if options.create_hypertable {
            table::create_hypertable(&mut client, &target).map_err(fail)?;
        }
        client.batch_execute(table::STAGING_DDL).map_err(|e| fail(describe(&e)))?;
        Ok(DatabaseSink {
            client,
            upsert: table::upsert(&target),
            pending: Vec::with_capacity(target.batch.min(1 << 16)),
            target,
            names: [Vec::new(), Vec::new()],
            jobs: Vec::new(),
            committed: Arc::default(),
            sent: Arc::default(),
            failed: None,
            warning,
        })
    }

    /// Rows committed so far (inserted or updated) and rows sent in those transactions, readable
    /// after the sink has moved to another thread.
    pub(crate) fn committed(&self) -> (Arc<AtomicU64>, Arc<AtomicU64>) {
        (Arc::clone(&self.committed), Arc::clone(&self.sent))
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// The warning met while connecting, for the run to say.
    pub(crate) fn take_warning(&mut self) -> Option<String> {
        self.warning.take()
    }

    fn commit(&mut self) -> io::Result<()> {
        // Once a batch has failed nothing more is sent, so the count in the message stays true.
        if let Some(message) = &self.failed {
            return Err(io::Error::other(message.clone()));
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        let affected = match self.send() {
            Ok(affected) => affected,
            Err(Failed { error, at_commit }) => {
                let batch = count(self.pending.len() as u64, "row", "rows");
                // A commit the server refused was rolled back; one whose answer never came (the
                // connection lost) may have been applied: only the server knew, and it is gone.
                let outcome = if at_commit && error.as_db_error().is_none() {
                    format!(
                        "the commit of a batch of {batch} was not confirmed: {}; the server may have applied it \
                         or not (a rerun writes its rows again, upserted by key)",
                        describe(&error)
                    )
                } else {
                    format!("a batch of {batch} was not committed: {}", describe(&error))
                };
                let message = format!(
                    "PostgreSQL {}: {outcome}; {} committed to table {} before the error",
                    self.target,
                    count(self.committed.load(Ordering::Relaxed), "row", "rows"),
                    self.target.table
                );
                self.failed = Some(message.clone());
                return Err(io::Error::other(message));
            }
        };
        self.committed.fetch_add(affected, Ordering::Relaxed);
        self.sent.fetch_add(self.pending.len() as u64, Ordering::Relaxed);
        self.pending.clear();
        Ok(())
    }

    /// Sends and commits the pending rows; the rows the upsert inserted or updated.
    fn send(&mut self) -> Result<u64, Failed> {
        let before = |error| Failed { error, at_commit: false };
        let mut transaction = self.client.transaction().map_err(before)?;
        let mut copy = BinaryCopyInWriter::new(transaction.copy_in(table::COPY).map_err(before)?, &STAGING_TYPES);
        let [assets, points] = &self.names;
        for (seq, p) in self.pending.iter().enumerate() {
            let (value, text) = match &p.value {
                Value::Text(text) => (None, Some(&**text)),
                other => (other.as_f64(), None),
            };
            let row: [&(dyn ToSql + Sync); 9] = [
                &(seq as i64),
                &system_time(p.ts),
                &assets[p.asset as usize],
                &points[p.point as usize],
                &value,
                &text,
                &self.jobs[p.job],
                &emit_label(p.emit),
                &i64::from(p.revision),
            ];
            copy.write(&row).map_err(before)?;
        }
        copy.finish().map_err(before)?;
        let affected = transaction.execute(self.upsert.as_str(), &[]).map_err(before)?;
        transaction.commit().map_err(|error| Failed { error, at_commit: true })?;
        Ok(affected)
    }
}

/// A batch that failed, and whether at its commit.
struct Failed {
    error: postgres::Error,
    at_commit: bool,
}

impl Output for DatabaseSink {
    fn point(&mut self, p: &Point, names: &Names) -> io::Result<()> {
        if self.jobs.len() < names.jobs.len() {
            self.jobs.clone_from(&names.jobs);
        }
        for (known, table, id) in [(0, &names.assets, p.asset), (1, &names.points, p.point)] {
            let known = &mut self.names[known];
            while known.len() <= id as usize {
                known.push(table.name(known.len() as u32).to_string());
            }
        }
        self.pending.push(p.clone());
        if self.pending.len() >= self.target.batch {
            self.commit()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.commit()
    }
}

/// Milliseconds since 1970 as the time the client library sends as `timestamptz`.
fn system_time(ms: i64) -> SystemTime {
    let offset = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 { UNIX_EPOCH + offset } else { UNIX_EPOCH - offset }
}

/// Why a connection failed, in the user's terms; `roots`: where the certificate's roots came from,
/// when it was checked.
fn connect_problem(e: &postgres::Error, target: &Target, had_password: bool, roots: Option<&str>) -> String {
    let code = e.code();
    if code == Some(&SqlState::INVALID_PASSWORD) || code == Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION) {
        let hint = if had_password { "" } else { " (no password found: set PGPASSWORD or add a line to ~/.pgpass)" };
        return format!("login refused: {}{hint}", describe(e));
    }
    if code == Some(&SqlState::INVALID_CATALOG_NAME) {
        return format!("database {:?} does not exist", target.database);
    }
    if !had_password && describe(e).contains("password missing") {
        return "the server asks for a password and none was found: set PGPASSWORD or add a line to ~/.pgpass"
            .to_string();
    }
    let text = describe(e);
    if let Some(roots) = roots.filter(|_| text.contains("invalid peer certificate")) {
        let why = if text.contains("NotValidForName") || text.contains("not valid for name") {
            format!("it is not issued for host {:?}", target.host)
        } else if text.contains("UnknownIssuer") {
            format!("it is not signed by a root of {roots}")
        } else {
            "it does not verify".to_string()
        };
        return format!(
            "TLS: the server's certificate was refused under sslmode={}: {why} ({text})",
            target.ssl_mode.name()
        );
    }
    format!("cannot connect: {text}")
}

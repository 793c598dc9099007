//! Where a database output goes: the `postgresql://` URI of `-o`, parsed as libpq reads it (user,
//! host, port, database, `sslmode` and `sslrootcert`, each defaulting from `PGUSER`, `PGHOST`,
//! `PGPORT`, `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT` as libpq does), plus meterflow's own
//! parameters `table` and `batch`. The server is named in messages as `user@host:port/db`, never
//! with a password.

use anyhow::{Result, anyhow, bail};
use std::fmt;

/// Rows sent and committed in one transaction unless the URI says `batch=N`.
pub(crate) const DEFAULT_BATCH: usize = 10_000;

/// A PostgreSQL server, database and table, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub(crate) user: String,
    /// A host name or address, or a directory holding the server's Unix socket (starts with `/`).
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) database: String,
    /// The table, optionally `schema.table`.
    pub(crate) table: TableName,
    /// Rows per transaction.
    pub(crate) batch: usize,
    /// `connect_timeout` in seconds, as libpq takes it.
    pub(crate) connect_timeout: Option<u64>,
    /// `sslmode`: whether the connection uses TLS and what it checks of the server's certificate.
    pub(crate) ssl_mode: SslMode,
    /// `sslrootcert`: the file of root certificates (PEM) the server's certificate must chain to,
    /// or `system` for the system's trusted roots; default `~/.postgresql/root.crt`.
    pub(crate) ssl_root_cert: Option<String>,
}

/// libpq's `sslmode`, meaning what libpq means by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SslMode {
    /// No TLS.
    Disable,
    /// No TLS, unless the server refuses a connection without it.
    Allow,
    /// TLS when the server offers it (libpq's default), the certificate unchecked.
    #[default]
    Prefer,
    /// TLS always, the certificate unchecked unless a root certificate file is there (then as
    /// `verify-ca`).
    Require,
    /// TLS, the certificate signed by a trusted root.
    VerifyCa,
    /// TLS, the certificate signed by a trusted root and issued for the host.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<SslMode> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                bail!("sslmode={other}: expected disable, allow, prefer, require, verify-ca or verify-full")
            }
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A table name, optionally qualified by its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableName {
    pub(crate) schema: Option<String>,
    pub(crate) name: String,
}

impl TableName {
    fn parse(text: &str) -> Result<TableName> {
        let (schema, name) = match text.split_once('.') {
            Some((schema, name)) => (Some(schema.to_string()), name.to_string()),
            None => (None, text.to_string()),
        };
        if name.is_empty() || schema.as_deref() == Some("") || name.contains('.') {
            bail!("table={text:?}: give a table name, or schema.table");
        }
        Ok(TableName { schema, name })
    }

    /// The name quoted for SQL, so any spelling (capitals, spaces) means exactly that table.
    pub(crate) fn quoted(&self) -> String {
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        match &self.schema {
            Some(schema) => format!("{}.{}", quote(schema), quote(&self.name)),
            None => quote(&self.name),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl fmt::Display for Target {
    /// `user@host:port/db`: enough to tell which server, never a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{}/{}", self.user, self.host, self.port, self.database)
    }
}

/// Reads the environment variables libpq reads for the parts a URI leaves out.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Decodes `%XX` escapes, as a URI's parts are written.
fn percent_decode(text: &str, what: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else { bail!("{what}: `%` must be followed by two hex digits") };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| anyhow!("{what}: not UTF-8 once decoded"))
}

impl Target {
    /// Parses `postgresql://[user@][host][:port][/db]?table=NAME[&batch=N][&connect_timeout=S]`.
    /// A password in the URI is refused: the command line shows in the process list.
    pub(crate) fn parse(uri: &str, env: Env) -> Result<Target> {
        let rest = uri
            .strip_prefix("postgresql://")
            .or_else(|| uri.strip_prefix("postgres://"))
            .ok_or_else(|| anyhow!("a database output starts with postgresql:// or postgres://"))?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, database) = location.split_once('/').unwrap_or((location, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        if userinfo.is_some_and(|u| u.contains(':')) {
            bail!(
                "the URI holds a password: anyone can read it in the process list; set PGPASSWORD or add a \
                 line to ~/.pgpass instead"
            );
        }
        let (host, port) = match hostport.strip_prefix('[') {
            // An IPv6 address: `[::1]:5432`.
            Some(v6) => {
                let (host, after) = v6.split_once(']').ok_or_else(|| anyhow!("the host `[{v6}` has no closing `]`"))?;
                (host, after.strip_prefix(':'))
            }
            None => match hostport.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            },
        };
        let mut target = Target {
            user: decoded_or(userinfo, "the user", || env("PGUSER").or_else(|| env("USER")))?,
            host: decoded_or(Some(host), "the host", || env("PGHOST"))?,
            port: 0,
            database: decoded_or(Some(database), "the database", || env("PGDATABASE"))?,
            table: TableName { schema: None, name: String::new() },
            batch: DEFAULT_BATCH,
            connect_timeout: None,
            ssl_mode: match env("PGSSLMODE").filter(|m| !m.is_empty()) {
                Some(mode) => SslMode::parse(&mode).map_err(|e| anyhow!("PGSSLMODE: {e}"))?,
                None => SslMode::default(),
            },
            ssl_root_cert: env("PGSSLROOTCERT").filter(|p| !p.is_empty()),
        };
        if target.host.is_empty() {
            target.host = "localhost".to_string();
        }
        if target.database.is_empty() {
            target.database.clone_from(&target.user);
        }
        let port = match port.filter(|p| !p.is_empty()) {
            Some(port) => Some(port.to_string()),
            None => env("PGPORT"),
        };
        target.port = match port {
            Some(port) => {
                port.parse().ok().filter(|&p| p > 0).ok_or_else(|| anyhow!("port {port:?} is not a port number"))?
            }
            None => 5432,
        };
        let mut table = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value, key)?;
            match key {
                "table" => table = Some(TableName::parse(&value)?),
                "batch" => {
                    target.batch = value.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                        anyhow!("batch={value:?}: give the rows per transaction, a whole number above 0")
                    })?;
                }
                "connect_timeout" => {
                    target.connect_timeout =
                        Some(value.parse().map_err(|_| anyhow!("connect_timeout={value:?}: give whole seconds"))?);
                }
                "host" => target.host = value,
                "port" => target.port = value.parse().map_err(|_| anyhow!("port={value:?} is not a port number"))?,
                "user" => target.user = value,
                "dbname" => target.database = value,
                "sslmode" => target.ssl_mode = SslMode::parse(&value)?,
                "sslrootcert" => target.ssl_root_cert = Some(value).filter(|v| !v.is_empty()),
                "password" => bail!("the URI holds a password: set PGPASSWORD or add a line to ~/.pgpass instead"),
                other => bail!(
                    "unknown URI parameter `{other}` (meterflow takes table, batch, connect_timeout, sslmode, \
                     sslrootcert, host, port, user, dbname)"
                ),
            }
        }
        target.table =
            table.ok_or_else(|| anyhow!("name the table: {}?table=NAME", uri.split('?').next().unwrap_or(uri)))?;
        if target.user.is_empty() {
            bail!("name the user: postgresql://USER@HOST:PORT/DB?table=NAME (or set PGUSER)");
        }
        Ok(target)
    }

    /// Whether the server is reached through a Unix socket in a directory.
    pub(crate) fn is_socket(&self) -> bool {
        self.host.starts_with('/')
    }
}

fn decoded_or(part: Option<&str>, what: &str, default: impl FnOnce() -> Option<String>) -> Result<String> {
    match part.filter(|p| !p.is_empty()) {
        Some(part) => percent_decode(part, what),
        None => Ok(default().unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::is_database_uri;

    fn parse(uri: &str) -> Result<Target> {
        Target::parse(uri, &|name| match name {
            "USER" => Some("os_user".to_string()),
            _ => None,
        })
    }

    #[test]
    fn every_part_given() {
        let t = parse("postgresql://alice@db.example:6543/meters?table=points&batch=500").unwrap();
        assert_eq!(t.user, "alice");
        assert_eq!(t.host, "db.example");
        assert_eq!(t.port, 6543);
        assert_eq!(t.database, "meters");
        assert_eq!(t.table, TableName { schema: None, name: "points".to_string() });
        assert_eq!(t.batch, 500);
        assert_eq!(t.to_string(), "alice@db.example:6543/meters");
    }

    #[test]
    fn missing_parts_default_as_libpq_does() {
        let t = parse("postgres://?table=ops.Points%20A").unwrap();
        assert_eq!((t.user.as_str(), t.host.as_str(), t.port), ("os_user", "localhost", 5432));
        assert_eq!(t.database, "os_user");
        assert_eq!(t.table.quoted(), "\"ops\".\"Points A\"");
        assert_eq!(t.batch, DEFAULT_BATCH);
        let env = |name: &str| match name {
            "PGUSER" => Some("bob".to_string()),
            "PGHOST" => Some("10.0.0.2".to_string()),
            "PGPORT" => Some("5499".to_string()),
            "PGDATABASE" => Some("meters".to_string()),
            _ => None,
        };
        let t = Target::parse("postgresql:///?table=t", &env).unwrap();
        assert_eq!(t.to_string(), "bob@10.0.0.2:5499/meters");
    }

    #[test]
    fn sockets_and_ipv6_hosts() {
        let t = parse("postgresql://u@%2Fvar%2Frun%2Fpostgresql/db?table=t").unwrap();
        assert_eq!(t.host, "/var/run/postgresql");
        assert!(t.is_socket());
        let t = parse("postgresql://u@[::1]:5440/db?table=t").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 5440));
    }

    #[test]
    fn refusals_say_what_to_do() {
        let message = |uri: &str| format!("{:#}", parse(uri).unwrap_err());
        assert!(message("postgresql://u:hunter2@h/db?table=t").contains("PGPASSWORD"));
        assert!(!message("postgresql://u:hunter2@h/db?table=t").contains("hunter2"));
        assert!(message("postgresql://u@h/db").contains("?table=NAME"));
        assert!(message("postgresql://u@h/db?table=t&batch=0").contains("batch"));
        assert!(message("postgresql://u@h:http/db?table=t").contains("port"));
        assert!(message("postgresql://u@h/db?table=t&sslmode=verify").contains("verify-ca or verify-full"));
        assert!(message("postgresql://u@h/db?table=t&colour=red").contains("colour"));
        assert!(message("postgresql://u@h/db?table=a.").contains("schema.table"));
    }

    #[test]
    fn tls_settings_as_libpq_reads_them() {
        let t = parse("postgresql://u@h/db?table=t").unwrap();
        assert_eq!((t.ssl_mode, t.ssl_root_cert), (SslMode::Prefer, None));
        let t = parse("postgresql://u@h/db?table=t&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem").unwrap();
        assert_eq!((t.ssl_mode, t.ssl_root_cert.as_deref()), (SslMode::VerifyFull, Some("/etc/ca.pem")));
        let env = |name: &str| match name {
            "USER" => Some("u".to_string()),
            "PGSSLMODE" => Some("require".to_string()),
            "PGSSLROOTCERT" => Some("system".to_string()),
            _ => None,
        };
        let t = Target::parse("postgresql://h/db?table=t", &env).unwrap();
        assert_eq!((t.ssl_mode, t.ssl_root_cert.as_deref()), (SslMode::Require, Some("system")));
        let t = Target::parse("postgresql://h/db?table=t&sslmode=disable", &env).unwrap();
        assert_eq!(t.ssl_mode, SslMode::Disable);
    }

    #[test]
    fn database_uris_are_told_from_paths() {
        assert!(is_database_uri("postgresql://u@h/db?table=t"));
        assert!(is_database_uri("postgres://u@h/db?table=t"));
        assert!(!is_database_uri("out/postgresql.csv"));
    }
}

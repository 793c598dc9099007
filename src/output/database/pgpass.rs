//! The password for a database output, found as libpq finds it (the `postgres` crate does not):
//! `PGPASSWORD` first, else the first matching line of the password file (`PGPASSFILE`, else
//! `~/.pgpass`), `hostname:port:database:username:password`, where `*` matches anything and `\`
//! escapes `:` and `\`. A file that group or others can read is ignored with a warning, as libpq
//! ignores it. The password itself never leaves this module except to the connection.

use super::target::{Env, Target};
use std::path::{Path, PathBuf};

/// Socket directories that libpq's password lookup calls `localhost`.
const DEFAULT_SOCKET_DIRS: [&str; 2] = ["/var/run/postgresql", "/tmp"];

/// What the lookup found, and why a password file was passed over.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Lookup {
    pub(crate) password: Option<String>,
    pub(crate) warning: Option<String>,
}

/// The password for `target`: `PGPASSWORD`, else the password file's first matching line.
pub(crate) fn password_for(target: &Target, env: Env) -> Lookup {
    if let Some(password) = env("PGPASSWORD").filter(|p| !p.is_empty()) {
        return Lookup { password: Some(password), warning: None };
    }
    let Some(path) =
        env("PGPASSFILE").map(PathBuf::from).or_else(|| env("HOME").map(|h| Path::new(&h).join(".pgpass")))
    else {
        return Lookup::default();
    };
    let Ok(meta) = std::fs::metadata(&path) else { return Lookup::default() };
    if !meta.is_file() {
        return Lookup::default();
    }
    if let Some(warning) = permission_warning(&path, &meta) {
        return Lookup { password: None, warning: Some(warning) };
    }
    let Ok(text) = std::fs::read_to_string(&path) else { return Lookup::default() };
    let host = if target.is_socket() && DEFAULT_SOCKET_DIRS.contains(&target.host.as_str()) {
        "localhost"
    } else {
        target.host.as_str()
    };
    let port = target.port.to_string();
    Lookup { password: find(&text, [host, &port, &target.database, &target.user]), warning: None }
}

#[cfg(unix)]
fn permission_warning(path: &Path, meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    (meta.permissions().mode() & 0o077 != 0).then(|| {
        format!(
            "warning: password file {} has group or world access and is ignored, as libpq ignores it; \
             permissions should be u=rw (0600) or less",
            path.display()
        )
    })
}

#[cfg(not(unix))]
fn permission_warning(_: &Path, _: &std::fs::Metadata) -> Option<String> {
    None
}

/// The password of the first line whose four fields match `wanted` (host, port, database, user).
fn find(text: &str, wanted: [&str; 4]) -> Option<String> {
    text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let mut rest = line.strip_suffix('\r').unwrap_or(line);
        for want in wanted {
            rest = matching_field(rest, want)?;
        }
        let password = unescape(rest);
        (!password.is_empty()).then_some(password)
    })
}

/// When the line's next field (up to an unescaped `:`) is `*` or equals `want`, the rest of the line.
fn matching_field<'a>(line: &'a str, want: &str) -> Option<&'a str> {
    if let Some(rest) = line.strip_prefix("*:") {
        return Some(rest);
    }
    let mut chars = line.char_indices();
    let mut field = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => field.push(chars.next().map_or('\\', |(_, escaped)| escaped)),
            ':' => return (field == want).then(|| &line[i + 1..]),
            c => field.push(c),
        }
    }
    None
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::database::target::TableName;

    fn target(host: &str) -> Target {
        Target {
            user: "meter".to_string(),
            host: host.to_string(),
            port: 5439,
            database: "ops".to_string(),
            table: TableName { schema: None, name: "t".to_string() },
            batch: 1,
            connect_timeout: None,
            ssl_mode: Default::default(),
            ssl_root_cert: None,
        }
    }

    /// A password file with `text` and the given permissions, and an environment pointing at it.
    fn lookup(text: &str, mode: u32, host: &str, pgpassword: Option<&str>) -> Lookup {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let file = path.display().to_string();
        let env = move |name: &str| match name {
            "PGPASSFILE" => Some(file.clone()),
            "PGPASSWORD" => pgpassword.map(str::to_string),
            _ => None,
        };
        password_for(&target(host), &env)
    }

    fn found(text: &str, host: &str) -> Option<String> {
        lookup(text, 0o600, host, None).password
    }

    #[test]
    fn the_first_matching_line_wins() {
        let file = "# comment\nother:5439:ops:meter:no\ndb1:5439:ops:meter:first\ndb1:5439:ops:meter:second\n";
        assert_eq!(found(file, "db1").as_deref(), Some("first"));
        assert_eq!(found(file, "db2"), None);
    }

    #[test]
    fn wildcards_match_any_field() {
        assert_eq!(found("*:*:*:*:any\n", "db1").as_deref(), Some("any"));
        assert_eq!(found("db1:*:ops:*:star\n", "db1").as_deref(), Some("star"));
        assert_eq!(found("db1:5432:*:*:wrong-port\n", "db1"), None);
    }

    #[test]
    fn backslashes_escape_colons_and_backslashes() {
        assert_eq!(found("db1:5439:ops:meter:pa\\:ss\\\\word\n", "db1").as_deref(), Some("pa:ss\\word"));
        assert_eq!(found("a\\:b:5439:ops:meter:v6\r\n", "a:b").as_deref(), Some("v6"));
        assert_eq!(found("db1:5439:ops:meter:with:colons\n", "db1").as_deref(), Some("with:colons"));
    }

    #[test]
    fn the_default_socket_directory_is_localhost() {
        assert_eq!(found("localhost:5439:ops:meter:sock\n", "/var/run/postgresql").as_deref(), Some("sock"));
        assert_eq!(found("localhost:5439:ops:meter:sock\n", "/srv/pg"), None);
        assert_eq!(found("/srv/pg:5439:ops:meter:dir\n", "/srv/pg").as_deref(), Some("dir"));
    }

    #[test]
    fn an_empty_password_is_none() {
        assert_eq!(found("db1:5439:ops:meter:\n", "db1"), None);
    }

    #[test]
    fn pgpassword_comes_first() {
        let l = lookup("db1:5439:ops:meter:from-file\n", 0o600, "db1", Some("from-env"));
        assert_eq!(l.password.as_deref(), Some("from-env"));
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_ignored_with_a_warning() {
        let l = lookup("*:*:*:*:secret\n", 0o644, "db1", None);
        assert_eq!(l.password, None);
        let warning = l.warning.unwrap();
        assert!(warning.contains("group or world access"), "{warning}");
        assert!(!warning.contains("secret"));
    }
}

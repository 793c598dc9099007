//! How a PostgreSQL error reads in meterflow's messages: the server's severity, SQLSTATE, message
//! and detail when the server sent them, else the client's error with its causes.

/// The server's own message when it sent one (severity, SQLSTATE, message and detail), else the
/// client's with its causes: `postgres::Error` alone says only "db error".
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(" (");
                text.push_str(detail);
                text.push(')');
            }
            text
        }
        None => {
            // The client's errors say what failed ("error connecting to server") and keep why
            // ("Connection refused") in their source.
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            if e.is_closed() { format!("the connection was lost ({text})") } else { text }
        }
    }
}

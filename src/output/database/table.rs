//! The output table: its DDL, the check that an existing table can take the rows, the upsert
//! statement that applies the replacement rule, and `--create-hypertable`.
//!
//! `value` is `double precision`: the engine computes in 64-bit floats, so a double holds every
//! value exactly as the CSV output writes it, where `numeric` would cost space and a conversion
//! per row and store digits the computation never had.

use super::server_error::describe;
use super::target::Target;
use postgres::Client;

/// Columns of the output table and the types an existing table may give them.
const COLUMNS: [(&str, &[&str]); 8] = [
    ("ts", &["timestamp with time zone"]),
    ("asset", &["text", "character varying"]),
    ("point", &["text", "character varying"]),
    ("value", &["double precision", "numeric"]),
    ("text_value", &["text", "character varying"]),
    ("job", &["text", "character varying"]),
    ("emit", &["text", "character varying"]),
    ("revision", &["bigint", "integer"]),
];

/// The staging table each batch is copied into before the upsert; emptied at every commit.
pub(crate) const STAGING_DDL: &str = "CREATE TEMP TABLE IF NOT EXISTS meterflow_staging \
     (seq bigint, ts timestamptz, asset text, point text, value double precision, text_value text, \
     job text, emit text, revision bigint) ON COMMIT DELETE ROWS";

pub(crate) const COPY: &str = "COPY pg_temp.meterflow_staging (seq, ts, asset, point, value, text_value, job, emit, revision) FROM STDIN (FORMAT binary)";

/// `CREATE TABLE` for the output table (see docs/guides/database.md).
pub(crate) fn create_table(target: &Target) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n  ts timestamptz NOT NULL,\n  asset text NOT NULL,\n  point text NOT NULL,\n  \
         value double precision,\n  text_value text,\n  job text NOT NULL,\n  emit text NOT NULL,\n  \
         revision bigint NOT NULL,\n  PRIMARY KEY (asset, point, ts)\n)",
        target.table.quoted()
    )
}

/// Moves one batch from the staging table into the output table. The row written last for a key
/// wins, whatever its label or revision (one rule with the engine's: a later value is a
/// correction): within the batch the last row of a key, against the table that row over the
/// stored one. A run's revisions of a key come out in order, so its last row is its final value;
/// a later run's row is a newer computation, so a corrected value reaches the table. A row equal
/// to the stored one is left alone, so a rerun rewrites nothing.
pub(crate) fn upsert(target: &Target) -> String {
    format!(
        "INSERT INTO {} AS t (ts, asset, point, value, text_value, job, emit, revision) \
         SELECT DISTINCT ON (asset, point, ts) ts, asset, point, value, text_value, job, emit, revision \
         FROM pg_temp.meterflow_staging ORDER BY asset, point, ts, seq DESC \
         ON CONFLICT (asset, point, ts) DO UPDATE SET value = excluded.value, text_value = excluded.text_value, \
         job = excluded.job, emit = excluded.emit, revision = excluded.revision \
         WHERE (t.value, t.text_value, t.job, t.emit, t.revision) IS DISTINCT FROM \
         (excluded.value, excluded.text_value, excluded.job, excluded.emit, excluded.revision)",
        target.table.quoted()
    )
}

/// Creates the table when missing, else checks that it has the columns and the unique key the
/// upsert needs; the error says what is wrong with it.
pub(crate) fn prepare(client: &mut Client, target: &Target) -> Result<(), String> {
    let quoted = target.table.quoted();
    let existing: Option<u32> =
        client.query_one("SELECT to_regclass($1)::oid", &[&quoted]).map_err(|e| describe(&e))?.get(0);
    let Some(oid) = existing else {
        client
            .batch_execute(&create_table(target))
            .map_err(|e| format!("cannot create table {}: {}", target.table, describe(&e)))?;
        return Ok(());
    };
    let rows = client
        .query(
            "SELECT attname::text, format_type(atttypid, NULL) FROM pg_attribute \
             WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped",
            &[&oid],
        )
        .map_err(|e| describe(&e))?;
    let found: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut problems = Vec::new();
    for (name, types) in COLUMNS {
        match found.iter().find(|(n, _)| n == name) {
            None => problems.push(format!("no column `{name}` ({})", types[0])),
            Some((_, found)) if !types.contains(&found.as_str()) => {
                problems.push(format!("column `{name}` is {found}, not {}", types.join(" or ")));
            }
            Some(_) => {}
        }
    }
    let keyed: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_index i WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL \
             AND i.indexprs IS NULL AND i.indnkeyatts = 3 AND (SELECT array_agg(a.attname::text ORDER BY a.attname) \
             FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)) = ARRAY['asset','point','ts']",
            &[&oid],
        )
        .map_err(|e| describe(&e))?
        .get(0);
    if keyed == 0 {
        problems.push("no primary key or unique index on (asset, point, ts)".to_string());
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "table {} exists but cannot take the output: {}; use another table=, or drop this one to have it created as \
         docs/guides/database.md shows",
        target.table,
        problems.join("; ")
    ))
}

/// Makes the table a TimescaleDB hypertable partitioned on `ts` (kept as it is when it already is one).
pub(crate) fn create_hypertable(client: &mut Client, target: &Target) -> Result<(), String> {
    let installed = client
        .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'", &[])
        .map_err(|e| describe(&e))?
        .is_some();
    if !installed {
        return Err(format!(
            "--create-hypertable: the timescaledb extension is not installed in database {}; run \
             `CREATE EXTENSION timescaledb` there (it needs the TimescaleDB packages on the server), or leave the flag out",
            target.database
        ));
    }
    client
        .query(
            "SELECT create_hypertable($1::text::regclass, 'ts', if_not_exists => TRUE, migrate_data => TRUE)",
            &[&target.table.quoted()],
        )
        .map_err(|e| format!("--create-hypertable: {}", describe(&e)))?;
    Ok(())
}

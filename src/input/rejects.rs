//! The bad-row policy: with `--on-bad-row fail` a malformed row stops the run with its located
//! error; with `skip` it is counted and, with `--rejects FILE`, written there as CSV
//! `file,line,reason,row` (`row` holds the row's fields joined again with the input's delimiter,
//! quoted where needed), so nothing is dropped without a trace. `--max-bad-rows N` stops a run
//! past N skipped rows, and a run that skipped many rows is warned about.

use super::InputCounts;
use super::options::BadRowPolicy;
use anyhow::{Context, Result, anyhow};
use csv::ByteRecord;
use std::io::Write;

/// Where malformed rows go.
pub struct BadRows {
    policy: BadRowPolicy,
    writer: Option<csv::Writer<Box<dyn Write>>>,
    /// The first skipped row, `file:line: reason`, for the summary.
    pub(crate) first: Option<String>,
    /// `--max-bad-rows`: the most rows skipped before the run stops.
    limit: Option<u64>,
}

/// Share of the input rows that, skipped as bad, earns a warning: past it the input flags are
/// more likely wrong than a few rows damaged.
pub(crate) const BAD_ROW_WARNING_SHARE: f64 = 0.1;

/// `--max-bad-rows` counts the rows that `--on-bad-row skip` skips: without it, the first bad row
/// already stops the run.
pub(crate) fn check_limit(policy: BadRowPolicy, limit: Option<u64>) -> Result<()> {
    match (policy, limit) {
        (BadRowPolicy::Fail, Some(_)) => Err(anyhow!(
            "--max-bad-rows limits the rows that --on-bad-row skip skips: add --on-bad-row skip \
             (without it the first bad row stops the run)"
        )),
        _ => Ok(()),
    }
}

impl BadRows {
    /// `rejects` receives the skipped rows; its header is written at once.
    pub fn new(policy: BadRowPolicy, rejects: Option<Box<dyn Write>>) -> Result<BadRows> {
        let writer = match rejects {
            Some(out) => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(["file", "line", "reason", "row"]).context("failed to write the rejects file")?;
                Some(w)
            }
            None => None,
        };
        Ok(BadRows { policy, writer, first: None, limit: None })
    }

    /// Stops the run at the first skipped row past `limit` (`--max-bad-rows`, see [`check_limit`]).
    pub(crate) fn with_limit(mut self, limit: Option<u64>) -> BadRows {
        self.limit = limit;
        self
    }

    /// The warning, printed even with `-q`, for a run that skipped every row or more than
    /// [`BAD_ROW_WARNING_SHARE`] of them.
    pub(crate) fn warning(&self, counts: &InputCounts) -> Option<String> {
        let (rejected, rows) = (counts.rejected, counts.rows);
        let share = rejected as f64 / rows.max(1) as f64;
        let first = self.first.as_deref()?;
        let how_many = if rejected == rows {
            format!("every input row ({rows}) was a bad row and skipped")
        } else if share > BAD_ROW_WARNING_SHARE {
            format!("{rejected} of the {rows} input rows ({:.1}%) were bad rows and skipped", share * 100.0)
        } else {
            return None;
        };
        Some(format!(
            "meterflow: warning: {how_many}; the first: {first}; check the input flags (--delimiter, --time-format, \
             the column flags), and use --max-bad-rows N to stop a run past N bad rows"
        ))
    }

    pub(crate) fn policy(&self) -> BadRowPolicy {
        self.policy
    }

    /// Applies the policy to the row `record` at `file:line`: an error under `fail`, else counted
    /// and recorded.
    pub(crate) fn handle(
        &mut self,
        file: &str,
        line: u64,
        reason: &str,
        record: &ByteRecord,
        delimiter: u8,
        counts: &mut InputCounts,
    ) -> Result<()> {
        if self.policy == BadRowPolicy::Fail {
            return Err(anyhow!("{file}:{line}: {reason}"));
        }
        counts.rejected += 1;
        if self.first.is_none() {
            self.first = Some(format!("{file}:{line}: {reason}"));
        }
        if let Some(w) = self.writer.as_mut() {
            let row = join(record, delimiter);
            let line = line.to_string();
            w.write_record([file.as_bytes(), line.as_bytes(), reason.as_bytes(), &row])
                .context("failed to write the rejects file")?;
        }
        match self.limit {
            Some(limit) if counts.rejected > limit => Err(anyhow!(
                "{file}:{line}: more than {} (--max-bad-rows {limit}); this one: {reason}",
                crate::text::count(limit, "bad row", "bad rows")
            )),
            _ => Ok(()),
        }
    }

    pub(crate) fn flush(&mut self) -> Result<()> {
        if let Some(w) = self.writer.as_mut() {
            w.flush().context("failed to write the rejects file")?;
        }
        Ok(())
    }
}

/// The fields of `record` as one CSV line without terminator.
fn join(record: &ByteRecord, delimiter: u8) -> Vec<u8> {
    let mut w =
        csv::WriterBuilder::new().delimiter(delimiter).terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    // Writing to a Vec cannot fail, and an empty record has no line to write.
    if !record.is_empty() {
        let _ = w.write_byte_record(record);
    }
    let mut bytes = w.into_inner().unwrap_or_default();
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_joined_with_the_input_delimiter_and_quoted_where_needed() {
        let record = ByteRecord::from(vec!["16/12/2006", "a;b", " 1.5 ", "say \"hi\""]);
        assert_eq!(String::from_utf8(join(&record, b';')).unwrap(), "16/12/2006;\"a;b\"; 1.5 ;\"say \"\"hi\"\"\"");
    }

    #[test]
    fn fail_policy_locates_the_row() {
        let mut bad = BadRows::new(BadRowPolicy::Fail, None).unwrap();
        let mut counts = InputCounts::default();
        let err = bad
            .handle(
                "in.csv",
                7,
                "column 2 (value): invalid value \"x\": expected a finite number",
                &ByteRecord::new(),
                b',',
                &mut counts,
            )
            .unwrap_err();
        assert_eq!(err.to_string(), "in.csv:7: column 2 (value): invalid value \"x\": expected a finite number");
        assert_eq!(counts.rejected, 0);
    }
}

//! The bad-row policy: with `--on-bad-row fail` a malformed row stops the run with its located
//! error; with `skip` it is counted and, with `--rejects FILE`, written there as CSV
//! `file,line,reason,row` (`row` holds the row's fields joined again with the input's delimiter,
//! quoted where needed), so nothing is dropped without a trace.

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
    pub first: Option<String>,
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
        Ok(BadRows { policy, writer, first: None })
    }

    pub fn policy(&self) -> BadRowPolicy {
        self.policy
    }

    /// Applies the policy to the row `record` at `file:line`: an error under `fail`, else counted
    /// and recorded.
    pub fn handle(
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
        Ok(())
    }

    pub fn flush(&mut self) -> Result<()> {
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

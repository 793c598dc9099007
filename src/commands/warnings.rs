//! The warnings of a command, said on stderr even with `-q`, and `--strict`, the one switch that
//! makes every warning an error: each warning goes through [`Warnings::say`], and
//! [`Warnings::finish`] fails the command when `--strict` is on and one was said.

use crate::commands::failure::Failure;
use crate::commands::stderr::{say, say_text};
use crate::job::Job;
use anyhow::anyhow;

/// The warnings said so far and whether they are errors.
pub(crate) struct Warnings {
    strict: bool,
    said: usize,
}

impl Warnings {
    pub(crate) fn new(strict: bool) -> Warnings {
        Warnings { strict, said: 0 }
    }

    /// Says `text` (a whole message line, `meterflow: warning: ...`) on stderr.
    pub(crate) fn say(&mut self, text: &str) {
        say(text);
        self.said += 1;
    }

    /// Says the job files' warnings, with their source line and caret.
    pub(crate) fn jobs(&mut self, jobs: &[Job]) {
        for warning in jobs.iter().flat_map(|job| &job.warnings) {
            say_text(&warning.as_warning());
            self.said += 1;
        }
    }

    /// Whether warnings are errors.
    pub(crate) fn strict(&self) -> bool {
        self.strict
    }

    fn failed(&self) -> bool {
        self.strict && self.said > 0
    }

    /// The command's outcome: `code`'s failure when `--strict` turned a warning into an error.
    pub(crate) fn finish(&self, code: fn(anyhow::Error) -> Failure) -> Result<(), Failure> {
        if !self.failed() {
            return Ok(());
        }
        let what = crate::text::noun(self.said as u64, "warning above is an error", "warnings above are errors");
        Err(code(anyhow!("--strict: the {what}")))
    }
}

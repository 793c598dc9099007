//! How a run ends, and what each ending leaves. Everything is checked before anything is
//! committed: a run that failed (an error, a closed stdout, a repeated stream, a row accounting
//! that does not balance) leaves its outputs under their `.partial` names, the previous files and
//! the state as they were, says so on stderr and exits non-zero. Only a run that passed every check
//! gives its outputs their names and then saves its state, and a run whose input a signal ended
//! exits 130 / 143 once both are done, saying where the input was cut so the rest can be given.

use super::anomalies::series_warnings;
use super::files::RunFiles;
use super::outputs::Committed;
use super::report::carried_over_warnings;
use super::report::{accounting_error, late_warning, silent_job_warnings, state_note, summary};
use super::stats_json::write_stats_json;
use super::unseen;
use super::{Settings, refused, signals};
use crate::commands::stderr::{say, say_text};
use crate::commands::warnings::Warnings;
use crate::commands::{Failure, is_broken_pipe};
use crate::replay::Replay;
use crate::replay::state::session::{StateRun, StreamDigest};
use anyhow::anyhow;

/// A run whose input has been read and whose outputs are flushed, with what ending it needs.
pub(crate) struct Ending<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) files: RunFiles,
    pub(crate) state: Option<StateRun>,
    pub(crate) replay: Replay,
    pub(crate) streamed: Vec<(String, StreamDigest)>,
    /// Under a state, the file inputs (path, name) with the digest of what the replay read.
    pub(crate) reread: Vec<(String, String, StreamDigest)>,
    /// Inputs a stop left unread.
    pub(crate) unread: Vec<String>,
    /// Whether the jobs were flushed as at the end of the stream (else suspended in the state).
    pub(crate) ends_stream: bool,
}

impl Ending<'_> {
    /// Checks, says, commits and saves, in that order; `replayed` and `written` are the outcomes
    /// of the replay and of the last flush of the outputs.
    pub(crate) fn end(
        mut self,
        replayed: anyhow::Result<()>,
        written: anyhow::Result<()>,
        committed: &Committed,
        mut warnings: Warnings,
    ) -> Result<(), Failure> {
        let s = self.settings;
        if let Err(e) = replayed {
            // The rows made before the error are written first. If their reader has gone (`| head`),
            // that is the outcome, whichever came first: with a writer thread, rows reach the pipe
            // in batches, later than the error may stop the run.
            let failure = match written {
                Err(closed) if is_broken_pipe(&closed) => Failure::BrokenPipe,
                _ => Failure::from(e),
            };
            return Err(self.abandon(self.closed_early(failure, committed)));
        }
        if let Err(e) = written {
            return Err(self.abandon(self.closed_early(Failure::from(e), committed)));
        }
        if let Some(state) = self.state.as_mut() {
            for (name, digest) in &self.streamed {
                if let Err(refusal) = state.check_streamed(name, digest) {
                    return Err(self.files.abandon(refused(refusal)));
                }
            }
            let stopped = self.replay.stopped_in.as_ref().map(|at| at.input.as_str());
            for (path, name, digest) in &self.reread {
                // A stop cut the input short, or left it unread: it was not read to its end.
                if stopped == Some(name.as_str()) || self.unread.contains(name) {
                    continue;
                }
                if let Err(e) = state.check_reread(path, name, digest) {
                    return Err(self.files.abandon(Failure::Run(e)));
                }
            }
            if let Some(at) = &self.replay.stopped_in {
                state.stopped_in(&at.input, at.rows, &self.unread);
            }
        }
        if let Some(e) = accounting_error(&self.replay.balances()) {
            return Err(self.files.abandon(Failure::Run(e)));
        }
        if !s.quiet {
            say_text(&summary(&self.replay, s.rejects.as_deref(), None));
            if let Some(line) = committed.line() {
                say(line);
            }
        }
        // Said even with -q: the length the run chose moved every reading of the input.
        for choice in &self.replay.intervals {
            say(choice.note());
        }
        self.say_warnings(&mut warnings);
        if let Some(state) = self.state.as_ref().filter(|_| !s.quiet) {
            say(state_note(state, &self.replay));
        }
        if let Some(path) = &s.outputs.stats_json {
            let created = self.files.create("--stats-json", path);
            if let Err(e) = created.and_then(|out| write_stats_json(out, &self.replay)) {
                return Err(self.files.abandon(Failure::from(e)));
            }
        }
        // Outputs first: a run killed between the two leaves the previous state, and replaying the
        // same input writes the same outputs again; the other way round it would leave a state
        // ahead of outputs still named `.partial`.
        self.files.commit()?;
        if let Some(state) = &self.state {
            state.save(&self.replay).map_err(|e| {
                Failure::Run(e.context(format!(
                    "the outputs are complete, but the state was not saved: {} is as it was before this run, so \
                     give this run's input again",
                    state.path().display()
                )))
            })?;
        }
        match s.input.stop.signal() {
            // Said even with -q: the run did not read all its input, which its exit status also says.
            Some(signal) => {
                say(self.stopped_note(signal));
                Err(Failure::Silent(signals::exit_status(signal)))
            }
            None => warnings.finish(Failure::Run),
        }
    }

    /// `failure`, after the summary when it is that the reader of the output left (`| head`): the
    /// summary then says how many rows left before it did, not what the jobs made.
    fn closed_early(&self, failure: Failure, committed: &Committed) -> Failure {
        if matches!(failure, Failure::BrokenPipe) && !self.settings.quiet {
            let delivered = Some(committed.delivered().unwrap_or_default());
            say_text(&summary(&self.replay, self.settings.rejects.as_deref(), delivered));
        }
        failure
    }

    /// `failure`, after saying what is left incomplete. A closed stdout is not an error, except
    /// under a state: the rows the run read did not all leave, so its state was not saved, which
    /// the next run must not take for a day that went through.
    fn abandon(&self, failure: Failure) -> Failure {
        match (self.files.abandon(failure), &self.state) {
            (Failure::BrokenPipe, Some(state)) => Failure::Run(anyhow!(
                "stdout was closed before the run finished, so not every row it read was written and the state was \
                 not saved ({} is as it was before this run); give this run's input again",
                state.path().display()
            )),
            (failure, _) => failure,
        }
    }

    /// The warnings of a finished replay, said even with `-q`: a run that exits 0 without the
    /// rows the user expects must say why.
    fn say_warnings(&self, warnings: &mut Warnings) {
        let (replay, s) = (&self.replay, self.settings);
        if let Some(warning) = replay.bad_rows.warning(&replay.counts) {
            warnings.say(&warning);
        }
        for warning in replay.intervals.iter().filter_map(|choice| choice.warning()) {
            warnings.say(&warning);
        }
        if !s.input.sort
            && let Some(warning) = late_warning(
                &replay.pipeline.stats(),
                replay.pipeline.late_far_behind(),
                s.state.is_some(),
                replay.pipeline.holds_skew_everywhere(),
            )
        {
            warnings.say(&warning);
        }
        let unseen = [unseen::point_warnings(replay), unseen::model_warnings(replay), unseen::rename_warnings(replay)];
        for warning in unseen.iter().flatten().chain(&unseen::quality_warning(replay)) {
            warnings.say(warning);
        }
        for warning in carried_over_warnings(replay) {
            warnings.say(&warning);
        }
        for warning in replay.pipeline.stats().into_iter().filter_map(super::repeats::keep_warning) {
            warnings.say(&warning);
        }
        for warning in replay.pipeline.stats().into_iter().filter_map(super::repeats::updates_left_warning) {
            warnings.say(&warning);
        }
        let holds_skew = |point| replay.pipeline.holds_skew(point);
        for warning in series_warnings(replay.pipeline.series(), &replay.names, &holds_skew) {
            warnings.say(&warning);
        }
        // A stream left open in a state has not written its rows yet.
        if self.ends_stream {
            for warning in silent_job_warnings(replay) {
                warnings.say(&warning);
            }
        }
    }

    /// Where the signal cut the input, and what became of what was read: the rows are this run's,
    /// the rest of the input starts at the next row of the input named.
    fn stopped_note(&self, signal: i32) -> String {
        let (name, status) = (signals::name(signal), signals::exit_status(signal));
        let replay = &self.replay;
        let rows = replay.counts.rows - replay.resumed.as_ref().map_or(0, |r| r.rows_before);
        let Some(at) = &replay.stopped_in else {
            return format!(
                "meterflow: {name} came once the whole input was read ({rows} rows); the run ended as usual (exit {status})"
            );
        };
        let place = match at.rows {
            0 => format!(", before any row of {}", at.input),
            n if n == rows => format!(" of {}", at.input),
            n => format!(", {n} of them from {}", at.input),
        };
        let rest = format!("from data row {} of {} on", at.rows + 1, at.input);
        match &self.state {
            Some(state) => {
                let finish = match self.settings.state.as_ref().is_some_and(|st| st.finish) {
                    true => "; the stream was not finished, so give --finish again with the rest",
                    false => "",
                };
                format!(
                    "meterflow: {name} ended the input after {rows} rows{place}; everything final was written and \
                     the rest saved to {}, so a run given the rest of the input ({rest}) resumes exactly there{finish} \
                     (exit {status})",
                    state.path().display()
                )
            }
            None => format!(
                "meterflow: {name} ended the input after {rows} rows{place}; the jobs were flushed as at the end of \
                 the input, whose rest starts {rest} (exit {status})"
            ),
        }
    }
}

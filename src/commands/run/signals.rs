//! The signals of a run, taken on a thread of their own. The first SIGINT or SIGTERM ends the
//! input (see [`crate::input::stop`]): the run finishes as at the end of its input, or saves its
//! state, and exits with the conventional status, 128 + the signal's number (130, 143). A second
//! one abandons the run at once, even one blocked writing to a full pipe: the outputs keep (or
//! take) their `.partial` names, the state is not saved, stderr says so, and the run exits 1, as a
//! failed run does. Once the run has begun to give its outputs their names and save its state,
//! a second signal waits for that to end rather than leave half of it done.

use crate::commands::stderr::say;
use crate::input::stop::Stop;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

/// The exit status of a run whose input `signal` ended.
pub(crate) fn exit_status(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(u8::MAX)
}

/// The exit status of a run a second signal abandoned.
pub(crate) const ABANDONED: i32 = 1;

/// The name of a signal a run handles, for messages.
pub(crate) fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// What a second signal does before the run exits: leaves the outputs incomplete and says so, and
/// returns true; false when the run is past abandoning (it is committing).
type Abandon = Box<dyn Fn(&str) -> bool + Send>;

/// The handle the run sets what a second signal does through, once its outputs exist.
#[derive(Clone, Default)]
pub(crate) struct OnSecond(Arc<Mutex<Option<Abandon>>>);

impl OnSecond {
    pub(crate) fn set(&self, abandon: impl Fn(&str) -> bool + Send + 'static) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(abandon));
    }

    /// Abandons the run for the second `signal`, unless it is committing.
    fn abandon(&self, signal: i32) -> bool {
        let why = format!("a second {} abandoned the run", name(signal));
        match self.0.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            Some(abandon) => abandon(&why),
            None => {
                say(format_args!("meterflow: {why} before it wrote anything"));
                true
            }
        }
    }
}

/// Starts the thread that takes SIGINT and SIGTERM: the first sets `stop`, a second abandons the
/// run through the returned handle and exits.
pub(crate) fn install(stop: &Stop) -> io::Result<OnSecond> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let on_second = OnSecond::default();
    let (stop, handle) = (stop.clone(), on_second.clone());
    std::thread::Builder::new().name("meterflow-signals".into()).spawn(move || {
        for signal in signals.forever() {
            if !stop.requested() {
                stop.request(signal);
            } else if handle.abandon(signal) {
                // Without flushing anything: stdout may be a full pipe nobody reads.
                signal_hook::low_level::exit(ABANDONED);
            }
        }
    })?;
    Ok(on_second)
}

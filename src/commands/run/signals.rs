//! The signals of a run: the first SIGINT or SIGTERM ends the input, so the run finishes as at the
//! end of its input (or saves its state) and exits with the conventional status, 128 + the
//! signal's number (130, 143); a second one exits at once with that status, before anything more
//! is written. A run killed that way leaves no state file behind it and no output under its final
//! name (both are written aside and renamed only once complete).

use crate::input::stop::Stop;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;
use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// The exit status of a run ended by `signal`.
pub fn exit_status(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(u8::MAX)
}

/// The name of a signal a run handles, for messages.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// Installs the handlers: each signal sets `stop`; a signal arriving once `stop` is set exits.
pub fn install(stop: &Stop) -> io::Result<()> {
    let stopping = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // Handlers run in the order registered: the exit checks the flag before this signal sets it.
        flag::register_conditional_shutdown(signal, i32::from(exit_status(signal)), Arc::clone(&stopping))?;
        flag::register(signal, Arc::clone(&stopping))?;
        flag::register_usize(signal, stop.flag(), usize::try_from(signal).unwrap_or(usize::MAX))?;
    }
    Ok(())
}

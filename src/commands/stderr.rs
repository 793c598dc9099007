//! Messages on stderr that cannot fail. A message that cannot be written (stderr closed, or a pipe
//! whose reader has gone: `2>&1 | head -1`) is dropped: what a run does with its outputs and its
//! state must not depend on whether anyone reads its messages, and `eprintln!` would panic there,
//! leaving finished outputs under their `.partial` names and the state unsaved.

use std::fmt::Display;
use std::io::{self, Write};

/// Writes `text` and a line end.
pub fn say(text: impl Display) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// Writes `text` as it is (it holds its own line ends).
pub(crate) fn say_text(text: &str) {
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

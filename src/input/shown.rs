//! How input text is quoted in messages: a megabyte-long field must not flood the terminal.

/// Longest text quoted in a message.
const MAX_SHOWN_CHARS: usize = 80;

/// `text` cut to [`MAX_SHOWN_CHARS`] characters, with `...` where it was cut.
pub(super) fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

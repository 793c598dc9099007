//! How input text is quoted in messages: a megabyte-long field must not flood the terminal, and a
//! proposed flag value must paste into a shell as one word.

/// Longest text quoted in a message.
const MAX_SHOWN_CHARS: usize = 80;

/// `text` cut to `MAX_SHOWN_CHARS` characters, with `...` where it was cut.
pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// `text` as one shell word: bare when it holds only safe characters, else in single quotes.
pub(crate) fn shell_quote(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./=,:+@%".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("tstp"), "tstp");
        assert_eq!(shell_quote("%d-%m-%Y %H:%M"), "'%d-%m-%Y %H:%M'");
        assert_eq!(shell_quote("energy(kWh/hh)=Energy"), "'energy(kWh/hh)=Energy'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}

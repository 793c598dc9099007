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

/// `text` in double quotes with Rust's escapes, NUL written as [`escaped`] writes it.
pub(crate) fn quoted(text: &str) -> String {
    nul_apart(&format!("{text:?}"))
}

/// `text` with Rust's escapes, except that NUL is written `\u{0}`: Rust writes it `\0`, which a
/// digit after it turns into what reads as an octal escape (`m\01` for NUL then 1).
pub(crate) fn escaped(text: &str) -> String {
    nul_apart(&text.escape_debug().to_string())
}

/// `escaped` text with each `\0` escape written `\u{0}`; an escaped backslash stays as it is.
fn nul_apart(escaped: &str) -> String {
    let mut shown = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        shown.push(c);
        if c == '\\' {
            match chars.next() {
                Some('0') => shown.replace_range(shown.len() - 1.., "\\u{0}"),
                Some(escaped) => shown.push(escaped),
                None => {}
            }
        }
    }
    shown
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
    fn nul_is_written_so_that_a_digit_after_it_reads_apart() {
        assert_eq!(quoted("m\u{0}1"), r#""m\u{0}1""#);
        // A backslash and a zero in the name stay the two characters they are.
        assert_eq!(quoted("m\\01"), r#""m\\01""#);
        assert_eq!(quoted("a\tb\"c\u{1b}"), r#""a\tb\"c\u{1b}""#);
        assert_eq!(escaped("\u{0}1,\\0"), r#"\u{0}1,\\0"#);
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("tstp"), "tstp");
        assert_eq!(shell_quote("%d-%m-%Y %H:%M"), "'%d-%m-%Y %H:%M'");
        assert_eq!(shell_quote("energy(kWh/hh)=Energy"), "'energy(kWh/hh)=Energy'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}

//! Divisions of two integer constants in a merge expression (`1/2`, `(60/15)`, `1000/3`): rhai
//! divides integers as integers, so `${X} * (1/2)` is `${X} * 0`, while operands are floats. The
//! loader warns about each one with its float form.

/// One division of integer constants: where its `/` is (1-based line and column in the text),
/// the division as written, its integer result and the float form to write instead.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegerDivision {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) written: String,
    pub(crate) integer: i64,
    pub(crate) float_form: String,
    pub(crate) float: f64,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// An integer literal, with its text and the position of its first character.
    Integer(String, usize),
    /// An operator or bracket, with its position.
    Symbol(String, usize),
    /// Anything else: a float, a name, an operand reference, a string.
    Other,
}

/// The divisions of integer constants in `text`, in order.
pub fn integer_divisions(text: &str) -> Vec<IntegerDivision> {
    let chars: Vec<char> = text.chars().collect();
    let tokens = tokenize(&chars);
    let mut found = Vec::new();
    for i in 0..tokens.len() {
        let (Token::Integer(left, _), Some(Token::Symbol(op, at)), Some(Token::Integer(right, _))) =
            (&tokens[i], tokens.get(i + 1), tokens.get(i + 2))
        else {
            continue;
        };
        if op != "/" {
            continue;
        }
        // `x * 2 / 3` divides the product, a float; only a constant that is the whole left
        // operand divides as an integer.
        let binds_left =
            i > 0 && matches!(&tokens[i - 1], Token::Symbol(s, _) if ["*", "/", "%", "**"].contains(&s.as_str()));
        let (Some(l), Some(r)) = (number(left), number(right)) else { continue };
        if binds_left || r == 0 {
            continue;
        }
        let (line, column) = line_column(&chars, *at);
        found.push(IntegerDivision {
            line,
            column,
            written: format!("{left}/{right}"),
            integer: l.wrapping_div(r),
            float_form: format!("{left}.0/{right}"),
            float: l as f64 / r as f64,
        });
    }
    found
}

fn number(literal: &str) -> Option<i64> {
    literal.replace('_', "").parse().ok()
}

fn tokenize(chars: &[char]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '$' && chars.get(i + 1) == Some(&'{') {
            i = skip_past(chars, i + 2, '}');
            tokens.push(Token::Other);
        } else if c == '"' || c == '\'' || c == '`' {
            i = skip_past(chars, i + 1, c);
            tokens.push(Token::Other);
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                // An exponent's sign belongs to the number (`1e-3`).
                if matches!(chars[i], 'e' | 'E') && matches!(chars.get(i + 1), Some('-' | '+')) {
                    i += 1;
                }
                i += 1;
            }
            let literal: String = chars[start..i].iter().collect();
            let integer = literal.bytes().all(|b| b.is_ascii_digit() || b == b'_');
            tokens.push(if integer { Token::Integer(literal, start) } else { Token::Other });
        } else if c.is_alphanumeric() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Other);
        } else {
            let symbol = if c == '*' && chars.get(i + 1) == Some(&'*') { "**".to_string() } else { c.to_string() };
            tokens.push(Token::Symbol(symbol.clone(), i));
            i += symbol.len();
        }
    }
    tokens
}

/// The index after the next `end` from `from` (the end of the text when there is none).
fn skip_past(chars: &[char], from: usize, end: char) -> usize {
    chars[from.min(chars.len())..].iter().position(|c| *c == end).map_or(chars.len(), |p| from + p + 1)
}

fn line_column(chars: &[char], at: usize) -> (usize, usize) {
    let before = &chars[..at];
    let line = before.iter().filter(|c| **c == '\n').count() + 1;
    let column = at - before.iter().rposition(|c| *c == '\n').map_or(0, |p| p + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(text: &str) -> Vec<String> {
        integer_divisions(text).into_iter().map(|d| d.written).collect()
    }

    #[test]
    fn finds_divisions_of_integer_constants() {
        assert_eq!(written("${X} * (1/2)"), ["1/2"]);
        assert_eq!(written("${E} * (60 / 15)"), ["60/15"]);
        assert_eq!(written("-1/2 + 7/3"), ["1/2", "7/3"]);
        assert_eq!(written("1_000/3"), ["1_000/3"]);
        let d = &integer_divisions("${X} * (1/2)")[0];
        assert_eq!((d.line, d.column, d.integer, d.float_form.as_str(), d.float), (1, 10, 0, "1.0/2", 0.5));
        let d = &integer_divisions("if ${X} > 0 {\n  ${X} / 1000 * (60/15)\n} else { 0 }")[0];
        assert_eq!((d.line, d.column, d.integer), (2, 20, 4));
    }

    #[test]
    fn leaves_float_divisions_alone() {
        for text in [
            "${X} / 1000",
            "${X} * 2 / 3",
            "1.0/2",
            "1/2.0",
            "1e3/7",
            "1/${X}",
            "\"1/2\" + ${X}",
            "${A::B1/2}",
            "5 % 2 / 3",
            "1/0",
            "x2/3",
        ] {
            assert_eq!(written(text), Vec::<String>::new(), "{text}");
        }
    }
}

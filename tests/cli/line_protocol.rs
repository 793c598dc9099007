//! InfluxDB line protocol read by the protocol's published rules (InfluxDB docs, "Line protocol":
//! syntax, data types, special characters, comments), written here apart from meterflow's
//! encoder so the encodings test decodes its output independently.

/// A field value of line protocol.
#[derive(Debug, PartialEq)]
pub(crate) enum Field {
    Float(f64),
    Int(i64),
    Text(String),
    Bool(bool),
}

/// Reads an identifier of line protocol up to an unescaped character of `ends`: a backslash
/// before one of `escapable` (or before a backslash) stands for that character, any other
/// backslash for itself.
fn ident(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, escapable: &[char], ends: &[char]) -> String {
    let mut out = String::new();
    while let Some(&c) = chars.peek() {
        if ends.contains(&c) {
            break;
        }
        chars.next();
        if c == '\\'
            && let Some(&next) = chars.peek()
            && (escapable.contains(&next) || next == '\\')
        {
            out.push(next);
            chars.next();
            continue;
        }
        out.push(c);
    }
    out
}

/// One line of line protocol: `measurement[,tag=value...] field=value[,field=value...] [time]`.
/// Measurements escape commas and spaces; tag keys, tag values and field keys commas, equals
/// signs and spaces; string fields double quotes and backslashes. A line starting with `#` is a
/// comment (`None`). Floats may use exponents; `NaN` and infinities are not values.
pub(crate) type Line = (String, Vec<(String, String)>, Vec<(String, Field)>, Option<i64>);

pub(crate) fn influx_line(line: &str) -> Result<Option<Line>, String> {
    if line.starts_with('#') {
        return Ok(None);
    }
    let mut chars = line.chars().peekable();
    let measurement = ident(&mut chars, &[',', ' '], &[',', ' ']);
    if measurement.is_empty() {
        return Err(format!("{line:?}: no measurement"));
    }
    let mut tags = Vec::new();
    while chars.peek() == Some(&',') {
        chars.next();
        let key = ident(&mut chars, &[',', '=', ' '], &['=', ',', ' ']);
        if chars.next() != Some('=') {
            return Err(format!("{line:?}: tag {key:?} without `=`"));
        }
        let value = ident(&mut chars, &[',', '=', ' '], &[',', ' ']);
        tags.push((key, value));
    }
    if chars.next() != Some(' ') {
        return Err(format!("{line:?}: no space before the fields"));
    }
    let mut fields = Vec::new();
    loop {
        let key = ident(&mut chars, &[',', '=', ' '], &['=', ',', ' ']);
        if chars.next() != Some('=') {
            return Err(format!("{line:?}: field {key:?} without `=`"));
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            let mut text = String::new();
            loop {
                match chars.next() {
                    None => return Err(format!("{line:?}: unterminated string")),
                    Some('"') => break,
                    Some('\\') if matches!(chars.peek(), Some('"' | '\\')) => text.push(chars.next().unwrap()),
                    Some(c) => text.push(c),
                }
            }
            Field::Text(text)
        } else {
            let mut raw = String::new();
            while let Some(&c) = chars.peek() {
                if c == ',' || c == ' ' {
                    break;
                }
                raw.push(c);
                chars.next();
            }
            match raw.as_str() {
                "t" | "T" | "true" | "True" | "TRUE" => Field::Bool(true),
                "f" | "F" | "false" | "False" | "FALSE" => Field::Bool(false),
                _ if raw.ends_with('i') => {
                    Field::Int(raw[..raw.len() - 1].parse().map_err(|e| format!("{raw:?}: {e}"))?)
                }
                _ => {
                    let numeric = raw.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
                    let v: f64 = raw.parse().map_err(|e| format!("{raw:?}: {e}"))?;
                    if !numeric || !v.is_finite() {
                        return Err(format!("{line:?}: {raw:?} is not a float of line protocol"));
                    }
                    Field::Float(v)
                }
            }
        };
        fields.push((key, value));
        if chars.peek() == Some(&',') {
            chars.next();
            continue;
        }
        break;
    }
    let time = match chars.next() {
        None => None,
        Some(' ') => {
            let rest: String = chars.collect();
            Some(rest.parse().map_err(|e| format!("{line:?}: time {rest:?}: {e}"))?)
        }
        Some(c) => return Err(format!("{line:?}: {c:?} after the fields")),
    };
    Ok(Some((measurement, tags, fields, time)))
}

/// The parser reads the protocol's own examples as the reference explains them.
#[test]
fn the_line_protocol_parser_follows_the_reference() {
    let (m, tags, fields, time) = influx_line(
        r#"my\ Measure\,ment,tag\ Key=tag\,Val\=ue\\ f="say \"hi\" \\",i=-3i,b=t,x=1.5e-7 1556813561098000000"#,
    )
    .unwrap()
    .unwrap();
    assert_eq!(m, "my Measure,ment");
    assert_eq!(tags, vec![("tag Key".to_string(), r"tag,Val=ue\".to_string())]);
    assert_eq!(
        fields,
        vec![
            ("f".to_string(), Field::Text(r#"say "hi" \"#.to_string())),
            ("i".to_string(), Field::Int(-3)),
            ("b".to_string(), Field::Bool(true)),
            ("x".to_string(), Field::Float(1.5e-7)),
        ]
    );
    assert_eq!(time, Some(1_556_813_561_098_000_000));
    assert_eq!(influx_line("# a comment").unwrap(), None);
    assert!(influx_line("m value=NaN 1").is_err());
    assert!(influx_line("m value=inf 1").is_err());
    // A backslash before an ordinary character is itself.
    assert_eq!(influx_line(r"a\b,t=c\d v=1").unwrap().unwrap().0, r"a\b");
}

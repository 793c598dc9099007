//! Located job-file problems and how they are shown: `path:line:col: error: field: message`,
//! followed by the offending source line with a caret under the column.

use std::fmt;

/// One problem in one job file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the user named it.
    pub(crate) file: String,
    /// 1-based line and column; 0 when the problem concerns the whole file.
    pub(crate) line: usize,
    pub(crate) column: usize,
    /// Field path such as `policies[0].threshold`, empty for file-level problems.
    pub(crate) field: String,
    pub(crate) message: String,
    /// The source line the caret points into, if known.
    pub(crate) source_line: Option<String>,
}

impl Diagnostic {
    /// A problem with a file as a whole (it cannot be read, or the jobs together are wrong).
    pub(crate) fn whole_file(file: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.to_string(),
            line: 0,
            column: 0,
            field: String::new(),
            message: message.into(),
            source_line: None,
        }
    }

    /// The machine-readable form used by `validate --format json`, as an error.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        self.to_json_as("error")
    }

    /// The machine-readable form with the given severity (`error` or `warning`).
    pub(crate) fn to_json_as(&self, severity: &str) -> serde_json::Value {
        serde_json::json!({
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
            "severity": severity,
        })
    }

    /// The one-line form, without the source excerpt (the tests compare it).
    #[cfg(test)]
    pub(crate) fn headline(&self) -> String {
        self.headline_as("error")
    }

    fn headline_as(&self, severity: &str) -> String {
        let location =
            if self.line > 0 { format!("{}:{}:{}", self.file, self.line, self.column) } else { self.file.clone() };
        if self.field.is_empty() {
            format!("{location}: {severity}: {}", self.message)
        } else {
            format!("{location}: {severity}: {}: {}", self.field, self.message)
        }
    }

    /// The full form with `warning` in place of `error`, for problems that do not stop a job.
    pub(crate) fn as_warning(&self) -> String {
        let mut text = String::new();
        let _ = self.render(&mut text, "warning");
        text
    }

    fn render(&self, f: &mut impl fmt::Write, severity: &str) -> fmt::Result {
        writeln!(f, "{}", self.headline_as(severity))?;
        if let Some(text) = &self.source_line {
            let number = self.line.to_string();
            let pad = " ".repeat(number.len());
            let (shown, caret_at) = excerpt(text, self.column.saturating_sub(1));
            // Columns count characters; tabs are kept so the caret lines up under them.
            let lead: String = shown.chars().take(caret_at).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            writeln!(f, "{pad} |")?;
            writeln!(f, "{number} | {shown}")?;
            writeln!(f, "{pad} | {lead}^")?;
        }
        Ok(())
    }
}

/// Longest source line shown whole under a problem; longer lines are cut around the column.
const MAX_EXCERPT_CHARS: usize = 120;

/// The part of `line` to show and the caret's character offset in it: the whole line when short,
/// else `MAX_EXCERPT_CHARS` around `column` with `...` where it was cut.
/// Orders problems by file, then line and column, whichever check found them; file-level problems
/// (line 0) come first in their file.
pub(crate) fn sort_problems(problems: &mut [Diagnostic]) {
    problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
}

fn excerpt(line: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= MAX_EXCERPT_CHARS {
        return (line.to_string(), column);
    }
    let column = column.min(chars.len());
    let start = column.saturating_sub(MAX_EXCERPT_CHARS / 2).min(chars.len() - MAX_EXCERPT_CHARS);
    let end = start + MAX_EXCERPT_CHARS;
    let mut shown = String::new();
    if start > 0 {
        shown.push_str("...");
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push_str("...");
    }
    (shown, column - start + if start > 0 { 3 } else { 0 })
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.render(f, "error")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(column: usize, source: &str) -> Diagnostic {
        Diagnostic {
            file: "j.yaml".into(),
            line: 3,
            column,
            field: "logic".into(),
            message: "bad".into(),
            source_line: Some(source.into()),
        }
    }

    #[test]
    fn renders_errors_and_warnings_with_a_caret() {
        let d = at(5, "a: [x");
        assert_eq!(d.to_string(), "j.yaml:3:5: error: logic: bad\n  |\n3 | a: [x\n  |     ^\n");
        assert_eq!(d.as_warning(), "j.yaml:3:5: warning: logic: bad\n  |\n3 | a: [x\n  |     ^\n");
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let line = format!("k: {}x{}", "a".repeat(500), "b".repeat(500));
        let text = at(504, &line).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], format!("3 | ...{}x{}...", "a".repeat(60), "b".repeat(59)));
        assert_eq!(lines[3].find('^'), lines[2].find('x'));
        let text = at(2, &line).to_string();
        assert!(text.lines().nth(2).unwrap().starts_with("3 | k: aaa"));
        assert!(text.lines().nth(2).unwrap().ends_with("a..."));
    }
}

/// Every problem found while loading a set of job files; the error type of loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobErrors(pub Vec<Diagnostic>);

impl fmt::Display for JobErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            write!(f, "{d}")?;
        }
        let n = self.0.len();
        write!(f, "{} found in job files", crate::text::count(n as u64, "problem", "problems"))
    }
}

impl std::error::Error for JobErrors {}

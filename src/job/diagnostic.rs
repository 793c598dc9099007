//! Located job-file problems and how they are shown: `path:line:col: error: field: message`,
//! followed by the offending source line with a caret under the column.

use std::fmt;

/// One problem in one job file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the user named it.
    pub file: String,
    /// 1-based line and column; 0 when the problem concerns the whole file.
    pub line: usize,
    pub column: usize,
    /// Field path such as `policies[0].threshold`, empty for file-level problems.
    pub field: String,
    pub message: String,
    /// The source line the caret points into, if known.
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// The machine-readable form used by `validate --format json`: every problem is an error.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
            "severity": "error",
        })
    }

    /// The one-line form, without the source excerpt.
    pub fn headline(&self) -> String {
        let location = if self.line > 0 { format!("{}:{}:{}", self.file, self.line, self.column) } else { self.file.clone() };
        if self.field.is_empty() {
            format!("{location}: error: {}", self.message)
        } else {
            format!("{location}: error: {}: {}", self.field, self.message)
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.headline())?;
        if let Some(text) = &self.source_line {
            let number = self.line.to_string();
            let pad = " ".repeat(number.len());
            // Columns count characters; tabs are kept so the caret lines up under them.
            let lead: String = text.chars().take(self.column.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            writeln!(f, "{pad} |")?;
            writeln!(f, "{number} | {text}")?;
            writeln!(f, "{pad} | {lead}^")?;
        }
        Ok(())
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
        write!(f, "{n} problem{} found in job files", if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for JobErrors {}

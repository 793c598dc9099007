//! Unit-test results as JUnit XML, the report CI systems read: one `<testsuite>` per test file,
//! one `<testcase>` per test (class name: the file; name: the test's name), a `<failure>` holding
//! the failure report. No times are written, so the same results give the same bytes.

use crate::commands::test::file::UnitTest;
use crate::commands::test::runner::Outcome;
use std::fmt::Write;

/// The XML report of `tests` and their `outcomes` (same order).
pub(crate) fn report(tests: &[UnitTest], outcomes: &[Outcome]) -> String {
    let failures = outcomes.iter().filter(|o| o.failure.is_some()).count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(xml, "<testsuites name=\"meterflow test\" tests=\"{}\" failures=\"{failures}\">", tests.len());
    let mut files: Vec<&str> = Vec::new();
    for t in tests {
        if !files.contains(&t.file.as_str()) {
            files.push(&t.file);
        }
    }
    for file in files {
        let cases: Vec<(&UnitTest, &Outcome)> = tests.iter().zip(outcomes).filter(|(t, _)| t.file == file).collect();
        let failed = cases.iter().filter(|(_, o)| o.failure.is_some()).count();
        let _ =
            writeln!(xml, "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">", escape(file), cases.len());
        for (t, outcome) in cases {
            let _ = write!(xml, "    <testcase classname=\"{}\" name=\"{}\"", escape(&t.file), escape(&t.name));
            match &outcome.failure {
                None => xml.push_str("/>\n"),
                Some(report) => {
                    let first = report.lines().next().unwrap_or_default();
                    let _ = writeln!(
                        xml,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        escape(first),
                        escape(report)
                    );
                }
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// Text as XML character data or an attribute value; characters XML 1.0 cannot hold at all
/// (control characters other than tab and line ends) become `?`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_control_characters_are_escaped() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;?");
    }
}

//! A row's timestamp: its field, from one column or several joined with a space, read into an
//! instant (or both instants of a repeated local time, for [`super::stamps`]), and the words of
//! its refusals, which name the column(s) and propose a `--time-format` that reads the text.

use super::columns::Columns;
use super::shown::shell_quote;
use super::time_layout::{self, Layout};
use super::timestamp::{Placed, TimeError, TimeParser};
use csv::ByteRecord;

/// The row's timestamp field, from one column or several joined with a space in `stamp`.
#[inline]
pub(crate) fn time_field<'a>(record: &'a ByteRecord, columns: &Columns, stamp: &'a mut Vec<u8>) -> &'a [u8] {
    match columns.time.as_slice() {
        &[single] => record[single].trim_ascii(),
        several => {
            stamp.clear();
            for (k, &col) in several.iter().enumerate() {
                if k > 0 {
                    stamp.push(b' ');
                }
                stamp.extend_from_slice(record[col].trim_ascii());
            }
            stamp.as_slice()
        }
    }
}

fn time_label(columns: &Columns) -> String {
    match columns.time.as_slice() {
        &[single] => format!("column {}", single + 1),
        _ => format!("columns {}", columns.time_label()),
    }
}

/// The row's timestamp read: an instant, or both instants of a repeated local time.
#[inline]
pub(crate) fn timestamp(
    record: &ByteRecord,
    columns: &Columns,
    stamp: &mut Vec<u8>,
    time: &TimeParser,
) -> Result<Placed, String> {
    let field = time_field(record, columns, stamp);
    time.place(field).map_err(|e| {
        let text = String::from_utf8_lossy(field);
        format!(
            "{} (timestamp): invalid timestamp {text:?}: {}{}",
            time_label(columns),
            time.explain(e),
            proposal(&text, e)
        )
    })
}

/// A repeated local time whose instant the order of its series' rows cannot tell, and why.
pub(crate) fn undecided(
    record: &ByteRecord,
    columns: &Columns,
    stamp: &mut Vec<u8>,
    time: &TimeParser,
    why: &str,
) -> String {
    let text = String::from_utf8_lossy(time_field(record, columns, stamp)).into_owned();
    let zone = time.zone.map_or("UTC", |z| z.name());
    format!(
        "{} (timestamp): invalid timestamp {text:?}: ambiguous local time in {zone}, and --dst ambiguous=infer cannot \
         tell which of its two instants it is: {why}; choose one with --dst ambiguous=earlier or --dst ambiguous=later",
        time_label(columns)
    )
}

/// `; it reads as --time-format ...` when the refusal is about the layout and one reads `text`.
fn proposal(text: &str, error: TimeError) -> String {
    if !matches!(error, TimeError::Layout | TimeError::Pattern(_)) {
        return String::new();
    }
    match time_layout::propose(text) {
        Some(Layout { format: Some(format), day_month_ambiguous, .. }) => format!(
            "; it reads as --time-format {}{}",
            shell_quote(&format),
            if day_month_ambiguous { " (day first: this text does not tell day from month)" } else { "" }
        ),
        _ => String::new(),
    }
}

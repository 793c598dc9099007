//! Fixes proposed for a header that lacks roles, from the rows after it: the column that holds
//! timestamps (with its `--time-format`), `--wide` when no column names the point and some hold
//! numbers (a one-point export is wide too), the column that holds names for the asset, the
//! number column for the value. Only runs once a header has failed, so it may allocate freely.

use super::columns::HeaderError;
use super::options::{DEFAULT_NULL_VALUES, InputOptions, Layout};
use super::shown::{shell_quote, shorten};
use super::time_layout::{self, Part};
use super::timestamp::TimeFormat;

/// What the sampled cells of one column hold.
enum Kind {
    /// A date-and-time layout (`None`: the default layouts read it) or half of one.
    Time(Part, Option<String>),
    Numbers,
    Names,
    /// Empty, or mixed with missing cells.
    Other,
}

/// The hints for `error`'s missing roles, from up to a few dozen `rows` (trimmed cells).
pub(crate) fn hints(error: &HeaderError, rows: &[Vec<String>], options: &InputOptions) -> Vec<String> {
    let kinds: Vec<Kind> = (0..error.header.len()).map(|i| kind(&error.header[i], rows, i)).collect();
    let missing = |role: &str| error.problems.iter().any(|(r, _)| *r == role);
    let name = |i: usize| shell_quote(&error.header[i]);
    let mut hints = Vec::new();
    let mut time_columns = Vec::new();
    if missing("timestamp") {
        let needs_format = matches!(options.time.format, TimeFormat::Auto);
        let format_flag = |f: &Option<String>| match f {
            Some(f) if needs_format => format!(" --time-format {}", shell_quote(f)),
            _ => String::new(),
        };
        let of_part = |part: Part| {
            kinds.iter().enumerate().find_map(|(i, k)| match k {
                Kind::Time(p, f) if *p == part => Some((i, f)),
                _ => None,
            })
        };
        match (of_part(Part::DateTime), of_part(Part::Date), of_part(Part::Time)) {
            (Some((i, f)), _, _) => {
                hints.push(format!(
                    "{:?} holds timestamps ({:?}): --time-column {}{}",
                    error.header[i],
                    example(rows, i),
                    name(i),
                    format_flag(f)
                ));
                time_columns.push(i);
            }
            (None, Some((d, df)), Some((t, tf))) => {
                let joined =
                    Some(format!("{} {}", df.as_deref().unwrap_or_default(), tf.as_deref().unwrap_or_default()));
                hints.push(format!(
                    "{:?} and {:?} hold a date and a time: --time-column {}{}",
                    error.header[d],
                    error.header[t],
                    shell_quote(&format!("{},{}", error.header[d], error.header[t])),
                    format_flag(&joined)
                ));
                time_columns.extend([d, t]);
            }
            _ => {}
        }
    }
    let numbers: Vec<usize> =
        (0..kinds.len()).filter(|&i| matches!(kinds[i], Kind::Numbers) && !time_columns.contains(&i)).collect();
    let number_names = numbers.iter().map(|&i| error.header[i].as_str()).collect::<Vec<_>>().join(", ");
    // A text column whose rows differ is the point of a long file; the asset's name stays the same.
    let varying = (0..kinds.len())
        .filter(|&i| matches!(kinds[i], Kind::Names) && distinct(rows, i) > 1)
        .max_by_key(|&i| distinct(rows, i));
    if options.layout == Layout::Long && missing("point") && options.point.is_none() && varying.is_some() {
        let p = varying.unwrap_or_default();
        hints.push(format!(
            "{:?} holds names that change from row to row: --point-column {}",
            error.header[p],
            name(p)
        ));
        if missing("value") && !numbers.is_empty() {
            hints.push(format!(
                "{number_names} {} numbers: --value-column {}",
                plural(numbers.len()),
                name(numbers[0])
            ));
        }
    } else if options.layout == Layout::Long && missing("point") && options.point.is_none() && !numbers.is_empty() {
        hints.push(format!(
            "no column names the point, and {number_names} {} numbers: if each number column is a point (one row \
             per timestamp), add --wide (a file with one number column is wide too)",
            plural(numbers.len())
        ));
    } else if options.layout == Layout::Long && missing("value") && !numbers.is_empty() {
        hints.push(format!("{number_names} {} numbers: --value-column {}", plural(numbers.len()), name(numbers[0])));
    }
    if missing("asset") {
        match (0..kinds.len()).find(|&i| matches!(kinds[i], Kind::Names) && Some(i) != varying) {
            Some(i) => hints.push(format!(
                "{:?} holds names ({:?}): --asset-column {}, or a constant --asset ID for a single meter",
                error.header[i],
                example(rows, i),
                name(i)
            )),
            None => hints.push("no column holds names: give a constant --asset ID for a single meter".to_string()),
        }
    }
    hints
}

fn plural(n: usize) -> &'static str {
    crate::text::noun(n as u64, "holds", "hold")
}

fn distinct(rows: &[Vec<String>], column: usize) -> usize {
    let mut texts: Vec<&str> = rows.iter().filter_map(|r| r.get(column)).map(String::as_str).collect();
    texts.sort_unstable();
    texts.dedup();
    texts.len()
}

fn example(rows: &[Vec<String>], column: usize) -> String {
    shorten(rows.iter().filter_map(|r| r.get(column)).find(|c| !c.is_empty()).map_or("", String::as_str))
}

fn kind(name: &str, rows: &[Vec<String>], column: usize) -> Kind {
    let cells: Vec<&str> = rows.iter().filter_map(|r| r.get(column)).map(String::as_str).collect();
    let present: Vec<&str> = cells
        .iter()
        .copied()
        .filter(|c| !c.is_empty() && !DEFAULT_NULL_VALUES.iter().any(|m| m.eq_ignore_ascii_case(c)))
        .collect();
    if present.is_empty() {
        return Kind::Other;
    }
    if let Some(layout) = time_layout::detect(&present, time_layout::named_like_time(name)) {
        return Kind::Time(layout.part, layout.format);
    }
    if present.iter().all(|c| c.parse::<f64>().is_ok_and(f64::is_finite)) {
        return Kind::Numbers;
    }
    if present.len() == cells.len() { Kind::Names } else { Kind::Other }
}

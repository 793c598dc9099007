//! Timestamp layouts recognised from sample texts: whether meterflow's default layouts read them,
//! or which `--time-format` does (`04-10-2024 01:00` -> `%d-%m-%Y %H:%M`), telling day-first from
//! month-first dates by a field above 12 and saying when no sample does. Every proposal is checked
//! by parsing the samples with the reader's own timestamp parser. `sniff` and the input reader's
//! timestamp errors share it.

use super::timestamp::{DstPolicy, TimeFormat, TimeParser};

/// Words in a header name that say a column holds time, so all-digit cells read as epoch times.
const TIME_WORDS: &[&str] = &["time", "ts", "date", "tstp", "stamp", "epoch"];

/// Whether a column named `name` may hold all-digit epoch times.
pub(crate) fn named_like_time(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    TIME_WORDS.iter().any(|w| lower.contains(w))
}

/// What part of a timestamp a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// Date and time (and maybe an offset): a timestamp on its own.
    DateTime,
    /// A date without time: joined with a [`Part::Time`] column.
    Date,
    /// A time of day without date.
    Time,
}

/// A layout that reads every sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub(crate) part: Part,
    /// The `--time-format` pattern; `None` when the default layouts read the samples.
    pub(crate) format: Option<String>,
    /// Every date could be day-first or month-first: day-first was assumed.
    pub(crate) day_month_ambiguous: bool,
}

/// The layout of `samples` (trimmed texts, none empty), or `None` when no layout reads them all.
/// All-digit texts are taken as epoch seconds or milliseconds only when `digits_are_time` (a
/// column whose name says time), since a number column would read as epoch milliseconds too.
pub(crate) fn detect(samples: &[&str], digits_are_time: bool) -> Option<Layout> {
    let first = *samples.first()?;
    if samples.iter().all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())) {
        if !digits_are_time {
            return None;
        }
        let format = match first.len() {
            13 => None,
            10 => Some("epoch_s".to_string()),
            _ => return None,
        };
        let layout = Layout { part: Part::DateTime, format, day_month_ambiguous: false };
        return reads_all(&layout, samples).then_some(layout);
    }
    if let Some(auto) = Some(Layout { part: Part::DateTime, format: None, day_month_ambiguous: false })
        .filter(|l| reads_all(l, samples))
    {
        return Some(auto);
    }
    let shape = Shape::of(first)?;
    let day_first = day_first(samples, &shape);
    let layout = shape.layout(day_first.unwrap_or(true), day_first.is_none());
    match layout.part {
        Part::DateTime => reads_all(&layout, samples).then_some(layout),
        // A date or a time alone is checked once joined with a fixed other half.
        Part::Date => {
            let joined: Vec<String> = samples.iter().map(|s| format!("{s} 00:00")).collect();
            let probe = Layout { format: layout.format.as_ref().map(|f| format!("{f} %H:%M")), ..layout.clone() };
            reads_all(&probe, &joined.iter().map(String::as_str).collect::<Vec<_>>()).then_some(layout)
        }
        Part::Time => {
            let joined: Vec<String> = samples.iter().map(|s| format!("2000-01-01 {s}")).collect();
            let probe = Layout { format: layout.format.as_ref().map(|f| format!("%Y-%m-%d {f}")), ..layout.clone() };
            reads_all(&probe, &joined.iter().map(String::as_str).collect::<Vec<_>>()).then_some(layout)
        }
    }
}

/// The `--time-format` that reads `text`, for a message about a timestamp the reader refused.
pub(crate) fn propose(text: &str) -> Option<Layout> {
    detect(&[text], false).filter(|l| l.part == Part::DateTime && l.format.is_some())
}

/// Whether the reader's parser (UTC, no DST policy needed) reads every sample with `layout`.
pub(crate) fn reads_all(layout: &Layout, samples: &[&str]) -> bool {
    let format = match &layout.format {
        None => TimeFormat::Auto,
        Some(text) => match TimeFormat::parse(text) {
            Ok(format) => format,
            Err(_) => return false,
        },
    };
    let parser = TimeParser { format, zone: None, dst: DstPolicy::default() };
    samples.iter().all(|s| parser.parse(s.as_bytes()).is_ok())
}

/// The fields of a timestamp text, found from its first sample.
#[derive(Debug)]
struct Shape {
    /// `(first, separator, second, third)` digit-run lengths of a date, if any.
    date: Option<([usize; 3], char)>,
    /// Between date and time: `T` or a space.
    joint: Option<char>,
    /// `H:M`, `H:M:S` or `H:M:S.f`.
    time: Option<TimeFields>,
    /// `Z`, `+hhmm` or `+hh:mm` after the time.
    offset: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeFields {
    Minutes,
    Seconds,
    Fraction,
}

impl Shape {
    fn of(text: &str) -> Option<Shape> {
        let b = text.as_bytes();
        let mut i = 0;
        let digits = |i: &mut usize| {
            let start = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *i - start
        };
        let mut date = None;
        let first = digits(&mut i);
        let after_first = b.get(i).copied();
        if first > 0 && matches!(after_first, Some(b'-' | b'/' | b'.')) {
            let sep = b[i];
            i += 1;
            let second = digits(&mut i);
            if b.get(i) != Some(&sep) {
                return None;
            }
            i += 1;
            let third = digits(&mut i);
            let year_at_end = matches!(third, 2 | 4) && (1..=2).contains(&first);
            let year_first = first == 4 && (1..=2).contains(&third);
            if !(1..=2).contains(&second) || !(year_at_end || year_first) {
                return None;
            }
            date = Some(([first, second, third], sep as char));
        } else {
            // A time alone: rewind.
            i = 0;
        }
        let joint = match (date.is_some(), b.get(i)) {
            (true, Some(b'T' | b' ')) => {
                i += 1;
                Some(b[i - 1] as char)
            }
            (true, None) => None,
            (true, Some(_)) => return None,
            (false, _) => None,
        };
        let mut time = None;
        if date.is_none() || joint.is_some() {
            let hours = digits(&mut i);
            if !(1..=2).contains(&hours) || b.get(i) != Some(&b':') {
                return None;
            }
            i += 1;
            if digits(&mut i) != 2 {
                return None;
            }
            time = Some(TimeFields::Minutes);
            if b.get(i) == Some(&b':') {
                i += 1;
                if digits(&mut i) != 2 {
                    return None;
                }
                time = Some(TimeFields::Seconds);
                if b.get(i) == Some(&b'.') {
                    i += 1;
                    if digits(&mut i) == 0 {
                        return None;
                    }
                    time = Some(TimeFields::Fraction);
                }
            }
        }
        let offset = match &b[i..] {
            [] => None,
            b"Z" => Some("Z"),
            [b'+' | b'-', h1, h2, b':', m1, m2] if [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()) => Some("%:z"),
            [b'+' | b'-', rest @ ..] if rest.len() == 4 && rest.iter().all(u8::is_ascii_digit) => Some("%z"),
            _ => return None,
        };
        if offset.is_some() && time.is_none() {
            return None;
        }
        Some(Shape { date, joint, time, offset })
    }

    fn layout(&self, day_first: bool, ambiguous: bool) -> Layout {
        let mut format = String::new();
        let mut day_month_ambiguous = false;
        if let Some(([first, _, third], sep)) = self.date {
            let year = if first == 4 || third == 4 { "%Y" } else { "%y" };
            if first == 4 {
                format.push_str(&format!("%Y{sep}%m{sep}%d"));
            } else if day_first {
                format.push_str(&format!("%d{sep}%m{sep}{year}"));
                day_month_ambiguous = ambiguous;
            } else {
                format.push_str(&format!("%m{sep}%d{sep}{year}"));
            }
        }
        if let Some(joint) = self.joint {
            format.push(joint);
        }
        match self.time {
            Some(TimeFields::Minutes) => format.push_str("%H:%M"),
            Some(TimeFields::Seconds) => format.push_str("%H:%M:%S"),
            Some(TimeFields::Fraction) => format.push_str("%H:%M:%S%.f"),
            None => {}
        }
        if let Some(offset) = self.offset {
            format.push_str(offset);
        }
        let part = match (self.date.is_some(), self.time.is_some()) {
            (true, true) => Part::DateTime,
            (true, false) => Part::Date,
            _ => Part::Time,
        };
        Layout { part, format: Some(format), day_month_ambiguous }
    }
}

/// For a date with the year last: `Some(true)` when some sample's first field is above 12,
/// `Some(false)` when some second field is, `None` when no sample tells.
fn day_first(samples: &[&str], shape: &Shape) -> Option<bool> {
    let (lengths, sep) = shape.date?;
    if lengths[0] == 4 {
        return Some(true);
    }
    let mut firsts_above = false;
    let mut seconds_above = false;
    for s in samples {
        let mut fields = s.split(sep).map(|f| f.parse::<u32>().unwrap_or(0));
        firsts_above |= fields.next().unwrap_or(0) > 12;
        seconds_above |= fields.next().unwrap_or(0) > 12;
    }
    match (firsts_above, seconds_above) {
        (true, _) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(samples: &[&str]) -> Option<(Part, Option<String>, bool)> {
        detect(samples, false).map(|l| (l.part, l.format, l.day_month_ambiguous))
    }

    fn some(part: Part, format: &str, ambiguous: bool) -> Option<(Part, Option<String>, bool)> {
        Some((part, Some(format.to_string()), ambiguous))
    }

    #[test]
    fn day_first_dates_with_and_without_a_day_above_12() {
        assert_eq!(format(&["04-10-2024 01:00", "14-09-2024 23:30"]), some(Part::DateTime, "%d-%m-%Y %H:%M", false));
        assert_eq!(format(&["04-10-2024 01:00"]), some(Part::DateTime, "%d-%m-%Y %H:%M", true));
        assert_eq!(
            format(&["10/04/2024 01:00:00", "10/24/2024 01:00:00"]),
            some(Part::DateTime, "%m/%d/%Y %H:%M:%S", false)
        );
    }

    #[test]
    fn default_layouts_need_no_format() {
        assert_eq!(format(&["2013-01-01 00:30:00", "2015-10-04T01:00:00Z"]), Some((Part::DateTime, None, false)));
        assert_eq!(format(&["2015-10-04T03:00:00+0200"]), Some((Part::DateTime, None, false)));
        assert_eq!(format(&["14-10-2024 01:00:00+02:00"]), some(Part::DateTime, "%d-%m-%Y %H:%M:%S%:z", false));
        assert_eq!(format(&["14.10.2024 01:00+0100"]), some(Part::DateTime, "%d.%m.%Y %H:%M%z", false));
    }

    #[test]
    fn separate_date_and_time_columns_unpadded() {
        assert_eq!(format(&["16/12/2006", "8/1/2007"]), some(Part::Date, "%d/%m/%Y", false));
        assert_eq!(format(&["17:24:00", "0:00:00"]), some(Part::Time, "%H:%M:%S", false));
    }

    #[test]
    fn numbers_and_text_are_not_timestamps() {
        assert_eq!(format(&["0.178", "1.0599999"]), None);
        assert_eq!(format(&["1700000000000"]), None);
        assert_eq!(detect(&["1700000000000"], true).map(|l| l.format), Some(None));
        assert_eq!(detect(&["1700000000"], true).map(|l| l.format), Some(Some("epoch_s".to_string())));
        assert_eq!(format(&["Active Import Interval (kWh)"]), None);
        assert_eq!(format(&["31-31-2024 00:00"]), None);
    }

    #[test]
    fn a_refused_text_gets_a_proposal() {
        assert_eq!(propose("04-10-2024 01:00").and_then(|l| l.format), Some("%d-%m-%Y %H:%M".to_string()));
        assert_eq!(propose("2024-10-04 01:00:00"), None);
    }
}

//! How a timestamp field of an input becomes epoch milliseconds: its layout (`--time-format`: the
//! default fixed-layout fast path of [`crate::time`], a strftime pattern, epoch seconds or
//! milliseconds), the time zone of wall-clock times without offset (`--timezone`, default UTC) and
//! what a wall-clock time that a DST change repeats or skips becomes (`--dst`; `ambiguous=infer`
//! leaves both instants to [`super::stamps`], which knows the series' rows).

use crate::time::{MS_PER_SECOND, Stamp, TimestampError, in_range, parse_stamp};
use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// The layout of timestamp fields.
#[derive(Debug, Clone)]
pub enum TimeFormat {
    /// RFC 3339 or `YYYY-MM-DD[T ]HH:MM:SS[.fff]` (fast path), or all-digit epoch milliseconds.
    Auto,
    EpochSeconds,
    EpochMillis,
    /// A strftime pattern, compiled once.
    Pattern {
        text: String,
        items: Vec<Item<'static>>,
    },
}

impl TimeFormat {
    /// `epoch_s`, `epoch_ms` or a strftime pattern.
    pub fn parse(text: &str) -> Result<TimeFormat, String> {
        match text {
            "epoch_s" => Ok(TimeFormat::EpochSeconds),
            "epoch_ms" => Ok(TimeFormat::EpochMillis),
            _ if !text.contains('%') => Err(format!(
                "{text:?} has no % field; expected a strftime pattern such as \"%d/%m/%Y %H:%M:%S\", or epoch_s, epoch_ms"
            )),
            _ => match StrftimeItems::new(text).parse_to_owned() {
                Ok(items) => Ok(TimeFormat::Pattern { text: text.to_string(), items }),
                Err(_) => Err(format!("invalid strftime pattern {text:?}; fields are written like %Y-%m-%d %H:%M:%S")),
            },
        }
    }
}

/// A wall-clock time that occurs twice (clocks go back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ambiguous {
    Earlier,
    Later,
    /// Told from the order of the series' rows (see [`super::stamps`]).
    Infer,
    #[default]
    Reject,
}

/// A timestamp field read: an instant, or the two instants of a repeated local time that
/// `--dst ambiguous=infer` leaves to the order of the series' rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placed {
    At(i64),
    Either { earlier: i64, later: i64 },
}

impl Placed {
    /// The instant, or the earlier of the two.
    #[inline]
    pub(crate) fn earliest(self) -> i64 {
        match self {
            Placed::At(ms) | Placed::Either { earlier: ms, .. } => ms,
        }
    }
}

/// A wall-clock time that does not occur (clocks go forward).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Nonexistent {
    /// Read with the UTC offset in force before the change: the time moves forward by the length
    /// of the gap (01:30 in a 01:00 -> 02:00 gap is 02:30), as java.time does.
    Shift,
    #[default]
    Reject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DstPolicy {
    pub ambiguous: Ambiguous,
    pub nonexistent: Nonexistent,
}

/// Why a timestamp field was refused; [`TimeParser::explain`] words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    Layout,
    Pattern(chrono::format::ParseError),
    Range,
    Ambiguous,
    Nonexistent,
    /// All digits, as many as epoch seconds of our time have: see `seconds_like`.
    SecondsLike,
}

/// The digit count of an all-digit field that the default layout refuses rather than read as
/// epoch milliseconds: as milliseconds it falls between 1970-01-12 and 1970-04-26, while as epoch
/// seconds it spans 2001-09-09 to 2286 (`1700000000` is 2023-11-14), the epoch seconds of our time.
const SECONDS_LIKE_DIGITS: usize = 10;

/// Whether `field` is an all-digit number (optionally negative) of [`SECONDS_LIKE_DIGITS`] digits.
#[inline]
fn seconds_like(field: &[u8]) -> bool {
    let digits = field.strip_prefix(b"-").unwrap_or(field);
    digits.len() == SECONDS_LIKE_DIGITS && digits.iter().all(u8::is_ascii_digit)
}

/// Reads timestamp fields into epoch milliseconds.
#[derive(Debug, Clone)]
pub struct TimeParser {
    pub format: TimeFormat,
    /// `None` is UTC.
    pub zone: Option<Tz>,
    pub dst: DstPolicy,
}

impl TimeParser {
    /// The instant of one timestamp field. Allocates nothing. A repeated local time under
    /// `ambiguous=infer` is refused here: only [`TimeParser::place`] knows the series.
    #[inline]
    pub fn parse(&self, field: &[u8]) -> Result<i64, TimeError> {
        match self.place(field)? {
            Placed::At(ms) => Ok(ms),
            Placed::Either { .. } => Err(TimeError::Ambiguous),
        }
    }

    /// One timestamp field read as an instant, or as both instants of a repeated local time
    /// when the policy is `ambiguous=infer`. Allocates nothing.
    #[inline]
    pub(crate) fn place(&self, field: &[u8]) -> Result<Placed, TimeError> {
        let stamp = match &self.format {
            TimeFormat::Auto if seconds_like(field) => return Err(TimeError::SecondsLike),
            TimeFormat::Auto => parse_stamp(field).map_err(|TimestampError| TimeError::Layout)?,
            TimeFormat::EpochMillis => Stamp::Instant(epoch(field, 0).ok_or(TimeError::Layout)?),
            TimeFormat::EpochSeconds => Stamp::Instant(epoch(field, 3).ok_or(TimeError::Layout)?),
            TimeFormat::Pattern { items, .. } => pattern(field, items)?,
        };
        let range = |ms| in_range(ms).map_err(|TimestampError| TimeError::Range);
        match stamp {
            Stamp::Instant(ms) => range(ms).map(Placed::At),
            Stamp::Local(wall) => match self.local(wall)? {
                Placed::At(ms) => range(ms).map(Placed::At),
                Placed::Either { earlier, later } => {
                    Ok(Placed::Either { earlier: range(earlier)?, later: range(later)? })
                }
            },
        }
    }

    /// The instant of a wall-clock time in the zone.
    #[inline]
    fn local(&self, wall: i64) -> Result<Placed, TimeError> {
        let Some(zone) = self.zone else { return Ok(Placed::At(wall)) };
        let naive = DateTime::from_timestamp_millis(wall).ok_or(TimeError::Range)?.naive_utc();
        match zone.from_local_datetime(&naive) {
            chrono::LocalResult::Single(t) => Ok(Placed::At(t.timestamp_millis())),
            chrono::LocalResult::Ambiguous(earlier, later) => match self.dst.ambiguous {
                Ambiguous::Earlier => Ok(Placed::At(earlier.timestamp_millis())),
                Ambiguous::Later => Ok(Placed::At(later.timestamp_millis())),
                Ambiguous::Infer => {
                    Ok(Placed::Either { earlier: earlier.timestamp_millis(), later: later.timestamp_millis() })
                }
                Ambiguous::Reject => Err(TimeError::Ambiguous),
            },
            chrono::LocalResult::None => match self.dst.nonexistent {
                Nonexistent::Shift => {
                    // A day before the gap the offset is the one in force just before it: zones
                    // do not change offset twice in a day.
                    let before = naive.checked_sub_signed(TimeDelta::days(1)).ok_or(TimeError::Range)?;
                    let offset = zone.offset_from_utc_datetime(&before).fix().local_minus_utc();
                    Ok(Placed::At(wall - i64::from(offset) * MS_PER_SECOND))
                }
                Nonexistent::Reject => Err(TimeError::Nonexistent),
            },
        }
    }

    /// Words a refusal, after `invalid timestamp "...": `.
    pub fn explain(&self, error: TimeError) -> String {
        let zone = self.zone.map_or("UTC", |z| z.name());
        match (error, &self.format) {
            (TimeError::Ambiguous, _) if self.dst.ambiguous == Ambiguous::Infer => format!(
                "ambiguous local time in {zone}: it occurs twice as clocks go back, and outside a series' rows (JSON \
                 lines) --dst ambiguous=infer has no order to tell which; choose one with --dst ambiguous=earlier or \
                 --dst ambiguous=later"
            ),
            (TimeError::Ambiguous, _) => {
                format!(
                    "ambiguous local time in {zone}: it occurs twice as clocks go back; choose one with --dst ambiguous=infer (by the order of each series' rows), ambiguous=earlier or ambiguous=later"
                )
            }
            (TimeError::Nonexistent, _) => format!(
                "nonexistent local time in {zone}: clocks skip it going forward; --dst nonexistent=shift reads it with the offset before the change"
            ),
            (TimeError::Range, _) => "expected a time between years 0000 and 9999".to_string(),
            (TimeError::SecondsLike, _) => format!(
                "a {SECONDS_LIKE_DIGITS}-digit timestamp is not read without --time-format: as epoch milliseconds it \
                 would fall in the first months of 1970, so it is most likely epoch seconds; give --time-format \
                 epoch_s (or --time-format epoch_ms if it really is milliseconds)"
            ),
            (_, TimeFormat::Pattern { text, .. }) => match error {
                TimeError::Pattern(e) => format!("expected --time-format {text:?} ({e})"),
                _ => format!("expected --time-format {text:?}"),
            },
            (_, TimeFormat::EpochSeconds) => "expected epoch seconds (digits, optional fraction)".to_string(),
            (_, TimeFormat::EpochMillis) => "expected epoch milliseconds (digits)".to_string(),
            (_, TimeFormat::Auto) => TimestampError.to_string(),
        }
    }
}

/// Epoch digits with an optional sign and, when `scale` (decimal digits to milliseconds) is
/// non-zero, a fraction truncated to milliseconds.
fn epoch(field: &[u8], scale: u32) -> Option<i64> {
    let (negative, digits) = match field {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, field),
    };
    let (whole, fraction) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) if scale > 0 => (&digits[..dot], &digits[dot + 1..]),
        _ => (digits, &b""[..]),
    };
    if whole.is_empty()
        || !whole.iter().chain(fraction).all(u8::is_ascii_digit)
        || (fraction.is_empty() && digits.len() > whole.len())
    {
        return None;
    }
    let mut value: i64 = 0;
    for &d in whole {
        value = value.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
    }
    let mut millis = 0;
    for k in 0..scale as usize {
        millis = millis * 10 + fraction.get(k).map_or(0, |d| i64::from(d - b'0'));
    }
    let ms = value.checked_mul(10_i64.pow(scale))?.checked_add(millis)?;
    Some(if negative { -ms } else { ms })
}

fn pattern(field: &[u8], items: &[Item<'static>]) -> Result<Stamp, TimeError> {
    let text = std::str::from_utf8(field).map_err(|_| TimeError::Layout)?;
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, items.iter()).map_err(TimeError::Pattern)?;
    if parsed.offset().is_some() {
        return parsed.to_datetime().map(|t| Stamp::Instant(t.timestamp_millis())).map_err(TimeError::Pattern);
    }
    if parsed.timestamp().is_some() {
        return parsed
            .to_datetime_with_timezone(&Utc)
            .map(|t| Stamp::Instant(t.timestamp_millis()))
            .map_err(TimeError::Pattern);
    }
    let date = parsed.to_naive_date().map_err(TimeError::Pattern)?;
    // A date-only pattern (daily readings) means midnight.
    let time = if parsed.hour_mod_12().is_none() && parsed.minute().is_none() {
        NaiveTime::MIN
    } else {
        parsed.to_naive_time().map_err(TimeError::Pattern)?
    };
    Ok(Stamp::Local(NaiveDateTime::new(date, time).and_utc().timestamp_millis()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser(format: &str, zone: Option<&str>, dst: DstPolicy) -> TimeParser {
        let format = if format == "auto" { TimeFormat::Auto } else { TimeFormat::parse(format).unwrap() };
        TimeParser { format, zone: zone.map(|z| z.parse().unwrap()), dst }
    }

    fn utc(text: &str) -> i64 {
        crate::time::parse_timestamp(text.as_bytes()).unwrap()
    }

    #[test]
    fn patterns_accept_unpadded_day_and_month() {
        let p = parser("%d/%m/%Y %H:%M:%S", None, DstPolicy::default());
        assert_eq!(p.parse(b"19/1/2007 08:27:00"), Ok(utc("2007-01-19T08:27:00Z")));
        assert_eq!(p.parse(b"8/1/2007 00:00:00"), Ok(utc("2007-01-08T00:00:00Z")));
        assert_eq!(p.parse(b"16/12/2006 17:24:00"), Ok(utc("2006-12-16T17:24:00Z")));
        let err = p.parse(b"2007-01-19 08:27:00").unwrap_err();
        assert_eq!(p.explain(err), "expected --time-format \"%d/%m/%Y %H:%M:%S\" (input contains invalid characters)");
    }

    #[test]
    fn date_only_patterns_mean_midnight_and_offsets_are_honoured() {
        assert_eq!(parser("%d.%m.%Y", None, DstPolicy::default()).parse(b"2.1.2024"), Ok(utc("2024-01-02T00:00:00Z")));
        let p = parser("%Y-%m-%dT%H:%M:%S%z", Some("Europe/Dublin"), DstPolicy::default());
        assert_eq!(p.parse(b"2015-10-25T02:00:00+0100"), Ok(utc("2015-10-25T01:00:00Z")));
    }

    #[test]
    fn epoch_seconds_and_milliseconds() {
        let s = parser("epoch_s", None, DstPolicy::default());
        assert_eq!(s.parse(b"1700000000"), Ok(1_700_000_000_000));
        assert_eq!(s.parse(b"1700000000.25"), Ok(1_700_000_000_250));
        assert_eq!(s.parse(b"-1.5"), Ok(-1_500));
        assert_eq!(s.parse(b"17e8"), Err(TimeError::Layout));
        assert_eq!(s.parse(b"1."), Err(TimeError::Layout));
        let ms = parser("epoch_ms", None, DstPolicy::default());
        assert_eq!(ms.parse(b"1700000000123"), Ok(1_700_000_000_123));
        assert_eq!(ms.parse(b"1700000000.5"), Err(TimeError::Layout));
        assert_eq!(ms.parse(b"99999999999999999999"), Err(TimeError::Layout));
    }

    /// Without --time-format, the digit count decides: 10 digits are refused (epoch seconds of
    /// 2001 to 2286, or milliseconds of early 1970), any other count is milliseconds.
    #[test]
    fn default_layout_refuses_digits_that_look_like_epoch_seconds() {
        let auto = parser("auto", None, DstPolicy::default());
        assert_eq!(auto.parse(b"999999999"), Ok(999_999_999));
        assert_eq!(auto.parse(b"-3600000"), Ok(-3_600_000));
        for seconds_like in ["1000000000", "1700000000", "9999999999", "-1700000000"] {
            assert_eq!(auto.parse(seconds_like.as_bytes()), Err(TimeError::SecondsLike), "{seconds_like}");
        }
        assert_eq!(auto.parse(b"10000000000"), Ok(10_000_000_000));
        assert_eq!(auto.parse(b"1700000000000"), Ok(1_700_000_000_000));
        assert!(auto.explain(TimeError::SecondsLike).contains("--time-format epoch_s"));
    }

    #[test]
    fn local_times_in_a_zone() {
        let p = parser("auto", Some("Europe/Dublin"), DstPolicy::default());
        assert_eq!(p.parse(b"2024-07-01 12:00:00"), Ok(utc("2024-07-01T11:00:00Z")));
        assert_eq!(p.parse(b"2024-01-01 12:00:00"), Ok(utc("2024-01-01T12:00:00Z")));
        // An explicit offset wins over the zone.
        assert_eq!(p.parse(b"2024-07-01T12:00:00Z"), Ok(utc("2024-07-01T12:00:00Z")));
    }

    #[test]
    fn dublin_fall_back_repeat() {
        // 2023-10-29: clocks go back from 02:00 IST (+01:00) to 01:00 GMT, so 01:00-01:59 occurs twice.
        let text = b"29-10-2023 01:30";
        let with = |ambiguous| {
            parser("%d-%m-%Y %H:%M", Some("Europe/Dublin"), DstPolicy { ambiguous, ..DstPolicy::default() })
        };
        assert_eq!(with(Ambiguous::Earlier).parse(text), Ok(utc("2023-10-29T00:30:00Z")));
        assert_eq!(with(Ambiguous::Later).parse(text), Ok(utc("2023-10-29T01:30:00Z")));
        let p = with(Ambiguous::Reject);
        assert_eq!(p.parse(text), Err(TimeError::Ambiguous));
        assert_eq!(
            p.explain(TimeError::Ambiguous),
            "ambiguous local time in Europe/Dublin: it occurs twice as clocks go back; choose one with --dst ambiguous=infer (by the order of each series' rows), ambiguous=earlier or ambiguous=later"
        );
        assert_eq!(p.parse(b"29-10-2023 00:59"), Ok(utc("2023-10-28T23:59:00Z")));
        let infer = with(Ambiguous::Infer);
        let (earlier, later) = (utc("2023-10-29T00:30:00Z"), utc("2023-10-29T01:30:00Z"));
        assert_eq!(infer.place(text), Ok(Placed::Either { earlier, later }));
        assert_eq!(infer.place(b"29-10-2023 02:00"), Ok(Placed::At(utc("2023-10-29T02:00:00Z"))));
        assert_eq!(infer.parse(text), Err(TimeError::Ambiguous));
        assert_eq!(p.parse(b"29-10-2023 02:00"), Ok(utc("2023-10-29T02:00:00Z")));
    }

    #[test]
    fn dublin_spring_forward_gap() {
        // 2023-03-26: clocks go forward from 01:00 GMT to 02:00 IST, so 01:00-01:59 does not occur.
        let with =
            |nonexistent| parser("auto", Some("Europe/Dublin"), DstPolicy { nonexistent, ..DstPolicy::default() });
        assert_eq!(with(Nonexistent::Shift).parse(b"2023-03-26 01:30:00"), Ok(utc("2023-03-26T01:30:00Z")));
        assert_eq!(with(Nonexistent::Shift).parse(b"2023-03-26 01:00:00"), Ok(utc("2023-03-26T01:00:00Z")));
        assert_eq!(with(Nonexistent::Reject).parse(b"2023-03-26 01:30:00"), Err(TimeError::Nonexistent));
        assert_eq!(with(Nonexistent::Reject).parse(b"2023-03-26 00:59:59"), Ok(utc("2023-03-26T00:59:59Z")));
        assert_eq!(with(Nonexistent::Reject).parse(b"2023-03-26 02:00:00"), Ok(utc("2023-03-26T01:00:00Z")));
    }

    #[test]
    fn bad_patterns_are_refused_up_front() {
        assert!(TimeFormat::parse("%Q").is_err());
        assert_eq!(
            TimeFormat::parse("dd/mm/yyyy").unwrap_err(),
            "\"dd/mm/yyyy\" has no % field; expected a strftime pattern such as \"%d/%m/%Y %H:%M:%S\", or epoch_s, epoch_ms"
        );
    }
}

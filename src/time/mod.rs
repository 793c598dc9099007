//! Event time: parsing input timestamps into epoch milliseconds and formatting them back.
//! Timestamps are `i64` epoch milliseconds everywhere past the input boundary.
//!
//! Parsing has a hand-written fast path for the fixed layouts meter exports use
//! (`YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]`, `T` or a space) and falls back to chrono for the rest of
//! RFC 3339. All-digit fields are epoch milliseconds (the input side refuses the digit counts of
//! epoch seconds first, see [`crate::input::timestamp`]). [`parse_stamp`] keeps apart a text that names
//! an instant (an offset, `Z`, epoch digits) from a wall-clock time without offset, so the input side
//! can read the latter in a time zone; [`parse_timestamp`] reads it as UTC.

pub mod duration;
pub mod grid;
pub mod period;
pub mod zone;

use std::fmt;

/// Milliseconds in the units durations and timestamps are built from.
pub(crate) const MS_PER_SECOND: i64 = 1_000;
pub const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
pub const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
pub const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// Earliest and latest instants meterflow accepts: years 0000 through 9999, so every timestamp
/// formats back into four-digit years and window arithmetic cannot overflow.
pub const MIN_TIMESTAMP: i64 = -62_167_219_200_000;
pub const MAX_TIMESTAMP: i64 = 253_402_300_799_999;

/// Why a timestamp field could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError;

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "expected an RFC 3339 timestamp (2024-01-01T00:00:00Z, optional fraction and offset) \
             or epoch milliseconds, between years 0000 and 9999",
        )
    }
}

/// A timestamp field as written: an instant, or a wall-clock time that names no offset (its
/// milliseconds counted as if it were UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stamp {
    Instant(i64),
    Local(i64),
}

/// Parses one timestamp field into epoch milliseconds (UTC when the text carries no offset).
pub fn parse_timestamp(field: &[u8]) -> Result<i64, TimestampError> {
    match parse_stamp(field)? {
        Stamp::Instant(ms) | Stamp::Local(ms) => in_range(ms),
    }
}

/// Parses one timestamp field, telling an instant from a wall-clock time. The caller checks the
/// range ([`in_range`]) once the wall-clock time is placed in its zone.
#[inline]
pub(crate) fn parse_stamp(field: &[u8]) -> Result<Stamp, TimestampError> {
    match fixed_layout(field) {
        Some((wall, Some(offset_minutes))) => Ok(Stamp::Instant(wall - offset_minutes * MS_PER_MINUTE)),
        Some((wall, None)) => Ok(Stamp::Local(wall)),
        None if is_epoch_digits(field) => parse_epoch_ms(field).map(Stamp::Instant),
        None => parse_general(field),
    }
}

/// `ms` if it lies in the accepted years, else the error.
#[inline]
pub(crate) fn in_range(ms: i64) -> Result<i64, TimestampError> {
    if (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&ms) { Ok(ms) } else { Err(TimestampError) }
}

fn is_epoch_digits(field: &[u8]) -> bool {
    let digits = field.strip_prefix(b"-").unwrap_or(field);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

fn parse_epoch_ms(field: &[u8]) -> Result<i64, TimestampError> {
    // Digits were checked by the caller, so from_utf8 cannot fail; overflow is a user error.
    std::str::from_utf8(field).ok().and_then(|s| s.parse::<i64>().ok()).ok_or(TimestampError)
}

fn parse_general(field: &[u8]) -> Result<Stamp, TimestampError> {
    let text = std::str::from_utf8(field).map_err(|_| TimestampError)?.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(Stamp::Instant(dt.timestamp_millis()));
    }
    // chrono accepts one-digit fields; a truncated `2024-01-01T00:0` must not read as 00:00.
    let b = text.as_bytes();
    let padded = b.len() >= 16
        && b[4] == b'-'
        && b[7] == b'-'
        && b[13] == b':'
        && (b.len() == 16 || (b.len() >= 19 && b[16] == b':'));
    if !padded {
        return Err(TimestampError);
    }
    for layout in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, layout) {
            return Ok(Stamp::Local(naive.and_utc().timestamp_millis()));
        }
    }
    Err(TimestampError)
}

/// Two ASCII digits at `at`, or `None`.
#[inline]
fn two_digits(b: &[u8], at: usize) -> Option<u32> {
    let (h, l) = (b.get(at)?.wrapping_sub(b'0'), b.get(at + 1)?.wrapping_sub(b'0'));
    (h < 10 && l < 10).then_some(u32::from(h) * 10 + u32::from(l))
}

/// The fast path: `YYYY-MM-DD(T| )HH:MM:SS`, an optional `.` and 1-9 fraction digits, then `Z`,
/// `±HH:MM`, `±HHMM` or nothing (UTC). Returns `None` for anything else so the general parser can
/// decide, which keeps this function free of error reporting.
#[inline]
pub fn parse_fixed_layout(b: &[u8]) -> Option<i64> {
    fixed_layout(b).map(|(wall, offset_minutes)| wall - offset_minutes.unwrap_or(0) * MS_PER_MINUTE)
}

/// The fast path's parts: the wall-clock milliseconds (as if UTC) and the offset in minutes when
/// the text has one (`Z` is offset 0).
#[inline]
fn fixed_layout(b: &[u8]) -> Option<(i64, Option<i64>)> {
    let minute = parse_minute(b.get(..16)?)?;
    let (in_minute, offset_minutes, end) = parse_seconds_and_offset(b)?;
    (end == b.len()).then_some((minute + in_minute, offset_minutes))
}

/// `YYYY-MM-DD(T| )HH:MM` (16 bytes) as epoch milliseconds, UTC.
#[inline]
fn parse_minute(b: &[u8]) -> Option<i64> {
    if b.len() != 16 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') || b[13] != b':' {
        return None;
    }
    let year = two_digits(b, 0)? * 100 + two_digits(b, 2)?;
    let month = two_digits(b, 5)?;
    let day = two_digits(b, 8)?;
    let hour = two_digits(b, 11)?;
    let minute = two_digits(b, 14)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year as i64, month) {
        return None;
    }
    if hour > 23 || minute > 59 {
        return None;
    }
    let days = days_from_civil(year as i64, month, day);
    Some((days * 86_400 + i64::from(hour * 3600 + minute * 60)) * MS_PER_SECOND)
}

/// What follows the minute of a fixed-layout timestamp that starts `b` (from byte 16): `:SS`, an
/// optional fraction and the offset. Returns the milliseconds into the minute, the offset in
/// minutes when there is one, and where the timestamp ends in `b` (the caller decides what may
/// follow).
#[inline]
fn parse_seconds_and_offset(b: &[u8]) -> Option<(i64, Option<i64>, usize)> {
    // Meter exports nearly always write `:SS.mmmZ`: that shape alone skips the general walk.
    if let Some(ms) = seconds_and_millis_z(b) {
        return Some((ms, Some(0), 24));
    }
    parse_seconds_and_offset_general(b)
}

/// The milliseconds into the minute when bytes 16 to 23 of `b` are `:SS.mmmZ`, read as one word:
/// the three fixed bytes compared at once, the five digits checked together (each byte XOR `0`
/// must be below 10, the seconds' tens below 6: adding 6, or 10 for the tens, must not reach the
/// byte's high nibble).
#[inline(always)]
fn seconds_and_millis_z(b: &[u8]) -> Option<i64> {
    const FIXED: u64 = 0xFF00_0000_FF00_00FF;
    const SHAPE: u64 = u64::from_le_bytes(*b":\0\0.\0\0\0Z");
    const ZEROS: u64 = 0x0030_3030_0030_3000;
    const LIMITS: u64 = 0x0006_0606_0006_0A00;
    const HIGH: u64 = 0x00F0_F0F0_00F0_F000;
    let w = u64::from_le_bytes(b.get(16..24)?.try_into().ok()?);
    let v = (w & !FIXED) ^ ZEROS;
    // Bytes of `v` at most 0x0F (the second test) make the addition carry-free between bytes.
    if w & FIXED != SHAPE || (v | v.wrapping_add(LIMITS)) & HIGH != 0 {
        return None;
    }
    let digit = |i: u32| ((v >> (8 * i)) & 0xFF) as i64;
    Some(digit(1) * 10_000 + digit(2) * 1_000 + digit(4) * 100 + digit(5) * 10 + digit(6))
}

fn parse_seconds_and_offset_general(b: &[u8]) -> Option<(i64, Option<i64>, usize)> {
    if b.get(16) != Some(&b':') {
        return None;
    }
    let second = two_digits(b, 17)?;
    if second > 59 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(&d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            // Digits past the third are truncated: timestamps have millisecond precision.
            if i - start < 3 {
                millis = millis * 10 + u32::from(d - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 9 {
            return None;
        }
        for _ in digits..3 {
            millis *= 10;
        }
    }
    let offset_minutes = match b.get(i) {
        Some(b'Z') => {
            i += 1;
            Some(0)
        }
        Some(&sign @ (b'+' | b'-')) => {
            let (h, m) = if b.get(i + 3) == Some(&b':') {
                i += 6;
                (two_digits(b, i - 5)?, two_digits(b, i - 2)?)
            } else {
                i += 5;
                (two_digits(b, i - 4)?, two_digits(b, i - 2)?)
            };
            if h > 23 || m > 59 {
                return None;
            }
            let total = i64::from(h * 60 + m);
            Some(if sign == b'-' { -total } else { total })
        }
        _ => None,
    };
    Some((i64::from(second) * MS_PER_SECOND + i64::from(millis), offset_minutes, i))
}

/// [`parse_timestamp`] restricted to the fixed layout, remembering the last minute prefix:
/// consecutive meter readings share `YYYY-MM-DDTHH:MM`, so most timestamps cost only their
/// seconds, fraction and offset. `None` exactly when the fixed layout does not give a valid
/// timestamp (the caller then asks [`parse_timestamp`]).
#[derive(Debug, Default)]
pub struct FixedLayoutCache {
    /// The prefix as one integer: comparing it is one instruction rather than a `memcmp` call.
    prefix: u128,
    /// Epoch milliseconds of `prefix`, `None` until a prefix was parsed.
    minute: Option<i64>,
}

impl FixedLayoutCache {
    #[inline]
    pub fn parse(&mut self, b: &[u8]) -> Option<i64> {
        self.parse_prefix(b).and_then(|(ms, end)| (end == b.len()).then_some(ms))
    }

    /// Parses the fixed-layout timestamp that starts `b` without looking for its end first:
    /// returns it and its length. It is the timestamp of a field only if the field ends there.
    #[inline(always)]
    pub(crate) fn parse_prefix(&mut self, b: &[u8]) -> Option<(i64, usize)> {
        let prefix = b.get(..16)?;
        let key = u128::from_le_bytes(prefix.try_into().ok()?);
        // The usual row: the minute of the row before and `:SS.mmmZ`, whose sum always lies in
        // the range (a parsed minute is at most 9999-12-31T23:59).
        if key == self.prefix
            && let Some(minute) = self.minute
            && let Some(ms) = seconds_and_millis_z(b)
        {
            return Some((minute + ms, 24));
        }
        self.parse_prefix_slow(b, key)
    }

    /// [`FixedLayoutCache::parse_prefix`] for a new minute or another shape of the seconds.
    #[inline(never)]
    fn parse_prefix_slow(&mut self, b: &[u8], key: u128) -> Option<(i64, usize)> {
        let prefix = b.get(..16)?;
        let minute = match self.minute {
            Some(minute) if key == self.prefix => minute,
            _ => {
                let minute = parse_minute(prefix)?;
                self.prefix = key;
                self.minute = Some(minute);
                minute
            }
        };
        let (ms_in_minute, offset_minutes, end) = parse_seconds_and_offset(b)?;
        let ms = minute + ms_in_minute - offset_minutes.unwrap_or(0) * MS_PER_MINUTE;
        (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&ms).then_some((ms, end))
    }
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number since 1970-01-01 (inverse of [`days_from_civil`]).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` as a string, for messages.
pub(crate) fn timestamp_string(ms: i64) -> String {
    let mut out = Vec::with_capacity(25);
    format_timestamp(ms, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` into `out` (24 bytes). Parsed timestamps lie in
/// [`MIN_TIMESTAMP`, `MAX_TIMESTAMP`]; the start of a long window over the first years can lie
/// before year 0000, and is written with a sign (`-0001-12-30T...`, ISO 8601's expanded form)
/// rather than as a wrong date.
pub fn format_timestamp(ms: i64, out: &mut Vec<u8>) {
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let mut buf = *b"0000-00-00T00:00:00.000Z";
    let put = |buf: &mut [u8; 24], at: usize, value: u32, width: usize| {
        let mut v = value;
        for k in (0..width).rev() {
            buf[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    if year < 0 {
        out.push(b'-');
    }
    put(&mut buf, 0, year.unsigned_abs().min(9999) as u32, 4);
    put(&mut buf, 5, month, 2);
    put(&mut buf, 8, day, 2);
    put(&mut buf, 11, (in_day / MS_PER_HOUR) as u32, 2);
    put(&mut buf, 14, (in_day / MS_PER_MINUTE % 60) as u32, 2);
    put(&mut buf, 17, (in_day / MS_PER_SECOND % 60) as u32, 2);
    put(&mut buf, 20, (in_day % MS_PER_SECOND) as u32, 3);
    out.extend_from_slice(&buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(ms: i64) -> String {
        let mut out = Vec::new();
        format_timestamp(ms, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn fast_path_layouts() {
        assert_eq!(parse_timestamp(b"1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_timestamp(b"1970-01-01T00:00:01.5Z"), Ok(1500));
        assert_eq!(parse_timestamp(b"1970-01-01 00:00:01.123456789"), Ok(1123));
        assert_eq!(parse_timestamp(b"1970-01-01T02:00:00+02:00"), Ok(0));
        assert_eq!(parse_timestamp(b"1969-12-31T19:00:00-0500"), Ok(0));
        assert_eq!(parse_timestamp(b"2024-02-29T12:00:00Z"), Ok(1_709_208_000_000));
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(parse_timestamp(b"2023-02-29T00:00:00Z").is_err());
        assert!(parse_timestamp(b"2024-13-01T00:00:00Z").is_err());
        assert!(parse_timestamp(b"2024-01-01T24:00:00Z").is_err());
        assert!(parse_timestamp(b"2024-01-01T00:00:00.Z").is_err());
        assert!(parse_timestamp(b"2024-01-01T00:00:00Zjunk").is_err());
        assert!(parse_timestamp(b"").is_err());
        assert!(parse_timestamp(b"-").is_err());
        assert!(parse_timestamp(b"99999999999999999999").is_err());
    }

    #[test]
    fn stamps_tell_instants_from_wall_clock_times() {
        assert_eq!(parse_stamp(b"1970-01-01T01:00:00"), Ok(Stamp::Local(3_600_000)));
        assert_eq!(parse_stamp(b"1970-01-01T01:00:00Z"), Ok(Stamp::Instant(3_600_000)));
        assert_eq!(parse_stamp(b"1970-01-01T01:00:00+01:00"), Ok(Stamp::Instant(0)));
        assert_eq!(parse_stamp(b"1970-01-01 01:00"), Ok(Stamp::Local(3_600_000)));
        assert_eq!(parse_stamp(b"3600000"), Ok(Stamp::Instant(3_600_000)));
    }

    #[test]
    fn epoch_milliseconds() {
        assert_eq!(parse_timestamp(b"1704067200000"), Ok(1_704_067_200_000));
        assert_eq!(parse_timestamp(b"-1000"), Ok(-1000));
    }

    #[test]
    fn fallback_refuses_truncated_fields() {
        assert!(parse_timestamp(b"2024-01-01T00:0").is_err());
        assert!(parse_timestamp(b"2024-01-01 00:00:5").is_err());
    }

    #[test]
    fn general_rfc3339_fallback() {
        assert_eq!(parse_timestamp(b"1970-01-01t00:00:00z"), Ok(0));
    }

    #[test]
    fn fast_path_agrees_with_chrono() {
        for text in
            ["2024-03-10T01:59:59.999Z", "1900-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"]
        {
            let chrono = chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis();
            assert_eq!(parse_fixed_layout(text.as_bytes()), Some(chrono), "{text}");
        }
    }

    #[test]
    fn format_round_trips() {
        for ms in [0, -1, 1_704_067_200_123, -86_400_000, MIN_TIMESTAMP, MAX_TIMESTAMP, 951_782_400_000] {
            assert_eq!(parse_timestamp(fmt(ms).as_bytes()), Ok(ms), "{ms}");
        }
        assert_eq!(fmt(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn window_starts_before_year_0000_keep_their_date() {
        // 0000-01-01 is a Saturday; its epoch-aligned week starts on Thursday -0001-12-30.
        let week = 7 * MS_PER_DAY;
        assert_eq!(fmt(MIN_TIMESTAMP.div_euclid(week) * week), "-0001-12-30T00:00:00.000Z");
    }

    /// An independent reading of the fixed layout, through chrono's calendar, for the property
    /// tests below.
    fn reference(text: &str) -> Option<i64> {
        if text.len() < 19 || !text.is_ascii() || !matches!(&text[10..11], "T" | " ") || &text[16..17] != ":" {
            return None;
        }
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit()).then(|| s.parse::<u32>().ok()).flatten();
        let (year, month, day) = (digits(&text[0..4])?, digits(&text[5..7])?, digits(&text[8..10])?);
        let (hour, minute, second) = (digits(&text[11..13])?, digits(&text[14..16])?, digits(&text[17..19])?);
        if &text[4..5] != "-" || &text[7..8] != "-" || &text[13..14] != ":" || second > 59 {
            return None;
        }
        let date = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?;
        let mut ms = date.and_hms_opt(hour, minute, second)?.and_utc().timestamp_millis();
        let mut rest = &text[19..];
        if let Some(fraction) = rest.strip_prefix('.') {
            let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 || n > 9 {
                return None;
            }
            ms += i64::from(digits(&format!("{:0<3}", &fraction[..n.min(3)]))?);
            rest = &fraction[n..];
        }
        let offset = match rest {
            "" | "Z" => 0,
            _ => {
                let (sign, hm) = rest.split_at(1);
                let hm = match hm.len() {
                    5 if &hm[2..3] == ":" => format!("{}{}", &hm[..2], &hm[3..]),
                    4 => hm.to_string(),
                    _ => return None,
                };
                let (h, m) = (digits(&hm[..2])?, digits(&hm[2..])?);
                if !matches!(sign, "+" | "-") || h > 23 || m > 59 {
                    return None;
                }
                i64::from(h * 60 + m) * if sign == "-" { -1 } else { 1 }
            }
        };
        Some(ms - offset * MS_PER_MINUTE)
    }

    proptest::proptest! {
        #[test]
        fn fixed_layout_agrees_with_the_reference(
            text in "(2024-0[12]-[0-3][0-9]|0000-01-01|9999-12-31|2023-02-29|1969-12-31)[T ][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,10})?(Z|[+-][0-2][0-9]:?[0-6][0-9]|[+-][0-9]{1,3}|z|)"
        ) {
            proptest::prop_assert_eq!(parse_fixed_layout(text.as_bytes()), reference(&text), "{}", text);
        }

        /// The word-at-a-time `:SS.mmmZ` against a byte-by-byte reading of it.
        #[test]
        fn seconds_and_millis_z_reads_each_byte(
            digits in "[0-9]{5}",
            changes in proptest::collection::vec((0usize..8, proptest::prop_oneof![
                proptest::sample::select(b":.Z0123456789/@`".to_vec()),
                proptest::num::u8::ANY,
            ]), 0..3)
        ) {
            // The shape with up to two bytes replaced.
            let d = digits.as_bytes();
            let mut tail = [b':', d[0], d[1], b'.', d[2], d[3], d[4], b'Z'];
            for (at, byte) in changes {
                tail[at] = byte;
            }
            let digit = |i: usize| tail[i].is_ascii_digit().then(|| i64::from(tail[i] - b'0'));
            let expected = (tail[0] == b':' && tail[3] == b'.' && tail[7] == b'Z' && digit(1).is_some_and(|d| d < 6))
                .then(|| Some(digit(1)? * 10_000 + digit(2)? * 1_000 + digit(4)? * 100 + digit(5)? * 10 + digit(6)?))
                .flatten();
            let text = [&b"2024-01-01T00:00"[..], &tail].concat();
            proptest::prop_assert_eq!(seconds_and_millis_z(&text), expected, "{:?}", tail);
        }

        /// The cache gives what the general parser gives whenever the fixed layout applies,
        /// whatever minute it holds from the texts before.
        #[test]
        fn cache_agrees_with_the_fixed_layout(texts in proptest::collection::vec(
            "(2024-0[12]-0[1-3]|0000-01-01|9999-12-31|2023-02-29|2024-1[23]-31)[T t]0[0-2]:[05][0-9]:[0-6][0-9](\\.[0-9]{0,10})?(Z|[+-][0-2][0-9]:?[0-6][0-9]|z|)",
            1..20,
        )) {
            let mut cache = FixedLayoutCache::default();
            for text in &texts {
                let expected = parse_timestamp(text.as_bytes()).ok().filter(|_| parse_fixed_layout(text.as_bytes()).is_some());
                proptest::prop_assert_eq!(cache.parse(text.as_bytes()), expected, "{}", text);
            }
        }
    }
}

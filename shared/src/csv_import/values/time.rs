//! Times of day: `HH:MM:SS`, `HH:MM`, `HHMMSS`, `HHMM`, `HH`, tried in that order (as Ruby's strptime: each
//! number takes one or two digits, read greedily, and trailing text fails). Times are wall-clock times in
//! Europe/London, so [`london_date_time`] applies summer time when combining one with a date.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::London;

#[derive(Clone, Copy)]
enum Part {
    Hour,
    Minute,
    Second,
    Colon,
}

use Part::{Colon, Hour, Minute, Second};

const FORMATS: [&[Part]; 5] =
    [&[Hour, Colon, Minute, Colon, Second], &[Hour, Colon, Minute], &[Hour, Minute, Second], &[Hour, Minute], &[Hour]];

pub fn parse_time(text: &str) -> Option<NaiveTime> {
    FORMATS.iter().find_map(|format| parse_with(text.as_bytes(), format))
}

fn parse_with(text: &[u8], format: &[Part]) -> Option<NaiveTime> {
    let (mut hour, mut minute, mut second) = (0, 0, 0);
    let mut rest = text;
    for part in format {
        match part {
            Colon => rest = rest.strip_prefix(b":")?,
            Hour => (hour, rest) = two_digits(rest, 23)?,
            Minute => (minute, rest) = two_digits(rest, 59)?,
            Second => (second, rest) = two_digits(rest, 59)?,
        }
    }
    if rest.is_empty() { NaiveTime::from_hms_opt(hour, minute, second) } else { None }
}

/// One or two leading digits, no more than `max`.
fn two_digits(text: &[u8], max: u32) -> Option<(u32, &[u8])> {
    let len = text.iter().take(2).take_while(|b| b.is_ascii_digit()).count();
    let value = text[..len].iter().fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
    (len > 0 && value <= max).then_some((value, &text[len..]))
}

/// The instant a London wall-clock time on `date` refers to. An ambiguous time (the autumn change) is the earlier
/// one; a time that does not exist (the spring gap) moves forward an hour, as Rails does.
pub fn london_date_time(date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    let local = date.and_time(time);
    London
        .from_local_datetime(&local)
        .earliest()
        .or_else(|| London.from_local_datetime(&(local + Duration::hours(1))).earliest())
        .map(|instant| instant.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32, s: u32) -> Option<NaiveTime> {
        NaiveTime::from_hms_opt(h, m, s)
    }

    #[test]
    fn when_time_is_in_a_supported_format_should_parse() {
        assert_eq!(parse_time("10:30:15"), t(10, 30, 15));
        assert_eq!(parse_time("10:30"), t(10, 30, 0));
        assert_eq!(parse_time("103015"), t(10, 30, 15));
        assert_eq!(parse_time("1030"), t(10, 30, 0));
        assert_eq!(parse_time("10"), t(10, 0, 0));
        assert_eq!(parse_time("9"), t(9, 0, 0));
        assert_eq!(parse_time("9:05"), t(9, 5, 0));
        assert_eq!(parse_time("00:00:00"), t(0, 0, 0));
        assert_eq!(parse_time("12345"), t(12, 34, 5), "strptime reads two digits greedily");
    }

    #[test]
    fn when_time_is_out_of_range_or_has_trailing_text_should_fail() {
        for text in ["24:00", "10:60", "10:30:60", "930", "10:30am", "10.30", "", "abc", "10:30:15:00"] {
            assert_eq!(parse_time(text), None, "{text:?}");
        }
    }

    #[test]
    fn when_combining_with_date_should_apply_summer_time() {
        let winter = NaiveDate::from_ymd_opt(2025, 1, 15).unwrap();
        let summer = NaiveDate::from_ymd_opt(2025, 7, 15).unwrap();
        let ten = t(10, 0, 0).unwrap();
        assert_eq!(london_date_time(winter, ten).unwrap().to_rfc3339(), "2025-01-15T10:00:00+00:00");
        assert_eq!(london_date_time(summer, ten).unwrap().to_rfc3339(), "2025-07-15T09:00:00+00:00");
    }

    #[test]
    fn when_time_falls_in_a_clock_change_should_still_give_an_instant() {
        let spring = NaiveDate::from_ymd_opt(2025, 3, 30).unwrap();
        let autumn = NaiveDate::from_ymd_opt(2025, 10, 26).unwrap();
        assert_eq!(london_date_time(spring, t(1, 30, 0).unwrap()).unwrap().to_rfc3339(), "2025-03-30T01:30:00+00:00");
        assert_eq!(london_date_time(autumn, t(1, 30, 0).unwrap()).unwrap().to_rfc3339(), "2025-10-26T00:30:00+00:00");
    }
}

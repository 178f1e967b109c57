//! Dates: `YYYYMMDD`, `YYYY-MM-DD`, then `DD/MM/YYYY`, tried in that order as Mavis does with Ruby's
//! `Date.strptime`. Like strptime, day and month take one or two digits, digits are read greedily without
//! backtracking, trailing text fails, and a year before 1000 counts as unparseable.

use chrono::{Datelike, NaiveDate};

#[derive(Clone, Copy)]
enum Part {
    Year,
    Month,
    Day,
    Literal(u8),
}

use Part::{Day, Literal, Month, Year};

const FORMATS: [&[Part]; 3] = [
    &[Year, Month, Day],
    &[Year, Literal(b'-'), Month, Literal(b'-'), Day],
    &[Day, Literal(b'/'), Month, Literal(b'/'), Year],
];

pub fn parse_date(text: &str) -> Option<NaiveDate> {
    FORMATS.iter().find_map(|format| parse_with(text.as_bytes(), format))
}

fn parse_with(text: &[u8], format: &[Part]) -> Option<NaiveDate> {
    let (mut year, mut month, mut day) = (0, 0, 0);
    let mut rest = text;
    for (i, part) in format.iter().enumerate() {
        match *part {
            Literal(byte) => rest = rest.strip_prefix(&[byte])?,
            Year => {
                // strptime reads exactly four digits when another number follows directly (`%Y%m%d`).
                let followed_by_number = matches!(format.get(i + 1), Some(Year | Month | Day));
                (year, rest) = digits(rest, if followed_by_number { 4 } else { 9 })?;
            }
            Month => (month, rest) = digits(rest, 2)?,
            Day => (day, rest) = digits(rest, 2)?,
        }
    }
    if !rest.is_empty() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    (date.year() >= 1000).then_some(date)
}

/// At least one and at most `max` leading ASCII digits.
fn digits(text: &[u8], max: usize) -> Option<(u32, &[u8])> {
    let len = text.iter().take(max).take_while(|b| b.is_ascii_digit()).count();
    if len == 0 {
        return None;
    }
    let value = text[..len].iter().fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
    Some((value, &text[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn when_date_is_in_a_supported_format_should_parse() {
        assert_eq!(parse_date("20100101"), d(2010, 1, 1));
        assert_eq!(parse_date("2010-01-02"), d(2010, 1, 2));
        assert_eq!(parse_date("02/01/2010"), d(2010, 1, 2));
        assert_eq!(parse_date("11/03/2010"), d(2010, 3, 11));
    }

    #[test]
    fn when_day_or_month_has_one_digit_should_parse() {
        assert_eq!(parse_date("2/1/2010"), d(2010, 1, 2));
        assert_eq!(parse_date("9/12/2011"), d(2011, 12, 9));
        assert_eq!(parse_date("2010-1-2"), d(2010, 1, 2));
    }

    #[test]
    fn when_text_trails_or_is_not_a_date_should_fail() {
        for text in ["invalid", "DDDDDDD", "2010-01-01x", "2010-01-01 10:00", "02/01/2010.", "", "2010", "1/1"] {
            assert_eq!(parse_date(text), None, "{text:?}");
        }
    }

    #[test]
    fn when_date_does_not_exist_should_fail() {
        assert_eq!(parse_date("2010-02-30"), None);
        assert_eq!(parse_date("31/04/2010"), None);
        assert_eq!(parse_date("20101301"), None);
        assert_eq!(parse_date("29/02/2012"), d(2012, 2, 29));
    }

    #[test]
    fn when_year_is_before_1000_should_fail() {
        assert_eq!(parse_date("0999-01-01"), None);
        assert_eq!(parse_date("01/01/999"), None);
        assert_eq!(parse_date("1000-01-01"), d(1000, 1, 1));
    }
}

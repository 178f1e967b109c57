//! How the pages write dates, times, NHS numbers and year groups (pages.md §0.3). Times are shown in London.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Europe::London;

/// "5 January 2023".
pub fn date(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

/// "5 January 2023 at 3:45pm", in London.
pub fn date_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&London).format("%-d %B %Y at %-l:%M%P").to_string()
}

/// "1 January 2010 (aged 13)" on `today`.
pub fn date_of_birth(born: NaiveDate, today: NaiveDate) -> String {
    format!("{} (aged {})", date(born), age(born, today))
}

/// Whole years from `born` to `today`.
pub fn age(born: NaiveDate, today: NaiveDate) -> i32 {
    let mut years = today.year() - born.year();
    if (today.month(), today.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    years.max(0)
}

/// "999 000 0018": groups of 3, 3 and 4. Anything not ten digits is shown as written.
pub fn nhs_number(number: &str) -> String {
    if number.len() == 10 && number.bytes().all(|b| b.is_ascii_digit()) {
        format!("{} {} {}", &number[..3], &number[3..6], &number[6..])
    } else {
        number.to_string()
    }
}

/// "1 import", "20 imports", with any noun whose plural takes an "s".
pub fn count(n: impl std::borrow::Borrow<usize>, noun: &str) -> String {
    let n = *n.borrow();
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn should_write_dates_and_times_as_the_service_manual_does() {
        assert_eq!(date(d(2023, 1, 5)), "5 January 2023");
        // 15:45 UTC in January is 3:45pm in London; in July it is 4:45pm (BST).
        assert_eq!(date_time("2023-01-05T15:45:00Z".parse().unwrap()), "5 January 2023 at 3:45pm");
        assert_eq!(date_time("2023-07-05T15:45:00Z".parse().unwrap()), "5 July 2023 at 4:45pm");
        assert_eq!(date_time("2023-07-05T23:30:00Z".parse().unwrap()), "6 July 2023 at 12:30am");
    }

    #[test]
    fn should_give_the_age_on_the_day() {
        assert_eq!(date_of_birth(d(2010, 1, 1), d(2023, 5, 20)), "1 January 2010 (aged 13)");
        assert_eq!(age(d(2010, 5, 21), d(2023, 5, 20)), 12);
        assert_eq!(age(d(2010, 5, 20), d(2023, 5, 20)), 13);
    }

    #[test]
    fn should_group_nhs_numbers_three_three_four() {
        assert_eq!(nhs_number("9990000018"), "999 000 0018");
        assert_eq!(nhs_number("123"), "123");
        assert_eq!(count(1, "import"), "1 import");
        assert_eq!(count(20, "import"), "20 imports");
    }
}

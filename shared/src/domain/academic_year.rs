//! Academic years run 1 September to 31 August and are named after the calendar year they start in.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AcademicYear(pub i32);

impl AcademicYear {
    /// The academic year a date falls in.
    pub fn containing(date: NaiveDate) -> Self {
        if date.month() >= 9 { AcademicYear(date.year()) } else { AcademicYear(date.year() - 1) }
    }

    /// The academic year a child born on `date_of_birth` is "born in" for year-group purposes.
    pub fn of_birth(date_of_birth: NaiveDate) -> Self {
        Self::containing(date_of_birth)
    }

    /// The year being prepared for: next year once the 31-day preparation period has begun (from 1 August),
    /// otherwise the current one.
    pub fn pending(today: NaiveDate) -> Self {
        let current = Self::containing(today);
        if today.month() == 8 { AcademicYear(current.0 + 1) } else { current }
    }

    /// year_group = academic_year − birth_academic_year − 5
    pub fn year_group_of(self, birth_academic_year: AcademicYear) -> i32 {
        self.0 - birth_academic_year.0 - 5
    }

    /// birth_academic_year = academic_year − year_group − 5
    pub fn birth_year_for_group(self, year_group: i32) -> AcademicYear {
        AcademicYear(self.0 - year_group - 5)
    }

    pub fn start(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0, 9, 1).expect("1 September exists")
    }
}

impl std::fmt::Display for AcademicYear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} to {}", self.0, self.0 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn when_date_is_before_september_should_belong_to_previous_year() {
        assert_eq!(AcademicYear::containing(d("2023-05-20")), AcademicYear(2022));
        assert_eq!(AcademicYear::containing(d("2023-09-01")), AcademicYear(2023));
    }

    #[test]
    fn when_in_preparation_period_pending_should_be_next_year() {
        assert_eq!(AcademicYear::pending(d("2023-08-01")), AcademicYear(2023));
        assert_eq!(AcademicYear::pending(d("2023-07-31")), AcademicYear(2022));
        assert_eq!(AcademicYear::pending(d("2023-09-02")), AcademicYear(2023));
    }

    #[test]
    fn year_group_should_follow_birth_academic_year() {
        // Jimmy Smith, born 2 January 2010: birth AY 2009, year 8 in AY 2022.
        let birth = AcademicYear::of_birth(d("2010-01-02"));
        assert_eq!(birth, AcademicYear(2009));
        assert_eq!(AcademicYear(2022).year_group_of(birth), 8);
        assert_eq!(AcademicYear(2022).birth_year_for_group(9), AcademicYear(2008));
    }
}

//! Test data shared by the scenarios: the children that several fixture scenarios start from.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use shared::domain::AcademicYear;
use shared::domain::patient::{ChildAttributes, Patient, SchoolPlacement};
use uuid::Uuid;

/// When the children that scenarios start from were first recorded: before every scenario's clock.
pub fn long_ago() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 1, 6, 12, 0, 0).single().expect("instant")
}

/// Taylor Reed of fixture-outcomes §2.11: at Surrey Primary in Leeds SAIS Team, no NHS number.
pub fn taylor_reed() -> Patient {
    let now = long_ago();
    Patient {
        team_ids: vec!["r1l".into()],
        ..Patient::new(
            Uuid::new_v4(),
            ChildAttributes {
                given_name: Some("Taylor".into()),
                family_name: Some("Reed".into()),
                date_of_birth: NaiveDate::from_ymd_opt(2010, 1, 1),
                birth_academic_year: Some(AcademicYear(2009)),
                address_line_1: Some("10 Downing Street".into()),
                address_town: Some("London".into()),
                address_postcode: Some("SW1A 1AA".into()),
                ..ChildAttributes::default()
            },
            SchoolPlacement::School { urn: "123456".into() },
            now,
        )
    }
}

//! An NHS number alone discloses nothing (hardening): a row that names another team's child by NHS number only (its
//! date of birth and names do not match the child's) is a row error, and the child is neither changed, nor joined to
//! the uploading team, nor shown to it by any route. With two of the child's names and date of birth, the match stands
//! as mavis-import.md §7.1 step 1 says.

use std::future::Future;

use axum::http::StatusCode;
use chrono::NaiveDate;
use shared::domain::patient::{ChildAttributes, Patient, SchoolPlacement};
use shared::domain::{AcademicYear, Import, ImportStatus, Programme, RowError};
use shared::pipeline::matching::UNCONFIRMED_NHS_NUMBER;
use uuid::Uuid;

use crate::api::Api;
use crate::harness::Harness;
use crate::scenarios::clock_2023;
use crate::vaccination_scenarios::{clock_2025_08_01, upload, with_programmes};

/// A nurse of Leeds SAIS Team (r1l), the team that guesses.
const NURSE: &str = "nurse@example.com";

pub async fn all<F, Fut>(make: F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    child_records_with_a_guessed_number(make(clock_2023()).await).await;
    child_records_naming_the_child_match_as_before(make(clock_2023()).await).await;
    vaccination_records_with_a_guessed_number(make(clock_2025_08_01()).await).await;
}

/// A child of another team (rxb, at its school 222333).
fn other_teams_child(nhs_number: &str, given: &str, family: &str, date_of_birth: NaiveDate) -> Patient {
    Patient {
        team_ids: vec!["rxb".into()],
        ..Patient::new(
            Uuid::new_v4(),
            ChildAttributes {
                given_name: Some(given.into()),
                family_name: Some(family.into()),
                date_of_birth: Some(date_of_birth),
                birth_academic_year: Some(AcademicYear::of_birth(date_of_birth)),
                nhs_number: Some(nhs_number.into()),
                address_line_1: Some("1 Private Road".into()),
                address_postcode: Some("LS1 4AP".into()),
                ..ChildAttributes::default()
            },
            SchoolPlacement::School { urn: "222333".into() },
            crate::support::long_ago(),
        )
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

/// Neither changed nor shown: the child's record is as it was, and the guessing team's routes answer as if it did
/// not exist.
async fn assert_undisclosed(h: &Harness, child: &Patient, import: &Import) {
    assert_eq!(&h.patient(child.id).await, child, "the other team's child is not changed");
    let api = Api::over(h);
    let (status, _) = api.get(&format!("/api/patients/{}", child.id), NURSE).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "GET /api/patients/{{id}}");
    let (status, body) = api.get(&format!("/api/imports/{}/patients", import.id), NURSE).await;
    assert_eq!(status, StatusCode::OK, "GET /api/imports/{{id}}/patients: {body}");
    assert_eq!(body["total"], 0, "the import lists no patient: {body}");
    let (status, body) = api.get(&format!("/api/imports/{}", import.id), NURSE).await;
    assert_eq!(status, StatusCode::OK);
    let shown = body.to_string();
    for detail in ["Private Road", "LS1 4AP", &child.id.to_string()] {
        assert!(!shown.contains(detail), "GET /api/imports/{{id}} must not show {detail}: {shown}");
    }
    let (status, body) = api.get("/api/issues", NURSE).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.to_string().contains(&child.id.to_string()), "no import issue about the child: {body}");
}

fn refused_row(row: u64) -> RowError {
    RowError { row, column: None, message: UNCONFIRMED_NHS_NUMBER.into() }
}

/// cohort_import/valid.csv row 2 is Jennifer Clarke, 9990000018: here that number is another team's Alex Taylor.
async fn child_records_with_a_guessed_number(h: Harness) {
    let child = other_teams_child("9990000018", "Alex", "Taylor", date(2011, 4, 4));
    h.existing_patient(&child).await;

    let import = h.import_fixture("R1L", "cohort_import/valid.csv").await;

    assert_eq!(import.status, ImportStatus::RowsAreInvalid, "{:?}", import.errors);
    assert_eq!(import.errors, vec![refused_row(2)]);
    assert_undisclosed(&h, &child, &import).await;
}

/// The same number, when the row agrees with the child's date of birth and first name: the match stands (§7.1 step
/// 1) and the import goes through, as before.
async fn child_records_naming_the_child_match_as_before(h: Harness) {
    let child = other_teams_child("9990000018", "Jennifer", "Clarke-Jones", date(2010, 1, 1));
    h.existing_patient(&child).await;

    let import = h.import_fixture("R1L", "cohort_import/valid.csv").await;

    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    assert!(h.patients_of(&import).await.iter().any(|p| p.id == child.id), "the row is about the same child");
}

/// valid_flu.csv row 2 is Chyna Pickle, 7420180008, born 2012-09-12: here that number is another team's child.
async fn vaccination_records_with_a_guessed_number(mut h: Harness) {
    with_programmes(&mut h, "r1l", &[Programme::Flu]);
    let child = other_teams_child("7420180008", "Alex", "Taylor", date(2013, 3, 3));
    h.existing_patient(&child).await;

    let import = upload(&h, "r1l", NURSE, "immunisation_import/point_of_care/valid_flu.csv").await;

    assert_eq!(import.status, ImportStatus::RowsAreInvalid, "{:?}", import.errors);
    assert_eq!(import.errors, vec![refused_row(2)]);
    assert_undisclosed(&h, &child, &import).await;
}

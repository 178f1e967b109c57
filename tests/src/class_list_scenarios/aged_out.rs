//! Aged-out children (mavis-import.md §9.5) through the real pipeline: a class list for a school moves that school's
//! pupils whose year group in the pending year it does not offer to unknown school, confirmed at once; the daily run
//! does the same for every school, by the pending year (next year from 1 August).

use std::future::Future;

use chrono::NaiveDate;
use shared::domain::ImportStatus;
use shared::domain::patient::SchoolPlacement;
use shared::pipeline::aged_out;
use shared::store::patients;

use super::{
    LIVERPOOL_ROAD, TEAM_A, WATERLOO_ROAD, child, clock_2023, d, existing_at, import_fixture, move_of, school,
};
use crate::harness::Harness;

const TEAM_A_CLINIC: &str = "r1l-community-clinic";

/// Clock 2023-05-20 (AY 2022): Liverpool Road offers years 7–10, so its year-11 pupil ages out when a class list for
/// it is imported; its year-7 pupil, and a year-11 pupil of Waterloo Road (7–11), stay.
pub async fn class_list_moves_aged_out_pupils_of_its_school(h: &Harness) {
    let year_11 = child("Olivia", "Older", "2007-03-01", school(LIVERPOOL_ROAD));
    let year_7 = child("Yusuf", "Younger", "2011-03-01", school(LIVERPOOL_ROAD));
    let elsewhere = child("Wanda", "Waterloo", "2007-03-01", school(WATERLOO_ROAD));
    existing_at(h, &year_11, LIVERPOOL_ROAD, 2022).await;
    existing_at(h, &year_7, LIVERPOOL_ROAD, 2022).await;
    existing_at(h, &elsewhere, WATERLOO_ROAD, 2022).await;

    let import = import_fixture(h, LIVERPOOL_ROAD, &[8, 9, 10], "class_import/valid.csv").await;

    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    let moved = h.patient(year_11.id).await;
    assert_eq!(moved.school, SchoolPlacement::Unknown);
    assert_eq!(moved.team_ids, [TEAM_A]);
    assert_eq!(move_of(h, year_11.id).await, None, "confirmed at once, nothing to review");
    let locations = patients::locations_of(h.records(), year_11.id).await.expect("locations");
    let old = locations.iter().find(|l| l.location == LIVERPOOL_ROAD).expect("school location");
    assert_eq!(old.end_date, Some(d("2023-05-19")), "the school location ends yesterday");
    let clinic = locations.iter().find(|l| l.location == TEAM_A_CLINIC).expect("the team's generic clinic");
    assert_eq!((clinic.academic_year, clinic.end_date), (2022, None));
    let log = patients::school_move_log_of_team(h.records(), TEAM_A).await.expect("log");
    let entry = log.iter().find(|e| e.patient_id == year_11.id).expect("a log entry for the team");
    assert_eq!(entry.school, SchoolPlacement::Unknown);
    assert_eq!(entry.user_email, None, "no user: confirmed automatically");
    for stays in [&year_7, &elsewhere] {
        assert_eq!(h.patient(stays.id).await.school, stays.school, "{}", stays.full_name());
        assert_eq!(move_of(h, stays.id).await, None, "{}", stays.full_name());
    }
}

/// The daily run by the pending year: in May a year-10 pupil of Liverpool Road stays; from 1 August the pending year
/// makes them year 11, which it does not offer, so they move (once) for that year, and this year's place is kept.
pub async fn daily_run_uses_the_pending_year(h: &Harness) {
    let year_10 = child("Tariq", "Tenth", "2008-03-01", school(LIVERPOOL_ROAD));
    existing_at(h, &year_10, LIVERPOOL_ROAD, 2022).await;

    assert_eq!(aged_out::move_aged_out_everywhere(&h.pipeline, d("2023-05-20")).await.expect("daily run"), 0);
    assert_eq!(h.patient(year_10.id).await.school, school(LIVERPOOL_ROAD));

    assert_eq!(aged_out::move_aged_out_everywhere(&h.pipeline, d("2023-08-15")).await.expect("daily run"), 1);
    let moved = h.patient(year_10.id).await;
    assert_eq!(moved.school, SchoolPlacement::Unknown);
    let locations = patients::locations_of(h.records(), year_10.id).await.expect("locations");
    let this_year = locations.iter().find(|l| l.location == LIVERPOOL_ROAD).expect("this year's place");
    assert_eq!(this_year.end_date, None, "only the pending year's places change");
    assert!(locations.iter().any(|l| l.location == TEAM_A_CLINIC && l.academic_year == 2023));
    assert_eq!(aged_out::move_aged_out_everywhere(&h.pipeline, d("2023-08-16")).await.expect("again"), 0, "once");
}

pub(super) async fn all<F, Fut>(make: &F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    class_list_moves_aged_out_pupils_of_its_school(&make(clock_2023()).await).await;
    daily_run_uses_the_pending_year(&make(clock_2023()).await).await;
}

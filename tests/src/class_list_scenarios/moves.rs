//! School moves made by class lists (mavis-import.md §9.1, §9.2; fixture-outcomes §3.1 C and §3.10), as the state
//! an approved import leaves: children in the list move in (at once, or pending review), and children at the school
//! in the selected year groups who are absent from the list get a pending move to unknown school.

use std::future::Future;

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::json;
use shared::domain::patient::{Gender, Patient, SchoolMove, SchoolMoveSource, SchoolPlacement};
use shared::domain::{AcademicYear, ImportStatus};
use shared::ports::Condition;
use shared::store::patients;

use super::{
    DIFFERENT_ROAD, LIVERPOOL_ROAD, SECOND_TEAM_SCHOOL, SECONDARY, TEAM_A, TEAM_B, WATERLOO_ROAD, assert_processed,
    child, clock_2023, clock_2025, counts, existing_at, import_class_list, import_fixture, move_of, pending_moves,
    resume, school,
};
use crate::harness::Harness;

/// Year groups ticked in the review scenarios (§3.10): Waterloo Road offers 7–11, so 8, 9 and 10 are offered.
const REVIEW_YEARS: [i32; 3] = [8, 9, 10];
/// Every review-file row is year 8; in AY 2025 that is birth AY 2012.
const YEAR_8_IN_2025: i32 = 2012;

fn in_year_8_of_2025(mut patient: Patient) -> Patient {
    patient.attributes.birth_academic_year = Some(AcademicYear(YEAR_8_IN_2025));
    patient
}

fn with_details(mut patient: Patient, nhs: Option<&str>, gender: Gender, postcode: &str) -> Patient {
    patient.attributes.nhs_number = nhs.map(str::to_string);
    patient.attributes.gender = Some(gender);
    patient.attributes.address_postcode = Some(postcode.into());
    patient
}

/// §3.10: John Smith, at Waterloo Road and in its session for AY 2025, in none of the review files but
/// review_two.csv.
fn john_smith() -> Patient {
    let mut john = with_details(
        child("John", "Smith", "2009-10-29", school(WATERLOO_ROAD)),
        Some("9435783309"),
        Gender::Male,
        "SW1 1AA",
    );
    john.attributes.address_line_1 = Some("39A Battersea Rise".into());
    john.attributes.address_town = Some("London".into());
    in_year_8_of_2025(john)
}

fn assert_moving_out(school_move: Option<SchoolMove>, academic_year: i32) -> SchoolMove {
    let school_move = school_move.expect("a pending move out");
    assert_eq!(school_move.destination, SchoolPlacement::Unknown);
    assert_eq!(school_move.team_id.as_deref(), Some(TEAM_A));
    assert_eq!(school_move.source, SchoolMoveSource::ClassListImport);
    assert_eq!(school_move.academic_year, academic_year);
    school_move
}

/// §3.1 C1: the same children listed by another school of the team get pending moves there (not auto-confirmed:
/// their school changes), and the rows count as exact duplicates. Listed by their own school again, they stay, and
/// those moves are dropped (§3.1 D, "an outstanding move to another school is removed").
pub async fn moves_between_schools_of_one_team(h: &Harness) {
    let first = import_fixture(h, WATERLOO_ROAD, &SECONDARY, "class_import/valid.csv").await;
    assert_processed(&first);

    let second = import_fixture(h, DIFFERENT_ROAD, &SECONDARY, "class_import/valid.csv").await;

    assert_processed(&second);
    assert_eq!(second.counts, counts(0, 0, 4));
    let moves = pending_moves(h, TEAM_A).await;
    assert_eq!(moves.len(), 4);
    for school_move in &moves {
        assert_eq!(school_move.destination, school(DIFFERENT_ROAD));
        assert_eq!(school_move.team_id, None);
        assert_eq!(school_move.source, SchoolMoveSource::ClassListImport);
        assert_eq!(school_move.academic_year, 2022);
    }
    for patient in h.patients_of(&second).await {
        assert_eq!(patient.school, school(WATERLOO_ROAD), "nothing moved yet");
    }

    let third = import_fixture(h, WATERLOO_ROAD, &SECONDARY, "class_import/valid.csv").await;
    assert_processed(&third);
    assert_eq!(third.counts, counts(0, 0, 4));
    assert!(pending_moves(h, TEAM_A).await.is_empty());
}

/// §3.1 C2: another team's class list proposes moves for the children, reviewed by that team only, and changes
/// nothing until then.
pub async fn moves_across_teams(h: &Harness) {
    let first = import_fixture(h, WATERLOO_ROAD, &SECONDARY, "class_import/valid.csv").await;
    assert_processed(&first);

    let second = import_class_list(
        h,
        TEAM_B,
        SECOND_TEAM_SCHOOL,
        &SECONDARY,
        "valid.csv",
        crate::fixture("class_import/valid.csv"),
    )
    .await;

    assert_processed(&second);
    assert_eq!(second.counts, counts(0, 0, 4));
    let moves = pending_moves(h, TEAM_B).await;
    assert_eq!(moves.len(), 4);
    assert!(moves.iter().all(|m| m.destination == school(SECOND_TEAM_SCHOOL)));
    assert!(pending_moves(h, TEAM_A).await.is_empty());
    for patient in h.patients_of(&second).await {
        assert_eq!(patient.school, school(WATERLOO_ROAD));
        assert_eq!(patient.team_ids, [TEAM_A]);
    }
}

/// §9.2: a child of another team is never moved in automatically, even with no school (§3.1 D, "no school but in
/// another team through a location at that team's clinic").
pub async fn child_of_another_team_waits_for_review(h: &Harness) {
    let mut jennifer = child("Jennifer", "Clarke", "2010-01-01", SchoolPlacement::Unknown);
    jennifer.team_ids = vec!["oth".into()];
    h.existing_patient(&jennifer).await;

    let import = import_fixture(h, WATERLOO_ROAD, &[8], "class_import/valid_minimal.csv").await;

    assert_processed(&import);
    let after = h.patient(jennifer.id).await;
    assert_eq!(after.school, SchoolPlacement::Unknown);
    assert_eq!(after.team_ids, ["oth"]);
    let proposed = move_of(h, jennifer.id).await.expect("a pending move");
    assert_eq!(proposed.destination, school(WATERLOO_ROAD));
    assert_eq!(pending_moves(h, TEAM_A).await, [proposed]);
}

/// §3.10 scenario 1 without the review screen: a new child, an auto-match, a close match, a move between schools
/// of the team (Coco) and a move out (John), as they stand once the import is approved.
pub async fn review_one_as_approved(h: &Harness) {
    let coco = in_year_8_of_2025(with_details(
        child("Coco", "Chanel", "2010-09-10", school(LIVERPOOL_ROAD)),
        Some("9435777066"),
        Gender::Female,
        "SW7 5LE",
    ));
    let ralph = in_year_8_of_2025(with_details(
        child("Ralph", "Lauren", "2015-10-14", school(WATERLOO_ROAD)),
        Some("9435769047"),
        Gender::Male,
        "OX4 1DY",
    ));
    let calvin = in_year_8_of_2025(with_details(
        child("Calvin", "Klein", "2014-11-19", school(WATERLOO_ROAD)),
        None,
        Gender::Male,
        "KT2 9HF",
    ));
    let john = john_smith();
    for patient in [&coco, &ralph, &calvin, &john] {
        existing_at(h, patient, WATERLOO_ROAD, 2025).await;
    }

    let import = import_fixture(h, WATERLOO_ROAD, &REVIEW_YEARS, "class_import/review_one.csv").await;

    assert_processed(&import);
    assert_eq!(import.counts, counts(4, 0, 0), "every row brings a new parent");
    let michael = h.patient_named(&import, "Michael", "Kors").await;
    assert_eq!(michael.school, school(WATERLOO_ROAD));

    let calvin_after = h.patient(calvin.id).await;
    assert!(calvin_after.pending_changes.is_empty(), "an auto-match");
    assert_eq!(calvin_after.attributes.nhs_number.as_deref(), Some("9435753973"));
    assert_eq!(calvin_after.attributes.registration.as_deref(), Some("Giraffes"));

    let ralph_after = h.patient(ralph.id).await;
    assert_eq!(
        serde_json::to_value(&ralph_after.pending_changes).expect("json"),
        json!({
            "address_postcode": "RH3 1HG",
            "preferred_given_name": "Ralphie",
            "registration": "Kangaroos",
            "registration_academic_year": 2025
        })
    );
    assert_eq!(ralph_after.attributes, ralph.attributes, "nothing applied");

    let coco_after = h.patient(coco.id).await;
    assert!(coco_after.pending_changes.is_empty());
    assert_eq!(coco_after.attributes.registration.as_deref(), Some("Tigers"));
    assert_eq!(coco_after.school, school(LIVERPOOL_ROAD), "her move needs review");
    let coco_move = move_of(h, coco.id).await.expect("Coco's move");
    assert_eq!(coco_move.destination, school(WATERLOO_ROAD));
    assert_eq!(coco_move.source, SchoolMoveSource::ClassListImport);

    let john_after = h.patient(john.id).await;
    assert_eq!(john_after.school, school(WATERLOO_ROAD), "out-moves need review");
    let john_move = assert_moving_out(move_of(h, john.id).await, 2025);
    assert!(!h.patients_of(&import).await.iter().any(|p| p.id == john.id), "John is not linked to the import");
    assert_eq!(pending_moves(h, TEAM_A).await.len(), 2);

    let resumed = resume(h, &import).await;
    assert_eq!(resumed.counts, counts(4, 0, 0));
    assert_eq!(pending_moves(h, TEAM_A).await.len(), 2);
    assert_eq!(move_of(h, john.id).await, Some(john_move), "made once");
}

/// §3.10 scenario 2 without the review screen: review_one.csv and then review_two.csv, each approved at once.
/// John, moved out by the first list, is in the second: he stays and his move out is dropped. Coco, absent from the
/// second, is moved out. Stella (another school, though in Waterloo Road's session) is never proposed.
pub async fn review_two_after_review_one(h: &Harness) {
    let john = john_smith();
    let stella = in_year_8_of_2025(child("Stella", "Mccartney", "2012-01-01", school(LIVERPOOL_ROAD)));
    existing_at(h, &john, WATERLOO_ROAD, 2025).await;
    existing_at(h, &stella, WATERLOO_ROAD, 2025).await;

    let first = import_fixture(h, WATERLOO_ROAD, &REVIEW_YEARS, "class_import/review_one.csv").await;
    assert_processed(&first);
    assert_eq!(first.counts, counts(4, 0, 0));
    assert_moving_out(move_of(h, john.id).await, 2025);
    let coco = h.patient_named(&first, "Coco", "Chanel").await;
    let ralph = h.patient_named(&first, "Ralph", "Lauren").await;

    let second = import_fixture(h, WATERLOO_ROAD, &REVIEW_YEARS, "class_import/review_two.csv").await;

    assert_processed(&second);
    // John and Rachel bring new parents; Ralphie is a close match to Ralph; Calvin and Michael are unchanged.
    assert_eq!(second.counts, counts(2, 1, 2));
    let john_after = h.patient(john.id).await;
    assert_eq!(john_after.attributes.registration.as_deref(), Some("Eagles"));
    assert_eq!(john_after.school, school(WATERLOO_ROAD));
    assert_eq!(move_of(h, john.id).await, None, "in the list again: he stays");
    assert_eq!(
        serde_json::to_value(&h.patient(ralph.id).await.pending_changes).expect("json"),
        json!({"given_name": "Ralphie"})
    );
    let rachel = h.patient_named(&second, "Rachel", "Adams").await;
    assert_eq!(rachel.school, school(WATERLOO_ROAD));
    assert_moving_out(move_of(h, coco.id).await, 2025);
    assert_eq!(move_of(h, stella.id).await, None);
    let moves = pending_moves(h, TEAM_A).await;
    assert_eq!(moves.iter().map(|m| m.patient_id).collect::<Vec<_>>(), [coco.id]);
}

/// §3.10 scenarios 3 and 4 without the review screen: a child who joins the school after a class list is moved out
/// by the next upload of the same list.
pub async fn child_who_joined_later_is_moved_out_by_the_next_list(h: &Harness) {
    let fixture = "class_import/review_one_new_patient.csv";
    let first = import_fixture(h, WATERLOO_ROAD, &REVIEW_YEARS, fixture).await;
    assert_processed(&first);
    assert_eq!(first.counts, counts(1, 0, 0));
    let calvin = h.patient_named(&first, "Calvin", "Klein").await;
    assert_eq!(calvin.school, school(WATERLOO_ROAD));
    assert!(pending_moves(h, TEAM_A).await.is_empty());
    let john = john_smith();
    existing_at(h, &john, WATERLOO_ROAD, 2025).await;

    let second = import_fixture(h, WATERLOO_ROAD, &REVIEW_YEARS, fixture).await;

    assert_processed(&second);
    assert_eq!(second.counts, counts(0, 0, 1));
    assert_moving_out(move_of(h, john.id).await, 2025);
    assert_eq!(move_of(h, calvin.id).await, None);
}

/// §9.2 out, rule by rule (§3.1 D: "no move if they already have one, or if they are in year 7"), and made once
/// however often the import is resumed. Year 8 only is ticked; in AY 2022 year 8 is birth AY 2009.
pub async fn move_outs_follow_every_rule(h: &Harness) {
    let at_waterloo = |given: &str, date_of_birth: &str| child(given, "Pupil", date_of_birth, school(WATERLOO_ROAD));
    let absent = at_waterloo("Amy", "2010-03-01");
    let already_moving = at_waterloo("Bea", "2010-03-02");
    let year_7 = at_waterloo("Cal", "2011-03-03");
    let year_9 = at_waterloo("Dee", "2009-03-04");
    let only_last_year = at_waterloo("Eve", "2010-03-05");
    let other_school = child("Fay", "Pupil", "2010-03-06", school(DIFFERENT_ROAD));
    for patient in [&absent, &already_moving, &year_7, &year_9, &other_school] {
        existing_at(h, patient, WATERLOO_ROAD, 2022).await;
    }
    existing_at(h, &only_last_year, WATERLOO_ROAD, 2021).await;
    let earlier = Utc.with_ymd_and_hms(2023, 1, 10, 9, 0, 0).single().expect("time");
    let booked = SchoolMove {
        patient_id: already_moving.id,
        academic_year: 2022,
        source: SchoolMoveSource::CohortImport,
        destination: school(DIFFERENT_ROAD),
        team_id: None,
        created_at: earlier,
        updated_at: earlier,
    };
    h.records().put(patients::school_move_item(&booked, TEAM_A, &[]), Condition::None).await.expect("save move");

    let import = import_fixture(h, WATERLOO_ROAD, &[8], "class_import/valid_minimal.csv").await;

    assert_processed(&import);
    let moved_out = assert_moving_out(move_of(h, absent.id).await, 2022);
    assert_eq!(move_of(h, already_moving.id).await, Some(booked.clone()), "left as it was");
    for untouched in [&year_7, &year_9, &only_last_year, &other_school] {
        assert_eq!(move_of(h, untouched.id).await, None, "{}", untouched.full_name());
        assert_eq!(h.patient(untouched.id).await.school, untouched.school);
    }
    assert_eq!(h.patient(absent.id).await.school, school(WATERLOO_ROAD));
    assert_eq!(pending_moves(h, TEAM_A).await.len(), 2);

    let resumed = resume(h, &import).await;
    assert_eq!(resumed.status, ImportStatus::Processed);
    assert_eq!(move_of(h, absent.id).await, Some(moved_out), "made once");
    assert_eq!(move_of(h, already_moving.id).await, Some(booked));
    assert_eq!(pending_moves(h, TEAM_A).await.len(), 2);
}

pub(super) async fn all<F, Fut>(make: &F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    moves_between_schools_of_one_team(&make(clock_2023()).await).await;
    moves_across_teams(&make(clock_2023()).await).await;
    child_of_another_team_waits_for_review(&make(clock_2023()).await).await;
    review_one_as_approved(&make(clock_2025()).await).await;
    review_two_after_review_one(&make(clock_2025()).await).await;
    child_who_joined_later_is_moved_out_by_the_next_list(&make(clock_2025()).await).await;
    move_outs_follow_every_rule(&make(clock_2023()).await).await;
}

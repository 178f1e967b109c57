//! The Mavis fixtures under `shared/fixtures/mavis/{immunisation_import,td_ipv}`, checked against
//! fixture-outcomes.md §4, §5 and §6.1: row counts, every expected message verbatim and in order, and the record
//! fields the outcomes list.

use super::ValidationOutcome;
use super::test_support::{
    ALL, Listed, at, base, date, fixture, london, national, poc, reference, rows_of, validate_bytes,
};
use crate::csv_import::{FileError, Limits, ValidateError};
use crate::domain::vaccination::{DeliveryMethod, DeliverySite, Protocol, RecordSource, VaccinationOutcome};
use crate::domain::{AcademicYear, Gender, Programme};

const DUP_OF_2: &str = "The record on this row appears to be a duplicate of row 2.";
const DUP_OF_3: &str = "The record on this row appears to be a duplicate of row 3.";
const URN_NOT_RECOGNISED: &str = "The school URN is not recognised. If you’ve checked the URN, and you believe it’s valid, contact our support team.";

fn point_of_care(path: &str, programmes: &[Programme], today: &str) -> (ValidationOutcome, Listed) {
    let reference = reference(programmes);
    validate_bytes(
        &fixture(&format!("immunisation_import/point_of_care/{path}")),
        &poc(&reference, today),
        &Limits::default(),
    )
    .expect("accepted file")
}

fn assert_valid((outcome, errors): (ValidationOutcome, Listed), rows: u64) {
    assert_eq!(errors, Listed::new());
    assert_eq!((outcome.rows, outcome.rows_with_errors), (rows, 0));
}

fn file_error(path: &str, limits: Limits) -> FileError {
    let reference = reference(&[Programme::Flu]);
    match validate_bytes(&fixture(path), &poc(&reference, "2025-08-01"), &limits) {
        Err(ValidateError::File(error)) => error,
        other => panic!("expected a file error for {path}, got {other:?}"),
    }
}

// §4.1 valid_flu.csv

#[test]
fn when_valid_flu_is_validated_for_a_flu_team_should_have_eleven_valid_rows() {
    assert_valid(point_of_care("valid_flu.csv", &[Programme::Flu], "2025-08-01"), 11);
    assert_valid(point_of_care("valid_flu.csv", &[Programme::Flu], "2025-06-01"), 11);
}

#[test]
fn when_valid_flu_is_read_should_give_the_records_of_fixture_outcomes() {
    let reference = reference(&[Programme::Flu]);
    let rows = rows_of(&fixture("immunisation_import/point_of_care/valid_flu.csv"), &poc(&reference, "2025-08-01"));
    assert_eq!(rows.len(), 11);
    assert_eq!(rows.iter().map(|r| r.row_number).collect::<Vec<_>>(), (2..=12).collect::<Vec<_>>());
    for row in &rows {
        let d = &row.details;
        assert_eq!(d.programme, Programme::Flu);
        assert_eq!(d.disease_types, ["influenza"]);
        assert_eq!(d.dose_sequence, Some(1));
        assert_eq!(d.performed_at, london("2025-05-14", "00:00"));
        assert!(!d.time_given);
        assert_eq!(d.performer.user_email, None);
        assert_eq!(d.performer.given_name.as_deref(), Some("Vaccinator1"));
        assert_eq!(d.performer.family_name.as_deref(), Some("Name1"));
        assert_eq!(d.performed_ods_code.as_deref(), Some("R1L"));
        assert!(d.full_dose);
        assert_eq!(d.protocol, Some(Protocol::Pgd));
        assert_eq!(d.source, RecordSource::HistoricalUpload);
        assert_eq!((d.session_id, d.location.as_ref()), (None, None));
        assert_eq!(d.notify_parents, None);
        assert_eq!(d.local_patient_id, None, "ignored for point of care");
        assert!(!row.ignored);
    }
    let outcomes: Vec<_> = rows.iter().map(|r| r.details.outcome).collect();
    use VaccinationOutcome::*;
    assert_eq!(
        outcomes,
        [
            Administered,
            Administered,
            Administered,
            Administered,
            Administered,
            Administered,
            Administered,
            Unwell,
            Contraindicated,
            Unwell,
            Unwell
        ]
    );
    let vaccines: Vec<_> = rows.iter().map(|r| r.details.vaccine.as_deref()).collect();
    assert_eq!(
        vaccines,
        [
            None,
            Some("cell_based_trivalent"),
            Some("vaxigrip"),
            Some("fluenz"),
            Some("cell_based_trivalent"),
            None,
            Some("vaxigrip"),
            Some("vaxigrip"),
            Some("fluenz"),
            Some("fluenz"),
            Some("fluenz"),
        ]
    );
    let sites: Vec<_> = rows.iter().map(|r| (r.details.delivery_site, r.details.delivery_method)).collect();
    use DeliveryMethod::*;
    use DeliverySite::*;
    assert_eq!(
        sites[..7],
        [
            (Some(LeftButtock), Some(Intramuscular)),
            (Some(RightButtock), Some(Intramuscular)),
            (Some(LeftThigh), Some(Intramuscular)),
            (Some(Nose), Some(NasalSpray)),
            (Some(LeftArmUpperPosition), Some(Intramuscular)),
            (Some(RightArmUpperPosition), Some(Intramuscular)),
            (Some(RightThigh), Some(Intramuscular)),
        ]
    );
    for row in &rows[7..] {
        let d = &row.details;
        assert_eq!((d.batch_number.as_ref(), d.batch_expiry, d.delivery_site), (None, None, None));
    }
    assert_eq!(rows[0].details.batch_number.as_deref(), Some("123013325"));
    assert_eq!(rows[0].details.batch_expiry, Some(date("2022-07-30")));
    let names: Vec<_> = rows.iter().map(|r| r.details.location_name.as_deref().unwrap()).collect();
    assert_eq!(names[..8], ["School 120026"; 8]);
    assert_eq!(names[8..], ["School 144012", "Home Schooled", "Unknown School"]);

    let chyna = &rows[0].child;
    assert_eq!(chyna.attributes.given_name.as_deref(), Some("Chyna"));
    assert_eq!(chyna.attributes.family_name.as_deref(), Some("Pickle"));
    assert_eq!(chyna.attributes.date_of_birth, Some(date("2012-09-12")));
    assert_eq!(chyna.attributes.birth_academic_year, Some(AcademicYear(2012)));
    assert_eq!(chyna.gender, Gender::NotSpecified);
    assert_eq!(chyna.attributes.nhs_number.as_deref(), Some("7420180008"));
    assert_eq!(chyna.attributes.address_postcode.as_deref(), Some("LE3 2DA"));
    assert_eq!(chyna.school_urn.as_deref(), Some("120026"));
    assert_eq!(rows[1].child.attributes.nhs_number, None, "Renie has none");
    assert!(rows[9].child.home_educated, "Lily: 999999");
    assert!(!rows[10].child.home_educated && rows[10].child.school_urn.is_none());
}

#[test]
fn when_valid_flu_exceeds_the_row_limit_should_be_rejected() {
    assert_eq!(
        file_error("immunisation_import/point_of_care/valid_flu.csv", Limits::with_max_rows(2)).to_string(),
        "The row limit for CSV uploads is 2. Split your CSV file into smaller files of less than 2 rows"
    );
}

// §4.2 valid_hpv.csv, §4.4 with an instruction row, §4.5 with changes

#[test]
fn when_valid_hpv_is_validated_for_an_hpv_team_should_have_eleven_valid_rows() {
    assert_valid(point_of_care("valid_hpv.csv", &[Programme::Hpv], "2025-08-01"), 11);
    assert_valid(point_of_care("valid_hpv.csv", &[Programme::Hpv], "2025-05-20"), 11);
}

#[test]
fn when_valid_hpv_is_read_should_give_the_records_of_fixture_outcomes() {
    let reference = reference(&[Programme::Hpv]);
    let rows = rows_of(&fixture("immunisation_import/point_of_care/valid_hpv.csv"), &poc(&reference, "2025-05-20"));
    assert_eq!(rows.len(), 11);
    assert!(rows.iter().all(|r| r.details.programme == Programme::Hpv
        && r.details.outcome == VaccinationOutcome::Administered
        && r.details.disease_types == ["human_papillomavirus"]));
    let doses: Vec<_> = rows.iter().map(|r| r.details.dose_sequence).collect();
    assert_eq!(doses[6], Some(2));
    assert!(doses.iter().enumerate().all(|(i, d)| i == 6 || *d == Some(1)));
    use DeliverySite::*;
    let sites: Vec<_> = rows.iter().map(|r| r.details.delivery_site).collect();
    assert_eq!(
        sites,
        [
            Some(LeftButtock),
            Some(RightButtock),
            Some(LeftThigh),
            Some(Nose),
            None,
            Some(RightArmUpperPosition),
            Some(RightThigh),
            None,
            Some(LeftArmUpperPosition),
            Some(LeftArmUpperPosition),
            Some(LeftArmUpperPosition),
        ]
    );
    assert_eq!(rows[3].details.delivery_method, Some(DeliveryMethod::NasalSpray));
    assert_eq!(rows[4].details.delivery_method, None);
    let ods: Vec<_> = rows.iter().map(|r| r.details.performed_ods_code.as_deref()).collect();
    assert_eq!((ods[4], ods[8]), (None, None));
    assert!(ods.iter().enumerate().all(|(i, o)| i == 4 || i == 8 || *o == Some("R1L")));
    assert_eq!((rows[9].details.batch_number.as_ref(), rows[9].details.batch_expiry), (None, None));
    let names: Vec<_> = rows.iter().map(|r| r.details.location_name.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        [
            "School 110158",
            "School 110158",
            "Eton College",
            "School 110158",
            "School 110158",
            "School 110158",
            "Eton College",
            "Eton College",
            "School 110158",
            "School 110158",
            "School 110158",
        ]
    );
    assert_eq!(rows[0].details.vaccine.as_deref(), Some("cervarix"));
    assert_eq!(rows[2].details.vaccine.as_deref(), Some("gardasil_9"));
    assert_eq!(rows[7].details.performed_at, london("2023-04-10", "00:00"));
}

#[test]
fn when_valid_hpv_has_an_instruction_row_should_number_rows_from_three() {
    let reference = reference(&[Programme::Hpv]);
    let bytes = fixture("immunisation_import/point_of_care/valid_hpv_with_instruction_row.csv");
    let (outcome, errors) = validate_bytes(&bytes, &poc(&reference, "2025-08-01"), &Limits::default()).unwrap();
    assert_eq!(errors, Listed::new());
    assert_eq!(outcome.rows, 11);
    let rows = rows_of(&bytes, &poc(&reference, "2025-08-01"));
    assert_eq!((rows.first().unwrap().row_number, rows.last().unwrap().row_number), (3, 13));
}

#[test]
fn when_valid_hpv_with_changes_is_validated_should_have_one_valid_row() {
    assert_valid(point_of_care("valid_hpv_with_changes.csv", &[Programme::Hpv], "2025-08-01"), 1);
}

// §4.3 valid_mmr.csv

#[test]
fn when_valid_mmr_is_read_should_take_disease_types_from_the_vaccines() {
    assert_valid(point_of_care("valid_mmr.csv", &[Programme::Mmr], "2025-08-01"), 11);
    let reference = reference(&[Programme::Mmr]);
    let rows = rows_of(&fixture("immunisation_import/point_of_care/valid_mmr.csv"), &poc(&reference, "2025-08-01"));
    assert!(
        rows.iter().all(
            |r| r.details.programme == Programme::Mmr && r.details.disease_types == ["measles", "mumps", "rubella"]
        )
    );
    let doses: Vec<_> = rows.iter().map(|r| r.details.dose_sequence.unwrap()).collect();
    assert_eq!(doses, [1, 2, 1, 1, 1, 1, 2, 1, 1, 2, 1]);
    let vaccines: Vec<_> = rows.iter().map(|r| r.details.vaccine.as_deref().unwrap()).collect();
    assert_eq!(vaccines[..2], ["vaxpro", "priorix"]);
}

// §4.6, §4.7 the same child twice

#[test]
fn when_the_same_child_has_two_different_records_should_be_valid() {
    let both = [Programme::Flu, Programme::Hpv];
    assert_valid(point_of_care("valid_duplicate_patient.csv", &both, "2025-08-01"), 2);
    assert_valid(point_of_care("valid_duplicate_patient_no_nhs_number.csv", &both, "2025-08-01"), 2);
}

// §4.8 duplicate_row.csv

#[test]
fn when_two_rows_differ_only_in_batch_should_be_duplicates_of_each_other() {
    let (outcome, errors) = point_of_care("duplicate_row.csv", &[Programme::Flu], "2025-08-01");
    assert_eq!(errors, vec![base(2, DUP_OF_3), base(3, DUP_OF_2)]);
    assert_eq!((outcome.rows, outcome.rows_with_errors), (2, 2));
}

#[test]
fn when_duplicate_rows_are_outside_the_current_year_should_list_the_date_first() {
    let (_, errors) = point_of_care("duplicate_row.csv", &[Programme::Flu], "2025-12-01");
    let ay = "must be in the current academic year";
    assert_eq!(
        errors,
        vec![at(2, "DATE_OF_VACCINATION", ay), base(2, DUP_OF_3), at(3, "DATE_OF_VACCINATION", ay), base(3, DUP_OF_2),]
    );
}

// §4.9 invalid_rows.csv

const VACCINATED_UNDECIDED: &str =
    "You need to record whether the child was vaccinated or not. Enter ‘Y’ or ‘N’ in the ‘VACCINATED’ column.";

#[test]
fn when_invalid_rows_is_validated_for_a_flu_team_should_list_the_model_spec_errors() {
    let (outcome, errors) = point_of_care("invalid_rows.csv", &[Programme::Flu], "2025-08-01");
    assert_eq!(
        errors,
        vec![
            at(3, "VACCINATED", VACCINATED_UNDECIDED),
            at(3, "BATCH_EXPIRY_DATE", "must be blank"),
            at(3, "BATCH_NUMBER", "must be blank"),
            at(3, "DATE_OF_VACCINATION", "must be in the current academic year"),
            at(3, "ANATOMICAL_SITE", "must be blank"),
            at(3, "REASON_NOT_VACCINATED", "Enter a valid reason."),
            at(4, "BATCH_EXPIRY_DATE", "must be more than 15 years old"),
            at(4, "DATE_OF_VACCINATION", "must be in the current academic year"),
            at(4, "ANATOMICAL_SITE", "Enter a valid anatomical site."),
        ]
    );
    assert_eq!((outcome.rows, outcome.rows_with_errors), (2, 2));
}

#[test]
fn when_invalid_rows_is_validated_for_an_hpv_team_should_list_the_feature_spec_errors() {
    let (_, errors) = point_of_care("invalid_rows.csv", &[Programme::Hpv], "2025-05-20");
    assert_eq!(
        errors,
        vec![
            at(3, "VACCINATED", VACCINATED_UNDECIDED),
            at(3, "BATCH_EXPIRY_DATE", "must be blank"),
            at(3, "BATCH_NUMBER", "must be blank"),
            at(3, "ANATOMICAL_SITE", "must be blank"),
            at(3, "REASON_NOT_VACCINATED", "Enter a valid reason."),
            at(3, "VACCINE_GIVEN", "This vaccine is not valid."),
            at(4, "BATCH_EXPIRY_DATE", "must be more than 15 years old"),
            at(4, "ANATOMICAL_SITE", "Enter a valid anatomical site."),
            at(4, "PROGRAMME", "This programme is not available in this session."),
            at(4, "VACCINE_GIVEN", "This vaccine is not valid."),
        ]
    );
}

#[test]
fn when_invalid_rows_is_validated_for_a_flu_and_hpv_team_should_name_the_programme_mismatch() {
    let (_, errors) = point_of_care("invalid_rows.csv", &[Programme::Flu, Programme::Hpv], "2025-08-01");
    let row_3: Listed = errors.iter().filter(|(row, _)| *row == 3).cloned().collect();
    assert_eq!(
        row_3,
        vec![
            at(3, "VACCINATED", VACCINATED_UNDECIDED),
            at(3, "BATCH_EXPIRY_DATE", "must be blank"),
            at(3, "BATCH_NUMBER", "must be blank"),
            at(3, "ANATOMICAL_SITE", "must be blank"),
            at(3, "REASON_NOT_VACCINATED", "Enter a valid reason."),
            at(3, "VACCINE_GIVEN", "is not given in the HPV programme"),
        ]
    );
}

// §4.10, §4.11

#[test]
fn when_file_has_only_headers_should_need_one_record() {
    assert_eq!(file_error("immunisation_import/point_of_care/empty.csv", Limits::default()), FileError::NoRecords);
    assert_eq!(FileError::NoRecords.to_string(), "Choose a CSV file with at least one record");
}

#[test]
fn when_file_is_malformed_should_be_rejected() {
    assert_eq!(file_error("immunisation_import/point_of_care/malformed.csv", Limits::default()), FileError::Malformed);
}

// §5 national reporting

fn national_reporting(path: &str, without_120026: bool, today: &str) -> (ValidationOutcome, Listed) {
    let mut reference = reference(&ALL);
    if without_120026 {
        reference.schools.retain(|s| s.urn != "120026");
    }
    validate_bytes(
        &fixture(&format!("immunisation_import/national_reporting/{path}")),
        &national(&reference, today),
        &Limits::default(),
    )
    .expect("accepted file")
}

#[test]
fn when_valid_mixed_flu_hpv_is_validated_should_have_three_rows_and_one_ignored() {
    let (outcome, errors) = national_reporting("valid_mixed_flu_hpv.csv", false, "2025-12-20");
    assert_eq!(errors, Listed::new());
    assert_eq!((outcome.rows, outcome.rows_with_errors, outcome.ignored), (3, 0, 1));
    let (outcome, errors) = national_reporting("valid_mixed_flu_hpv.csv", false, "2025-12-01");
    assert_eq!((errors.len(), outcome.ignored), (0, 1));
}

#[test]
fn when_valid_mixed_flu_hpv_is_read_should_give_two_records_and_an_ignored_row() {
    let reference = reference(&ALL);
    let rows = rows_of(
        &fixture("immunisation_import/national_reporting/valid_mixed_flu_hpv.csv"),
        &national(&reference, "2025-12-20"),
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(rows.iter().map(|r| r.ignored).collect::<Vec<_>>(), [false, false, true]);
    assert_eq!(rows[2].row_number, 4);

    let harry = &rows[0];
    let d = &harry.details;
    assert_eq!(d.programme, Programme::Flu);
    assert_eq!(d.vaccine.as_deref(), Some("fluenz"));
    assert_eq!(d.dose_sequence, Some(1));
    assert_eq!((d.batch_number.as_deref(), d.batch_expiry), (Some("ABC123"), Some(date("2025-10-30"))));
    assert_eq!((d.delivery_site, d.delivery_method), (Some(DeliverySite::Nose), Some(DeliveryMethod::NasalSpray)));
    assert_eq!(d.performer.given_name.as_deref(), Some("Albus"));
    assert_eq!(d.performer.family_name.as_deref(), Some("Dumbledore"));
    assert_eq!(d.performed_ods_code.as_deref(), Some("RYG"));
    assert_eq!((d.location.as_deref(), d.location_name.as_ref()), (Some("100000"), None));
    assert_eq!((d.local_patient_id.as_deref(), d.local_patient_id_uri.as_deref()), (Some("1234"), Some("ABCD")));
    assert_eq!(d.source, RecordSource::NationalReporting);
    assert_eq!(d.outcome, VaccinationOutcome::Administered);
    assert_eq!(d.performed_at, london("2025-11-09", "00:00"));

    let ron = &rows[1];
    let d = &ron.details;
    assert_eq!((d.programme, d.vaccine.as_deref(), d.dose_sequence), (Programme::Hpv, Some("gardasil"), Some(1)));
    assert_eq!(
        (d.delivery_site, d.delivery_method),
        (Some(DeliverySite::RightArmUpperPosition), Some(DeliveryMethod::Intramuscular))
    );
    assert_eq!(d.performer.given_name, None);
    assert_eq!(d.location.as_deref(), Some("100000"));
    assert_eq!((d.local_patient_id.as_deref(), d.local_patient_id_uri.as_deref()), (Some("1235"), Some("ABCE")));
    assert_eq!(ron.child.gender, Gender::NotKnown);
    assert_eq!(ron.child.attributes.date_of_birth, Some(date("2001-01-02")));
    assert_eq!(ron.child.attributes.address_postcode.as_deref(), Some("S1 1AA"));
}

#[test]
fn when_national_invalid_rows_is_validated_without_school_120026_should_list_the_errors() {
    let (outcome, errors) = national_reporting("invalid_rows.csv", true, "2025-12-20");
    let ay = "must be in the current academic year";
    assert_eq!(
        errors,
        vec![
            at(2, "DATE_OF_VACCINATION", ay),
            at(2, "ANATOMICAL_SITE", "Enter a valid anatomical site."),
            at(3, "BATCH_EXPIRY_DATE", "must be more than 15 years old"),
            at(3, "DATE_OF_VACCINATION", ay),
            at(3, "SCHOOL_URN", URN_NOT_RECOGNISED),
        ]
    );
    assert_eq!((outcome.rows, outcome.rows_with_errors), (2, 2));
}

#[test]
fn when_national_invalid_rows_has_school_120026_should_not_flag_the_urn() {
    let (_, errors) = national_reporting("invalid_rows.csv", false, "2025-12-20");
    assert!(!errors.iter().any(|(_, e)| e.contains("SCHOOL_URN")), "{errors:?}");
    assert_eq!(errors.len(), 4);
}

#[test]
fn when_national_rows_are_identical_should_be_duplicates() {
    let (_, errors) = national_reporting("duplicate_row.csv", false, "2025-12-01");
    assert_eq!(errors, vec![base(2, DUP_OF_3), base(3, DUP_OF_2)]);
}

#[test]
fn when_national_duplicate_rows_are_checked_too_early_should_list_date_errors_first() {
    let (_, errors) = national_reporting("duplicate_row.csv", false, "2025-11-01");
    assert_eq!(
        errors,
        vec![
            at(2, "DATE_OF_VACCINATION", "The vaccination date is in the future."),
            base(2, DUP_OF_3),
            at(3, "DATE_OF_VACCINATION", "The vaccination date is in the future."),
            base(3, DUP_OF_2),
        ]
    );
}

// §6.1 td_ipv/vaccination_records.csv

#[test]
fn when_td_ipv_records_are_read_should_resolve_3_in_1_and_revaxis() {
    let reference = reference(&[Programme::TdIpv]);
    let ctx = poc(&reference, "2025-07-31");
    let bytes = fixture("td_ipv/vaccination_records.csv");
    let (outcome, errors) = validate_bytes(&bytes, &ctx, &Limits::default()).unwrap();
    assert_eq!((errors, outcome.rows), (Listed::new(), 1));

    let rows = rows_of(&bytes, &ctx);
    let row = &rows[0];
    let d = &row.details;
    assert_eq!(d.programme, Programme::TdIpv);
    assert_eq!(d.vaccine.as_deref(), Some("revaxis"));
    assert_eq!(d.disease_types, ["tetanus", "diphtheria", "polio"]);
    assert_eq!(d.dose_sequence, Some(1));
    assert_eq!(d.outcome, VaccinationOutcome::Administered);
    assert_eq!(d.performed_at, london("2012-05-14", "00:00"));
    assert_eq!((d.batch_number.as_deref(), d.batch_expiry), (Some("123013325"), Some(date("2012-07-30"))));
    assert_eq!(
        (d.delivery_site, d.delivery_method),
        (Some(DeliverySite::LeftArmUpperPosition), Some(DeliveryMethod::Intramuscular))
    );
    assert_eq!(d.location_name.as_deref(), Some("School 123456"));
    assert_eq!(row.child.attributes.date_of_birth, Some(date("2010-09-12")));
    assert_eq!(row.child.gender, Gender::NotSpecified);
    assert_eq!(row.child.attributes.nhs_number.as_deref(), Some("7420180008"));
}

#[test]
fn when_td_ipv_expiry_is_before_the_fifteen_year_window_should_be_refused() {
    // With the clock in 2028 the earliest expiry allowed is 2013-01-01, so 2012-07-30 is too old.
    let reference = reference(&[Programme::TdIpv]);
    let (_, errors) =
        validate_bytes(&fixture("td_ipv/vaccination_records.csv"), &poc(&reference, "2028-01-10"), &Limits::default())
            .unwrap();
    assert_eq!(errors, vec![at(2, "BATCH_EXPIRY_DATE", "must be more than 15 years old")]);
}

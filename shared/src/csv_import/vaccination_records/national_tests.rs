//! National reporting (mavis-import.md §3.4) rules beyond the fixtures: rows with Vaccinated = N are neither
//! checked nor imported, every record field is required, the programme comes from the vaccine, and the messages
//! name only the Mavis headers. Clock 2025-12-01 (AY 2025); the team reports flu and HPV.

use super::test_support::{ALL, Listed, at, base, csv, national, reference, rows_of, validate_bytes, with, without};
use crate::csv_import::Limits;

const TODAY: &str = "2025-12-01";

/// §5.1's row 2: Harry Potter, flu, Fluenz LAIV by its NIVS name.
fn harry() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ORGANISATION_CODE", "RYG"),
        ("SCHOOL_URN", "100000"),
        ("SCHOOL_NAME", "Hogwarts"),
        ("NHS_NUMBER", "9449308357"),
        ("PERSON_FORENAME", "Harry"),
        ("PERSON_SURNAME", "Potter"),
        ("PERSON_DOB", "20010101"),
        ("PERSON_GENDER_CODE", "male"),
        ("PERSON_POSTCODE", "AA11 1AA"),
        ("VACCINATED", "Y"),
        ("DATE_OF_VACCINATION", "20251109"),
        ("VACCINE_GIVEN", "AstraZeneca Fluenz LAIV"),
        ("BATCH_NUMBER", "ABC123"),
        ("BATCH_EXPIRY_DATE", "20251030"),
        ("ANATOMICAL_SITE", "nasal"),
        ("PERFORMING_PROFESSIONAL_FORENAME", "Albus"),
        ("PERFORMING_PROFESSIONAL_SURNAME", "Dumbledore"),
        ("DOSE_SEQUENCE", ""),
        ("LOCAL_PATIENT_ID", "1234"),
        ("LOCAL_PATIENT_ID_URI", "ABCD"),
    ]
}

/// Harry's row as an HPV record.
fn hpv() -> Vec<(&'static str, &'static str)> {
    with(with(with(harry(), "VACCINE_GIVEN", "Gardasil9"), "ANATOMICAL_SITE", "left deltoid"), "DOSE_SEQUENCE", "1")
}

fn check(row: &[(&str, &str)]) -> Listed {
    let reference = reference(&ALL);
    validate_bytes(csv(row).as_bytes(), &national(&reference, TODAY), &Limits::default()).expect("accepted file").1
}

fn only(header: &str, message: &str) -> Listed {
    vec![at(2, header, message)]
}

#[test]
fn when_national_rows_are_complete_should_be_valid() {
    assert_eq!(check(&harry()), Listed::new());
    assert_eq!(check(&hpv()), Listed::new());
}

#[test]
fn when_national_columns_are_missing_should_require_each_by_its_mavis_header() {
    assert_eq!(
        check(&[("VACCINATED", "Y")]),
        [
            "<code>BATCH_EXPIRY_DATE</code> is required",
            "<code>BATCH_NUMBER</code> is required",
            "<code>DATE_OF_VACCINATION</code> is required",
            "<code>ANATOMICAL_SITE</code> is required",
            "<code>LOCAL_PATIENT_ID</code> is required",
            "<code>LOCAL_PATIENT_ID_URI</code> is required",
            "<code>PERSON_DOB</code> is required",
            "<code>PERSON_FORENAME</code> is required",
            "<code>PERSON_GENDER_CODE</code> or <code>PERSON_GENDER</code> is required",
            "<code>PERSON_SURNAME</code> is required",
            "<code>PERSON_POSTCODE</code> is required",
            "<code>ORGANISATION_CODE</code> is required",
            "<code>SCHOOL_URN</code> is required",
            "<code>VACCINE_GIVEN</code> is required",
        ]
        .map(|message| base(2, message))
    );
}

#[test]
fn when_national_record_cells_are_blank_should_ask_for_each() {
    let mut row = harry();
    for header in [
        "BATCH_EXPIRY_DATE",
        "BATCH_NUMBER",
        "ANATOMICAL_SITE",
        "LOCAL_PATIENT_ID",
        "LOCAL_PATIENT_ID_URI",
        "PERSON_POSTCODE",
        "PERFORMING_PROFESSIONAL_FORENAME",
        "PERFORMING_PROFESSIONAL_SURNAME",
        "ORGANISATION_CODE",
        "SCHOOL_URN",
    ] {
        row = with(row, header, "");
    }
    assert_eq!(
        check(&row),
        vec![
            at(2, "BATCH_EXPIRY_DATE", "Enter a batch expiry date."),
            at(2, "BATCH_NUMBER", "Enter a batch number."),
            at(2, "ANATOMICAL_SITE", "Enter an anatomical site."),
            at(2, "LOCAL_PATIENT_ID", "Enter a local patient ID."),
            at(2, "LOCAL_PATIENT_ID_URI", "Enter a local patient ID URI."),
            at(2, "PERSON_POSTCODE", "Enter a valid postcode, such as SW1A 1AA."),
            at(2, "PERFORMING_PROFESSIONAL_FORENAME", "Enter a forename."),
            at(2, "PERFORMING_PROFESSIONAL_SURNAME", "Enter a surname."),
            at(2, "ORGANISATION_CODE", "Enter an organisation code."),
            at(2, "SCHOOL_URN", "Enter a school URN."),
        ]
    );
    assert_eq!(check(&with(harry(), "VACCINE_GIVEN", "")), only("VACCINE_GIVEN", "Enter a vaccine name."));
}

#[test]
fn when_flu_performer_columns_are_missing_should_require_them() {
    let row = without(without(harry(), "PERFORMING_PROFESSIONAL_FORENAME"), "PERFORMING_PROFESSIONAL_SURNAME");
    assert_eq!(
        check(&row),
        vec![
            base(2, "<code>PERFORMING_PROFESSIONAL_FORENAME</code> is required"),
            base(2, "<code>PERFORMING_PROFESSIONAL_SURNAME</code> is required"),
        ]
    );
    let hpv = without(without(hpv(), "PERFORMING_PROFESSIONAL_FORENAME"), "PERFORMING_PROFESSIONAL_SURNAME");
    assert_eq!(check(&hpv), Listed::new(), "only flu needs a performer");
}

#[test]
fn when_hpv_dose_is_missing_or_out_of_range_should_say_so() {
    assert_eq!(check(&without(hpv(), "DOSE_SEQUENCE")), vec![base(2, "<code>DOSE_SEQUENCE</code> is required")]);
    assert_eq!(
        check(&with(hpv(), "DOSE_SEQUENCE", "")),
        only(
            "DOSE_SEQUENCE",
            "Enter a dose sequence number, for example, 1, 2 or 3. The dose sequence number cannot be greater than 6."
        )
    );
    assert_eq!(check(&with(hpv(), "DOSE_SEQUENCE", "4")), only("DOSE_SEQUENCE", "must be less than or equal to 3"));
    assert_eq!(check(&with(harry(), "DOSE_SEQUENCE", "3")), only("DOSE_SEQUENCE", "must be less than or equal to 2"));
}

#[test]
fn when_vaccine_is_not_flu_or_hpv_should_not_be_accepted() {
    let menquadfi = with(with(harry(), "VACCINE_GIVEN", "MenQuadfi"), "ANATOMICAL_SITE", "left deltoid");
    assert_eq!(check(&menquadfi), only("VACCINE_GIVEN", "This vaccine programme is not accepted in this upload."));
    assert_eq!(
        check(&with(harry(), "VACCINE_GIVEN", "Vaxigrip9")),
        only("VACCINE_GIVEN", "This vaccine is not valid.")
    );
}

#[test]
fn when_site_does_not_suit_the_vaccine_should_say_so_with_mavis_s_typo() {
    assert_eq!(
        check(&with(hpv(), "ANATOMICAL_SITE", "nasal")),
        only("ANATOMICAL_SITE", "Enter a anatomical site that is appropriate for the vaccine.")
    );
    assert_eq!(
        check(&with(harry(), "ANATOMICAL_SITE", "left thigh")),
        only("ANATOMICAL_SITE", "Enter a anatomical site that is appropriate for the vaccine.")
    );
}

#[test]
fn when_national_values_are_outside_the_rules_should_say_so() {
    assert_eq!(
        check(&with(hpv(), "DATE_OF_VACCINATION", "20250514")),
        only("DATE_OF_VACCINATION", "must be in the current academic year"),
        "every national-reporting date, not just flu"
    );
    assert_eq!(
        check(&with(harry(), "PERSON_POSTCODE", "")),
        only("PERSON_POSTCODE", "Enter a valid postcode, such as SW1A 1AA."),
        "required even with an NHS number"
    );
    assert_eq!(check(&without(harry(), "PERSON_POSTCODE")), vec![base(2, "<code>PERSON_POSTCODE</code> is required")]);
}

#[test]
fn when_national_row_has_point_of_care_values_should_ignore_them() {
    let row = with(
        with(with(with(harry(), "ORGANISATION_CODE", "XYZ"), "PROGRAMME", "Polio"), "REASON_NOT_VACCINATED", "Refused"),
        "CARE_SETTING",
        "community setting",
    );
    let row = with(with(row, "SESSION_ID", "abc"), "UUID", "not-a-uuid");
    assert_eq!(check(&row), Listed::new());
}

#[test]
fn when_school_is_unknown_should_need_no_name_and_have_no_location() {
    let row = without(with(harry(), "SCHOOL_URN", "888888"), "SCHOOL_NAME");
    assert_eq!(check(&row), Listed::new());
    let reference = reference(&ALL);
    let rows = rows_of(csv(&row).as_bytes(), &national(&reference, TODAY));
    assert_eq!(rows[0].details.location, None);
    assert_eq!(rows[0].details.location_name.as_deref(), Some("Unknown"));
}

#[test]
fn when_vaccinated_is_n_should_skip_every_check_and_count_the_row_as_ignored() {
    let broken = with(with(harry(), "VACCINATED", "N"), "PERSON_DOB", "not a date");
    let broken = without(broken, "VACCINE_GIVEN");
    let reference = reference(&ALL);
    let ctx = national(&reference, TODAY);
    let (outcome, errors) = validate_bytes(csv(&broken).as_bytes(), &ctx, &Limits::default()).unwrap();
    assert_eq!(errors, Listed::new());
    assert_eq!((outcome.rows, outcome.ignored), (1, 1));
    let rows = rows_of(csv(&broken).as_bytes(), &ctx);
    assert!(rows[0].ignored);
}

#[test]
fn when_vaccinated_cannot_be_decided_should_report_only_that() {
    let row = with(with(harry(), "VACCINATED", "maybe"), "PERSON_DOB", "not a date");
    assert_eq!(
        check(&row),
        only(
            "VACCINATED",
            "You need to record whether the child was vaccinated or not. Enter ‘Y’ or ‘N’ in the ‘VACCINATED’ column."
        )
    );
    assert_eq!(check(&with(harry(), "VACCINATED", "")), Listed::new(), "blank means vaccinated");
    assert_eq!(check(&without(harry(), "VACCINATED")), Listed::new(), "absent means vaccinated");
}

#[test]
fn when_national_duplicates_differ_in_batch_should_not_be_duplicates() {
    let reference = reference(&ALL);
    let ctx = national(&reference, TODAY);
    let other_batch = csv(&with(harry(), "BATCH_NUMBER", "XYZ789"));
    let file = format!("{}{}\n", csv(&harry()), other_batch.lines().nth(1).unwrap());
    let (_, errors) = validate_bytes(file.as_bytes(), &ctx, &Limits::default()).unwrap();
    assert_eq!(errors, Listed::new(), "national reporting compares the batch too");
}

#[test]
fn when_national_file_uses_an_alias_should_still_read_it() {
    let row = with(without(harry(), "PERSON_DOB"), "Date of birth", "20010101");
    assert_eq!(check(&row), Listed::new());
}

#[test]
fn when_vaccination_is_before_the_team_cut_off_date_should_name_the_start_date() {
    let mut reference = reference(&ALL);
    reference.teams[1].national_reporting_cut_off_date = chrono::NaiveDate::from_ymd_opt(2025, 11, 10);
    let context = national(&reference, TODAY);
    let checked = |date: &'static str| {
        validate_bytes(csv(&with(harry(), "DATE_OF_VACCINATION", date)).as_bytes(), &context, &Limits::default())
            .expect("accepted file")
            .1
    };
    assert_eq!(
        checked("20251109"),
        only(
            "DATE_OF_VACCINATION",
            "must be on or after your team's start date with Mavis national reporting: 10 November 2025"
        )
    );
    assert_eq!(checked("20251110"), Listed::new(), "the cut-off day itself is accepted");
}

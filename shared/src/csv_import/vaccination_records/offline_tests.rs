//! Offline recording (mavis-import.md §3.3): rows with `SESSION_ID`, which must name one of the team's sessions
//! for the current academic year and carry everything a live record would. Clock 2025-05-20 (AY 2024); session 7
//! is at school 123456 on 2025-05-20 for HPV and flu, session 8 at the team's generic clinic.

use super::test_support::{ALL, Listed, at, base, csv, errors, poc, reference, rows_of, with, without};
use crate::domain::Programme;
use crate::domain::vaccination::{Protocol, RecordSource};

const TODAY: &str = "2025-05-20";
const SESSION_NOT_RECOGNISED: &str = "The session ID is not recognised. Download the offline spreadsheet and copy the session ID for this row from there, or contact our support team.";

fn offline_row() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ORGANISATION_CODE", "R1L"),
        ("SESSION_ID", "7"),
        ("PERFORMING_PROFESSIONAL_EMAIL", "nurse@example.com"),
        ("SCHOOL_URN", "123456"),
        ("NHS_NUMBER", "7420180008"),
        ("PERSON_FORENAME", "Chyna"),
        ("PERSON_SURNAME", "Pickle"),
        ("PERSON_DOB", "20100912"),
        ("PERSON_GENDER_CODE", "Female"),
        ("PERSON_POSTCODE", "LE3 2DA"),
        ("VACCINATED", "Y"),
        ("DATE_OF_VACCINATION", "20250520"),
        ("TIME_OF_VACCINATION", "09:15"),
        ("PROGRAMME", "HPV"),
        ("VACCINE_GIVEN", "Gardasil9"),
        ("BATCH_NUMBER", "AB1234"),
        ("BATCH_EXPIRY_DATE", "20260101"),
        ("ANATOMICAL_SITE", "left upper arm"),
        ("DOSE_SEQUENCE", "1"),
        ("CARE_SETTING", "1"),
        ("NOTES", "Brave"),
    ]
}

fn check(row: &[(&str, &str)]) -> Listed {
    let reference = reference(&ALL);
    errors(&csv(row), &poc(&reference, TODAY))
}

fn only(header: &str, message: &str) -> Listed {
    vec![at(2, header, message)]
}

#[test]
fn when_offline_row_is_complete_should_become_a_service_record_at_the_session() {
    assert_eq!(check(&offline_row()), Listed::new());
    let reference = reference(&ALL);
    let rows = rows_of(csv(&offline_row()).as_bytes(), &poc(&reference, TODAY));
    let d = &rows[0].details;
    assert_eq!(d.source, RecordSource::Service);
    assert_eq!(d.notify_parents, Some(true));
    assert_eq!(d.session_id, Some(7));
    assert_eq!((d.location.as_deref(), d.location_name.as_ref()), (Some("123456"), None));
    assert_eq!(d.performer.user_email.as_deref(), Some("nurse@example.com"));
    assert_eq!(d.notes.as_deref(), Some("Brave"));
    assert_eq!(d.protocol, Some(Protocol::Pgd));
    assert!(d.time_given);
}

#[test]
fn when_offline_row_lacks_record_columns_should_require_each_in_order() {
    let row = [
        ("SESSION_ID", "7"),
        ("NHS_NUMBER", "7420180008"),
        ("PERSON_FORENAME", "Chyna"),
        ("PERSON_SURNAME", "Pickle"),
        ("PERSON_DOB", "20100912"),
        ("PERSON_GENDER_CODE", "Female"),
        ("VACCINATED", "Y"),
        ("DATE_OF_VACCINATION", "20250520"),
        ("PROGRAMME", "HPV"),
    ];
    assert_eq!(
        check(&row),
        vec![
            base(2, "<code>BATCH_EXPIRY_DATE</code> is required"),
            base(2, "<code>BATCH_NUMBER</code> or <code>Vaccination batch number</code> is required"),
            base(2, "<code>ANATOMICAL_SITE</code> is required"),
            base(2, "<code>DOSE_SEQUENCE</code> or <code>Vaccination type</code> is required"),
            base(2, "<code>PERFORMING_PROFESSIONAL_EMAIL</code> is required"),
            base(2, "<code>ORGANISATION_CODE</code> is required"),
            base(2, "<code>VACCINE_GIVEN</code> is required"),
        ]
    );
}

#[test]
fn when_offline_record_cells_are_blank_should_ask_for_each() {
    let mut row = offline_row();
    for header in [
        "BATCH_EXPIRY_DATE",
        "BATCH_NUMBER",
        "ANATOMICAL_SITE",
        "DOSE_SEQUENCE",
        "PERFORMING_PROFESSIONAL_EMAIL",
        "ORGANISATION_CODE",
        "VACCINE_GIVEN",
    ] {
        row = with(row, header, "");
    }
    assert_eq!(
        check(&row),
        vec![
            at(2, "BATCH_EXPIRY_DATE", "Enter a batch expiry date."),
            at(2, "BATCH_NUMBER", "Enter a batch number."),
            at(2, "ANATOMICAL_SITE", "Enter an anatomical site."),
            at(
                2,
                "DOSE_SEQUENCE",
                "Enter a dose sequence number, for example, 1, 2 or 3. The dose sequence number cannot be greater than 6."
            ),
            at(2, "PERFORMING_PROFESSIONAL_EMAIL", "Enter a valid email address."),
            at(2, "ORGANISATION_CODE", "Enter an organisation code."),
            at(2, "VACCINE_GIVEN", "Enter a vaccine name."),
        ]
    );
}

#[test]
fn when_offline_values_do_not_fit_the_team_or_session_should_say_so() {
    assert_eq!(
        check(&with(offline_row(), "ORGANISATION_CODE", "XYZ")),
        only("ORGANISATION_CODE", "Enter an organisation code that matches the current team.")
    );
    assert_eq!(
        check(&with(offline_row(), "PERFORMING_PROFESSIONAL_EMAIL", "nobody@example.com")),
        only("PERFORMING_PROFESSIONAL_EMAIL", "Enter a valid email address.")
    );
    assert_eq!(
        check(&with(offline_row(), "DATE_OF_VACCINATION", "20250519")),
        only("DATE_OF_VACCINATION", "Enter a date that matches when the vaccination session took place.")
    );
    assert_eq!(
        check(&with(offline_row(), "ANATOMICAL_SITE", "Nasal")),
        only("ANATOMICAL_SITE", "Enter a anatomical site that is appropriate for the vaccine.")
    );
    assert_eq!(
        check(&with(offline_row(), "TIME_OF_VACCINATION", "13:00")),
        only("TIME_OF_VACCINATION", "Enter a time in the past."),
        "the tests' clock reads noon"
    );
}

#[test]
fn when_offline_programme_is_not_the_session_s_should_refuse_programme_and_vaccine() {
    let menacwy = with(with(offline_row(), "PROGRAMME", "MenACWY"), "VACCINE_GIVEN", "MenQuadfi");
    assert_eq!(
        check(&menacwy),
        vec![
            at(2, "PROGRAMME", "This programme is not available in this session."),
            at(2, "VACCINE_GIVEN", "This vaccine is not available in this session."),
        ]
    );
}

#[test]
fn when_session_id_is_not_one_of_the_team_s_current_sessions_should_not_recognise_it() {
    // 9 is last academic year's, 10 another team's.
    for id in ["abc", "999", "9", "10"] {
        assert_eq!(check(&with(offline_row(), "SESSION_ID", id)), only("SESSION_ID", SESSION_NOT_RECOGNISED), "{id}");
    }
}

#[test]
fn when_offline_in_the_community_should_need_one_of_the_team_s_clinics() {
    let community = with(offline_row(), "CARE_SETTING", "2");
    assert_eq!(check(&community), vec![base(2, "<code>CLINIC_NAME</code> or <code>Event done at</code> is required")]);
    assert_eq!(check(&with(community.clone(), "CLINIC_NAME", "")), only("CLINIC_NAME", "Enter a clinic name."));
    for name in ["Nowhere", "Other Clinic", "Community clinic"] {
        assert_eq!(
            check(&with(community.clone(), "CLINIC_NAME", name)),
            only("CLINIC_NAME", "is not recognised"),
            "{name}: not one of the team's community clinics"
        );
    }
    let at_clinic = with(with(community, "CLINIC_NAME", "leeds clinic"), "SESSION_ID", "8");
    assert_eq!(check(&at_clinic), Listed::new());
    let reference = reference(&ALL);
    let rows = rows_of(csv(&at_clinic).as_bytes(), &poc(&reference, TODAY));
    let d = &rows[0].details;
    assert_eq!(d.location, None, "the generic clinic is not a location");
    assert_eq!(d.location_name.as_deref(), Some("Leeds Clinic"));
}

#[test]
fn when_offline_location_type_is_not_school_should_read_the_clinic_from_event_done_at() {
    let row = with(
        with(without(offline_row(), "CARE_SETTING"), "Event location type", "Clinic"),
        "Event done at",
        "Leeds Clinic",
    );
    assert_eq!(check(&row), Listed::new());
    assert_eq!(check(&with(row, "Event done at", "Elsewhere")), only("Event done at", "is not recognised"));
}

#[test]
fn when_supplier_is_not_the_performer_should_choose_the_protocol_by_method() {
    let reference = reference(&ALL);
    let ctx = poc(&reference, TODAY);
    let supplied = with(offline_row(), "SUPPLIER_EMAIL", "supplier@example.com");
    let injected = &rows_of(csv(&supplied).as_bytes(), &ctx)[0].details;
    assert_eq!(injected.protocol, Some(Protocol::National));
    let nasal = with(
        with(
            with(with(supplied, "PROGRAMME", "Flu"), "VACCINE_GIVEN", "AstraZeneca Fluenz"),
            "ANATOMICAL_SITE",
            "Nasal",
        ),
        "DOSE_SEQUENCE",
        "1",
    );
    let nasal = &rows_of(csv(&nasal).as_bytes(), &ctx)[0].details;
    assert_eq!(nasal.programme, Programme::Flu);
    assert_eq!(nasal.protocol, Some(Protocol::Pgd));
    let same_person = with(offline_row(), "SUPPLIER_EMAIL", "nurse@example.com");
    let same = &rows_of(csv(&same_person).as_bytes(), &ctx)[0].details;
    assert_eq!(same.protocol, Some(Protocol::Pgd));
}

#[test]
fn when_offline_row_is_not_vaccinated_should_not_need_record_columns() {
    let row = [
        ("SESSION_ID", "7"),
        ("PERFORMING_PROFESSIONAL_EMAIL", "nurse@example.com"),
        ("ORGANISATION_CODE", "R1L"),
        ("NHS_NUMBER", "7420180008"),
        ("PERSON_FORENAME", "Chyna"),
        ("PERSON_SURNAME", "Pickle"),
        ("PERSON_DOB", "20100912"),
        ("PERSON_GENDER_CODE", "Female"),
        ("VACCINATED", "N"),
        ("REASON_NOT_VACCINATED", "Refused"),
        ("DATE_OF_VACCINATION", "20250520"),
        ("PROGRAMME", "HPV"),
    ];
    assert_eq!(check(&row), Listed::new());
}

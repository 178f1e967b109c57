//! Point-of-care row rules that the fixtures do not reach: missing columns, blank and invalid values, aliases, the
//! order of messages, vaccine and programme resolution, location names, duplicates across several rows, and the
//! number of passes over the file. Each test varies one cell of a valid HPV row (clock 2025-05-20, AY 2024).

use std::cell::Cell;
use std::io;

use super::test_support::{
    ALL, Listed, at, base, csv, csv_rows, data_line, errors, hpv_row, london, poc, reference, rows_of, validate_bytes,
    with, without,
};
use super::validate;
use crate::csv_import::Limits;
use crate::csv_import::test_reader::Generated;
use crate::domain::Programme;
use crate::domain::vaccination::{DeliveryMethod, DeliverySite, Protocol, VaccinationOutcome};

const TODAY: &str = "2025-05-20";

fn check(row: &[(&str, &str)]) -> Listed {
    let reference = reference(&ALL);
    errors(&csv(row), &poc(&reference, TODAY))
}

fn only(header: &str, message: &str) -> Listed {
    vec![at(2, header, message)]
}

fn long(n: usize) -> &'static str {
    Box::leak("A".repeat(n).into_boxed_str())
}

#[test]
fn when_the_hpv_row_is_unchanged_should_be_valid() {
    assert_eq!(check(&hpv_row()), Listed::new());
}

#[test]
fn when_required_columns_are_missing_should_give_base_errors_in_mavis_order() {
    let with_nhs = [("NHS_NUMBER", "9990000018")];
    assert_eq!(
        check(&with_nhs),
        vec![
            base(2, "<code>VACCINATED</code> is required"),
            base(2, "<code>DATE_OF_VACCINATION</code> or <code>Event date</code> is required"),
            base(2, "<code>PERSON_DOB</code> or <code>Date of birth</code> is required"),
            base(2, "<code>PERSON_FORENAME</code> or <code>First name</code> is required"),
            base(2, "<code>PERSON_GENDER_CODE</code>, <code>PERSON_GENDER</code> or <code>Sex</code> is required"),
            base(2, "<code>PERSON_SURNAME</code> or <code>Surname</code> is required"),
            base(2, "<code>PROGRAMME</code> or <code>Vaccination type</code> is required"),
            base(2, "<code>REASON_NOT_VACCINATED</code> is required"),
        ]
    );
    let without_nhs = check(&[("CONSENT_TYPE", "x")]);
    assert_eq!(without_nhs[6], base(2, "<code>PERSON_POSTCODE</code> or <code>Postcode</code> is required"));
}

#[test]
fn when_required_cells_are_blank_should_ask_for_each_in_order() {
    let mut row = hpv_row();
    for header in ["DATE_OF_VACCINATION", "PERSON_DOB", "PERSON_FORENAME", "PERSON_GENDER_CODE", "PERSON_SURNAME"] {
        row = with(row, header, "");
    }
    assert_eq!(
        check(&row),
        vec![
            at(2, "DATE_OF_VACCINATION", "Enter a date."),
            at(2, "PERSON_DOB", "Enter a date of birth."),
            at(2, "PERSON_FORENAME", "Enter a first name."),
            at(2, "PERSON_GENDER_CODE", "Enter a gender or gender code."),
            at(2, "PERSON_SURNAME", "Enter a last name."),
        ]
    );
}

#[test]
fn when_the_first_alias_column_is_blank_should_not_fall_back_to_the_next() {
    let row = with(with(hpv_row(), "PERSON_FORENAME", ""), "First name", "Chyna");
    assert_eq!(check(&row), only("PERSON_FORENAME", "Enter a first name."));
    let row = with(without(hpv_row(), "PERSON_FORENAME"), "First name", "Chyna");
    assert_eq!(check(&row), Listed::new());
}

#[test]
fn when_dates_are_wrong_should_say_how() {
    assert_eq!(
        check(&with(hpv_row(), "PERSON_DOB", "2010-13-01")),
        only("PERSON_DOB", "Enter a date of birth in the correct format.")
    );
    assert_eq!(
        check(&with(hpv_row(), "PERSON_DOB", "20300101")),
        vec![
            at(2, "DATE_OF_VACCINATION", "The vaccination date is before the date of birth."),
            at(2, "PERSON_DOB", "Enter a date of birth in the past."),
        ]
    );
    assert_eq!(
        check(&with(hpv_row(), "DATE_OF_VACCINATION", "14/05/2024x")),
        only("DATE_OF_VACCINATION", "Enter a date in the correct format.")
    );
    assert_eq!(
        check(&with(hpv_row(), "DATE_OF_VACCINATION", "20250521")),
        only("DATE_OF_VACCINATION", "The vaccination date is in the future.")
    );
    assert_eq!(check(&with(hpv_row(), "DATE_OF_VACCINATION", "20/05/2025")), Listed::new());
}

#[test]
fn when_child_values_are_invalid_should_use_the_vaccination_messages() {
    assert_eq!(
        check(&with(hpv_row(), "PERSON_GENDER_CODE", "M")),
        only("PERSON_GENDER_CODE", "Enter a valid gender or gender code.")
    );
    assert_eq!(
        check(&with(hpv_row(), "NHS_NUMBER", "1234567890")),
        only("NHS_NUMBER", "should be a valid NHS number with 10 characters")
    );
    assert_eq!(
        check(&with(hpv_row(), "PERSON_POSTCODE", "NOT A POSTCODE")),
        only("PERSON_POSTCODE", "Enter a valid postcode, such as SW1A 1AA.")
    );
    assert_eq!(
        check(&with(hpv_row(), "PERSON_FORENAME", long(301))),
        only("PERSON_FORENAME", "is greater than 300 characters long")
    );
    assert_eq!(
        check(&with(hpv_row(), "PERSON_SURNAME", long(301))),
        only("PERSON_SURNAME", "is greater than 300 characters long")
    );
    assert_eq!(check(&with(hpv_row(), "PERSON_FORENAME", long(300))), Listed::new());
    assert_eq!(
        check(&with(hpv_row(), "PERSON_FORENAME", "Ch!na")),
        Listed::new(),
        "vaccination imports do not check characters"
    );
}

#[test]
fn when_there_is_an_nhs_number_should_not_need_a_postcode() {
    assert_eq!(check(&with(hpv_row(), "PERSON_POSTCODE", "")), Listed::new());
    let no_nhs = with(with(hpv_row(), "PERSON_POSTCODE", ""), "NHS_NUMBER", "");
    assert_eq!(check(&no_nhs), only("PERSON_POSTCODE", "Enter a valid postcode, such as SW1A 1AA."));
}

#[test]
fn when_batch_values_break_the_rules_should_name_the_rule() {
    assert_eq!(
        check(&with(hpv_row(), "BATCH_NUMBER", "A")),
        only("BATCH_NUMBER", "must be at least 2 characters long")
    );
    assert_eq!(
        check(&with(hpv_row(), "BATCH_NUMBER", long(101))),
        only("BATCH_NUMBER", "must be at most 100 characters long")
    );
    assert_eq!(
        check(&with(hpv_row(), "BATCH_NUMBER", "AB-1")),
        only("BATCH_NUMBER", "must be only letters and numbers")
    );
    assert_eq!(
        check(&with(hpv_row(), "BATCH_EXPIRY_DATE", "20400102")),
        only("BATCH_EXPIRY_DATE", "must be less than 15 years in the future")
    );
    assert_eq!(check(&with(hpv_row(), "BATCH_EXPIRY_DATE", "20400101")), Listed::new());
    assert_eq!(check(&with(hpv_row(), "BATCH_EXPIRY_DATE", "20100101")), Listed::new());
    assert_eq!(
        check(&with(hpv_row(), "BATCH_EXPIRY_DATE", "20091231")),
        only("BATCH_EXPIRY_DATE", "must be more than 15 years old")
    );
    assert_eq!(
        check(&with(hpv_row(), "BATCH_EXPIRY_DATE", "2026-13-01")),
        only("BATCH_EXPIRY_DATE", "Enter a date in the correct format.")
    );
    let historical = with(with(hpv_row(), "BATCH_NUMBER", ""), "BATCH_EXPIRY_DATE", "");
    assert_eq!(check(&historical), Listed::new(), "optional for historical rows");
    let alias = with(without(hpv_row(), "BATCH_NUMBER"), "Vaccination batch number", "A");
    assert_eq!(check(&alias), only("Vaccination batch number", "must be at least 2 characters long"));
}

#[test]
fn when_not_vaccinated_should_need_a_reason_and_no_batch_or_site() {
    let not_vaccinated = with(hpv_row(), "VACCINATED", "N");
    assert_eq!(
        check(&not_vaccinated),
        vec![
            at(2, "BATCH_EXPIRY_DATE", "must be blank"),
            at(2, "BATCH_NUMBER", "must be blank"),
            at(2, "ANATOMICAL_SITE", "must be blank"),
            base(2, "<code>REASON_NOT_VACCINATED</code> is required"),
        ]
    );
    let clean = with(with(with(not_vaccinated, "BATCH_NUMBER", ""), "BATCH_EXPIRY_DATE", ""), "ANATOMICAL_SITE", "");
    assert_eq!(
        check(&with(clean.clone(), "REASON_NOT_VACCINATED", "Did not attend")),
        only("REASON_NOT_VACCINATED", "Enter a valid reason.")
    );
    assert_eq!(
        check(&with(clean.clone(), "REASON_NOT_VACCINATED", "")),
        only("REASON_NOT_VACCINATED", "Enter a valid reason.")
    );
    let reference = reference(&ALL);
    let rows = rows_of(
        csv(&with(clean, "REASON_NOT_VACCINATED", "Already had elsewhere")).as_bytes(),
        &poc(&reference, TODAY),
    );
    assert_eq!(rows[0].details.outcome, VaccinationOutcome::AlreadyHad);
    assert_eq!(rows[0].details.vaccine.as_deref(), Some("gardasil_9"));
}

#[test]
fn when_vaccinated_gives_a_reason_should_ask_for_it_blank() {
    assert_eq!(
        check(&with(hpv_row(), "REASON_NOT_VACCINATED", "Refused")),
        only("REASON_NOT_VACCINATED", "must be blank")
    );
}

#[test]
fn when_vaccinated_cannot_be_decided_should_say_so_first() {
    let errors = check(&with(hpv_row(), "VACCINATED", "maybe"));
    assert_eq!(
        errors[0],
        at(
            2,
            "VACCINATED",
            "You need to record whether the child was vaccinated or not. Enter ‘Y’ or ‘N’ in the ‘VACCINATED’ column."
        )
    );
    assert_eq!(errors.last().unwrap(), &base(2, "<code>REASON_NOT_VACCINATED</code> is required"));
}

#[test]
fn when_vaccinated_is_absent_should_follow_the_vaccine() {
    assert_eq!(check(&without(hpv_row(), "VACCINATED")), Listed::new());
    let no_vaccine = with(without(hpv_row(), "VACCINATED"), "VACCINE_GIVEN", "");
    assert_eq!(check(&no_vaccine)[0], base(2, "<code>VACCINATED</code> is required"));
}

#[test]
fn when_dose_is_out_of_range_or_unknown_should_say_so() {
    assert_eq!(check(&with(hpv_row(), "DOSE_SEQUENCE", "0")), only("DOSE_SEQUENCE", "must be greater than 0"));
    assert_eq!(check(&with(hpv_row(), "DOSE_SEQUENCE", "4")), only("DOSE_SEQUENCE", "must be less than or equal to 3"));
    assert_eq!(
        check(&with(hpv_row(), "DOSE_SEQUENCE", "first")),
        only("DOSE_SEQUENCE", "Enter a dose sequence number, for example, 1, 2 or 3.")
    );
    assert_eq!(check(&with(hpv_row(), "DOSE_SEQUENCE", "3p")), Listed::new());
    assert_eq!(check(&with(hpv_row(), "DOSE_SEQUENCE", "")), Listed::new());
}

#[test]
fn when_a_booster_is_named_in_dose_sequence_should_not_match() {
    let menacwy = with(
        with(with(hpv_row(), "PROGRAMME", "MenACWY"), "VACCINE_GIVEN", "MenQuadfi"),
        "DOSE_SEQUENCE",
        "1st Scheduled Booster",
    );
    assert_eq!(check(&menacwy), only("DOSE_SEQUENCE", "Enter a dose sequence number, for example, 1, 2 or 3."));
    let code = with(menacwy, "DOSE_SEQUENCE", "1B");
    let reference = reference(&ALL);
    let rows = rows_of(csv(&code).as_bytes(), &poc(&reference, TODAY));
    assert_eq!(rows[0].details.dose_sequence, Some(2));
}

#[test]
fn when_settings_and_school_names_are_wrong_should_say_so() {
    assert_eq!(check(&with(hpv_row(), "CARE_SETTING", "3")), only("CARE_SETTING", "Enter a valid care setting."));
    assert_eq!(
        check(&with(hpv_row(), "SCHOOL_NAME", long(301))),
        only("SCHOOL_NAME", "is greater than 300 characters long")
    );
    let unknown_school = with(hpv_row(), "SCHOOL_URN", "888888");
    assert_eq!(check(&unknown_school), Listed::new());
    assert_eq!(
        check(&without(unknown_school.clone(), "SCHOOL_NAME")),
        vec![base(2, "<code>SCHOOL_NAME</code> or <code>School</code> is required")]
    );
    assert_eq!(check(&with(unknown_school, "SCHOOL_NAME", "")), only("SCHOOL_NAME", "Enter a school name."));
}

#[test]
fn when_school_urn_is_not_a_known_school_should_say_so() {
    let not_recognised = "The school URN is not recognised. If you’ve checked the URN, and you believe it’s valid, contact our support team.";
    for urn in ["999998", "654321"] {
        assert_eq!(check(&with(hpv_row(), "SCHOOL_URN", urn)), only("SCHOOL_URN", not_recognised), "{urn}");
    }
    for urn in ["654321A", "tt110158", "120026", "999999", ""] {
        assert_eq!(check(&with(hpv_row(), "SCHOOL_URN", urn)), Listed::new(), "{urn}");
    }
}

#[test]
fn when_time_is_given_should_parse_it_as_london_time() {
    assert_eq!(
        check(&with(hpv_row(), "TIME_OF_VACCINATION", "25:00")),
        only("TIME_OF_VACCINATION", "Enter a time in the correct format.")
    );
    let reference = reference(&ALL);
    let rows = rows_of(csv(&with(hpv_row(), "TIME_OF_VACCINATION", "10:30")).as_bytes(), &poc(&reference, TODAY));
    assert_eq!(rows[0].details.performed_at, london("2024-05-14", "10:30"));
    assert_eq!(rows[0].details.performed_at.to_rfc3339(), "2024-05-14T09:30:00+00:00");
    assert!(rows[0].details.time_given);
}

#[test]
fn when_time_today_is_later_than_now_should_ask_for_a_past_time() {
    let reference = reference(&ALL);
    let ctx = super::VaccinationContext { now: london(TODAY, "10:00"), ..poc(&reference, TODAY) };
    let today = with(hpv_row(), "DATE_OF_VACCINATION", "20250520");
    let run = |time: &'static str| {
        validate_bytes(csv(&with(today.clone(), "TIME_OF_VACCINATION", time)).as_bytes(), &ctx, &Limits::default())
            .unwrap()
            .1
    };
    assert_eq!(run("10:01"), only("TIME_OF_VACCINATION", "Enter a time in the past."));
    assert_eq!(run("09:59"), Listed::new());
}

#[test]
fn when_programme_or_vaccine_does_not_resolve_should_say_which() {
    assert_eq!(
        check(&with(with(hpv_row(), "PROGRAMME", "Polio"), "VACCINE_GIVEN", "")),
        only("PROGRAMME", "This programme is not available in this session.")
    );
    assert_eq!(
        check(&with(with(hpv_row(), "PROGRAMME", ""), "VACCINE_GIVEN", "")),
        only("PROGRAMME", "Enter a programme.")
    );
    assert_eq!(
        check(&with(hpv_row(), "VACCINE_GIVEN", "gardasil9")),
        only("VACCINE_GIVEN", "This vaccine is not valid."),
        "names match case-sensitively"
    );
    assert_eq!(
        check(&with(hpv_row(), "VACCINE_GIVEN", "Priorix")),
        only("VACCINE_GIVEN", "is not given in the HPV programme")
    );
    let flu = with(
        with(with(hpv_row(), "PROGRAMME", "Flu"), "DATE_OF_VACCINATION", "20250514"),
        "VACCINE_GIVEN",
        "Gardasil9",
    );
    assert_eq!(check(&flu), only("VACCINE_GIVEN", "is not given in the flu programme"));
}

#[test]
fn when_programme_is_blank_should_come_from_the_vaccine() {
    let row = with(hpv_row(), "PROGRAMME", "");
    assert_eq!(check(&row), Listed::new());
    let reference = reference(&ALL);
    let rows = rows_of(csv(&row).as_bytes(), &poc(&reference, TODAY));
    assert_eq!(rows[0].details.programme, Programme::Hpv);
}

#[test]
fn when_vaccine_is_named_by_its_nivs_name_should_resolve_it() {
    let flu = with(
        with(with(hpv_row(), "PROGRAMME", "Flu"), "DATE_OF_VACCINATION", "20250514"),
        "VACCINE_GIVEN",
        "Seqirus Cell-Based Trivalent IIVc",
    );
    let reference = reference(&ALL);
    let rows = rows_of(csv(&flu).as_bytes(), &poc(&reference, TODAY));
    assert_eq!(rows[0].details.vaccine.as_deref(), Some("cell_based_trivalent"));
}

#[test]
fn when_vaccine_is_outside_the_team_programmes_should_not_be_found() {
    let reference = reference(&[Programme::Flu]);
    let errors = errors(&csv(&hpv_row()), &poc(&reference, TODAY));
    assert_eq!(
        errors,
        vec![
            at(2, "PROGRAMME", "This programme is not available in this session."),
            at(2, "VACCINE_GIVEN", "This vaccine is not valid."),
        ]
    );
}

#[test]
fn when_flu_is_outside_the_current_academic_year_should_be_refused() {
    let flu = with(with(hpv_row(), "PROGRAMME", "Flu"), "VACCINE_GIVEN", "Sanofi Vaxigrip");
    assert_eq!(check(&flu), only("DATE_OF_VACCINATION", "must be in the current academic year"));
    assert_eq!(check(&with(flu, "DATE_OF_VACCINATION", "20240901")), Listed::new());
}

#[test]
fn when_programme_is_mmrv_without_a_vaccine_should_record_varicella_too() {
    let row = with(with(with(hpv_row(), "PROGRAMME", "MMRV"), "VACCINE_GIVEN", ""), "DOSE_SEQUENCE", "");
    let row = with(row, "VACCINATED", "Y");
    let reference = reference(&ALL);
    let rows = rows_of(csv(&row).as_bytes(), &poc(&reference, TODAY));
    let d = &rows[0].details;
    assert_eq!(d.programme, Programme::Mmr);
    assert_eq!(d.disease_types, ["measles", "mumps", "rubella", "varicella"]);
    assert_eq!((d.vaccine.as_ref(), d.dose_sequence), (None, None));
}

#[test]
fn when_users_are_named_should_look_them_up() {
    assert_eq!(
        check(&with(hpv_row(), "PERFORMING_PROFESSIONAL_EMAIL", "nobody@example.com")),
        only("PERFORMING_PROFESSIONAL_EMAIL", "Enter a valid email address.")
    );
    assert_eq!(
        check(&with(hpv_row(), "SUPPLIER_EMAIL", "nobody@example.com")),
        only("SUPPLIER_EMAIL", "Enter a valid email address.")
    );
    let row = with(
        with(hpv_row(), "PERFORMING_PROFESSIONAL_EMAIL", "Nurse@Example.com"),
        "PERFORMING_PROFESSIONAL_FORENAME",
        "Ignored",
    );
    let supplied = with(row.clone(), "SUPPLIER_EMAIL", "supplier@example.com");
    let reference = reference(&ALL);
    let ctx = poc(&reference, TODAY);
    let performer = &rows_of(csv(&row).as_bytes(), &ctx)[0].details;
    assert_eq!(performer.performer.user_email.as_deref(), Some("nurse@example.com"));
    assert_eq!(performer.performer.given_name, None, "names only without a user");
    assert_eq!(performer.protocol, Some(Protocol::Pgd));
    let supplied = &rows_of(csv(&supplied).as_bytes(), &ctx)[0].details;
    assert_eq!(supplied.supplier_email.as_deref(), Some("supplier@example.com"));
    assert_eq!(supplied.protocol, Some(Protocol::National));
}

#[test]
fn when_uuid_is_given_should_carry_it_or_refuse_a_malformed_one() {
    assert_eq!(check(&with(hpv_row(), "UUID", "not-a-uuid")), only("UUID", "Enter an existing record."));
    let id = "6f1c1c2e-4a8b-4c1e-9a61-5a8f2a4d9b10";
    let reference = reference(&ALL);
    let rows = rows_of(csv(&with(hpv_row(), "UUID", id)).as_bytes(), &poc(&reference, TODAY));
    assert_eq!(rows[0].uuid.map(|u| u.to_string()).as_deref(), Some(id));
}

#[test]
fn when_location_is_unknown_should_name_it_by_setting() {
    let reference = reference(&ALL);
    let ctx = poc(&reference, TODAY);
    let name =
        |row: Vec<(&'static str, &'static str)>| rows_of(csv(&row).as_bytes(), &ctx)[0].details.location_name.clone();
    assert_eq!(name(hpv_row()).as_deref(), Some("School 110158"));
    assert_eq!(name(with(hpv_row(), "SCHOOL_URN", "999999")).as_deref(), Some("Eton College"));
    let clinic = with(hpv_row(), "CARE_SETTING", "2");
    assert_eq!(name(clinic.clone()).as_deref(), Some("Unknown"));
    assert_eq!(name(with(clinic.clone(), "CLINIC_NAME", "leeds CLINIC")).as_deref(), Some("Leeds Clinic"));
    assert_eq!(name(with(clinic, "CLINIC_NAME", "Somewhere Else")).as_deref(), Some("Somewhere Else"));
    let unknown_setting = with(without(hpv_row(), "CARE_SETTING"), "CLINIC_NAME", "Leeds Clinic");
    assert_eq!(name(unknown_setting).as_deref(), Some("Leeds Clinic"));
    let location_type = with(without(hpv_row(), "CARE_SETTING"), "Event location type", "SCHOOL");
    assert_eq!(name(location_type).as_deref(), Some("School 110158"));
}

#[test]
fn when_point_of_care_file_has_national_reporting_columns_should_ignore_them() {
    let row = with(with(hpv_row(), "LOCAL_PATIENT_ID", ""), "LOCAL_PATIENT_ID_URI", "");
    assert_eq!(check(&row), Listed::new());
}

#[test]
fn when_several_rows_are_the_same_record_should_name_all_the_others() {
    let reference = reference(&ALL);
    let ctx = poc(&reference, TODAY);
    let file = format!(
        "{}{}\n{}\n",
        csv_rows(&hpv_row(), 3),
        data_line(&with(hpv_row(), "DOSE_SEQUENCE", "2")),
        data_line(&hpv_row())
    );
    let (outcome, errors) = validate_bytes(file.as_bytes(), &ctx, &Limits::default()).unwrap();
    assert_eq!(
        errors,
        vec![
            base(2, "The record on this row appears to be a duplicate of rows 3, 4 and 6."),
            base(3, "The record on this row appears to be a duplicate of rows 2, 4 and 6."),
            base(4, "The record on this row appears to be a duplicate of rows 2, 3 and 6."),
            base(6, "The record on this row appears to be a duplicate of rows 2, 3 and 4."),
        ]
    );
    assert_eq!((outcome.rows, outcome.rows_with_errors), (5, 4));
}

#[test]
fn when_rows_differ_in_the_child_should_not_be_duplicates() {
    let reference = reference(&ALL);
    let ctx = poc(&reference, TODAY);
    let other_child = data_line(&with(hpv_row(), "PERSON_POSTCODE", "LE1 2DA"));
    let file = format!("{}{other_child}\n", csv(&hpv_row()));
    assert_eq!(errors(&file, &ctx), Listed::new());
}

#[test]
fn when_validating_should_open_the_file_three_times_or_four_with_duplicates() {
    let reference = reference(&ALL);
    let ctx = poc(&reference, TODAY);
    let count = |text: String| {
        let opened = Cell::new(0);
        let outcome = validate(
            &mut || {
                opened.set(opened.get() + 1);
                Ok::<_, io::Error>(io::Cursor::new(text.clone().into_bytes()))
            },
            &ctx,
            &Limits::default(),
            &mut |_| {},
        )
        .unwrap();
        (opened.get(), outcome.rows_with_errors)
    };
    assert_eq!(count(csv(&hpv_row())), (3, 0));
    assert_eq!(count(csv_rows(&hpv_row(), 2)), (4, 2));
}

#[test]
fn when_file_is_large_should_stream_it_without_holding_rows() {
    // 100,000 distinct children, generated on the fly: only the 16-byte duplicate keys are kept.
    let reference = reference(&ALL);
    let ctx = poc(&reference, TODAY);
    let header = csv(&hpv_row()).lines().next().unwrap().to_string() + "\n";
    let rows: u64 = 100_000;
    let make = || {
        let header = header.clone();
        Generated::new(rows + 1, move |i| {
            if i == 0 {
                return header.clone().into_bytes();
            }
            format!(
                "R1L,110158,Eton College,,Child{i},Pickle,20100912,Female,LE3 2DA,Y,20240514,HPV,\
                 Gardasil9,123013325,20260730,Left Upper Arm,1,1\n"
            )
            .into_bytes()
        })
    };
    let mut errors = 0;
    let outcome = validate(&mut || Ok::<_, io::Error>(make()), &ctx, &Limits::default(), &mut |_| errors += 1).unwrap();
    assert_eq!((outcome.rows, outcome.rows_with_errors, errors), (rows, 0, 0));
}

#[test]
fn when_reading_rows_should_convert_the_sites_and_stop_on_break() {
    let reference = reference(&ALL);
    let ctx = poc(&reference, TODAY);
    let nasal = with(with(hpv_row(), "ANATOMICAL_SITE", "Nasal"), "PERSON_FORENAME", "B");
    let file = format!("{}{}\n", csv(&hpv_row()), data_line(&nasal));
    let rows = rows_of(file.as_bytes(), &ctx);
    assert_eq!(
        rows.iter().map(|r| (r.details.delivery_site, r.details.delivery_method)).collect::<Vec<_>>(),
        [
            (Some(DeliverySite::LeftArmUpperPosition), Some(DeliveryMethod::Intramuscular)),
            (Some(DeliverySite::Nose), Some(DeliveryMethod::NasalSpray)),
        ]
    );
    let mut seen = 0;
    let handed = super::read_rows(&mut || Ok::<_, io::Error>(file.as_bytes()), &ctx, &Limits::default(), &mut |_| {
        seen += 1;
        std::ops::ControlFlow::Break(())
    })
    .unwrap();
    assert_eq!((handed, seen), (1, 1));
}

#[test]
fn when_reading_an_invalid_file_should_stop_with_the_first_error() {
    let reference = reference(&ALL);
    let ctx = poc(&reference, TODAY);
    let file = csv(&with(hpv_row(), "PERSON_DOB", ""));
    let result = super::read_rows(&mut || Ok::<_, io::Error>(file.as_bytes()), &ctx, &Limits::default(), &mut |_| {
        std::ops::ControlFlow::Continue(())
    });
    match result {
        Err(crate::csv_import::ValidateError::InvalidRow(error)) => {
            assert_eq!(error.stored_form(), "<code>PERSON_DOB</code>: Enter a date of birth.")
        }
        other => panic!("expected an invalid row, got {other:?}"),
    }
}

#[test]
fn when_a_blank_row_is_in_the_middle_should_report_it() {
    let reference = reference(&ALL);
    let ctx = poc(&reference, TODAY);
    let commas = ",".repeat(hpv_row().len() - 1);
    let other = data_line(&with(hpv_row(), "PERSON_FORENAME", "Other"));
    let file = format!("{}{commas}\n{other}\n", csv(&hpv_row()));
    let (outcome, errors) = validate_bytes(file.as_bytes(), &ctx, &Limits::default()).unwrap();
    assert_eq!((outcome.rows, outcome.rows_with_errors), (3, 1));
    assert!(errors.iter().all(|(row, _)| *row == 3), "{errors:?}");
    assert_eq!(
        errors[0],
        at(
            3,
            "VACCINATED",
            "You need to record whether the child was vaccinated or not. Enter ‘Y’ or ‘N’ in the ‘VACCINATED’ column."
        )
    );
}

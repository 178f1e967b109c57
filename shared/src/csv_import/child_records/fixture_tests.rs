//! The Mavis fixtures under `shared/fixtures/mavis/{cohort_import,class_import}`, checked against
//! fixture-outcomes.md §2 and §3: every expected message, verbatim and in order.

use super::test_support::{at, base, class_list, context, date, fixture, reference, rows_of, validate_bytes};
use super::{ChildFormat, UploadedParent};
use crate::csv_import::{FileError, Limits, ValidateError};
use crate::domain::patient::SchoolPlacement;
use crate::domain::{AcademicYear, Gender, Relationship};

const S: &str = "The same NHS number appears multiple times in this file.";
const DOB: &str = "CHILD_DATE_OF_BIRTH";
const FIRST: &str = "CHILD_FIRST_NAME";
const LAST: &str = "CHILD_LAST_NAME";
const POSTCODE: &str = "CHILD_POSTCODE";
const URN: &str = "CHILD_SCHOOL_URN";
const NOT_IN_PROGRAMME: &str = "is not part of this programme";

/// Clock 2023-05-20, AY 2022; Team A's year groups 8–11 (HPV + MenACWY + Td/IPV).
fn cohort(path: &str) -> (super::ValidationOutcome, Vec<(u64, String)>) {
    let reference = reference(8..=11);
    let ctx = context(&reference, 2022, ChildFormat::ChildRecords);
    validate_bytes(&fixture(&format!("cohort_import/{path}")), &ctx, &Limits::default()).expect("accepted file")
}

/// Clock 2023-05-20, AY 2022; years 8–11 ticked.
fn class(path: &str) -> (super::ValidationOutcome, Vec<(u64, String)>) {
    let reference = reference(8..=11);
    let ctx = context(&reference, 2022, class_list(8..=11));
    validate_bytes(&fixture(&format!("class_import/{path}")), &ctx, &Limits::default()).expect("accepted file")
}

fn assert_valid(result: (super::ValidationOutcome, Vec<(u64, String)>), rows: u64) {
    let (outcome, errors) = result;
    assert_eq!(errors, Vec::<(u64, String)>::new());
    assert_eq!((outcome.rows, outcome.rows_with_errors), (rows, 0));
}

fn file_error(path: &str, format: ChildFormat, limits: Limits) -> FileError {
    let reference = reference(8..=11);
    let ctx = context(&reference, 2022, format);
    match validate_bytes(&fixture(path), &ctx, &limits) {
        Err(ValidateError::File(error)) => error,
        other => panic!("expected a file error for {path}, got {other:?}"),
    }
}

// §2 Child records

#[test]
fn when_cohort_valid_csv_should_have_three_valid_rows() {
    assert_valid(cohort("valid.csv"), 3);
}

#[test]
fn when_cohort_valid_csv_is_read_should_convert_rows_like_mavis() {
    let reference = reference(8..=11);
    let ctx = context(&reference, 2022, ChildFormat::ChildRecords);
    let rows = rows_of(&fixture("cohort_import/valid.csv"), &ctx);
    assert_eq!(rows.len(), 3);

    let jennifer = &rows[0];
    assert_eq!((jennifer.index, jennifer.row_number), (0, 2));
    assert_eq!(jennifer.child.given_name.as_deref(), Some("Jennifer"));
    assert_eq!(jennifer.child.nhs_number.as_deref(), Some("9990000018"));
    assert_eq!(jennifer.child.date_of_birth, Some(date("2010-01-01")));
    assert_eq!(jennifer.child.birth_academic_year, Some(AcademicYear(2008)), "year 9 from CHILD_YEAR_GROUP");
    assert_eq!(jennifer.child.preferred_given_name, None, "CHILD_PREFERRED_GIVEN_NAME is not a known column");
    assert_eq!(jennifer.child.address_line_2, None);
    assert_eq!(jennifer.child.address_postcode.as_deref(), Some("SW1A 1AA"));
    assert_eq!(jennifer.school, Some(SchoolPlacement::School { urn: "123456".into() }));
    assert_eq!(jennifer.parents, vec![]);

    let jimmy = &rows[1];
    assert_eq!(jimmy.child.date_of_birth, Some(date("2010-01-02")));
    assert_eq!(jimmy.child.nhs_number.as_deref(), Some("9990000026"));
    assert_eq!(jimmy.child.birth_academic_year, Some(AcademicYear(2009)));
    assert_eq!(jimmy.child.registration_academic_year, None, "child records leave it unset");
    assert_eq!(
        jimmy.parents,
        vec![UploadedParent {
            full_name: Some("John Smith".into()),
            email: Some("john@example.com".into()),
            phone: Some("07412 345678".into()),
            relationship: Relationship::Father,
            other_name: None,
        }]
    );

    let mark = &rows[2];
    assert_eq!(mark.child.nhs_number, None);
    assert_eq!(mark.child.address_line_1.as_deref(), Some("11 Downing Street"));
    assert_eq!(mark.school, Some(SchoolPlacement::Unknown));
    let parents: Vec<_> =
        mark.parents.iter().map(|p| (p.full_name.as_deref(), p.relationship, p.phone.as_deref())).collect();
    assert_eq!(
        parents,
        vec![
            (Some("Jane Doe"), Relationship::Mother, Some("07412 345679")),
            (Some("Richard Doe"), Relationship::Father, None)
        ]
    );
}

#[test]
fn when_cohort_valid_minimal_csv_should_be_valid() {
    assert_valid(cohort("valid_minimal.csv"), 1);
}

#[test]
fn when_cohort_invalid_minimal_csv_should_report_row_2() {
    assert_eq!(cohort("invalid_minimal.csv").1, vec![at(2, DOB, "Enter a date of birth.")]);
}

#[test]
fn when_cohort_valid_instruction_row_csv_should_drop_instruction_row() {
    assert_valid(cohort("valid_instruction_row.csv"), 1);
}

#[test]
fn when_cohort_invalid_instruction_row_csv_should_report_row_3() {
    let (outcome, errors) = cohort("invalid_instruction_row.csv");
    assert_eq!(errors, vec![at(3, DOB, "Enter a date of birth.")]);
    assert_eq!((outcome.rows, outcome.rows_with_errors), (1, 1));
}

#[test]
fn when_cohort_valid_extra_fields_csv_should_ignore_unknown_columns() {
    assert_valid(cohort("valid_extra_fields.csv"), 3);
}

#[test]
fn when_cohort_iso_8859_1_file_should_decode_latin_1_and_validate_in_ay_2023() {
    let bytes = fixture("cohort_import/valid_iso_8859_1_encoding.csv");
    let reference = reference(8..=11);
    let ctx = context(&reference, 2023, ChildFormat::ChildRecords);
    let (outcome, errors) = validate_bytes(&bytes, &ctx, &Limits::default()).unwrap();
    assert_eq!(errors, Vec::<(u64, String)>::new());
    assert_eq!((outcome.rows, outcome.encoding), (16, "windows-1252"));

    let rows = rows_of(&bytes, &ctx);
    let roland = &rows[14];
    assert_eq!(roland.child.family_name.as_deref(), Some("Jalapeño-Pérez"));
    assert_eq!(roland.child.gender, Some(Gender::Male));
    assert_eq!(rows[13].child.address_postcode.as_deref(), Some("ST1 0QS"), "st1 oqs corrected");
    assert_eq!(rows[13].child.given_name.as_deref(), Some("veryveryveryvderylongfirstforenmbko"));
    assert_eq!(rows[0].child.preferred_family_name.as_deref(), Some("no NHS number"));
    assert_eq!(rows[0].school, Some(SchoolPlacement::School { urn: "120026".into() }));
    assert!(rows.iter().all(|row| row.parents.is_empty()));
}

#[test]
fn when_cohort_iso_8859_1_file_is_for_ay_2022_children_born_2011_should_be_out_of_programme() {
    let reference = reference(8..=11);
    let ctx = context(&reference, 2022, ChildFormat::ChildRecords);
    let (_, errors) =
        validate_bytes(&fixture("cohort_import/valid_iso_8859_1_encoding.csv"), &ctx, &Limits::default()).unwrap();
    // Born 01/09/2010, 20/05/2011 or 11/03/2011: birth AY 2010, year 7 in AY 2022.
    let expected: Vec<_> = [8, 9, 10, 14, 15, 16, 17].iter().map(|&row| at(row, DOB, NOT_IN_PROGRAMME)).collect();
    assert_eq!(errors, expected);
}

#[test]
fn when_cohort_invalid_fields_csv_should_report_all_20_rows_exactly() {
    let (outcome, errors) = cohort("invalid_fields.csv");
    let email = "should be a valid email address, like j.doe@example.com";
    let phone = "should be a valid phone number, like 01632 960 001, 07700 900 982 or +44 808 157 0192";
    let urn_unknown = "The school URN is not recognised. If you’ve checked the URN, and you believe it’s valid, contact our support team.";
    let expected = vec![
        at(2, DOB, "Enter a date of birth."),
        at(2, FIRST, "Enter a first name."),
        at(2, LAST, "Enter a last name."),
        at(2, POSTCODE, "Enter a valid postcode, like SW1A 1AA."),
        at(2, URN, "Enter a school URN."),
        at(3, URN, "Enter a school URN."),
        base(3, S),
        base(4, S),
        base(5, S),
        base(6, S),
        base(7, S),
        at(8, FIRST, "Enter a first name."),
        base(8, S),
        at(9, LAST, "Enter a last name."),
        base(9, S),
        at(10, DOB, "Enter a date of birth."),
        base(10, S),
        base(11, S),
        base(12, S),
        at(13, POSTCODE, "Enter a valid postcode, like SW1A 1AA."),
        base(13, S),
        at(15, URN, urn_unknown),
        base(15, S),
        at(16, "PARENT_1_EMAIL", email),
        base(16, S),
        at(17, "PARENT_1_PHONE", phone),
        base(17, S),
        at(18, DOB, "should be formatted as YYYY-MM-DD"),
        base(18, S),
        at(19, POSTCODE, "should be a postcode, like SW1A 1AA"),
        base(19, S),
        at(20, "CHILD_NHS_NUMBER", "should be a valid NHS number with 10 characters"),
        at(21, FIRST, "includes invalid character(s)"),
        base(21, S),
        at(22, LAST, "includes invalid character(s)"),
        base(22, S),
    ];
    assert_eq!(errors, expected);
    assert_eq!((outcome.rows, outcome.rows_with_errors), (21, 20));
}

#[test]
fn when_cohort_invalid_fields_csv_is_outside_team_year_groups_should_add_programme_error_before_postcode() {
    let reference = reference(10..=11);
    let ctx = context(&reference, 2022, ChildFormat::ChildRecords);
    let (_, errors) = validate_bytes(&fixture("cohort_import/invalid_fields.csv"), &ctx, &Limits::default()).unwrap();
    let row_19: Vec<_> = errors.iter().filter(|(row, _)| *row == 19).cloned().collect();
    assert_eq!(
        row_19,
        vec![at(19, DOB, NOT_IN_PROGRAMME), at(19, POSTCODE, "should be a postcode, like SW1A 1AA"), base(19, S)]
    );
    assert!(!errors.iter().any(|(row, message)| *row == 18 && message.contains(NOT_IN_PROGRAMME)), "no date, no year");
}

#[test]
fn when_cohort_valid_unknown_school_csv_should_place_children_home_educated_and_unknown() {
    assert_valid(cohort("valid_unknown_school.csv"), 2);
    let reference = reference(8..=11);
    let ctx = context(&reference, 2022, ChildFormat::ChildRecords);
    let rows = rows_of(&fixture("cohort_import/valid_unknown_school.csv"), &ctx);
    assert_eq!(rows[0].school, Some(SchoolPlacement::HomeEducated));
    assert_eq!(rows[1].school, Some(SchoolPlacement::Unknown));
}

#[test]
fn when_cohort_valid_with_changes_and_duplicate_except_postcode_should_be_valid() {
    assert_valid(cohort("valid_with_changes.csv"), 1);
    assert_valid(cohort("duplicate_except_postcode.csv"), 1);
}

#[test]
fn when_cohort_duplicate_nhs_numbers_csv_should_flag_both_rows() {
    let (outcome, errors) = cohort("duplicate_nhs_numbers.csv");
    assert_eq!(errors, vec![base(2, S), base(3, S)]);
    assert_eq!((outcome.rows, outcome.rows_with_errors), (2, 2));
}

#[test]
fn when_cohort_duplicate_nhs_numbers_csv_is_outside_year_groups_should_put_programme_error_first() {
    let reference = reference(9..=11);
    let ctx = context(&reference, 2022, ChildFormat::ChildRecords);
    let (_, errors) =
        validate_bytes(&fixture("cohort_import/duplicate_nhs_numbers.csv"), &ctx, &Limits::default()).unwrap();
    assert_eq!(errors, vec![at(2, DOB, NOT_IN_PROGRAMME), base(2, S), at(3, DOB, NOT_IN_PROGRAMME), base(3, S)]);
}

#[test]
fn when_cohort_malformed_csv_should_be_rejected_as_wrong_format() {
    let error = file_error("cohort_import/malformed.csv", ChildFormat::ChildRecords, Limits::default());
    assert_eq!(error, FileError::Malformed);
    assert_eq!(error.to_string(), "Choose a CSV file in the correct format");
}

#[test]
fn when_cohort_valid_csv_exceeds_row_limit_of_2_should_be_rejected() {
    // 4 data rows counting the trailing blank one.
    let error = file_error("cohort_import/valid.csv", ChildFormat::ChildRecords, Limits::with_max_rows(2));
    assert_eq!(
        error.to_string(),
        "The row limit for CSV uploads is 2. Split your CSV file into smaller files of less than 2 rows"
    );
    let within = file_error("cohort_import/malformed.csv", ChildFormat::ChildRecords, Limits::with_max_rows(4));
    assert_eq!(within, FileError::Malformed);
}

// §3 Class lists

#[test]
fn when_class_valid_csv_should_have_four_valid_rows() {
    assert_valid(class("valid.csv"), 4);
}

#[test]
fn when_class_valid_csv_is_read_should_convert_rows_like_mavis() {
    let reference = reference(0..=11);
    let ctx = context(&reference, 2022, class_list(8..=11));
    let rows = rows_of(&fixture("class_import/valid.csv"), &ctx);
    assert_eq!(rows.len(), 4);

    let jennifer = &rows[0];
    assert_eq!(jennifer.child.preferred_given_name.as_deref(), Some("Jenny"));
    assert_eq!(jennifer.child.registration.as_deref(), Some("ABC"));
    assert_eq!(jennifer.child.registration_academic_year, Some(AcademicYear(2022)));
    assert_eq!(jennifer.child.birth_academic_year, Some(AcademicYear(2008)));
    assert_eq!(jennifer.school, None, "the school comes from the wizard");
    assert_eq!(
        jennifer.parents,
        vec![UploadedParent {
            full_name: None,
            email: Some("susan@example.com".into()),
            phone: Some("07412 345678".into()),
            relationship: Relationship::Unknown,
            other_name: None,
        }]
    );

    assert_eq!(rows[1].child.preferred_given_name.as_deref(), Some("Jim"));
    assert_eq!(rows[1].child.nhs_number.as_deref(), Some("9990000026"));
    assert_eq!(rows[2].parents.len(), 2);

    let gae = &rows[3];
    assert_eq!(gae.child.family_name.as_deref(), Some("Thorne-Smith"));
    assert_eq!((gae.child.address_postcode.as_deref(), gae.child.nhs_number.as_deref()), (None, None));
    assert_eq!(gae.child.registration.as_deref(), Some("GHI"));
    assert_eq!(gae.child.birth_academic_year, Some(AcademicYear(2009)));
}

#[test]
fn when_class_valid_minimal_and_instruction_row_and_extra_fields_should_be_valid() {
    assert_valid(class("valid_minimal.csv"), 1);
    assert_valid(class("valid_instruction_row.csv"), 1);
    assert_valid(class("valid_extra_fields.csv"), 3);
}

#[test]
fn when_class_invalid_minimal_csv_should_report_row_2() {
    assert_eq!(class("invalid_minimal.csv").1, vec![at(2, DOB, "Enter a date of birth.")]);
}

#[test]
fn when_class_invalid_instruction_row_csv_should_report_row_3() {
    assert_eq!(class("invalid_instruction_row.csv").1, vec![at(3, DOB, "Enter a date of birth.")]);
}

#[test]
fn when_class_valid_with_bom_should_recognise_first_header() {
    let reference = reference(0..=11);
    // Lena Rath, born 15/01/2012: birth AY 2011, year 9 in AY 2025.
    let ctx = context(&reference, 2025, class_list([9]));
    let (outcome, errors) =
        validate_bytes(&fixture("class_import/valid_with_bom.csv"), &ctx, &Limits::default()).unwrap();
    assert_eq!(errors, Vec::<(u64, String)>::new());
    assert_eq!((outcome.rows, outcome.encoding), (1, "UTF-8"));
    let rows = rows_of(&fixture("class_import/valid_with_bom.csv"), &ctx);
    assert_eq!(rows[0].child.given_name.as_deref(), Some("Lena"));
    assert_eq!(rows[0].child.address_postcode.as_deref(), Some("B99 3EZ"));
}

#[test]
fn when_class_invalid_fields_csv_should_report_all_16_rows_exactly() {
    let (outcome, errors) = class("invalid_fields.csv");
    let expected = vec![
        at(2, DOB, "Enter a date of birth."),
        at(2, FIRST, "Enter a first name."),
        at(2, LAST, "Enter a last name."),
        at(3, LAST, "Enter a last name."),
        base(3, S),
        base(4, S),
        base(5, S),
        base(6, S),
        base(7, S),
        at(8, FIRST, "Enter a first name."),
        base(8, S),
        at(9, DOB, "Enter a date of birth."),
        base(9, S),
        base(10, S),
        base(11, S),
        base(12, S),
        at(14, "PARENT_1_EMAIL", "should be a valid email address, like j.doe@example.com"),
        base(14, S),
        at(
            15,
            "PARENT_1_PHONE",
            "should be a valid phone number, like 01632 960 001, 07700 900 982 or +44 808 157 0192",
        ),
        base(15, S),
        at(16, DOB, "should be formatted as YYYY-MM-DD"),
        base(16, S),
        at(17, POSTCODE, "should be a postcode, like SW1A 1AA"),
        base(17, S),
        at(18, "CHILD_NHS_NUMBER", "should be a valid NHS number with 10 characters"),
    ];
    assert_eq!(errors, expected);
    assert_eq!((outcome.rows, outcome.rows_with_errors), (17, 16));
}

#[test]
fn when_class_invalid_fields_csv_has_year_8_unticked_should_flag_rows_with_a_date() {
    let reference = reference(0..=11);
    let ctx = context(&reference, 2022, class_list(9..=11));
    let (_, errors) = validate_bytes(&fixture("class_import/invalid_fields.csv"), &ctx, &Limits::default()).unwrap();
    assert_eq!(errors.iter().filter(|(_, message)| message.ends_with(NOT_IN_PROGRAMME)).count(), 14);
    assert!(errors.contains(&at(13, DOB, NOT_IN_PROGRAMME)));
}

#[test]
fn when_class_malformed_csv_should_be_rejected_as_wrong_format() {
    assert_eq!(file_error("class_import/malformed.csv", class_list(8..=11), Limits::default()), FileError::Malformed);
}

#[test]
fn when_class_review_files_should_be_valid_for_year_8() {
    for (path, rows) in [("review_one.csv", 4), ("review_two.csv", 5), ("review_one_new_patient.csv", 1)] {
        let reference = reference(0..=11);
        let ctx = context(&reference, 2025, class_list([8, 9, 10]));
        let (outcome, errors) =
            validate_bytes(&fixture(&format!("class_import/{path}")), &ctx, &Limits::default()).unwrap();
        assert_eq!((outcome.rows, errors), (rows, vec![]), "{path}");
    }
}

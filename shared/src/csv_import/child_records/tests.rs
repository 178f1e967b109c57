//! Row rules that the fixtures do not reach: missing columns, header spellings, year groups, schools, parents,
//! and the order of messages within one row.

use std::io;
use std::ops::ControlFlow;

use super::test_support::{at, base, class_list, context, rows_of, validate_bytes};
use super::{ChildFormat, ChildRecordsContext, read_rows};
use crate::csv_import::{FileError, Limits, ValidateError};
use crate::domain::patient::SchoolPlacement;
use crate::domain::{AcademicYear, Gender, ReferenceData, Relationship};

const COHORT_HEADER: &str = "CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_POSTCODE,CHILD_SCHOOL_URN";
const S: &str = "The same NHS number appears multiple times in this file.";

fn reference() -> ReferenceData {
    super::test_support::reference(8..=11)
}

fn cohort(reference: &ReferenceData) -> ChildRecordsContext<'_> {
    context(reference, 2022, ChildFormat::ChildRecords)
}

fn errors(csv: &str, ctx: &ChildRecordsContext) -> Vec<(u64, String)> {
    validate_bytes(csv.as_bytes(), ctx, &Limits::default()).expect("accepted file").1
}

#[test]
fn when_required_columns_are_missing_should_give_base_errors_on_every_row() {
    let reference = reference();
    let csv = "CHILD_NHS_NUMBER\n9990000018\n9990000026\n";
    let missing = |row| {
        vec![
            base(row, "<code>CHILD_DATE_OF_BIRTH</code> is required"),
            base(row, "<code>CHILD_FIRST_NAME</code> is required"),
            base(row, "<code>CHILD_LAST_NAME</code> is required"),
        ]
    };
    let mut cohort_expected = missing(2);
    cohort_expected.push(base(2, "<code>CHILD_POSTCODE</code> is required"));
    cohort_expected.push(base(2, "<code>CHILD_SCHOOL_URN</code> is required"));
    assert_eq!(errors(csv, &cohort(&reference))[..5], cohort_expected[..]);

    let class = context(&reference, 2022, class_list(8..=11));
    assert_eq!(errors(csv, &class), [missing(2), missing(3)].concat());
}

#[test]
fn when_row_is_shorter_than_header_should_treat_missing_cells_as_absent() {
    let reference = reference();
    let class = context(&reference, 2022, class_list(8..=11));
    assert_eq!(
        errors("CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH\nJimmy,Smith\n", &class),
        vec![base(2, "<code>CHILD_DATE_OF_BIRTH</code> is required")]
    );
}

#[test]
fn when_headers_are_spelt_differently_should_match_and_report_them_as_written() {
    let reference = reference();
    let class = context(&reference, 2022, class_list(8..=11));
    let csv = "child first name , Child-Last-Name,Child Date Of Birth\nJimmy,Smith,\n";
    assert_eq!(errors(csv, &class), vec![at(2, "Child Date Of Birth", "Enter a date of birth.")]);
}

#[test]
fn when_header_appears_twice_should_use_first_column() {
    let reference = reference();
    let class = context(&reference, 2022, class_list(8..=11));
    let csv = "CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,child_first_name\n,Smith,2010-01-01,Jimmy\n";
    assert_eq!(errors(csv, &class), vec![at(2, "CHILD_FIRST_NAME", "Enter a first name.")]);
}

#[test]
fn when_every_field_is_wrong_should_report_in_mavis_order() {
    let reference = reference();
    let header = "CHILD_SCHOOL_URN,CHILD_POSTCODE,CHILD_YEAR_GROUP,PARENT_2_RELATIONSHIP,PARENT_1_PHONE,PARENT_1_NAME,\
                  PARENT_1_EMAIL,CHILD_NHS_NUMBER,CHILD_PREFERRED_LAST_NAME,CHILD_LAST_NAME,CHILD_GENDER,\
                  CHILD_PREFERRED_FIRST_NAME,CHILD_FIRST_NAME,CHILD_DATE_OF_BIRTH";
    let row = "nope,nope,abc,Mum,123,J©hn,john@,12 3,Sm£th,Sm©th,unknown,J£m,J£mmy,2010-13-01";
    let csv = format!("{header}\n{row}\n{row}\n");
    let expected = |n| {
        vec![
            at(n, "CHILD_DATE_OF_BIRTH", "should be formatted as YYYY-MM-DD"),
            at(n, "CHILD_FIRST_NAME", "includes invalid character(s)"),
            at(n, "CHILD_PREFERRED_FIRST_NAME", "includes invalid character(s)"),
            at(n, "CHILD_GENDER", "is not a valid gender code"),
            at(n, "CHILD_LAST_NAME", "includes invalid character(s)"),
            at(n, "CHILD_PREFERRED_LAST_NAME", "includes invalid character(s)"),
            at(n, "CHILD_NHS_NUMBER", "should be a valid NHS number with 10 characters"),
            at(n, "PARENT_1_EMAIL", "should be a valid email address, like j.doe@example.com"),
            at(n, "PARENT_1_NAME", "includes invalid character(s)"),
            at(
                n,
                "PARENT_1_PHONE",
                "should be a valid phone number, like 01632 960 001, 07700 900 982 or +44 808 157 0192",
            ),
            at(n, "PARENT_2_RELATIONSHIP", "must be blank"),
            at(n, "CHILD_YEAR_GROUP", "is not a valid year group"),
            at(n, "CHILD_POSTCODE", "should be a postcode, like SW1A 1AA"),
            at(
                n,
                "CHILD_SCHOOL_URN",
                "The school URN is not recognised. If you’ve checked the URN, and you believe it’s valid, contact our support team.",
            ),
            base(n, S),
        ]
    };
    assert_eq!(errors(&csv, &cohort(&reference)), [expected(2), expected(3)].concat());
}

#[test]
fn when_year_group_column_is_given_should_override_date_of_birth() {
    let reference = reference();
    let ctx = cohort(&reference);
    let header =
        "CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_YEAR_GROUP,CHILD_POSTCODE,CHILD_SCHOOL_URN";
    let csv = format!(
        "{header}\nA,B,2010-01-01,9,SW1A 1AA,123456\nA,B,2010-01-01,,SW1A 1AA,123456\nA,B,2010-01-01,12,SW1A 1AA,123456\n\
         A,B,2016-01-01,8,SW1A 1AA,123456\nA,B,2016-01-01,,SW1A 1AA,123456\nA,B,1911-01-01,9,SW1A 1AA,123456\n"
    );
    assert_eq!(
        errors(&csv, &ctx),
        vec![
            at(4, "CHILD_YEAR_GROUP", "is not part of this programme"),
            at(6, "CHILD_DATE_OF_BIRTH", "is not part of this programme"),
            at(7, "CHILD_DATE_OF_BIRTH", "is too old to still be in school"),
        ]
    );
    let rows = csv.lines().take(3).collect::<Vec<_>>().join("\n");
    let converted = rows_of(rows.as_bytes(), &ctx);
    assert_eq!(converted[0].child.birth_academic_year, Some(AcademicYear(2008)), "2022 − 9 − 5");
    assert_eq!(converted[1].child.birth_academic_year, Some(AcademicYear(2009)), "from the date of birth");
}

#[test]
fn when_school_urn_is_special_split_or_systm_one_should_resolve_it() {
    let reference = reference();
    let ctx = cohort(&reference);
    let csv = format!(
        "{COHORT_HEADER}\nA,B,2010-01-01,SW1A 1AA,654321\nA,B,2010-01-01,SW1A 1AA,111222\n\
         A,B,2010-01-01,SW1A 1AA,654321b\nA,B,2010-01-01,SW1A 1AA,TT110158\nA,B,2010-01-01,SW1A 1AA,999999\n"
    );
    assert_eq!(
        errors(&csv, &ctx),
        vec![
            at(2, "CHILD_SCHOOL_URN", "The URN 654321 has been split into sites. Use 654321A or 654321B instead."),
            at(
                3,
                "CHILD_SCHOOL_URN",
                "The school URN is not recognised. If you’ve checked the URN, and you believe it’s valid, contact our support team."
            ),
        ]
    );
    let valid: String =
        csv.lines().enumerate().filter(|(i, _)| ![1, 2].contains(i)).map(|(_, l)| format!("{l}\n")).collect();
    let schools: Vec<_> = rows_of(valid.as_bytes(), &ctx).into_iter().map(|row| row.school).collect();
    assert_eq!(
        schools,
        vec![
            Some(SchoolPlacement::School { urn: "654321B".into() }),
            Some(SchoolPlacement::School { urn: "110158".into() }),
            Some(SchoolPlacement::HomeEducated),
        ]
    );
}

#[test]
fn when_parent_fields_vary_should_follow_parent_rules() {
    let reference = reference();
    let class = context(&reference, 2022, class_list(8..=11));
    let header = "CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_GENDER,\
                  PARENT_1_NAME,PARENT_1_RELATIONSHIP,PARENT_1_EMAIL,PARENT_1_PHONE,\
                  PARENT_2_NAME,PARENT_2_RELATIONSHIP,PARENT_2_EMAIL,PARENT_2_PHONE";
    let csv = format!(
        "{header}\nMickʼee,O’Reilly,2010-01-01,Not known,Anne O`Neil,Step-parent,Anne@Example.COM,+33 1 23 45 67 89,,dad,,\n\
         Jo,Bo,2010-01-01,,,,,,,,,\n"
    );
    assert_eq!(errors(&csv, &class), vec![at(2, "PARENT_2_RELATIONSHIP", "must be blank")]);

    let valid = csv.replace(",dad,,\n", ",,,\n");
    let rows = rows_of(valid.as_bytes(), &class);
    assert_eq!(rows[0].child.given_name.as_deref(), Some("Mick'ee"));
    assert_eq!(rows[0].child.family_name.as_deref(), Some("O'Reilly"));
    assert_eq!(rows[0].child.gender, Some(Gender::NotKnown));
    let parent = &rows[0].parents[0];
    assert_eq!(parent.full_name.as_deref(), Some("Anne O'Neil"));
    assert_eq!((parent.relationship, parent.other_name.as_deref()), (Relationship::Other, Some("Step-parent")));
    assert_eq!(parent.email.as_deref(), Some("anne@example.com"));
    assert_eq!(parent.phone.as_deref(), Some("+33 1 23 45 67 89"));
    assert_eq!(rows[0].parents.len(), 1);
    assert_eq!(rows[1].parents, vec![]);
    assert_eq!(rows[1].child.gender, None);
}

#[test]
fn when_name_is_over_300_characters_should_say_so() {
    let reference = reference();
    let class = context(&reference, 2022, class_list(8..=11));
    let long = "a".repeat(301);
    let csv = format!("CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH\n{long},{},2010-01-01\n", "b".repeat(300));
    assert_eq!(errors(&csv, &class), vec![at(2, "CHILD_FIRST_NAME", "is greater than 300 characters long")]);
}

#[test]
fn when_registration_is_given_should_set_its_year_for_both_formats() {
    let reference = reference();
    let csv = format!("{COHORT_HEADER},CHILD_REGISTRATION\nA,B,2010-01-01,SW1A 1AA,123456,8T5\n");
    let class = context(&reference, 2022, class_list(8..=11));
    let row = &rows_of(csv.as_bytes(), &class)[0];
    assert_eq!(row.child.registration.as_deref(), Some("8T5"));
    assert_eq!(row.child.registration_academic_year, Some(AcademicYear(2022)));
    let row = &rows_of(csv.as_bytes(), &cohort(&reference))[0];
    assert_eq!(
        (row.child.registration.as_deref(), row.child.registration_academic_year),
        (Some("8T5"), Some(AcademicYear(2022)))
    );
}

#[test]
fn when_blank_rows_are_in_the_middle_or_at_the_end_should_keep_only_the_middle_ones() {
    let reference = reference();
    let class = context(&reference, 2022, class_list(8..=11));
    // Empty lines are skipped by the parser and do not count (quirk 2 of mavis-import.md §14).
    let csv =
        "CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH\nA,B,2010-01-01\n,,\n\n , ,\nC,D,2010-01-01\n,,\n,\n\n";
    let (outcome, errors) = validate_bytes(csv.as_bytes(), &class, &Limits::default()).unwrap();
    let blank = |n| {
        vec![
            at(n, "CHILD_DATE_OF_BIRTH", "Enter a date of birth."),
            at(n, "CHILD_FIRST_NAME", "Enter a first name."),
            at(n, "CHILD_LAST_NAME", "Enter a last name."),
        ]
    };
    assert_eq!(errors, [blank(3), blank(4)].concat());
    assert_eq!((outcome.rows, outcome.rows_with_errors), (4, 2));
}

#[test]
fn when_rows_are_only_blank_should_have_no_record() {
    let reference = reference();
    let class = context(&reference, 2022, class_list(8..=11));
    let result = validate_bytes(b"CHILD_FIRST_NAME,CHILD_LAST_NAME\n,\n , \n", &class, &Limits::default());
    assert!(matches!(result, Err(ValidateError::File(FileError::NoRecords))), "{result:?}");
}

#[test]
fn when_reading_rows_should_stop_when_asked_and_refuse_invalid_rows() {
    let reference = reference();
    let class = context(&reference, 2022, class_list(8..=11));
    let csv = "CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH\nA,B,2010-01-01\nC,D,2010-01-02\nE,F,\n";
    let mut seen = Vec::new();
    let handed_over = read_rows(&mut || Ok::<_, io::Error>(csv.as_bytes()), &class, &Limits::default(), &mut |row| {
        seen.push(row.row_number);
        if seen.len() == 2 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })
    .unwrap();
    assert_eq!((handed_over, seen), (2, vec![2, 3]));

    let result = read_rows(&mut || Ok::<_, io::Error>(csv.as_bytes()), &class, &Limits::default(), &mut |_| {
        ControlFlow::Continue(())
    });
    match result {
        Err(ValidateError::InvalidRow(error)) => {
            assert_eq!((error.row, error.message.as_str()), (4, "Enter a date of birth."))
        }
        other => panic!("expected an invalid row, got {other:?}"),
    }
}

#[test]
fn when_reopening_fails_should_report_io_error() {
    let reference = reference();
    let ctx = cohort(&reference);
    let result = super::validate(
        &mut || Err::<&[u8], _>(io::Error::other("object store unavailable")),
        &ctx,
        &Limits::default(),
        &mut |_| {},
    );
    assert!(matches!(result, Err(ValidateError::Io(_))), "{result:?}");
}

/// A valid NHS number for `n`, or `None` when none starts with its nine digits.
fn nhs_number(n: u64) -> Option<String> {
    crate::csv_import::values::nhs_number_starting(100_000_000 + n % 900_000_000)
}

#[test]
fn when_file_has_200k_rows_should_validate_streaming_and_report_errors_in_order() {
    validate_generated(200_000);
}

/// Slow in a debug build: run with `--ignored` (and `/usr/bin/time -v`) to see memory stay flat at a million rows.
#[test]
#[ignore]
fn when_file_has_a_million_rows_should_validate_in_flat_memory() {
    validate_generated(1_000_000);
}

fn validate_generated(rows: u64) {
    let reference = reference();
    let class = context(&reference, 2022, class_list(8..=11));
    let mut opened = 0;
    let mut open = || {
        opened += 1;
        Ok::<_, io::Error>(crate::csv_import::test_reader::Generated::new(rows + 1, |i| {
            if i == 0 {
                return b"CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_NHS_NUMBER\n".to_vec();
            }
            // Every 50,000th row has no date of birth; rows 7 and 70,007 share an NHS number.
            let dob = if i % 50_000 == 0 { "" } else { "2010-01-01" };
            let number = nhs_number(if i == 70_007 { 7 } else { i }).unwrap_or_default();
            format!("Child{i},Smith,{dob},{number}\n").into_bytes()
        }))
    };
    let mut errors = Vec::new();
    let outcome = super::validate(&mut open, &class, &Limits::default(), &mut |error| {
        errors.push((error.row, error.stored_form()))
    })
    .unwrap();
    assert_eq!(opened, 2, "the scan (which gathers the NHS numbers), then the rows");
    assert_eq!((outcome.rows, outcome.rows_with_errors), (rows, 2 + rows / 50_000));
    let dob = |row| at(row, "CHILD_DATE_OF_BIRTH", "Enter a date of birth.");
    let mut expected = vec![base(8, S), dob(50_001), base(70_008, S)];
    expected.extend((2..=rows / 50_000).map(|n| dob(n * 50_000 + 1)));
    assert_eq!(errors, expected);
}

#[test]
fn when_file_is_not_utf8_should_open_it_twice_more_to_detect_the_encoding_and_read_nhs_numbers() {
    let reference = reference();
    let class = context(&reference, 2022, class_list(8..=11));
    let header = "CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH\n";
    let latin_1 = [header.as_bytes(), b"Zo\xEB,Sm\xEFth,2010-01-01\n"].concat();
    let utf_8 = format!("{header}Zoë,Smïth,2010-01-01\n").into_bytes();
    for (bytes, opens, encoding) in [(latin_1, 4, "windows-1252"), (utf_8, 2, "UTF-8")] {
        let mut opened = 0;
        let mut open = || {
            opened += 1;
            Ok::<_, io::Error>(bytes.as_slice())
        };
        let outcome =
            super::validate(&mut open, &class, &Limits::default(), &mut |error| panic!("unexpected {error:?}"))
                .unwrap();
        assert_eq!((opened, outcome.encoding), (opens, encoding));
        assert_eq!(rows_of(&bytes, &class)[0].child.given_name.as_deref(), Some("Zoë"));
    }
}

/// The scan gathers the NHS numbers: by the header as written in any form, skipping an instruction row, and
/// comparing numbers without their spaces; a file that is not UTF-8 is read again for them in its own encoding.
#[test]
fn when_nhs_numbers_repeat_the_scan_should_find_them_in_any_encoding() {
    let reference = reference();
    let class = context(&reference, 2022, class_list(8..=11));
    let csv = "First Name,child-last-name,Child Date Of Birth,Child NHS Number\n\
               Required,Required,Required,Optional\n\
               A,B,2010-01-01,999 000 0018\nC,D,2010-01-01,9990000026\nE,F,2010-01-01,9990000018\n";
    let with_first_name = csv.replacen("First Name", "CHILD_FIRST_NAME", 1);
    assert_eq!(errors(&with_first_name, &class), vec![base(3, S), base(5, S)]);

    let latin_1 = [with_first_name.as_bytes(), b"G,Sm\xEFth,2010-01-01,9990000026\n"].concat();
    let (outcome, found) = validate_bytes(&latin_1, &class, &Limits::default()).expect("accepted file");
    assert_ne!(outcome.encoding, "UTF-8");
    assert_eq!(found, vec![base(3, S), base(4, S), base(5, S), base(6, S)]);
}

//! `mavis validate` on the fixtures: exit status and the JSON summary.

use std::process::Command;

fn fixture(relative: &str) -> String {
    format!("{}/../../../shared/fixtures/mavis/{relative}", env!("CARGO_MANIFEST_DIR"))
}

fn validate(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_mavis")).arg("validate").args(args).output().expect("run mavis");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn when_file_is_valid_should_exit_zero_with_row_count() {
    let (code, stdout, _) =
        validate(&["--kind", "child-records", "--today", "2023-05-20", "--json", &fixture("cohort_import/valid.csv")]);
    assert_eq!(code, 0, "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(json, serde_json::json!({"status":"valid","rows":3,"file_error":null,"rows_with_errors":0,"errors":[]}));
}

#[test]
fn when_rows_are_invalid_should_exit_one_with_the_errors() {
    let (code, stdout, _) = validate(&[
        "--kind",
        "child-records",
        "--today",
        "2023-05-20",
        "--json",
        &fixture("cohort_import/invalid_instruction_row.csv"),
    ]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        json["errors"],
        serde_json::json!([{"row":3,"column":"CHILD_DATE_OF_BIRTH","message":"Enter a date of birth."}])
    );
}

#[test]
fn when_file_is_malformed_should_report_the_file_error() {
    let (code, stdout, _) = validate(&["--kind", "child-records", "--json", &fixture("cohort_import/malformed.csv")]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(json["file_error"], "Choose a CSV file in the correct format");
}

#[test]
fn when_year_groups_fall_outside_the_team_should_say_not_part_of_this_programme() {
    // Team RXB offers years 8–11 only; in 2030 these children have left school.
    let (code, stdout, _) = validate(&[
        "--kind",
        "child-records",
        "--team",
        "RXB",
        "--today",
        "2030-01-01",
        "--json",
        &fixture("cohort_import/valid_minimal.csv"),
    ]);
    assert_eq!(code, 1);
    assert!(stdout.contains("is not part of this programme"), "{stdout}");
}

#[test]
fn when_file_or_arguments_are_wrong_should_exit_two() {
    let (code, _, stderr) = validate(&["--kind", "child-records", "/no/such/file.csv"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read"), "{stderr}");
    let (code, _, _) = validate(&["--kind", "cheese", &fixture("cohort_import/valid.csv")]);
    assert_eq!(code, 2);
    let (code, _, stderr) =
        validate(&["--kind", "child-records", "--team", "ZZZ", &fixture("cohort_import/valid.csv")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no team with ODS code ZZZ"), "{stderr}");
}

#[test]
fn when_class_list_is_checked_for_a_school_and_year_groups_should_validate_it() {
    let (code, stdout, stderr) = validate(&[
        "--kind",
        "class-list",
        "--school",
        "123456",
        "--year-groups",
        "8,9,10,11",
        "--today",
        "2023-05-20",
        "--json",
        &fixture("class_import/valid.csv"),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(json["rows"], 4);
}

#[test]
fn when_class_list_has_no_school_should_exit_two_naming_the_option() {
    let (code, _, stderr) =
        validate(&["--kind", "class-list", "--year-groups", "8", &fixture("class_import/valid.csv")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--school"), "{stderr}");
}

#[test]
fn when_vaccination_records_are_checked_should_report_their_row_errors() {
    let (code, stdout, _) = validate(&[
        "--kind",
        "vaccination-records",
        "--today",
        "2025-05-20",
        "--json",
        &fixture("immunisation_import/point_of_care/duplicate_row.csv"),
    ]);
    assert_eq!(code, 1, "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert!(
        json["errors"].as_array().expect("errors").iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("The record on this row appears to be a duplicate of row"))),
        "{stdout}"
    );
}

#[test]
fn when_valid_vaccination_file_is_checked_should_exit_zero() {
    let (code, stdout, _) = validate(&[
        "--kind",
        "vaccination-records",
        "--today",
        "2025-05-20",
        "--json",
        &fixture("immunisation_import/point_of_care/valid_hpv.csv"),
    ]);
    assert_eq!(code, 0, "{stdout}");
}

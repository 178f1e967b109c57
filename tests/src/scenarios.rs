//! The child-records fixture scenarios (shared/spec/fixture-outcomes.md §2), each on a fresh harness made by
//! `make`, so that the same assertions hold on the embedded adapters and on the emulators.

use std::future::Future;

use chrono::NaiveDate;
use serde_json::json;
use shared::domain::import::{ImportPhase, ImportProgress};
use shared::domain::patient::SchoolPlacement;
use shared::domain::{AcademicYear, Import, ImportCounts, ImportStatus, RowError};
use shared::pipeline::Handled;
use shared::store::patients;
use uuid::Uuid;

use crate::harness::Harness;
use crate::support::taylor_reed;

/// Clock 2023-05-20: academic year 2022, as most Mavis child-record specs use.
pub fn clock_2023() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 5, 20).expect("date")
}

fn counts(new: u64, changed: u64, exact_duplicate: u64) -> Option<ImportCounts> {
    Some(ImportCounts { new, changed, exact_duplicate, ignored: 0 })
}

fn error(row: u64, column: Option<&str>, message: &str) -> RowError {
    RowError { row, column: column.map(str::to_string), message: message.to_string() }
}

/// §2.1 A: three new children, their parents and confirmed school moves.
pub async fn valid_file_creates_three_children(h: &Harness) {
    let import = h.import_fixture("R1L", "cohort_import/valid.csv").await;
    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    assert_eq!(import.row_count, Some(3));
    assert_eq!(import.counts, counts(3, 0, 0));
    // The last phase the pages showed while it processed: every row written.
    let progress = shared::store::imports::progress(h.records(), &import).await.expect("progress");
    assert_eq!(progress, Some(ImportProgress::new(ImportPhase::Importing, 3, 3)));

    let jennifer = h.patient_named(&import, "Jennifer", "Clarke").await;
    assert_eq!(jennifer.attributes.nhs_number.as_deref(), Some("9990000018"));
    assert_eq!(jennifer.attributes.birth_academic_year, Some(AcademicYear(2008)));
    assert_eq!(jennifer.attributes.address_postcode.as_deref(), Some("SW1A 1AA"));
    assert_eq!(jennifer.school, SchoolPlacement::School { urn: "123456".into() });
    assert!(jennifer.attributes.preferred_given_name.is_none());

    let jimmy = h.patient_named(&import, "Jimmy", "Smith").await;
    assert_eq!(jimmy.attributes.nhs_number.as_deref(), Some("9990000026"));
    assert_eq!(jimmy.attributes.date_of_birth, NaiveDate::from_ymd_opt(2010, 1, 2));
    assert_eq!(jimmy.attributes.birth_academic_year, Some(AcademicYear(2009)));
    let jimmy_parents = patients::parents_of(h.records(), jimmy.id).await.expect("parents");
    assert_eq!(jimmy_parents.len(), 1);
    assert_eq!(jimmy_parents[0].0.full_name.as_deref(), Some("John Smith"));
    assert_eq!(jimmy_parents[0].0.phone.as_deref(), Some("07412 345678"));

    let mark = h.patient_named(&import, "Mark", "Doe").await;
    assert_eq!(mark.attributes.nhs_number, None);
    assert_eq!(mark.school, SchoolPlacement::Unknown);
    assert_eq!(mark.attributes.address_line_1.as_deref(), Some("11 Downing Street"));
    let mark_parents = patients::parents_of(h.records(), mark.id).await.expect("parents");
    assert_eq!(mark_parents.len(), 2);
    let richard = mark_parents.iter().find(|(p, _)| p.full_name.as_deref() == Some("Richard Doe")).expect("Richard");
    assert!(!richard.0.phone_receive_updates);
    // Mark's move to unknown school is confirmed at once: he is seen at the team's generic clinic.
    let locations = patients::locations_of(h.records(), mark.id).await.expect("locations");
    assert_eq!(locations.iter().map(|l| l.location.as_str()).collect::<Vec<_>>(), ["r1l-community-clinic"]);
    assert_eq!(mark.team_ids, ["r1l"]);
}

/// Uploading the same file again changes nothing: every row is an exact duplicate, its patient is not written
/// again (same version, same update time), and the second import still lists the children.
pub async fn reupload_counts_exact_duplicates(h: &Harness) {
    let first = h.import_fixture("R1L", "cohort_import/valid.csv").await;
    let stored = |import: Import| async move {
        let mut found = Vec::new();
        for patient in h.patients_of(&import).await {
            let version = patients::get(h.records(), patient.id).await.expect("read").expect("patient").version;
            found.push((patient.id, version, patient.updated_at));
        }
        found.sort();
        found
    };
    let before = stored(first).await;
    h.wait(chrono::Duration::minutes(5));
    let again = h.import_fixture("R1L", "cohort_import/valid.csv").await;
    assert_eq!(again.status, ImportStatus::Processed);
    assert_eq!(again.counts, counts(0, 0, 3));
    assert_eq!(before.len(), 3);
    assert_eq!(stored(again).await, before);
}

/// §2.2, §2.4, §2.6: minimal, instruction-row and extra-column files.
pub async fn small_valid_files(h: &Harness) {
    for (fixture, rows) in [
        ("cohort_import/valid_minimal.csv", 1),
        ("cohort_import/valid_instruction_row.csv", 1),
        ("cohort_import/valid_extra_fields.csv", 3),
    ] {
        let import = h.import_fixture("R1L", fixture).await;
        assert_eq!(import.status, ImportStatus::Processed, "{fixture}: {:?} {:?}", import.file_error, import.errors);
        assert_eq!(import.row_count, Some(rows), "{fixture}");
    }
}

/// §2.3, §2.5, §2.12: row errors, Row 3 after an instruction row, and nothing written.
pub async fn invalid_files_write_nothing(h: &Harness) {
    let import = h.import_fixture("R1L", "cohort_import/invalid_minimal.csv").await;
    assert_eq!(import.status, ImportStatus::RowsAreInvalid);
    assert_eq!(import.errors, vec![error(2, Some("CHILD_DATE_OF_BIRTH"), "Enter a date of birth.")]);
    assert!(h.patients_of(&import).await.is_empty());

    let import = h.import_fixture("R1L", "cohort_import/invalid_instruction_row.csv").await;
    assert_eq!(import.errors, vec![error(3, Some("CHILD_DATE_OF_BIRTH"), "Enter a date of birth.")]);

    let import = h.import_fixture("R1L", "cohort_import/duplicate_nhs_numbers.csv").await;
    let same = "The same NHS number appears multiple times in this file.";
    assert_eq!(import.errors, vec![error(2, None, same), error(3, None, same)]);
    assert_eq!(import.rows_with_errors, 2);
}

/// §2.8: the 20 rows with errors, in order, with the messages verbatim.
pub async fn invalid_fields_lists_every_error(h: &Harness) {
    let import = h.import_fixture("R1L", "cohort_import/invalid_fields.csv").await;
    assert_eq!(import.status, ImportStatus::RowsAreInvalid);
    assert_eq!(import.rows_with_errors, 20);
    let same = "The same NHS number appears multiple times in this file.";
    let row2: Vec<&RowError> = import.errors.iter().filter(|e| e.row == 2).collect();
    assert_eq!(
        row2.iter().map(|e| e.stored_form()).collect::<Vec<_>>(),
        [
            "<code>CHILD_DATE_OF_BIRTH</code>: Enter a date of birth.",
            "<code>CHILD_FIRST_NAME</code>: Enter a first name.",
            "<code>CHILD_LAST_NAME</code>: Enter a last name.",
            "<code>CHILD_POSTCODE</code>: Enter a valid postcode, like SW1A 1AA.",
            "<code>CHILD_SCHOOL_URN</code>: Enter a school URN.",
        ]
    );
    assert!(import.errors.contains(&error(15, Some("CHILD_SCHOOL_URN"),
        "The school URN is not recognised. If you’ve checked the URN, and you believe it’s valid, contact our support team.")));
    assert!(import.errors.contains(&error(
        20,
        Some("CHILD_NHS_NUMBER"),
        "should be a valid NHS number with 10 characters"
    )));
    assert!(import.errors.contains(&error(22, None, same)));
    assert!(!import.errors.iter().any(|e| e.row == 14), "row 14 is valid");
    assert!(h.patients_of(&import).await.is_empty());
}

/// §2.13: a malformed file is a whole-file error.
pub async fn malformed_file_is_rejected(h: &Harness) {
    let import = h.import_fixture("R1L", "cohort_import/malformed.csv").await;
    assert_eq!(import.status, ImportStatus::RowsAreInvalid);
    assert_eq!(import.file_error.as_deref(), Some("Choose a CSV file in the correct format"));
    assert!(import.errors.is_empty());
}

/// §2.7: Latin-1 bytes decoded, postcode corrected, 16 new children (clock in AY 2024).
pub async fn iso_8859_1_file_is_decoded(h: &Harness) {
    let import = h.import_fixture("R1L", "cohort_import/valid_iso_8859_1_encoding.csv").await;
    assert_eq!(import.status, ImportStatus::Processed, "{:?} {:?}", import.file_error, import.errors);
    assert_eq!(import.counts, counts(16, 0, 0));
    let patients = h.patients_of(&import).await;
    assert!(patients.iter().any(|p| p.attributes.family_name.as_deref() == Some("Jalapeño-Pérez")));
    assert!(patients.iter().any(|p| p.attributes.address_postcode.as_deref() == Some("ST1 0QS")));
}

/// §2.10 A: a re-upload with a new address is one import issue with exactly these pending changes.
pub async fn changed_details_become_pending_changes(h: &Harness) {
    let first = h.import_fixture("R1L", "cohort_import/valid.csv").await;
    let jennifer = h.patient_named(&first, "Jennifer", "Clarke").await;
    let import = h.import_fixture("R1L", "cohort_import/valid_with_changes.csv").await;
    assert_eq!(import.status, ImportStatus::Processed);
    assert_eq!(import.counts, counts(0, 1, 0));
    let after = h.patient(jennifer.id).await;
    assert_eq!(
        serde_json::to_value(&after.pending_changes).expect("json"),
        json!({ "address_line_1": "1 Whitehall", "address_postcode": "SW1A 1AB", "birth_academic_year": 2009 })
    );
    assert_eq!(after.attributes.address_postcode.as_deref(), Some("SW1A 1AA"), "nothing applied");
}

/// §2.11: a close match on name and date of birth (not NHS number) stages the new postcode and year for review.
pub async fn close_match_is_staged_for_review(h: &Harness) {
    let taylor = taylor_reed();
    h.existing_patient(&taylor).await;
    let import = h.import_fixture("R1L", "cohort_import/duplicate_except_postcode.csv").await;
    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    assert_eq!(import.counts, counts(0, 1, 0));
    let after = h.patient(taylor.id).await;
    assert_eq!(
        serde_json::to_value(&after.pending_changes).expect("json"),
        json!({ "address_postcode": "SW1A 1AB", "birth_academic_year": 2008 })
    );
}

/// §2.9 A: an existing child at another team's school, uploaded as "unknown school", is left alone.
pub async fn skipped_school_move_leaves_child_alone(h: &Harness) {
    let mut mark = taylor_reed();
    mark.attributes.given_name = Some("Mark".into());
    mark.attributes.family_name = Some("Doe".into());
    mark.attributes.date_of_birth = NaiveDate::from_ymd_opt(2010, 1, 3);
    mark.school = SchoolPlacement::School { urn: "111222".into() };
    mark.team_ids = vec!["oth".into()];
    h.existing_patient(&mark).await;
    let import = h.import_fixture("R1L", "cohort_import/valid_unknown_school.csv").await;
    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    assert_eq!(import.counts, counts(1, 0, 0));
    let after = h.patient(mark.id).await;
    assert_eq!(after.school, SchoolPlacement::School { urn: "111222".into() });
    assert_eq!(after.team_ids, ["oth"]);
    assert!(patients::parents_of(h.records(), mark.id).await.expect("parents").is_empty());
    let jennifer = h.patient_named(&import, "Jennifer", "Clarke").await;
    assert_eq!(jennifer.school, SchoolPlacement::HomeEducated);
    assert!(!h.patients_of(&import).await.iter().any(|p| p.id == mark.id), "Mark is not linked to the import");
}

/// The same event twice, and twice at once, gives one import and one set of rows.
pub async fn duplicate_events_give_one_import(h: &Harness) {
    let event = h.put("drops/R1L/twice.csv", crate::fixture("cohort_import/valid.csv")).await;
    let (a, b) = tokio::join!(h.pipeline.handle_object_created(&event), h.pipeline.handle_object_created(&event));
    let ids: Vec<Uuid> = [a, b]
        .into_iter()
        .filter_map(|r| match r {
            Ok(Handled::Processed { import_id, .. }) | Ok(Handled::AlreadyDone { import_id }) => Some(import_id),
            Err(shared::pipeline::PipelineError::InProgress { import_id, .. }) => Some(import_id),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(ids[0], ids[1]);
    let again = h.pipeline.handle_object_created(&event).await.expect("third delivery");
    assert_eq!(again, Handled::AlreadyDone { import_id: ids[0] });
    let import = h.import(ids[0]).await;
    assert_eq!(import.counts, counts(3, 0, 0));
    assert_eq!(h.patients_of(&import).await.len(), 3);
}

/// Keys that name no team are rejected without an import.
pub async fn stray_keys_are_rejected(h: &Harness) {
    let event = h.put("elsewhere/file.csv", b"x".to_vec()).await;
    assert!(matches!(h.pipeline.handle_object_created(&event).await, Ok(Handled::Rejected { .. })));
    let event = h.put("drops/NOPE/file.csv", b"x".to_vec()).await;
    assert!(matches!(h.pipeline.handle_object_created(&event).await, Ok(Handled::Rejected { .. })));
}

/// Hostile files end with a clear message on the import, never a panic and never a patient.
pub async fn bad_input_ends_with_clear_messages(h: &Harness) {
    let header = "CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_POSTCODE,CHILD_SCHOOL_URN\n";
    let huge_field = format!("{header}Jennifer,{},2010-01-01,SW1A 1AA,123456\n", "x".repeat(10 * 1024 * 1024));
    let many_columns =
        format!("{}\n{}\n", (0..5000).map(|i| format!("C{i}")).collect::<Vec<_>>().join(","), "x,".repeat(4999));
    let binary: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 256) as u8).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("header only", header.as_bytes().to_vec()),
        ("binary", binary),
        ("unclosed quote", format!("{header}\"Jennifer,Clarke,2010-01-01,SW1A 1AA,123456\n").into_bytes()),
        ("10 MB field", huge_field.into_bytes()),
        ("5000 columns", many_columns.into_bytes()),
    ];
    for (name, body) in cases {
        let handled = h.drop_file("R1L", &format!("{}.csv", name.replace(' ', "-")), body).await.expect(name);
        let Handled::Processed { import_id, status } = handled else { panic!("{name}: {handled:?}") };
        assert_eq!(status, ImportStatus::RowsAreInvalid, "{name}");
        let import = h.import(import_id).await;
        let message = import.file_error.clone().or_else(|| import.errors.first().map(|e| e.message.clone()));
        assert!(
            message.as_deref().is_some_and(|m| m.starts_with("Choose a") || m.contains("required")),
            "{name}: {message:?}"
        );
        assert!(h.patients_of(&import).await.is_empty(), "{name}");
    }
}

/// Runs every scenario, each on a fresh harness.
pub async fn all<F, Fut>(make: F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    valid_file_creates_three_children(&make(clock_2023()).await).await;
    reupload_counts_exact_duplicates(&make(clock_2023()).await).await;
    small_valid_files(&make(clock_2023()).await).await;
    invalid_files_write_nothing(&make(clock_2023()).await).await;
    invalid_fields_lists_every_error(&make(clock_2023()).await).await;
    malformed_file_is_rejected(&make(clock_2023()).await).await;
    iso_8859_1_file_is_decoded(&make(NaiveDate::from_ymd_opt(2024, 12, 1).expect("date")).await).await;
    changed_details_become_pending_changes(&make(clock_2023()).await).await;
    close_match_is_staged_for_review(&make(clock_2023()).await).await;
    skipped_school_move_leaves_child_alone(&make(clock_2023()).await).await;
    duplicate_events_give_one_import(&make(clock_2023()).await).await;
    stray_keys_are_rejected(&make(clock_2023()).await).await;
    bad_input_ends_with_clear_messages(&make(clock_2023()).await).await;
}

//! Planning and applying hand-built rows on the embedded record store (the parser is tested on its own).

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::adapters::folder_object_store::FolderObjectStore;
use crate::adapters::sqlite_store::SqliteRecordStore;
use crate::domain::patient::{ChildAttributes, Gender, SchoolPlacement};
use crate::domain::vaccination::{
    DeliveryMethod, DeliverySite, Performer, Protocol, VaccinationDetails, VaccinationOutcome,
};
use crate::domain::{ImportKind, Programme};
use crate::pipeline::PipelineSettings;

struct Setup {
    pipeline: Pipeline,
    team: Team,
    _dir: tempfile::TempDir,
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 8, 1).expect("date")
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let reference = crate::reference::demo();
    let team = reference.team("r1l").expect("team").clone();
    let pipeline = Pipeline {
        records: Arc::new(SqliteRecordStore::in_memory().expect("store")),
        objects: Arc::new(FolderObjectStore::new(dir.path().join("objects"), "http://127.0.0.1:9".into(), [7u8; 32])),
        reference: Arc::new(reference),
        settings: PipelineSettings {
            today_override: Some(today()),
            clock: crate::clock::Clock::fixed(crate::clock::noon_in_london(today())),
            ..PipelineSettings::default()
        },
    };
    Setup { pipeline, team, _dir: dir }
}

impl Setup {
    fn store(&self) -> &dyn RecordStore {
        self.pipeline.records.as_ref()
    }

    /// Stages `rows` for a new import and commits them.
    async fn import(&self, rows: &[VaccinationRow]) -> Import {
        let import = self.staged(rows).await;
        let stored = imports::get(self.store(), import.id).await.expect("read").expect("import");
        commit_staged(&self.pipeline, stored, &self.team).await.expect("commit");
        self.reload(&import).await
    }

    async fn staged(&self, rows: &[VaccinationRow]) -> Import {
        let now = self.pipeline.now();
        let import = Import {
            id: Uuid::new_v4(),
            team_id: self.team.id.clone(),
            kind: ImportKind::VaccinationRecords,
            status: ImportStatus::PendingImport,
            object_key: "uploads/r1l/x/file.csv".into(),
            filename: Some("file.csv".into()),
            uploaded_by: None,
            academic_year: AcademicYear::pending(today()),
            school_urn: None,
            year_groups: vec![],
            row_count: Some(rows.len() as u64),
            counts: None,
            file_error: None,
            rows_with_errors: 0,
            errors: vec![],
            today: today(),
            created_at: now,
            updated_at: now,
            processed_at: None,
            progress: None,
            pds_match: None,
            nhs_numbers_updated: Vec::new(),
            object_version: None,
            failure_reason: None,
        };
        imports::create(self.store(), &import).await.expect("create");
        let staged: Vec<StagedRow> = rows.iter().cloned().map(|row| StagedRow::new(import.id, row)).collect();
        vaccinations::stage_rows(self.store(), &staged).await.expect("stage");
        import
    }

    async fn reload(&self, import: &Import) -> Import {
        imports::get(self.store(), import.id).await.expect("read").expect("import").value
    }

    async fn patients_of(&self, import: &Import) -> Vec<Patient> {
        let mut found = Vec::new();
        for id in patients::of_import(self.store(), import.id).await.expect("links") {
            found.push(self.patient(id).await);
        }
        found
    }

    async fn patient(&self, id: Uuid) -> Patient {
        patients::get(self.store(), id).await.expect("read").expect("patient").value
    }

    async fn records_of(&self, import: &Import) -> Vec<VaccinationRecord> {
        let mut found = Vec::new();
        for link in vaccinations::of_import(self.store(), import.id).await.expect("links") {
            found.push(vaccinations::get(self.store(), link.record_id).await.expect("read").expect("record").value);
        }
        found
    }

    async fn save_patient(&self, patient: &Patient) {
        self.store().transact(vec![patients::put_patient_op(patient, None)]).await.expect("save patient");
    }
}

fn details(date: (i32, u32, u32)) -> VaccinationDetails {
    let performed_at = chrono_tz::Europe::London
        .with_ymd_and_hms(date.0, date.1, date.2, 0, 0, 0)
        .single()
        .expect("time")
        .with_timezone(&Utc);
    VaccinationDetails {
        programme: Programme::Hpv,
        vaccine: Some("gardasil_9".into()),
        disease_types: vec!["human_papillomavirus".into()],
        outcome: VaccinationOutcome::Administered,
        performed_at,
        time_given: false,
        batch_number: Some("123013325".into()),
        batch_expiry: NaiveDate::from_ymd_opt(2022, 7, 30),
        delivery_site: Some(DeliverySite::LeftThigh),
        delivery_method: Some(DeliveryMethod::Intramuscular),
        dose_sequence: Some(1),
        full_dose: true,
        performer: Performer::default(),
        supplier_email: None,
        performed_ods_code: Some("R1L".into()),
        notes: None,
        session_id: None,
        location: None,
        location_name: Some("Kirkstall Valley Primary".into()),
        source: RecordSource::HistoricalUpload,
        notify_parents: None,
        protocol: Some(Protocol::Pgd),
        local_patient_id: None,
        local_patient_id_uri: None,
    }
}

fn row(index: u64, given: &str, dob: &str, postcode: &str, nhs: Option<&str>) -> VaccinationRow {
    VaccinationRow {
        index,
        row_number: index + 2,
        child: VaccinatedChild {
            attributes: ChildAttributes {
                given_name: Some(given.into()),
                family_name: Some("Pickle".into()),
                date_of_birth: NaiveDate::parse_from_str(dob, "%Y-%m-%d").ok(),
                address_postcode: Some(postcode.into()),
                nhs_number: nhs.map(Into::into),
                gender: Some(Gender::NotSpecified),
                ..ChildAttributes::default()
            },
            gender: Gender::NotSpecified,
            school_urn: Some("110158".into()),
            home_educated: false,
        },
        details: details((2024, 5, 14)),
        uuid: None,
        ignored: false,
    }
}

fn existing_chyna(nhs: Option<&str>) -> Patient {
    let now = crate::clock::test_instant();
    Patient::new(
        Uuid::new_v4(),
        ChildAttributes {
            given_name: Some("chyna".into()),
            family_name: Some("PICKLE".into()),
            date_of_birth: NaiveDate::from_ymd_opt(2010, 9, 12),
            address_postcode: Some("LE3 2DA".into()),
            nhs_number: nhs.map(Into::into),
            gender: Some(Gender::NotSpecified),
            ..ChildAttributes::default()
        },
        SchoolPlacement::School { urn: "123456".into() },
        now,
    )
}

fn counts(new: u64, changed: u64, exact_duplicate: u64, ignored: u64) -> Option<ImportCounts> {
    Some(ImportCounts { new, changed, exact_duplicate, ignored })
}

#[tokio::test]
async fn when_rows_are_new_children_should_create_archived_patients_without_school() {
    let s = setup();
    let rows =
        [row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008")), row(1, "Renie", "2010-09-13", "LE1 2DA", None)];

    let import = s.import(&rows).await;

    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    assert_eq!(import.counts, counts(2, 0, 0, 0));
    assert!(import.processed_at.is_some());
    let patients = s.patients_of(&import).await;
    assert_eq!(patients.len(), 2);
    for patient in &patients {
        assert_eq!(patient.school, SchoolPlacement::Unknown);
        assert_eq!(json!(patient.archived_in), json!({ "r1l": "immunisation_import" }));
        assert_eq!(patient.attributes.birth_academic_year, Some(AcademicYear(2010)));
        let records = vaccinations::of_patient(s.store(), patient.id).await.expect("records");
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].team_id, "r1l");
    }
    assert_eq!(s.records_of(&import).await.len(), 2);
}

#[tokio::test]
async fn when_a_child_repeats_with_or_without_nhs_number_should_create_one_patient() {
    let s = setup();
    let mut second = row(1, "CHYNA", "2010-09-12", "LE3 2DA", None);
    second.details = details((2023, 4, 10));
    let mut third = row(2, "Chyna", "2012-09-12", "LE3 2DA", Some("7420180008"));
    third.details = details((2022, 1, 26));
    let rows = [row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008")), second, third];

    let import = s.import(&rows).await;

    assert_eq!(import.counts, counts(3, 0, 0, 0), "{:?}", import.errors);
    let patients = s.patients_of(&import).await;
    assert_eq!(patients.len(), 1);
    assert_eq!(patients[0].attributes.date_of_birth, NaiveDate::from_ymd_opt(2010, 9, 12), "built from the first row");
    assert_eq!(vaccinations::of_patient(s.store(), patients[0].id).await.expect("records").len(), 3);
}

#[tokio::test]
async fn when_child_exists_should_link_the_record_and_leave_demographics_alone() {
    // valid_hpv_with_changes.csv (fixture-outcomes §4.5): matched on NHS number, new details ignored.
    let s = setup();
    let chyna = existing_chyna(Some("7420180008"));
    s.save_patient(&chyna).await;
    let mut changed = row(0, "Chyna", "2011-09-13", "LE3 2DB", Some("7420180008"));
    changed.child.attributes.gender = Some(Gender::Female);

    let import = s.import(&[changed]).await;

    assert_eq!(import.counts, counts(1, 0, 0, 0), "{:?}", import.errors);
    let after = s.patient(chyna.id).await;
    assert_eq!(after.attributes, chyna.attributes);
    assert!(after.pending_changes.is_empty());
    assert_eq!(after.school, chyna.school);
    assert_eq!(json!(after.archived_in), json!({ "r1l": "immunisation_import" }));
    let records = vaccinations::of_patient(s.store(), chyna.id).await.expect("records");
    assert_eq!(records.len(), 1);
}

#[tokio::test]
async fn when_child_is_already_in_the_team_should_not_archive_them() {
    let s = setup();
    let mut oliver = existing_chyna(Some("8160442742"));
    oliver.team_ids = vec!["r1l".into()];
    s.save_patient(&oliver).await;

    s.import(&[row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("8160442742"))]).await;

    let after = s.patient(oliver.id).await;
    assert!(after.archived_in.is_empty());
    assert_eq!(after, oliver, "the patient item is not rewritten");
}

#[tokio::test]
async fn when_existing_child_has_no_nhs_number_should_match_on_all_four_and_keep_it_empty() {
    // valid_flu.csv with an existing Chyna stored as "chyna" / "PICKLE" (§4.1).
    let s = setup();
    let chyna = existing_chyna(None);
    s.save_patient(&chyna).await;

    let import = s.import(&[row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008"))]).await;

    assert_eq!(s.patients_of(&import).await.len(), 1);
    assert_eq!(s.patient(chyna.id).await.attributes.nhs_number, None);
}

#[tokio::test]
async fn when_file_is_uploaded_again_should_count_exact_duplicates() {
    let s = setup();
    let rows =
        [row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008")), row(1, "Renie", "2010-09-13", "LE1 2DA", None)];
    let first = s.import(&rows).await;

    let again = s.import(&rows).await;

    assert_eq!(again.counts, counts(0, 0, 2, 0), "{:?}", again.errors);
    let patients = s.patients_of(&again).await;
    assert_eq!(patients.len(), 2);
    let mut first_ids: Vec<Uuid> = s.patients_of(&first).await.iter().map(|p| p.id).collect();
    let mut again_ids: Vec<Uuid> = patients.iter().map(|p| p.id).collect();
    first_ids.sort();
    again_ids.sort();
    assert_eq!(first_ids, again_ids);
    for patient in patients {
        assert_eq!(vaccinations::of_patient(s.store(), patient.id).await.expect("records").len(), 1);
    }
}

#[tokio::test]
async fn when_a_matched_record_has_another_batch_should_stage_it_for_review() {
    let s = setup();
    let first = row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008"));
    s.import(std::slice::from_ref(&first)).await;
    let mut changed = first.clone();
    changed.details.batch_number = Some("ABC123".into());

    let import = s.import(&[changed]).await;

    assert_eq!(import.counts, counts(0, 1, 0, 0));
    let record = &s.records_of(&import).await[0];
    assert_eq!(json!(record.pending_changes), json!({ "batch_number": "ABC123" }));
    assert_eq!(record.details.batch_number.as_deref(), Some("123013325"));
}

#[tokio::test]
async fn when_national_reporting_row_differs_in_batch_should_create_another_record() {
    let mut s = setup();
    s.team = s.pipeline.reference.team("ryg").expect("ryg").clone();
    let first = row(0, "Harry", "2001-01-01", "AA11 1AA", Some("9449308357"));
    s.import(std::slice::from_ref(&first)).await;
    let mut other_batch = first.clone();
    other_batch.details.batch_number = Some("ABC123".into());

    let same = s.import(std::slice::from_ref(&first)).await;
    let other = s.import(&[other_batch]).await;

    assert_eq!(same.counts, counts(0, 0, 1, 0));
    assert_eq!(other.counts, counts(1, 0, 0, 0));
}

#[tokio::test]
async fn when_rows_are_not_vaccinated_national_reporting_rows_should_count_them_as_ignored() {
    let s = setup();
    let mut hermione = row(1, "Hermione", "2001-01-03", "S2 1AA", Some("9990000018"));
    hermione.ignored = true;

    let import = s.import(&[row(0, "Ron", "2001-01-02", "S1 1AA", Some("9999075320")), hermione]).await;

    assert_eq!(import.counts, counts(1, 0, 0, 1));
    assert_eq!(s.patients_of(&import).await.len(), 1);
}

#[tokio::test]
async fn when_two_rows_are_the_same_vaccination_of_one_child_should_be_invalid() {
    let s = setup();
    let rows = [
        row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008")),
        row(1, "Chyna", "2010-09-12", "LE3 2DA", None),
        row(2, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008")),
    ];

    let import = s.import(&rows).await;

    assert_eq!(import.status, ImportStatus::RowsAreInvalid);
    assert_eq!(import.rows_with_errors, 3);
    let messages: Vec<(u64, &str)> = import.errors.iter().map(|e| (e.row, e.message.as_str())).collect();
    assert_eq!(
        messages,
        [
            (2, "The record on this row appears to be a duplicate of rows 3 and 4."),
            (3, "The record on this row appears to be a duplicate of rows 2 and 4."),
            (4, "The record on this row appears to be a duplicate of rows 2 and 3."),
        ]
    );
    assert!(s.patients_of(&import).await.is_empty());
}

#[tokio::test]
async fn when_two_patients_match_should_be_invalid_and_write_nothing() {
    let s = setup();
    s.save_patient(&existing_chyna(None)).await;
    s.save_patient(&existing_chyna(None)).await;

    let import = s
        .import(&[row(0, "Renie", "2010-09-13", "LE1 2DA", None), row(1, "Chyna", "2010-09-12", "LE3 2DA", None)])
        .await;

    assert_eq!(import.status, ImportStatus::RowsAreInvalid);
    assert_eq!(import.errors, [RowError { row: 3, column: None, message: AMBIGUOUS_MATCH.into() }]);
    assert!(s.patients_of(&import).await.is_empty());
    assert!(s.records_of(&import).await.is_empty());
}

#[tokio::test]
async fn when_uuid_is_not_a_record_of_the_team_should_ask_for_an_existing_record() {
    let s = setup();
    let first = s.import(&[row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008"))]).await;
    let ours = s.records_of(&first).await[0].clone();
    let mut theirs = ours.clone();
    theirs.id = Uuid::new_v4();
    theirs.team_id = "rxb".into();
    s.store().transact(vaccinations::create_ops(&theirs)).await.expect("other team's record");

    let mut unknown = row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008"));
    unknown.uuid = Some(Uuid::new_v4());
    let mut other_team = unknown.clone();
    other_team.index = 1;
    other_team.row_number = 3;
    other_team.uuid = Some(theirs.id);
    let import = s.import(&[unknown, other_team]).await;

    assert_eq!(import.status, ImportStatus::RowsAreInvalid);
    let expected = |row| RowError { row, column: Some("UUID".into()), message: UNKNOWN_RECORD.into() };
    assert_eq!(import.errors, [expected(2), expected(3)]);
}

#[tokio::test]
async fn when_uuid_names_a_team_record_should_stage_the_differences() {
    let s = setup();
    let first = s.import(&[row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008"))]).await;
    let record = s.records_of(&first).await[0].clone();
    let mut update = row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008"));
    update.uuid = Some(record.id);
    update.details.dose_sequence = Some(2);

    let import = s.import(&[update]).await;

    assert_eq!(import.counts, counts(0, 1, 0, 0), "{:?}", import.errors);
    let after = vaccinations::get(s.store(), record.id).await.expect("read").expect("record").value;
    assert_eq!(json!(after.pending_changes), json!({ "dose_sequence": 2 }));
    assert_eq!(after.details.dose_sequence, Some(1));
}

#[tokio::test]
async fn when_uuid_names_an_api_record_and_a_session_is_given_should_refuse_the_session() {
    let s = setup();
    let first = s.import(&[row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008"))]).await;
    let mut api = s.records_of(&first).await[0].clone();
    api.id = Uuid::new_v4();
    api.team_id = "elsewhere".into();
    api.details.source = RecordSource::NhsImmunisationsApi;
    s.store().transact(vaccinations::create_ops(&api)).await.expect("api record");
    let mut offline = row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008"));
    offline.uuid = Some(api.id);
    offline.details.session_id = Some(1);

    let import = s.import(&[offline]).await;

    assert_eq!(
        import.errors,
        [RowError { row: 2, column: Some("SESSION_ID".into()), message: SESSION_ON_EXTERNAL_RECORD.into() }]
    );
}

#[tokio::test]
async fn when_import_is_resumed_after_a_partial_apply_should_not_apply_any_row_twice() {
    let s = setup();
    let rows = [
        row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008")),
        row(1, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008")),
        row(2, "Renie", "2010-09-13", "LE1 2DA", None),
    ];
    let mut distinct = rows.clone();
    distinct[1].details = details((2023, 4, 10));
    let import = s.staged(&distinct).await;
    assert!(matches!(plan_import(&s.pipeline, &import, &s.team).await.expect("plan"), PlanResult::Ready));
    // The second row is applied, then the worker dies.
    let second = vaccinations::get_row(s.store(), import.id, 1).await.expect("read").expect("row");
    let outcome = apply_row(&s.pipeline, &import, &s.team, second).await.expect("apply one");
    assert_eq!(outcome, RowOutcome::New);

    let stored = imports::get(s.store(), import.id).await.expect("read").expect("import");
    commit_staged(&s.pipeline, stored, &s.team).await.expect("resume");

    let import = s.reload(&import).await;
    assert_eq!(import.counts, counts(3, 0, 0, 0));
    let patients = s.patients_of(&import).await;
    assert_eq!(patients.len(), 2);
    let chyna = patients.iter().find(|p| p.attributes.given_name.as_deref() == Some("Chyna")).expect("Chyna");
    assert_eq!(chyna.attributes.date_of_birth, NaiveDate::from_ymd_opt(2010, 9, 12));
    assert_eq!(vaccinations::of_patient(s.store(), chyna.id).await.expect("records").len(), 2);
    assert_eq!(s.records_of(&import).await.len(), 3);
}

#[tokio::test]
async fn when_the_shared_child_is_applied_from_a_later_row_first_should_build_them_from_the_first_row() {
    let s = setup();
    let mut later = row(1, "Chyna", "2012-09-12", "LE3 2DA", Some("7420180008"));
    later.details = details((2023, 4, 10));
    let import = s.staged(&[row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008")), later]).await;
    plan_import(&s.pipeline, &import, &s.team).await.expect("plan");
    let second = vaccinations::get_row(s.store(), import.id, 1).await.expect("read").expect("row");

    apply_row(&s.pipeline, &import, &s.team, second).await.expect("apply");

    let patient_id = new_patient_id(import.id, 0);
    assert_eq!(s.patient(patient_id).await.attributes.date_of_birth, NaiveDate::from_ymd_opt(2010, 9, 12));
}

#[tokio::test]
async fn when_another_import_created_the_child_since_the_plan_should_use_that_patient() {
    let s = setup();
    let rows = [row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008"))];
    let import = s.staged(&rows).await;
    plan_import(&s.pipeline, &import, &s.team).await.expect("plan");
    // Meanwhile another import creates Chyna with her NHS number.
    let other = s.import(&rows).await;
    let holder = s.patients_of(&other).await[0].id;

    let stored = imports::get(s.store(), import.id).await.expect("read").expect("import");
    commit_staged(&s.pipeline, stored, &s.team).await.expect("commit");

    let import = s.reload(&import).await;
    assert_eq!(import.status, ImportStatus::Processed);
    assert_eq!(s.patients_of(&import).await.iter().map(|p| p.id).collect::<Vec<_>>(), [holder]);
}

#[test]
fn when_several_other_rows_should_list_them_with_and() {
    assert_eq!(describe_rows(&[5]), "row 5");
    assert_eq!(describe_rows(&[2, 4, 5, 6, 7]), "rows 2, 4, 5, 6 and 7");
}

#[tokio::test]
async fn when_row_was_recorded_offline_should_put_the_child_in_the_session_and_the_team() {
    // Demo session 1: Leeds SAIS Team at school 123456, academic year 2025.
    let s = setup();
    let mut offline = row(0, "Chyna", "2010-09-12", "LE3 2DA", Some("7420180008"));
    offline.details.session_id = Some(1);
    offline.details.source = RecordSource::Service;
    let existing = existing_chyna(Some("9990000018"));
    s.save_patient(&existing).await;
    let mut for_existing = row(1, "Chyna", "2010-09-12", "LE3 2DA", Some("9990000018"));
    for_existing.details.session_id = Some(1);

    let import = s.import(&[offline, for_existing]).await;

    assert_eq!(import.counts, counts(2, 0, 0, 0), "{:?}", import.errors);
    for patient in s.patients_of(&import).await {
        assert_eq!(patient.team_ids, ["r1l"]);
        assert!(patient.archived_in.is_empty());
        let locations = patients::locations_of(s.store(), patient.id).await.expect("locations");
        assert_eq!(
            locations.iter().map(|l| (l.location.as_str(), l.academic_year)).collect::<Vec<_>>(),
            [("123456", 2025)]
        );
    }
    assert_eq!(s.patient(existing.id).await.attributes, existing.attributes);
}

//! The vaccination-record fixture scenarios (shared/spec/fixture-outcomes.md §4, §5 and §6.1), each on a fresh
//! harness made by `make`, so that the same assertions hold on the embedded adapters and on the emulators.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::json;
use shared::domain::patient::{ChildAttributes, Gender, Patient, SchoolPlacement};
use shared::domain::vaccination::{DeliveryMethod, DeliverySite, RecordSource, VaccinationOutcome, VaccinationRecord};
use shared::domain::{AcademicYear, Import, ImportCounts, ImportKind, ImportStatus, Programme, RowError};
use shared::pipeline::Handled;
use shared::pipeline::upload::UNRECOGNISED_DROP;
use shared::store::{imports, patients, vaccinations};
use uuid::Uuid;

use crate::harness::{Harness, UploadRequest};

const POC: &str = "immunisation_import/point_of_care";
const NR: &str = "immunisation_import/national_reporting";

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

/// Clock 2025-08-01: academic year 2024, as the vaccination model specs use.
pub fn clock_2025_08_01() -> NaiveDate {
    date(2025, 8, 1)
}

fn counts(new: u64, changed: u64, exact_duplicate: u64, ignored: u64) -> Option<ImportCounts> {
    Some(ImportCounts { new, changed, exact_duplicate, ignored })
}

fn at(row: u64, column: &str, message: &str) -> RowError {
    RowError { row, column: Some(column.into()), message: message.into() }
}

fn base(row: u64, message: &str) -> RowError {
    RowError { row, column: None, message: message.into() }
}

/// The fixtures pin the uploading team's programmes (fixture-outcomes §4): narrow the seed's superset.
pub fn with_programmes(h: &mut Harness, team_id: &str, programmes: &[Programme]) {
    let mut reference = (*h.pipeline.reference).clone();
    reference.teams.iter_mut().find(|t| t.id == team_id).expect("team in seed").programmes = programmes.to_vec();
    h.pipeline.reference = Arc::new(reference);
}

/// Uploads a vaccination file as the API and the browser would: the import is created (kind chosen in the wizard),
/// the file lands at `uploads/{team}/{import}/{file}`, and the ObjectCreated event is handled.
pub async fn upload(h: &Harness, team_id: &str, uploaded_by: &str, fixture: &str) -> Import {
    upload_bytes(h, team_id, uploaded_by, fixture, crate::fixture(fixture)).await
}

pub async fn upload_bytes(h: &Harness, team_id: &str, uploaded_by: &str, name: &str, body: Vec<u8>) -> Import {
    let request = UploadRequest {
        team_id,
        uploaded_by,
        kind: ImportKind::VaccinationRecords,
        school_urn: None,
        year_groups: &[],
    };
    h.upload(request, name, body).await
}

/// A point-of-care upload by Leeds SAIS Team's nurse.
async fn upload_r1l(h: &Harness, fixture: &str) -> Import {
    upload(h, "r1l", "nurse@example.com", &format!("{POC}/{fixture}")).await
}

/// The records the import's rows created or matched, by spreadsheet row number.
pub async fn records_by_row(h: &Harness, import: &Import) -> BTreeMap<u64, VaccinationRecord> {
    let mut found = BTreeMap::new();
    for link in vaccinations::of_import(h.records(), import.id).await.expect("import records") {
        let record =
            vaccinations::get(h.records(), link.record_id).await.expect("read record").expect("record exists").value;
        found.insert(link.row, record);
    }
    found
}

fn assert_processed(import: &Import) {
    assert_eq!(import.status, ImportStatus::Processed, "{:?} {:?}", import.file_error, import.errors);
    assert!(import.processed_at.is_some());
}

/// Every new patient: no school, archived in the uploading team with reason `immunisation_import`.
fn assert_new_patient_shape(patient: &Patient, team_id: &str) {
    assert_eq!(patient.school, SchoolPlacement::Unknown, "{}", patient.id);
    assert_eq!(patient.archived_in.get(team_id).map(String::as_str), Some("immunisation_import"));
    assert!(patient.pending_changes.is_empty());
}

async fn assert_no_locations(h: &Harness, patients: &[Patient]) {
    for patient in patients {
        assert!(patients::locations_of(h.records(), patient.id).await.expect("locations").is_empty());
    }
}

fn school_name(h: &Harness, urn: &str) -> String {
    h.pipeline.reference.school(urn).expect("school in seed").name.clone()
}

/// §4.1: 11 flu records, 11 new patients; processing again changes nothing; a second upload is 11 exact duplicates.
pub async fn valid_flu(mut h: Harness) {
    with_programmes(&mut h, "r1l", &[Programme::Flu]);
    let import = upload_r1l(&h, "valid_flu.csv").await;
    assert_processed(&import);
    assert_eq!(import.row_count, Some(11));
    assert_eq!(import.counts, counts(11, 0, 0, 0));

    let patients = h.patients_of(&import).await;
    assert_eq!(patients.len(), 11);
    for patient in &patients {
        assert_new_patient_shape(patient, "r1l");
    }
    assert_no_locations(&h, &patients).await;
    let chyna = h.patient_named(&import, "Chyna", "Pickle").await;
    assert_eq!(chyna.attributes.gender, Some(Gender::NotSpecified));
    assert_eq!(chyna.attributes.nhs_number.as_deref(), Some("7420180008"));
    assert_eq!(chyna.attributes.address_postcode.as_deref(), Some("LE3 2DA"));
    assert_eq!(chyna.attributes.date_of_birth, Some(date(2012, 9, 12)));
    assert_eq!(chyna.attributes.birth_academic_year, Some(AcademicYear(2012)));

    let records = records_by_row(&h, &import).await;
    assert_eq!(records.keys().copied().collect::<Vec<_>>(), (2..=12).collect::<Vec<_>>());
    let patient_ids: Vec<Uuid> = patients.iter().map(|p| p.id).collect();
    let holy_trinity = school_name(&h, "120026");
    let roundhay = school_name(&h, "144012");
    for (row, record) in &records {
        assert!(patient_ids.contains(&record.patient_id), "row {row}");
        assert_eq!(record.team_id, "r1l");
        let d = &record.details;
        assert_eq!(d.programme, Programme::Flu, "row {row}");
        assert_eq!(d.disease_types, ["influenza"], "row {row}");
        assert_eq!(d.dose_sequence, Some(1), "row {row}");
        assert_eq!(d.performed_on(), date(2025, 5, 14), "row {row}");
        assert!(!d.time_given);
        assert_eq!(d.performer.given_name.as_deref(), Some("Vaccinator1"));
        assert_eq!(d.performer.family_name.as_deref(), Some("Name1"));
        assert_eq!(d.performer.user_email, None);
        assert_eq!(d.performed_ods_code.as_deref(), Some("R1L"));
        assert_eq!(d.source, RecordSource::HistoricalUpload);
        assert!(d.full_dose);
        assert_eq!(d.session_id, None);
        assert_eq!(d.location, None);
        let expected_outcome = match row {
            2..=8 => VaccinationOutcome::Administered,
            10 => VaccinationOutcome::Contraindicated,
            _ => VaccinationOutcome::Unwell,
        };
        assert_eq!(d.outcome, expected_outcome, "row {row}");
        let expected_location = match row {
            2..=9 => holy_trinity.clone(),
            10 => roundhay.clone(),
            11 => "Home Schooled".into(),
            _ => "Unknown School".into(),
        };
        assert_eq!(d.location_name.as_deref(), Some(expected_location.as_str()), "row {row}");
        if *row >= 9 {
            assert_eq!((d.batch_number.as_deref(), d.batch_expiry, d.delivery_site), (None, None, None));
        }
    }
    assert_eq!(records[&2].details.vaccine, None);
    assert_eq!(records[&7].details.vaccine, None);
    assert_eq!(records[&4].details.vaccine.as_deref(), Some("vaxigrip"));
    assert_eq!(records[&5].details.delivery_site, Some(DeliverySite::Nose));
    assert_eq!(records[&5].details.delivery_method, Some(DeliveryMethod::NasalSpray));
    assert_eq!(records[&6].details.delivery_site, Some(DeliverySite::LeftArmUpperPosition));
    assert_eq!(records[&6].details.delivery_method, Some(DeliveryMethod::Intramuscular));

    // Processing the same import again changes nothing.
    let stored = imports::get(h.records(), import.id).await.expect("read").expect("import");
    let status = h.pipeline.process(stored).await.expect("process again");
    assert_eq!(status, ImportStatus::Processed);
    assert_eq!(h.import(import.id).await.counts, import.counts);

    let again = upload_r1l(&h, "valid_flu.csv").await;
    assert_processed(&again);
    assert_eq!(again.counts, counts(0, 0, 11, 0));
    let mut first: Vec<Uuid> = patient_ids.clone();
    let mut second: Vec<Uuid> = h.patients_of(&again).await.iter().map(|p| p.id).collect();
    first.sort();
    second.sort();
    assert_eq!(first, second, "no new patient");
    for patient in &patient_ids {
        assert_eq!(vaccinations::of_patient(h.records(), *patient).await.expect("records").len(), 1);
    }
}

fn chyna(nhs: Option<&str>, given: &str, family: &str, dob: NaiveDate) -> Patient {
    let now = crate::support::long_ago();
    Patient::new(
        Uuid::new_v4(),
        ChildAttributes {
            given_name: Some(given.into()),
            family_name: Some(family.into()),
            date_of_birth: Some(dob),
            birth_academic_year: Some(AcademicYear::of_birth(dob)),
            gender: Some(Gender::NotSpecified),
            nhs_number: nhs.map(Into::into),
            address_postcode: Some("LE3 2DA".into()),
            ..ChildAttributes::default()
        },
        SchoolPlacement::Unknown,
        now,
    )
}

/// §4.1: an existing Chyna without NHS number, stored as "chyna" / "PICKLE", is matched on all four fields; 10
/// patients are created and her NHS number stays empty.
pub async fn valid_flu_with_existing_child(mut h: Harness) {
    with_programmes(&mut h, "r1l", &[Programme::Flu]);
    let existing = chyna(None, "chyna", "PICKLE", date(2012, 9, 12));
    h.existing_patient(&existing).await;

    let import = upload_r1l(&h, "valid_flu.csv").await;

    assert_processed(&import);
    assert_eq!(import.counts, counts(11, 0, 0, 0));
    let patients = h.patients_of(&import).await;
    assert_eq!(patients.len(), 11);
    assert!(patients.iter().any(|p| p.id == existing.id));
    let after = h.patient(existing.id).await;
    assert_eq!(after.attributes, existing.attributes, "never modified");
    assert_eq!(json!(after.archived_in), json!({ "r1l": "immunisation_import" }));
    let created = patients.iter().filter(|p| p.id != existing.id).count();
    assert_eq!(created, 10);
}

/// §4.2: 11 HPV records for 10 patients (Rosalind twice); Oliver, already in the team, is matched and left alone.
pub async fn valid_hpv(mut h: Harness) {
    with_programmes(&mut h, "r1l", &[Programme::Hpv]);
    let mut oliver = chyna(Some("8160442742"), "Oliver", "Bowers", date(2010, 9, 17));
    oliver.attributes.gender = Some(Gender::Male);
    oliver.attributes.address_postcode = Some("LE5 2RP".into());
    oliver.school = SchoolPlacement::School { urn: "123456".into() };
    oliver.team_ids = vec!["r1l".into()];
    h.existing_patient(&oliver).await;

    let import = upload_r1l(&h, "valid_hpv.csv").await;

    assert_processed(&import);
    assert_eq!(import.row_count, Some(11));
    assert_eq!(import.counts, counts(11, 0, 0, 0));
    let patients = h.patients_of(&import).await;
    assert_eq!(patients.len(), 10);
    assert_no_locations(&h, &patients).await;
    assert_eq!(h.patient(oliver.id).await, oliver, "Oliver is unchanged and not archived");
    for patient in patients.iter().filter(|p| p.id != oliver.id) {
        assert_new_patient_shape(patient, "r1l");
    }
    let rosalind = h.patient_named(&import, "Rosalind", "Penn").await;
    assert_eq!(vaccinations::of_patient(h.records(), rosalind.id).await.expect("records").len(), 2);

    let records = records_by_row(&h, &import).await;
    assert_eq!(records.len(), 11);
    let kirkstall = school_name(&h, "110158");
    let sites = [
        Some(DeliverySite::LeftButtock),
        Some(DeliverySite::RightButtock),
        Some(DeliverySite::LeftThigh),
        Some(DeliverySite::Nose),
        None,
        Some(DeliverySite::RightArmUpperPosition),
        Some(DeliverySite::RightThigh),
        None,
        Some(DeliverySite::LeftArmUpperPosition),
        Some(DeliverySite::LeftArmUpperPosition),
        Some(DeliverySite::LeftArmUpperPosition),
    ];
    for (row, site) in (2..=12).zip(sites) {
        let d = &records[&row].details;
        assert_eq!(d.programme, Programme::Hpv, "row {row}");
        assert_eq!(d.outcome, VaccinationOutcome::Administered, "row {row}");
        assert_eq!(d.delivery_site, site, "row {row}");
        let method = match site {
            Some(DeliverySite::Nose) => Some(DeliveryMethod::NasalSpray),
            Some(_) => Some(DeliveryMethod::Intramuscular),
            None => None,
        };
        assert_eq!(d.delivery_method, method, "row {row}");
        let ods = if row == 6 || row == 10 { None } else { Some("R1L") };
        assert_eq!(d.performed_ods_code.as_deref(), ods, "row {row}");
        let location = if [4, 8, 9].contains(&row) { "Eton College".to_string() } else { kirkstall.clone() };
        assert_eq!(d.location_name.as_deref(), Some(location.as_str()), "row {row}");
    }
    assert_eq!(records[&8].details.dose_sequence, Some(2));
    assert_eq!(records[&2].details.vaccine.as_deref(), Some("cervarix"));
    assert_eq!(records[&4].details.vaccine.as_deref(), Some("gardasil_9"));
    assert_eq!(records[&11].details.batch_number, None);
    assert_eq!(records[&11].details.batch_expiry, None);
    assert_eq!(records[&7].patient_id, oliver.id);
}

/// §4.2 A: a second upload of valid_hpv.csv gives 11 exact duplicates and writes no new patient or record.
pub async fn valid_hpv_uploaded_twice(mut h: Harness) {
    with_programmes(&mut h, "r1l", &[Programme::Hpv]);
    let first = upload_r1l(&h, "valid_hpv.csv").await;
    let again = upload_r1l(&h, "valid_hpv.csv").await;

    assert_processed(&again);
    assert_eq!(again.counts, counts(0, 0, 11, 0));
    let first_records = records_by_row(&h, &first).await;
    let again_records = records_by_row(&h, &again).await;
    assert_eq!(first_records, again_records, "the same records, untouched");
    assert_eq!(h.patients_of(&again).await.len(), 10);
}

/// §4.3: MMR, disease types from the vaccine.
pub async fn valid_mmr(mut h: Harness) {
    with_programmes(&mut h, "r1l", &[Programme::Mmr]);
    let import = upload_r1l(&h, "valid_mmr.csv").await;

    assert_processed(&import);
    assert_eq!(import.counts, counts(11, 0, 0, 0));
    assert_eq!(h.patients_of(&import).await.len(), 10);
    let records = records_by_row(&h, &import).await;
    for (row, record) in &records {
        assert_eq!(record.details.programme, Programme::Mmr, "row {row}");
        assert_eq!(record.details.disease_types, ["measles", "mumps", "rubella"]);
    }
    assert_eq!(records[&3].details.dose_sequence, Some(2));
    assert_eq!(records[&2].details.vaccine.as_deref(), Some("vaxpro"));

    let again = upload_r1l(&h, "valid_mmr.csv").await;
    assert_eq!(again.counts, counts(0, 0, 11, 0));
}

/// §4.4: the instruction row is dropped.
pub async fn valid_hpv_with_instruction_row(mut h: Harness) {
    with_programmes(&mut h, "r1l", &[Programme::Hpv]);
    let import = upload_r1l(&h, "valid_hpv_with_instruction_row.csv").await;

    assert_processed(&import);
    let rows = import.row_count.expect("row count");
    assert_eq!(import.counts, counts(rows, 0, 0, 0));
    let records = records_by_row(&h, &import).await;
    assert_eq!(records.keys().next(), Some(&3), "first data row is Row 3");
}

/// §4.5: an existing Chyna with other details; the uploaded demographics are ignored.
pub async fn valid_hpv_with_changes(mut h: Harness) {
    with_programmes(&mut h, "r1l", &[Programme::Hpv]);
    let existing = chyna(Some("7420180008"), "Chyna", "Pickle", date(2011, 9, 12));
    h.existing_patient(&existing).await;

    let import = upload_r1l(&h, "valid_hpv_with_changes.csv").await;

    assert_processed(&import);
    assert_eq!(import.counts, counts(1, 0, 0, 0));
    let patients = h.patients_of(&import).await;
    assert_eq!(patients.iter().map(|p| p.id).collect::<Vec<_>>(), [existing.id]);
    let after = h.patient(existing.id).await;
    assert_eq!(after.attributes, existing.attributes);
    assert!(after.pending_changes.is_empty());
    let records = vaccinations::of_patient(h.records(), existing.id).await.expect("records");
    assert_eq!(records.len(), 1);
}

/// §4.6 and §4.7: the same child twice in one file (`fixture`) is one patient, built from the first row.
pub async fn valid_duplicate_patient(mut h: Harness, fixture: &str) {
    with_programmes(&mut h, "r1l", &[Programme::Flu, Programme::Hpv]);
    let import = upload_r1l(&h, fixture).await;
    assert_processed(&import);
    assert_eq!(import.counts, counts(2, 0, 0, 0), "{fixture}");
    let patients = h.patients_of(&import).await;
    assert_eq!(patients.len(), 1, "{fixture}");
    assert_eq!(patients[0].attributes.date_of_birth, Some(date(2012, 9, 12)));
    let records = vaccinations::of_patient(h.records(), patients[0].id).await.expect("records");
    assert_eq!(records.len(), 2, "{fixture}");
}

/// §4.8: two rows that differ only in batch are the same point-of-care vaccination.
pub async fn duplicate_row(mut h: Harness) {
    with_programmes(&mut h, "r1l", &[Programme::Flu]);
    let import = upload_r1l(&h, "duplicate_row.csv").await;

    assert_eq!(import.status, ImportStatus::RowsAreInvalid);
    assert_eq!(
        import.errors,
        [
            base(2, "The record on this row appears to be a duplicate of row 3."),
            base(3, "The record on this row appears to be a duplicate of row 2."),
        ]
    );
    assert_eq!(import.rows_with_errors, 2);
    assert!(h.patients_of(&import).await.is_empty());
}

const VACCINATED_MESSAGE: &str =
    "You need to record whether the child was vaccinated or not. Enter ‘Y’ or ‘N’ in the ‘VACCINATED’ column.";

/// §4.9 A (flu only, clock 2025-08-01): every message, in order, and nothing written.
pub async fn invalid_rows_for_a_flu_team(mut h: Harness) {
    with_programmes(&mut h, "r1l", &[Programme::Flu]);
    let import = upload_r1l(&h, "invalid_rows.csv").await;

    assert_eq!(import.status, ImportStatus::RowsAreInvalid);
    assert_eq!(
        import.errors,
        [
            at(3, "VACCINATED", VACCINATED_MESSAGE),
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
    assert_eq!(import.rows_with_errors, 2);
    assert!(h.patients_of(&import).await.is_empty());
}

/// §4.9 B (HPV only, clock 2025-05-20).
pub async fn invalid_rows_for_an_hpv_team(mut h: Harness) {
    with_programmes(&mut h, "r1l", &[Programme::Hpv]);
    let import = upload_r1l(&h, "invalid_rows.csv").await;

    assert_eq!(import.status, ImportStatus::RowsAreInvalid);
    assert_eq!(
        import.errors,
        [
            at(3, "VACCINATED", VACCINATED_MESSAGE),
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

/// §4.10, §4.11: whole-file errors.
pub async fn empty_and_malformed_files(h: Harness) {
    let empty = upload_r1l(&h, "empty.csv").await;
    assert_eq!(empty.status, ImportStatus::RowsAreInvalid);
    assert_eq!(empty.file_error.as_deref(), Some("Choose a CSV file with at least one record"));

    let malformed = upload_r1l(&h, "malformed.csv").await;
    assert_eq!(malformed.status, ImportStatus::RowsAreInvalid);
    assert_eq!(malformed.file_error.as_deref(), Some("Choose a CSV file in the correct format"));
    assert!(malformed.errors.is_empty());
}

/// §6.1: Td/IPV ("3-in-1", Revaxis) for a Td/IPV-only team, clock 2025-07-31.
pub async fn td_ipv_vaccination_record(mut h: Harness) {
    with_programmes(&mut h, "r1l", &[Programme::TdIpv]);
    let import = upload(&h, "r1l", "nurse@example.com", "td_ipv/vaccination_records.csv").await;

    assert_processed(&import);
    assert_eq!(import.counts, counts(1, 0, 0, 0));
    let chyna = h.patient_named(&import, "Chyna", "Pickle").await;
    assert_new_patient_shape(&chyna, "r1l");
    assert_eq!(chyna.attributes.nhs_number.as_deref(), Some("7420180008"));
    assert_eq!(chyna.attributes.date_of_birth, Some(date(2010, 9, 12)));
    assert_eq!(chyna.attributes.gender, Some(Gender::NotSpecified));
    assert_eq!(chyna.attributes.address_postcode.as_deref(), Some("LE3 2DA"));

    let records = records_by_row(&h, &import).await;
    let d = &records[&2].details;
    assert_eq!(d.programme, Programme::TdIpv);
    assert_eq!(d.vaccine.as_deref(), Some("revaxis"));
    assert_eq!(d.dose_sequence, Some(1));
    assert_eq!(d.outcome, VaccinationOutcome::Administered);
    assert_eq!(d.performed_on(), date(2012, 5, 14));
    assert_eq!(d.batch_number.as_deref(), Some("123013325"));
    assert_eq!(d.batch_expiry, Some(date(2012, 7, 30)));
    assert_eq!(d.delivery_site, Some(DeliverySite::LeftArmUpperPosition));
    assert_eq!(d.delivery_method, Some(DeliveryMethod::Intramuscular));
    assert_eq!(d.location_name.as_deref(), Some(school_name(&h, "123456").as_str()));
}

/// §5.1: national reporting: 2 imported, 1 "not vaccinated" ignored; a re-upload imports nothing new.
pub async fn national_reporting_mixed_flu_hpv(h: Harness) {
    let mut harry = chyna(Some("9449308357"), "Harry", "Potter", date(2001, 1, 1));
    harry.attributes.address_postcode = Some("AA11 1AA".into());
    harry.team_ids = vec!["ryg".into()];
    h.existing_patient(&harry).await;

    let import = upload(&h, "ryg", "reporter@example.com", &format!("{NR}/valid_mixed_flu_hpv.csv")).await;

    assert_processed(&import);
    assert_eq!(import.row_count, Some(3));
    assert_eq!(import.counts, counts(2, 0, 0, 1));
    assert_eq!(h.patient(harry.id).await, harry, "Harry is matched and unchanged");
    let ron = h.patient_named(&import, "Ron", "Weasley").await;
    assert_new_patient_shape(&ron, "ryg");
    assert_eq!(ron.attributes.gender, Some(Gender::NotKnown));
    assert_eq!(h.patients_of(&import).await.len(), 2, "Hermione is not created");
    let records = records_by_row(&h, &import).await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[&2].patient_id, harry.id);
    assert_eq!(records[&2].details.source, RecordSource::NationalReporting);
    assert_eq!(records[&2].details.local_patient_id.as_deref(), Some("1234"));
    assert_eq!(records[&3].details.programme, Programme::Hpv);

    let again = upload(&h, "ryg", "reporter@example.com", &format!("{NR}/valid_mixed_flu_hpv.csv")).await;
    assert_eq!(again.counts, counts(0, 0, 2, 1));
    assert_eq!(vaccinations::of_patient(h.records(), harry.id).await.expect("records").len(), 1);
}

/// §5.3: two identical national-reporting rows.
pub async fn national_reporting_duplicate_row(h: Harness) {
    let import = upload(&h, "ryg", "reporter@example.com", &format!("{NR}/duplicate_row.csv")).await;

    assert_eq!(import.status, ImportStatus::RowsAreInvalid);
    assert_eq!(
        import.errors,
        [
            base(2, "The record on this row appears to be a duplicate of row 3."),
            base(3, "The record on this row appears to be a duplicate of row 2."),
        ]
    );
}

/// A CHIS drop has no wizard: a vaccination file is recognised from its header row; a file whose headers fit
/// neither kind is invalid with a message saying so.
pub async fn chis_drop_is_detected_from_its_headers(mut h: Harness) {
    with_programmes(&mut h, "r1l", &[Programme::Hpv]);
    let import = h.import_fixture("R1L", &format!("{POC}/valid_hpv.csv")).await;
    assert_eq!(import.kind, ImportKind::VaccinationRecords);
    assert_processed(&import);
    assert_eq!(import.counts, counts(11, 0, 0, 0));
    assert_eq!(import.uploaded_by, None);
    assert_eq!(h.patients_of(&import).await.len(), 10);

    let handled =
        h.drop_file("R1L", "mystery.csv", b"name,dob,address\nA,2010-01-01,here\n".to_vec()).await.expect("pipeline");
    let Handled::Processed { import_id, status } = handled else { panic!("{handled:?}") };
    assert_eq!(status, ImportStatus::RowsAreInvalid);
    let mystery = h.import(import_id).await;
    assert_eq!(mystery.file_error.as_deref(), Some(UNRECOGNISED_DROP));
    assert!(h.patients_of(&mystery).await.is_empty());

    let cohort = h.import_fixture("R1L", "cohort_import/valid_minimal.csv").await;
    assert_eq!(cohort.kind, ImportKind::ChildRecords);
}

/// §3.2: a SystmOne export, dropped by a CHIS provider, is recognised from its headers and imported with the
/// programme, vaccine and dose split out of `Vaccination type`, and the school found by its SystmOne code.
pub async fn systm_one_export_is_imported(h: Harness) {
    let header = "Date of birth,NHS number,Vaccination area code,Vaccination batch number,Vaccination reason,\
                  Vaccination type,First name,Postcode,Sex,Surname,Event date,Event location type,Event time,Team ID,\
                  School,School code,Patient Count";
    let file = format!(
        "{header}\n\
         20100912,7420180008,AREA1,AB123,Routine,HPV 1P,Chyna,LE3 2DA,Female,Pickle,20250115,School,10:30,T1,Kirkstall,TT110158,1\n\
         20100913,,AREA1,AB124,Routine,Cervarix 2,Renie,LE1 2DA,Unknown,Parrish,20240110,School,,T1,Kirkstall,TT110158,1\n\
         20100915,2675725722,AREA1,AB126,Routine,Measles/Mumps/Rubella 1B,Berry,LE8 2DA,Female,Hamilton,20240110,Community clinic,,T1,,,1\n"
    );
    let handled = h.drop_file("R1L", "systmone-export.csv", file.into_bytes()).await.expect("pipeline");
    let Handled::Processed { import_id, status } = handled else { panic!("{handled:?}") };
    let import = h.import(import_id).await;
    assert_eq!(status, ImportStatus::Processed, "{:?} {:?}", import.file_error, import.errors);
    assert_eq!(import.kind, ImportKind::VaccinationRecords);
    assert_eq!(import.counts, counts(3, 0, 0, 0));
    let records = records_by_row(&h, &import).await;
    let resolved: Vec<_> = records
        .values()
        .map(|r| (r.details.programme, r.details.vaccine.as_deref(), r.details.dose_sequence))
        .collect();
    assert_eq!(
        resolved,
        [(Programme::Hpv, None, Some(1)), (Programme::Hpv, Some("cervarix"), Some(2)), (Programme::Mmr, None, Some(2))]
    );
    // A historical record names the school it was given at (found by its SystmOne code TT110158).
    assert_eq!(records[&2].details.location_name.as_deref(), Some("Kirkstall Valley Primary"));
}

/// Runs every scenario, each on a fresh harness.
pub async fn all<F, Fut>(make: F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    valid_flu(make(clock_2025_08_01()).await).await;
    valid_flu_with_existing_child(make(clock_2025_08_01()).await).await;
    valid_hpv(make(date(2025, 5, 20)).await).await;
    valid_hpv_uploaded_twice(make(clock_2025_08_01()).await).await;
    valid_mmr(make(clock_2025_08_01()).await).await;
    valid_hpv_with_instruction_row(make(clock_2025_08_01()).await).await;
    valid_hpv_with_changes(make(clock_2025_08_01()).await).await;
    valid_duplicate_patient(make(clock_2025_08_01()).await, "valid_duplicate_patient.csv").await;
    valid_duplicate_patient(make(clock_2025_08_01()).await, "valid_duplicate_patient_no_nhs_number.csv").await;
    duplicate_row(make(clock_2025_08_01()).await).await;
    invalid_rows_for_a_flu_team(make(clock_2025_08_01()).await).await;
    invalid_rows_for_an_hpv_team(make(date(2025, 5, 20)).await).await;
    empty_and_malformed_files(make(clock_2025_08_01()).await).await;
    td_ipv_vaccination_record(make(date(2025, 7, 31)).await).await;
    national_reporting_mixed_flu_hpv(make(date(2025, 12, 20)).await).await;
    national_reporting_duplicate_row(make(date(2025, 12, 1)).await).await;
    chis_drop_is_detected_from_its_headers(make(clock_2025_08_01()).await).await;
    systm_one_export_is_imported(make(date(2025, 5, 20)).await).await;
}

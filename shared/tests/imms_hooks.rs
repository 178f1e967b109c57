//! The sync hooks the PDS refresh calls (issue #6 item 5, nhs-apis.md §6.1): a record marked "needs sync" when its
//! child's NHS number is superseded or invalidated, nothing when PDS only confirms the record. Real PDS emulator
//! answers over HTTP go into `apply_get_result`, on the embedded record store.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use pds_emulator::{Config, test_keys};
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::domain::Programme;
use shared::domain::patient::{ChildAttributes, Patient, SchoolPlacement};
use shared::domain::vaccination::{Performer, RecordSource, VaccinationDetails, VaccinationOutcome, VaccinationRecord};
use shared::nhs_api::{ApiPlatformAuth, AuthConfig, PdsClient};
use shared::pds_refresh::apply_get_result;
use shared::ports::RecordStore;
use shared::store::{imms, patients, vaccinations};
use uuid::Uuid;

const SUPERSEDED: &str = "9452372230";
const INVALIDATED: &str = "9990003343";
const RESTRICTED: &str = "9000000025";

async fn pds() -> (pds_emulator::RunningEmulator, PdsClient) {
    let emulator = pds_emulator::spawn(Config::builtin().expect("config")).await.expect("emulator");
    let http = reqwest::Client::new();
    let auth = ApiPlatformAuth::signed(
        AuthConfig {
            token_url: emulator.token_url.clone(),
            api_key: test_keys::TEST_API_KEY.into(),
            private_key_pem: test_keys::TEST_PRIVATE_KEY_PEM.into(),
            kid: test_keys::TEST_KID.into(),
        },
        http.clone(),
    )
    .expect("key");
    let client = PdsClient::new(&emulator.pds_base_url, auth, http);
    (emulator, client)
}

/// A child with `nhs` and one vaccination recorded by the team, already in sync (no marker).
async fn child_with_record(store: &dyn RecordStore, nhs: &str) -> (Uuid, Uuid) {
    let now = recorded_at();
    let patient = Patient {
        team_ids: vec!["r1l".into()],
        ..Patient::new(
            Uuid::new_v4(),
            ChildAttributes {
                given_name: Some("Test".into()),
                family_name: Some("Child".into()),
                date_of_birth: NaiveDate::from_ymd_opt(2010, 10, 22),
                nhs_number: Some(nhs.into()),
                ..ChildAttributes::default()
            },
            SchoolPlacement::Unknown,
            now,
        )
    };
    let record = VaccinationRecord {
        id: Uuid::new_v4(),
        patient_id: patient.id,
        team_id: "r1l".into(),
        details: VaccinationDetails {
            programme: Programme::Hpv,
            vaccine: Some("gardasil_9".into()),
            disease_types: vec!["human_papillomavirus".into()],
            outcome: VaccinationOutcome::Administered,
            performed_at: now,
            time_given: true,
            batch_number: Some("AB1".into()),
            batch_expiry: None,
            delivery_site: None,
            delivery_method: None,
            dose_sequence: Some(1),
            full_dose: true,
            performer: Performer::default(),
            supplier_email: None,
            performed_ods_code: None,
            notes: None,
            session_id: None,
            location: None,
            location_name: None,
            source: RecordSource::Service,
            notify_parents: Some(true),
            protocol: None,
            local_patient_id: None,
            local_patient_id_uri: None,
        },
        pending_changes: BTreeMap::new(),
        discarded_at: None,
        created_at: now,
        updated_at: now,
    };
    let mut ops = vec![patients::put_patient_op(&patient, None), patients::reserve_nhs_number_op(nhs, patient.id)];
    ops.extend(vaccinations::create_ops(&record));
    store.transact(ops).await.expect("seed");
    (patient.id, record.id)
}

#[tokio::test]
async fn when_pds_changes_or_invalidates_the_number_should_mark_the_childs_records_for_sync() {
    let (_emulator, client) = pds().await;
    let store: Arc<dyn RecordStore> = Arc::new(SqliteRecordStore::in_memory().expect("sqlite"));
    let store = store.as_ref();
    for (nhs, marked) in [(SUPERSEDED, true), (INVALIDATED, true), (RESTRICTED, false)] {
        let (patient, record) = child_with_record(store, nhs).await;
        let answer = client.get_patient(nhs).await;
        apply_get_result(store, patient, nhs, answer, recorded_at()).await.expect("refresh");
        let marker = imms::get_pending(store, record).await.expect("read");
        assert_eq!(marker.is_some(), marked, "{nhs}");
        let search = imms::get_search(store, patient).await.expect("read");
        assert_eq!(search.is_some_and(|s| s.requested), marked, "{nhs}: history search asked for");
    }
}

/// When this file's records were written: a fixed instant, so that nothing here depends on when the tests run.
fn recorded_at() -> chrono::DateTime<chrono::Utc> {
    "2025-10-06T10:00:00Z".parse().expect("instant")
}

//! Where PDS and the Immunisations API sync meet (issues #4 and #6): a PDS GET refresh run by the pds function's
//! handler against the PDS emulator changes a child's NHS number, and the fhir worker brings the Imms emulator in line.
//! Both emulators over HTTP with auth on; written once, run on the embedded adapters and on DynamoDB Local + moto SQS
//! (tests/tests/imms_*.rs, whose rigs hold the store and the fhir queue).

use std::future::Future;
use std::sync::Arc;

use serde_json::{Value, json};
use shared::adapters::embedded_queue::EmbeddedQueue;
use shared::adapters::folder_object_store::FolderObjectStore;
use shared::domain::vaccination::RecordSource;
use shared::imms_sync::SyncState;
use shared::imms_sync::rules::{REASON_INVALIDATED, REASON_NO_NHS_NUMBER};
use shared::pipeline::pds_queue::{self, PdsMessage};
use shared::pipeline::{Pipeline, PipelineSettings};
use shared::store::{imms, patients, vaccinations};
use uuid::Uuid;

use crate::imms_scenarios::{Rig, fixture_record, gp_record};
use crate::pds_scenarios::{INVALIDATED, Pds, SUPERSEDED, SUPERSEDING, UNKNOWN};

/// Runs the pds function's handler for one RefreshPatients message over the rig's record store.
async fn refresh(rig: &Rig, pds: &Pds, patient_ids: Vec<Uuid>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pds_queue = Arc::new(EmbeddedQueue::in_memory(5).expect("queue"));
    let settings = PipelineSettings {
        pds: Some(pds.settings().with_queue(pds_queue)),
        clock: rig.clock(),
        ..PipelineSettings::default()
    };
    let pipeline = Pipeline {
        records: rig.records.clone(),
        objects: Arc::new(FolderObjectStore::new(dir.path(), "http://127.0.0.1:9".into(), [7u8; 32])),
        reference: Arc::new(shared::reference::demo()),
        settings,
    };
    let body = PdsMessage::RefreshPatients { patient_ids }.body();
    pds_queue::handle_message(&pipeline, &body).await.expect("refresh handled");
}

fn requests_with(requests: &[Value], method: &str) -> Vec<Value> {
    requests.iter().filter(|r| r["method"] == method).cloned().collect()
}

/// A superseded number whose new number another child holds: the refresh merges the children, and the moved record,
/// re-marked in the merge's transaction, reaches the API as a PUT carrying the new NHS number.
pub async fn merge_resyncs_moved_records(rig: &Rig, pds: &Pds) {
    let kept = rig.add_patient(Some(SUPERSEDING)).await;
    let merged = rig.add_patient(Some(SUPERSEDED)).await;
    let record = fixture_record(&merged, Uuid::new_v4());
    rig.record(&record).await;
    rig.drain().await;
    assert_eq!(rig.status(record.id).await.0, SyncState::Synced);
    assert_eq!(rig.emulator_records().await[0]["nhs_number"], SUPERSEDED);

    refresh(rig, pds, vec![merged.id]).await;
    assert!(patients::get(rig.records.as_ref(), merged.id).await.expect("read").is_none(), "merged away");
    let moved = vaccinations::get(rig.records.as_ref(), record.id).await.expect("read").expect("record").value;
    assert_eq!(moved.patient_id, kept.id);
    assert!(imms::get_pending(rig.records.as_ref(), record.id).await.expect("marker").is_some(), "re-marked");

    assert!(rig.sweep().await >= 1);
    rig.drain().await;
    let puts = requests_with(&rig.requests().await, "PUT");
    assert_eq!(puts.len(), 1, "one update: {puts:#?}");
    assert_eq!(puts[0]["status"], 200);
    let contained = puts[0]["body"]["contained"].as_array().expect("contained resources");
    let patient = contained.iter().find(|r| r["resourceType"] == "Patient").expect("contained patient");
    assert_eq!(patient["identifier"][0]["value"], SUPERSEDING, "the PUT carries the new number");
    assert_eq!(rig.emulator_records().await[0]["nhs_number"], SUPERSEDING);
    assert_eq!(rig.status(record.id).await.0, SyncState::Synced);
}

/// §7.6 and §6.3: a child whose number PDS invalidates, and one whose number PDS does not know (cleared), lose the
/// history pulled from the API, and our synced records are deleted from the API and show Not synced.
pub async fn lost_numbers_take_records_out_of_the_api(rig: &Rig, pds: &Pds) {
    let invalidated = rig.add_patient(Some(INVALIDATED)).await;
    let cleared = rig.add_patient(Some(UNKNOWN)).await;
    let preload = json!([
        gp_record(INVALIDATED, "2025-10-10", "5a1b2c3d-0000-4000-8000-00000000bb01"),
        gp_record(UNKNOWN, "2025-10-11", "5a1b2c3d-0000-4000-8000-00000000bb02"),
    ]);
    rig.control(reqwest::Method::POST, "records", Some(preload)).await;
    let mut ours = Vec::new();
    for patient in [&invalidated, &cleared] {
        let record = fixture_record(patient, Uuid::new_v4());
        rig.record(&record).await;
        imms::request_search(rig.records.as_ref(), patient.id).await.expect("search");
        ours.push(record);
    }
    rig.sweep().await;
    rig.drain().await;
    let from_api = |patient_id: Uuid| async move {
        let history = vaccinations::of_patient(rig.records.as_ref(), patient_id).await.expect("history");
        history.iter().filter(|r| r.details.source == RecordSource::NhsImmunisationsApi).count()
    };
    for (patient, record) in [&invalidated, &cleared].iter().zip(&ours) {
        assert_eq!(rig.status(record.id).await.0, SyncState::Synced);
        assert_eq!(from_api(patient.id).await, 1, "the GP record was pulled in");
    }

    refresh(rig, pds, vec![invalidated.id, cleared.id]).await;
    rig.sweep().await;
    rig.drain().await;

    let deletes = requests_with(&rig.requests().await, "DELETE");
    assert_eq!(deletes.len(), 2, "both of our records deleted: {deletes:#?}");
    assert!(deletes.iter().all(|d| d["status"] == 204));
    for (patient, record) in [&invalidated, &cleared].iter().zip(&ours) {
        assert_eq!(from_api(patient.id).await, 0, "the history from the API is removed");
        assert_eq!(imms::get_link(rig.records.as_ref(), record.id).await.unwrap().unwrap().value.api_id, None);
    }
    assert_eq!(
        rig.status(ours[0].id).await,
        (SyncState::NotSynced, Some(REASON_INVALIDATED), rig.status(ours[0].id).await.2)
    );
    assert_eq!(rig.status(ours[1].id).await.1, Some(REASON_NO_NHS_NUMBER));
}

/// Every scenario, each on a fresh rig and fresh emulators.
pub async fn all<F, Fut>(rig: F)
where
    F: Fn(Vec<Value>) -> Fut,
    Fut: Future<Output = Rig>,
{
    merge_resyncs_moved_records(&rig(vec![]).await, &Pds::start().await).await;
    lost_numbers_take_records_out_of_the_api(&rig(vec![]).await, &Pds::start().await).await;
}

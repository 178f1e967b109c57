//! The committed events under events/fhir drive the fhir function's handler as Lambda would deliver them, against
//! the Imms emulator over HTTP.

use std::sync::Arc;

use integration_tests::imms_scenarios::{FIXTURE_RECORD_ID, Rig, fixture_record};
use serde_json::{Value, json};
use shared::adapters::embedded_queue::EmbeddedQueue;
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::imms_sync::invocation::{consumer_settings, handle_invocation};
use shared::imms_sync::{SyncState, record_changed_op};
use shared::ports::{Queue, RecordStore};
use shared::store::vaccinations;

fn event(name: &str) -> Value {
    let path = format!("{}/../events/fhir/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("event file")).expect("event JSON")
}

async fn rig() -> Rig {
    let records: Arc<dyn RecordStore> = Arc::new(SqliteRecordStore::in_memory().expect("sqlite"));
    let queue: Arc<dyn Queue> = Arc::new(EmbeddedQueue::in_memory(5).expect("queue"));
    Rig::start(records, queue, vec![]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_sqs_batch_names_a_record_should_sync_it_and_report_no_failures() {
    let rig = rig().await;
    let patient = rig.add_patient(Some("9449310475")).await;
    let record = fixture_record(&patient, FIXTURE_RECORD_ID.parse().unwrap());
    // Marked but never enqueued: the event stands in for the message.
    let mut ops = vaccinations::create_ops(&record);
    ops.extend(record_changed_op(&record, rig.now()));
    rig.records.transact(ops).await.unwrap();

    let response = handle_invocation(&rig.sync, rig.queue.as_ref(), &consumer_settings(), event("sqs-batch.json"))
        .await
        .expect("handled");

    assert_eq!(response, json!({"batchItemFailures": []}), "the unknown patient's search is simply nothing");
    assert_eq!(rig.status(record.id).await.0, SyncState::Synced);
    assert_eq!(rig.emulator_records().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_api_fails_should_report_only_that_message_for_redelivery() {
    let rig = rig().await;
    let patient = rig.add_patient(Some("9449310475")).await;
    let record = fixture_record(&patient, FIXTURE_RECORD_ID.parse().unwrap());
    let mut ops = vaccinations::create_ops(&record);
    ops.extend(record_changed_op(&record, rig.now()));
    rig.records.transact(ops).await.unwrap();
    rig.set_faults(json!({"rate_500": 1.0})).await;

    let response = handle_invocation(&rig.sync, rig.queue.as_ref(), &consumer_settings(), event("sqs-batch.json"))
        .await
        .expect("handled");

    assert_eq!(response["batchItemFailures"], json!([{"itemIdentifier": "6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"}]));
    assert_eq!(rig.status(record.id).await.0, SyncState::Pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_schedule_fires_should_enqueue_forgotten_markers() {
    let rig = rig().await;
    let patient = rig.add_patient(Some("9449310475")).await;
    let record = fixture_record(&patient, FIXTURE_RECORD_ID.parse().unwrap());
    let mut ops = vaccinations::create_ops(&record);
    ops.extend(record_changed_op(&record, rig.now()));
    rig.records.transact(ops).await.unwrap();

    rig.wait(chrono::Duration::minutes(1));
    let response = handle_invocation(&rig.sync, rig.queue.as_ref(), &consumer_settings(), event("schedule.json"))
        .await
        .expect("handled");

    assert_eq!(response, json!({"enqueued": 1}));
    rig.drain().await;
    assert_eq!(rig.status(record.id).await.0, SyncState::Synced);
}

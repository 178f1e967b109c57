//! Imms sync and history pull on the embedded adapters (SQLite record store, SQLite queue) against the Imms
//! emulator over HTTP.

use std::sync::Arc;

use integration_tests::imms_scenarios::{self, Rig};
use shared::adapters::embedded_queue::EmbeddedQueue;
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::ports::{Queue, RecordStore};

async fn rig(preload: Vec<serde_json::Value>) -> Rig {
    let records: Arc<dyn RecordStore> = Arc::new(SqliteRecordStore::in_memory().expect("sqlite"));
    let queue: Arc<dyn Queue> = Arc::new(EmbeddedQueue::in_memory(20).expect("queue"));
    Rig::start(records, queue, preload).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_records_change_on_embedded_adapters_should_sync_and_pull_history_as_issue_6_says() {
    imms_scenarios::all(rig).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_5_percent_429_and_5xx_are_injected_should_lose_nothing_and_create_nothing_twice() {
    imms_scenarios::faults_lose_nothing_and_create_nothing_twice(&rig(vec![]).await, 60).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_pds_merges_or_takes_a_number_away_on_embedded_adapters_should_bring_the_imms_api_in_line() {
    integration_tests::pds_imms_scenarios::all(rig).await;
}

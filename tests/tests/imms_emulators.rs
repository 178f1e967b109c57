//! Imms sync and history pull on DynamoDB Local and moto SQS (the cloud adapters), against the Imms emulator.

use std::sync::Arc;

use integration_tests::harness::emulators_or_skip;
use integration_tests::imms_scenarios::{self, Rig};
use shared::adapters::aws;
use shared::adapters::dynamodb_store::{self, DynamoRecordStore};
use shared::adapters::sqs_queue::{SqsQueue, create_queue_with_dlq};
use shared::ports::{Queue, RecordStore};
use uuid::Uuid;

async fn rig((aws_endpoint, dynamodb_endpoint): &(String, String), preload: Vec<serde_json::Value>) -> Rig {
    let unique = Uuid::new_v4().simple().to_string();
    let ddb = aws_sdk_dynamodb::Client::new(&aws::sdk_config_for(dynamodb_endpoint).await);
    let table = format!("mavis-{unique}");
    dynamodb_store::create_table(&ddb, &table).await.expect("create table");
    let sqs = aws::sqs_client(&aws::sdk_config_for(aws_endpoint).await);
    let (queue_url, dlq_url) = create_queue_with_dlq(&sqs, &format!("fhir-{unique}"), 20).await.expect("queue");
    let records: Arc<dyn RecordStore> = Arc::new(DynamoRecordStore::new(ddb, table));
    let queue: Arc<dyn Queue> = Arc::new(SqsQueue::new(sqs, queue_url, dlq_url));
    Rig::start(records, queue, preload).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_records_change_on_dynamodb_and_sqs_should_sync_and_pull_history_as_issue_6_says() {
    let Some(endpoints) = emulators_or_skip("imms_emulators") else {
        return;
    };
    imms_scenarios::all(|preload| {
        let endpoints = endpoints.clone();
        async move { rig(&endpoints, preload).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_faults_are_injected_on_dynamodb_and_sqs_should_lose_nothing_and_create_nothing_twice() {
    let Some(endpoints) = emulators_or_skip("imms_emulators") else {
        return;
    };
    imms_scenarios::faults_lose_nothing_and_create_nothing_twice(&rig(&endpoints, vec![]).await, 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_pds_merges_or_takes_a_number_away_on_dynamodb_and_sqs_should_bring_the_imms_api_in_line() {
    let Some(endpoints) = emulators_or_skip("imms_emulators") else {
        return;
    };
    integration_tests::pds_imms_scenarios::all(|preload| {
        let endpoints = endpoints.clone();
        async move { rig(&endpoints, preload).await }
    })
    .await;
}

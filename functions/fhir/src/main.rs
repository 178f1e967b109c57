//! The fhir function: SQS messages (one record to sync, or one child's history to search) and the scheduled sweep
//! that re-enqueues changes whose message never arrived. The logic is in `shared::imms_sync`.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use shared::adapters::{aws, sqs_queue::SqsQueue};
use shared::cloud::event_source_from_env;
use shared::cloud::{CloudAdapters, CloudConfig};
use shared::imms_sync::config::ImmsConfig;
use shared::imms_sync::invocation::{self, handle_invocation};
use shared::imms_sync::{ImmsSync, SyncSettings};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let config = CloudConfig::from_env()?;
    let imms = ImmsConfig::from_env().await?;
    let adapters = CloudAdapters::connect(&config).await;
    let reference = adapters.live_reference(&config).await?;
    let sdk = aws::sdk_config().await;
    let queue = Arc::new(SqsQueue::new(aws::sqs_client(&sdk), imms.queue_url.clone(), imms.dead_letter_queue_url));
    tracing::info!(
        requests_per_second = imms.requests_per_second,
        imms_base_url = imms.client.base_url(),
        "fhir function ready"
    );
    let sync = ImmsSync {
        records: adapters.records,
        client: imms.client,
        reference: reference.current(),
        settings: SyncSettings {
            requests_per_second: imms.requests_per_second,
            history_since: imms.history_since,
            ..SyncSettings::default()
        },
    };
    // The fhir queue is both what triggers this function and where the sweep sends.
    let (_, settings) = event_source_from_env(invocation::consumer_settings()).await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (sync, queue, reference) = (sync.clone(), queue.clone(), reference.clone());
        async move {
            let sync = sync.with_current_reference(&reference).await;
            handle_invocation(&sync, queue.as_ref(), &settings, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}

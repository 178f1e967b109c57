//! The fhir function's entry points: an SQS batch (partial batch failures, so only transient failures come back
//! and, after the queue's receive limit, go to the DLQ), the scheduled sweep, and the local runner's polling loop.

use std::time::Duration;

use serde_json::{Value, json};

use super::worker::{ImmsSync, SyncError};
use crate::ports::Queue;

/// How long a failed message waits before it is tried again (local runner; on AWS the visibility timeout decides).
const RETRY_DELAY: Duration = Duration::from_secs(2);
/// How long a received message stays hidden while it is worked on.
const VISIBILITY: Duration = Duration::from_secs(60);

/// Handles one Lambda invocation: an SQS event answers `{"batchItemFailures": [...]}`; an EventBridge schedule runs
/// the sweep and answers `{"enqueued": n}`.
pub async fn handle_invocation(sync: &ImmsSync, queue: &dyn Queue, event: Value) -> Result<Value, SyncError> {
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        let mut failures = Vec::new();
        for record in records {
            let id = record.get("messageId").and_then(Value::as_str).unwrap_or_default();
            let body = record.get("body").and_then(Value::as_str).unwrap_or_default();
            match sync.handle(body).await {
                Ok(()) => {}
                Err(e) if e.is_transient() => {
                    tracing::warn!(message_id = id, error = %e, "fhir message failed; SQS will redeliver it");
                    failures.push(json!({"itemIdentifier": id}));
                }
                // Final: the marker stays (the record shows pending, then failed) and the sweep retries it later.
                Err(e) => tracing::error!(message_id = id, error = %e, "fhir message failed for good"),
            }
        }
        return Ok(json!({"batchItemFailures": failures}));
    }
    let scheduled = event.get("source").and_then(Value::as_str) == Some("aws.events")
        || event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event");
    if scheduled {
        let enqueued = sync.sweep(queue, sync.settings.clock.now()).await?;
        return Ok(json!({"enqueued": enqueued}));
    }
    Err(SyncError::BadMessage("the event is neither an SQS batch nor a scheduled event".into()))
}

/// Receives and handles what is waiting (up to one batch); acknowledges successes and final failures, and makes
/// transient failures visible again after a short delay. Returns how many messages were received.
pub async fn work_once(sync: &ImmsSync, queue: &dyn Queue, wait: Duration) -> Result<usize, SyncError> {
    let messages = queue.receive(crate::ports::queue::MAX_BATCH, wait, VISIBILITY).await?;
    for message in &messages {
        match sync.handle(&message.body).await {
            Err(e) if e.is_transient() => {
                tracing::warn!(message_id = %message.message_id, error = %e, "fhir message will be retried");
                queue.retry_after(&message.receipt, RETRY_DELAY).await?;
            }
            outcome => {
                if let Err(e) = outcome {
                    tracing::error!(message_id = %message.message_id, error = %e, "fhir message failed for good");
                }
                queue.ack(&message.receipt).await?;
            }
        }
    }
    Ok(messages.len())
}

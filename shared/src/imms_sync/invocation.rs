//! The fhir function's entry points: an SQS batch (partial batch failures, so only transient failures come back
//! and, after the queue's receive limit, go to the DLQ) and the scheduled sweep. The local runner consumes the same
//! messages with [`crate::consumer::polling`].

use async_trait::async_trait;
use serde_json::{Value, json};

use super::worker::{ImmsSync, SyncError};
use crate::consumer::{ConsumerSettings, MessageHandler, Retry, Retryable};
use crate::ports::Queue;

/// The fhir queue's messages. A message that fails for good is acknowledged: the record's marker stays (it shows
/// pending, then failed) and the sweep tries it again later.
pub struct SyncMessages(pub ImmsSync);

#[async_trait]
impl MessageHandler for SyncMessages {
    type Error = SyncError;

    async fn handle(&self, body: &str) -> Result<(), SyncError> {
        self.0.handle(body).await
    }
}

impl Retryable for SyncError {
    fn retry(&self) -> Retry {
        if self.is_transient() { Retry::Later } else { Retry::Never }
    }
}

/// How the fhir function and the local runner consume the fhir queue: one message at a time (the pacer spaces the
/// requests; one in flight keeps them in order).
pub fn consumer_settings() -> ConsumerSettings {
    ConsumerSettings::new("fhir")
}

/// Handles one Lambda invocation: an SQS event answers its partial-batch response (`source` is its queue, for the
/// messages' holds and retry delays); an EventBridge schedule runs the sweep and answers `{"enqueued": n}`.
pub async fn handle_invocation(
    sync: &ImmsSync,
    queue: &dyn Queue,
    settings: &ConsumerSettings,
    event: Value,
) -> Result<Value, SyncError> {
    if event.get("Records").is_some() {
        let event = serde_json::from_value(event)
            .map_err(|e| SyncError::BadMessage(format!("an SQS event that cannot be read: {e}")))?;
        let handler = SyncMessages(sync.clone());
        let response = crate::consumer::lambda::handle_sqs_event(&handler, Some(queue), event, settings).await;
        return serde_json::to_value(response).map_err(|e| SyncError::BadMessage(format!("the batch response: {e}")));
    }
    let scheduled = event.get("source").and_then(Value::as_str) == Some("aws.events")
        || event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event");
    if scheduled {
        let enqueued = sync.sweep(queue, sync.settings.clock.now()).await?;
        return Ok(json!({"enqueued": enqueued}));
    }
    Err(SyncError::BadMessage("the event is neither an SQS batch nor a scheduled event".into()))
}

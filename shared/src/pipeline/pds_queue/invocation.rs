//! One invocation of the pds function: an SQS batch from the pds queue, answered with the partial-batch response so
//! that only the failed messages are redelivered (the event source mapping has ReportBatchItemFailures on), or the
//! schedule of the GET refreshes.

use serde_json::{Value, json};

use crate::consumer::ConsumerSettings;
use crate::pipeline::invocation::{is_scheduled, sqs_event};
use crate::pipeline::{Pipeline, PipelineError, pds_queue};
use crate::ports::Queue;

/// Handles the batch's messages concurrently (the pacer keeps the PDS rate) and lists the ones to redeliver. An
/// event that cannot be read fails the invocation, so that its messages are redelivered.
pub async fn handle_invocation(
    pipeline: &Pipeline,
    source: Option<&dyn Queue>,
    settings: &ConsumerSettings,
    payload: Value,
) -> Result<Value, PipelineError> {
    if is_scheduled(&payload) {
        // The EventBridge rule of §11.4: queue the due GET refreshes. A failure is logged; the next run catches up.
        return Ok(match pds_queue::schedule::send_scheduled_refresh(pipeline, pipeline.now()).await {
            Ok(enqueued) => json!({ "enqueued": enqueued }),
            Err(e) => {
                tracing::error!(error = %e, "scheduled PDS refresh failed");
                json!({ "enqueued": 0, "error": "scheduled PDS refresh failed" })
            }
        });
    }
    let event = sqs_event(&payload)
        .unwrap_or_else(|| Err(PipelineError::Broken("the event is neither an SQS batch nor a schedule".into())))?;
    let handler = pds_queue::PdsMessages(pipeline.clone());
    let response = crate::consumer::lambda::handle_sqs_event(&handler, source, event, settings).await;
    serde_json::to_value(response).map_err(|e| PipelineError::Broken(format!("the batch response: {e}")))
}

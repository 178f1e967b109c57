//! One invocation of the pds function: an SQS batch from the pds queue, answered with the partial-batch response so
//! that only the failed messages are redelivered (the event source mapping has ReportBatchItemFailures on).

use futures::future::join_all;
use serde_json::{Value, json};
use tracing::Instrument;

use crate::pipeline::invocation::{SqsBatch, is_scheduled};
use crate::pipeline::{Pipeline, pds_queue};

/// Handles the batch's messages concurrently (the pacer keeps the PDS rate) and lists the ones to redeliver.
pub async fn handle_invocation(pipeline: &Pipeline, payload: Value) -> Value {
    if is_scheduled(&payload) {
        // The EventBridge rule of §11.4: queue the due GET refreshes. A failure is logged; the next run catches up.
        return match pds_queue::schedule::send_scheduled_refresh(pipeline, pipeline.now()).await {
            Ok(enqueued) => json!({ "enqueued": enqueued }),
            Err(e) => {
                tracing::error!(error = %e, "scheduled PDS refresh failed");
                json!({ "enqueued": 0, "error": "scheduled PDS refresh failed" })
            }
        };
    }
    let batch: SqsBatch = match serde_json::from_value(payload.clone()) {
        Ok(batch) => batch,
        Err(e) => {
            tracing::error!(error = %e, "malformed SQS event: every message in it fails");
            return crate::pipeline::invocation::unreadable_batch(&payload);
        }
    };
    let handled = join_all(batch.records.iter().map(|record| {
        let span = tracing::info_span!("message", message_id = %record.message_id);
        async move { (record, pds_queue::handle_message(pipeline, &record.body).await) }.instrument(span)
    }))
    .await;
    let failures: Vec<Value> = handled
        .into_iter()
        .filter_map(|(record, result)| {
            let error = result.err()?;
            tracing::warn!(message_id = %record.message_id, error = %error, "pds message will be retried");
            Some(json!({ "itemIdentifier": record.message_id }))
        })
        .collect();
    json!({ "batchItemFailures": failures })
}

//! One invocation of the import function, whatever delivered it: an S3 notification directly, or SQS messages
//! each carrying one (the deployed wiring: S3 → SQS → function, for retries and a dead-letter queue). The local
//! runner calls the same code with the messages of its embedded queue.

use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

use super::{Handled, Pipeline, PipelineError, parse_notification};

/// The part of an SQS event both functions read.
#[derive(Deserialize)]
pub(crate) struct SqsBatch {
    #[serde(rename = "Records")]
    pub records: Vec<SqsRecord>,
}

#[derive(Deserialize)]
pub(crate) struct SqsRecord {
    #[serde(rename = "messageId")]
    pub message_id: String,
    pub body: String,
}

/// The partial-batch answer for an SQS event that cannot be read: every message it names fails, so that SQS redelivers
/// each and, past the redrive limit, moves it to the dead-letter queue, never deleting it unseen. When not even the
/// message ids can be read, one empty identifier, which Lambda takes as "the whole batch failed".
pub(crate) fn unreadable_batch(payload: &Value) -> Value {
    let ids: Vec<Value> = payload["Records"]
        .as_array()
        .map(|records| {
            records.iter().filter_map(|r| r["messageId"].as_str()).map(|id| json!({ "itemIdentifier": id })).collect()
        })
        .unwrap_or_default();
    let failures = if ids.is_empty() { vec![json!({ "itemIdentifier": "" })] } else { ids };
    json!({ "batchItemFailures": failures })
}

/// The `job` of the import function's daily schedule (infra/template.yaml): the aged-out run of §9.5.
pub const AGED_OUT_JOB: &str = "aged-out";

/// An EventBridge schedule event (not an SQS batch or an S3 notification).
pub(crate) fn is_scheduled(payload: &Value) -> bool {
    payload.get("Records").is_none()
        && (payload.get("source").and_then(Value::as_str) == Some("aws.events")
            || payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event"))
}

/// The job a schedule asks for: a SAM Schedule event with `Input` delivers that input (`{"job": ...}`) instead of the
/// EventBridge event; a plain EventBridge event may carry it in its `detail`.
fn scheduled_job(payload: &Value) -> Option<&str> {
    if payload.get("Records").is_some() {
        return None;
    }
    let job = if is_scheduled(payload) { payload.get("detail")?.get("job")? } else { payload.get("job")? };
    job.as_str()
}

/// Handles one notification body; `Ok` means it may be acknowledged.
pub async fn handle_notification(pipeline: &Pipeline, body: &str) -> Result<Vec<Handled>, PipelineError> {
    let events = match parse_notification(body) {
        Ok(events) => events,
        Err(e) => {
            // A body that is not a notification can never succeed: drop it rather than retry it forever.
            tracing::error!(error = %e, "dropping a message that is not an S3 notification");
            return Ok(vec![]);
        }
    };
    let mut handled = Vec::new();
    for event in &events {
        handled.push(pipeline.handle_object_created(event).await?);
    }
    Ok(handled)
}

/// The function's handler: returns the SQS partial-batch response, or fails the whole S3 invocation for a retry.
pub async fn handle_invocation(pipeline: &Pipeline, payload: Value) -> Result<Value, PipelineError> {
    if scheduled_job(&payload) == Some(AGED_OUT_JOB) {
        // The daily rule of §9.5. An error fails the invocation so EventBridge retries it; moving is idempotent.
        let moved = super::aged_out::move_aged_out_everywhere(pipeline, pipeline.settings.today()).await?;
        return Ok(json!({ "moved": moved }));
    }
    let is_sqs = payload["Records"].get(0).is_some_and(|r| r.get("messageId").is_some());
    if !is_sqs {
        handle_notification(pipeline, &payload.to_string()).await?;
        return Ok(json!({}));
    }
    let batch: SqsBatch = match serde_json::from_value(payload.clone()) {
        Ok(batch) => batch,
        Err(e) => {
            tracing::error!(error = %e, "malformed SQS event: every message in it fails");
            return Ok(unreadable_batch(&payload));
        }
    };
    let mut failures = Vec::new();
    for record in batch.records {
        let span = tracing::info_span!("message", message_id = %record.message_id);
        if let Err(e) = handle_notification(pipeline, &record.body).instrument(span).await {
            tracing::warn!(error = %e, "message will be retried");
            failures.push(json!({ "itemIdentifier": record.message_id }));
        }
    }
    Ok(json!({ "batchItemFailures": failures }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_batch_should_fail_every_message_it_names_or_the_whole_batch() {
        let named = json!({"Records": [{"messageId": "m1", "body": 5}, {"messageId": "m2"}]});
        assert_eq!(
            unreadable_batch(&named),
            json!({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]})
        );
        assert_eq!(unreadable_batch(&json!({"Records": "x"})), json!({"batchItemFailures": [{"itemIdentifier": ""}]}));
    }

    #[test]
    fn when_payload_names_a_job_should_read_it_from_the_input_or_the_detail() {
        assert_eq!(scheduled_job(&json!({ "job": "aged-out" })), Some(AGED_OUT_JOB));
        let event =
            json!({ "source": "aws.events", "detail-type": "Scheduled Event", "detail": { "job": "aged-out" } });
        assert_eq!(scheduled_job(&event), Some(AGED_OUT_JOB));
        assert_eq!(scheduled_job(&json!({ "source": "aws.events", "detail": {} })), None);
        assert_eq!(scheduled_job(&json!({ "Records": [], "job": "aged-out" })), None);
    }
}

//! One invocation of the import function, whatever delivered it: an S3 notification directly, or SQS messages
//! each carrying one (the deployed wiring: S3 → SQS → function, for retries and a dead-letter queue). The local
//! runner calls the same code with the messages of its embedded queue.

use async_trait::async_trait;
use aws_lambda_events::sqs::SqsEvent;
use serde_json::{Value, json};

use super::{Handled, Pipeline, PipelineError, failed, parse_notification};
use crate::consumer::{ConsumerSettings, MessageHandler};
use crate::ports::Queue;
use crate::store::claims::{self, Standing};

/// The import function's messages: one S3 notification each.
pub struct ObjectEvents(pub Pipeline);

#[async_trait]
impl MessageHandler for ObjectEvents {
    type Error = PipelineError;

    async fn handle(&self, body: &str) -> Result<(), PipelineError> {
        handle_notification(&self.0, body).await.map(drop)
    }

    async fn renew(&self, body: &str) {
        let (store, lease) = (self.0.records.as_ref(), self.0.settings.claim_lease);
        for event in parse_notification(body).unwrap_or_default() {
            let renewed = claims::renew(store, &event.bucket, &event.key, &event.etag, lease, self.0.now()).await;
            if let Err(e) = renewed {
                tracing::warn!(error = %e, "cannot renew an object's claim");
            }
        }
    }

    async fn give_up(&self, body: &str, error: &PipelineError) {
        for event in parse_notification(body).unwrap_or_default() {
            if let Some((team_id, import_id)) = self.0.import_of(&event) {
                failed::give_up_on(&self.0, Some(&team_id), import_id, error).await;
            }
        }
    }

    /// Ends the object's import unless it is finished or a live worker holds its claim.
    async fn abandon(&self, body: &str) {
        let (store, terms, now) = (self.0.records.as_ref(), self.0.settings.claim_terms(), self.0.now());
        for event in parse_notification(body).unwrap_or_default() {
            let Some((team_id, addressed)) = self.0.import_of(&event) else { continue };
            let import_id = match claims::standing(store, &event.bucket, &event.key, &event.etag, terms, now).await {
                Ok(Standing::Dead { import_id }) => import_id,
                // Its workers died before they claimed it: the import they were addressed to, if there is one.
                Ok(Standing::Unclaimed) => addressed,
                Ok(Standing::InHand) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read an object's claim: its import stays as it was");
                    continue;
                }
            };
            failed::abandon(&self.0, Some(&team_id), import_id).await;
        }
    }
}

/// How the import function and the local runner consume object events: one file at a time.
pub fn consumer_settings() -> ConsumerSettings {
    ConsumerSettings::new("import")
}

/// The SQS event in `payload`, if it is one (an S3 notification also has `Records`, without message ids).
pub(crate) fn sqs_event(payload: &Value) -> Option<Result<SqsEvent, PipelineError>> {
    let is_sqs = payload["Records"].get(0).is_some_and(|r| r.get("messageId").is_some());
    is_sqs.then(|| {
        serde_json::from_value(payload.clone())
            .map_err(|e| PipelineError::Broken(format!("an SQS event that cannot be read: {e}")))
    })
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

/// The function's handler: the schedule's job, an SQS event (answered with its partial-batch response; `source` is
/// its queue, for the messages' holds and retry delays), or an S3 notification handed over directly (an error
/// fails the invocation, and Lambda retries it). An SQS event that cannot be read fails the whole invocation too,
/// so that each of its messages is redelivered and, past the redrive limit, dead-lettered, never deleted unseen.
pub async fn handle_invocation(
    pipeline: &Pipeline,
    source: Option<&dyn Queue>,
    settings: &ConsumerSettings,
    payload: Value,
) -> Result<Value, PipelineError> {
    if scheduled_job(&payload) == Some(AGED_OUT_JOB) {
        // The daily rule of §9.5. An error fails the invocation so EventBridge retries it; moving is idempotent.
        let moved = super::aged_out::move_aged_out_everywhere(pipeline, pipeline.settings.today()).await?;
        return Ok(json!({ "moved": moved }));
    }
    if let Some(event) = sqs_event(&payload) {
        let handler = ObjectEvents(pipeline.clone());
        let response = crate::consumer::lambda::handle_sqs_event(&handler, source, event?, settings).await;
        return serde_json::to_value(response).map_err(|e| PipelineError::Broken(format!("the batch response: {e}")));
    }
    // Handed over directly: no queue holds it, but the object's claim is renewed as it would be.
    crate::consumer::with_renewals(&ObjectEvents(pipeline.clone()), &payload.to_string(), settings).await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

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

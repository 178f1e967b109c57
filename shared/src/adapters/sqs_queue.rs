//! The cloud [`Queue`]: an SQS standard queue and its dead-letter queue (redrive is SQS's own, configured by the
//! queue's `RedrivePolicy`; see [`create_queue_with_dlq`]).
//!
//! SQS counts time in whole seconds, so `wait`, `visibility` and retry delays are rounded up to the next second.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry};

use super::aws::{Failure, classify, describe};
use crate::ports::queue::{MAX_BATCH, Queue, QueueError, ReceivedMessage};

/// SQS's own limits, checked here so that a bad call fails with a clear message instead of a service error.
const MAX_WAIT_SECONDS: i32 = 20;
const MAX_VISIBILITY_SECONDS: i32 = 12 * 60 * 60;
/// The dead-letter queue keeps messages for the longest time SQS allows, so an operator has two weeks to look.
const DLQ_RETENTION_SECONDS: &str = "1209600";

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    dead_letter_queue_url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String, dead_letter_queue_url: String) -> Self {
        Self { client, queue_url, dead_letter_queue_url }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    pub fn dead_letter_queue_url(&self) -> &str {
        &self.dead_letter_queue_url
    }

    /// The queue's redrive limit (`maxReceiveCount` of its RedrivePolicy); None when it has none.
    pub async fn max_receive_count(&self) -> Result<Option<u32>, QueueError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map_err(|err| map_err("GetQueueAttributes", err))?;
        let Some(policy) = out.attributes().and_then(|a| a.get(&QueueAttributeName::RedrivePolicy)) else {
            return Ok(None);
        };
        let policy: serde_json::Value = serde_json::from_str(policy)
            .map_err(|e| QueueError::Invalid(format!("the queue's RedrivePolicy is not JSON: {e}")))?;
        // SQS writes the number as a string; a template may give it as a number.
        let max = match &policy["maxReceiveCount"] {
            serde_json::Value::String(n) => n.parse().ok(),
            n => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        };
        Ok(max)
    }

    /// Sends one chunk of at most `MAX_BATCH`; returns the entries that SQS did not take, with their error codes.
    async fn send_chunk(&self, bodies: &[(String, &String)]) -> Result<Vec<(String, String, bool)>, QueueError> {
        let entries = bodies
            .iter()
            .map(|(id, body)| SendMessageBatchRequestEntry::builder().id(id).message_body(*body).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| QueueError::Invalid(format!("SendMessageBatch entry: {err}")))?;
        let out = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|err| map_err("SendMessageBatch", err))?;
        Ok(out.failed().iter().map(|f| (f.id().to_owned(), f.code().to_owned(), f.sender_fault())).collect())
    }
}

/// The entries of a batch send that SQS still refused after one retry.
#[derive(Debug, thiserror::Error)]
#[error("SQS refused {count} message(s) of a batch twice (codes: {codes})")]
pub struct BatchEntriesFailed {
    pub count: usize,
    pub codes: String,
}

fn map_err<E>(operation: &str, err: SdkError<E, HttpResponse>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match classify(&err) {
        Failure::Transient => QueueError::Transient(Box::new(err)),
        Failure::NotFound | Failure::Invalid => QueueError::Invalid(describe(operation, &err)),
    }
}

/// Whole seconds, rounded up, checked against SQS's maximum for the parameter.
fn seconds(what: &str, d: Duration, max: i32) -> Result<i32, QueueError> {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    match i32::try_from(secs) {
        Ok(s) if s <= max => Ok(s),
        _ => Err(QueueError::Invalid(format!("{what} must be at most {max} s"))),
    }
}

/// Creates (or finds, if it exists with the same settings) queue `name` and its dead-letter queue `name-dlq`,
/// redriving after `max_receive_count` receives. Returns `(queue_url, dlq_url)`. For tests and bootstrapping an
/// emulator; real queues come from the infrastructure template.
pub async fn create_queue_with_dlq(
    client: &aws_sdk_sqs::Client,
    name: &str,
    max_receive_count: u32,
) -> Result<(String, String), QueueError> {
    let dlq = client
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .attributes(QueueAttributeName::MessageRetentionPeriod, DLQ_RETENTION_SECONDS)
        .send()
        .await
        .map_err(|err| map_err("CreateQueue (dead-letter)", err))?;
    let dlq_url = dlq.queue_url().unwrap_or_default().to_owned();
    let attributes = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|err| map_err("GetQueueAttributes", err))?;
    let dlq_arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .ok_or_else(|| QueueError::Invalid("dead-letter queue has no QueueArn".into()))?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": max_receive_count.to_string(),
    });
    let queue = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .map_err(|err| map_err("CreateQueue", err))?;
    Ok((queue.queue_url().unwrap_or_default().to_owned(), dlq_url))
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send_batch(&self, bodies: Vec<String>) -> Result<(), QueueError> {
        for chunk in bodies.chunks(MAX_BATCH) {
            // Entry ids only need to be unique within one request; the position in the chunk is.
            let entries: Vec<(String, &String)> = chunk.iter().enumerate().map(|(i, b)| (i.to_string(), b)).collect();
            let failed = self.send_chunk(&entries).await?;
            if failed.is_empty() {
                continue;
            }
            if let Some((_, code, _)) = failed.iter().find(|(_, _, sender_fault)| *sender_fault) {
                return Err(QueueError::Invalid(format!("SQS refused a message: {code}")));
            }
            let retry: Vec<(String, &String)> =
                entries.into_iter().filter(|(id, _)| failed.iter().any(|(f, _, _)| f == id)).collect();
            let still_failed = self.send_chunk(&retry).await?;
            if !still_failed.is_empty() {
                let codes = still_failed.iter().map(|(_, code, _)| code.as_str()).collect::<Vec<_>>().join(", ");
                return Err(QueueError::Transient(Box::new(BatchEntriesFailed { count: still_failed.len(), codes })));
            }
        }
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        if max == 0 || max > MAX_BATCH {
            return Err(QueueError::Invalid(format!("max must be 1 to {MAX_BATCH}, got {max}")));
        }
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max as i32)
            .wait_time_seconds(seconds("wait", wait, MAX_WAIT_SECONDS)?)
            .visibility_timeout(seconds("visibility", visibility, MAX_VISIBILITY_SECONDS)?)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|err| map_err("ReceiveMessage", err))?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Some(ReceivedMessage {
                    message_id: m.message_id()?.to_owned(),
                    receipt: m.receipt_handle()?.to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    receive_count,
                })
            })
            .collect())
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|err| map_err("DeleteMessage", err))?;
        Ok(())
    }

    async fn retry_after(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let result = self
            .client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds("retry delay", delay, MAX_VISIBILITY_SECONDS)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Its visibility ran out already: it is visible again, which is what a retry wants.
            Err(err) if err.as_service_error().is_some_and(|e| e.is_message_not_inflight()) => Ok(()),
            Err(err) => Err(map_err("ChangeMessageVisibility", err)),
        }
    }

    /// A peek at the dead-letter queue: receives with visibility 0 and deletes nothing. Each peek raises the
    /// messages' receive counts on the DLQ, so the DLQ itself must have no redrive policy. Beyond 10 messages SQS
    /// decides which ones a peek sees, so treat a large answer as a sample.
    async fn dead_letters(&self, max: usize) -> Result<Vec<String>, QueueError> {
        let mut seen = HashSet::new();
        let mut bodies = Vec::new();
        for _ in 0..(max / MAX_BATCH + 3) {
            if bodies.len() >= max {
                break;
            }
            let out = self
                .client
                .receive_message()
                .queue_url(&self.dead_letter_queue_url)
                .max_number_of_messages(MAX_BATCH.min(max - bodies.len()) as i32)
                .visibility_timeout(0)
                // Long polling asks every SQS server; a short poll may miss messages. Returns at once if any.
                .wait_time_seconds(1)
                .send()
                .await
                .map_err(|err| map_err("ReceiveMessage (dead-letter)", err))?;
            let mut new = 0;
            for m in out.messages() {
                if seen.insert(m.message_id().unwrap_or_default().to_owned()) {
                    bodies.push(m.body().unwrap_or_default().to_owned());
                    new += 1;
                }
            }
            if new == 0 {
                break;
            }
        }
        bodies.truncate(max);
        Ok(bodies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up_to_whole_seconds() {
        assert_eq!(seconds("t", Duration::ZERO, 20).ok(), Some(0));
        assert_eq!(seconds("t", Duration::from_millis(1), 20).ok(), Some(1));
        assert_eq!(seconds("t", Duration::from_millis(1500), 20).ok(), Some(2));
        assert_eq!(seconds("t", Duration::from_secs(20), 20).ok(), Some(20));
        assert!(seconds("t", Duration::from_secs(21), 20).is_err());
    }
}

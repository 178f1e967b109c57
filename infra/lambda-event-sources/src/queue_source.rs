//! One SQS event source mapping, as Lambda runs it: receive a batch, invoke the function with it as an `SqsEvent`,
//! delete what succeeded, and leave the rest on the queue, where SQS's redrive policy moves a message to the
//! dead-letter queue once it has been received `maxReceiveCount` times.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};

use crate::invoke::Invoker;
use crate::template::QueueSource;

pub struct QueuePoller {
    pub source: QueueSource,
    pub queue_url: String,
    pub sqs: Client,
    pub invoker: Arc<Invoker>,
    pub region: String,
    /// Lambda leaves a failed message hidden for the rest of its visibility timeout (90 minutes for the object-events
    /// queue); locally it may come back sooner.
    pub retry_after: Option<Duration>,
}

/// Which messages of a batch to keep on the queue, from the function's answer. As Lambda does, an answer that is not
/// a partial batch response, or that names a message not in the batch, fails the whole batch.
pub fn failed_ids(
    batch: &[String],
    answer: Result<serde_json::Value, String>,
    partial_batch_response: bool,
) -> HashSet<String> {
    let everything = || batch.iter().cloned().collect();
    let Ok(answer) = answer else { return everything() };
    if !partial_batch_response {
        return HashSet::new();
    }
    if answer.is_null() {
        return HashSet::new();
    }
    match serde_json::from_value::<SqsBatchResponse>(answer) {
        Ok(response) => {
            let failed: HashSet<String> = response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
            if failed.iter().all(|id| batch.contains(id)) { failed } else { everything() }
        }
        Err(_) => everything(),
    }
}

impl QueuePoller {
    pub async fn run(self) -> anyhow::Result<()> {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await?;
        let queue_arn = attributes
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .cloned()
            .unwrap_or_default();
        tracing::info!(queue = %self.source.queue, function = %self.source.function, "forwarding the queue's messages");
        loop {
            if let Err(e) = self.forward_one_batch(&queue_arn).await {
                tracing::warn!(queue = %self.source.queue, error = %e, "receive failed; trying again in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }

    async fn forward_one_batch(&self, queue_arn: &str) -> anyhow::Result<()> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.source.batch_size)
            .wait_time_seconds(20)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(());
        }
        let mut event = SqsEvent::default();
        for message in &messages {
            let mut record = SqsMessage::default();
            record.message_id = message.message_id.clone();
            record.receipt_handle = message.receipt_handle.clone();
            record.body = message.body.clone();
            record.md5_of_body = message.md5_of_body.clone();
            record.attributes = message
                .attributes()
                .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect())
                .unwrap_or_default();
            record.event_source = Some("aws:sqs".into());
            record.event_source_arn = Some(queue_arn.to_owned());
            record.aws_region = Some(self.region.clone());
            event.records.push(record);
        }
        let ids: Vec<String> = messages.iter().filter_map(|m| m.message_id.clone()).collect();
        let answer =
            self.invoker.invoke(&self.source.function, &serde_json::to_value(&event)?).await.map_err(|e| e.to_string());
        if let Err(e) = &answer {
            tracing::warn!(queue = %self.source.queue, function = %self.source.function, error = %e, "the batch failed");
        }
        let failed = failed_ids(&ids, answer, self.source.partial_batch_response);
        let done: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .filter(|m| m.message_id.as_ref().is_some_and(|id| !failed.contains(id)))
            .enumerate()
            .map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .set_receipt_handle(m.receipt_handle.clone())
                    .build()
            })
            .collect::<Result<_, _>>()?;
        tracing::info!(queue = %self.source.queue, function = %self.source.function, messages = ids.len(), failed = failed.len(), "batch forwarded");
        if !done.is_empty() {
            self.sqs.delete_message_batch().queue_url(&self.queue_url).set_entries(Some(done)).send().await?;
        }
        if let Some(delay) = self.retry_after {
            for message in messages.iter().filter(|m| m.message_id.as_ref().is_some_and(|id| failed.contains(id))) {
                self.sqs
                    .change_message_visibility()
                    .queue_url(&self.queue_url)
                    .set_receipt_handle(message.receipt_handle.clone())
                    .visibility_timeout(delay.as_secs() as i32)
                    .send()
                    .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn batch() -> Vec<String> {
        vec!["m-1".into(), "m-2".into()]
    }

    fn set(ids: &[&str]) -> HashSet<String> {
        ids.iter().map(|id| id.to_string()).collect()
    }

    #[test]
    fn only_the_listed_messages_should_stay_on_the_queue() {
        let answer = json!({ "batchItemFailures": [{ "itemIdentifier": "m-2" }] });
        assert_eq!(failed_ids(&batch(), Ok(answer), true), set(&["m-2"]));
        assert_eq!(failed_ids(&batch(), Ok(json!({ "batchItemFailures": [] })), true), set(&[]));
    }

    #[test]
    fn a_failed_invocation_or_an_unknown_identifier_should_fail_the_whole_batch() {
        assert_eq!(failed_ids(&batch(), Err("crashed".into()), true), set(&["m-1", "m-2"]));
        let unknown = json!({ "batchItemFailures": [{ "itemIdentifier": "" }] });
        assert_eq!(failed_ids(&batch(), Ok(unknown), true), set(&["m-1", "m-2"]));
        assert_eq!(failed_ids(&batch(), Ok(json!({ "batchItemFailures": "no" })), true), set(&["m-1", "m-2"]));
    }

    #[test]
    fn without_partial_batch_responses_any_answer_should_succeed_the_batch() {
        let answer = json!({ "batchItemFailures": [{ "itemIdentifier": "m-2" }] });
        assert_eq!(failed_ids(&batch(), Ok(answer), false), set(&[]));
    }
}

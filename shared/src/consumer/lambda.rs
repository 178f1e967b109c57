//! An SQS event from Lambda's event source mapping (`ReportBatchItemFailures` on): the messages that are to be tried
//! again are named in the [`SqsBatchResponse`], after their visibility has been set to the consumer's back-off; the
//! rest are deleted as soon as they are done (and by Lambda again, which is harmless).

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt;
use tracing::Instrument;

use super::{ConsumerSettings, Delivery, MessageHandler, Verdict, deliver};
use crate::ports::{Queue, ReceivedMessage};

/// The event Lambda's event source mapping would invoke a function with for these messages (for tests, and for
/// standing in for the mapping).
pub fn event_of(received: &[ReceivedMessage]) -> SqsEvent {
    let mut event = SqsEvent::default();
    for r in received {
        let mut message = SqsMessage::default();
        message.message_id = Some(r.message_id.clone());
        message.receipt_handle = Some(r.receipt.clone());
        message.body = Some(r.body.clone());
        message.attributes.insert("ApproximateReceiveCount".into(), r.receive_count.to_string());
        event.records.push(message);
    }
    event
}

/// Handles the event's messages, at most `settings.max_in_flight` at once. `source` is the queue the event came
/// from: each message's hold is cut from the queue's visibility timeout (which must exceed the function's timeout)
/// to `settings.hold` and renewed as it is worked on, so that a crashed invocation's messages come back soon.
pub async fn handle_sqs_event<H: MessageHandler>(
    handler: &H,
    source: Option<&dyn Queue>,
    event: SqsEvent,
    settings: &ConsumerSettings,
) -> SqsBatchResponse {
    let verdicts: Vec<(Option<String>, Verdict)> = futures::stream::iter(event.records)
        .map(|message| async move {
            let span = tracing::info_span!("message", message_id = message.message_id.as_deref().unwrap_or(""));
            let verdict = handle_message(handler, source, &message, settings).instrument(span).await;
            (message.message_id, verdict)
        })
        .buffer_unordered(settings.max_in_flight.max(1))
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    for (message_id, verdict) in verdicts {
        if let Verdict::RetryIn(_) = verdict {
            let mut failure = BatchItemFailure::default();
            // An empty identifier fails the whole batch: the only safe answer for a message without an id.
            failure.item_identifier = message_id.unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn handle_message<H: MessageHandler>(
    handler: &H,
    source: Option<&dyn Queue>,
    message: &SqsMessage,
    settings: &ConsumerSettings,
) -> Verdict {
    let receipt = message.receipt_handle.as_deref().unwrap_or_default();
    // Without a receipt the hold cannot be changed: the queue's own visibility timeout applies.
    let source = source.filter(|_| !receipt.is_empty());
    if let Some(queue) = source
        && let Err(e) = queue.retry_after(receipt, settings.hold).await
    {
        tracing::warn!(consumer = settings.name, error = %e, "cannot shorten a message's hold");
    }
    let receive_count = message.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1);
    let delivery = Delivery {
        message_id: message.message_id.as_deref().unwrap_or_default(),
        receipt,
        body: message.body.as_deref().unwrap_or_default(),
        receive_count,
    };
    let verdict = deliver(handler, source, delivery, settings).await;
    let Some(queue) = source else { return verdict };
    // Lambda deletes the batch's successes only when the whole invocation ends: a message done early would
    // otherwise come back once its hold ran out while another message of the batch was still being handled.
    let settled = match verdict {
        Verdict::Done => queue.ack(receipt).await,
        Verdict::RetryIn(delay) => queue.retry_after(receipt, delay).await,
    };
    if let Err(e) = settled {
        tracing::warn!(consumer = settings.name, error = %e, "cannot settle a message early; Lambda will");
    }
    verdict
}

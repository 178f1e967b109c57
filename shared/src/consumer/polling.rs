//! The in-process event source: receives from a [`Queue`] as Lambda's event source mapping does on AWS, for the
//! local runner (`mavis serve`) and the whole-pipeline tests.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::{ConsumerSettings, Delivery, MessageHandler, Verdict, deliver};
use crate::ports::{Queue, QueueError, ReceivedMessage};

/// Handles messages until the queue is empty and nothing is in flight; returns how many deliveries were handled
/// (failed ones included).
pub async fn run_until_idle<H: MessageHandler>(
    handler: Arc<H>,
    queue: Arc<dyn Queue>,
    settings: ConsumerSettings,
) -> Result<usize, QueueError> {
    run(handler, queue, settings, true).await
}

/// Handles messages for ever (the local runner's functions).
pub async fn run_forever<H: MessageHandler>(handler: Arc<H>, queue: Arc<dyn Queue>, settings: ConsumerSettings) {
    loop {
        if let Err(e) = run(handler.clone(), queue.clone(), settings, false).await {
            tracing::error!(consumer = settings.name, error = %e, "cannot read the queue");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn run<H: MessageHandler>(
    handler: Arc<H>,
    queue: Arc<dyn Queue>,
    settings: ConsumerSettings,
    stop_when_idle: bool,
) -> Result<usize, QueueError> {
    let mut in_flight = JoinSet::new();
    let mut handled = 0;
    loop {
        let room = settings.max_in_flight.max(1).saturating_sub(in_flight.len());
        let messages = if room == 0 {
            Vec::new()
        } else {
            // Wait for new messages only when idle; while work is running, look and move on.
            let wait = if in_flight.is_empty() { Duration::from_secs(1) } else { Duration::ZERO };
            queue.receive(room.min(crate::ports::queue::MAX_BATCH), wait, settings.hold).await?
        };
        if messages.is_empty() {
            match in_flight.join_next().await {
                Some(done) => {
                    handled += 1;
                    if let Err(e) = done {
                        tracing::error!(consumer = settings.name, error = %e, "message task failed");
                    }
                }
                None if stop_when_idle => return Ok(handled),
                None => {}
            }
            continue;
        }
        for message in messages {
            let (handler, queue) = (handler.clone(), queue.clone());
            in_flight.spawn(async move { handle(handler.as_ref(), queue.as_ref(), message, &settings).await });
        }
    }
}

async fn handle<H: MessageHandler>(
    handler: &H,
    queue: &dyn Queue,
    message: ReceivedMessage,
    settings: &ConsumerSettings,
) {
    let delivery = Delivery {
        message_id: &message.message_id,
        receipt: &message.receipt,
        body: &message.body,
        receive_count: message.receive_count,
    };
    let settled = match deliver(handler, Some(queue), delivery, settings).await {
        Verdict::Done => queue.ack(&message.receipt).await,
        Verdict::RetryIn(delay) => queue.retry_after(&message.receipt, delay).await,
    };
    if let Err(e) = settled {
        tracing::error!(consumer = settings.name, error = %e, "cannot settle a message");
    }
}

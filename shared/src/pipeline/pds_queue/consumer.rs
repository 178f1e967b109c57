//! The pds queue consumed in-process, as the Lambda event source does on AWS: used by the local runner
//! (`mavis serve`) and by the whole-pipeline tests.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::pipeline::{Pipeline, pds_queue};
use crate::ports::{Queue, QueueError, ReceivedMessage};

/// How a consumer takes messages and retries failures.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerSettings {
    /// Messages handled at once (Lambda: batch size × concurrency).
    pub max_in_flight: usize,
    /// How long a received message stays hidden: longer than any one message takes.
    pub visibility: Duration,
    /// Delay before a failed message is visible again, by its receive count.
    pub retry_base: Duration,
    pub retry_cap: Duration,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            max_in_flight: 10,
            visibility: Duration::from_secs(15 * 60),
            retry_base: Duration::from_secs(1),
            retry_cap: Duration::from_secs(60),
        }
    }
}

impl ConsumerSettings {
    /// For tests: failures come back at once.
    pub fn immediate_retries() -> Self {
        Self {
            retry_base: Duration::ZERO,
            retry_cap: Duration::ZERO,
            visibility: Duration::from_secs(120),
            ..Self::default()
        }
    }

    fn retry_delay(&self, receive_count: u32) -> Duration {
        self.retry_base.saturating_mul(2u32.saturating_pow(receive_count.min(10))).min(self.retry_cap)
    }
}

/// Handles messages until the queue is empty and nothing is in flight; returns how many messages were handled
/// (deliveries, failed ones included). Failed messages are retried by the queue, and after its maximum receive
/// count go to its dead letters.
pub async fn run_until_idle(
    pipeline: &Pipeline,
    queue: Arc<dyn Queue>,
    settings: ConsumerSettings,
) -> Result<usize, QueueError> {
    run(pipeline, queue, settings, true).await
}

/// Handles messages for ever (the local runner's pds function).
pub async fn run_forever(pipeline: Pipeline, queue: Arc<dyn Queue>, settings: ConsumerSettings) {
    loop {
        if let Err(e) = run(&pipeline, queue.clone(), settings, false).await {
            tracing::error!(error = %e, "cannot read the pds queue");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn run(
    pipeline: &Pipeline,
    queue: Arc<dyn Queue>,
    settings: ConsumerSettings,
    stop_when_idle: bool,
) -> Result<usize, QueueError> {
    let mut in_flight = JoinSet::new();
    let mut handled = 0;
    loop {
        let room = settings.max_in_flight.max(1) - in_flight.len();
        let messages = if room == 0 {
            Vec::new()
        } else {
            // Wait for new messages only when idle; while work is running, look and move on.
            let wait = if in_flight.is_empty() { Duration::from_secs(1) } else { Duration::ZERO };
            queue.receive(room.min(crate::ports::queue::MAX_BATCH), wait, settings.visibility).await?
        };
        if messages.is_empty() {
            match in_flight.join_next().await {
                Some(done) => {
                    handled += 1;
                    if let Err(e) = done {
                        tracing::error!(error = %e, "pds message task failed");
                    }
                }
                None if stop_when_idle => return Ok(handled),
                None => {}
            }
            continue;
        }
        for message in messages {
            let (pipeline, queue) = (pipeline.clone(), queue.clone());
            in_flight.spawn(async move { handle(&pipeline, queue.as_ref(), message, settings).await });
        }
    }
}

async fn handle(pipeline: &Pipeline, queue: &dyn Queue, message: ReceivedMessage, settings: ConsumerSettings) {
    let result = pds_queue::handle_message(pipeline, &message.body).await;
    let acked = match result {
        Ok(()) => queue.ack(&message.receipt).await,
        Err(e) => {
            let delay = settings.retry_delay(message.receive_count);
            tracing::warn!(error = %e, attempt = message.receive_count, ?delay, "pds message will be retried");
            queue.retry_after(&message.receipt, delay).await
        }
    };
    if let Err(e) = acked {
        tracing::error!(error = %e, "cannot acknowledge a pds message");
    }
}

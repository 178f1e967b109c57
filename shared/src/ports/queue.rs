//! Queue: at-least-once delivery with a visibility timeout, retries and a dead-letter queue (SQS semantics).

use std::time::Duration;

use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Stable across redeliveries of the same message.
    pub message_id: String,
    /// Identifies this delivery; needed to acknowledge it.
    pub receipt: String,
    pub body: String,
    /// How many times the message has been received, this delivery included.
    pub receive_count: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue temporarily unavailable: {0}")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("queue rejected the request: {0}")]
    Invalid(String),
}

/// The largest batch `send_batch` and `receive` handle at once (SQS's limit).
pub const MAX_BATCH: usize = 10;

#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends any number of messages (chunked into batches of `MAX_BATCH`).
    async fn send_batch(&self, bodies: Vec<String>) -> Result<(), QueueError>;

    /// Up to `max` messages (at most `MAX_BATCH`), waiting at most `wait` for the first. Each received message is
    /// hidden for `visibility` and comes back if not acknowledged; after the queue's maximum receive count it moves
    /// to the dead-letter queue instead.
    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError>;

    /// Acknowledges (deletes) a delivered message.
    async fn ack(&self, receipt: &str) -> Result<(), QueueError>;

    /// Makes a delivered message visible again after `delay`: a retry with back-off, or, while the message is worked
    /// on, a renewal of its hold (the receipt stays valid).
    async fn retry_after(&self, receipt: &str, delay: Duration) -> Result<(), QueueError>;

    /// Messages currently in the dead-letter queue (for tests and the operator view), without removing them.
    async fn dead_letters(&self, max: usize) -> Result<Vec<String>, QueueError>;
}

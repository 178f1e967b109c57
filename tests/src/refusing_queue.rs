//! A queue that refuses its first sends: to the code sending, the same as a worker dying between its commit and the
//! send (the message never reaches the queue).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use shared::ports::{Queue, QueueError, ReceivedMessage};

pub struct RefusingQueue {
    inner: Arc<dyn Queue>,
    refusals_left: AtomicUsize,
}

impl RefusingQueue {
    /// Refuses the first `refusals` calls to `send_batch`, then passes everything on to `inner`.
    pub fn new(inner: Arc<dyn Queue>, refusals: usize) -> RefusingQueue {
        RefusingQueue { inner, refusals_left: AtomicUsize::new(refusals) }
    }
}

#[async_trait]
impl Queue for RefusingQueue {
    async fn send_batch(&self, bodies: Vec<String>) -> Result<(), QueueError> {
        let refused = self.refusals_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if refused.is_ok() {
            return Err(QueueError::Invalid("refused by the test: the sender died here".into()));
        }
        self.inner.send_batch(bodies).await
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.inner.receive(max, wait, visibility).await
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        self.inner.ack(receipt).await
    }

    async fn retry_after(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        self.inner.retry_after(receipt, delay).await
    }

    async fn dead_letters(&self, max: usize) -> Result<Vec<String>, QueueError> {
        self.inner.dead_letters(max).await
    }
}

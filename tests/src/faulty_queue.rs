//! A queue that fails at random, as SQS does under load: seeded, so a failing run repeats exactly. A send fails
//! before anything is sent, or after the messages went (the sender is told it failed and may send them again); a
//! receive fails before anything is received; an acknowledgement or a retry fails before it reached the queue (the
//! message comes back once its visibility runs out) or after (the caller is told it failed).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use shared::ports::{Queue, QueueError, ReceivedMessage};

use crate::faulty_stores::Dice;

pub struct FaultyQueue {
    inner: Arc<dyn Queue>,
    dice: Dice,
    faults: AtomicUsize,
}

fn unavailable(what: &str) -> QueueError {
    QueueError::Transient(format!("injected: {what}").into())
}

impl FaultyQueue {
    pub fn new(inner: Arc<dyn Queue>, seed: u64, percent: u32) -> Self {
        Self { inner, dice: Dice::new(seed, percent), faults: AtomicUsize::new(0) }
    }

    pub fn faults(&self) -> usize {
        self.faults.load(Ordering::SeqCst)
    }

    /// None: no fault. Some(true): fail before the call; Some(false): fail after it.
    fn roll(&self) -> Option<bool> {
        let fault = self.dice.roll()?;
        self.faults.fetch_add(1, Ordering::SeqCst);
        Some(fault % 2 == 0)
    }
}

#[async_trait]
impl Queue for FaultyQueue {
    async fn send_batch(&self, bodies: Vec<String>) -> Result<(), QueueError> {
        match self.roll() {
            None => self.inner.send_batch(bodies).await,
            Some(true) => Err(unavailable("throttled, nothing sent")),
            Some(false) => {
                self.inner.send_batch(bodies).await?;
                Err(unavailable("timed out after the messages were sent"))
            }
        }
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        match self.roll() {
            None => self.inner.receive(max, wait, visibility).await,
            Some(_) => Err(unavailable("throttled, nothing received")),
        }
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        match self.roll() {
            None => self.inner.ack(receipt).await,
            Some(true) => Err(unavailable("the acknowledgement did not arrive")),
            Some(false) => {
                self.inner.ack(receipt).await?;
                Err(unavailable("timed out after the acknowledgement"))
            }
        }
    }

    async fn retry_after(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        match self.roll() {
            None => self.inner.retry_after(receipt, delay).await,
            Some(true) => Err(unavailable("the retry did not arrive")),
            Some(false) => {
                self.inner.retry_after(receipt, delay).await?;
                Err(unavailable("timed out after the retry"))
            }
        }
    }

    async fn dead_letters(&self, max: usize) -> Result<Vec<String>, QueueError> {
        self.inner.dead_letters(max).await
    }
}

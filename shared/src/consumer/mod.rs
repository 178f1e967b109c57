//! One way to consume a queue, for every function and for the local runner: a [`MessageHandler`] says what one
//! message means and whether its failure is worth another try; [`lambda`] runs it over an SQS event from Lambda's
//! event source mapping, [`polling`] over the [`Queue`] port in-process. Both hold each message only for
//! [`ConsumerSettings::hold`], renewed while it is worked on, so a crashed worker's message is tried again within
//! that time instead of after the queue's whole visibility timeout; both retry with the same back-off, and both end
//! a message that cannot succeed at once ([`MessageHandler::give_up`]) instead of looping it to the dead letters.
//! A message's last delivery before the dead letters is not handled: it ends the work
//! ([`MessageHandler::abandon`]), so that a worker that dies on every delivery (out of memory, out of time) cannot
//! leave an import "Processing" for ever.

pub mod lambda;
pub mod polling;

use std::time::Duration;

use async_trait::async_trait;

use crate::ports::Queue;

/// Whether a failed message is worth another try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Trying again cannot help (a bug, a misconfigured function, data that changed under us): give up now.
    Never,
    /// A transient failure: again after the consumer's back-off.
    Later,
    /// Again once this much time has passed (when another worker's claim runs out).
    After(Duration),
}

/// An error a handler returns, sorted for the consumer.
pub trait Retryable: std::error::Error + Send + Sync {
    fn retry(&self) -> Retry;
}

#[async_trait]
pub trait MessageHandler: Send + Sync + 'static {
    type Error: Retryable;

    /// Handles one message body. Queues deliver at least once, so this must be idempotent.
    async fn handle(&self, body: &str) -> Result<(), Self::Error>;

    /// Called with each renewal of the message's hold: extends whatever else the work holds for it (the claim on an
    /// object or a commit), so that both run out together if the worker dies.
    async fn renew(&self, _body: &str) {}

    /// The message will not be tried again: its error cannot be retried, or its last delivery failed. Records the
    /// failure where the users will see it (an import ends "Failed"). The consumer has logged it already.
    async fn give_up(&self, _body: &str, _error: &Self::Error) {}

    /// The message's last delivery: every earlier one failed or never answered (its worker died), and it is not
    /// handled again. Records the failure where the users will see it, as [`give_up`](Self::give_up) does, unless
    /// the work is done or a live worker still holds it. The consumer has logged it already.
    async fn abandon(&self, _body: &str) {}
}

/// How a consumer takes messages, holds them and retries them.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerSettings {
    /// What the logs call this consumer.
    pub name: &'static str,
    /// Messages handled at once.
    pub max_in_flight: usize,
    /// How long a message stays hidden from other workers while it is handled; renewed every third of it.
    pub hold: Duration,
    /// Delay before a failed message is visible again: `retry_base` × 2^receives, at most `retry_cap`. With the
    /// template's redrive limits (10 receives; fhir 8) a message is retried for an hour or more before it is given up.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// The queue's redrive limit: the delivery with this receive count is the last one, kept for
    /// [`MessageHandler::abandon`] (from a limit of 2), and the one before it the last handled. None when unknown.
    pub max_receives: Option<u32>,
}

impl ConsumerSettings {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            max_in_flight: 1,
            hold: Duration::from_secs(120),
            retry_base: Duration::from_secs(30),
            retry_cap: Duration::from_secs(15 * 60),
            max_receives: None,
        }
    }

    pub fn with_max_in_flight(self, max_in_flight: usize) -> Self {
        Self { max_in_flight: max_in_flight.max(1), ..self }
    }

    pub fn with_max_receives(self, max_receives: Option<u32>) -> Self {
        Self { max_receives, ..self }
    }

    /// For tests: failures come back at once.
    pub fn immediate_retries(self) -> Self {
        Self { retry_base: Duration::ZERO, retry_cap: Duration::ZERO, ..self }
    }

    fn back_off(&self, receive_count: u32) -> Duration {
        self.retry_base.saturating_mul(2u32.saturating_pow(receive_count.min(10))).min(self.retry_cap)
    }

    /// Whether this is the last delivery that is handled: a failure now is given up.
    fn is_last(&self, receive_count: u32) -> bool {
        self.max_receives.is_some_and(|max| receive_count >= max.saturating_sub(1).max(1))
    }

    /// Whether this delivery only ends the work: the redrive limit's own, once a delivery before it was handled.
    fn is_for_abandoning(&self, receive_count: u32) -> bool {
        self.max_receives.is_some_and(|max| max >= 2 && receive_count >= max)
    }
}

/// What the queue should do with a delivery once it has been handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Handled, or given up: delete it.
    Done,
    /// Visible again after this long (or, past the redrive limit, to the dead letters).
    RetryIn(Duration),
}

/// One delivery of a message.
pub(crate) struct Delivery<'a> {
    pub message_id: &'a str,
    pub receipt: &'a str,
    pub body: &'a str,
    pub receive_count: u32,
}

/// Handles one delivery with its hold renewed on `queue` every third of the hold, and decides what becomes of it.
pub(crate) async fn deliver<H: MessageHandler>(
    handler: &H,
    queue: Option<&dyn Queue>,
    delivery: Delivery<'_>,
    settings: &ConsumerSettings,
) -> Verdict {
    let (consumer, message_id, attempt) = (settings.name, delivery.message_id, delivery.receive_count);
    if settings.is_for_abandoning(attempt) {
        // A failure of the delivery before was given up already: this one ends the work in case its worker died.
        tracing::error!(
            consumer,
            message_id,
            attempt,
            "retries ran out without an answer: abandoned, to the dead letters"
        );
        handler.abandon(delivery.body).await;
        return Verdict::RetryIn(Duration::ZERO);
    }
    let result = held(handler, queue, &delivery, settings).await;
    let Err(error) = result else { return Verdict::Done };
    match error.retry() {
        Retry::Never => {
            tracing::error!(consumer, message_id, attempt, error = %error, "message failed for good");
            handler.give_up(delivery.body, &error).await;
            Verdict::Done
        }
        retry => {
            // Waiting for another worker's claim also backs off: a live holder keeps renewing it.
            let delay = match retry {
                Retry::After(delay) => delay.max(settings.back_off(attempt)),
                _ => settings.back_off(attempt),
            };
            if settings.is_last(attempt) {
                tracing::error!(consumer, message_id, attempt, error = %error, "retries ran out: given up");
                handler.give_up(delivery.body, &error).await;
            } else {
                tracing::warn!(consumer, message_id, attempt, ?delay, error = %error, "message will be retried");
            }
            Verdict::RetryIn(delay)
        }
    }
}

/// Handles `body` as [`deliver`] does, renewing the handler's claims, for work that no queue delivered (an S3
/// notification handed to the function directly).
pub async fn with_renewals<H: MessageHandler>(
    handler: &H,
    body: &str,
    settings: &ConsumerSettings,
) -> Result<(), H::Error> {
    let delivery = Delivery { message_id: "", receipt: "", body, receive_count: 1 };
    held(handler, None, &delivery, settings).await
}

/// Handles the delivery, keeping it hidden on `queue` for `settings.hold` from each renewal, and the handler's own
/// claims with it. A failed renewal is logged and the work goes on: at worst the message is delivered twice, which
/// every handler allows.
async fn held<H: MessageHandler>(
    handler: &H,
    queue: Option<&dyn Queue>,
    delivery: &Delivery<'_>,
    settings: &ConsumerSettings,
) -> Result<(), H::Error> {
    let work = handler.handle(delivery.body);
    let period = (settings.hold / 3).max(Duration::from_millis(10));
    let mut renewals = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    renewals.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = renewals.tick() => {
                // The work waits while these run: each bounded, so a slow queue or store cannot stall it or the other.
                let hold = async {
                    let Some(queue) = queue else { return };
                    match tokio::time::timeout(period, queue.retry_after(delivery.receipt, settings.hold)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!(consumer = settings.name, error = %e, "cannot renew a hold"),
                        Err(_) => tracing::warn!(consumer = settings.name, "renewing a hold took too long"),
                    }
                };
                let claims = async {
                    if tokio::time::timeout(period, handler.renew(delivery.body)).await.is_err() {
                        tracing::warn!(consumer = settings.name, "renewing the work's claims took too long");
                    }
                };
                tokio::join!(hold, claims);
            }
        }
    }
}

#[cfg(test)]
mod tests;

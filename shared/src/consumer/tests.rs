use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::*;
use crate::adapters::embedded_queue::EmbeddedQueue;

/// A handler whose messages say what becomes of them: "ok", "transient", "permanent", "flaky" (fails twice, then
/// succeeds), "slow:MS" (takes MS milliseconds, then succeeds).
#[derive(Default)]
struct Scripted {
    attempts: Mutex<HashMap<String, u32>>,
    given_up: Mutex<Vec<String>>,
    abandoned: Mutex<Vec<String>>,
    renewals: Mutex<u32>,
}

#[derive(Debug, thiserror::Error)]
#[error("scripted {0:?}")]
struct ScriptedError(Retry);

impl Retryable for ScriptedError {
    fn retry(&self) -> Retry {
        self.0
    }
}

impl Scripted {
    fn attempts(&self, body: &str) -> u32 {
        self.attempts.lock().unwrap().get(body).copied().unwrap_or(0)
    }

    fn given_up(&self) -> Vec<String> {
        self.given_up.lock().unwrap().clone()
    }

    fn abandoned(&self) -> Vec<String> {
        self.abandoned.lock().unwrap().clone()
    }
}

#[async_trait]
impl MessageHandler for Scripted {
    type Error = ScriptedError;

    async fn handle(&self, body: &str) -> Result<(), ScriptedError> {
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            let n = attempts.entry(body.to_owned()).or_default();
            *n += 1;
            *n
        };
        if let Some(ms) = body.strip_prefix("slow:") {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
            return Ok(());
        }
        match body {
            "ok" => Ok(()),
            "flaky" if attempt > 2 => Ok(()),
            "flaky" | "transient" => Err(ScriptedError(Retry::Later)),
            _ => Err(ScriptedError(Retry::Never)),
        }
    }

    async fn renew(&self, _body: &str) {
        *self.renewals.lock().unwrap() += 1;
    }

    async fn give_up(&self, body: &str, _error: &ScriptedError) {
        self.given_up.lock().unwrap().push(body.to_owned());
    }

    async fn abandon(&self, body: &str) {
        self.abandoned.lock().unwrap().push(body.to_owned());
    }
}

/// The redrive limit of these tests' queues: three deliveries handled, the fourth kept for abandoning.
const MAX_RECEIVES: u32 = 4;

fn settings() -> ConsumerSettings {
    ConsumerSettings::new("test").with_max_in_flight(4).with_max_receives(Some(MAX_RECEIVES)).immediate_retries()
}

async fn queue_with(bodies: &[&str]) -> Arc<EmbeddedQueue> {
    let queue = Arc::new(EmbeddedQueue::in_memory(MAX_RECEIVES).expect("queue"));
    queue.send_batch(bodies.iter().map(|b| b.to_string()).collect()).await.expect("send");
    queue
}

#[tokio::test]
async fn when_messages_succeed_or_fail_should_retry_only_the_transient_and_give_up_on_the_rest_once() {
    let queue = queue_with(&["ok", "flaky", "permanent", "transient"]).await;
    let handler = Arc::new(Scripted::default());

    let handled = polling::run_until_idle(handler.clone(), queue.clone(), settings()).await.expect("run");

    assert_eq!(handler.attempts("ok"), 1);
    assert_eq!(handler.attempts("flaky"), 3, "retried until it succeeded");
    assert_eq!(handler.attempts("permanent"), 1, "never retried");
    assert_eq!(handler.attempts("transient"), 3, "handled on every delivery but the redrive limit's own");
    assert_eq!(handled, 9, "the transient one delivered once more, to be abandoned");
    let mut given_up = handler.given_up();
    given_up.sort();
    assert_eq!(given_up, ["permanent", "transient"], "each given up once: at once, or on its last handled delivery");
    assert_eq!(handler.abandoned(), ["transient"], "then abandoned on the delivery kept for it");
    assert_eq!(queue.dead_letters(10).await.expect("dead letters"), ["transient"], "only retries that ran out");
    assert_eq!(queue.pending().await.expect("pending"), 0);
}

#[tokio::test]
async fn when_work_outlasts_the_hold_should_renew_it_so_that_no_other_worker_receives_the_message() {
    let queue = queue_with(&["slow:1200"]).await;
    let handler = Arc::new(Scripted::default());
    let settings = ConsumerSettings { hold: Duration::from_millis(300), ..settings() };

    let consumer = tokio::spawn(polling::run_until_idle(handler.clone(), queue.clone(), settings));
    let mut seen_by_another_worker = 0;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen_by_another_worker += queue.receive(1, Duration::ZERO, Duration::from_secs(60)).await.unwrap().len();
    }
    consumer.await.unwrap().expect("run");

    assert_eq!(seen_by_another_worker, 0, "the hold was renewed every third of it");
    assert!(*handler.renewals.lock().unwrap() >= 3, "the handler's claims renewed with it");
    assert_eq!(handler.attempts("slow:1200"), 1);
    assert_eq!(queue.pending().await.expect("pending"), 0);
}

#[tokio::test]
async fn when_an_sqs_event_has_failures_should_name_only_the_retried_messages_and_make_them_visible_after_back_off() {
    let queue = queue_with(&["ok", "transient", "permanent"]).await;
    // As the event source mapping receives: under the queue's own (long) visibility timeout.
    let received = queue.receive(10, Duration::ZERO, Duration::from_secs(3600)).await.expect("receive");
    let transient_id = received.iter().find(|m| m.body == "transient").unwrap().message_id.clone();
    let handler = Scripted::default();

    let response =
        lambda::handle_sqs_event(&handler, Some(queue.as_ref()), lambda::event_of(&received), &settings()).await;

    let named: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(named, [transient_id.as_str()]);
    assert_eq!(handler.given_up(), ["permanent"]);
    let again = queue.receive(10, Duration::ZERO, Duration::from_secs(60)).await.expect("receive again");
    let bodies: Vec<&str> = again.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["transient"], "visible again after the back-off, not the queue's hour");
}

#[tokio::test]
async fn when_an_invocation_dies_mid_message_should_have_it_delivered_again_after_the_hold_not_the_queues_timeout() {
    let queue = queue_with(&["slow:60000"]).await;
    let received = queue.receive(1, Duration::ZERO, Duration::from_secs(3600)).await.expect("receive");
    let handler = Scripted::default();
    let settings = ConsumerSettings { hold: Duration::from_millis(500), ..settings() };

    let invocation = lambda::handle_sqs_event(&handler, Some(queue.as_ref()), lambda::event_of(&received), &settings);
    let died = tokio::time::timeout(Duration::from_millis(700), invocation).await;
    assert!(died.is_err(), "the invocation was stopped mid-message");

    let mut redelivered = Vec::new();
    for _ in 0..20 {
        redelivered = queue.receive(1, Duration::ZERO, Duration::from_secs(60)).await.expect("receive");
        if !redelivered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(redelivered.len(), 1, "delivered again within the hold of its last renewal");
    assert_eq!(redelivered[0].receive_count, 2);
}

#[tokio::test]
async fn when_the_worker_dies_on_every_delivery_should_abandon_the_message_on_its_last_and_dead_letter_it() {
    let queue = queue_with(&["slow:60000"]).await;
    let handler = Scripted::default();
    let settings = ConsumerSettings { hold: Duration::from_millis(200), ..settings() };

    let mut deliveries = 0;
    let response = loop {
        let received = queue.receive(1, Duration::from_secs(2), Duration::from_secs(3600)).await.expect("receive");
        assert_eq!(received.len(), 1, "delivered again after the dead worker's hold");
        deliveries += 1;
        let invocation =
            lambda::handle_sqs_event(&handler, Some(queue.as_ref()), lambda::event_of(&received), &settings);
        // The invocation dies mid-message (out of time, out of memory) unless it answers at once.
        if let Ok(response) = tokio::time::timeout(Duration::from_millis(300), invocation).await {
            break response;
        }
        assert!(deliveries < MAX_RECEIVES, "still handled on the delivery kept for abandoning");
    };

    assert_eq!(deliveries, MAX_RECEIVES);
    assert_eq!(handler.attempts("slow:60000"), MAX_RECEIVES - 1, "the last delivery is not handled");
    assert_eq!(handler.abandoned(), ["slow:60000"]);
    assert!(handler.given_up().is_empty(), "no delivery answered, so none failed");
    assert_eq!(response.batch_item_failures.len(), 1, "left for the queue to dead-letter");
    let after = queue.receive(1, Duration::from_millis(500), Duration::from_secs(60)).await.expect("receive after");
    assert!(after.is_empty(), "not delivered again");
    assert_eq!(queue.dead_letters(10).await.expect("dead letters"), ["slow:60000"]);
}

#[test]
fn back_off_should_double_from_the_base_up_to_the_cap() {
    let settings = ConsumerSettings::new("test");
    let delays: Vec<u64> = (1..=7).map(|n| settings.back_off(n).as_secs()).collect();
    assert_eq!(delays, [60, 120, 240, 480, 900, 900, 900]);
    let ten_receives: u64 = (1..10).map(|n| settings.back_off(n).as_secs()).sum();
    assert!(ten_receives > 3600, "over an hour of retries: {ten_receives} s");
    assert!(!settings.is_last(100), "no redrive limit known: never the last");
    assert!(!settings.is_for_abandoning(100));
    let limited = settings.with_max_receives(Some(5));
    assert_eq!((limited.is_last(3), limited.is_last(4), limited.is_for_abandoning(4)), (false, true, false));
    assert!(limited.is_for_abandoning(5));
    let once = settings.with_max_receives(Some(1));
    assert!(once.is_last(1) && !once.is_for_abandoning(1), "a single delivery is handled");
}

//! The [`Queue`] contract: SQS semantics that the pipeline's retries rely on, held against both the embedded queue
//! and SQS.
//!
//! Each check asks the factory for a fresh, empty queue (for SQS: a new uniquely named queue pair, so checks can run
//! in parallel against one shared emulator). Timeouts are short (1-2 s) and every "comes back" assertion polls up to
//! a deadline, because emulators deliver up to about a second late.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

use crate::ports::queue::{MAX_BATCH, Queue, ReceivedMessage};

/// Makes a fresh, empty queue whose redrive sends a message to the dead letters after `max_receive_count` receives
/// (the value given to [`run_all`] and [`dead_letters_after_max_receives`]).
pub type QueueFactory = dyn Fn() -> BoxFuture<'static, Arc<dyn Queue>> + Send + Sync;

const LONG: Duration = Duration::from_secs(30);
/// How late an emulator may be, on top of the timeout being waited for.
const SLACK: Duration = Duration::from_secs(5);

/// Runs every check in turn, each on a fresh queue.
pub async fn run_all(fresh: &QueueFactory, max_receive_count: u32) {
    batch_is_received_exactly_once(fresh).await;
    unacked_message_comes_back_after_visibility_timeout(fresh).await;
    retry_after_zero_makes_message_visible_now(fresh).await;
    dead_letters_after_max_receives(fresh, max_receive_count).await;
    long_poll_returns_when_a_message_arrives(fresh).await;
}

/// Receives (without acking) until at least one message arrives or `within` passes.
async fn receive_within(queue: &dyn Queue, within: Duration, visibility: Duration) -> Vec<ReceivedMessage> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let wait = left.min(Duration::from_secs(1));
        let got = queue.receive(MAX_BATCH, wait, visibility).await.expect("receive");
        if !got.is_empty() || Instant::now() >= deadline {
            return got;
        }
    }
}

fn unique_bodies(n: usize) -> Vec<String> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    (0..n).map(|i| format!("{{\"check\":\"{run}\",\"n\":{i}}}")).collect()
}

pub async fn batch_is_received_exactly_once(fresh: &QueueFactory) {
    let queue = fresh().await;
    let sent = unique_bodies(25);
    queue.send_batch(sent.clone()).await.expect("send 25");

    let mut seen = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.len() < sent.len() && Instant::now() < deadline {
        for message in queue.receive(MAX_BATCH, Duration::from_secs(1), LONG).await.expect("receive") {
            assert_eq!(message.receive_count, 1, "first delivery");
            assert!(seen.insert(message.body.clone()), "message delivered twice");
            queue.ack(&message.receipt).await.expect("ack");
        }
    }
    let expected: HashSet<String> = sent.into_iter().collect();
    assert_eq!(seen, expected, "every message, and nothing else, exactly once");
    let left = queue.receive(MAX_BATCH, Duration::from_secs(1), LONG).await.expect("receive after acks");
    assert!(left.is_empty(), "acked messages must not come back");
}

pub async fn unacked_message_comes_back_after_visibility_timeout(fresh: &QueueFactory) {
    let queue = fresh().await;
    queue.send_batch(unique_bodies(1)).await.expect("send");
    // 2 s rather than 1 s so that the "still hidden" look below cannot race the timeout on a busy machine.
    let first = receive_within(queue.as_ref(), SLACK, Duration::from_secs(2)).await;
    assert_eq!(first.len(), 1, "first delivery");
    assert_eq!(first[0].receive_count, 1);
    let hidden = queue.receive(1, Duration::ZERO, LONG).await.expect("receive while hidden");
    assert!(hidden.is_empty(), "an unacked message stays hidden during its visibility timeout");

    let again = receive_within(queue.as_ref(), Duration::from_secs(2) + SLACK, LONG).await;
    assert_eq!(again.len(), 1, "the unacked message must come back after its visibility timeout");
    assert_eq!(again[0].message_id, first[0].message_id, "same message");
    assert_eq!(again[0].body, first[0].body);
    assert_eq!(again[0].receive_count, 2, "second delivery");
    assert_ne!(again[0].receipt, first[0].receipt, "each delivery has its own receipt");
    queue.ack(&again[0].receipt).await.expect("ack");
    assert!(queue.receive(1, Duration::from_secs(1), LONG).await.expect("receive").is_empty());
}

pub async fn retry_after_zero_makes_message_visible_now(fresh: &QueueFactory) {
    let queue = fresh().await;
    queue.send_batch(unique_bodies(1)).await.expect("send");
    let first = receive_within(queue.as_ref(), SLACK, LONG).await;
    assert_eq!(first.len(), 1);
    queue.retry_after(&first[0].receipt, Duration::ZERO).await.expect("retry_after(0)");
    // Well inside the 30 s visibility timeout: only retry_after can have made it visible.
    let again = receive_within(queue.as_ref(), SLACK, LONG).await;
    assert_eq!(again.len(), 1, "retry_after(0) must make the message visible at once");
    assert_eq!(again[0].message_id, first[0].message_id);
    assert_eq!(again[0].receive_count, 2);
    queue.ack(&again[0].receipt).await.expect("ack");
}

pub async fn dead_letters_after_max_receives(fresh: &QueueFactory, max_receive_count: u32) {
    let queue = fresh().await;
    let body = unique_bodies(1).remove(0);
    queue.send_batch(vec![body.clone()]).await.expect("send");
    let visibility = Duration::from_secs(1);
    for n in 1..=max_receive_count {
        let got = receive_within(queue.as_ref(), visibility + SLACK, visibility).await;
        assert_eq!(got.len(), 1, "delivery {n} of {max_receive_count}");
        assert_eq!(got[0].receive_count, n);
    }
    // The next receive attempt after the last visibility timeout is what moves it (as on SQS).
    let deadline = Instant::now() + visibility + SLACK * 2;
    loop {
        let got = queue.receive(1, Duration::from_secs(1), visibility).await.expect("receive");
        assert!(got.is_empty(), "received {} times: must be dead-lettered, not delivered", max_receive_count + 1);
        if queue.dead_letters(10).await.expect("dead_letters").contains(&body) {
            break;
        }
        assert!(Instant::now() < deadline, "message never reached the dead letters");
    }
    let after = queue.receive(1, Duration::from_secs(2), visibility).await.expect("receive after dead-lettering");
    assert!(after.is_empty(), "a dead letter is no longer delivered");
    assert!(queue.dead_letters(10).await.expect("dead_letters").contains(&body), "peeking does not remove");
}

pub async fn long_poll_returns_when_a_message_arrives(fresh: &QueueFactory) {
    let queue = fresh().await;
    let body = unique_bodies(1).remove(0);
    let sender = Arc::clone(&queue);
    let late = body.clone();
    let send = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        sender.send_batch(vec![late]).await.expect("send during the wait");
    });
    let started = Instant::now();
    let got = queue.receive(1, Duration::from_secs(10), LONG).await.expect("long poll");
    let waited = started.elapsed();
    send.await.expect("sender task");
    assert_eq!(got.len(), 1, "the long poll must return the message sent during the wait");
    assert_eq!(got[0].body, body);
    assert!(waited < Duration::from_secs(5), "long poll must return early, took {waited:?}");
    queue.ack(&got[0].receipt).await.expect("ack");
}

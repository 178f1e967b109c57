//! The queue contract against the embedded SQLite queue, plus durability and the receipt rules only it has.
//! Runs offline.

use std::sync::Arc;
use std::time::Duration;

use shared::adapters::embedded_queue::EmbeddedQueue;
use shared::contract_tests::queue::{self as contract, QueueFactory};
use shared::ports::queue::{Queue, QueueError};

const MAX_RECEIVES: u32 = 2;

fn in_memory() -> Box<QueueFactory> {
    Box::new(|| {
        Box::pin(async { Arc::new(EmbeddedQueue::in_memory(MAX_RECEIVES).expect("in-memory queue")) as Arc<dyn Queue> })
    })
}

/// Fresh queues in SQLite files (WAL), as the local runner uses them.
fn on_disk(dir: Arc<tempfile::TempDir>) -> Box<QueueFactory> {
    Box::new(move || {
        let path = dir.path().join(format!("{}.sqlite", uuid::Uuid::new_v4()));
        Box::pin(async move {
            Arc::new(EmbeddedQueue::open(path, MAX_RECEIVES).await.expect("open queue")) as Arc<dyn Queue>
        })
    })
}

#[tokio::test]
async fn batch_is_received_exactly_once() {
    contract::batch_is_received_exactly_once(&*in_memory()).await;
}

#[tokio::test]
async fn unacked_message_comes_back_after_visibility_timeout() {
    contract::unacked_message_comes_back_after_visibility_timeout(&*in_memory()).await;
}

#[tokio::test]
async fn retry_after_zero_makes_message_visible_now() {
    contract::retry_after_zero_makes_message_visible_now(&*in_memory()).await;
}

#[tokio::test]
async fn dead_letters_after_max_receives() {
    contract::dead_letters_after_max_receives(&*in_memory(), MAX_RECEIVES).await;
}

#[tokio::test]
async fn long_poll_returns_when_a_message_arrives() {
    contract::long_poll_returns_when_a_message_arrives(&*in_memory()).await;
}

#[tokio::test]
async fn run_all_on_sqlite_files() {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    contract::run_all(&*on_disk(dir), MAX_RECEIVES).await;
}

const LONG: Duration = Duration::from_secs(30);

#[tokio::test]
async fn when_reopened_should_keep_messages_receipts_and_dead_letters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("queue.sqlite");
    let queue = EmbeddedQueue::open(&path, 1).await.unwrap();
    queue.send_batch(vec!["kept".into(), "in flight".into(), "doomed".into()]).await.unwrap();
    let got = queue.receive(3, Duration::ZERO, LONG).await.unwrap();
    assert_eq!(got.len(), 3);
    let doomed = got.iter().find(|m| m.body == "doomed").unwrap();
    queue.retry_after(&doomed.receipt, Duration::ZERO).await.unwrap();
    let kept = got.iter().find(|m| m.body == "kept").unwrap();
    queue.retry_after(&kept.receipt, Duration::ZERO).await.unwrap();
    // "doomed" and "kept" are visible again with receive_count 1 = the limit: the next receive dead-letters both.
    drop(queue);

    let queue = EmbeddedQueue::open(&path, 1).await.unwrap();
    let in_flight = got.iter().find(|m| m.body == "in flight").unwrap();
    assert!(queue.receive(10, Duration::ZERO, LONG).await.unwrap().is_empty(), "over the limit: dead-lettered");
    let mut dead = queue.dead_letters(10).await.unwrap();
    dead.sort();
    assert_eq!(dead, ["doomed", "kept"]);
    assert_eq!(queue.pending().await.unwrap(), 1);
    queue.ack(&in_flight.receipt).await.unwrap();
    assert_eq!(queue.pending().await.unwrap(), 0, "a receipt from before the restart still acks");
}

#[tokio::test]
async fn when_deliveries_are_released_on_reopening_should_deliver_them_again_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("queue.sqlite");
    let queue = EmbeddedQueue::open(&path, 2).await.unwrap();
    queue.send_batch(vec!["in flight".into(), "delayed".into(), "dead".into()]).await.unwrap();
    let got = queue.receive(3, Duration::ZERO, LONG).await.unwrap();
    let delayed = got.iter().find(|m| m.body == "delayed").unwrap();
    queue.retry_after(&delayed.receipt, Duration::from_secs(3600)).await.unwrap();
    let dead = got.iter().find(|m| m.body == "dead").unwrap();
    queue.retry_after(&dead.receipt, Duration::ZERO).await.unwrap();
    let again = queue.receive(1, Duration::ZERO, LONG).await.unwrap();
    assert_eq!(again.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["dead"]);
    queue.retry_after(&again[0].receipt, Duration::ZERO).await.unwrap();
    assert!(queue.receive(1, Duration::ZERO, LONG).await.unwrap().is_empty(), "past the limit: dead-lettered");
    drop(queue);

    let queue = EmbeddedQueue::open(&path, 2).await.unwrap();
    assert!(queue.receive(10, Duration::ZERO, LONG).await.unwrap().is_empty(), "nothing visible before the release");
    assert_eq!(queue.release_deliveries().await.unwrap(), 2);
    let mut released: Vec<_> = queue.receive(10, Duration::ZERO, LONG).await.unwrap();
    released.sort_by(|a, b| a.body.cmp(&b.body));
    let seen: Vec<_> = released.iter().map(|m| (m.body.as_str(), m.receive_count)).collect();
    assert_eq!(seen, [("delayed", 2), ("in flight", 2)]);
    assert_eq!(queue.dead_letters(10).await.unwrap(), ["dead"], "a dead letter stays dead");
    assert_eq!(queue.release_deliveries().await.unwrap(), 2, "the new deliveries are released too");
}

#[tokio::test]
async fn when_acking_with_a_stale_receipt_should_not_delete_the_new_delivery() {
    let queue = EmbeddedQueue::in_memory(5).unwrap();
    queue.send_batch(vec!["m".into()]).await.unwrap();
    let first = queue.receive(1, Duration::ZERO, Duration::ZERO).await.unwrap().remove(0);
    let second = queue.receive(1, Duration::ZERO, LONG).await.unwrap().remove(0);
    assert_eq!(second.receive_count, 2);
    queue.ack(&first.receipt).await.expect("a stale receipt is a no-op, not an error");
    queue.retry_after(&first.receipt, Duration::ZERO).await.expect("likewise for retry_after");
    assert_eq!(queue.pending().await.unwrap(), 1, "the current delivery survives");
    assert!(queue.receive(1, Duration::ZERO, LONG).await.unwrap().is_empty(), "and stays hidden");
    queue.ack(&second.receipt).await.unwrap();
    assert_eq!(queue.pending().await.unwrap(), 0);
}

#[tokio::test]
async fn when_messages_are_sent_should_receive_them_in_send_order() {
    let queue = EmbeddedQueue::in_memory(5).unwrap();
    let bodies: Vec<String> = (0..25).map(|i| format!("m{i:02}")).collect();
    queue.send_batch(bodies.clone()).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.extend(queue.receive(10, Duration::ZERO, LONG).await.unwrap().into_iter().map(|m| m.body));
    }
    assert_eq!(got, bodies);
}

#[tokio::test]
async fn when_arguments_break_sqs_limits_should_be_invalid() {
    fn invalid<T>(result: Result<T, QueueError>) -> bool {
        matches!(result, Err(QueueError::Invalid(_)))
    }
    let queue = EmbeddedQueue::in_memory(5).unwrap();
    assert!(invalid(queue.receive(0, Duration::ZERO, LONG).await));
    assert!(invalid(queue.receive(11, Duration::ZERO, LONG).await));
    assert!(invalid(queue.receive(1, Duration::from_secs(21), LONG).await));
    assert!(invalid(queue.send_batch(vec![String::new()]).await));
    assert!(invalid(queue.send_batch(vec!["x".repeat(256 * 1024 + 1)]).await));
    assert!(matches!(EmbeddedQueue::in_memory(0), Err(QueueError::Invalid(_))));
    queue.send_batch(Vec::new()).await.expect("an empty batch is a no-op");
}

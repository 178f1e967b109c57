//! The queue contract against SQS on an emulator. Runs when `MAVIS_TEST_AWS_ENDPOINT` is set (e.g.
//! `http://127.0.0.1:5000` after `scripts/start-moto.sh`); otherwise each test prints a skip line and passes.
//! Every check gets its own uniquely named queue pair, so the checks run in parallel on one shared emulator.

use std::io::Write;

/// Straight to stderr in one write: the harness captures `eprintln!` of passing tests, and parallel tests would
/// otherwise split the line.
fn skip_line(line: &str) {
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}
use std::sync::Arc;

use shared::adapters::aws::{sdk_config_for, sqs_client};
use shared::adapters::sqs_queue::{SqsQueue, create_queue_with_dlq};
use shared::contract_tests::queue::{self as contract, QueueFactory};
use shared::ports::queue::Queue;

const MAX_RECEIVES: u32 = 2;

/// A factory of fresh queues on the emulator, or `None` (after saying so) when no emulator is configured.
async fn factory(test: &str) -> Option<Box<QueueFactory>> {
    let Ok(endpoint) = std::env::var("MAVIS_TEST_AWS_ENDPOINT") else {
        skip_line(&format!("SKIPPED queue_sqs::{test}: MAVIS_TEST_AWS_ENDPOINT is not set"));
        return None;
    };
    let client = sqs_client(&sdk_config_for(&endpoint).await);
    Some(Box::new(move || {
        let client = client.clone();
        Box::pin(async move {
            let name = format!("mavis-contract-{}", uuid::Uuid::new_v4().simple());
            let (url, dlq_url) = create_queue_with_dlq(&client, &name, MAX_RECEIVES).await.expect("create queues");
            Arc::new(SqsQueue::new(client, url, dlq_url)) as Arc<dyn Queue>
        })
    }))
}

#[tokio::test]
async fn batch_is_received_exactly_once() {
    if let Some(fresh) = factory("batch_is_received_exactly_once").await {
        contract::batch_is_received_exactly_once(&*fresh).await;
    }
}

#[tokio::test]
async fn unacked_message_comes_back_after_visibility_timeout() {
    if let Some(fresh) = factory("unacked_message_comes_back_after_visibility_timeout").await {
        contract::unacked_message_comes_back_after_visibility_timeout(&*fresh).await;
    }
}

#[tokio::test]
async fn retry_after_zero_makes_message_visible_now() {
    if let Some(fresh) = factory("retry_after_zero_makes_message_visible_now").await {
        contract::retry_after_zero_makes_message_visible_now(&*fresh).await;
    }
}

#[tokio::test]
async fn dead_letters_after_max_receives() {
    if let Some(fresh) = factory("dead_letters_after_max_receives").await {
        contract::dead_letters_after_max_receives(&*fresh, MAX_RECEIVES).await;
    }
}

#[tokio::test]
async fn long_poll_returns_when_a_message_arrives() {
    if let Some(fresh) = factory("long_poll_returns_when_a_message_arrives").await {
        contract::long_poll_returns_when_a_message_arrives(&*fresh).await;
    }
}

#[tokio::test]
async fn when_creating_the_same_queues_twice_should_return_the_same_urls() {
    let Ok(endpoint) = std::env::var("MAVIS_TEST_AWS_ENDPOINT") else {
        skip_line("SKIPPED queue_sqs::create_twice: MAVIS_TEST_AWS_ENDPOINT is not set");
        return;
    };
    let client = sqs_client(&sdk_config_for(&endpoint).await);
    let name = format!("mavis-contract-{}", uuid::Uuid::new_v4().simple());
    let first = create_queue_with_dlq(&client, &name, MAX_RECEIVES).await.expect("create");
    let second = create_queue_with_dlq(&client, &name, MAX_RECEIVES).await.expect("create again");
    assert_eq!(first, second);
    assert!(first.1.ends_with("-dlq"));
}

#[tokio::test]
async fn when_a_queue_has_a_redrive_policy_should_read_its_limit_and_none_without_one() {
    let Ok(endpoint) = std::env::var("MAVIS_TEST_AWS_ENDPOINT") else {
        skip_line("SKIPPED queue_sqs::max_receive_count: MAVIS_TEST_AWS_ENDPOINT is not set");
        return;
    };
    let client = sqs_client(&sdk_config_for(&endpoint).await);
    let name = format!("mavis-redrive-{}", uuid::Uuid::new_v4().simple());
    let (url, dlq_url) = create_queue_with_dlq(&client, &name, 7).await.expect("create queues");

    let with_policy = SqsQueue::new(client.clone(), url, dlq_url.clone());
    let dead_letters = SqsQueue::new(client, dlq_url, String::new());

    assert_eq!(with_policy.max_receive_count().await.expect("read"), Some(7));
    assert_eq!(dead_letters.max_receive_count().await.expect("read"), None);
}

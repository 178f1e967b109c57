//! A worker killed after every write of a small import, in turn: its message comes back (its hold ran out), its
//! claim is taken over (its lease ran out), and the retry reaches exactly the end state of an import that never
//! stopped: same status and counts, same patients, nothing twice.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use shared::adapters::embedded_queue::EmbeddedQueue;
use shared::consumer::lambda::{event_of, handle_sqs_event};
use shared::domain::{ImportStatus, Programme};
use shared::pipeline::failed::STOPPED_EACH_TIME;
use shared::pipeline::invocation::{ObjectEvents, consumer_settings};
use shared::pipeline::{Handled, ObjectCreated, Pipeline};
use shared::ports::Queue;
use shared::store::imports;

use crate::crashing_store::CrashingStore;
use crate::fault_scenarios::end_state;
use crate::harness::{Harness, MAX_RECEIVES};
use crate::scenarios::clock_2023;
use crate::vaccination_scenarios::{clock_2025_08_01, with_programmes};

/// More writes than any of these imports makes: reaching it means the loop never got past the last write.
const MOST_WRITES: usize = 400;

/// The S3 notification of `event`, as the queue carries it.
fn notification(event: &ObjectCreated) -> String {
    serde_json::json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": event.bucket}, "object": {"key": event.key, "eTag": event.etag, "size": event.size}}}]})
    .to_string()
}

pub async fn crash_after_every_write<F, Fut>(make: &F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    let child_records = ("child.csv", crate::fixture("cohort_import/valid.csv"), clock_2023(), false);
    let vaccinations =
        ("flu.csv", crate::fixture("immunisation_import/point_of_care/valid_flu.csv"), clock_2025_08_01(), true);
    for (name, body, today, flu) in [child_records, vaccinations] {
        let fresh = || async {
            let mut h = make(today).await;
            if flu {
                with_programmes(&mut h, "r1l", &[Programme::Flu]);
            }
            h
        };
        let key = format!("drops/R1L/{name}");
        let baseline = {
            let h = fresh().await;
            let handled = h.pipeline.handle_object_created(&h.put(&key, body.clone()).await).await.expect("baseline");
            let Handled::Processed { import_id, .. } = handled else { panic!("{name}: {handled:?}") };
            end_state(&h, import_id).await
        };
        let settings = consumer_settings().with_max_receives(Some(MAX_RECEIVES));
        let mut crashes = 0;
        for crash_at in 0..=MOST_WRITES {
            assert!(crash_at < MOST_WRITES, "{name}: still crashing after {MOST_WRITES} writes");
            let h = fresh().await;
            let events = EmbeddedQueue::in_memory(MAX_RECEIVES).expect("queue");
            events.send_batch(vec![notification(&h.put(&key, body.clone()).await)]).await.expect("send");
            // Received as the event source mapping does, under the queue's own long visibility timeout.
            let first = events.receive(1, Duration::ZERO, Duration::from_secs(3600)).await.expect("receive");
            let crashing = Arc::new(CrashingStore::new(h.pipeline.records.clone(), crash_at));
            let doomed = ObjectEvents(Pipeline { records: crashing.clone(), ..h.pipeline.clone() });

            let finished = tokio::select! {
                response = handle_sqs_event(&doomed, Some(&events), event_of(&first), &settings) => Some(response),
                () = crashing.crashed() => None,
            };

            if let Some(response) = finished {
                assert!(response.batch_item_failures.is_empty(), "{name}: the run past its last write completed");
                let import = only_import(&h).await;
                assert_eq!(end_state(&h, import).await, baseline, "{name}: no crash");
                break;
            }
            crashes += 1;
            // The dead worker's hold runs out (consumer tests time it) and so does its claim's lease.
            events.retry_after(&first[0].receipt, Duration::ZERO).await.expect("hold ran out");
            h.wait(h.pipeline.settings.claim_lease + chrono::Duration::seconds(1));
            let again = events.receive(1, Duration::ZERO, Duration::from_secs(3600)).await.expect("receive");
            assert_eq!(again.len(), 1, "{name}, crash at write {crash_at}: the message came back");
            let retry = ObjectEvents(h.pipeline.clone());
            let response = handle_sqs_event(&retry, Some(&events), event_of(&again), &settings).await;
            assert!(response.batch_item_failures.is_empty(), "{name}, crash at write {crash_at}: the retry finished");
            let import = only_import(&h).await;
            assert_eq!(end_state(&h, import).await, baseline, "{name}, crash at write {crash_at}");
        }
        assert!(crashes >= 5, "{name}: crashed at {crashes} writes");
        eprintln!("{name}: crashed at each of its {crashes} writes, every retry reached the end state");
    }
}

/// A worker that dies on every delivery of an import (out of memory or out of time, say): the delivery kept for
/// abandoning is not handled but ends the import "Failed" with a reason, and the message goes to the dead letters.
pub async fn die_on_every_delivery<F, Fut>(make: &F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    let h = make(clock_2023()).await;
    let events = EmbeddedQueue::in_memory(MAX_RECEIVES).expect("queue");
    let event = h.put("drops/R1L/child.csv", crate::fixture("cohort_import/valid.csv")).await;
    events.send_batch(vec![notification(&event)]).await.expect("send");
    let settings = consumer_settings().with_max_receives(Some(MAX_RECEIVES));
    for delivery in 1..=MAX_RECEIVES {
        let received = events.receive(1, Duration::ZERO, Duration::from_secs(3600)).await.expect("receive");
        assert_eq!(received.len(), 1, "delivery {delivery}: the message came back");
        assert_eq!(received[0].receive_count, delivery);
        // Each worker dies at the same point of the import.
        let crashing = Arc::new(CrashingStore::new(h.pipeline.records.clone(), 5));
        let doomed = ObjectEvents(Pipeline { records: crashing.clone(), ..h.pipeline.clone() });
        let finished = tokio::select! {
            response = handle_sqs_event(&doomed, Some(&events), event_of(&received), &settings) => Some(response),
            () = crashing.crashed() => None,
        };
        let import = imports::get(h.records(), only_import(&h).await).await.expect("read").expect("import").value;
        if delivery < MAX_RECEIVES {
            assert!(finished.is_none(), "delivery {delivery}: the worker died");
            assert!(!import.status.is_final(), "delivery {delivery}: still being imported, {:?}", import.status);
            events.retry_after(&received[0].receipt, Duration::ZERO).await.expect("hold ran out");
            h.wait(h.pipeline.settings.claim_lease + chrono::Duration::seconds(1));
        } else {
            let response = finished.expect("the last delivery answers at once: it is not handled");
            assert_eq!(response.batch_item_failures.len(), 1, "left for the queue to dead-letter");
            assert_eq!(import.status, ImportStatus::Failed);
            assert_eq!(import.failure_reason.as_deref(), Some(STOPPED_EACH_TIME));
        }
    }
    let after = events.receive(1, Duration::ZERO, Duration::from_secs(60)).await.expect("receive after");
    assert!(after.is_empty(), "not delivered again");
    assert_eq!(events.dead_letters(10).await.expect("dead letters").len(), 1, "kept for a redrive");
}

async fn only_import(h: &Harness) -> uuid::Uuid {
    let (found, _) = imports::list_for_team(h.records(), "r1l", 10, None).await.expect("imports");
    assert_eq!(found.len(), 1, "one import, however often its worker died");
    found[0].id
}

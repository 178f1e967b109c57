//! The scheduled PDS refresh (mavis-import.md §11.4) through the pds function's entry point: an EventBridge schedule
//! event queues the due patients on the pds queue, oldest refresh first, and the pds function's GETs against the PDS
//! emulator apply. Run on both adapter sets (tests/tests/pds_*.rs).

use std::future::Future;
use std::time::Duration;

use chrono::NaiveDate;
use serde_json::json;
use shared::pipeline::pds_queue::invocation::handle_invocation;
use shared::pipeline::pds_queue::{PdsMessage, consumer_settings};

use crate::harness::Harness;
use crate::pds_scenarios::{DECEASED, Pds, RESTRICTED, UNKNOWN, child, with_pds};
use crate::scenarios::clock_2023;

fn schedule_event() -> serde_json::Value {
    json!({ "source": "aws.events", "detail-type": "Scheduled Event", "detail": {} })
}

/// Six children: never refreshed, refreshed two days ago, 13 hours ago (restricted in PDS), an hour ago, deceased,
/// and without an NHS number. The first three are queued in that order; their GETs apply; a second run queues none.
pub async fn scheduled_refresh_queues_the_due_oldest_first(h: &Harness, pds: &Pds) {
    let dob = NaiveDate::from_ymd_opt(2012, 1, 1).expect("date");
    let now = h.now();
    let never = child("Nia", "Sched", dob, "9000000009");
    let mut days = child("Dai", "Sched", dob, "9000000017");
    days.updated_from_pds_at = Some(now - chrono::Duration::days(2));
    let mut hours = child("Rin", "Sched", dob, RESTRICTED);
    hours.updated_from_pds_at = Some(now - chrono::Duration::hours(13));
    let mut recent = child("Rey", "Sched", dob, UNKNOWN);
    recent.updated_from_pds_at = Some(now - chrono::Duration::hours(1));
    let mut deceased = child("Ded", "Sched", dob, DECEASED);
    deceased.date_of_death = NaiveDate::from_ymd_opt(2024, 1, 1);
    let mut no_number = child("Non", "Sched", dob, "9000000033");
    no_number.attributes.nhs_number = None;
    // Written in shuffled order, so that only the index gives the oldest-first order.
    for patient in [&recent, &hours, &no_number, &never, &deceased, &days] {
        h.existing_patient(patient).await;
    }

    let answer = handle_invocation(&h.pipeline, None, &consumer_settings(), schedule_event()).await.expect("answer");
    assert_eq!(answer, json!({ "enqueued": 3 }));
    let queued = h.pds_queue.receive(10, Duration::from_secs(1), Duration::from_secs(30)).await.expect("receive");
    assert_eq!(queued.len(), 1, "one page of refreshes");
    let message: PdsMessage = serde_json::from_str(&queued[0].body).expect("pds message");
    assert_eq!(message, PdsMessage::RefreshPatients { patient_ids: vec![never.id, days.id, hours.id] });
    h.pds_queue.retry_after(&queued[0].receipt, Duration::ZERO).await.expect("put back");

    h.run_pds_queue().await;
    assert_eq!(pds.get_numbers().await, ["9000000009", "9000000017", RESTRICTED], "one GET per due patient");
    for id in [never.id, days.id, hours.id] {
        let refreshed = h.patient(id).await.updated_from_pds_at.expect("refreshed");
        assert!(refreshed >= now, "the GET applied");
    }
    assert!(h.patient(hours.id).await.restricted_at.is_some(), "PDS's answer applied: restricted");
    assert_eq!(h.patient(recent.id).await.updated_from_pds_at, recent.updated_from_pds_at, "left alone");

    let again = handle_invocation(&h.pipeline, None, &consumer_settings(), schedule_event()).await.expect("answer");
    assert_eq!(again, json!({ "enqueued": 0 }), "everyone was refreshed within 12 hours");
}

/// Every scenario on a fresh harness and emulator.
pub async fn all<F, Fut>(make: F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    let pds = Pds::start().await;
    scheduled_refresh_queues_the_due_oldest_first(&with_pds(&make, clock_2023(), &pds).await, &pds).await;
}

//! The committed events under events/ drive the import function's handler as Lambda would deliver them.

use integration_tests::harness::Harness;
use integration_tests::scenarios::clock_2023;
use serde_json::Value;
use shared::pipeline::{invocation, parse_notification};
use shared::store::imports;

fn event(name: &str) -> Value {
    let path = format!("{}/../events/import-file/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("event file")).expect("event JSON")
}

#[test]
fn when_s3_event_has_plus_for_space_should_decode_the_key() {
    let events = parse_notification(&event("s3-drop.json").to_string()).expect("parses");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].key, "drops/R1L/cohort 2026-11-21.csv");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_sqs_event_carries_a_drop_should_import_it_and_report_no_failures() {
    let h = Harness::embedded(clock_2023()).await;
    h.put("drops/R1L/cohort 2026-11-21.csv", integration_tests::fixture("cohort_import/valid.csv")).await;

    let response = invocation::handle_invocation(&h.pipeline, event("sqs-s3-drop.json")).await.expect("handled");

    assert_eq!(response["batchItemFailures"], serde_json::json!([]));
    let (imports, _) = imports::list_for_team(h.records(), "r1l", 10, None).await.expect("list");
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0].status, shared::domain::ImportStatus::Processed);
    assert_eq!(imports[0].filename.as_deref(), Some("cohort 2026-11-21.csv"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_object_is_missing_should_report_the_message_as_failed() {
    let h = Harness::embedded(clock_2023()).await;

    let response = invocation::handle_invocation(&h.pipeline, event("sqs-s3-drop.json")).await.expect("handled");

    let failures = response["batchItemFailures"].as_array().expect("list");
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["itemIdentifier"], "059f36b4-87a3-44ab-83d2-661975830a7d");
}

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

/// The import function's handler, as its main calls it (no source queue: the events' receipts are made up).
async fn import_function(h: &Harness, event: Value) -> Value {
    invocation::handle_invocation(&h.pipeline, None, &invocation::consumer_settings(), event).await.expect("handled")
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

    let response = import_function(&h, event("sqs-s3-drop.json")).await;

    assert_eq!(response["batchItemFailures"], serde_json::json!([]));
    let (imports, _) = imports::list_for_team(h.records(), "r1l", 10, None).await.expect("list");
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0].status, shared::domain::ImportStatus::Processed);
    assert_eq!(imports[0].filename.as_deref(), Some("cohort 2026-11-21.csv"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_object_is_missing_should_acknowledge_the_message_without_an_import() {
    let h = Harness::embedded(clock_2023()).await;

    let response = import_function(&h, event("sqs-s3-drop.json")).await;

    // The object was deleted after its event was sent: no retry can find it.
    assert_eq!(response["batchItemFailures"], serde_json::json!([]));
    let (imports, _) = imports::list_for_team(h.records(), "r1l", 10, None).await.expect("list");
    assert!(imports.iter().all(|i| i.status.is_final()), "nothing left processing: {imports:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_aged_out_schedule_fires_should_move_aged_out_pupils_and_answer_how_many() {
    use integration_tests::class_list_scenarios::{LIVERPOOL_ROAD, child, existing_at};
    use shared::domain::patient::SchoolPlacement;
    let h = Harness::embedded(clock_2023()).await;
    // 2023-05-20: Liverpool Road offers years 7–10; a year-11 pupil has aged out, a year-7 pupil has not.
    let at_school = || SchoolPlacement::School { urn: LIVERPOOL_ROAD.into() };
    let year_11 = child("Olivia", "Older", "2007-03-01", at_school());
    let year_7 = child("Yusuf", "Younger", "2011-03-01", at_school());
    existing_at(&h, &year_11, LIVERPOOL_ROAD, 2022).await;
    existing_at(&h, &year_7, LIVERPOOL_ROAD, 2022).await;

    let response = import_function(&h, event("aged-out-schedule.json")).await;

    assert_eq!(response, serde_json::json!({ "moved": 1 }));
    assert_eq!(h.patient(year_11.id).await.school, SchoolPlacement::Unknown);
    assert_eq!(h.patient(year_7.id).await.school, at_school());
    let again = import_function(&h, event("aged-out-schedule.json")).await;
    assert_eq!(again, serde_json::json!({ "moved": 0 }), "moved once");
}

// ---- the pds function's events (events/pds/) ----

mod pds_function {
    use chrono::NaiveDate;
    use integration_tests::harness::{Harness, UploadRequest};
    use integration_tests::pds_scenarios::Pds;
    use integration_tests::scenarios::clock_2023;
    use serde_json::{Value, json};
    use shared::domain::import::ImportPhase;
    use shared::domain::patient::{ChildAttributes, Patient, SchoolPlacement};
    use shared::domain::{AcademicYear, ImportKind, ImportStatus};
    use shared::pipeline::pds_queue::{PdsMessage, consumer_settings, invocation};
    use shared::pipeline::{Handled, pds_queue};
    use std::time::Duration;
    use uuid::Uuid;

    /// The pds function's handler, as its main calls it.
    async fn pds_function(h: &Harness, event: Value) -> Value {
        invocation::handle_invocation(&h.pipeline, None, &consumer_settings(), event).await.expect("handled")
    }

    /// The import and patient the committed events name.
    const IMPORT_ID: &str = "4c0d7a1e-2b35-4f0e-9d6a-3c1f5e8b9a01";
    const PATIENT_ID: &str = "7e3f1c2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b";
    const RESTRICTED: &str = "9000000025";

    fn event(name: &str) -> Value {
        let path = format!("{}/../events/pds/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect("event file")).expect("event JSON")
    }

    async fn with_pds(pds: &Pds) -> Harness {
        let mut h = Harness::embedded(clock_2023()).await;
        h.use_pds(pds.settings());
        h
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn when_pds_event_carries_a_page_should_search_it_and_leave_the_commit_to_the_queue() {
        let pds = Pds::start().await;
        let h = with_pds(&pds).await;
        let import_id: Uuid = IMPORT_ID.parse().unwrap();
        let request = UploadRequest {
            team_id: "r1l",
            uploaded_by: "nurse@example.com",
            kind: ImportKind::ChildRecords,
            school_urn: None,
            year_groups: &[],
        };
        let body = integration_tests::fixture("cohort_import/valid.csv");
        let handled = h.upload_as(import_id, request, "valid.csv", body).await.expect("import function");
        assert_eq!(handled, Handled::Processed { import_id, status: ImportStatus::PendingImport });

        // What the import function sent is what the committed event carries.
        let sent = h.pds_queue.receive(10, Duration::from_secs(1), Duration::from_secs(60)).await.expect("receive");
        assert_eq!(sent.len(), 1, "three rows make one page");
        let committed = event("sqs-search-page.json");
        let committed_body: PdsMessage =
            serde_json::from_str(committed["Records"][0]["body"].as_str().unwrap()).expect("pds message");
        assert_eq!(serde_json::from_str::<PdsMessage>(&sent[0].body).unwrap(), committed_body);
        h.pds_queue.retry_after(&sent[0].receipt, Duration::ZERO).await.expect("back on the queue");

        let response = pds_function(&h, committed).await;
        assert_eq!(response["batchItemFailures"], json!([]));
        assert_eq!(pds.search_statuses().await, [200, 200, 200]);
        let import = h.import(import_id).await;
        assert_eq!(import.status, ImportStatus::PendingImport, "'Processing' until the commit message is handled");
        assert_eq!(import.progress.map(|p| (p.phase, p.done, p.total)), Some((ImportPhase::Pds, 3, 3)));
        let api = integration_tests::api::Api::over(&h);
        let (status, body) = api.get(&format!("/api/imports/{import_id}"), "nurse@example.com").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status_tag"], "Processing");
        assert_eq!(
            body["progress"],
            json!({"phase": "pds", "done": 3, "total": 3, "text": "3 of 3 records checked with PDS"})
        );

        // The queue now holds the page again (a redelivery) and the commit: the page is not searched twice, and the
        // commit happens once.
        h.run_pds_queue().await;
        assert_eq!(pds.search_statuses().await, [200, 200, 200]);
        let import = h.import(import_id).await;
        assert_eq!(import.status, ImportStatus::Processed);
        assert_eq!(import.counts.map(|c| c.new), Some(3));
        let again = PdsMessage::CommitImport { import_id }.body();
        pds_queue::handle_message(&h.pipeline, &again).await.expect("a late commit is acknowledged");
        assert_eq!(h.import(import_id).await.counts.map(|c| c.new), Some(3), "committed once");
        assert_eq!(h.patients_of(&import).await.len(), 3);
    }

    fn restricted_child() -> Patient {
        let now = integration_tests::support::long_ago();
        Patient {
            team_ids: vec!["r1l".into()],
            ..Patient::new(
                PATIENT_ID.parse().unwrap(),
                ChildAttributes {
                    given_name: Some("Rhea".into()),
                    family_name: Some("Quorvex".into()),
                    nhs_number: Some(RESTRICTED.into()),
                    date_of_birth: NaiveDate::from_ymd_opt(2010, 3, 1),
                    birth_academic_year: Some(AcademicYear(2009)),
                    address_postcode: Some("LS1 1AA".into()),
                    ..ChildAttributes::default()
                },
                SchoolPlacement::School { urn: "123456".into() },
                now,
            )
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn when_pds_fails_a_refresh_should_report_only_that_message_then_apply_it_on_redelivery() {
        let pds = Pds::start().await;
        let h = with_pds(&pds).await;
        h.existing_patient(&restricted_child()).await;
        pds.control(reqwest::Method::POST, "faults", Some(json!({"rate_500": 1.0}))).await;

        let response = pds_function(&h, event("sqs-refresh-patients.json")).await;

        // The second message names a patient that does not exist: nothing to do, so it is acknowledged.
        assert_eq!(
            response["batchItemFailures"],
            json!([{ "itemIdentifier": "8d2e4f60-7a1b-4c3d-9e5f-6a7b8c9d0e1f" }])
        );
        assert!(h.patient(PATIENT_ID.parse().unwrap()).await.restricted_at.is_none(), "nothing changed");

        pds.control(reqwest::Method::DELETE, "faults", None).await;
        let response = pds_function(&h, event("sqs-refresh-patients.json")).await;
        assert_eq!(response["batchItemFailures"], json!([]));
        assert!(h.patient(PATIENT_ID.parse().unwrap()).await.restricted_at.is_some(), "flagged by the refresh");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn when_pds_message_is_not_ours_should_drop_it_without_failing() {
        let pds = Pds::start().await;
        let h = with_pds(&pds).await;
        let mut batch = event("sqs-refresh-patients.json");
        batch["Records"][0]["body"] = json!("{\"Records\": []}");
        batch["Records"].as_array_mut().unwrap().truncate(1);

        let response = pds_function(&h, batch).await;

        assert_eq!(response["batchItemFailures"], json!([]));
    }
}

//! Runtime fault injection, the shared rate limit and the request log, over HTTP.

mod common;

use std::time::{Duration, Instant};

use common::{Harness, json, open, outcome_code};
use serde_json::{Value, json};

async fn set_faults(pds: &Harness, faults: Value) -> reqwest::Response {
    pds.client.post(pds.admin_url("/faults")).json(&faults).send().await.unwrap()
}

async fn statuses(pds: &Harness, count: usize) -> Vec<u16> {
    let mut statuses = Vec::with_capacity(count);
    for _ in 0..count {
        statuses.push(pds.get_patient("9000000009").await.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn injected_429_and_500_arrive_at_roughly_the_configured_rates() {
    let pds = open().await;
    assert_eq!(set_faults(&pds, json!({"rate_429": 0.3, "rate_500": 0.2})).await.status(), 200);
    let seen = statuses(&pds, 400).await;
    let count = |status| seen.iter().filter(|s| **s == status).count();
    // expected 120 and 80; the bounds are about five standard deviations wide
    assert!((75..=165).contains(&count(429)), "429s: {}", count(429));
    assert!((40..=120).contains(&count(500)), "500s: {}", count(500));
    assert_eq!(count(200) + count(429) + count(500), 400);
}

#[tokio::test]
async fn fault_bodies_are_operation_outcomes_and_503_says_retry_after() {
    let pds = open().await;
    for (rate, status, code) in [
        ("rate_429", 429, "TOO_MANY_REQUESTS"),
        ("rate_500", 500, "UNKNOWN_ERROR"),
        ("rate_503", 503, "SERVICE_UNAVAILABLE"),
        ("rate_408", 408, "UNABLE_TO_CALL_SERVICE"),
    ] {
        set_faults(&pds, json!({rate: 1.0})).await;
        let response = pds.get_patient("9000000009").await;
        assert_eq!(response.status().as_u16(), status);
        assert!(response.headers().contains_key("x-request-id"));
        assert_eq!(response.headers().get("retry-after").is_some(), status == 503, "{rate}");
        assert_eq!(outcome_code(&json(response).await), code);
    }
    assert_eq!(pds.client.delete(pds.admin_url("/faults")).send().await.unwrap().status(), 204);
    assert!(statuses(&pds, 20).await.iter().all(|s| *s == 200));
}

#[tokio::test]
async fn a_seed_makes_faults_repeatable() {
    let faults = json!({"rate_429": 0.25, "rate_500": 0.25, "seed": 42});
    let mut runs = Vec::new();
    for _ in 0..2 {
        let pds = open().await;
        set_faults(&pds, faults.clone()).await;
        runs.push(statuses(&pds, 60).await);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&429) && runs[0].contains(&500) && runs[0].contains(&200));
}

#[tokio::test]
async fn latency_delays_every_response() {
    let pds = open().await;
    set_faults(&pds, json!({"latency_ms": 200})).await;
    let started = Instant::now();
    assert_eq!(pds.get_patient("9000000009").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn the_rate_limit_holds_across_concurrent_callers() {
    let pds = open().await;
    set_faults(&pds, json!({"rate_limit_per_second": 20})).await;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..60 {
        let client = pds.client.clone();
        let url = pds.pds_url("/Patient/9000000009");
        tasks.spawn(async move {
            let request = client.get(url).header("x-request-id", uuid::Uuid::new_v4().to_string());
            request.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
        });
    }
    let results = tasks.join_all().await;
    let elapsed = started.elapsed().as_secs_f64();
    let ok = results.iter().filter(|s| **s == 200).count();
    let limited = results.iter().filter(|s| **s == 429).count();
    assert_eq!(ok + limited, 60);
    let allowed = 20 + (elapsed * 20.0).ceil() as usize;
    assert!((20..=allowed).contains(&ok), "{ok} succeeded in {elapsed:.3}s, at most {allowed} allowed");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(statuses(&pds, 10).await.iter().all(|s| *s == 200), "the bucket refills");
}

#[tokio::test]
async fn fault_settings_are_validated_and_readable() {
    let pds = open().await;
    for bad in [
        json!({"rate_429": 1.5}),
        json!({"rate_429": 0.7, "rate_500": 0.7}),
        json!({"rate_limit_per_second": 0}),
        json!({"rate_42": 0.1}),
    ] {
        let response = set_faults(&pds, bad.clone()).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert!(json(response).await["error"].is_string());
    }
    set_faults(&pds, json!({"rate_429": 0.05, "rate_500": 0.05, "latency_ms": 10, "rate_limit_per_second": 50})).await;
    let current = json(pds.client.get(pds.admin_url("/faults")).send().await.unwrap()).await;
    assert_eq!(current["rate_429"], 0.05);
    assert_eq!(current["rate_limit_per_second"], 50.0);
}

#[tokio::test]
async fn the_request_log_records_what_pds_received() {
    let pds = open().await;
    let search = |postcode: &'static str| {
        [
            ("family", "Smith"),
            ("given", "Jimmy"),
            ("birthdate", "eq2010-01-02"),
            ("address-postalcode", postcode),
            ("_history", "true"),
        ]
    };
    pds.search(&search("SW1A 1AA")).await;
    pds.search(&search("SW*")).await;
    pds.get_patient("9990000026").await;
    pds.client.get(pds.admin_url("/faults")).send().await.unwrap(); // admin calls are not logged

    let requests = pds.pds_requests().await;
    assert_eq!(requests.len(), 3, "exactly 3 PDS requests");
    let first = &requests[0];
    assert_eq!(first["method"], "GET");
    assert_eq!(first["path"], "/personal-demographics/FHIR/R4/Patient");
    assert_eq!(first["status"], 200);
    assert!(first["request_id"].is_string() && first["time"].is_string());
    let query = first["query"].as_array().unwrap();
    assert!(query.contains(&json!(["address-postalcode", "SW1A 1AA"])));
    assert!(query.contains(&json!(["birthdate", "eq2010-01-02"])));
    assert!(requests[1]["query"].as_array().unwrap().contains(&json!(["address-postalcode", "SW*"])));
    assert_eq!(requests[2]["path"], "/personal-demographics/FHIR/R4/Patient/9990000026");

    pds.token().await;
    let all = json(pds.client.get(pds.admin_url("/requests")).send().await.unwrap()).await;
    assert_eq!(all["count"], 4, "token calls are logged too, outside the PDS path");

    assert_eq!(pds.client.delete(pds.admin_url("/requests")).send().await.unwrap().status(), 204);
    assert!(pds.pds_requests().await.is_empty());
}

#[tokio::test]
async fn faulted_requests_are_logged_with_their_status() {
    let pds = open().await;
    set_faults(&pds, json!({"rate_429": 1.0})).await;
    pds.get_patient("9000000009").await;
    let requests = pds.pds_requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["status"], 429);
}

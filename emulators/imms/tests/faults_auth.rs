//! Fault injection (the PDS emulator's fault machinery, this API's error envelope) and API-platform auth.

mod common;

use std::time::{Duration, Instant};

use common::{Harness, create_body, diagnostics, issue_code, json};
use serde_json::{Value, json};

async fn set_faults(h: &Harness, faults: Value) -> reqwest::Response {
    h.client.post(h.admin_url("/faults")).json(&faults).send().await.unwrap()
}

async fn read_statuses(h: &Harness, id: &str, count: usize) -> Vec<u16> {
    let mut statuses = Vec::with_capacity(count);
    for _ in 0..count {
        statuses.push(h.read(id).await.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn injected_429_and_500_arrive_at_roughly_the_configured_rates() {
    let h = common::open().await;
    let (id, _) = h.create_ok(&create_body()).await;
    assert_eq!(set_faults(&h, json!({"rate_429": 0.3, "rate_500": 0.2})).await.status(), 200);
    let seen = read_statuses(&h, &id, 400).await;
    let count = |status| seen.iter().filter(|s| **s == status).count();
    // expected 120 and 80; the bounds are about five standard deviations wide
    assert!((75..=165).contains(&count(429)), "429s: {}", count(429));
    assert!((40..=120).contains(&count(500)), "500s: {}", count(500));
    assert_eq!(count(200) + count(429) + count(500), 400);
}

#[tokio::test]
async fn faulted_requests_change_nothing_and_carry_operation_outcomes() {
    let h = common::open().await;
    for (rate, status, code) in
        [("rate_429", 429, "throttled"), ("rate_500", 500, "exception"), ("rate_503", 503, "transient")]
    {
        set_faults(&h, json!({rate: 1.0})).await;
        let response = h.create(&create_body()).await;
        assert_eq!(response.status().as_u16(), status);
        assert!(response.headers().contains_key("x-request-id"), "{rate}");
        assert_eq!(response.headers().get("retry-after").is_some(), status == 503, "{rate}");
        let body = json(response).await;
        assert_eq!(body["resourceType"], "OperationOutcome");
        assert_eq!(issue_code(&body), code);
    }
    let records: Value = h.client.get(h.admin_url("/records")).send().await.unwrap().json().await.unwrap();
    assert_eq!(records["count"], 0, "a faulted create stores nothing, so a retry cannot duplicate");
    assert_eq!(h.client.delete(h.admin_url("/faults")).send().await.unwrap().status(), 204);
    assert_eq!(h.create(&create_body()).await.status(), 201);
}

#[tokio::test]
async fn fault_settings_round_trip_and_bad_ones_are_refused() {
    let h = common::open().await;
    set_faults(&h, json!({"rate_429": 0.05, "rate_500": 0.05, "seed": 3})).await;
    let current: Value = h.client.get(h.admin_url("/faults")).send().await.unwrap().json().await.unwrap();
    assert_eq!(current["rate_429"], 0.05);
    assert_eq!(current["seed"], 3);
    assert_eq!(set_faults(&h, json!({"rate_429": 2.0})).await.status(), 400);
    assert_eq!(set_faults(&h, json!({"rate_nope": 0.1})).await.status(), 400);
}

#[tokio::test]
async fn latency_delays_every_response() {
    let h = common::open().await;
    set_faults(&h, json!({"latency_ms": 200})).await;
    let started = Instant::now();
    assert_eq!(h.read("abc").await.status(), 404);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn auth_required_means_401_without_a_token_and_success_with_one() {
    let h = common::secured().await;
    let response = h.create(&create_body()).await;
    assert_eq!(response.status(), 401);
    let body = json(response).await;
    assert_eq!(issue_code(&body), "expired");
    assert_eq!(body["issue"][0]["details"]["coding"][0]["code"], "SEND_UNAUTHORIZED");
    assert_eq!(diagnostics(&body), "The sender has not provided a token or it has expired or is otherwise invalid.");
    let wrong = h.request(reqwest::Method::GET, "/Immunization/abc").bearer_auth("made-up").send().await.unwrap();
    assert_eq!(wrong.status(), 401);

    let token = h.token().await;
    let created = h
        .request(reqwest::Method::POST, "/Immunization")
        .bearer_auth(&token)
        .header("content-type", "application/fhir+json")
        .body(create_body().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let search = h
        .request(reqwest::Method::GET, "/Immunization")
        .bearer_auth(&token)
        .query(&[
            ("patient.identifier", "https://fhir.nhs.uk/Id/nhs-number|9449310475"),
            ("-immunization.target", "HPV"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(search.status(), 200);
    assert_eq!(json(search).await["total"], 1);
    let requests = h.requests().await;
    assert_eq!(requests.iter().filter(|r| r["authorization"] == true).count(), 3);
}

//! The child record and recording vaccinations through the JSON API, with each record's sync status (issue #6
//! items 5, 6 and 8), on the embedded adapters. The sync itself runs against the Imms emulator in the
//! integration-tests crate; here only what the API decides is checked.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::NaiveDate;
use common::TestApi;
use serde_json::{Value, json};
use shared::domain::patient::{ChildAttributes, Gender, Patient, SchoolPlacement};
use shared::store::patients;
use tower::ServiceExt;
use uuid::Uuid;

const NURSE: &str = "nurse@example.com";
/// Team rxb.
const OTHER_TEAM_NURSE: &str = "nurse2@example.com";
const GILLICK: &str = "You must let the child's GP know they were vaccinated";
const NO_NHS_NUMBER: &str = "You must add an NHS number to the child's record before this record will sync";

impl TestApi {
    async fn send_json(&self, method: Method, uri: &str, as_user: &str, body: Value) -> (StatusCode, Value) {
        let token = self.issuer.issue(as_user, Duration::from_secs(300));
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        let response = self.router.clone().oneshot(request).await.expect("ok");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1024 * 1024).await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn add_patient(&self, nhs_number: Option<&str>, restricted: bool) -> Uuid {
        let now = self.clock.now();
        let patient = Patient {
            team_ids: vec!["r1l".into()],
            restricted_at: restricted.then_some(now),
            ..Patient::new(
                Uuid::new_v4(),
                ChildAttributes {
                    given_name: Some("Sarah".into()),
                    family_name: Some("Taylor".into()),
                    date_of_birth: NaiveDate::from_ymd_opt(2011, 9, 9),
                    gender: Some(Gender::Female),
                    nhs_number: nhs_number.map(String::from),
                    address_line_1: Some("1 High Street".into()),
                    address_postcode: Some("LS1 1AA".into()),
                    ..ChildAttributes::default()
                },
                SchoolPlacement::School { urn: "123456".into() },
                now,
            )
        };
        self.records.transact(vec![patients::put_patient_op(&patient, None)]).await.expect("patient");
        patient.id
    }
}

fn app() -> TestApi {
    TestApi::new(NaiveDate::from_ymd_opt(2025, 12, 2))
}

fn vaccination(patient_id: Uuid) -> Value {
    json!({"patient_id": patient_id, "programme": "HPV", "vaccine": "gardasil_9", "date": "2025-12-01",
        "time": "10:15", "batch": "AB1234", "batch_expiry": "2026-06-01", "site": "left arm (upper position)",
        "dose_sequence": 1, "performer_email": NURSE, "notify_parents": true})
}

#[tokio::test]
async fn a_recorded_vaccination_is_shown_on_the_child_record_as_sync_pending() {
    let api = app();
    let patient = api.add_patient(Some("9449310475"), false).await;
    let (status, created) = api.send_json(Method::POST, "/api/vaccination-records", NURSE, vaccination(patient)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["source"], "service");
    assert_eq!(created["vaccine"], "gardasil_9");
    assert_eq!(created["sync"]["status"], "pending");

    let (status, child) = api.send(Method::GET, &format!("/api/patients/{patient}"), Some(NURSE)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(child["address"]["postcode"], "LS1 1AA");
    let records = child["vaccinations"].as_array().expect("vaccinations");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"], created["id"]);
    assert_eq!(records[0]["sync"], json!({"status": "pending", "reason": null, "last_synced_at": null}));
}

#[tokio::test]
async fn gillick_and_missing_nhs_number_are_not_synced_with_the_user_guide_texts() {
    let api = app();
    let with_number = api.add_patient(Some("9449310475"), false).await;
    let mut gillick = vaccination(with_number);
    gillick["notify_parents"] = json!(false);
    let (status, created) = api.send_json(Method::POST, "/api/vaccination-records", NURSE, gillick).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["sync"]["status"], "not-synced");
    assert!(created["sync"]["reason"].as_str().unwrap_or_default().contains(GILLICK), "{created}");

    let without_number = api.add_patient(None, false).await;
    let (status, created) =
        api.send_json(Method::POST, "/api/vaccination-records", NURSE, vaccination(without_number)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["sync"]["status"], "not-synced");
    assert_eq!(created["sync"]["reason"], NO_NHS_NUMBER);
}

#[tokio::test]
async fn invalid_fields_get_the_upload_messages_and_name_the_field() {
    let api = app();
    let patient = api.add_patient(Some("9449310475"), false).await;
    let mut body = vaccination(patient);
    body["date"] = json!("2025-12-03");
    let (status, error) = api.send_json(Method::POST, "/api/vaccination-records", NURSE, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["field"], "date");

    let mut body = vaccination(patient);
    body["site"] = json!("nasal");
    let (status, error) = api.send_json(Method::POST, "/api/vaccination-records", NURSE, body).await;
    assert_eq!((status, error["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("site")), "{error}");
}

#[tokio::test]
async fn another_teams_child_and_record_are_not_found_and_restricted_addresses_are_hidden() {
    let api = app();
    let patient = api.add_patient(Some("9449310475"), true).await;
    let (status, _) = api.send(Method::GET, &format!("/api/patients/{patient}"), Some(OTHER_TEAM_NURSE)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        api.send_json(Method::POST, "/api/vaccination-records", OTHER_TEAM_NURSE, vaccination(patient)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, created) = api.send_json(Method::POST, "/api/vaccination-records", NURSE, vaccination(patient)).await;
    let uri = format!("/api/vaccination-records/{}", created["id"].as_str().expect("id"));
    let (status, _) = api.send_json(Method::PATCH, &uri, OTHER_TEAM_NURSE, json!({"batch": "ZZ9"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, child) = api.send(Method::GET, &format!("/api/patients/{patient}"), Some(NURSE)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(child["restricted"], true);
    assert_eq!(child["address"], Value::Null);
}

#[tokio::test]
async fn edits_and_discards_change_the_record_and_keep_it_pending_sync() {
    let api = app();
    let patient = api.add_patient(Some("9449310475"), false).await;
    let (_, created) = api.send_json(Method::POST, "/api/vaccination-records", NURSE, vaccination(patient)).await;
    let uri = format!("/api/vaccination-records/{}", created["id"].as_str().expect("id"));
    let (status, edited) = api.send_json(Method::PATCH, &uri, NURSE, json!({"batch": "CD5678"})).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!((edited["batch"].as_str(), edited["site"].as_str()), (Some("CD5678"), Some("left_arm_upper_position")));
    assert_eq!(edited["performed_at"], created["performed_at"]);
    let (status, _) = api.send(Method::DELETE, &uri, Some(NURSE)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, child) = api.send(Method::GET, &format!("/api/patients/{patient}"), Some(NURSE)).await;
    assert_eq!(child["vaccinations"], json!([]));
    let (status, _) = api.send(Method::DELETE, &uri, Some(NURSE)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a discarded record is gone for the API");
}

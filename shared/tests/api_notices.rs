//! The important-notices API (spec §10, §12) through `web::app` with the demo seed: only super admins see and dismiss
//! the current team's notices; invalidated notices cannot be dismissed by hand; other teams' notices do not exist.

use axum::http::{Method, StatusCode};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use shared::domain::Patient;
use shared::domain::patient::{ChildAttributes, SchoolPlacement};
use shared::pds_refresh::generate_for_patient;
use shared::ports::Condition;
use shared::store::{keys, notices, patients};
use uuid::Uuid;

/// Super admin of the Leeds SAIS team (r1l).
const SUPER_ADMIN: &str = "superuser@example.com";
/// Same team, no permission to see sensitive flagged records.
const NURSE: &str = "nurse@example.com";

mod common;

use common::TestApi as TestApp;

impl TestApp {
    async fn list(&self, as_user: &str) -> (StatusCode, Value) {
        self.send(Method::GET, "/api/notices", Some(as_user)).await
    }

    async fn dismiss(&self, id: &str, as_user: &str) -> (StatusCode, Value) {
        self.send(Method::POST, &format!("/api/notices/{id}/dismiss"), Some(as_user)).await
    }

    /// Saves a flagged patient and raises its notices, as a PDS refresh would.
    async fn flagged_patient(&self, teams: &[&str], flag: impl FnOnce(&mut Patient)) -> Patient {
        let at = Utc.with_ymd_and_hms(2025, 1, 1, 9, 0, 0).unwrap();
        let mut patient = Patient {
            team_ids: teams.iter().map(|t| t.to_string()).collect(),
            ..Patient::new(
                Uuid::new_v4(),
                ChildAttributes { nhs_number: Some("9000000009".into()), ..Default::default() },
                SchoolPlacement::Unknown,
                at,
            )
        };
        flag(&mut patient);
        self.records.transact(vec![patients::put_patient_op(&patient, None)]).await.expect("saved");
        generate_for_patient(self.records.as_ref(), &patient, self.clock.now()).await.expect("notices");
        patient
    }

    async fn notice_id(&self, team: &str, patient: &Patient) -> String {
        let active = notices::active_for_team(self.records.as_ref(), team).await.expect("notices");
        active.iter().find(|n| n.patient_id == patient.id).expect("a notice").id.to_string()
    }
}

fn at(day: u32) -> Option<chrono::DateTime<Utc>> {
    Some(Utc.with_ymd_and_hms(2025, 3, day, 10, 0, 0).unwrap())
}

#[tokio::test]
async fn when_no_token_should_answer_401() {
    let app = TestApp::new(None);
    assert_eq!(app.send(Method::GET, "/api/notices", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.send(Method::POST, &format!("/api/notices/{}/dismiss", Uuid::nil()), None).await.0, 401);
}

#[tokio::test]
async fn when_not_a_super_admin_should_answer_403() {
    let app = TestApp::new(None);
    let patient = app.flagged_patient(&["r1l"], |p| p.restricted_at = at(1)).await;
    let forbidden = json!({"error": "You are not authorized to perform this action."});
    assert_eq!(app.list(NURSE).await, (StatusCode::FORBIDDEN, forbidden.clone()));
    let id = app.notice_id("r1l", &patient).await;
    assert_eq!(app.dismiss(&id, NURSE).await, (StatusCode::FORBIDDEN, forbidden));
}

#[tokio::test]
async fn super_admin_should_see_the_teams_active_notices_newest_first() {
    let app = TestApp::new(None);
    let restricted = app.flagged_patient(&["r1l", "rxb"], |p| p.restricted_at = at(1)).await;
    let invalidated = app.flagged_patient(&["r1l"], |p| p.invalidated_at = at(2)).await;
    let _other_team = app.flagged_patient(&["rxb"], |p| p.restricted_at = at(3)).await;

    let (status, body) = app.list(SUPER_ADMIN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let notices = body["notices"].as_array().expect("notices");
    assert_eq!(notices.len(), 2, "{body}");
    assert_eq!(notices[0]["type"], "invalidated");
    assert_eq!(notices[0]["patient_id"], json!(invalidated.id));
    assert_eq!(notices[0]["message"], "Record flagged as invalid");
    assert_eq!(notices[0]["recorded_at"], "2025-03-02T10:00:00Z");
    assert_eq!(notices[1]["type"], "restricted");
    assert_eq!(notices[1]["patient_id"], json!(restricted.id));
    assert_eq!(notices[1]["message"], "Record flagged as sensitive");
    assert!(notices[1]["id"].is_string());
}

#[tokio::test]
async fn when_the_patient_is_gone_should_not_list_the_notice() {
    let app = TestApp::new(None);
    let patient = app.flagged_patient(&["r1l"], |p| p.restricted_at = at(1)).await;
    app.records.delete(&keys::patient(patient.id), Condition::None).await.expect("deleted");
    let (status, body) = app.list(SUPER_ADMIN).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"notices": [], "page": 1, "pages": 1, "page_size": 50, "total": 0}))
    );
}

#[tokio::test]
async fn dismissing_should_remove_the_teams_copy_only() {
    let app = TestApp::new(None);
    let patient = app.flagged_patient(&["r1l", "rxb"], |p| p.restricted_at = at(1)).await;
    let id = app.notice_id("r1l", &patient).await;

    let (status, body) = app.dismiss(&id, SUPER_ADMIN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], id);
    assert_eq!(
        app.list(SUPER_ADMIN).await.1,
        json!({"notices": [], "page": 1, "pages": 1, "page_size": 50, "total": 0})
    );
    assert_eq!(notices::active_for_team(app.records.as_ref(), "rxb").await.unwrap().len(), 1, "other team keeps it");

    let stored = notices::get(app.records.as_ref(), id.parse().unwrap()).await.unwrap().expect("kept");
    assert_eq!(stored.value.dismissed_by.as_deref(), Some(SUPER_ADMIN));
    assert!(stored.value.dismissed_at.is_some());
    // Regenerating while the status still holds does not bring it back (same unique key).
    generate_for_patient(app.records.as_ref(), &patient, app.clock.now()).await.unwrap();
    assert_eq!(
        app.list(SUPER_ADMIN).await.1,
        json!({"notices": [], "page": 1, "pages": 1, "page_size": 50, "total": 0})
    );
}

#[tokio::test]
async fn when_invalidated_should_refuse_to_dismiss() {
    let app = TestApp::new(None);
    let patient = app.flagged_patient(&["r1l"], |p| p.invalidated_at = at(1)).await;
    let id = app.notice_id("r1l", &patient).await;
    let (status, body) = app.dismiss(&id, SUPER_ADMIN).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap_or_default().contains("NHS number"), "{body}");
    assert_eq!(app.list(SUPER_ADMIN).await.1["notices"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn when_another_teams_notice_or_unknown_should_answer_404() {
    let app = TestApp::new(None);
    let patient = app.flagged_patient(&["rxb"], |p| p.restricted_at = at(1)).await;
    let id = app.notice_id("rxb", &patient).await;
    assert_eq!(app.dismiss(&id, SUPER_ADMIN).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.dismiss(&Uuid::new_v4().to_string(), SUPER_ADMIN).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.dismiss("not-a-uuid", SUPER_ADMIN).await.0, StatusCode::NOT_FOUND);
    assert_eq!(notices::active_for_team(app.records.as_ref(), "rxb").await.unwrap().len(), 1);
}

//! Authorisation over EVERY /api route, enumerated from the OpenAPI document (which api_openapi.rs proves equal to
//! the router's routes): a user of another team gets 404 for each of Leeds SAIS Team's resources and sees none of
//! them in lists; a user without the super-admin permission gets 403 on every notices route.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use shared::domain::Patient;
use shared::domain::patient::{ChildAttributes, SchoolMove, SchoolMoveSource, SchoolPlacement};
use shared::pds_refresh::generate_for_patient;
use shared::store::{issues, notices, patients};
use tower::ServiceExt;
use uuid::Uuid;

mod common;

use common::TestApi;

/// Leeds SAIS Team (r1l): a nurse, and the super admin.
const OWNER: &str = "nurse@example.com";
const OWNER_SUPER_ADMIN: &str = "superuser@example.com";
/// Bradford SAIS Team (rxb).
const OTHER_TEAM: &str = "nurse2@example.com";

impl TestApi {
    async fn call(&self, method: &str, uri: &str, user: &str, body: Option<Value>) -> (StatusCode, Value) {
        let token = self.issuer.issue(user, Duration::from_secs(300));
        let request = Request::builder()
            .method(method.to_ascii_uppercase().as_str())
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("request");
        let response = self.router.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

/// One of each kind of resource, all Leeds SAIS Team's.
struct Resources {
    import: String,
    issue: String,
    school_move: String,
    notice: String,
    vaccination_record: String,
}

fn child(pending: bool, restricted: bool) -> Patient {
    let at = Utc.with_ymd_and_hms(2025, 1, 1, 9, 0, 0).unwrap();
    Patient {
        pending_changes: if pending {
            [("address_postcode".to_string(), json!("LS2 2BB"))].into_iter().collect()
        } else {
            Default::default()
        },
        team_ids: vec!["r1l".into()],
        restricted_at: restricted.then_some(at),
        ..Patient::new(
            Uuid::new_v4(),
            ChildAttributes {
                given_name: Some("Ada".into()),
                family_name: Some("Lovelace".into()),
                date_of_birth: chrono::NaiveDate::from_ymd_opt(2012, 3, 4),
                address_postcode: Some("LS1 1AA".into()),
                ..Default::default()
            },
            SchoolPlacement::School { urn: "123456".into() },
            at,
        )
    }
}

async fn leeds_resources(app: &TestApi) -> Resources {
    let (status, created) =
        app.call("post", "/api/imports", OWNER, Some(json!({"kind": "child-records", "filename": "cohort.csv"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let import = created["id"].as_str().expect("import id").to_string();

    let store = app.records.as_ref();
    let with_issue = child(true, true);
    let marker = issues::IssueMarker {
        id: with_issue.id,
        subject: issues::IssueSubject::Patient,
        patient_id: with_issue.id,
        team_id: "r1l".into(),
        import_id: None,
        row_index: None,
        matched_on_nhs_number: false,
        created_at: recorded_at(),
        resolution: None,
    };
    store.transact(vec![patients::put_patient_op(&with_issue, None), issues::open_op(&marker)]).await.expect("issue");
    generate_for_patient(store, &with_issue, recorded_at()).await.expect("restricted notice");
    let notice = notices::active_for_team(store, "r1l").await.expect("notices")[0].id.to_string();

    let moving = child(false, false);
    let now = recorded_at();
    let school_move = SchoolMove {
        patient_id: moving.id,
        academic_year: 2024,
        source: SchoolMoveSource::CohortImport,
        destination: SchoolPlacement::School { urn: "120026".into() },
        team_id: None,
        created_at: now,
        updated_at: now,
    };
    store
        .transact(vec![
            patients::put_patient_op(&moving, None),
            shared::ports::WriteOp::Put {
                item: patients::school_move_item(&school_move, "r1l", &[]),
                condition: shared::ports::Condition::None,
            },
        ])
        .await
        .expect("school move");
    let (status, recorded) =
        app.call("post", "/api/vaccination-records", OWNER, Some(vaccination_for(&moving.id.to_string()))).await;
    assert_eq!(status, StatusCode::CREATED, "{recorded}");
    let vaccination_record = recorded["id"].as_str().expect("record id").to_string();
    Resources {
        import,
        issue: with_issue.id.to_string(),
        school_move: moving.id.to_string(),
        notice,
        vaccination_record,
    }
}

/// A vaccination the team gave `patient_id`, valid as an offline-recording row.
fn vaccination_for(patient_id: &str) -> Value {
    json!({"patient_id": patient_id, "programme": "HPV", "vaccine": "gardasil_9", "date": "2025-12-01",
        "time": "10:15", "batch": "AB1234", "batch_expiry": "2026-06-01", "site": "left arm (upper position)",
        "dose_sequence": 1, "performer_email": OWNER, "notify_parents": true})
}

/// The Leeds resource a documented path with `{id}` is about. A new route with an id needs a line here.
fn concrete(path: &str, r: &Resources) -> String {
    let id = if path.starts_with("/api/imports/") {
        &r.import
    } else if path.starts_with("/api/issues/") {
        &r.issue
    } else if path.starts_with("/api/school-moves/") {
        &r.school_move
    } else if path.starts_with("/api/notices/") {
        &r.notice
    } else if path.starts_with("/api/patients/") {
        &r.school_move
    } else if path.starts_with("/api/vaccination-records/") {
        &r.vaccination_record
    } else {
        panic!("no test resource for {path}: add one to api_authorisation.rs")
    };
    path.replace("{id}", id)
}

/// A body the route accepts, so that the answer is about authorisation and not about the body.
fn body_for(path: &str) -> Option<Value> {
    if path.ends_with("/resolve") {
        Some(json!({"decision": "keep-existing"}))
    } else if path.starts_with("/api/school-moves/") {
        Some(json!({"decision": "ignore"}))
    } else if path.starts_with("/api/vaccination-records/") {
        Some(json!({"batch": "ZZ9999"}))
    } else if path == "/api/imports" {
        Some(json!({"kind": "child-records"}))
    } else {
        None
    }
}

fn routes(doc: &Value) -> Vec<(String, String)> {
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            routes.push((method.clone(), path.clone()));
        }
    }
    routes
}

#[tokio::test]
async fn another_teams_user_should_get_404_for_every_resource_and_see_none_in_lists() {
    let app = TestApi::new(NaiveDate::from_ymd_opt(2025, 12, 2));
    let r = leeds_resources(&app).await;
    let doc = shared::web::openapi::document();
    let all = routes(&doc);
    assert!(all.len() >= 14, "{all:?}");
    let mut checked = 0;
    for (method, path) in &all {
        if !path.contains("{id}") || path.starts_with("/api/notices") {
            continue; // lists below; notices need the super-admin permission first (next test)
        }
        let uri = concrete(path, &r);
        let (status, body) = app.call(method, &uri, OTHER_TEAM, body_for(path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri} as another team: {body}");
        if method == "get" {
            let (status, body) = app.call(method, &uri, OWNER, None).await;
            assert_eq!(status, StatusCode::OK, "{method} {uri} as its own team (the id is real): {body}");
        }
        checked += 1;
    }
    assert!(checked >= 6, "every resource route was tried");

    assert_eq!(app.call("get", "/api/issues", OTHER_TEAM, None).await.1["count"], 0);
    assert_eq!(app.call("get", "/api/issues", OWNER, None).await.1["count"], 1);
    assert_eq!(app.call("get", "/api/school-moves", OTHER_TEAM, None).await.1["count"], 0);
    assert_eq!(app.call("get", "/api/school-moves", OWNER, None).await.1["count"], 1);
    // Recording a vaccination for another team's child: the child is not found.
    let (status, body) =
        app.call("post", "/api/vaccination-records", OTHER_TEAM, Some(vaccination_for(&r.school_move))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let imports = app.call("get", "/api/imports", OTHER_TEAM, None).await.1;
    assert!(!imports.to_string().contains(&r.import), "{imports}");
}

#[tokio::test]
async fn notices_routes_should_answer_403_without_the_permission_and_404_for_another_teams_notice() {
    let app = TestApi::new(NaiveDate::from_ymd_opt(2025, 12, 2));
    let r = leeds_resources(&app).await;
    let doc = shared::web::openapi::document();
    let notice_routes: Vec<(String, String)> =
        routes(&doc).into_iter().filter(|(_, path)| path.starts_with("/api/notices")).collect();
    assert!(notice_routes.len() >= 3, "{notice_routes:?}");
    for (method, path) in &notice_routes {
        let uri = if path.contains("{id}") { concrete(path, &r) } else { path.clone() };
        let (status, body) = app.call(method, &uri, OWNER, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri} without the permission: {body}");
        assert_eq!(body["error"], "You are not authorized to perform this action.");
        let (status, _) = app.call(method, &uri, OTHER_TEAM, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}: another team's nurse has no permission either");
    }
    let (status, count) = app.call("get", "/api/notices/count", OWNER_SUPER_ADMIN, None).await;
    assert_eq!((status, count), (StatusCode::OK, json!({"count": 1, "banner": "1 important notice needs attention"})));
    // Another team's super admin does not exist in the demo seed; the notice is not found from a team that lacks it.
    let bradford_notice = {
        let store = app.records.as_ref();
        let mut bradford_child = child(false, true);
        bradford_child.team_ids = vec!["rxb".into()];
        store.transact(vec![patients::put_patient_op(&bradford_child, None)]).await.expect("saved");
        generate_for_patient(store, &bradford_child, recorded_at()).await.expect("notice");
        notices::active_for_team(store, "rxb").await.expect("notices")[0].id
    };
    let uri = format!("/api/notices/{bradford_notice}/dismiss");
    assert_eq!(app.call("post", &uri, OWNER_SUPER_ADMIN, None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_comparison_should_hide_a_sensitive_childs_address() {
    let app = TestApi::new(NaiveDate::from_ymd_opt(2025, 12, 2));
    let r = leeds_resources(&app).await;
    let (status, detail) = app.call("get", &format!("/api/issues/{}", r.issue), OWNER, None).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["uploaded"]["address"], Value::Null, "{detail}");
    assert_eq!(detail["existing"]["address"], Value::Null, "{detail}");
    assert!(!detail.to_string().contains("LS1 1AA") && !detail.to_string().contains("LS2 2BB"), "{detail}");
    assert_eq!(detail["changed"], json!([]), "a hidden row is not marked either");
}

/// When this file's records were written: a fixed instant, so that nothing here depends on when the tests run.
fn recorded_at() -> chrono::DateTime<chrono::Utc> {
    "2025-10-06T10:00:00Z".parse().expect("instant")
}

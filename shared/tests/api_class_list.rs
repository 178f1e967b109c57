//! Creating class-list imports through the JSON API (`web::app`, `tower::ServiceExt::oneshot`) on the embedded
//! adapters, with the demo seed's teams and schools: the school and year groups are checked and stored, and every
//! refusal names the field it is about. One upload also goes all the way through
//! the pipeline, as the local runner does it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::NaiveDate;
use serde_json::{Value, json};
use shared::adapters::folder_object_store::{FolderObjectStore, ObjectStored, upload_router};
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::domain::{ImportKind, ReferenceData};
use shared::ports::{ObjectStore, RecordStore};
use shared::store;
use shared::web::{AppState, LocalIssuer, WebSettings, app};
use tower::ServiceExt;
use uuid::Uuid;

/// Leeds SAIS Team (r1l): Waterloo Road 141001 (years 7–11), Liverpool Road 141003 (7–10).
const NURSE: &str = "nurse@example.com";
/// Bradford SAIS Team (rxb): Second Team School 142001.
const SECOND_TEAM_NURSE: &str = "nurse2@example.com";
const REPORTER: &str = "reporter@example.com";
const UPLOAD_BASE_URL: &str = "http://127.0.0.1:3000";

struct TestApp {
    router: Router,
    records: Arc<dyn RecordStore>,
    objects: Arc<FolderObjectStore>,
    reference: Arc<ReferenceData>,
    /// What the upload endpoint stored, as the local runner would turn into ObjectCreated events.
    stored: Arc<Mutex<Vec<ObjectStored>>>,
    issuer: LocalIssuer,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// Clock 2023-05-20: academic year 2022, as the class-list feature specs use.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 5, 20).expect("date")
}

impl TestApp {
    fn new() -> Self {
        let key_dir = tempfile::tempdir().expect("tempdir");
        let objects_dir = tempfile::tempdir().expect("tempdir");
        let issuer = LocalIssuer::load_or_create(key_dir.path()).expect("issuer");
        let records: Arc<dyn RecordStore> = Arc::new(SqliteRecordStore::in_memory().expect("sqlite"));
        let objects = Arc::new(FolderObjectStore::new(objects_dir.path(), UPLOAD_BASE_URL.into(), [7; 32]));
        let reference = Arc::new(shared::reference::demo());
        let settings = WebSettings {
            upload_url_ttl: Duration::from_secs(900),
            today_override: Some(today()),
            clock: shared::clock::Clock::fixed(shared::clock::noon_in_london(today())),
            ..WebSettings::default()
        };
        let state = AppState::new(
            records.clone(),
            objects.clone() as Arc<dyn ObjectStore>,
            reference.clone(),
            issuer.authenticator(),
            settings,
        );
        let stored = Arc::new(Mutex::new(Vec::new()));
        let on_stored = {
            let stored = stored.clone();
            Arc::new(move |object: ObjectStored| {
                stored.lock().expect("lock").push(object);
            })
        };
        let router = app(state).merge(upload_router(objects.clone(), on_stored));
        Self { router, records, objects, reference, stored, issuer, _dirs: (key_dir, objects_dir) }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1024 * 1024).await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn post(&self, body: Value, as_user: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/api/imports")
            .header(header::AUTHORIZATION, format!("Bearer {}", self.issuer.issue(as_user, Duration::from_secs(300))))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        self.send(request).await
    }

    async fn get(&self, uri: &str, as_user: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.issuer.issue(as_user, Duration::from_secs(300))))
            .body(Body::empty())
            .expect("request");
        self.send(request).await
    }

    /// Posts and expects a refusal naming `field`, with nothing created.
    async fn assert_refused(&self, body: Value, field: &str, message: &str) {
        let (status, response) = self.post(body.clone(), NURSE).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {response}");
        assert_eq!(response, json!({"error": message, "field": field}), "{body}");
        let (_, list) = self.get("/api/imports", NURSE).await;
        assert_eq!(list["imports"], json!([]), "nothing created for {body}");
    }
}

fn class_list(school_urn: Value, year_groups: Value) -> Value {
    json!({"kind": "class-list", "school_urn": school_urn, "year_groups": year_groups, "filename": "year 8.csv"})
}

fn id_of(response: &Value) -> Uuid {
    response["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).expect("an import id")
}

#[tokio::test]
async fn when_class_list_is_for_a_team_school_should_create_it_with_school_and_year_groups() {
    let app = TestApp::new();

    let (status, response) = app.post(class_list(json!("141001"), json!([11, 8, 10, 9, 9])), NURSE).await;

    assert_eq!(status, StatusCode::CREATED, "{response}");
    assert_eq!(response["status"], "awaiting_upload");
    assert_eq!(response["upload"]["method"], "PUT");
    let id = id_of(&response);
    let stored = store::imports::get(app.records.as_ref(), id).await.expect("store").expect("saved").value;
    assert_eq!(stored.kind, ImportKind::ClassList);
    assert_eq!(stored.team_id, "r1l");
    assert_eq!(stored.school_urn.as_deref(), Some("141001"));
    assert_eq!(stored.year_groups, vec![8, 9, 10, 11]);
    assert_eq!(stored.object_key, format!("uploads/r1l/{id}/year_8.csv"));

    let (status, detail) = app.get(&format!("/api/imports/{id}"), NURSE).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["kind"], "class-list");
    assert_eq!(detail["school"], json!({"urn": "141001", "name": "Waterloo Road"}));
    assert_eq!(detail["year_groups"], json!([8, 9, 10, 11]));
    assert_eq!(detail["year_groups_label"], "Year 8, Year 9, Year 10, and Year 11");
    let (_, list) = app.get("/api/imports", NURSE).await;
    assert_eq!(list["imports"][0]["school"]["name"], "Waterloo Road");
}

#[tokio::test]
async fn when_import_is_child_records_should_show_no_school_or_year_groups() {
    let app = TestApp::new();
    let (status, response) = app.post(json!({"kind": "child-records"}), NURSE).await;
    assert_eq!(status, StatusCode::CREATED, "{response}");

    let (_, detail) = app.get(&format!("/api/imports/{}", id_of(&response)), NURSE).await;

    assert_eq!(detail["school"], Value::Null);
    assert_eq!(detail["year_groups"], Value::Null);
    assert_eq!(detail["year_groups_label"], Value::Null);
}

#[tokio::test]
async fn when_each_team_names_its_own_school_should_create_each_import_for_that_team() {
    let app = TestApp::new();

    let (status, response) = app.post(class_list(json!("142001"), json!([8])), SECOND_TEAM_NURSE).await;

    assert_eq!(status, StatusCode::CREATED, "{response}");
    let (_, list) = app.get("/api/imports", NURSE).await;
    assert_eq!(list["imports"], json!([]), "not listed for the other team");
}

#[tokio::test]
async fn when_school_urn_is_missing_should_answer_422_asking_which_school() {
    let app = TestApp::new();
    let message = "Choose which school this class list is for";
    for school in [Value::Null, json!(""), json!("  ")] {
        app.assert_refused(class_list(school, json!([8])), "school_urn", message).await;
    }
    app.assert_refused(json!({"kind": "class-list", "year_groups": [8]}), "school_urn", message).await;
}

#[tokio::test]
async fn when_school_is_not_the_teams_should_answer_422_naming_it() {
    let app = TestApp::new();
    // Other Team's school, the second SAIS team's school, and a URN no school has.
    for urn in ["111222", "142001", "999000"] {
        app.assert_refused(
            class_list(json!(urn), json!([8])),
            "school_urn",
            &format!("The school {urn} is not one of your team's schools"),
        )
        .await;
    }
}

#[tokio::test]
async fn when_year_groups_are_missing_or_empty_should_answer_422_asking_for_them() {
    let app = TestApp::new();
    let message = "Choose which year groups you want to import class list records for";
    app.assert_refused(class_list(json!("141001"), json!([])), "year_groups", message).await;
    app.assert_refused(class_list(json!("141001"), Value::Null), "year_groups", message).await;
    app.assert_refused(json!({"kind": "class-list", "school_urn": "141001"}), "year_groups", message).await;
}

#[tokio::test]
async fn when_a_year_group_is_not_offered_by_the_school_should_answer_422_naming_both() {
    let app = TestApp::new();
    app.assert_refused(
        class_list(json!("141001"), json!([8, 13])),
        "year_groups",
        "Year 13 is not offered by Waterloo Road",
    )
    .await;
    app.assert_refused(
        class_list(json!("141003"), json!([10, 11])),
        "year_groups",
        "Year 11 is not offered by Liverpool Road",
    )
    .await;
}

#[tokio::test]
async fn when_fields_have_the_wrong_type_should_answer_400() {
    let app = TestApp::new();
    for body in [
        class_list(json!("141001"), json!(["8"])),
        class_list(json!("141001"), json!(8)),
        class_list(json!(141001), json!([8])),
    ] {
        let (status, response) = app.post(body.clone(), NURSE).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {response}");
        assert!(
            response["error"].as_str().unwrap_or_default().starts_with("The request body is not valid"),
            "{response}"
        );
    }
}

#[tokio::test]
async fn when_child_records_name_a_school_or_year_groups_should_answer_400() {
    let app = TestApp::new();
    let (status, response) =
        app.post(json!({"kind": "child-records", "school_urn": "141001", "year_groups": [8]}), NURSE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(response["error"], "school_urn and year_groups are for class lists only");
}

#[tokio::test]
async fn when_team_is_national_reporting_class_lists_should_be_forbidden() {
    let app = TestApp::new();

    let (status, response) = app.post(class_list(json!("100000"), json!([8])), REPORTER).await;

    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        response["error"],
        "Class list records can only be imported by point-of-care teams. Your team is a national reporting team."
    );
    let (_, list) = app.get("/api/imports", REPORTER).await;
    assert_eq!(list["imports"], json!([]));
}

/// The whole path as the local runner wires it: create, upload through the presigned URL, and the ObjectCreated
/// event the upload produces, handled by the pipeline.
mod through_the_pipeline {
    use shared::domain::ImportStatus;
    use shared::domain::patient::SchoolPlacement;
    use shared::pipeline::{Handled, ObjectCreated, Pipeline, PipelineSettings};
    use shared::store::patients;

    use super::*;

    impl TestApp {
        async fn upload(&self, created: &Value, csv: &[u8]) -> ObjectStored {
            let upload = &created["upload"];
            let url = upload["url"].as_str().expect("url");
            let mut request = Request::builder()
                .method(upload["method"].as_str().expect("method"))
                .uri(url.strip_prefix(UPLOAD_BASE_URL).expect("local upload"));
            for (name, value) in upload["headers"].as_object().expect("headers") {
                request = request.header(name.as_str(), value.as_str().expect("header value"));
            }
            let (status, _) = self.send(request.body(Body::from(csv.to_vec())).expect("request")).await;
            assert_eq!(status, StatusCode::OK);
            self.stored.lock().expect("lock").pop().expect("stored")
        }

        fn pipeline(&self) -> Pipeline {
            Pipeline {
                records: self.records.clone(),
                objects: self.objects.clone() as Arc<dyn ObjectStore>,
                reference: self.reference.clone(),
                settings: PipelineSettings {
                    today_override: Some(today()),
                    clock: shared::clock::Clock::fixed(shared::clock::noon_in_london(today())),
                    ..PipelineSettings::default()
                },
            }
        }
    }

    fn fixture(relative: &str) -> Vec<u8> {
        let path = format!("{}/../../shared/fixtures/mavis/{relative}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {path}: {e}"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn when_class_list_is_uploaded_should_import_every_child_into_the_school() {
        let app = TestApp::new();
        let (status, created) = app.post(class_list(json!("141001"), json!([8, 9, 10, 11])), NURSE).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = id_of(&created);

        let stored = app.upload(&created, &fixture("class_import/valid.csv")).await;
        let handled = app
            .pipeline()
            .handle_object_created(&ObjectCreated {
                bucket: "local".into(),
                key: stored.key,
                etag: stored.etag,
                version_id: None,
                size: stored.size,
            })
            .await
            .expect("pipeline");

        assert_eq!(handled, Handled::Processed { import_id: id, status: ImportStatus::Processed });
        let (_, detail) = app.get(&format!("/api/imports/{id}"), NURSE).await;
        assert_eq!(detail["status_tag"], "Completed");
        assert_eq!(detail["row_count"], 4);
        assert_eq!(detail["counts"], json!({"new": 4, "changed": 0, "exact_duplicate": 0}));
        let patient_ids = patients::of_import(app.records.as_ref(), id).await.expect("patients");
        assert_eq!(patient_ids.len(), 4);
        for patient_id in patient_ids {
            let patient = patients::get(app.records.as_ref(), patient_id).await.expect("read").expect("exists").value;
            assert_eq!(patient.school, SchoolPlacement::School { urn: "141001".into() });
        }
    }
}

//! Creating vaccination-record imports through the JSON API (`web::app`, `tower::ServiceExt::oneshot`) on the
//! embedded adapters: any team, point of care or national reporting, may upload them (mavis-import.md §12).
//! One upload also goes all the way through the pipeline, as the local runner does it.

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

/// Leeds SAIS Team (r1l), point of care.
const NURSE: &str = "nurse@example.com";
/// National Reporting Team (ryg).
const REPORTER: &str = "reporter@example.com";
/// Bradford SAIS Team (rxb).
const OTHER_TEAM: &str = "nurse2@example.com";
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

/// Clock 2025-08-01: academic year 2024, as the vaccination model specs use.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 8, 1).expect("date")
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

    fn bearer(&self, user: &str) -> String {
        format!("Bearer {}", self.issuer.issue(user, Duration::from_secs(300)))
    }

    async fn post(&self, body: Value, as_user: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/api/imports")
            .header(header::AUTHORIZATION, self.bearer(as_user))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        self.send(request).await
    }

    async fn get(&self, uri: &str, as_user: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .uri(uri)
            .header(header::AUTHORIZATION, self.bearer(as_user))
            .body(Body::empty())
            .expect("request");
        self.send(request).await
    }
}

fn id_of(response: &Value) -> Uuid {
    response["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).expect("an import id")
}

#[tokio::test]
async fn when_any_team_uploads_vaccination_records_should_create_the_import() {
    let app = TestApp::new();
    for (user, team) in [(NURSE, "r1l"), (REPORTER, "ryg")] {
        let (status, response) =
            app.post(json!({"kind": "vaccination-records", "filename": "flu 2025.csv"}), user).await;

        assert_eq!(status, StatusCode::CREATED, "{user}: {response}");
        assert_eq!(response["status"], "awaiting_upload");
        let id = id_of(&response);
        let stored = store::imports::get(app.records.as_ref(), id).await.expect("store").expect("saved").value;
        assert_eq!(stored.kind, ImportKind::VaccinationRecords);
        assert_eq!(stored.team_id, team);
        assert_eq!(stored.uploaded_by.as_deref(), Some(user));
        assert_eq!(stored.object_key, format!("uploads/{team}/{id}/flu_2025.csv"));
        let (status, detail) = app.get(&format!("/api/imports/{id}"), user).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert_eq!(detail["kind"], "vaccination-records");
    }
}

/// The whole path as the local runner wires it: create, upload through the presigned URL, and the ObjectCreated
/// event the upload produces, handled by the pipeline.
mod through_the_pipeline {
    use shared::domain::ImportStatus;
    use shared::pipeline::{Handled, ObjectCreated, Pipeline, PipelineSettings};
    use shared::store::{patients, vaccinations};

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
    async fn when_vaccination_records_are_uploaded_should_import_every_record() {
        let app = TestApp::new();
        let (status, created) =
            app.post(json!({"kind": "vaccination-records", "filename": "valid_hpv.csv"}), NURSE).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = id_of(&created);

        let stored = app.upload(&created, &fixture("immunisation_import/point_of_care/valid_hpv.csv")).await;
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

        let (_, detail) = app.get(&format!("/api/imports/{id}"), NURSE).await;
        assert_eq!(handled, Handled::Processed { import_id: id, status: ImportStatus::Processed }, "{detail}");
        assert_eq!(detail["status_tag"], "Completed");
        assert_eq!(detail["row_count"], 11);
        assert_eq!(detail["counts"]["new"], 11);
        let records = vaccinations::of_import(app.records.as_ref(), id).await.expect("records");
        assert_eq!(records.len(), 11);
        let patient_ids = patients::of_import(app.records.as_ref(), id).await.expect("patients");
        assert_eq!(patient_ids.len(), 10);

        // The API lists the import's records as the import page does: name, NHS number, date of birth, date.
        let (status, listed) = app.get(&format!("/api/imports/{id}/vaccination-records"), NURSE).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let listed = listed["vaccination_records"].as_array().expect("records").clone();
        assert_eq!(listed.len(), 11);
        assert!(listed.iter().all(|r| r["name"].as_str().is_some_and(|n| n.contains(", "))), "{listed:?}");
        assert!(listed.iter().all(|r| r["performed_at"].is_string() && r["patient_id"].is_string()));
        let (status, _) = app.get(&format!("/api/imports/{id}/vaccination-records"), OTHER_TEAM).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another team's import");
    }
}

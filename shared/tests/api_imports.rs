//! The imports JSON API, end to end through `web::app` with `tower::ServiceExt::oneshot`: authentication, team
//! scoping, creating imports with presigned uploads, listing and showing them.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::NaiveDate;
use serde_json::{Value, json};
use shared::adapters::folder_object_store::{FolderObjectStore, upload_router};
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::domain::{
    AcademicYear, Import, ImportCounts, ImportKind, ImportStatus, ReferenceData, RowError, Team, TeamKind, User,
};
use shared::ports::{ObjectStore, RecordStore};
use shared::store;
use shared::web::auth::{KEY_FILE, LOCAL_AUDIENCE, LOCAL_ISSUER};
use shared::web::{AppState, LocalIssuer, WebSettings, app};
use tower::ServiceExt;
use uuid::Uuid;

const NURSE: &str = "nurse.joy@sais.example";
const OTHER_TEAM_NURSE: &str = "nurse.jenny@other.example";
const REPORTER: &str = "reporter@national.example";

const UPLOAD_BASE_URL: &str = "http://127.0.0.1:3000";
/// The API's clock: a morning in the August preparation period.
const NOW: &str = "2025-08-15T09:30:00Z";

/// The app as the local runner wires it: embedded record store, folder object store whose upload endpoint is merged
/// into the same router, and a local token issuer.
struct TestApp {
    router: Router,
    records: Arc<dyn RecordStore>,
    objects: Arc<FolderObjectStore>,
    issuer: LocalIssuer,
    clock: shared::clock::Clock,
    key_dir: tempfile::TempDir,
    _objects_dir: tempfile::TempDir,
}

impl TestApp {
    fn new() -> Self {
        let clock = shared::clock::Clock::fixed(NOW.parse().expect("instant"));
        let key_dir = tempfile::tempdir().expect("tempdir");
        let objects_dir = tempfile::tempdir().expect("tempdir");
        let issuer = LocalIssuer::load_or_create(key_dir.path()).expect("issuer");
        let records: Arc<dyn RecordStore> = Arc::new(SqliteRecordStore::in_memory().expect("sqlite"));
        let objects = Arc::new(FolderObjectStore::new(objects_dir.path(), UPLOAD_BASE_URL.into(), [7; 32]));
        let settings = WebSettings {
            upload_url_ttl: Duration::from_secs(900),
            // In the August preparation period: imports belong to the coming academic year.
            today_override: Some(NaiveDate::from_ymd_opt(2025, 8, 15).expect("date")),
            clock: clock.clone(),
            ..WebSettings::default()
        };
        let state = AppState::new(
            records.clone(),
            objects.clone() as Arc<dyn ObjectStore>,
            Arc::new(reference()),
            issuer.authenticator(),
            settings,
        );
        // A second handle on the same key file, as `mavis token` and `mavis serve` would have.
        let served_issuer = LocalIssuer::load_or_create(key_dir.path()).expect("same key");
        let router =
            app(state.with_local_issuer(served_issuer)).merge(upload_router(objects.clone(), Arc::new(|_| {})));
        Self { router, records, objects, issuer, clock, key_dir, _objects_dir: objects_dir }
    }

    fn token(&self, email: &str) -> String {
        self.issuer.issue(email, Duration::from_secs(300))
    }

    /// A token with arbitrary claims, signed with this app's key (for cases `issue` never produces).
    fn signed(&self, claims: Value) -> String {
        let pem = std::fs::read(self.key_dir.path().join(KEY_FILE)).expect("key file");
        let key = jsonwebtoken::EncodingKey::from_ec_pem(&pem).expect("ec key");
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.issuer.kid().to_string());
        jsonwebtoken::encode(&header, &claims, &key).expect("sign")
    }

    /// Each request arrives a second after the one before, so that what it creates is ordered in time.
    async fn send(&self, method: Method, uri: &str, token: Option<&str>, body: Option<&str>) -> (StatusCode, Response) {
        self.clock.advance(chrono::Duration::seconds(1));
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request.body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty)).expect("req");
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1024 * 1024).await.expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, Response { headers, text: String::from_utf8_lossy(&bytes).into_owned(), json })
    }

    async fn get(&self, uri: &str, as_user: &str) -> (StatusCode, Response) {
        self.send(Method::GET, uri, Some(&self.token(as_user)), None).await
    }

    async fn post(&self, body: &str, as_user: &str) -> (StatusCode, Response) {
        self.send(Method::POST, "/api/imports", Some(&self.token(as_user)), Some(body)).await
    }

    async fn create_child_records_import(&self, filename: &str) -> Uuid {
        let (status, response) =
            self.post(&json!({"kind": "child-records", "filename": filename}).to_string(), NURSE).await;
        assert_eq!(status, StatusCode::CREATED, "{}", response.text);
        response.json["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).expect("id")
    }
}

struct Response {
    headers: axum::http::HeaderMap,
    text: String,
    json: Value,
}

fn reference() -> ReferenceData {
    let team = |id: &str, kind| Team {
        id: id.into(),
        ods_code: id.to_uppercase(),
        name: format!("Team {id}"),
        kind,
        programmes: vec![],
        year_groups: (0..=11).collect(),
        generic_clinic_id: None,
        reject_low_pds_match_rate: false,
        national_reporting_cut_off_date: None,
    };
    let user = |email: &str, team_id: &str| User {
        email: email.into(),
        team_id: team_id.into(),
        given_name: "Test".into(),
        family_name: "User".into(),
        super_admin: false,
    };
    ReferenceData {
        teams: vec![
            team("sais", TeamKind::PointOfCare),
            team("other", TeamKind::PointOfCare),
            team("national", TeamKind::NationalReporting),
        ],
        users: vec![user(NURSE, "sais"), user(OTHER_TEAM_NURSE, "other"), user(REPORTER, "national")],
        ..Default::default()
    }
}

fn claims(email: &str, audience: &str, expires_in: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"iss": LOCAL_ISSUER, "aud": audience, "sub": email, "email": email, "iat": now, "exp": now + expires_in})
}

fn assert_unauthorised(status: StatusCode, response: &Response) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", response.text);
    let challenge = response.headers.get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(challenge.starts_with("Bearer"), "WWW-Authenticate: {challenge}");
    assert!(response.json["error"].is_string(), "JSON error body: {}", response.text);
}

#[tokio::test]
async fn health_should_answer_ok_without_a_token() {
    let app = TestApp::new();
    let (status, response) = app.send(Method::GET, "/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response.text, "ok");
}

#[tokio::test]
async fn jwks_should_publish_the_local_issuers_public_key() {
    let app = TestApp::new();
    let (status, response) = app.send(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response.json["keys"][0]["kid"], app.issuer.kid());
    assert!(response.json["keys"][0].get("d").is_none());
}

#[tokio::test]
async fn when_no_token_should_answer_401() {
    let app = TestApp::new();
    let (status, response) = app.send(Method::GET, "/api/imports", None, None).await;
    assert_unauthorised(status, &response);
    let (status, response) = app.send(Method::POST, "/api/imports", None, Some(r#"{"kind":"child-records"}"#)).await;
    assert_unauthorised(status, &response);
}

#[tokio::test]
async fn when_token_is_bad_should_answer_401() {
    let app = TestApp::new();
    let other_dir = tempfile::tempdir().expect("tempdir");
    let other_issuer = LocalIssuer::load_or_create(other_dir.path()).expect("other issuer");

    let bad_tokens = [
        ("wrong key", other_issuer.issue(NURSE, Duration::from_secs(300))),
        ("expired", app.signed(claims(NURSE, LOCAL_AUDIENCE, -3600))),
        ("wrong audience", app.signed(claims(NURSE, "someone-else", 300))),
        ("not a JWT", "not-a-token".to_string()),
    ];
    for (case, token) in bad_tokens {
        let (status, response) = app.send(Method::GET, "/api/imports", Some(&token), None).await;
        assert_unauthorised(status, &response);
        assert_eq!(response.json["error"], "The bearer token is invalid or has expired", "{case}");
        assert!(response.headers[header::WWW_AUTHENTICATE].to_str().unwrap_or("").contains("invalid_token"), "{case}");
    }
}

#[tokio::test]
async fn when_user_is_unknown_should_answer_403() {
    let app = TestApp::new();
    let (status, response) = app.get("/api/imports", "stranger@example.com").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(response.json, json!({"error": "Your account is not set up for this service"}));
}

#[tokio::test]
async fn when_an_address_comes_with_another_account_at_the_provider_should_answer_403() {
    let app = TestApp::new();
    let with_subject = |sub: Option<&str>| {
        let mut claims = claims(NURSE, LOCAL_AUDIENCE, 300);
        match sub {
            Some(sub) => claims["sub"] = json!(sub),
            None => _ = claims.as_object_mut().map(|c| c.remove("sub")),
        }
        app.signed(claims)
    };
    let first = with_subject(Some("cis2-0001"));
    let (status, response) = app.send(Method::GET, "/api/imports", Some(&first), None).await;
    assert_eq!(status, StatusCode::OK, "the first account binds the address: {}", response.text);

    let reassigned = with_subject(Some("cis2-0002"));
    let (status, response) = app.send(Method::GET, "/api/imports", Some(&reassigned), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another account with the same address: {}", response.text);
    assert_eq!(response.json, json!({"error": "Your account is not set up for this service"}));

    let (status, _) = app.send(Method::GET, "/api/imports", Some(&first), None).await;
    assert_eq!(status, StatusCode::OK, "the bound account still signs in");
    let (status, _) = app.send(Method::GET, "/api/imports", Some(&with_subject(None)), None).await;
    assert_eq!(status, StatusCode::OK, "a token without a subject is judged by its address");
}

#[tokio::test]
async fn post_should_create_an_import_awaiting_upload() {
    let app = TestApp::new();
    let (status, response) =
        app.post(r#"{"kind": "child-records", "filename": "Year 9 – St Mary's.csv"}"#, NURSE).await;
    assert_eq!(status, StatusCode::CREATED, "{}", response.text);
    let body = &response.json;
    let id = body["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).expect("uuid id");
    assert_eq!(body["status"], "awaiting_upload");
    assert_eq!(body["upload"]["method"], "PUT");
    assert_eq!(body["upload"]["headers"]["Content-Type"], "text/csv");
    assert_eq!(body["upload"]["expires_in_seconds"], 900);
    let expected_key = format!("uploads/sais/{id}/Year_9___St_Mary_s.csv");
    let url = body["upload"]["url"].as_str().expect("url");
    assert!(url.starts_with(&format!("{UPLOAD_BASE_URL}/local-upload/{expected_key}?")), "{url}");
    assert_eq!(response.headers[header::LOCATION], format!("/api/imports/{id}"));

    let stored = store::imports::get(app.records.as_ref(), id).await.expect("store").expect("saved").value;
    assert_eq!(stored.team_id, "sais");
    assert_eq!(stored.kind, ImportKind::ChildRecords);
    assert_eq!(stored.status, ImportStatus::AwaitingUpload);
    assert_eq!(stored.uploaded_by.as_deref(), Some(NURSE));
    assert_eq!(stored.filename.as_deref(), Some("Year 9 – St Mary's.csv"));
    assert_eq!(stored.object_key, expected_key);
    assert_eq!(stored.today, NaiveDate::from_ymd_opt(2025, 8, 15).expect("date"));
    assert_eq!(stored.academic_year, AcademicYear(2025));
}

#[tokio::test]
async fn presigned_upload_should_accept_the_file_through_the_same_router() {
    let app = TestApp::new();
    let (status, response) = app.post(r#"{"kind": "child-records", "filename": "children.csv"}"#, NURSE).await;
    assert_eq!(status, StatusCode::CREATED, "{}", response.text);
    let id = response.json["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).expect("id");
    let upload = &response.json["upload"];
    let url = upload["url"].as_str().expect("url");
    let path_and_query = url.strip_prefix(UPLOAD_BASE_URL).expect("served by the local runner");

    let mut request = Request::builder().method(upload["method"].as_str().expect("method")).uri(path_and_query);
    for (name, value) in upload["headers"].as_object().expect("headers") {
        request = request.header(name.as_str(), value.as_str().expect("header value"));
    }
    let csv = "CHILD_FIRST_NAME,CHILD_LAST_NAME\n";
    let response = app.router.clone().oneshot(request.body(Body::from(csv)).expect("request")).await.expect("ok");
    assert_eq!(response.status(), StatusCode::OK);

    let stored = store::imports::get(app.records.as_ref(), id).await.expect("store").expect("saved").value;
    let object = app.objects.head(&stored.object_key).await.expect("uploaded object");
    assert_eq!(object.size, csv.len() as u64);
}

#[tokio::test]
async fn a_size_given_with_the_import_should_be_checked_and_signed_into_the_upload() {
    let app = TestApp::new();
    let too_big = format!(r#"{{"kind": "child-records", "size_bytes": {}}}"#, 200 * 1024 * 1024);
    let (status, response) = app.post(&too_big, NURSE).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", response.text);
    assert_eq!(response.json["error"], "The selected file must be smaller than 100MB");
    let (status, response) = app.post(r#"{"kind": "child-records", "size_bytes": 0}"#, NURSE).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.json["error"], "The selected file is empty");

    let csv = "CHILD_FIRST_NAME,CHILD_LAST_NAME\n";
    let sized = format!(r#"{{"kind": "child-records", "size_bytes": {}}}"#, csv.len());
    let (status, response) = app.post(&sized, NURSE).await;
    assert_eq!(status, StatusCode::CREATED, "{}", response.text);
    let upload = &response.json["upload"];
    assert_eq!(upload["headers"]["Content-Length"], csv.len().to_string());
    let path_and_query = upload["url"].as_str().expect("url").strip_prefix(UPLOAD_BASE_URL).expect("local").to_string();
    let put = |body: String| {
        let request = Request::builder()
            .method("PUT")
            .uri(path_and_query.clone())
            .header("Content-Type", "text/csv")
            .header("Content-Length", body.len().to_string());
        app.router.clone().oneshot(request.body(Body::from(body)).expect("request"))
    };
    let longer = put(format!("{csv}Extra,Row\n")).await.expect("answer");
    assert_eq!(longer.status(), StatusCode::FORBIDDEN, "a body of another size is refused");
    assert_eq!(put(csv.to_string()).await.expect("answer").status(), StatusCode::OK);
}

#[tokio::test]
async fn post_without_filename_should_use_upload_csv() {
    let app = TestApp::new();
    let (status, response) = app.post(r#"{"kind": "child-records"}"#, NURSE).await;
    assert_eq!(status, StatusCode::CREATED, "{}", response.text);
    let id = response.json["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).expect("id");
    let stored = store::imports::get(app.records.as_ref(), id).await.expect("store").expect("saved").value;
    assert_eq!(stored.object_key, format!("uploads/sais/{id}/upload.csv"));
    assert_eq!(stored.filename, None);
}

#[tokio::test]
async fn list_should_show_the_teams_imports_newest_first_a_page_at_a_time() {
    let app = TestApp::new();
    let mut ids = Vec::new();
    for n in 0..21 {
        ids.push(app.create_child_records_import(&format!("file-{n}.csv")).await);
    }
    app.post(r#"{"kind": "child-records"}"#, OTHER_TEAM_NURSE).await;

    let (status, first) = app.get("/api/imports", NURSE).await;
    assert_eq!(status, StatusCode::OK, "{}", first.text);
    let page = first.json["imports"].as_array().expect("imports");
    assert_eq!(page.len(), 20);
    assert_eq!(page[0]["id"], ids[20].to_string());
    assert_eq!(page[0]["filename"], "file-20.csv");
    assert_eq!(page[0]["status"], "awaiting_upload");
    assert_eq!(page[0]["status_tag"], "Awaiting upload");
    assert_eq!(page[0]["kind"], "child-records");
    let next = first.json["next"].as_str().expect("a next cursor");

    let (status, second) = app.get(&format!("/api/imports?cursor={next}"), NURSE).await;
    assert_eq!(status, StatusCode::OK, "{}", second.text);
    assert_eq!(second.json["imports"].as_array().map(Vec::len), Some(1));
    assert_eq!(second.json["imports"][0]["id"], ids[0].to_string());
    assert_eq!(second.json["next"], Value::Null);
    assert_eq!(first.json["total"], 21, "the total counts every page");
    assert_eq!(second.json["total"], 21);

    let (status, other_team) = app.get("/api/imports", OTHER_TEAM_NURSE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(other_team.json["imports"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn list_with_a_bad_cursor_should_answer_400() {
    let app = TestApp::new();
    // Not base64url at all, and well-formed but meaningless to the store.
    for cursor in ["%21%21", "Z2FyYmFnZQ"] {
        let (status, response) = app.get(&format!("/api/imports?cursor={cursor}"), NURSE).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{cursor}: {}", response.text);
        assert!(response.json["error"].as_str().unwrap_or("").contains("cursor"), "{}", response.text);
    }
}

#[tokio::test]
async fn show_should_return_the_import_to_its_team_only() {
    let app = TestApp::new();
    let id = app.create_child_records_import("children.csv").await;

    let (status, response) = app.get(&format!("/api/imports/{id}"), NURSE).await;
    assert_eq!(status, StatusCode::OK, "{}", response.text);
    let body = &response.json;
    assert_eq!(body["id"], id.to_string());
    assert_eq!(body["kind"], "child-records");
    assert_eq!(body["status"], "awaiting_upload");
    assert_eq!(body["status_tag"], "Awaiting upload");
    assert_eq!(body["filename"], "children.csv");
    assert_eq!(body["uploaded_by"], NURSE);
    assert_eq!(body["academic_year"], 2025);
    assert_eq!(body["counts"], Value::Null);
    assert_eq!(body["rows_with_errors"], 0);
    assert_eq!(body["errors"], json!([]));
    assert_eq!(body["errors_summary"], Value::Null);

    let not_found = json!({"error": "Import not found"});
    let (status, response) = app.get(&format!("/api/imports/{id}"), OTHER_TEAM_NURSE).await;
    assert_eq!((status, &response.json), (StatusCode::NOT_FOUND, &not_found));
    let (status, response) = app.get(&format!("/api/imports/{}", Uuid::new_v4()), NURSE).await;
    assert_eq!((status, &response.json), (StatusCode::NOT_FOUND, &not_found));
    let (status, response) = app.get("/api/imports/not-a-uuid", NURSE).await;
    assert_eq!((status, &response.json), (StatusCode::NOT_FOUND, &not_found));
}

#[tokio::test]
async fn show_should_list_the_first_rows_with_errors_and_say_how_many_there_are() {
    let app = TestApp::new();
    let now: chrono::DateTime<chrono::Utc> = NOW.parse().expect("instant");
    let import = Import {
        id: Uuid::new_v4(),
        team_id: "sais".into(),
        kind: ImportKind::ChildRecords,
        status: ImportStatus::RowsAreInvalid,
        object_key: "uploads/sais/x/upload.csv".into(),
        filename: Some("big.csv".into()),
        uploaded_by: Some(NURSE.into()),
        academic_year: AcademicYear(2024),
        school_urn: None,
        year_groups: vec![],
        row_count: Some(250),
        counts: Some(ImportCounts { new: 1, changed: 2, exact_duplicate: 3, ignored: 4 }),
        file_error: None,
        rows_with_errors: 150,
        errors: (2..102)
            .map(|row| RowError { row, column: Some("CHILD_DATE_OF_BIRTH".into()), message: "is required".into() })
            .collect(),
        today: NaiveDate::from_ymd_opt(2024, 10, 1).expect("date"),
        created_at: now,
        updated_at: now,
        processed_at: Some(now),
        progress: None,
        pds_match: None,
        nhs_numbers_updated: Vec::new(),
        object_version: None,
        failure_reason: None,
    };
    store::imports::create(app.records.as_ref(), &import).await.expect("saved");

    let (status, response) = app.get(&format!("/api/imports/{}", import.id), NURSE).await;
    assert_eq!(status, StatusCode::OK, "{}", response.text);
    let body = &response.json;
    assert_eq!(body["status"], "rows_are_invalid");
    assert_eq!(body["status_tag"], "Invalid");
    assert_eq!(body["row_count"], 250);
    assert_eq!(body["counts"], json!({"new": 1, "changed": 2, "exact_duplicate": 3}));
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(100));
    assert_eq!(body["errors"][0], json!({"row": 2, "column": "CHILD_DATE_OF_BIRTH", "message": "is required"}));
    assert_eq!(
        body["errors_summary"],
        "Only the first 100 rows with issues are listed here. There are 150 rows with issues in total."
    );
    assert!(body["processed_at"].is_string());
}

#[tokio::test]
async fn post_with_an_unknown_kind_should_answer_400_listing_the_kinds() {
    let app = TestApp::new();
    let (status, response) = app.post(r#"{"kind": "patients"}"#, NURSE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = response.json["error"].as_str().unwrap_or("");
    for kind in ["child-records", "class-list", "vaccination-records"] {
        assert!(message.contains(kind), "{message}");
    }
}

#[tokio::test]
async fn post_with_a_malformed_body_should_answer_400_in_json() {
    let app = TestApp::new();
    let cases = [
        ("{not json", "The request body is not valid JSON"),
        (r#"{"filename": "a.csv"}"#, "missing field `kind`"),
        (r#"{"kind": 7}"#, "invalid type"),
        (r#"["child-records"]"#, "The request body must be a JSON object"),
        (r#"{"kind": "child-records", "filename": 7}"#, "invalid type: integer `7`, expected a string"),
    ];
    for (body, expected) in cases {
        let (status, response) = app.post(body, NURSE).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let message =
            response.json["error"].as_str().unwrap_or_else(|| panic!("JSON error for {body}: {}", response.text));
        assert!(message.contains(expected), "{body}: {message}");
    }

    // No Content-Type: still a JSON answer.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/imports")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.token(NURSE)))
        .body(Body::from(r#"{"kind": "child-records"}"#))
        .expect("request");
    let response = app.router.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let bytes = axum::body::to_bytes(response.into_body(), 1024).await.expect("body");
    let body: Value = serde_json::from_slice(&bytes).expect("JSON body");
    assert!(body["error"].as_str().unwrap_or("").contains("Content-Type: application/json"), "{body}");
}

#[tokio::test]
async fn when_team_is_national_reporting_child_records_should_be_forbidden() {
    let app = TestApp::new();
    let (status, response) = app.post(r#"{"kind": "child-records"}"#, REPORTER).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        response.json["error"],
        "Child records can only be imported by point-of-care teams. Your team is a national reporting team."
    );
    // Nothing was created.
    let (_, list) = app.get("/api/imports", REPORTER).await;
    assert_eq!(list.json["imports"], json!([]));
}

#[tokio::test]
async fn unknown_route_should_answer_404_in_json() {
    let app = TestApp::new();
    let (status, response) = app.send(Method::GET, "/api/nothing-here", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(response.json, json!({"error": "Not found"}));
}

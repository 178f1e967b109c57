//! The JSON API on the embedded adapters, as API tests use it: in-memory SQLite, a temporary folder store, the demo
//! seed, and tokens from a local issuer. Each test file adds the helpers it needs in its own `impl TestApi` block.
#![allow(dead_code)] // every test file is its own crate and uses a different part of this

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::NaiveDate;
use serde_json::Value;
use shared::adapters::folder_object_store::FolderObjectStore;
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::clock::Clock;
use shared::ports::{ObjectStore, RecordStore};
use shared::web::{AppState, LocalIssuer, WebSettings, app};
use tower::ServiceExt;

pub struct TestApi {
    pub router: Router,
    pub clock: Clock,
    pub records: Arc<dyn RecordStore>,
    pub issuer: LocalIssuer,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl TestApi {
    /// The API at noon in London on `today` (None: a school day in the autumn term of 2025), by a clock that
    /// moves only when a test moves it.
    pub fn new(today: Option<NaiveDate>) -> Self {
        let today = today.unwrap_or(NaiveDate::from_ymd_opt(2025, 10, 6).expect("date"));
        let key_dir = tempfile::tempdir().expect("tempdir");
        let objects_dir = tempfile::tempdir().expect("tempdir");
        let issuer = LocalIssuer::load_or_create(key_dir.path()).expect("issuer");
        let records: Arc<dyn RecordStore> = Arc::new(SqliteRecordStore::in_memory().expect("sqlite"));
        let objects = Arc::new(FolderObjectStore::new(objects_dir.path(), "http://127.0.0.1:9".into(), [7; 32]));
        let settings = WebSettings {
            upload_url_ttl: Duration::from_secs(900),
            today_override: Some(today),
            clock: Clock::fixed(shared::clock::noon_in_london(today)),
            ..WebSettings::default()
        };
        let state = AppState::new(
            records.clone(),
            objects as Arc<dyn ObjectStore>,
            Arc::new(shared::reference::demo()),
            issuer.authenticator(),
            settings,
        );
        let served = LocalIssuer::load_or_create(key_dir.path()).expect("same key");
        let clock = state.settings.clock.clone();
        Self { router: app(state.with_local_issuer(served)), clock, records, issuer, _dirs: (key_dir, objects_dir) }
    }

    /// Sends a request without a body, with a bearer token for `as_user` when given; the JSON answer (Null if none).
    pub async fn send(&self, method: Method, uri: &str, as_user: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(email) = as_user {
            let token = self.issuer.issue(email, Duration::from_secs(300));
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = self.router.clone().oneshot(request.body(Body::empty()).expect("request")).await.expect("ok");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1024 * 1024).await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

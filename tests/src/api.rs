//! The JSON API over a harness's stores, as a signed-in user sees it after the pipeline ran.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use shared::web::{AppState, LocalIssuer, WebSettings, app};
use tower::ServiceExt;

use crate::harness::Harness;

pub struct Api {
    router: axum::Router,
    issuer: LocalIssuer,
    _keys: tempfile::TempDir,
}

impl Api {
    /// The API app on the harness's record and object stores and reference data, with a local token issuer.
    pub fn over(h: &Harness) -> Api {
        let keys = tempfile::tempdir().expect("temp dir");
        let issuer = LocalIssuer::load_or_create(keys.path()).expect("issuer");
        let state = AppState::new(
            h.pipeline.records.clone(),
            h.pipeline.objects.clone(),
            h.pipeline.reference.clone(),
            issuer.authenticator(),
            WebSettings::default(),
        );
        Api { router: app(state), issuer, _keys: keys }
    }

    /// `GET uri` as `email`; the status and the JSON answer (Null if none).
    pub async fn get(&self, uri: &str, email: &str) -> (StatusCode, Value) {
        let token = self.issuer.issue(email, Duration::from_secs(300));
        let request = Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty());
        let response = self.router.clone().oneshot(request.expect("request")).await.expect("response");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 4 * 1024 * 1024).await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

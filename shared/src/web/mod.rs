//! The web app and JSON API: one axum `Router`, built by [`app`], that runs unchanged under `lambda_http` on AWS and
//! under `axum::serve` in the local runner.
//!
//! Wiring, on AWS (`functions/api`):
//! ```ignore
//! let auth = Authenticator::remote(&jwks_url, issuer, "mavis")?;
//! let state = AppState::new(records, objects, reference, auth, WebSettings::default());
//! lambda_http::run(web::app(state)).await
//! ```
//! and in the local runner, which is its own token issuer:
//! ```ignore
//! let issuer = LocalIssuer::load_or_create(&data_dir)?;        // same dir as `mavis token --user EMAIL`
//! let state = AppState::new(records, objects, reference, issuer.authenticator(), settings)
//!     .with_local_issuer(issuer);                               // also serves /.well-known/jwks.json
//! axum::serve(listener, web::app(state)).await
//! ```

pub mod assets;
pub mod auth;
pub mod error;
pub mod extract;
pub mod imports_api;
pub mod issues_api;
pub mod notices_api;
pub mod openapi;
pub mod pages;
pub mod patients_api;
pub mod school_moves_api;
pub mod security;
pub mod session;
pub mod vaccination_records_api;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use tower_http::trace::TraceLayer;

pub use auth::{AuthError, Authenticator, LocalIssuer, OidcClient, OidcSettings};
pub use error::ApiError;
pub use extract::CurrentUser;

use crate::clock::Clock;
use crate::domain::ReferenceData;
use crate::ports::{ObjectStore, Queue, RecordStore};
use crate::reference::live::LiveReference;

/// Everything a handler needs, cheap to clone (all `Arc`s).
pub struct AppState {
    pub records: Arc<dyn RecordStore>,
    pub objects: Arc<dyn ObjectStore>,
    /// The reference data of this request: a snapshot of `reference_source`, taken when the state is cloned for
    /// the request (every extractor and handler gets its own clone), after `refresh_reference` ran.
    pub reference: Arc<ReferenceData>,
    pub reference_source: Arc<LiveReference>,
    pub auth: Arc<Authenticator>,
    pub settings: Arc<WebSettings>,
    /// Set only by the local runner, which issues its own tokens: `app` then also serves the issuer's public keys at
    /// `/.well-known/jwks.json`. None on AWS, where the identity provider publishes its own.
    pub local_issuer: Option<Arc<LocalIssuer>>,
    /// The fhir queue, told at once when a vaccination changes through the API. None: the fhir function's sweep
    /// finds the change's marker instead.
    pub imms_queue: Option<Arc<dyn Queue>>,
    /// Sign-in for the pages (OpenID Connect). None: the pages answer that sign-in is not configured; the bearer
    /// token API works either way.
    pub oidc: Option<Arc<OidcClient>>,
}

impl Clone for AppState {
    fn clone(&self) -> Self {
        Self {
            records: self.records.clone(),
            objects: self.objects.clone(),
            reference: self.reference_source.current(),
            reference_source: self.reference_source.clone(),
            auth: self.auth.clone(),
            settings: self.settings.clone(),
            local_issuer: self.local_issuer.clone(),
            imms_queue: self.imms_queue.clone(),
            oidc: self.oidc.clone(),
        }
    }
}

impl AppState {
    pub fn new(
        records: Arc<dyn RecordStore>,
        objects: Arc<dyn ObjectStore>,
        reference: Arc<ReferenceData>,
        auth: Authenticator,
        settings: WebSettings,
    ) -> Self {
        Self {
            records,
            objects,
            reference_source: Arc::new(LiveReference::fixed(reference.clone())),
            reference,
            auth: Arc::new(auth),
            settings: Arc::new(settings),
            local_issuer: None,
            imms_queue: None,
            oidc: None,
        }
    }

    /// Reference data that follows the record store (see `reference::live`) instead of the fixed copy.
    pub fn with_live_reference(mut self, live: Arc<LiveReference>) -> Self {
        self.reference = live.current();
        self.reference_source = live;
        self
    }

    pub fn with_sign_in(mut self, oidc: OidcClient) -> Self {
        self.oidc = Some(Arc::new(oidc));
        self
    }

    pub fn with_imms_queue(mut self, queue: Arc<dyn Queue>) -> Self {
        self.imms_queue = Some(queue);
        self
    }

    pub fn with_local_issuer(mut self, issuer: LocalIssuer) -> Self {
        self.local_issuer = Some(Arc::new(issuer));
        self
    }
}

#[derive(Debug, Clone)]
pub struct WebSettings {
    /// How long a presigned upload URL stays valid.
    pub upload_url_ttl: Duration,
    /// The date academic years are computed from; None means today in Europe/London. Set by tests and demos that
    /// must behave the same whatever the real date.
    pub today_override: Option<NaiveDate>,
    /// "Now" for every handler: timestamps, decisions, sync status ages.
    pub clock: Clock,
    /// Where browsers reach this service (`https://…` on AWS): upload forms redirect back to it, and its cookies are
    /// Secure whenever it is https.
    pub public_url: String,
    /// The largest file the upload pages accept (the form's signed size range); 100 MiB by default.
    pub max_upload_bytes: u64,
}

/// The upload pages' size limit unless configured (`MAVIS_MAX_UPLOAD_BYTES`).
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024;

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            upload_url_ttl: Duration::from_secs(15 * 60),
            today_override: None,
            clock: Clock::system(),
            public_url: "http://127.0.0.1:3000".into(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
        }
    }
}

impl WebSettings {
    pub fn today(&self) -> NaiveDate {
        self.today_override.unwrap_or_else(|| self.clock.today_in_london())
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// The one Router, for AWS and local alike.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/health", get(health))
        .route("/api/imports", get(imports_api::list_imports).post(imports_api::create_import))
        .route("/api/imports/{id}", get(imports_api::show_import))
        .route("/api/imports/{id}/patients", get(imports_api::import_patients))
        .route("/api/imports/{id}/vaccination-records", get(imports_api::import_vaccination_records))
        .route("/api/imports/{id}/errors.csv", get(imports_api::import_errors_csv))
        .route("/api/notices", get(notices_api::list_notices))
        .route("/api/notices/{id}/dismiss", axum::routing::post(notices_api::dismiss_notice))
        // Review: import issues, school moves, notice count, and the OpenAPI document of every /api route.
        .route("/api/issues", get(issues_api::list_issues))
        .route("/api/issues/{id}", get(issues_api::show_issue))
        .route("/api/issues/{id}/resolve", axum::routing::post(issues_api::resolve_issue))
        .route("/api/school-moves", get(school_moves_api::list_moves))
        .route("/api/school-moves/export.csv", get(school_moves_api::export_moves))
        .route("/api/school-moves/{id}", get(school_moves_api::show_move).post(school_moves_api::decide_move))
        .route("/api/notices/count", get(notices_api::count_notices))
        .route("/api/openapi.json", get(openapi::openapi_json))
        // Vaccination records and the child record, with their Immunisations API sync status (issue #6).
        .route("/api/patients/{id}", get(patients_api::show_patient))
        .route("/api/vaccination-records", axum::routing::post(vaccination_records_api::create_record))
        .route(
            "/api/vaccination-records/{id}",
            axum::routing::patch(vaccination_records_api::update_record)
                .delete(vaccination_records_api::discard_record),
        );
    if state.local_issuer.is_some() {
        router = router.route("/.well-known/jwks.json", get(local_jwks));
    }
    let policy = security::content_security_policy(state.objects.upload_origin().as_deref());
    let policy = Arc::new(axum::http::HeaderValue::from_str(&policy).expect("the policy is ASCII"));
    router
        .merge(pages::router())
        .route("/assets/{file}", get(assets::serve))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), refresh_reference))
        .layer(axum::middleware::from_fn_with_state(policy, security::headers))
        // TraceLayer's default spans hold method, URI and version only: no headers, so never a token or a cookie.
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Re-reads the reference data first when the copy in use is older than its time to live, so that the request's
/// snapshot (taken as its handler clones the state) is at most that old.
async fn refresh_reference(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    state.reference_source.refresh_if_stale(state.settings.now()).await;
    next.run(request).await
}

async fn health() -> &'static str {
    "ok"
}

async fn local_jwks(State(state): State<AppState>) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let issuer = state.local_issuer.as_ref().ok_or_else(|| ApiError::NotFound("Not found".into()))?;
    Ok(axum::Json(issuer.jwks()))
}

/// A JSON 404 under `/api/`, the 404 page anywhere else.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        ApiError::NotFound("Not found".into()).into_response()
    } else {
        pages::not_found().await
    }
}

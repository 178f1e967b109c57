//! HTTP wiring: the PDS routes under the base path (behind the proxy gate: faults, bearer token, `X-Request-ID`),
//! the token endpoint at `/oauth2/token`, and the test-control endpoints under `/_emulator/`.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection};
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Authority;
use crate::faults::{FaultConfig, Faults};
use crate::log::{LoggedRequest, RequestLog};
use crate::nhs_number;
use crate::outcome::{PdsError, fhir_response};
use crate::search::{self, SearchQuery};
use crate::store::{Dataset, Lookup};

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
const ADMIN_PREFIX: &str = "/_emulator";

pub(crate) struct AppState {
    pub dataset: RwLock<Arc<Dataset>>,
    pub initial: Arc<Dataset>,
    pub authority: Authority,
    pub auth_required: bool,
    pub faults: Mutex<Faults>,
    pub log: RequestLog,
    /// `""` or `/personal-demographics/FHIR/R4`-style, no trailing slash.
    pub base_path: String,
    /// `http://127.0.0.1:PORT`, as bound.
    pub origin: String,
}

impl AppState {
    fn dataset(&self) -> Arc<Dataset> {
        self.dataset.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn replace_dataset(&self, dataset: Arc<Dataset>) {
        *self.dataset.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = dataset;
    }

    fn faults(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The origin the caller used (from `Host`), else the bound one; used for `fullUrl` and the token audience.
    fn caller_origin(&self, headers: &HeaderMap) -> String {
        match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
            Some(host) => format!("http://{host}"),
            None => self.origin.clone(),
        }
    }
}

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let pds = Router::new()
        .route("/Patient", get(search_patients))
        .route("/Patient/", get(missing_nhs_number))
        .route("/Patient/{id}", get(get_patient))
        .fallback(unsupported_route)
        .layer(middleware::from_fn_with_state(state.clone(), pds_gate));
    let app = Router::new()
        .route("/oauth2/token", post(token))
        .route("/_emulator/faults", get(get_faults).post(set_faults).delete(clear_faults))
        .route("/_emulator/requests", get(list_requests).delete(clear_requests))
        .route("/_emulator/patients", post(overlay_patients).delete(reset_patients));
    let app = if state.base_path.is_empty() { app.merge(pds) } else { app.nest(&state.base_path, pds) };
    app.layer(middleware::from_fn_with_state(state.clone(), log_requests)).with_state(state)
}

/// What the API proxy does before PDS sees a request: faults and rate limit, bearer token, `X-Request-ID`; and on
/// the way out, mirror `X-Request-ID` and `X-Correlation-ID` on every answer, errors included.
async fn pds_gate(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let request_id = request.headers().get(X_REQUEST_ID).cloned();
    let correlation_id = request.headers().get(X_CORRELATION_ID).cloned();
    let decision = state.faults().decide(Instant::now());
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let mut response = match decision.fault {
        Some(fault) => fault.into_response(),
        None => match admit(&state, request.headers()) {
            Ok(()) => next.run(request).await,
            Err(error) => error.into_response(),
        },
    };
    let headers = response.headers_mut();
    for (name, value) in [(X_REQUEST_ID, request_id), (X_CORRELATION_ID, correlation_id)] {
        if let Some(value) = value {
            headers.insert(name, value);
        }
    }
    response
}

fn admit(state: &AppState, headers: &HeaderMap) -> Result<(), PdsError> {
    if state.auth_required {
        let authorization = headers.get(header::AUTHORIZATION).map(|v| String::from_utf8_lossy(v.as_bytes()));
        state.authority.check_bearer(authorization.as_deref())?;
    }
    match headers.get(X_REQUEST_ID).map(|v| String::from_utf8_lossy(v.as_bytes())) {
        None => Err(PdsError::MissingValue(
            "Invalid request with error - X-Request-ID header must be supplied to access this resource".into(),
        )),
        Some(id) if !is_uuid(&id) => {
            Err(PdsError::InvalidValue(format!("Invalid value - '{id}' in header 'X-Request-ID'")))
        }
        Some(_) => Ok(()),
    }
}

/// PDS's pattern: 8-4-4-4-12 hex digits, nothing else (no braces, no `urn:uuid:`).
fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| if matches!(i, 8 | 13 | 18 | 23) { *b == b'-' } else { b.is_ascii_hexdigit() })
}

async fn get_patient(State(state): State<Arc<AppState>>, id: Result<Path<String>, PathRejection>) -> Response {
    let Ok(Path(id)) = id else { return PdsError::InvalidResourceId.into_response() };
    if !nhs_number::is_valid(&id) {
        return PdsError::InvalidResourceId.into_response();
    }
    let data = state.dataset();
    match data.lookup(&id) {
        Lookup::Found(record) => {
            let mut response = fhir_response(StatusCode::OK, &record.patient);
            if let Ok(etag) = HeaderValue::from_str(&format!("W/\"{}\"", record.version_id)) {
                response.headers_mut().insert(header::ETAG, etag);
            }
            response
        }
        Lookup::Invalidated => PdsError::InvalidatedResource.into_response(),
        Lookup::NotFound => PdsError::ResourceNotFound.into_response(),
    }
}

async fn missing_nhs_number() -> PdsError {
    PdsError::UnsupportedService("Invalid request with error - an NHS number must be supplied in the path".into())
}

async fn unsupported_route() -> PdsError {
    PdsError::UnsupportedService("Invalid request with error - this resource or method is not supported".into())
}

async fn search_patients(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PdsError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&uri).map_err(|_| {
        PdsError::InvalidValue("Invalid request with error - the query string cannot be decoded".into())
    })?;
    let query = SearchQuery::parse(&pairs)?;
    let data = state.dataset();
    let hits = query.run(&data);
    let base = format!("{}{}", state.caller_origin(&headers), state.base_path);
    Ok(fhir_response(StatusCode::OK, &search::response_body(&hits, &base)))
}

async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return crate::auth::OAuthError::BadRequest("the body must be application/x-www-form-urlencoded".into())
            .into_response();
    };
    let own_audiences =
        [format!("{}/oauth2/token", state.origin), format!("{}/oauth2/token", state.caller_origin(&headers))];
    match state.authority.exchange(&form, &own_audiences, Utc::now()) {
        Ok(token) => Json(token).into_response(),
        Err(error) => error.into_response(),
    }
}

/// Records every non-admin request with the status it got.
async fn log_requests(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let uri = request.uri().clone();
    if uri.path().starts_with(ADMIN_PREFIX) {
        return next.run(request).await;
    }
    let mut entry = {
        let header =
            |name: &HeaderName| request.headers().get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        LoggedRequest {
            method: request.method().to_string(),
            path: uri.path().to_owned(),
            query: Query::<Vec<(String, String)>>::try_from_uri(&uri).map(|q| q.0).unwrap_or_default(),
            query_string: uri.query().map(str::to_owned),
            time: Utc::now(),
            status: 0,
            request_id: header(&X_REQUEST_ID),
            correlation_id: header(&X_CORRELATION_ID),
        }
    };
    let response = next.run(request).await;
    entry.status = response.status().as_u16();
    state.log.push(entry);
    response
}

fn admin_error(message: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message.into()}))).into_response()
}

async fn get_faults(State(state): State<Arc<AppState>>) -> Json<FaultConfig> {
    Json(state.faults().config().clone())
}

async fn set_faults(State(state): State<Arc<AppState>>, body: Result<Json<FaultConfig>, JsonRejection>) -> Response {
    let config = match body {
        Ok(Json(config)) => config,
        Err(rejection) => return admin_error(rejection.body_text()),
    };
    if let Err(message) = config.validate() {
        return admin_error(message);
    }
    state.faults().set(config.clone());
    Json(config).into_response()
}

async fn clear_faults(State(state): State<Arc<AppState>>) -> StatusCode {
    state.faults().set(FaultConfig::default());
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
struct RequestFilter {
    /// Only requests whose path starts with this, e.g. the PDS base path.
    path: Option<String>,
}

async fn list_requests(State(state): State<Arc<AppState>>, Query(filter): Query<RequestFilter>) -> Json<Value> {
    let requests = state.log.snapshot(filter.path.as_deref());
    Json(json!({"count": requests.len(), "requests": requests}))
}

async fn clear_requests(State(state): State<Arc<AppState>>) -> StatusCode {
    state.log.clear();
    StatusCode::NO_CONTENT
}

/// Applies a Bundle on top of the current data, with the same rules as a later `--data` file.
async fn overlay_patients(State(state): State<Arc<AppState>>, body: Result<Json<Value>, JsonRejection>) -> Response {
    let bundle = match body {
        Ok(Json(bundle)) => bundle,
        Err(rejection) => return admin_error(rejection.body_text()),
    };
    match state.dataset().overlay(&bundle, "POST /_emulator/patients") {
        Ok(next) => {
            let count = next.len();
            state.replace_dataset(Arc::new(next));
            Json(json!({"patients": count})).into_response()
        }
        Err(error) => admin_error(error.to_string()),
    }
}

async fn reset_patients(State(state): State<Arc<AppState>>) -> StatusCode {
    state.replace_dataset(state.initial.clone());
    StatusCode::NO_CONTENT
}

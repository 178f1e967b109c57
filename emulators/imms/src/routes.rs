//! HTTP wiring: the Immunization routes under the base path (behind the proxy gate: faults, bearer token,
//! `Accept`, `X-Request-ID`), the token endpoint at `/oauth2/token`, and the test controls under `/_emulator/`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::body::{Bytes, to_bytes};
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use pds_emulator::auth::{Authority, OAuthError};
use pds_emulator::faults::{FaultConfig, Faults};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::log::{LoggedCall, RequestLog};
use crate::outcome::{ImmsError, fhir_response, fhir_text_response};
use crate::records;
use crate::search;
use crate::store::Store;
use crate::vaccine_types;
use crate::validate;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
const E_TAG: HeaderName = HeaderName::from_static("e-tag");
const ADMIN_PREFIX: &str = "/_emulator";
/// Bodies beyond this are refused before parsing (the API gateway's own limit is 6 MB).
const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

pub(crate) struct AppState {
    pub store: Mutex<Store>,
    /// The records given at start, restored by `DELETE /_emulator/records`.
    pub initial: Vec<Value>,
    pub authority: Authority,
    pub auth_required: bool,
    pub faults: Mutex<Faults>,
    pub log: RequestLog,
    /// `""` or `/immunisation-fhir-api/FHIR/R4`-style, no trailing slash.
    pub base_path: String,
    /// `http://127.0.0.1:PORT`, as bound.
    pub origin: String,
}

impl AppState {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The origin the caller used (from `Host`), else the bound one; used for `Location` and `fullUrl`.
    fn caller_origin(&self, headers: &HeaderMap) -> String {
        match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
            Some(host) => format!("http://{host}"),
            None => self.origin.clone(),
        }
    }

    fn api_base(&self, headers: &HeaderMap) -> String {
        format!("{}{}", self.caller_origin(headers), self.base_path)
    }
}

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/Immunization", get(search_get).post(create))
        .route("/Immunization/_search", post(search_post))
        .route("/Immunization/{id}", get(read).put(update).delete(delete))
        .fallback(unsupported_route)
        .layer(middleware::from_fn_with_state(state.clone(), api_gate));
    let app = Router::new()
        .route("/oauth2/token", post(token))
        .route("/_emulator/faults", get(get_faults).post(set_faults).delete(clear_faults))
        .route("/_emulator/requests", get(list_requests).delete(clear_requests))
        .route("/_emulator/records", get(list_records).post(preload_records).delete(reset_records));
    let app = if state.base_path.is_empty() { app.merge(api) } else { app.nest(&state.base_path, api) };
    app.layer(middleware::from_fn_with_state(state.clone(), log_requests)).with_state(state)
}

/// What the API proxy does before the backend sees a request: faults, bearer token, `Accept` and `X-Request-ID`
/// checks; on the way out, `X-Request-ID` and `X-Correlation-ID` are mirrored on every answer, errors included.
async fn api_gate(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let request_id = request.headers().get(X_REQUEST_ID).cloned();
    let correlation_id = request.headers().get(X_CORRELATION_ID).cloned();
    let decision = state.faults().decide(Instant::now());
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let mut response = match decision.fault {
        Some(fault) => ImmsError::from_fault(&fault).into_response(),
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

fn header_text(headers: &HeaderMap, name: impl axum::http::header::AsHeaderName) -> Option<String> {
    headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn admit(state: &AppState, headers: &HeaderMap) -> Result<(), ImmsError> {
    if state.auth_required {
        let authorization = header_text(headers, header::AUTHORIZATION);
        state.authority.check_bearer(authorization.as_deref()).map_err(|_| ImmsError::Unauthorized)?;
    }
    if let Some(accept) = header_text(headers, header::ACCEPT)
        && !accept_ok(&accept)
    {
        return Err(ImmsError::BadRequest(format!(
            "Invalid accept header: '{accept}'. Use application/fhir+json, application/fhir+json; version=N or */*"
        )));
    }
    // Optional, as in the spec; when sent it must be a UUID (clients send v4 UUIDs and reuse them on retries).
    if let Some(id) = header_text(headers, X_REQUEST_ID)
        && uuid::Uuid::try_parse(&id).is_err()
    {
        return Err(ImmsError::BadRequest(format!("Invalid X-Request-ID header: '{id}' is not a UUID")));
    }
    Ok(())
}

/// `application/fhir+json`, with an optional `version=N` parameter, or `*/*`; a list passes if any item does.
fn accept_ok(accept: &str) -> bool {
    accept.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default();
        match media {
            "*/*" => true,
            "application/fhir+json" => parts.all(|p| {
                p.is_empty()
                    || p.strip_prefix("version=")
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    || p.starts_with("q=")
                    || p.starts_with("charset=")
            }),
            _ => false,
        }
    })
}

/// IEDS ids: 1–64 letters, digits, `-` or `.`.
fn check_id(id: &str) -> Result<(), ImmsError> {
    let ok = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(ImmsError::Invalid(
            "Validation errors: the provided event ID is either missing or not in the expected format.".into(),
        ))
    }
}

fn parse_body(body: &Bytes) -> Result<Value, ImmsError> {
    serde_json::from_slice(body)
        .map_err(|error| ImmsError::Invalid(format!("Request's body contains malformed JSON: {error}")))
}

fn forbidden() -> ImmsError {
    ImmsError::Forbidden("Unauthorized request for vaccine type".into())
}

fn with_etag(mut response: Response, version: u32) -> Response {
    if let Ok(value) = HeaderValue::from_str(&version.to_string()) {
        response.headers_mut().insert(E_TAG, value);
    }
    response
}

async fn create(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Response, ImmsError> {
    let resource = parse_body(&body)?;
    if resource.get("id").is_some() {
        return Err(ImmsError::Invalid(
            "The provided immunization resource must not contain an 'id' field when creating a record".into(),
        ));
    }
    let facts = validate::validate(&resource, Utc::now())?;
    if !vaccine_types::is_permitted(facts.vacc_type) {
        return Err(forbidden());
    }
    let created = state.store().create(resource, facts)?;
    let location = format!("{}/Immunization/{}", state.api_base(&headers), created.id);
    let mut response = StatusCode::CREATED.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(with_etag(response, created.version))
}

async fn read(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Result<Response, ImmsError> {
    check_id(&id)?;
    let store = state.store();
    let record = store.read(&id).ok_or_else(|| ImmsError::NotFound(id.clone()))?;
    if !vaccine_types::is_permitted(&record.vaccine_type) {
        return Err(forbidden());
    }
    let mut resource = record.resource.clone();
    if let Some(object) = resource.as_object_mut() {
        object.insert("meta".into(), json!({"versionId": record.version.to_string()}));
    }
    Ok(with_etag(fhir_response(StatusCode::OK, &resource), record.version))
}

/// The `E-Tag` request header: required, a positive whole number.
fn sent_version(headers: &HeaderMap) -> Result<u32, ImmsError> {
    let Some(text) = header_text(headers, &E_TAG) else {
        return Err(ImmsError::Invariant(
            "Validation errors: Immunization resource version not specified in the request headers".into(),
        ));
    };
    let trimmed = text.trim().trim_start_matches("W/").trim_matches('"');
    trimmed.parse::<u32>().ok().filter(|v| *v > 0).ok_or_else(|| {
        ImmsError::Invariant(format!(
            "Validation errors: Immunization resource version:{text} in the request headers is invalid."
        ))
    })
}

async fn update(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ImmsError> {
    check_id(&id)?;
    let version = sent_version(&headers)?;
    let resource = parse_body(&body)?;
    if resource.get("id").and_then(Value::as_str) != Some(id.as_str()) {
        return Err(ImmsError::Invariant(format!(
            "Validation errors: The provided immunization id:{id} doesn't match with the content of the request body"
        )));
    }
    let facts = validate::validate(&resource, Utc::now())?;
    let mut store = state.store();
    let existing = store.get(&id).ok_or_else(|| ImmsError::NotFound(id.clone()))?;
    if !vaccine_types::is_permitted(&existing.vaccine_type) || !vaccine_types::is_permitted(facts.vacc_type) {
        return Err(forbidden());
    }
    let new_version = store.update(&id, resource, facts, version)?;
    Ok(with_etag(StatusCode::OK.into_response(), new_version))
}

async fn delete(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Result<StatusCode, ImmsError> {
    check_id(&id)?;
    let mut store = state.store();
    let record = store.read(&id).ok_or_else(|| ImmsError::NotFound(id.clone()))?;
    if !vaccine_types::is_permitted(&record.vaccine_type) {
        return Err(forbidden());
    }
    store.delete(&id, Utc::now())?;
    Ok(StatusCode::NO_CONTENT)
}

fn query_pairs(uri: &Uri) -> Result<Vec<(String, String)>, ImmsError> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|_| ImmsError::Invalid("The query string cannot be decoded".into()))
}

async fn search_get(State(state): State<Arc<AppState>>, headers: HeaderMap, uri: Uri) -> Result<Response, ImmsError> {
    let pairs = query_pairs(&uri)?;
    run_search(&state, &headers, &pairs)
}

async fn search_post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, ImmsError> {
    let Ok(Form(form)) = form else {
        return Err(ImmsError::Invalid("The _search body must be application/x-www-form-urlencoded".into()));
    };
    let mut pairs = query_pairs(&uri)?;
    pairs.extend(form);
    run_search(&state, &headers, &pairs)
}

fn run_search(state: &AppState, headers: &HeaderMap, pairs: &[(String, String)]) -> Result<Response, ImmsError> {
    let request = search::parse(pairs)?;
    let body = search::run(&request, &state.store(), &state.api_base(headers))?;
    Ok(fhir_text_response(StatusCode::OK, body))
}

async fn unsupported_route() -> ImmsError {
    ImmsError::Invalid("Invalid request: this resource or method is not supported".into())
}

async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return OAuthError::BadRequest("the body must be application/x-www-form-urlencoded".into()).into_response();
    };
    let own_audiences =
        [format!("{}/oauth2/token", state.origin), format!("{}/oauth2/token", state.caller_origin(&headers))];
    match state.authority.exchange(&form, &own_audiences, Utc::now()) {
        Ok(token) => Json(token).into_response(),
        Err(error) => error.into_response(),
    }
}

/// Records every non-admin request, with its body, and the status it got.
async fn log_requests(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let uri = request.uri().clone();
    if uri.path().starts_with(ADMIN_PREFIX) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return ImmsError::Invalid("Request body too large".into()).into_response();
    };
    let headers = &parts.headers;
    let mut entry = LoggedCall {
        method: parts.method.to_string(),
        path: uri.path().to_owned(),
        query: Query::<Vec<(String, String)>>::try_from_uri(&uri).map(|q| q.0).unwrap_or_default(),
        query_string: uri.query().map(str::to_owned),
        time: Utc::now(),
        status: 0,
        request_id: header_text(headers, X_REQUEST_ID),
        correlation_id: header_text(headers, X_CORRELATION_ID),
        e_tag: header_text(headers, E_TAG),
        accept: header_text(headers, header::ACCEPT),
        content_type: header_text(headers, header::CONTENT_TYPE),
        authorization: headers.contains_key(header::AUTHORIZATION),
        body: (!bytes.is_empty()).then(|| {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        }),
    };
    let response = next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await;
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
    /// Only requests whose path starts with this, e.g. the API base path.
    path: Option<String>,
}

async fn list_requests(State(state): State<Arc<AppState>>, Query(filter): Query<RequestFilter>) -> Json<Value> {
    let requests = state.log.snapshot_where(|e| filter.path.as_deref().is_none_or(|p| e.path.starts_with(p)));
    Json(json!({"count": requests.len(), "requests": requests}))
}

async fn clear_requests(State(state): State<Arc<AppState>>) -> StatusCode {
    state.log.clear();
    StatusCode::NO_CONTENT
}

async fn list_records(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.store().listing())
}

/// Adds the Immunizations of a posted Bundle or array, with the same rules as `--data`.
async fn preload_records(State(state): State<Arc<AppState>>, body: Result<Json<Value>, JsonRejection>) -> Response {
    let value = match body {
        Ok(Json(value)) => value,
        Err(rejection) => return admin_error(rejection.body_text()),
    };
    let origin = "POST /_emulator/records";
    let resources = match records::records_of(value, origin) {
        Ok(resources) => resources,
        Err(error) => return admin_error(error.to_string()),
    };
    let mut checked = Vec::new();
    for (index, resource) in resources.into_iter().enumerate() {
        match records::facts(&resource) {
            Ok(facts) => checked.push((resource, facts)),
            Err(reason) => return admin_error(format!("{origin}: entry {index}: {reason}")),
        }
    }
    let mut store = state.store();
    let ids: Vec<String> = checked.into_iter().map(|(resource, facts)| store.preload(resource, facts)).collect();
    Json(json!({"loaded": ids.len(), "ids": ids, "records": store.len()})).into_response()
}

/// Back to the records given at start.
async fn reset_records(State(state): State<Arc<AppState>>) -> Response {
    match crate::initial_store(&state.initial) {
        Ok(store) => {
            *state.store() = store;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => admin_error(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::accept_ok;

    #[test]
    fn accept_headers() {
        for ok in ["application/fhir+json", "application/fhir+json; version=1", "*/*", "text/html, */*;q=0.1"] {
            assert!(accept_ok(ok), "{ok}");
        }
        for bad in ["application/json", "application/fhir+json; version=x", "text/html"] {
            assert!(!accept_ok(bad), "{bad}");
        }
    }
}

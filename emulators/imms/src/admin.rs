//! The test controls under `/_emulator/`: faults, compatibility switches, the request log and the records.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pds_emulator::faults::FaultConfig;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::compat::Compat;
use crate::records;
use crate::routes::AppState;

fn admin_error(message: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message.into()}))).into_response()
}

pub(crate) async fn get_faults(State(state): State<Arc<AppState>>) -> Json<FaultConfig> {
    Json(state.faults().config().clone())
}

pub(crate) async fn set_faults(
    State(state): State<Arc<AppState>>,
    body: Result<Json<FaultConfig>, JsonRejection>,
) -> Response {
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

pub(crate) async fn clear_faults(State(state): State<Arc<AppState>>) -> StatusCode {
    state.faults().set(FaultConfig::default());
    StatusCode::NO_CONTENT
}

pub(crate) async fn get_compat(State(state): State<Arc<AppState>>) -> Json<Compat> {
    Json(state.compat())
}

pub(crate) async fn set_compat(
    State(state): State<Arc<AppState>>,
    body: Result<Json<Compat>, JsonRejection>,
) -> Response {
    let compat = match body {
        Ok(Json(compat)) => compat,
        Err(rejection) => return admin_error(rejection.body_text()),
    };
    if let Err(message) = compat.validate() {
        return admin_error(message);
    }
    *state.compat.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = compat.clone();
    Json(compat).into_response()
}

pub(crate) async fn clear_compat(State(state): State<Arc<AppState>>) -> StatusCode {
    *state.compat.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Compat::default();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
pub(crate) struct RequestFilter {
    /// Only requests whose path starts with this, e.g. the API base path.
    path: Option<String>,
}

pub(crate) async fn list_requests(
    State(state): State<Arc<AppState>>,
    Query(filter): Query<RequestFilter>,
) -> Json<Value> {
    let requests = state.log.snapshot_where(|e| filter.path.as_deref().is_none_or(|p| e.path.starts_with(p)));
    Json(json!({"count": requests.len(), "requests": requests}))
}

pub(crate) async fn clear_requests(State(state): State<Arc<AppState>>) -> StatusCode {
    state.log.clear();
    StatusCode::NO_CONTENT
}

pub(crate) async fn list_records(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.store().listing())
}

/// Adds the Immunizations of a posted Bundle or array, with the same rules as `--data`.
pub(crate) async fn preload_records(
    State(state): State<Arc<AppState>>,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
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
pub(crate) async fn reset_records(State(state): State<Arc<AppState>>) -> Response {
    match crate::initial_store(&state.initial) {
        Ok(store) => {
            *state.store() = store;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => admin_error(error.to_string()),
    }
}

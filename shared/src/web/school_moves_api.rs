//! JSON API for school moves (mavis-import.md §9.1, §9.4, §12): the moves the team reviews, the review data,
//! confirm or ignore, and the CSV export of confirmed moves. Point-of-care teams only (403 otherwise).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, CurrentUser, PageQuery};
use super::issues_api::review_error;
use super::notices_api::NOT_AUTHORIZED;
use crate::domain::TeamKind;
use crate::review::export;
use crate::review::paging::PageInfo;
use crate::review::school_moves::{self, MoveDecision, MoveDetail, MoveSummary};

const NOT_FOUND: &str = "School move not found";

fn require_point_of_care(state: &AppState, user: &CurrentUser) -> Result<(), ApiError> {
    match state.reference.team(&user.team_id) {
        Some(team) if team.kind == TeamKind::PointOfCare => Ok(()),
        _ => Err(ApiError::Forbidden(NOT_AUTHORIZED.into())),
    }
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound(NOT_FOUND.into()))
}

#[derive(Debug, Serialize)]
pub struct MoveList {
    /// "N school move(s)", or "There are currently no school moves."
    pub summary: String,
    /// Moves in the whole list, on every page.
    pub count: usize,
    pub school_moves: Vec<MoveSummary>,
    #[serde(flatten)]
    pub paging: PageInfo,
}

/// `GET /api/school-moves?page=N`: 50 a page.
pub async fn list_moves(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<MoveList>, ApiError> {
    require_point_of_care(&state, &user)?;
    let listed = school_moves::list(state.records.as_ref(), &state.reference, &user.team_id, query.page.unwrap_or(1))
        .await
        .map_err(|e| review_error(e, NOT_FOUND))?;
    let count = listed.paging.total;
    Ok(Json(MoveList { summary: summary_text(count), count, school_moves: listed.school_moves, paging: listed.paging }))
}

/// "N school move(s)", or "There are currently no school moves."
pub fn summary_text(count: usize) -> String {
    match count {
        0 => "There are currently no school moves.".to_string(),
        1 => "1 school move".to_string(),
        n => format!("{n} school moves"),
    }
}

/// `GET /api/school-moves/{id}` (the patient's id)
pub async fn show_move(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<MoveDetail>, ApiError> {
    require_point_of_care(&state, &user)?;
    let loaded = school_moves::load(state.records.as_ref(), &user.team_id, parse_id(&id)?)
        .await
        .map_err(|e| match e {
            // A decided move is simply gone for someone reading it.
            crate::review::ReviewError::Conflict(_) => ApiError::NotFound(NOT_FOUND.into()),
            other => review_error(other, NOT_FOUND),
        })?
        .ok_or_else(|| ApiError::NotFound(NOT_FOUND.into()))?;
    Ok(Json(loaded.detail(&state.reference, &user.team_id, state.settings.today())))
}

#[derive(Debug, Deserialize)]
pub struct DecideRequest {
    pub decision: MoveDecision,
}

#[derive(Debug, Serialize)]
pub struct Decided {
    pub id: Uuid,
    pub decision: MoveDecision,
    /// "<Full name>’s school record updated" or "<Full name>’s school move ignored".
    pub message: String,
}

/// `POST /api/school-moves/{id}` {"decision": "confirm" | "ignore"}
pub async fn decide_move(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<DecideRequest>,
) -> Result<Json<Decided>, ApiError> {
    require_point_of_care(&state, &user)?;
    let store = state.records.as_ref();
    let id = parse_id(&id)?;
    let loaded = school_moves::load(store, &user.team_id, id)
        .await
        .map_err(|e| review_error(e, NOT_FOUND))?
        .ok_or_else(|| ApiError::NotFound(NOT_FOUND.into()))?;
    let today = state.settings.today();
    let patient = school_moves::decide(
        store,
        &state.reference,
        &user.team_id,
        loaded,
        request.decision,
        &user.email,
        today,
        state.settings.now(),
    )
    .await
    .map_err(|e| review_error(e, NOT_FOUND))?;
    let message = match request.decision {
        MoveDecision::Confirm => format!("{}’s school record updated", patient.staff_facing_name()),
        MoveDecision::Ignore => format!("{}’s school move ignored", patient.staff_facing_name()),
    };
    Ok(Json(Decided { id, decision: request.decision, message }))
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

fn date(field: &'static str, value: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::InvalidField { field, message: "Enter a date as YYYY-MM-DD".into() }),
    }
}

/// `GET /api/school-moves/export.csv?from=&to=`
pub async fn export_moves(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    require_point_of_care(&state, &user)?;
    let from = date("from", query.from.as_deref())?;
    let to = date("to", query.to.as_deref())?;
    let body = export::school_moves_csv(state.records.as_ref(), &state.reference, &user.team_id, from, to)
        .await
        .map_err(|e| review_error(e, NOT_FOUND))?;
    let disposition = format!("attachment; filename=\"{}\"", export::filename(from, to));
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

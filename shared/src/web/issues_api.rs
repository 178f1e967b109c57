//! JSON API for import issues (mavis-import.md §7.3, §12): the team's list, the side-by-side comparison, and
//! resolving with use-uploaded / keep-existing / keep-both. National-reporting teams have no issues (403).

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, CurrentUser, PageQuery};
use super::notices_api::NOT_AUTHORIZED;
use crate::domain::TeamKind;
use crate::review::ReviewError;
use crate::review::issues::{self, Decision, IssueDetail, IssueSummary};
use crate::review::paging::PageInfo;

const NOT_FOUND: &str = "Issue not found";

/// Maps a review outcome to HTTP: 404 for missing, 422 for a decision not allowed, 409 for a lost race.
pub fn review_error(error: ReviewError, not_found: &str) -> ApiError {
    match error {
        ReviewError::NotFound => ApiError::NotFound(not_found.into()),
        ReviewError::NotAllowed(reason) => ApiError::Unprocessable(reason),
        ReviewError::Conflict(reason) => ApiError::Conflict(reason),
        ReviewError::Store(e) => e.into(),
    }
}

/// §12: issues are for teams that are not national reporting.
fn require_issues_team(state: &AppState, user: &CurrentUser) -> Result<(), ApiError> {
    match state.reference.team(&user.team_id) {
        Some(team) if team.kind != TeamKind::NationalReporting => Ok(()),
        _ => Err(ApiError::Forbidden(NOT_AUTHORIZED.into())),
    }
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound(NOT_FOUND.into()))
}

#[derive(Debug, Serialize)]
pub struct IssueList {
    /// "N uploaded record(s) need(s) review", or "No issues to review."
    pub summary: String,
    /// Entries in the whole list, on every page.
    pub count: usize,
    pub issues: Vec<IssueSummary>,
    #[serde(flatten)]
    pub paging: PageInfo,
}

pub fn summary_text(count: usize) -> String {
    match count {
        0 => "No issues to review.".into(),
        1 => "1 uploaded record needs review".into(),
        n => format!("{n} uploaded records need review"),
    }
}

/// `GET /api/issues?page=N`: 50 a page.
pub async fn list_issues(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<IssueList>, ApiError> {
    require_issues_team(&state, &user)?;
    let listed = issues::list(state.records.as_ref(), &user.team_id, query.page.unwrap_or(1))
        .await
        .map_err(|e| review_error(e, NOT_FOUND))?;
    let count = listed.paging.total;
    Ok(Json(IssueList { summary: summary_text(count), count, issues: listed.issues, paging: listed.paging }))
}

/// `GET /api/issues/{id}`
pub async fn show_issue(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<IssueDetail>, ApiError> {
    require_issues_team(&state, &user)?;
    let store = state.records.as_ref();
    let issue = issues::load(store, &user.team_id, parse_id(&id)?)
        .await
        .map_err(|e| review_error(e, NOT_FOUND))?
        .filter(|i| i.marker.value.is_open())
        .ok_or_else(|| ApiError::NotFound(NOT_FOUND.into()))?;
    let detail = issue.detail(&state.reference, state.settings.today()).map_err(|e| review_error(e, NOT_FOUND))?;
    Ok(Json(detail))
}

#[derive(Debug, Deserialize)]
pub struct ResolveRequest {
    pub decision: Decision,
}

#[derive(Debug, Serialize)]
pub struct Resolved {
    pub id: Uuid,
    pub decision: Decision,
    /// "Record updated"
    pub message: &'static str,
    /// The patients the decision leaves: the child, and for keep-both the new record too.
    pub patient_ids: Vec<Uuid>,
}

/// `POST /api/issues/{id}/resolve` {"decision": "use-uploaded" | "keep-existing" | "keep-both"}
pub async fn resolve_issue(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ResolveRequest>,
) -> Result<Json<Resolved>, ApiError> {
    require_issues_team(&state, &user)?;
    let store = state.records.as_ref();
    let id = parse_id(&id)?;
    let issue = issues::load(store, &user.team_id, id)
        .await
        .map_err(|e| review_error(e, NOT_FOUND))?
        .ok_or_else(|| ApiError::NotFound(NOT_FOUND.into()))?;
    let patient_ids = match issues::resolve(store, issue, request.decision, &user.email, state.settings.now()).await {
        Ok(ids) => ids,
        Err(ReviewError::Conflict(_)) if resolved_meanwhile(&state, &user, id).await => {
            return Err(ApiError::Conflict(issues::ALREADY_RESOLVED.into()));
        }
        Err(e) => return Err(review_error(e, NOT_FOUND)),
    };
    Ok(Json(Resolved { id, decision: request.decision, message: "Record updated", patient_ids }))
}

async fn resolved_meanwhile(state: &AppState, user: &CurrentUser, id: Uuid) -> bool {
    matches!(
        crate::store::issues::get_for_team(state.records.as_ref(), &user.team_id, id).await,
        Ok(Some(marker)) if !marker.value.is_open()
    )
}

//! JSON API for important notices (spec §10, §12): the current team's active notices, and dismissing one. Only super
//! admins ("access sensitive flagged records") may use it; everyone else gets the reference service's refusal.
//! The list carries the child's name (as the notices page shows it) but never an address or contact details.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiQuery, CurrentUser, PageQuery};
use crate::domain::notice::{INVALIDATED_NOT_DISMISSIBLE, ImportantNotice, NoticeKind};
use crate::pds_refresh::notices::dismiss;
use crate::ports::StoreError;
use crate::review::paging::PageInfo;
use crate::store::notices;

/// The reference service's message for a user without the permission.
pub const NOT_AUTHORIZED: &str = "You are not authorized to perform this action.";
const NOT_FOUND: &str = "Notice not found";

#[derive(Debug, Serialize)]
pub struct NoticeView {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: NoticeKind,
    pub patient_id: Uuid,
    /// "CLARKE, Jennifer": names only, never addresses or contacts (pages.md §7).
    pub patient_name: Option<String>,
    pub message: String,
    pub recorded_at: DateTime<Utc>,
}

impl From<&ImportantNotice> for NoticeView {
    fn from(n: &ImportantNotice) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            patient_id: n.patient_id,
            patient_name: None,
            message: n.message(),
            recorded_at: n.recorded_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct NoticeList {
    pub notices: Vec<NoticeView>,
    #[serde(flatten)]
    pub paging: PageInfo,
}

fn require_super_admin(user: &CurrentUser) -> Result<(), ApiError> {
    if user.super_admin { Ok(()) } else { Err(ApiError::Forbidden(NOT_AUTHORIZED.into())) }
}

/// `GET /api/notices?page=N`: the team's active notices whose patient still exists, newest first, 50 a page.
pub async fn list_notices(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<NoticeList>, ApiError> {
    require_super_admin(&user)?;
    let listed = crate::review::notices::listed(state.records.as_ref(), &user.team_id, query.page.unwrap_or(1)).await?;
    let notices = listed
        .notices
        .into_iter()
        .map(|listed| NoticeView { patient_name: Some(listed.child_name), ..NoticeView::from(&listed.notice) })
        .collect();
    Ok(Json(NoticeList { notices, paging: listed.paging }))
}

#[derive(Debug, Serialize)]
pub struct NoticeCount {
    pub count: usize,
    /// "N important notice(s) need(s) attention"; None at 0, when no banner is shown (§10, not the reference's quirk).
    pub banner: Option<String>,
}

/// `GET /api/notices/count`: the number behind the "Important notices" tab and banner: the list's total.
pub async fn count_notices(State(state): State<AppState>, user: CurrentUser) -> Result<Json<NoticeCount>, ApiError> {
    require_super_admin(&user)?;
    let count = crate::review::notices::count(state.records.as_ref(), &user.team_id).await?;
    Ok(Json(NoticeCount { count, banner: crate::review::notices::banner_text(count) }))
}

/// `POST /api/notices/{id}/dismiss`: dismisses the team's copy only. Invalidated notices are refused (422): they are
/// resolved by fixing the NHS number. Dismissing an already dismissed notice answers it unchanged.
pub async fn dismiss_notice(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<NoticeView>, ApiError> {
    require_super_admin(&user)?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound(NOT_FOUND.into()))?;
    let store = state.records.as_ref();
    let notice =
        notices::get_for_team(store, &user.team_id, id).await?.ok_or_else(|| ApiError::NotFound(NOT_FOUND.into()))?;
    if !notice.value.kind.can_be_dismissed() {
        return Err(ApiError::Unprocessable(INVALIDATED_NOT_DISMISSIBLE.into()));
    }
    if !notice.value.is_active() {
        return Ok(Json(NoticeView::from(&notice.value)));
    }
    match dismiss(store, &notice, state.settings.now(), Some(&user.email)).await {
        Ok(dismissed) => Ok(Json(NoticeView::from(&dismissed))),
        // Dismissed (by someone else or automatically) between the read and the write: it is no longer active.
        Err(StoreError::Conflict(_)) => Ok(Json(NoticeView::from(&notice.value))),
        Err(e) => Err(e.into()),
    }
}

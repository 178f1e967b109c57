//! P11, the team's important notices, and P12, dismissing one (pages.md §7). Super admins only: everyone else gets
//! the 403 page on every route here, by GET and by POST.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum_extra::extract::Form;
use serde::Deserialize;
use uuid::Uuid;

use super::import_tabs::{Tab, import_tabs};
use super::layout::{IncomingFlash, see_other_with_flash};
use super::{FieldError, Layout, NumberedPages, PageError, PageResult, format, page};
use crate::clock::london_date;
use crate::domain::notice::{INVALIDATED_NOT_DISMISSIBLE, ImportantNotice};
use crate::ports::StoreError;
use crate::review::notices::ListedNotice;
use crate::store::{self, imports::Versioned};
use crate::web::AppState;
use crate::web::extract::PageQuery;
use crate::web::session::SignedIn;

fn require_super_admin(signed: &SignedIn) -> Result<(), PageError> {
    if signed.user.super_admin { Ok(()) } else { Err(PageError::Forbidden) }
}

#[derive(Template)]
#[template(path = "imports/notices.html")]
struct NoticesPage {
    layout: Layout,
    national_reporting: bool,
    tabs: Vec<Tab>,
    rows: Vec<NoticeRow>,
    pages: NumberedPages,
}

struct NoticeRow {
    date: String,
    child: String,
    child_href: String,
    message: String,
    /// None for invalidated notices: they clear only when the NHS number is fixed.
    dismiss_href: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    signed: SignedIn,
    IncomingFlash(flash): IncomingFlash,
    Query(query): Query<PageQuery>,
) -> PageResult {
    require_super_admin(&signed)?;
    let layout = Layout::signed_in(&state, &signed, "Important notices", "/imports").await?.with_flash(flash);
    let store = state.records.as_ref();
    let listed = crate::review::notices::listed(store, &signed.user.team_id, query.page.unwrap_or(1)).await?;
    let pages = NumberedPages::of(&listed.paging, "/imports/notices".into());
    let rows = listed
        .notices
        .into_iter()
        .map(|ListedNotice { notice, child_name }| NoticeRow {
            date: format::date(london_date(notice.recorded_at)),
            child: child_name,
            child_href: format!("/patients/{}", notice.patient_id),
            message: notice.message(),
            dismiss_href: notice.kind.can_be_dismissed().then(|| format!("/imports/notices/{}/dismiss", notice.id)),
        })
        .collect();
    let national_reporting = state
        .reference
        .team(&signed.user.team_id)
        .is_some_and(|t| t.kind == crate::domain::TeamKind::NationalReporting);
    let tabs = import_tabs(&layout.counts, "/imports/notices");
    Ok(page(StatusCode::OK, &NoticesPage { layout, national_reporting, tabs, rows, pages }))
}

#[derive(Template)]
#[template(path = "imports/dismiss_notice.html")]
struct DismissPage {
    layout: Layout,
    action: String,
    csrf_token: String,
    child: String,
    errors: Vec<FieldError>,
}

/// The team's notice and its child's name; another team's or a missing one is the 404 page.
async fn team_notice(
    state: &AppState,
    signed: &SignedIn,
    id: &str,
) -> Result<(Versioned<ImportantNotice>, String), PageError> {
    let id = Uuid::parse_str(id).map_err(|_| PageError::NotFound)?;
    let store = state.records.as_ref();
    let notice = store::notices::get_for_team(store, &signed.user.team_id, id).await?.ok_or(PageError::NotFound)?;
    let child = store::patients::get(store, notice.value.patient_id).await?.ok_or(PageError::NotFound)?;
    Ok((notice, child.value.staff_facing_name()))
}

async fn dismiss_page(
    state: &AppState,
    signed: &SignedIn,
    notice: &ImportantNotice,
    child: String,
) -> Result<DismissPage, PageError> {
    let layout = Layout::signed_in(state, signed, "Are you sure you want to dismiss this notice?", "/imports").await?;
    Ok(DismissPage {
        layout,
        action: format!("/imports/notices/{}/dismiss", notice.id),
        csrf_token: signed.csrf_token.clone(),
        child,
        errors: Vec::new(),
    })
}

/// `GET /imports/notices/{id}/dismiss`: the confirmation. No page for an invalidated or an already dismissed notice:
/// nothing links there.
pub async fn confirm(State(state): State<AppState>, signed: SignedIn, Path(id): Path<String>) -> PageResult {
    // Another team's notice is missing (404) for everyone; the team's own is for its super admins (403).
    let (notice, child) = team_notice(&state, &signed, &id).await?;
    require_super_admin(&signed)?;
    if !notice.value.kind.can_be_dismissed() || !notice.value.is_active() {
        return Err(PageError::NotFound);
    }
    Ok(page(StatusCode::OK, &dismiss_page(&state, &signed, &notice.value, child).await?))
}

#[derive(Debug, Deserialize)]
pub struct DismissForm {
    #[serde(default)]
    csrf_token: Option<String>,
}

/// `POST /imports/notices/{id}/dismiss`: dismisses the team's copy only. An invalidated notice: the page with the
/// reason (422). One dismissed meanwhile (by someone else, or by this form sent twice): back to the list, saying so.
pub async fn dismiss(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DismissForm>,
) -> PageResult {
    signed.check_csrf(form.csrf_token.as_deref())?;
    let (notice, child) = team_notice(&state, &signed, &id).await?;
    require_super_admin(&signed)?;
    if !notice.value.kind.can_be_dismissed() {
        let mut data = dismiss_page(&state, &signed, &notice.value, child).await?;
        data.errors = vec![FieldError { target: None, message: INVALIDATED_NOT_DISMISSIBLE.into() }];
        data.layout = data.layout.with_errors(&data.errors);
        return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, &data));
    }
    if !notice.value.is_active() {
        return Ok(see_other_with_flash("notice-already-dismissed", "/imports/notices"));
    }
    let store = state.records.as_ref();
    let by = Some(signed.user.email.as_str());
    match crate::pds_refresh::notices::dismiss(store, &notice, state.settings.now(), by).await {
        Ok(_) => Ok(see_other_with_flash("notice-dismissed", "/imports/notices")),
        Err(StoreError::Conflict(_)) => {
            // Changed since it was read: dismissed by someone else, or updated and still to dismiss (once more).
            let (current, _) = team_notice(&state, &signed, &id).await?;
            if !current.value.is_active() {
                return Ok(see_other_with_flash("notice-already-dismissed", "/imports/notices"));
            }
            crate::pds_refresh::notices::dismiss(store, &current, state.settings.now(), by).await?;
            Ok(see_other_with_flash("notice-dismissed", "/imports/notices"))
        }
        Err(e) => Err(e.into()),
    }
}

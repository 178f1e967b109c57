//! P1, the dashboard: the cards of the sections this service serves, and for super admins the important-notices
//! warning when there are any.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;

use super::layout::IncomingFlash;
use super::{Layout, PageResult, page};
use crate::domain::TeamKind;
use crate::web::AppState;
use crate::web::session::SignedIn;

#[derive(Template)]
#[template(path = "pages/dashboard.html")]
struct Dashboard {
    layout: Layout,
    national_reporting: bool,
    /// Super admins with notices: "N important notice(s) need(s) attention".
    notices_banner: Option<String>,
}

pub async fn show(State(state): State<AppState>, signed: SignedIn, IncomingFlash(flash): IncomingFlash) -> PageResult {
    let title = "Manage vaccinations in schools (Mavis)";
    let layout = Layout::signed_in(&state, &signed, title, "/dashboard").await?.with_flash(flash);
    let national_reporting =
        state.reference.team(&signed.user.team_id).is_some_and(|t| t.kind == TeamKind::NationalReporting);
    let notices_banner = layout.counts.notices.and_then(crate::review::notices::banner_text);
    Ok(page(StatusCode::OK, &Dashboard { layout, national_reporting, notices_banner }))
}

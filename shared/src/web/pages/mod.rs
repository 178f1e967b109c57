//! The web pages (pages.md): server-rendered HTML in NHS.UK frontend, on the same Router as the JSON API and over
//! the same `store::`, `review::` and `pipeline::` code. Signed-in users only (a cookie session, see
//! [`super::session`]); every page is scoped to the user's team exactly as the API is, and another team's resource
//! is the 404 page. Templates are askama's, checked at compile time, escaping everything by default.

mod dashboard;
pub mod format;
mod format_help;
mod import_tabs;
mod imports;
mod issues;
mod layout;
mod notices;
mod patients;
mod school_moves;

mod sign_in;
mod upload;

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub use layout::{Choice, FieldError, Flash, Layout, NavItem};

/// The flash cookie's name, for the middleware that clears it once shown.
pub fn layout_flash_cookie() -> &'static str {
    layout::FLASH_COOKIE
}

use super::AppState;
use super::auth::AuthError;
use crate::ports::StoreError;
use crate::review::ReviewError;

/// Every page route. The fallback (any other path) is the 404 page, added by [`super::app`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/dashboard", get(dashboard::show))
        .route("/sign-in", get(sign_in::start))
        .route("/auth/callback", get(sign_in::callback))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/signed-out", get(sign_in::signed_out))
        .route("/imports", get(imports::list))
        .route("/imports/new", get(upload::choose_type).post(upload::chose_type))
        .route("/imports/new/class-list/school", get(upload::choose_school).post(upload::chose_school))
        .route("/imports/new/class-list/year-groups", get(upload::choose_year_groups).post(upload::chose_year_groups))
        .route("/imports/new/{kind}", get(upload::upload_form))
        .route("/imports/issues", get(issues::list))
        .route("/imports/issues/{id}", get(issues::show).post(issues::resolve))
        .route("/imports/notices", get(notices::list))
        .route("/imports/notices/{id}/dismiss", get(notices::confirm).post(notices::dismiss))
        .route("/imports/{id}", get(imports::show))
        .route("/imports/{id}/progress", get(imports::progress))
        .route("/imports/{id}/errors.csv", get(imports::errors_csv))
        .route("/school-moves", get(school_moves::list))
        .route("/school-moves/download", get(school_moves::download_form).post(school_moves::chose_range))
        .route("/school-moves/download/confirm", get(school_moves::confirm_download))
        .route("/school-moves/download.csv", get(school_moves::download_csv))
        .route("/school-moves/{id}", get(school_moves::show).post(school_moves::decide))
        .route("/patients/{id}", get(patients::show))
        .route("/patients/{id}/vaccinations/{record_id}", get(patients::vaccination))
}

/// Why a page could not be shown. Each renders as a page of its own (or a redirect to sign in).
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No live session: sign in, then come back to `return_to`.
    #[error("sign-in needed")]
    SignIn { return_to: String },
    #[error("not found")]
    NotFound,
    /// Not for this user's team or role (pages.md §11).
    #[error("not allowed")]
    Forbidden,
    /// Signed in with the identity provider, but unknown to this service.
    #[error("account not set up")]
    AccountNotSetUp,
    /// A form POST without the session's CSRF token: nothing changed.
    #[error("form token missing or wrong")]
    CsrfRejected,
    #[error("sign-in failed: {0}")]
    SignInFailed(String),
    /// A decision the rules refuse (422) or that someone else made first (409): the reason, on the warning page.
    #[error("refused: {1}")]
    Refused(StatusCode, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<ReviewError> for PageError {
    fn from(error: ReviewError) -> Self {
        match error {
            ReviewError::NotFound => PageError::NotFound,
            ReviewError::Store(e) => PageError::Store(e),
            ReviewError::NotAllowed(reason) => PageError::Refused(StatusCode::UNPROCESSABLE_ENTITY, reason),
            ReviewError::Conflict(reason) => PageError::Refused(StatusCode::CONFLICT, reason),
        }
    }
}

impl From<AuthError> for PageError {
    fn from(error: AuthError) -> Self {
        PageError::SignInFailed(error.to_string())
    }
}

impl From<askama::Error> for PageError {
    fn from(error: askama::Error) -> Self {
        PageError::Internal(format!("template: {error}"))
    }
}

#[derive(Template)]
#[template(path = "errors/not_found.html")]
struct NotFoundPage {
    layout: Layout,
}

#[derive(Template)]
#[template(path = "errors/forbidden.html")]
struct ForbiddenPage {
    layout: Layout,
    message: &'static str,
}

#[derive(Template)]
#[template(path = "errors/forbidden.html")]
struct RefusedPage {
    layout: Layout,
    message: String,
}

#[derive(Template)]
#[template(path = "errors/server_error.html")]
struct ServerErrorPage {
    layout: Layout,
    heading: &'static str,
    retry: bool,
}

const NOT_AUTHORIZED: &str = "You are not authorized to perform this action.";

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { return_to } => {
                let query = percent_encoding::utf8_percent_encode(&return_to, percent_encoding::NON_ALPHANUMERIC);
                Redirect::to(&format!("/sign-in?return_to={query}")).into_response()
            }
            PageError::NotFound => {
                page(StatusCode::NOT_FOUND, &NotFoundPage { layout: Layout::bare("Page not found") })
            }
            PageError::Forbidden => forbidden(NOT_AUTHORIZED),
            PageError::AccountNotSetUp => forbidden(super::error::ACCOUNT_NOT_SET_UP),
            PageError::CsrfRejected => {
                tracing::warn!("form POST refused: CSRF token missing or wrong");
                forbidden("This form has expired. Go back, reload the page and try again.")
            }
            PageError::SignInFailed(reason) => {
                tracing::warn!(%reason, "sign-in failed");
                let layout = Layout::bare("Sorry, you could not be signed in");
                page(
                    StatusCode::BAD_GATEWAY,
                    &ServerErrorPage { layout, heading: "Sorry, you could not be signed in", retry: true },
                )
            }
            PageError::Refused(status, reason) => {
                let layout = Layout::bare("There is a problem");
                page(status, &RefusedPage { layout, message: reason })
            }
            PageError::Store(error) => server_error(&error.to_string()),
            PageError::Internal(reason) => server_error(&reason),
        }
    }
}

fn forbidden(message: &'static str) -> Response {
    warning_page(StatusCode::FORBIDDEN, message)
}

/// A refusal that needs no more than its message: the warning banner and a way home.
pub fn warning_page(status: StatusCode, message: &'static str) -> Response {
    let title = if status == StatusCode::FORBIDDEN { "You are not authorized" } else { message };
    page(status, &ForbiddenPage { layout: Layout::bare(title), message })
}

/// The 500 page. The reason is logged (it names a step or a store error, never personal data) and not shown.
fn server_error(reason: &str) -> Response {
    tracing::error!(%reason, "page failed");
    let heading = "Sorry, there’s a problem with the service";
    page(StatusCode::INTERNAL_SERVER_ERROR, &ServerErrorPage { layout: Layout::bare(heading), heading, retry: false })
}

/// A rendered page with its status. A template that fails to render (a bug) is the 500 page, never a panic.
pub fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "Sorry, there is a problem with the service.").into_response()
        }
    }
}

/// `200` with the page, or the page of whatever went wrong.
pub type PageResult = Result<Response, PageError>;

/// The 404 page for any path that is not a page or an API route.
pub async fn not_found() -> Response {
    PageError::NotFound.into_response()
}

/// POST/redirect/GET: a 303 to `to`.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A list sliced into numbered pages (`?page=N`); a page past the end shows the last one (pages.md §9).
pub struct NumberedPages {
    pub count: usize,
    pub current: usize,
    /// Entries on every page.
    pub total: usize,
    base: String,
}

impl NumberedPages {
    pub fn new(items: usize, per_page: usize, requested: usize, base: String) -> Self {
        let count = items.div_ceil(per_page.max(1)).max(1);
        NumberedPages { count, current: requested.clamp(1, count), total: items, base }
    }

    /// The pagination of a review list's page.
    pub fn of(paging: &crate::review::paging::PageInfo, base: String) -> Self {
        NumberedPages { count: paging.pages, current: paging.page, total: paging.total, base }
    }

    pub fn href(&self, number: &usize) -> String {
        if *number == 1 { self.base.clone() } else { format!("{}?page={number}", self.base) }
    }

    pub fn previous_href(&self) -> Option<String> {
        (self.current > 1).then(|| self.href(&(self.current - 1)))
    }

    pub fn next_href(&self) -> Option<String> {
        (self.current < self.count).then(|| self.href(&(self.current + 1)))
    }
}

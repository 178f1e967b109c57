//! What every page's frame needs: the title, the account area, the navigation with its counts, the flash banner.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::cookie::CookieJar;

use super::PageError;
use crate::domain::TeamKind;
use crate::domain::names::staff_facing;
use crate::review::issues;
use crate::web::AppState;
use crate::web::session::SignedIn;

pub const GUIDE_URL: &str = "https://guide.manage-vaccinations-in-schools.nhs.uk";
pub const NATIONAL_REPORTING_GUIDE_URL: &str =
    "https://guide.manage-vaccinations-in-schools.nhs.uk/national-reporting/";

pub struct Layout {
    /// The page title, without " – Manage vaccinations in schools".
    pub title: String,
    /// A form came back with errors: the title starts "Error: ".
    pub has_errors: bool,
    pub account: Option<Account>,
    pub nav: Vec<NavItem>,
    pub flash: Option<Flash>,
    pub guide_url: &'static str,
    /// What the navigation and the imports tabs count; None where the user does not see the item.
    pub counts: NavCounts,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NavCounts {
    /// Open import issues: teams that are not national reporting.
    pub open_issues: Option<usize>,
    /// Active important notices: super admins only.
    pub notices: Option<usize>,
}

pub struct Account {
    /// "USER, Test".
    pub name: String,
    pub csrf_token: String,
}

pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub count: Option<usize>,
    pub current: bool,
}

impl Layout {
    /// The frame without an account or navigation: error pages, sign-in.
    pub fn bare(title: &str) -> Self {
        Layout {
            title: title.into(),
            has_errors: false,
            account: None,
            nav: Vec::new(),
            flash: None,
            guide_url: GUIDE_URL,
            counts: NavCounts::default(),
        }
    }

    /// The frame of a signed-in page at `path`: the header's items with their counts (pages.md §1.1).
    pub async fn signed_in(state: &AppState, signed: &SignedIn, title: &str, path: &str) -> Result<Self, PageError> {
        let user = &signed.user;
        let national = state.reference.team(&user.team_id).is_some_and(|t| t.kind == TeamKind::NationalReporting);
        let store = state.records.as_ref();
        // A count that cannot be read is left out of the page rather than failing it (and logged).
        let counted = |what: &'static str, result: Result<usize, String>| match result {
            Ok(n) => Some(n),
            Err(error) => {
                tracing::warn!(%error, what, "a navigation count could not be read");
                None
            }
        };
        let mut nav = Vec::new();
        let (mut open_issues, mut notices) = (None, None);
        if !national {
            let moves = crate::review::school_moves::count(store, &user.team_id).await;
            let moves = counted("school moves", moves.map_err(|e| e.to_string()));
            nav.push(NavItem { label: "School moves", href: "/school-moves", count: moves, current: false });
            let listed = issues::count(store, &user.team_id).await;
            open_issues = counted("import issues", listed.map_err(|e| e.to_string()));
        }
        if user.super_admin {
            let listed = crate::review::notices::count(store, &user.team_id).await;
            notices = counted("important notices", listed.map_err(|e| e.to_string()));
        }
        nav.push(NavItem { label: "Imports", href: "/imports", count: open_issues, current: false });
        for item in &mut nav {
            item.current = path == item.href || path.starts_with(&format!("{}/", item.href));
            item.count = item.count.filter(|&n| n > 0);
        }
        Ok(Layout {
            title: title.into(),
            has_errors: false,
            account: Some(Account {
                name: staff_facing(Some(&user.given_name), Some(&user.family_name)),
                csrf_token: signed.csrf_token.clone(),
            }),
            nav,
            flash: None,
            guide_url: if national { NATIONAL_REPORTING_GUIDE_URL } else { GUIDE_URL },
            counts: NavCounts { open_issues, notices },
        })
    }

    pub fn with_flash(mut self, flash: Option<Flash>) -> Self {
        self.flash = flash;
        self
    }

    pub fn with_errors(mut self, errors: &[FieldError]) -> Self {
        self.has_errors = !errors.is_empty();
        self
    }
}

/// A message carried across a redirect (pages.md §0.4), by name: the cookie holds the name of a known message,
/// never text or personal data, so nothing in it can be forged into the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Info,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
    /// The child the message is about ("SMITH, Jimmy’s school move ignored"): the cookie holds the child's id, and
    /// the page that shows the flash puts the name in front of the message, for a child of the user's team only.
    pub subject: Option<uuid::Uuid>,
}

pub const FLASH_COOKIE: &str = "mavis_flash";

impl Flash {
    /// The cookie value → the message it names.
    pub fn named(name: &str) -> Option<Self> {
        if let Some((name, id)) = name.split_once('.') {
            let (kind, message) = match name {
                "school-move-confirmed" => (FlashKind::Success, "’s school record updated"),
                "school-move-ignored" => (FlashKind::Info, "’s school move ignored"),
                _ => return None,
            };
            let subject = Some(uuid::Uuid::parse_str(id).ok()?);
            return Some(Flash { kind, message: message.into(), subject });
        }
        let (kind, message) = match name {
            "import-started" => (FlashKind::Success, "Import processing started"),
            "record-updated" => (FlashKind::Success, "Record updated"),
            "notice-dismissed" => (FlashKind::Success, "Notice dismissed"),
            "notice-already-dismissed" => (FlashKind::Info, "This notice had already been dismissed"),
            _ => return None,
        };
        Some(Flash { kind, message: message.into(), subject: None })
    }

    pub fn class_modifier(&self) -> &'static str {
        match self.kind {
            FlashKind::Success => " nhsuk-notification-banner--success",
            FlashKind::Info => "",
            FlashKind::Warning => " nhsuk-notification-banner--warning",
        }
    }

    pub fn role(&self) -> &'static str {
        match self.kind {
            FlashKind::Info => "region",
            FlashKind::Success | FlashKind::Warning => "alert",
        }
    }

    pub fn title(&self) -> &'static str {
        match self.kind {
            FlashKind::Success => "Success",
            FlashKind::Info => "Information",
            FlashKind::Warning => "Warning",
        }
    }
}

/// A 303 to `to` that carries the flash named `name` (one of [`Flash::named`]'s).
pub fn see_other_with_flash(name: &str, to: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let cookie = format!("{FLASH_COOKIE}={name}; Path=/; HttpOnly; SameSite=Lax");
    ([(axum::http::header::SET_COOKIE, cookie)], super::see_other(to)).into_response()
}

/// The flash the request carries, if any. The response that shows it also clears it (`super::super::flash_layer`).
pub struct IncomingFlash(pub Option<Flash>);

impl<S: Send + Sync> FromRequestParts<S> for IncomingFlash {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        Ok(IncomingFlash(jar.get(FLASH_COOKIE).and_then(|c| Flash::named(c.value()))))
    }
}

/// One error of a form: its message, and the id of the field it links to in the error summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub target: Option<String>,
    pub message: String,
}

impl FieldError {
    pub fn new(target: &str, message: impl Into<String>) -> Self {
        FieldError { target: Some(target.into()), message: message.into() }
    }
}

/// One option of radios, checkboxes or a select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub hint: Option<String>,
    pub checked: bool,
}

impl Choice {
    pub fn new(value: impl Into<String>, label: impl Into<String>) -> Self {
        Choice { value: value.into(), label: label.into(), hint: None, checked: false }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn checked(mut self, checked: bool) -> Self {
        self.checked = checked;
        self
    }

    /// NHS.UK's ids: the first item is the field's name (the error summary links to it), then name-2, name-3…
    pub fn id(&self, name: &str, index: &usize) -> String {
        if *index == 1 { name.to_string() } else { format!("{name}-{index}") }
    }
}

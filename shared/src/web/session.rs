//! Browser sessions for the pages: a random id in an HttpOnly, SameSite=Lax cookie, the session itself in the record
//! store under the id's SHA-256 (revocable by deleting it), an idle timeout of 30 minutes and an absolute one of 12
//! hours, and a per-session CSRF token that every form POST must carry. The JSON API never reads this cookie: it
//! keeps bearer tokens, so a page's cookie cannot be ridden into the API from another site.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use sha2::{Digest, Sha256};

use super::AppState;
use super::extract::{CurrentUser, known_user};
use super::pages::PageError;
use crate::domain::reference::User;
use crate::store::sessions::{self, Session};

pub const SESSION_COOKIE: &str = "mavis_session";
/// Idle sessions end after this long without a request.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// However active, a session ends this long after sign-in.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// Activity is written at most this often, so that a page of requests costs one write.
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// A random 256-bit value, URL-safe: session ids, CSRF tokens, OpenID Connect `state`, `nonce` and PKCE verifiers.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// How the store names a secret the browser holds.
pub fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A cookie of this service: HttpOnly, SameSite=Lax, for the whole site, Secure whenever the service is on https.
pub fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies())
        .path("/")
        .build()
}

/// The same cookie, expired: the browser forgets it.
pub fn removal(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut gone = cookie(state, name, String::new());
    gone.make_removal();
    gone
}

/// Starts a session for `email` (already verified and known) and returns its cookie. A fresh id at every sign-in, so
/// that an id planted before sign-in is worth nothing after it.
pub async fn start(state: &AppState, email: &str) -> Result<Cookie<'static>, PageError> {
    let id = random_token();
    let now = state.settings.now();
    let session = Session { email: email.to_string(), csrf_token: random_token(), created_at: now, last_seen_at: now };
    sessions::create_session(state.records.as_ref(), &hash(&id), &session).await?;
    Ok(cookie(state, SESSION_COOKIE, id))
}

/// Ends the session the cookie names, if any: the id is useless from now on, even if replayed.
pub async fn end(state: &AppState, jar: &CookieJar) -> Result<(), PageError> {
    if let Some(id) = jar.get(SESSION_COOKIE) {
        sessions::delete_session(state.records.as_ref(), &hash(id.value())).await?;
    }
    Ok(())
}

/// The signed-in user of a page request. Rejects with a redirect to sign-in (and back to the page asked for) when
/// there is no live session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub csrf_token: String,
}

impl SignedIn {
    /// The user as the JSON API's handlers see them, for the code both share.
    pub fn current_user(&self) -> CurrentUser {
        CurrentUser::from(&self.user)
    }

    /// A form's token against the session's, in constant time. A POST without the right one changes nothing.
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), PageError> {
        let submitted = submitted.unwrap_or_default().as_bytes();
        let expected = self.csrf_token.as_bytes();
        let same = submitted.len() == expected.len()
            && submitted.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if same { Ok(()) } else { Err(PageError::CsrfRejected) }
    }
}

impl<S> FromRequestParts<S> for SignedIn
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let sign_in = || PageError::SignIn { return_to: return_path(parts) };
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(id) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else { return Err(sign_in()) };
        let key = hash(&id);
        let store = state.records.as_ref();
        let Some(session) = sessions::get_session(store, &key).await? else { return Err(sign_in()) };
        let now = state.settings.now();
        if now - session.value.last_seen_at > IDLE_TIMEOUT || now - session.value.created_at > ABSOLUTE_TIMEOUT {
            sessions::delete_session(store, &key).await?;
            return Err(sign_in());
        }
        if now - session.value.last_seen_at > TOUCH_EVERY {
            sessions::touch_session(store, &key, &session, now).await?;
        }
        let user = known_user(&state.reference, &session.value.email).cloned().ok_or(PageError::AccountNotSetUp)?;
        Ok(SignedIn { user, csrf_token: session.value.csrf_token })
    }
}

/// The page to come back to after signing in: GETs only (a form cannot be replayed), as path and query.
fn return_path(parts: &Parts) -> String {
    if parts.method != axum::http::Method::GET {
        return "/dashboard".into();
    }
    parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/dashboard".into())
}

/// A return address that stays on this service: a path starting with one `/` (not `//host` or `/\host`).
pub fn safe_return_to(candidate: Option<&str>) -> String {
    match candidate {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control()) =>
        {
            path.to_string()
        }
        _ => "/dashboard".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_addresses_should_stay_on_this_service() {
        assert_eq!(safe_return_to(Some("/imports/1?page=2")), "/imports/1?page=2");
        for hostile in ["https://evil.example/", "//evil.example/", "/\\evil.example", "imports", "/a\nb"] {
            assert_eq!(safe_return_to(Some(hostile)), "/dashboard", "{hostile}");
        }
        assert_eq!(safe_return_to(None), "/dashboard");
    }

    #[test]
    fn tokens_should_be_random_and_hashes_stable() {
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 43);
        assert_eq!(hash("a"), hash("a"));
        assert_ne!(hash("a"), hash("b"));
    }
}

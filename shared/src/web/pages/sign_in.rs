//! `/sign-in`, `/auth/callback`, `/sign-out`: the OpenID Connect authorization code flow with PKCE, `state` and
//! `nonce`, ending in a fresh session. The `state` also goes into a short-lived HttpOnly cookie, so that an answer
//! carried to another browser (login CSRF) finds no matching attempt.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde::Deserialize;

use super::{Layout, PageError, PageResult, page, see_other};
use crate::store::sessions::{self, SignInAttempt};
use crate::web::AppState;
use crate::web::session::{self, SESSION_COOKIE, SignedIn, hash, random_token, safe_return_to};

const STATE_COOKIE: &str = "mavis_sign_in";
/// An attempt not answered within this long is refused.
const ATTEMPT_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    return_to: Option<String>,
}

/// `GET /sign-in?return_to=/imports/…`: off to the identity provider.
pub async fn start(State(state): State<AppState>, jar: CookieJar, Query(query): Query<StartQuery>) -> PageResult {
    let oidc = state.oidc.clone().ok_or_else(|| PageError::Internal("sign-in is not configured".into()))?;
    let (attempt_state, nonce, verifier) = (random_token(), random_token(), random_token());
    let attempt = SignInAttempt {
        nonce: nonce.clone(),
        pkce_verifier: verifier.clone(),
        return_to: safe_return_to(query.return_to.as_deref()),
        created_at: state.settings.now(),
    };
    sessions::create_attempt(state.records.as_ref(), &hash(&attempt_state), &attempt).await?;
    let url = oidc.authorization_url(&attempt_state, &nonce, &verifier).await?;
    let mut cookie: Cookie<'static> = session::cookie(&state, STATE_COOKIE, attempt_state);
    cookie.set_max_age(time_duration(ATTEMPT_LIFETIME));
    Ok((jar.add(cookie), Redirect::to(&url)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// `GET /auth/callback?code&state`: the provider's answer. A fresh session on success, whatever session the browser
/// had before.
pub async fn callback(State(state): State<AppState>, jar: CookieJar, Query(query): Query<CallbackQuery>) -> PageResult {
    let oidc = state.oidc.clone().ok_or_else(|| PageError::Internal("sign-in is not configured".into()))?;
    if let Some(error) = &query.error {
        // The user cancelled, or the provider refused: start again rather than show its error code.
        tracing::info!(error = %error.chars().take(64).collect::<String>(), "identity provider declined the sign-in");
        return Ok((jar.remove(session::removal(&state, STATE_COOKIE)), see_other("/signed-out")).into_response());
    }
    let (Some(code), Some(answer_state)) = (query.code.as_deref(), query.state.as_deref()) else {
        return Err(PageError::SignInFailed("the callback has no code or state".into()));
    };
    let cookie_state = jar.get(STATE_COOKIE).map(|c| c.value().to_string());
    if cookie_state.as_deref() != Some(answer_state) {
        return Err(PageError::SignInFailed("the state does not match this browser's sign-in".into()));
    }
    let store = state.records.as_ref();
    let attempt = sessions::take_attempt(store, &hash(answer_state))
        .await?
        .filter(|a| state.settings.now() - a.created_at <= ATTEMPT_LIFETIME)
        .ok_or_else(|| PageError::SignInFailed("no sign-in under way for this state (used, or too old)".into()))?;
    let identity = oidc.sign_in(code, &attempt.pkce_verifier, &attempt.nonce).await?;
    let user =
        crate::web::extract::known_user(&state.reference, &identity.email).ok_or(PageError::AccountNotSetUp)?.clone();
    if !crate::web::extract::subject_matches(&state, &user, &identity).await? {
        return Err(PageError::AccountNotSetUp);
    }
    session::end(&state, &jar).await?;
    let cookie = session::start(&state, &user.email).await?;
    tracing::info!(team_id = %user.team_id, "signed in");
    let jar = jar.remove(session::removal(&state, STATE_COOKIE)).add(cookie);
    Ok((jar, see_other(&attempt.return_to)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf_token: Option<String>,
}

/// `POST /sign-out`: the session is deleted, so its cookie, replayed, signs nobody in.
pub async fn sign_out(
    State(state): State<AppState>,
    signed: SignedIn,
    jar: CookieJar,
    Form(form): Form<SignOutForm>,
) -> PageResult {
    signed.check_csrf(form.csrf_token.as_deref())?;
    session::end(&state, &jar).await?;
    Ok((jar.remove(session::removal(&state, SESSION_COOKIE)), see_other("/signed-out")).into_response())
}

#[derive(Template)]
#[template(path = "auth/signed_out.html")]
struct SignedOut {
    layout: Layout,
}

/// `GET /signed-out`.
pub async fn signed_out() -> PageResult {
    Ok(page(StatusCode::OK, &SignedOut { layout: Layout::bare("You are signed out") }))
}

fn time_duration(duration: chrono::Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(duration.num_seconds())
}

//! The local runner's OpenID Connect provider, so that `cargo run` signs in through the same code path as AWS does
//! with CIS2: a discovery document, an authorization endpoint whose page lists the seed's users, a token endpoint
//! that checks the PKCE verifier, and the JWK set. ID tokens are signed by the runner's [`LocalIssuer`] key.
//!
//! For local use only: anyone who can reach the runner can sign in as any seed user. `mavis serve` listens on
//! 127.0.0.1.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use serde::Deserialize;

use super::LocalIssuer;
use super::oidc_client::pkce_challenge;
use crate::domain::ReferenceData;
use crate::domain::names::staff_facing;
use crate::web::pages::{Layout, page};
use crate::web::session::random_token;

/// Where the provider lives on the runner: its issuer is `{base}/oidc`.
pub const PATH: &str = "/oidc";
const CODE_LIFETIME: Duration = Duration::from_secs(300);
const ID_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

pub struct LocalProvider {
    issuer_url: String,
    client_id: String,
    redirect_url: String,
    keys: Arc<LocalIssuer>,
    reference: Arc<ReferenceData>,
    codes: Mutex<HashMap<String, Grant>>,
}

/// What an authorization code stands for until it is exchanged (once).
struct Grant {
    email: String,
    nonce: String,
    code_challenge: String,
    issued: Instant,
}

impl LocalProvider {
    /// `base_url` is the runner's own (`http://127.0.0.1:3000`); the client is the runner's web app.
    pub fn new(base_url: &str, client_id: &str, keys: Arc<LocalIssuer>, reference: Arc<ReferenceData>) -> Self {
        LocalProvider {
            issuer_url: format!("{base_url}{PATH}"),
            client_id: client_id.into(),
            redirect_url: format!("{base_url}/auth/callback"),
            keys,
            reference,
            codes: Mutex::new(HashMap::new()),
        }
    }

    pub fn issuer_url(&self) -> &str {
        &self.issuer_url
    }

    pub fn redirect_url(&self) -> &str {
        &self.redirect_url
    }

    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route(&format!("{PATH}/.well-known/openid-configuration"), get(discovery))
            .route(&format!("{PATH}/authorize"), get(authorize_page).post(authorize))
            .route(&format!("{PATH}/token"), axum::routing::post(token))
            .route(&format!("{PATH}/jwks.json"), get(jwks))
            .with_state(self)
    }
}

async fn discovery(State(provider): State<Arc<LocalProvider>>) -> Json<serde_json::Value> {
    let issuer = &provider.issuer_url;
    Json(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks.json"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": ["openid", "email", "profile"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
    }))
}

async fn jwks(State(provider): State<Arc<LocalProvider>>) -> Json<serde_json::Value> {
    Json(provider.keys.jwks())
}

#[derive(Debug, Deserialize)]
struct AuthorizeRequest {
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: String,
    /// Set by the page's buttons: who signs in.
    #[serde(default)]
    email: Option<String>,
}

impl AuthorizeRequest {
    /// Only this runner's own web app, with PKCE, may ask.
    fn check(&self, provider: &LocalProvider) -> Result<(), &'static str> {
        if self.client_id != provider.client_id || self.redirect_uri != provider.redirect_url {
            return Err("unknown client or redirect URI");
        }
        if self.response_type != "code" || self.code_challenge_method != "S256" || self.code_challenge.is_empty() {
            return Err("the authorization code flow with PKCE (S256) is required");
        }
        if self.state.is_empty() || self.nonce.is_empty() {
            return Err("state and nonce are required");
        }
        Ok(())
    }
}

#[derive(Template)]
#[template(path = "auth/local_sign_in.html")]
struct SignInPage<'a> {
    layout: Layout,
    request: &'a AuthorizeRequest,
    users: Vec<UserChoice>,
}

struct UserChoice {
    email: String,
    name: String,
    team: String,
}

async fn authorize_page(
    State(provider): State<Arc<LocalProvider>>,
    Query(request): Query<AuthorizeRequest>,
) -> Response {
    if let Err(reason) = request.check(&provider) {
        return (StatusCode::BAD_REQUEST, reason).into_response();
    }
    let users = provider
        .reference
        .users
        .iter()
        .map(|u| UserChoice {
            email: u.email.clone(),
            name: staff_facing(Some(&u.given_name), Some(&u.family_name)),
            team: provider.reference.team(&u.team_id).map(|t| t.name.clone()).unwrap_or_default(),
        })
        .collect();
    page(StatusCode::OK, &SignInPage { layout: Layout::bare("Sign in"), request: &request, users })
}

async fn authorize(State(provider): State<Arc<LocalProvider>>, Form(request): Form<AuthorizeRequest>) -> Response {
    if let Err(reason) = request.check(&provider) {
        return (StatusCode::BAD_REQUEST, reason).into_response();
    }
    let Some(user) = request.email.as_deref().and_then(|e| provider.reference.user(e)) else {
        return (StatusCode::BAD_REQUEST, "choose one of the listed users").into_response();
    };
    let code = random_token();
    let grant = Grant {
        email: user.email.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        issued: Instant::now(),
    };
    let mut codes = provider.codes.lock().unwrap_or_else(PoisonError::into_inner);
    codes.retain(|_, g| g.issued.elapsed() < CODE_LIFETIME);
    codes.insert(code.clone(), grant);
    let mut url = reqwest::Url::parse(&request.redirect_uri).expect("checked against the registered redirect URI");
    url.query_pairs_mut().append_pair("code", &code).append_pair("state", &request.state);
    Redirect::to(url.as_str()).into_response()
}

#[derive(Debug, Deserialize)]
struct TokenRequest {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    code_verifier: String,
}

/// RFC 6749 §5.2's error body.
fn token_error(status: StatusCode, error: &'static str) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(serde_json::json!({ "error": error }))).into_response()
}

async fn token(
    State(provider): State<Arc<LocalProvider>>,
    _headers: HeaderMap,
    Form(request): Form<TokenRequest>,
) -> Response {
    if request.grant_type != "authorization_code" {
        return token_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    // A code serves one exchange, whether or not that exchange succeeds.
    let grant = provider.codes.lock().unwrap_or_else(PoisonError::into_inner).remove(&request.code);
    let Some(grant) = grant.filter(|g| g.issued.elapsed() < CODE_LIFETIME) else {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    if request.redirect_uri != provider.redirect_url || pkce_challenge(&request.code_verifier) != grant.code_challenge {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let id_token = provider.keys.issue_id_token(
        &provider.issuer_url,
        &provider.client_id,
        &grant.email,
        &grant.nonce,
        ID_TOKEN_LIFETIME,
    );
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({
            "access_token": id_token,
            "token_type": "Bearer",
            "expires_in": ID_TOKEN_LIFETIME.as_secs(),
            "id_token": id_token,
        })),
    )
        .into_response()
}

//! NHS API-platform application-restricted auth (`nhs-apis.md` §3): a client signs an RS512 JWT with its private
//! key, names the public key with `kid`, and exchanges it at `POST /oauth2/token` for a bearer token.
//!
//! Error bodies and messages follow the platform's identity service (`{"error", "error_description",
//! "message_id"}`), so a client's error handling can be tested against the emulator.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde::Serialize;
use serde_json::{Value, json};

use crate::outcome::PdsError;

pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The platform refuses client assertions that expire more than five minutes ahead.
const MAX_ASSERTION_LIFETIME_SECS: i64 = 300;
/// What the platform issues: `expires_in` "599".
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(599);

/// Why a public-key file or string was rejected.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{origin}: not a PEM public key, a JWK or a JWKS")]
    Unrecognised { origin: String },
    #[error("{origin}: {reason}")]
    Invalid { origin: String, reason: String },
    #[error("{origin}: every key in a JWKS needs a kid")]
    MissingKid { origin: String },
}

/// Public keys by `kid`.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: BTreeMap<String, DecodingKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet").field("kids", &self.kids()).finish()
    }
}

impl KeySet {
    /// Reads a PEM public key, a JWK or a JWKS (`{"keys": [...]}`).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read { path: path.into(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// A PEM key gets the RFC 7638 thumbprint as its `kid`, which is how Mavis names its key; a JWK without a `kid`
    /// likewise. Keys in a JWKS must carry their own `kid`, as the platform requires.
    pub fn parse(text: &str, origin: &str) -> Result<Self, KeyError> {
        let trimmed = text.trim_start();
        let mut set = Self::default();
        if trimmed.starts_with("-----BEGIN") {
            let key = DecodingKey::from_rsa_pem(text.as_bytes()).map_err(|e| invalid(origin, e))?;
            let jwk = Jwk::from_decoding_key(&key, Some(Algorithm::RS512)).map_err(|e| invalid(origin, e))?;
            set.insert(&jwk, origin, false)?;
            return Ok(set);
        }
        let value: Value = serde_json::from_str(text).map_err(|_| KeyError::Unrecognised { origin: origin.into() })?;
        if value.get("keys").is_some() {
            let jwks: JwkSet = serde_json::from_value(value).map_err(|e| invalid(origin, e))?;
            for jwk in &jwks.keys {
                set.insert(jwk, origin, true)?;
            }
        } else {
            let jwk: Jwk = serde_json::from_value(value).map_err(|e| invalid(origin, e))?;
            set.insert(&jwk, origin, false)?;
        }
        Ok(set)
    }

    fn insert(&mut self, jwk: &Jwk, origin: &str, kid_required: bool) -> Result<(), KeyError> {
        if !matches!(jwk.algorithm, jsonwebtoken::jwk::AlgorithmParameters::RSA(_)) {
            return Err(invalid(origin, "only RSA keys can verify RS512"));
        }
        let kid = match &jwk.common.key_id {
            Some(kid) => kid.clone(),
            None if kid_required => return Err(KeyError::MissingKid { origin: origin.into() }),
            None => jwk.thumbprint(ThumbprintHash::SHA256).map_err(|e| invalid(origin, e))?,
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| invalid(origin, e))?;
        self.keys.insert(kid, key);
        Ok(())
    }

    /// Adds every key of `other` (a later key with the same `kid` wins).
    pub fn extend(&mut self, other: KeySet) {
        self.keys.extend(other.keys);
    }

    pub fn kids(&self) -> Vec<&str> {
        self.keys.keys().map(String::as_str).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn invalid(origin: &str, reason: impl std::fmt::Display) -> KeyError {
    KeyError::Invalid { origin: origin.into(), reason: reason.to_string() }
}

/// How the token endpoint checks client assertions.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub keys: KeySet,
    /// API keys accepted as `iss`/`sub`. Empty: any value, as long as `iss == sub`.
    pub api_keys: Vec<String>,
    /// Accepted `aud` values. Empty: the emulator's own token URL, by its bound address or by the `Host` it was
    /// called with (a client configured with `localhost` signs `http://localhost:…/oauth2/token`).
    pub audiences: Vec<String>,
    pub token_lifetime: Duration,
}

impl AuthSettings {
    pub fn new(keys: KeySet) -> Self {
        Self { keys, api_keys: Vec::new(), audiences: Vec::new(), token_lifetime: DEFAULT_TOKEN_LIFETIME }
    }
}

/// A token-endpoint failure. `Display` is the `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("grant_type is missing")]
    MissingGrantType,
    #[error("grant_type is invalid")]
    UnsupportedGrantType,
    #[error("Missing or invalid client_assertion_type - must be '{CLIENT_ASSERTION_TYPE}")]
    BadAssertionType,
    #[error("Missing client_assertion")]
    MissingAssertion,
    #[error("Malformed JWT in client_assertion")]
    MalformedJwt,
    #[error("Invalid 'alg' header in JWT - unsupported JWT algorithm - must be 'RS512'")]
    UnsupportedAlgorithm,
    #[error("Missing 'kid' header in JWT")]
    MissingKid,
    #[error("Invalid 'kid' header in JWT - no matching public key")]
    UnknownKid,
    #[error("JWT signature verification failed")]
    BadSignature,
    #[error("Failed to decode JWT")]
    Undecodable,
    #[error("Missing or non-matching iss/sub claims in JWT")]
    IssSubMismatch,
    #[error("Invalid iss/sub claims in JWT")]
    UnknownApiKey,
    #[error("Missing jti claim in JWT")]
    MissingJti,
    #[error("Missing or invalid aud claim in JWT")]
    BadAudience,
    #[error("Missing exp claim in JWT")]
    MissingExp,
    #[error("Invalid exp claim in JWT - JWT has expired")]
    Expired,
    #[error("Invalid exp claim in JWT - more than 5 minutes in future")]
    ExpiresTooLate,
    #[error("Non-unique jti claim in JWT")]
    ReplayedJti,
    #[error("{0}")]
    BadRequest(String),
}

impl OAuthError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::UnknownKid | Self::BadSignature | Self::UnknownApiKey | Self::BadAudience => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error(&self) -> &'static str {
        match self {
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::BadSignature => "public_key error",
            _ => "invalid_request",
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error(), "error_description": self.to_string(), "message_id": message_id()});
        (self.status(), Json(body)).into_response()
    }
}

/// The platform's message ids look like `rrt-…`; tests only check presence.
fn message_id() -> String {
    format!("rrt-emulator-{}", uuid::Uuid::new_v4())
}

/// The 200 body of `POST /oauth2/token`.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: String,
    pub token_type: &'static str,
    pub issued_at: String,
}

/// Issues tokens and remembers them, and the `jti`s already used, for the life of the emulator.
#[derive(Debug)]
pub struct Authority {
    settings: AuthSettings,
    tokens: Mutex<HashMap<String, Instant>>,
    seen_jtis: Mutex<HashMap<String, i64>>,
}

impl Authority {
    pub fn new(settings: AuthSettings) -> Self {
        Self { settings, tokens: Mutex::default(), seen_jtis: Mutex::default() }
    }

    /// Handles the form of `POST /oauth2/token`. `own_audiences` are used when no audience is configured.
    pub fn exchange(
        &self,
        form: &[(String, String)],
        own_audiences: &[String],
        now: DateTime<Utc>,
    ) -> Result<TokenResponse, OAuthError> {
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        match field("grant_type") {
            None | Some("") => return Err(OAuthError::MissingGrantType),
            Some("client_credentials") => {}
            Some(_) => return Err(OAuthError::UnsupportedGrantType),
        }
        if field("client_assertion_type") != Some(CLIENT_ASSERTION_TYPE) {
            return Err(OAuthError::BadAssertionType);
        }
        let assertion = field("client_assertion").filter(|a| !a.is_empty()).ok_or(OAuthError::MissingAssertion)?;
        let claims = self.verify_signature(assertion)?;
        let jti = self.check_claims(&claims, own_audiences, now.timestamp())?;
        self.remember_jti(jti, &claims, now.timestamp())?;

        let lifetime = match field("_access_token_expiry_ms") {
            Some(ms) => Duration::from_millis(ms.parse().map_err(|_| {
                OAuthError::BadRequest("_access_token_expiry_ms must be a whole number of milliseconds".into())
            })?),
            None => self.settings.token_lifetime,
        };
        Ok(self.issue(lifetime, now))
    }

    fn verify_signature(&self, assertion: &str) -> Result<Value, OAuthError> {
        let header = jsonwebtoken::decode_header(assertion).map_err(|_| OAuthError::MalformedJwt)?;
        if header.alg != Algorithm::RS512 {
            return Err(OAuthError::UnsupportedAlgorithm);
        }
        let kid = header.kid.filter(|k| !k.is_empty()).ok_or(OAuthError::MissingKid)?;
        let key = self.settings.keys.keys.get(&kid).ok_or(OAuthError::UnknownKid)?;
        // Claims are checked by hand below so each failure gets the platform's own message.
        let mut validation = Validation::new(Algorithm::RS512);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        match jsonwebtoken::decode::<Value>(assertion, key, &validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) => {
                Err(OAuthError::BadSignature)
            }
            Err(_) => Err(OAuthError::Undecodable),
        }
    }

    fn check_claims<'c>(&self, claims: &'c Value, own: &[String], now: i64) -> Result<&'c str, OAuthError> {
        let text = |name: &str| match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(OAuthError::Undecodable),
        };
        let (iss, sub) = (text("iss")?, text("sub")?);
        let api_key = match (iss, sub) {
            (Some(iss), Some(sub)) if iss == sub && !iss.is_empty() => iss,
            _ => return Err(OAuthError::IssSubMismatch),
        };
        if !self.settings.api_keys.is_empty() && !self.settings.api_keys.iter().any(|k| k == api_key) {
            return Err(OAuthError::UnknownApiKey);
        }
        let jti = text("jti")?.filter(|j| !j.is_empty()).ok_or(OAuthError::MissingJti)?;
        let accepted = if self.settings.audiences.is_empty() { own } else { &self.settings.audiences };
        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => accepted.contains(aud),
            Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(|a| accepted.iter().any(|x| x == a)),
            _ => false,
        };
        if !audience_ok {
            return Err(OAuthError::BadAudience);
        }
        let exp = match claims.get("exp") {
            None | Some(Value::Null) => return Err(OAuthError::MissingExp),
            Some(exp) => exp.as_i64().ok_or(OAuthError::Undecodable)?,
        };
        if exp <= now {
            return Err(OAuthError::Expired);
        }
        if exp > now + MAX_ASSERTION_LIFETIME_SECS {
            return Err(OAuthError::ExpiresTooLate);
        }
        Ok(jti)
    }

    /// A `jti` may be used once. It is forgotten after its assertion expires, since the assertion is then refused
    /// for being expired anyway.
    fn remember_jti(&self, jti: &str, claims: &Value, now: i64) -> Result<(), OAuthError> {
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(now);
        let mut seen = self.seen_jtis.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.retain(|_, expires| *expires >= now);
        if seen.contains_key(jti) {
            return Err(OAuthError::ReplayedJti);
        }
        seen.insert(jti.to_owned(), exp);
        Ok(())
    }

    fn issue(&self, lifetime: Duration, now: DateTime<Utc>) -> TokenResponse {
        let token: String = rand::rng().sample_iter(&Alphanumeric).take(28).map(char::from).collect();
        let created = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tokens.retain(|_, expires| *expires > created);
        tokens.insert(token.clone(), created + lifetime);
        TokenResponse {
            access_token: token,
            expires_in: lifetime.as_secs().to_string(),
            token_type: "Bearer",
            issued_at: now.timestamp_millis().to_string(),
        }
    }

    /// The check the API proxy makes before PDS sees a request.
    pub fn check_bearer(&self, authorization: Option<&str>) -> Result<(), PdsError> {
        let Some(header) = authorization else {
            return Err(PdsError::AccessDenied("Missing Authorization header".into()));
        };
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let tokens = self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match token.and_then(|t| tokens.get(t)) {
            Some(expires) if *expires > Instant::now() => Ok(()),
            _ => Err(PdsError::AccessDenied("Invalid Access Token".into())),
        }
    }
}

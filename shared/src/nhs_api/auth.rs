//! The NHS API platform's application-restricted auth (nhs-apis.md §3): sign a short-lived client assertion with
//! our RSA key, swap it at the token endpoint for an access token, and reuse that token until shortly before it
//! expires. One [`ApiPlatformAuth`] is meant to be shared (it is cheap to clone) so every client in the process
//! uses the same token, as Mavis does.
//!
//! The API key and signing key come from the environment, or on AWS from a Secrets Manager secret
//! ([`SecretCredentials`]) read at cold start and again when the copy is [`SECRET_MAX_AGE`] old or the token endpoint
//! rejects it, so that a rotated secret is used without a redeploy.
//!
//! Key material and tokens never reach logs or `Debug` output.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::ports::{SecretError, SecretStore};

/// The assertion's lifetime: the platform allows at most 5 minutes; Mavis uses 3.
const ASSERTION_LIFETIME_SECS: i64 = 180;
/// A cached token is dropped this long before it expires, so it cannot run out mid-request.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// The longest a token is kept, whatever `expires_in` says (the platform's last about ten minutes): a huge value
/// from a token endpoint can neither overflow the clock nor keep a revoked token in use for long.
const MAX_TOKEN_REUSE: Duration = Duration::from_secs(60 * 60);
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long a copy of the credentials secret is used before the next token request reads it again.
pub const SECRET_MAX_AGE: Duration = Duration::from_secs(5 * 60);

/// Where and how to authenticate. Built from the environment by `cloud::PdsConfig` and `cloud::ImmsConfig`, or
/// by hand in tests.
#[derive(Clone)]
pub struct AuthConfig {
    /// `{nhs_api.base_url}/oauth2/token`; also the assertion's `aud`.
    pub token_url: String,
    /// The platform API key: the assertion's `iss` and `sub`.
    pub api_key: String,
    /// The RS512 signing key (PKCS#1 or PKCS#8 PEM).
    pub private_key_pem: String,
    /// The `kid` under which the public key is published in our JWKS.
    pub kid: String,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("token_url", &self.token_url)
            .field("api_key", &"<redacted>")
            .field("private_key_pem", &"<redacted>")
            .field("kid", &self.kid)
            .finish()
    }
}

/// The credentials secret: JSON `{"api_key": "...", "private_key_pem": "..."}` in `store` under `secret_id`.
#[derive(Clone)]
pub struct SecretCredentials {
    pub store: Arc<dyn SecretStore>,
    pub secret_id: String,
    /// [`SECRET_MAX_AGE`] on AWS; tests shorten it.
    pub max_age: Duration,
}

#[derive(serde::Deserialize)]
struct CredentialsSecret {
    api_key: String,
    private_key_pem: String,
}

/// The API key and the parsed signing key, and when they were read.
struct SigningKeys {
    api_key: String,
    key: EncodingKey,
    read_at: Instant,
    /// The token endpoint rejected them: read the secret again before the next request.
    rejected: bool,
}

impl SigningKeys {
    fn new(api_key: String, private_key_pem: &str) -> Result<Self, AuthError> {
        let key = EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).map_err(|_| AuthError::InvalidKey)?;
        Ok(Self { api_key, key, read_at: Instant::now(), rejected: false })
    }

    async fn read(secret: &SecretCredentials) -> Result<Self, AuthError> {
        let text = secret.store.secret_string(&secret.secret_id).await.map_err(AuthError::Secret)?;
        // serde's message could quote part of the value: say only what shape was expected.
        let parsed: CredentialsSecret = serde_json::from_str(&text).map_err(|_| AuthError::MalformedSecret)?;
        Self::new(parsed.api_key, &parsed.private_key_pem)
    }
}

/// When to fetch a new token: before it expires, and within [`MAX_TOKEN_REUSE`] at most.
fn refresh_at(now: Instant, expires_in: Duration) -> Instant {
    now.checked_add(expires_in.min(MAX_TOKEN_REUSE).saturating_sub(EXPIRY_MARGIN)).unwrap_or(now)
}

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The configured PEM is not an RSA private key. A configuration error: retrying will not help.
    #[error("the NHS API signing key is not a valid RSA private key PEM")]
    InvalidKey,
    #[error("could not sign the client assertion: {0}")]
    Signing(String),
    /// The token endpoint answered 4xx: wrong key, kid, API key or audience. Retrying will not help.
    #[error("the token endpoint rejected our credentials (HTTP {status}): {error}: {description}")]
    Rejected { status: u16, error: String, description: String },
    /// Connection failure, timeout, 5xx or 429 from the token endpoint: worth retrying later.
    #[error("the token endpoint is unavailable: {0}")]
    Transient(String),
    /// A 200 whose body is not a usable token response.
    #[error("the token endpoint sent an unusable response: {0}")]
    InvalidResponse(String),
    #[error("the NHS API credentials secret could not be read: {0}")]
    Secret(#[source] SecretError),
    #[error("the NHS API credentials secret is not JSON with the text fields api_key and private_key_pem")]
    MalformedSecret,
}

impl AuthError {
    /// Whether a later retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_) | Self::Secret(SecretError::Unavailable(_)))
    }
}

/// A bearer token. `Debug` hides it; read it with [`AccessToken::secret`] only to build the header.
#[derive(Clone)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// Hands out access tokens, or none at all in `disabled` mode (the sandbox and local emulators without auth).
#[derive(Clone)]
pub struct ApiPlatformAuth {
    /// `None` = disabled.
    signer: Option<Arc<Signer>>,
}

struct Signer {
    token_url: String,
    kid: String,
    /// `None`: the keys were given once (environment, tests) and never change.
    secret: Option<SecretCredentials>,
    http: reqwest::Client,
    /// Held across the token request, so tasks that find the cache empty at once wait for one refresh.
    state: Mutex<SignerState>,
}

struct SignerState {
    keys: SigningKeys,
    token: Option<CachedToken>,
}

struct CachedToken {
    token: AccessToken,
    /// When to stop using it: fetch time + `expires_in` − [`EXPIRY_MARGIN`].
    refresh_at: Instant,
}

impl fmt::Debug for ApiPlatformAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.signer {
            None => f.write_str("ApiPlatformAuth::Disabled"),
            Some(signer) => f
                .debug_struct("ApiPlatformAuth::Signed")
                .field("token_url", &signer.token_url)
                .field("kid", &signer.kid)
                .field("secret_id", &signer.secret.as_ref().map(|secret| &secret.secret_id))
                .finish(),
        }
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: String,
    exp: i64,
}

impl ApiPlatformAuth {
    /// No token, no `Authorization` header.
    pub fn disabled() -> Self {
        Self { signer: None }
    }

    /// Signed-JWT auth. Fails at once if the key does not parse, so a bad deployment shows at start-up.
    pub fn signed(config: AuthConfig, http: reqwest::Client) -> Result<Self, AuthError> {
        let keys = SigningKeys::new(config.api_key, &config.private_key_pem)?;
        Ok(Self::with_keys(config.token_url, config.kid, None, keys, http))
    }

    /// Signed-JWT auth with the keys of a secret, read now (so a missing or malformed secret shows at cold start) and
    /// again once the copy is `max_age` old or the token endpoint rejects it.
    pub async fn signed_from_secret(
        token_url: String,
        kid: String,
        secret: SecretCredentials,
        http: reqwest::Client,
    ) -> Result<Self, AuthError> {
        let keys = SigningKeys::read(&secret).await?;
        Ok(Self::with_keys(token_url, kid, Some(secret), keys, http))
    }

    fn with_keys(
        token_url: String,
        kid: String,
        secret: Option<SecretCredentials>,
        keys: SigningKeys,
        http: reqwest::Client,
    ) -> Self {
        let state = Mutex::new(SignerState { keys, token: None });
        Self { signer: Some(Arc::new(Signer { token_url, kid, secret, http, state })) }
    }

    pub fn is_disabled(&self) -> bool {
        self.signer.is_none()
    }

    /// The token to send, fetching a new one when none is cached or the cached one is about to expire.
    /// `None` in disabled mode.
    pub async fn access_token(&self) -> Result<Option<AccessToken>, AuthError> {
        let Some(signer) = &self.signer else { return Ok(None) };
        let mut state = signer.state.lock().await;
        if let Some(cached) = state.token.as_ref().filter(|cached| Instant::now() < cached.refresh_at) {
            return Ok(Some(cached.token.clone()));
        }
        let reread = signer.reread_if_due(&mut state.keys).await;
        let mut fetched = signer.fetch(&state.keys).await;
        if matches!(fetched, Err(AuthError::Rejected { .. })) && signer.secret.is_some() {
            // The secret may have been rotated (and the old key retired) since the copy was read.
            state.keys.rejected = true;
            if !reread && signer.reread_if_due(&mut state.keys).await {
                fetched = signer.fetch(&state.keys).await;
                state.keys.rejected = matches!(fetched, Err(AuthError::Rejected { .. }));
            }
        }
        let (token, expires_in) = fetched?;
        state.token = Some(CachedToken { token: token.clone(), refresh_at: refresh_at(Instant::now(), expires_in) });
        Ok(Some(token))
    }

    /// Drops the cached token, for when an API answered 401 to it (revoked, or the platform restarted).
    pub async fn forget_token(&self) {
        if let Some(signer) = &self.signer {
            signer.state.lock().await.token = None;
        }
    }
}

impl Signer {
    /// Reads the secret again when the keys came from one and are old or were rejected; `true` if it did. A failed
    /// read keeps the keys in use (they may still be valid) and is logged without the secret's value.
    async fn reread_if_due(&self, keys: &mut SigningKeys) -> bool {
        let Some(secret) = &self.secret else { return false };
        if !keys.rejected && keys.read_at.elapsed() < secret.max_age {
            return false;
        }
        match SigningKeys::read(secret).await {
            Ok(fresh) => {
                *keys = fresh;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "keeping the NHS API credentials in use");
                false
            }
        }
    }

    fn client_assertion(&self, keys: &SigningKeys) -> Result<String, AuthError> {
        let mut header = Header::new(Algorithm::RS512);
        header.kid = Some(self.kid.clone());
        let claims = Claims {
            iss: &keys.api_key,
            sub: &keys.api_key,
            aud: &self.token_url,
            jti: uuid::Uuid::new_v4().to_string(),
            exp: chrono::Utc::now().timestamp() + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &keys.key).map_err(|e| AuthError::Signing(e.to_string()))
    }

    async fn fetch(&self, keys: &SigningKeys) -> Result<(AccessToken, Duration), AuthError> {
        let assertion = self.client_assertion(keys)?;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion.as_str()),
        ];
        let response = self
            .http
            .post(&self.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| AuthError::Transient(e.without_url().to_string()))?;
        let status = response.status();
        tracing::debug!(status = status.as_u16(), "NHS API token request");
        let body: Option<Value> = response.json().await.ok();
        let field = |name: &str| body.as_ref().and_then(|b| b.get(name)).and_then(Value::as_str).map(str::to_owned);
        if status.is_success() {
            let token = field("access_token")
                .filter(|t| !t.is_empty())
                .ok_or_else(|| AuthError::InvalidResponse("no access_token".into()))?;
            let expires_in = body
                .as_ref()
                .and_then(|b| b.get("expires_in"))
                .and_then(|v| v.as_str().and_then(|s| s.trim().parse::<u64>().ok()).or_else(|| v.as_u64()))
                .ok_or_else(|| AuthError::InvalidResponse("expires_in is not a number of seconds".into()))?;
            return Ok((AccessToken(token), Duration::from_secs(expires_in)));
        }
        let code = status.as_u16();
        if status.is_server_error() || code == 408 || code == 429 {
            return Err(AuthError::Transient(format!("HTTP {code}")));
        }
        Err(AuthError::Rejected {
            status: code,
            error: field("error").unwrap_or_default(),
            description: field("error_description").unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_expires_in_should_neither_panic_nor_keep_the_token_for_long() {
        let now = Instant::now();
        assert_eq!(refresh_at(now, Duration::from_secs(u64::MAX)), now + MAX_TOKEN_REUSE - EXPIRY_MARGIN);
        assert_eq!(refresh_at(now, Duration::from_secs(599)), now + Duration::from_secs(569));
        assert_eq!(refresh_at(now, Duration::from_secs(10)), now, "shorter than the margin: fetch again next time");
    }

    fn config(pem: &str) -> AuthConfig {
        AuthConfig {
            token_url: "http://localhost/oauth2/token".into(),
            api_key: "secret-api-key".into(),
            private_key_pem: pem.into(),
            kid: "kid-1".into(),
        }
    }

    #[test]
    fn debug_redacts_key_material() {
        let shown = format!("{:?}", config("-----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY-----"));
        assert!(!shown.contains("MIIsecret") && !shown.contains("secret-api-key"), "{shown}");
        assert!(shown.contains("kid-1"));
        assert_eq!(format!("{:?}", AccessToken("tok".into())), "AccessToken(<redacted>)");
    }

    #[test]
    fn a_bad_pem_fails_at_construction() {
        let error = ApiPlatformAuth::signed(config("not a key"), reqwest::Client::new()).unwrap_err();
        assert!(matches!(error, AuthError::InvalidKey));
    }

    #[tokio::test]
    async fn disabled_mode_has_no_token() {
        let auth = ApiPlatformAuth::disabled();
        assert!(auth.is_disabled());
        assert!(auth.access_token().await.unwrap().is_none());
    }
}

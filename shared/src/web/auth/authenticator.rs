//! Token verification against a JWK set, fixed (local issuer) or fetched from the identity provider and cached.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::AuthError;

/// Clock skew tolerated on `exp` (and `nbf`), between the issuer's clock and ours.
const LEEWAY_SECONDS: u64 = 30;
/// Longer than any real token; anything bigger is rejected before parsing.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// A token with an unknown `kid` triggers a JWKS refresh at most this often, so forged kids cannot make us hammer the
/// identity provider.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// How long a fetched JWK set is trusted before it is fetched again, so that a key the provider withdraws stops
/// verifying within this time on warm containers too.
const JWKS_TTL: Duration = Duration::from_secs(15 * 60);
/// The longest lifetime a token may claim (`exp` − `iat`, or `exp` − now without `iat`): CIS2's ID tokens and the
/// local issuer's last far less; a token minted to last for weeks is refused.
const MAX_TOKEN_LIFETIME_SECONDS: i64 = 24 * 60 * 60;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Verifies bearer tokens: signature by `kid`, `exp`, `iss` and `aud`. Only ES256 (P-256) and RS256 keys are
/// accepted, and a token's `alg` must be its key's algorithm, so that neither `none` nor an HMAC token "signed" with
/// a public key can pass.
pub struct Authenticator {
    issuer: String,
    audience: String,
    keys: KeySource,
}

enum KeySource {
    Fixed(KeyMap),
    Remote(RemoteJwks),
}

type KeyMap = HashMap<String, VerifyingKey>;

#[derive(Clone)]
struct VerifyingKey {
    key: DecodingKey,
    algorithm: Algorithm,
}

/// Who a verified token says it is: the email address, and the account's subject at the issuer when it sends one (a
/// subject is unique only within its issuer, OpenID Connect Core §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub email: String,
    pub issuer: String,
    pub subject: Option<String>,
}

/// The claims read from a verified token: `nonce` only matters for the ID tokens of a sign-in.
#[derive(Deserialize)]
struct VerifiedClaims {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    /// Sent by providers that know whether the address was checked (a boolean, or "true"/"false" from some);
    /// false is refused.
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    #[serde(default)]
    nonce: Option<String>,
    /// Required by the validation itself; optional here so that its absence is named as such.
    #[serde(default)]
    exp: Option<i64>,
    /// A number of seconds, whole or not.
    #[serde(default)]
    iat: Option<serde_json::Value>,
}

impl Authenticator {
    /// A verifier for a fixed JWK set (the local issuer's). Fails if the set holds no usable signing key.
    pub fn from_jwks(
        jwks: &serde_json::Value,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, AuthError> {
        let set: JwkSet =
            serde_json::from_value(jwks.clone()).map_err(|e| AuthError::InvalidJwks(format!("not a JWK set: {e}")))?;
        let keys = usable_keys(set);
        if keys.is_empty() {
            return Err(AuthError::InvalidJwks("no ES256 or RS256 signing key with a kid".into()));
        }
        Ok(Self { issuer: issuer.into(), audience: audience.into(), keys: KeySource::Fixed(keys) })
    }

    /// A verifier for the identity provider's JWKS at `jwks_url` (HTTPS; plain HTTP only to a loopback address, for
    /// emulators and tests). Nothing is fetched until the first token arrives, so a cold start does not wait on the
    /// identity provider; the set is then cached and refreshed when a token names an unknown `kid` (key rotation), at
    /// most once a minute.
    pub fn remote(jwks_url: &str, issuer: impl Into<String>, audience: impl Into<String>) -> Result<Self, AuthError> {
        let url = reqwest::Url::parse(jwks_url).map_err(|e| AuthError::InvalidJwksUrl(e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" if url.host_str().is_some_and(is_loopback) => {}
            _ => return Err(AuthError::InvalidJwksUrl("must be an https:// URL".into())),
        }
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .https_only(url.scheme() == "https")
            .build()
            .map_err(|e| AuthError::InvalidJwksUrl(format!("no HTTP client: {e}")))?;
        Ok(Self {
            issuer: issuer.into(),
            audience: audience.into(),
            keys: KeySource::Remote(RemoteJwks {
                url,
                client,
                keys: RwLock::new((Arc::new(KeyMap::new()), None)),
                refresh: tokio::sync::Mutex::new(RefreshState::default()),
                min_refresh_interval: MIN_REFRESH_INTERVAL,
                ttl: JWKS_TTL,
            }),
        })
    }

    /// The token's `email` claim, once the token is proven genuine, current and meant for this service.
    pub async fn verify(&self, token: &str) -> Result<String, AuthError> {
        self.verify_identity(token).await.map(|identity| identity.email)
    }

    /// The token's `email` and `sub` claims, once the token is proven genuine, current and meant for this service.
    pub async fn verify_identity(&self, token: &str) -> Result<Identity, AuthError> {
        identity(self.verified_claims(token).await?, &self.issuer)
    }

    /// An OpenID Connect ID token from the sign-in this service started: verified exactly as a bearer token is,
    /// and carrying the `nonce` that sign-in sent (so that a token captured from another sign-in is refused).
    pub async fn verify_id_token(&self, token: &str, nonce: &str) -> Result<Identity, AuthError> {
        let claims = self.verified_claims(token).await?;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(AuthError::InvalidToken("nonce does not match the sign-in"));
        }
        identity(claims, &self.issuer)
    }

    async fn verified_claims(&self, token: &str) -> Result<VerifiedClaims, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::InvalidToken("token too long"));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| rejection(&e))?;
        if header.crit.is_some() {
            return Err(AuthError::InvalidToken("critical header extensions are not supported"));
        }
        let kid = header.kid.ok_or(AuthError::InvalidToken("no kid in header"))?;
        let key = match &self.keys {
            KeySource::Fixed(keys) => keys.get(&kid).cloned().ok_or(AuthError::UnknownKey)?,
            KeySource::Remote(remote) => remote.key(&kid).await?,
        };
        if header.alg != key.algorithm {
            return Err(AuthError::InvalidToken("algorithm does not match the key"));
        }

        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<VerifiedClaims>(token, &key.key, &validation).map_err(|e| rejection(&e))?;
        let claims = data.claims;
        // The lifetime counts from issue, or from now if `iat` is missing or claims a later time than now (so a
        // token cannot stretch its life by dating its issue ahead).
        let now = chrono::Utc::now().timestamp();
        let issued = claims.iat.as_ref().and_then(serde_json::Value::as_f64).map(|iat| iat as i64);
        let start = issued.map_or(now, |iat| iat.min(now));
        if claims.exp.unwrap_or(i64::MAX).saturating_sub(start) > MAX_TOKEN_LIFETIME_SECONDS {
            return Err(AuthError::InvalidToken("lifetime too long"));
        }
        let unverified = match &claims.email_verified {
            Some(serde_json::Value::Bool(verified)) => !verified,
            Some(serde_json::Value::String(text)) => text.trim().eq_ignore_ascii_case("false"),
            _ => false,
        };
        if unverified {
            return Err(AuthError::InvalidToken("email not verified"));
        }
        Ok(claims)
    }
}

fn identity(claims: VerifiedClaims, issuer: &str) -> Result<Identity, AuthError> {
    let email = claims.email.filter(|email| !email.trim().is_empty()).ok_or(AuthError::MissingEmail)?;
    Ok(Identity { email, issuer: issuer.to_string(), subject: claims.sub.filter(|sub| !sub.is_empty()) })
}

/// `localhost`, `127.0.0.0/8` or `[::1]`.
pub(super) fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Names the failed check without echoing any part of the token.
fn rejection(error: &jsonwebtoken::errors::Error) -> AuthError {
    AuthError::InvalidToken(match error.kind() {
        ErrorKind::ExpiredSignature => return AuthError::Expired,
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::ImmatureSignature => "not valid yet",
        ErrorKind::MissingRequiredClaim(_) => "missing a required claim",
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::UnsupportedAlgorithm => {
            "unsupported algorithm"
        }
        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => "malformed token",
        ErrorKind::Json(_) | ErrorKind::InvalidClaimFormat(_) => "malformed claims",
        _ => "verification failed",
    })
}

/// The keys of a set this service can verify with, by kid. Others (encryption keys, HMAC secrets, other curves,
/// keys without a kid) are skipped rather than failing the whole set, as identity providers publish all sorts.
fn usable_keys(set: JwkSet) -> KeyMap {
    set.keys.iter().filter_map(|jwk| Some((jwk.common.key_id.clone()?, usable_key(jwk)?))).collect()
}

fn usable_key(jwk: &Jwk) -> Option<VerifyingKey> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
        (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256)) if p.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
        _ => return None,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(VerifyingKey { key, algorithm })
}

struct RemoteJwks {
    url: reqwest::Url,
    client: reqwest::Client,
    /// Read on every request; replaced whole on refresh, with when it was fetched.
    keys: RwLock<(Arc<KeyMap>, Option<Instant>)>,
    /// Held while refreshing, so that concurrent requests with the same new kid trigger one fetch.
    refresh: tokio::sync::Mutex<RefreshState>,
    min_refresh_interval: Duration,
    ttl: Duration,
}

#[derive(Default)]
struct RefreshState {
    last_attempt: Option<Instant>,
    last_failed: bool,
}

impl RemoteJwks {
    /// The cached key, while the set it came from is younger than [`JWKS_TTL`].
    fn cached(&self, kid: &str) -> Option<VerifyingKey> {
        let (keys, fetched_at) = &*self.keys.read().unwrap_or_else(PoisonError::into_inner);
        fetched_at.filter(|at| at.elapsed() < self.ttl)?;
        keys.get(kid).cloned()
    }

    /// The cached key whatever its age: used only while the provider cannot be reached.
    fn stale(&self, kid: &str) -> Option<VerifyingKey> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).0.get(kid).cloned()
    }

    async fn key(&self, kid: &str) -> Result<VerifyingKey, AuthError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let mut state = self.refresh.lock().await;
        // Another request may have refreshed while this one waited.
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        if state.last_attempt.is_some_and(|at| at.elapsed() < self.min_refresh_interval) {
            return match state.last_failed {
                true => self
                    .stale(kid)
                    .ok_or_else(|| AuthError::JwksUnavailable("the last fetch failed moments ago".into())),
                false => Err(AuthError::UnknownKey),
            };
        }
        state.last_attempt = Some(Instant::now());
        let fetched = self.fetch().await;
        state.last_failed = fetched.is_err();
        let keys = match fetched {
            Ok(keys) => keys,
            // An expired set still verifies while its provider is down (a refetch is tried once a minute); a key
            // the provider has withdrawn is gone at the first fetch that succeeds.
            Err(e) => return self.stale(kid).ok_or(e),
        };
        if keys.is_empty() {
            tracing::warn!(url = %self.url, "the identity provider's JWK set holds no usable signing key");
        }
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = (Arc::new(keys), Some(Instant::now()));
        self.cached(kid).ok_or(AuthError::UnknownKey)
    }

    async fn fetch(&self) -> Result<KeyMap, AuthError> {
        let unavailable = |e: reqwest::Error| AuthError::JwksUnavailable(Box::new(e.without_url()));
        let set: JwkSet = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        Ok(usable_keys(set))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{Value, json};

    use super::super::{LOCAL_AUDIENCE, LOCAL_ISSUER, LocalIssuer};
    use super::*;

    fn new_issuer() -> (tempfile::TempDir, LocalIssuer) {
        let dir = tempfile::tempdir().expect("tempdir");
        let issuer = LocalIssuer::load_or_create(dir.path()).expect("issuer");
        (dir, issuer)
    }

    /// Signs arbitrary claims with the issuer's key file, for the cases `issue` never produces.
    fn sign(dir: &tempfile::TempDir, kid: &str, claims: Value) -> String {
        let pem = std::fs::read(dir.path().join(super::super::KEY_FILE)).expect("key");
        let key = EncodingKey::from_ec_pem(&pem).expect("ec key");
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_string());
        jsonwebtoken::encode(&header, &claims, &key).expect("sign")
    }

    fn claims(exp_offset: i64) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({"iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "sub": "a@example.com", "email": "a@example.com",
               "iat": now, "exp": now + exp_offset})
    }

    #[tokio::test]
    async fn when_token_is_good_should_return_its_email() {
        let (dir, issuer) = new_issuer();
        let token = sign(&dir, issuer.kid(), claims(300));
        assert_eq!(issuer.authenticator().verify(&token).await.expect("valid"), "a@example.com");
    }

    #[tokio::test]
    async fn when_token_expired_should_reject_it() {
        let (dir, issuer) = new_issuer();
        let token = sign(&dir, issuer.kid(), claims(-120));
        assert!(matches!(issuer.authenticator().verify(&token).await, Err(AuthError::Expired)));
    }

    #[tokio::test]
    async fn when_audience_or_issuer_is_wrong_should_reject_it() {
        let (dir, issuer) = new_issuer();
        let auth = issuer.authenticator();
        let mut wrong_aud = claims(300);
        wrong_aud["aud"] = json!("someone-else");
        let mut wrong_iss = claims(300);
        wrong_iss["iss"] = json!("https://evil.example");
        let mut no_exp = claims(300);
        no_exp.as_object_mut().map(|c| c.remove("exp"));
        for (claims, reason) in
            [(wrong_aud, "wrong audience"), (wrong_iss, "wrong issuer"), (no_exp, "missing a required claim")]
        {
            let result = auth.verify(&sign(&dir, issuer.kid(), claims)).await;
            assert!(matches!(result, Err(AuthError::InvalidToken(r)) if r == reason), "{reason}: {result:?}");
        }
    }

    #[tokio::test]
    async fn when_signed_by_another_key_should_reject_it() {
        let (_dir, issuer) = new_issuer();
        let (other_dir, other) = new_issuer();
        // Another issuer's own kid is unknown here.
        let token = other.issue("a@example.com", Duration::from_secs(60));
        assert!(matches!(issuer.authenticator().verify(&token).await, Err(AuthError::UnknownKey)));
        // A forged kid does not help: the signature does not verify.
        let forged = sign(&other_dir, issuer.kid(), claims(300));
        let result = issuer.authenticator().verify(&forged).await;
        assert!(matches!(result, Err(AuthError::InvalidToken("bad signature"))), "{result:?}");
    }

    #[tokio::test]
    async fn when_token_is_hmac_signed_should_reject_it() {
        let (_dir, issuer) = new_issuer();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(issuer.kid().to_string());
        let token = jsonwebtoken::encode(&header, &claims(300), &EncodingKey::from_secret(b"guess")).expect("sign");
        let result = issuer.authenticator().verify(&token).await;
        assert!(matches!(result, Err(AuthError::InvalidToken("algorithm does not match the key"))), "{result:?}");
    }

    #[tokio::test]
    async fn when_token_is_garbage_should_reject_it() {
        let (_dir, issuer) = new_issuer();
        let auth = issuer.authenticator();
        for token in ["", "abc", "a.b.c", &"x".repeat(MAX_TOKEN_BYTES + 1)] {
            assert!(matches!(auth.verify(token).await, Err(AuthError::InvalidToken(_))));
        }
    }

    #[tokio::test]
    async fn when_token_has_no_email_should_reject_it() {
        let (dir, issuer) = new_issuer();
        let mut no_email = claims(300);
        no_email.as_object_mut().map(|c| c.remove("email"));
        let result = issuer.authenticator().verify(&sign(&dir, issuer.kid(), no_email)).await;
        assert!(matches!(result, Err(AuthError::MissingEmail)), "{result:?}");
    }

    #[test]
    fn when_jwks_has_only_unusable_keys_should_refuse_it() {
        let jwks = json!({"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]});
        assert!(matches!(Authenticator::from_jwks(&jwks, "i", "a"), Err(AuthError::InvalidJwks(_))));
        assert!(matches!(Authenticator::from_jwks(&json!({"nope": 1}), "i", "a"), Err(AuthError::InvalidJwks(_))));
    }

    #[test]
    fn remote_jwks_url_should_be_https_unless_loopback() {
        assert!(Authenticator::remote("https://idp.example/jwks.json", "i", "a").is_ok());
        assert!(Authenticator::remote("http://127.0.0.1:9/jwks.json", "i", "a").is_ok());
        assert!(Authenticator::remote("http://localhost:9/jwks.json", "i", "a").is_ok());
        assert!(Authenticator::remote("http://[::1]:9/jwks.json", "i", "a").is_ok());
        assert!(matches!(
            Authenticator::remote("http://idp.example/jwks.json", "i", "a"),
            Err(AuthError::InvalidJwksUrl(_))
        ));
        assert!(matches!(Authenticator::remote("not a url", "i", "a"), Err(AuthError::InvalidJwksUrl(_))));
    }

    /// Serves whatever JWK set is current, counting fetches.
    async fn jwks_server(jwks: Arc<RwLock<Value>>, fetches: Arc<AtomicUsize>) -> String {
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let jwks = jwks.clone();
                let fetches = fetches.clone();
                async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    axum::Json(jwks.read().unwrap_or_else(PoisonError::into_inner).clone())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}/jwks.json")
    }

    #[tokio::test]
    async fn remote_jwks_should_be_cached_and_refreshed_on_unknown_kid_at_most_once_a_minute() {
        let (_dir, first) = new_issuer();
        let (_dir2, rotated) = new_issuer();
        let jwks = Arc::new(RwLock::new(first.jwks()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let url = jwks_server(jwks.clone(), fetches.clone()).await;
        let auth = Authenticator::remote(&url, LOCAL_ISSUER, LOCAL_AUDIENCE).expect("remote");

        // First use fetches; later uses hit the cache.
        for _ in 0..3 {
            let token = first.issue("a@example.com", Duration::from_secs(60));
            assert_eq!(auth.verify(&token).await.expect("valid"), "a@example.com");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        // The provider rotates its key: within the minute, the new kid is not fetched again.
        *jwks.write().unwrap_or_else(PoisonError::into_inner) = rotated.jwks();
        let token = rotated.issue("b@example.com", Duration::from_secs(60));
        assert!(matches!(auth.verify(&token).await, Err(AuthError::UnknownKey)));
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        // Once the interval has passed, an unknown kid refreshes the set.
        let KeySource::Remote(remote) = &auth.keys else { unreachable!("built as remote") };
        remote.refresh.lock().await.last_attempt = Some(Instant::now() - MIN_REFRESH_INTERVAL);
        assert_eq!(auth.verify(&token).await.expect("valid after refresh"), "b@example.com");
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn when_remote_jwks_is_down_should_report_unavailable() {
        let (_dir, issuer) = new_issuer();
        // Port 9 (discard) on loopback: nothing listens, the connection is refused.
        let auth = Authenticator::remote("http://127.0.0.1:9/jwks.json", LOCAL_ISSUER, LOCAL_AUDIENCE).expect("url");
        let token = issuer.issue("a@example.com", Duration::from_secs(60));
        assert!(matches!(auth.verify(&token).await, Err(AuthError::JwksUnavailable(_))));
        // Within the minute, requests fail fast with the same verdict rather than a misleading 401.
        assert!(matches!(auth.verify(&token).await, Err(AuthError::JwksUnavailable(_))));
    }

    #[tokio::test]
    async fn a_key_the_provider_withdraws_should_stop_verifying_once_the_set_is_old() {
        let (_dir, first) = new_issuer();
        let (_dir2, rotated) = new_issuer();
        let jwks = Arc::new(RwLock::new(first.jwks()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let url = jwks_server(jwks.clone(), fetches.clone()).await;
        let auth = Authenticator::remote(&url, LOCAL_ISSUER, LOCAL_AUDIENCE).expect("remote");
        let token = first.issue("a@example.com", Duration::from_secs(60));
        assert!(auth.verify(&token).await.is_ok());

        // The provider withdraws the key. Once the cached set is older than its time to live, it is fetched again
        // and the withdrawn key no longer verifies, although its kid was cached.
        *jwks.write().unwrap_or_else(PoisonError::into_inner) = rotated.jwks();
        let KeySource::Remote(remote) = &auth.keys else { unreachable!("built as remote") };
        remote.keys.write().unwrap_or_else(PoisonError::into_inner).1 = Some(Instant::now() - JWKS_TTL);
        remote.refresh.lock().await.last_attempt = Some(Instant::now() - MIN_REFRESH_INTERVAL);
        assert!(matches!(auth.verify(&token).await, Err(AuthError::UnknownKey)));
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_token_not_yet_valid_too_long_lived_or_with_an_unverified_email_should_be_refused() {
        let (dir, issuer) = new_issuer();
        let auth = issuer.authenticator();
        let now = chrono::Utc::now().timestamp();
        let mut early = claims(600);
        early["nbf"] = json!(now + 300);
        let mut long_lived = claims(3 * 24 * 3600);
        long_lived["iat"] = json!(now);
        let mut no_iat_long = claims(3 * 24 * 3600);
        no_iat_long.as_object_mut().map(|c| c.remove("iat"));
        let mut unverified = claims(300);
        unverified["email_verified"] = json!(false);
        for (claims, reason) in [
            (early, "not valid yet"),
            (long_lived, "lifetime too long"),
            (no_iat_long, "lifetime too long"),
            (unverified, "email not verified"),
        ] {
            let result = auth.verify(&sign(&dir, issuer.kid(), claims)).await;
            assert!(matches!(result, Err(AuthError::InvalidToken(r)) if r == reason), "{reason}: {result:?}");
        }
        let mut dated_ahead = claims(3 * 24 * 3600);
        dated_ahead["iat"] = json!(now + 3 * 24 * 3600 - 60);
        let mut unverified_text = claims(300);
        unverified_text["email_verified"] = json!("false");
        for (claims, reason) in [(dated_ahead, "lifetime too long"), (unverified_text, "email not verified")] {
            let result = auth.verify(&sign(&dir, issuer.kid(), claims)).await;
            assert!(matches!(result, Err(AuthError::InvalidToken(r)) if r == reason), "{reason}: {result:?}");
        }
        for verified_value in [json!(true), json!("true")] {
            let mut verified = claims(300);
            verified["email_verified"] = verified_value;
            verified["iat"] = json!(now as f64 + 0.5);
            assert!(auth.verify(&sign(&dir, issuer.kid(), verified)).await.is_ok(), "verified, fractional iat");
        }
    }
}

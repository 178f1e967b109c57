//! Sign-in with OpenID Connect (NHS CIS2 Authentication on AWS; the local runner's own provider locally): the
//! authorization code flow with PKCE (S256), `state` and `nonce`, a confidential client authenticating at the token
//! endpoint with HTTP Basic. The provider's discovery document is read on first use and kept; its ID tokens are
//! verified by the same [`Authenticator`] that verifies the API's bearer tokens, plus the sign-in's `nonce`.
//!
//! Hand-written rather than the `openidconnect` crate: the flow is three requests, and the crate would verify ID
//! tokens a second, different way from the bearer tokens.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{AuthError, Authenticator};

const TIMEOUT: Duration = Duration::from_secs(10);

/// How this service is registered with the identity provider.
#[derive(Clone)]
pub struct OidcSettings {
    /// The provider's issuer URL; its discovery document is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// None for a public client (PKCE alone); CIS2 gives confidential clients a secret.
    pub client_secret: Option<String>,
    /// This service's `/auth/callback`, exactly as registered with the provider.
    pub redirect_url: String,
}

/// Never prints the secret.
impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("redirect_url", &self.redirect_url)
            .finish_non_exhaustive()
    }
}

pub struct OidcClient {
    settings: OidcSettings,
    http: reqwest::Client,
    provider: tokio::sync::OnceCell<Provider>,
}

struct Provider {
    authorization_endpoint: reqwest::Url,
    token_endpoint: reqwest::Url,
    id_tokens: Authenticator,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl OidcClient {
    /// Checks the URLs (HTTPS, or HTTP to a loopback address for emulators and the local runner); fetches nothing.
    pub fn new(settings: OidcSettings) -> Result<Self, AuthError> {
        for url in [&settings.issuer, &settings.redirect_url] {
            checked_url(url)?;
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AuthError::Provider(format!("no HTTP client: {e}")))?;
        Ok(Self { settings, http, provider: tokio::sync::OnceCell::new() })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The provider's endpoints, from its discovery document on first use. A failed fetch is tried again next time.
    async fn provider(&self) -> Result<&Provider, AuthError> {
        self.provider.get_or_try_init(|| self.discover()).await
    }

    async fn discover(&self) -> Result<Provider, AuthError> {
        let issuer = self.settings.issuer.trim_end_matches('/');
        let url = format!("{issuer}/.well-known/openid-configuration");
        let failed = |e: reqwest::Error| AuthError::Provider(format!("discovery failed: {}", e.without_url()));
        let discovery: Discovery = self
            .http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(failed)?
            .json()
            .await
            .map_err(failed)?;
        if discovery.issuer.trim_end_matches('/') != issuer {
            return Err(AuthError::Provider("the discovery document names another issuer".into()));
        }
        let id_tokens = Authenticator::remote(&discovery.jwks_uri, discovery.issuer.clone(), &self.settings.client_id)?;
        Ok(Provider {
            authorization_endpoint: checked_url(&discovery.authorization_endpoint)?,
            token_endpoint: checked_url(&discovery.token_endpoint)?,
            id_tokens,
        })
    }

    /// Where to send the browser to sign in.
    pub async fn authorization_url(&self, state: &str, nonce: &str, pkce_verifier: &str) -> Result<String, AuthError> {
        let provider = self.provider().await?;
        let mut url = provider.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", &self.settings.redirect_url)
            .append_pair("scope", "openid email profile")
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &pkce_challenge(pkce_verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Exchanges the code for an ID token and verifies it: the signed-in user's email.
    pub async fn sign_in(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<super::authenticator::Identity, AuthError> {
        let provider = self.provider().await?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.settings.redirect_url.as_str()),
            ("code_verifier", pkce_verifier),
            ("client_id", self.settings.client_id.as_str()),
        ];
        let mut request = self.http.post(provider.token_endpoint.clone()).form(&form);
        if let Some(secret) = &self.settings.client_secret {
            request = request.basic_auth(&self.settings.client_id, Some(secret));
        }
        let response =
            request.send().await.map_err(|e| AuthError::Provider(format!("token request: {}", e.without_url())))?;
        let status = response.status();
        if !status.is_success() {
            // The body may describe the refusal, but it is the provider's text: log the status only.
            return Err(AuthError::Provider(format!("the token endpoint answered {status}")));
        }
        let tokens: TokenResponse =
            response.json().await.map_err(|e| AuthError::Provider(format!("token response: {}", e.without_url())))?;
        let id_token =
            tokens.id_token.ok_or_else(|| AuthError::Provider("the token response has no ID token".into()))?;
        provider.id_tokens.verify_id_token(&id_token, nonce).await
    }
}

fn checked_url(url: &str) -> Result<reqwest::Url, AuthError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| AuthError::Provider(format!("{url} is not a URL: {e}")))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if parsed.host_str().is_some_and(super::authenticator::is_loopback) => Ok(parsed),
        _ => Err(AuthError::Provider(format!("{url} must be an https:// URL"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_should_match_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn urls_should_be_https_unless_loopback() {
        let settings = |issuer: &str| OidcSettings {
            issuer: issuer.into(),
            client_id: "mavis".into(),
            client_secret: None,
            redirect_url: "http://127.0.0.1:3000/auth/callback".into(),
        };
        assert!(
            OidcClient::new(settings(
                "https://am.nhsidentity.spineservices.nhs.uk/openam/oauth2/realms/root/realms/oidc"
            ))
            .is_ok()
        );
        assert!(OidcClient::new(settings("http://127.0.0.1:4000")).is_ok());
        assert!(OidcClient::new(settings("http://idp.example")).is_err());
    }
}

//! Bearer-token authentication.
//!
//! Every deployment verifies tokens the same way: an [`Authenticator`] built from a JWK set checks the signature (by
//! `kid`), `exp`, `iss` and `aud`, and hands back the `email` claim, which is then resolved against the reference
//! data by the [`CurrentUser`](super::extract::CurrentUser) extractor. Only the source of the JWK set differs:
//! - on AWS, the identity provider's JWKS URL ([`Authenticator::remote`]);
//! - locally, the runner is its own issuer ([`LocalIssuer`]): `mavis token --user EMAIL` signs a token with the key
//!   kept in the data directory and `mavis serve` verifies it with the matching public JWK set
//!   ([`LocalIssuer::authenticator`]), which it also publishes at `/.well-known/jwks.json`.
//!
//! Tokens are never logged, whole or in part.

mod authenticator;
mod es256_key;
mod local_issuer;
pub mod local_provider;
pub mod oidc_client;

pub use authenticator::{Authenticator, Identity};
pub use local_issuer::{KEY_FILE, LOCAL_AUDIENCE, LOCAL_ISSUER, LocalIssuer};
pub use oidc_client::{OidcClient, OidcSettings};

use std::path::PathBuf;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header.
    #[error("no bearer token")]
    MissingToken,
    /// A token that fails verification. The reason names the failed check, never the token's content.
    #[error("token rejected: {0}")]
    InvalidToken(&'static str),
    #[error("token expired")]
    Expired,
    /// The token's `kid` is not in the JWK set (after a refresh, for a remote set).
    #[error("token signed with an unknown key")]
    UnknownKey,
    /// A valid token without an `email` claim (an access token rather than an ID token, for instance).
    #[error("token has no email claim")]
    MissingEmail,

    #[error("the signing key file {path} could not be read or written")]
    KeyFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the signing key file {path} does not hold a P-256 private key in PKCS#8 PEM form")]
    InvalidKey {
        path: PathBuf,
        #[source]
        source: jsonwebtoken::errors::Error,
    },
    #[error("could not generate a signing key: {0}")]
    KeyGeneration(String),
    #[error("the JWK set is not usable: {0}")]
    InvalidJwks(String),
    #[error("the JWKS URL is not usable: {0}")]
    InvalidJwksUrl(String),
    #[error("the JWK set could not be fetched")]
    JwksUnavailable(#[source] BoxError),
    /// Sign-in's identity provider could not be used (discovery, the token endpoint, its answer). The text names
    /// the step and HTTP status, never a token or a code.
    #[error("the identity provider could not be used: {0}")]
    Provider(String),
}

impl AuthError {
    /// The caller's token is at fault (401), as opposed to this service's configuration or a dependency.
    pub fn is_rejected_token(&self) -> bool {
        matches!(
            self,
            AuthError::MissingToken
                | AuthError::InvalidToken(_)
                | AuthError::Expired
                | AuthError::UnknownKey
                | AuthError::MissingEmail
        )
    }
}

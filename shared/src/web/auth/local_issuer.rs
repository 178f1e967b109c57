//! The local runner's own token issuer. The private key lives in a file in the data directory so that two separate
//! processes, `mavis token --user EMAIL` (signs) and `mavis serve` (verifies), agree without any shared secret in
//! configuration. The key is ES256, so the verifying side needs only the public JWK set, exactly as on AWS.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::Path;
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::{AuthError, Authenticator, es256_key};

/// `iss` of locally issued tokens.
pub const LOCAL_ISSUER: &str = "mavis-local";
/// `aud` of every token this service accepts locally (and the default audience on AWS).
pub const LOCAL_AUDIENCE: &str = "mavis";
/// The private key's file name inside the data directory.
pub const KEY_FILE: &str = "issuer-key.pem";

pub struct LocalIssuer {
    key: EncodingKey,
    /// RFC 7638 thumbprint of the public key: stable for a key file, new whenever the key is replaced.
    kid: String,
    public_jwk: Jwk,
}

/// The claims of an issued token. `sub` and `email` are both the email: the reference data keys users by email.
#[derive(Serialize)]
struct IssuedClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    email: &'a str,
    iat: i64,
    exp: i64,
}

impl LocalIssuer {
    /// Loads `dir/issuer-key.pem`, creating the directory and a new key (readable by the owner only) on first use.
    /// Safe against two processes starting at once: the key is written to a temporary file and linked into place,
    /// and whoever loses the race reads the winner's key.
    pub fn load_or_create(dir: &Path) -> Result<Self, AuthError> {
        let path = dir.join(KEY_FILE);
        let pem = match fs::read(&path) {
            Ok(pem) => {
                warn_if_readable_by_others(&path);
                pem
            }
            Err(e) if e.kind() == ErrorKind::NotFound => create_key_file(dir, &path)?,
            Err(source) => return Err(AuthError::KeyFile { path, source }),
        };
        Self::from_pem(&pem).map_err(|source| AuthError::InvalidKey { path, source })
    }

    fn from_pem(pem: &[u8]) -> Result<Self, jsonwebtoken::errors::Error> {
        let key = EncodingKey::from_ec_pem(pem)?;
        let mut public_jwk = Jwk::from_encoding_key(&key, Algorithm::ES256)?;
        let kid = public_jwk.thumbprint(ThumbprintHash::SHA256)?;
        public_jwk.common.key_id = Some(kid.clone());
        public_jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        // Sign once now, so that a key aws-lc refuses is reported at start-up and `issue` cannot fail later.
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &serde_json::json!({}), &key)?;
        Ok(Self { key, kid, public_jwk })
    }

    /// A token for `email`, valid for `ttl` from now.
    pub fn issue(&self, email: &str, ttl: Duration) -> String {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = IssuedClaims {
            iss: LOCAL_ISSUER,
            aud: LOCAL_AUDIENCE,
            sub: email,
            email,
            iat: now,
            exp: now.saturating_add(ttl),
        };
        self.sign(&claims)
    }

    fn sign(&self, claims: &impl Serialize) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key)
            .expect("the key signed a token when it was loaded, and these claims always serialise")
    }

    /// An OpenID Connect ID token, as the local runner's sign-in provider hands it out: `issuer` is the provider's
    /// URL, `audience` the client it was asked for, `nonce` the one the sign-in sent.
    pub fn issue_id_token(&self, issuer: &str, audience: &str, email: &str, nonce: &str, ttl: Duration) -> String {
        #[derive(Serialize)]
        struct IdTokenClaims<'a> {
            iss: &'a str,
            aud: &'a str,
            sub: &'a str,
            email: &'a str,
            email_verified: bool,
            nonce: &'a str,
            iat: i64,
            exp: i64,
        }
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = IdTokenClaims {
            iss: issuer,
            aud: audience,
            sub: email,
            email,
            email_verified: true,
            nonce,
            iat: now,
            exp: now.saturating_add(ttl),
        };
        self.sign(&claims)
    }

    /// The public JWK set, served at `/.well-known/jwks.json` and used to build the local [`Authenticator`].
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::to_value(JwkSet { keys: vec![self.public_jwk.clone()] }).expect("a JWK set always serialises")
    }

    /// The `kid` of issued tokens.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The verifier for this issuer's tokens (`iss` = "mavis-local", `aud` = "mavis").
    pub fn authenticator(&self) -> Authenticator {
        Authenticator::from_jwks(&self.jwks(), LOCAL_ISSUER, LOCAL_AUDIENCE)
            .expect("an issuer's own JWK set holds one ES256 key with a kid")
    }
}

/// Never prints the key.
impl std::fmt::Debug for LocalIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalIssuer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

fn create_key_file(dir: &Path, path: &Path) -> Result<Vec<u8>, AuthError> {
    let io_error = |source| AuthError::KeyFile { path: path.to_path_buf(), source };
    fs::create_dir_all(dir).map_err(io_error)?;
    let pem = es256_key::generate_pem()?;

    let temporary = dir.join(format!(".{KEY_FILE}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = write_private(&temporary, pem.as_bytes());
    // Linking fails if the key file exists, so a key written meanwhile by another process is never overwritten.
    let linked = written.and_then(|()| fs::hard_link(&temporary, path));
    let _ = fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created the local token issuer's signing key");
            Ok(pem.into_bytes())
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => fs::read(path).map_err(io_error),
        Err(source) => Err(io_error(source)),
    }
}

/// Creates a new file readable and writable by the owner only (0600 on Unix).
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = fs::metadata(path)
            && metadata.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the token signing key is readable by other users; chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn when_no_key_file_should_create_one_that_later_loads_agree_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        let first = LocalIssuer::load_or_create(&data_dir).expect("create");
        let second = LocalIssuer::load_or_create(&data_dir).expect("load");
        assert_eq!(first.kid(), second.kid());

        let token = first.issue("nurse@example.com", Duration::from_secs(60));
        assert_eq!(second.authenticator().verify(&token).await.expect("valid"), "nurse@example.com");
    }

    #[cfg(unix)]
    #[test]
    fn key_file_should_be_readable_by_the_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        LocalIssuer::load_or_create(dir.path()).expect("create");
        let mode = fs::metadata(dir.path().join(KEY_FILE)).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 1);
    }

    #[test]
    fn when_key_file_is_not_a_key_should_say_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(KEY_FILE), "not a key").expect("write");
        let error = LocalIssuer::load_or_create(dir.path()).expect_err("invalid key");
        assert!(matches!(error, AuthError::InvalidKey { .. }), "{error:?}");
    }

    #[test]
    fn jwks_should_publish_the_public_key_only_with_the_kid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let issuer = LocalIssuer::load_or_create(dir.path()).expect("create");
        let jwks = issuer.jwks();
        let key = &jwks["keys"][0];
        assert_eq!(key["kid"], issuer.kid());
        assert_eq!(key["kty"], "EC");
        assert_eq!(key["crv"], "P-256");
        assert_eq!(key["alg"], "ES256");
        assert_eq!(key["use"], "sig");
        assert!(key.get("d").is_none(), "the private scalar must never be published");
    }

    #[test]
    fn issued_token_should_carry_the_kid_and_claims() {
        let dir = tempfile::tempdir().expect("tempdir");
        let issuer = LocalIssuer::load_or_create(dir.path()).expect("create");
        let token = issuer.issue("nurse@example.com", Duration::from_secs(600));
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.kid.as_deref(), Some(issuer.kid()));
        assert_eq!(header.alg, Algorithm::ES256);
        let claims: serde_json::Value = jsonwebtoken::dangerous::insecure_decode_claims(&token).expect("claims");
        assert_eq!(claims["iss"], LOCAL_ISSUER);
        assert_eq!(claims["aud"], LOCAL_AUDIENCE);
        assert_eq!(claims["sub"], "nurse@example.com");
        assert_eq!(claims["email"], "nurse@example.com");
        let lifetime = claims["exp"].as_i64().unwrap_or_default() - claims["iat"].as_i64().unwrap_or_default();
        assert_eq!(lifetime, 600);
    }
}

//! **TEST-ONLY key material.** A 2048-bit RSA key pair committed under `tests/fixtures/` so tests (here and in other
//! crates) can sign client assertions without generating RSA keys. It protects nothing: never configure a real
//! service with it. The emulator uses it only when no other public key is given.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::auth::{AuthSettings, KeyError, KeySet};

/// `kid` of the test key in [`TEST_JWKS`].
pub const TEST_KID: &str = "test-1";
/// API key (`iss`/`sub`) that [`settings`] accepts.
pub const TEST_API_KEY: &str = "pds-emulator-test-api-key";
/// TEST ONLY private key (PKCS#8 PEM).
pub const TEST_PRIVATE_KEY_PEM: &str = include_str!("../tests/fixtures/test-key-1.pem");
/// The matching public key as a JWKS with `kid` [`TEST_KID`].
pub const TEST_JWKS: &str = include_str!("../tests/fixtures/jwks.json");

/// The test public key.
pub fn key_set() -> Result<KeySet, KeyError> {
    KeySet::parse(TEST_JWKS, "built-in test JWKS")
}

/// Auth settings that accept assertions signed with the test key and `iss = sub =` [`TEST_API_KEY`].
pub fn settings() -> Result<AuthSettings, KeyError> {
    let mut settings = AuthSettings::new(key_set()?);
    settings.api_keys = vec![TEST_API_KEY.to_owned()];
    Ok(settings)
}

/// A fresh client assertion for `token_url`, as Mavis builds it (RS512, `kid`, `exp` 3 minutes ahead, new `jti`).
pub fn client_assertion(token_url: &str) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = Header::new(Algorithm::RS512);
    header.kid = Some(TEST_KID.to_owned());
    let claims = json!({
        "iss": TEST_API_KEY,
        "sub": TEST_API_KEY,
        "aud": token_url,
        "jti": uuid::Uuid::new_v4().to_string(),
        "exp": chrono::Utc::now().timestamp() + 180,
    });
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_pem(TEST_PRIVATE_KEY_PEM.as_bytes())?)
}

//! Generating the local issuer's ES256 (P-256) private key with what the dependency tree already offers.
//!
//! jsonwebtoken signs and derives public JWKs but does not generate keys, and aws-lc-rs (which does, with
//! `EcdsaKeyPair::generate_pkcs8`) is only an indirect dependency. So: draw a random scalar in [1, n) from the OS,
//! wrap it in a PKCS#8 document without the public point, let aws-lc (through jsonwebtoken's JWK derivation)
//! compute the public point, and write the complete PKCS#8 document (RFC 5208 around RFC 5915, with the public key)
//! so that any tool (openssl, other libraries) can read the file.
//!
//! Once aws-lc-rs is a direct dependency, `generate_pem` becomes a call to `EcdsaKeyPair::generate_pkcs8`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, EncodingKey};
use rand::TryRngCore;
use rand::rngs::OsRng;

use super::AuthError;

/// The order n of the P-256 group, big-endian. A private key is a scalar in [1, n).
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
    0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
/// id-ecPublicKey (1.2.840.10045.2.1).
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1 / secp256r1 (1.2.840.10045.3.1.7).
const OID_PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// A new P-256 private key as a PKCS#8 PEM document ("-----BEGIN PRIVATE KEY-----").
pub(super) fn generate_pem() -> Result<String, AuthError> {
    let scalar = random_scalar()?;
    let point = public_point(&scalar)?;
    Ok(pem("PRIVATE KEY", &pkcs8(&scalar, Some(&point))))
}

fn random_scalar() -> Result<[u8; 32], AuthError> {
    // Rejection sampling: the chance of a draw outside [1, n) is about 2^-32, so this loops once in practice.
    loop {
        let mut scalar = [0u8; 32];
        OsRng.try_fill_bytes(&mut scalar).map_err(|e| AuthError::KeyGeneration(format!("no OS randomness: {e}")))?;
        if scalar != [0u8; 32] && scalar < P256_ORDER {
            return Ok(scalar);
        }
    }
}

/// The uncompressed public point (0x04 ‖ x ‖ y) of a scalar, computed by aws-lc from a key that omits it.
fn public_point(scalar: &[u8; 32]) -> Result<[u8; 65], AuthError> {
    let key = EncodingKey::from_ec_der(&pkcs8(scalar, None));
    let jwk = Jwk::from_encoding_key(&key, Algorithm::ES256)
        .map_err(|e| AuthError::KeyGeneration(format!("deriving the public key: {e}")))?;
    let AlgorithmParameters::EllipticCurve(params) = jwk.algorithm else {
        return Err(AuthError::KeyGeneration("derived key is not an elliptic-curve key".into()));
    };
    if params.curve != EllipticCurve::P256 {
        return Err(AuthError::KeyGeneration("derived key is not on P-256".into()));
    }
    let decode = |coordinate: &str| {
        URL_SAFE_NO_PAD
            .decode(coordinate)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| AuthError::KeyGeneration("derived public key has an unexpected size".into()))
    };
    let mut point = [0u8; 65];
    point[0] = 0x04;
    point[1..33].copy_from_slice(&decode(&params.x)?);
    point[33..].copy_from_slice(&decode(&params.y)?);
    Ok(point)
}

/// PrivateKeyInfo { version 0, AlgorithmIdentifier { id-ecPublicKey, prime256v1 }, OCTET STRING { ECPrivateKey } }
/// with ECPrivateKey { version 1, privateKey, [1] publicKey OPTIONAL }.
fn pkcs8(scalar: &[u8; 32], public_point: Option<&[u8; 65]>) -> Vec<u8> {
    let mut ec_private_key = der(0x02, &[1]);
    ec_private_key.extend(der(0x04, scalar));
    if let Some(point) = public_point {
        let mut bit_string = vec![0u8]; // no unused bits
        bit_string.extend_from_slice(point);
        ec_private_key.extend(der(0xa1, &der(0x03, &bit_string)));
    }
    let mut algorithm = der(0x06, OID_EC_PUBLIC_KEY);
    algorithm.extend(der(0x06, OID_PRIME256V1));

    let mut info = der(0x02, &[0]);
    info.extend(der(0x30, &algorithm));
    info.extend(der(0x04, &der(0x30, &ec_private_key)));
    der(0x30, &info)
}

/// One DER TLV. Contents here are always shorter than 64 KiB.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xff {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, Header, Validation};
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn generated_key_should_sign_tokens_that_its_public_jwk_verifies() {
        let pem = generate_pem().expect("key");
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let key = EncodingKey::from_ec_pem(pem.as_bytes()).expect("PKCS#8 EC key");
        let jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).expect("jwk");

        let token = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &json!({"exp": 4_000_000_000u64}), &key)
            .expect("sign");
        let decoded = jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(&jwk).expect("dk"), &{
            let mut v = Validation::new(Algorithm::ES256);
            v.required_spec_claims.clear();
            v
        });
        assert!(decoded.is_ok(), "{decoded:?}");
    }

    #[test]
    fn each_generated_key_should_be_new() {
        assert_ne!(generate_pem().expect("key"), generate_pem().expect("key"));
    }

    #[test]
    fn written_public_point_should_match_the_scalar() {
        let scalar = random_scalar().expect("scalar");
        let point = public_point(&scalar).expect("point");
        let with_point = EncodingKey::from_ec_der(&pkcs8(&scalar, Some(&point)));
        let without_point = EncodingKey::from_ec_der(&pkcs8(&scalar, None));
        assert_eq!(
            Jwk::from_encoding_key(&with_point, Algorithm::ES256).expect("jwk"),
            Jwk::from_encoding_key(&without_point, Algorithm::ES256).expect("jwk")
        );
    }

    #[test]
    fn der_should_use_long_form_lengths_from_128_bytes() {
        assert_eq!(&der(0x04, &[0; 3])[..2], &[0x04, 3]);
        assert_eq!(&der(0x04, &[0; 135])[..3], &[0x04, 0x81, 135]);
    }
}

//! The signed-JWT token exchange and bearer checks over HTTP (`nhs-apis.md` §3). Keys are the TEST-ONLY pairs in
//! `tests/fixtures/`.

mod common;

use common::{Harness, json, outcome_code, secured};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pds_emulator::test_keys::{TEST_API_KEY, TEST_KID, TEST_PRIVATE_KEY_PEM};
use pds_emulator::{Config, KeySet};
use serde_json::{Value, json};

type Form<'a> = &'a [(&'a str, &'a str)];

const OTHER_PRIVATE_KEY_PEM: &str = include_str!("fixtures/test-key-2.pem");

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(pds: &Harness) -> Value {
    json!({
        "iss": TEST_API_KEY,
        "sub": TEST_API_KEY,
        "aud": pds.emulator.token_url,
        "jti": uuid::Uuid::new_v4().to_string(),
        "exp": now() + 300,
    })
}

fn sign(claims: &Value, kid: Option<&str>, algorithm: Algorithm, private_pem: &str) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap()).unwrap()
}

fn signed(claims: &Value) -> String {
    sign(claims, Some(TEST_KID), Algorithm::RS512, TEST_PRIVATE_KEY_PEM)
}

async fn rejection(pds: &Harness, assertion: &str) -> (u16, Value) {
    let response = pds.exchange(assertion).await;
    let status = response.status().as_u16();
    let body = json(response).await;
    assert!(body["message_id"].is_string(), "{body}");
    (status, body)
}

#[tokio::test]
async fn token_exchange_succeeds_and_the_token_opens_pds() {
    let pds = secured().await;
    let response = pds.exchange(&signed(&claims(&pds))).await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["expires_in"], "599");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["issued_at"].as_str().is_some_and(|t| t.parse::<i64>().is_ok()));
    let token = body["access_token"].as_str().unwrap();
    assert!(token.len() >= 20);

    let patient = pds.pds_get("/Patient/9000000009", &[], Some(token)).await;
    assert_eq!(patient.status(), 200);
}

#[tokio::test]
async fn every_bad_assertion_is_rejected_with_the_platform_message() {
    let pds = secured().await;
    let base = claims(&pds);
    let with = |changes: Value| {
        let mut claims = base.clone();
        claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        claims
    };
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "bad signature",
            sign(&with(json!({})), Some(TEST_KID), Algorithm::RS512, OTHER_PRIVATE_KEY_PEM),
            401,
            "JWT signature verification failed",
        ),
        (
            "unknown kid",
            sign(&with(json!({})), Some("no-such-key"), Algorithm::RS512, TEST_PRIVATE_KEY_PEM),
            401,
            "Invalid 'kid' header in JWT - no matching public key",
        ),
        (
            "missing kid",
            sign(&with(json!({})), None, Algorithm::RS512, TEST_PRIVATE_KEY_PEM),
            400,
            "Missing 'kid' header in JWT",
        ),
        (
            "RS256",
            sign(&with(json!({})), Some(TEST_KID), Algorithm::RS256, TEST_PRIVATE_KEY_PEM),
            400,
            "Invalid 'alg' header in JWT - unsupported JWT algorithm - must be 'RS512'",
        ),
        ("expired", signed(&with(json!({"exp": now() - 20}))), 400, "Invalid exp claim in JWT - JWT has expired"),
        (
            "exp too far ahead",
            signed(&with(json!({"exp": now() + 360}))),
            400,
            "Invalid exp claim in JWT - more than 5 minutes in future",
        ),
        ("missing exp", signed(&with(json!({"exp": null}))), 400, "Missing exp claim in JWT"),
        (
            "wrong aud",
            signed(&with(json!({"aud": "https://int.api.service.nhs.uk/oauth2/token"}))),
            401,
            "Missing or invalid aud claim in JWT",
        ),
        ("missing aud", signed(&with(json!({"aud": null}))), 401, "Missing or invalid aud claim in JWT"),
        (
            "iss differs from sub",
            signed(&with(json!({"iss": "someone-else"}))),
            400,
            "Missing or non-matching iss/sub claims in JWT",
        ),
        (
            "unknown api key",
            signed(&with(json!({"iss": "other-app", "sub": "other-app"}))),
            401,
            "Invalid iss/sub claims in JWT",
        ),
        ("missing jti", signed(&with(json!({"jti": null}))), 400, "Missing jti claim in JWT"),
        ("numeric exp as text", signed(&with(json!({"exp": "soon"}))), 400, "Failed to decode JWT"),
        ("not a JWT", "not-a-jwt".to_owned(), 400, "Malformed JWT in client_assertion"),
    ];
    for (name, assertion, status, description) in cases {
        let (got_status, body) = rejection(&pds, &assertion).await;
        assert_eq!(got_status, status, "{name}: {body}");
        assert_eq!(body["error_description"], description, "{name}");
        let expected_error = if name == "bad signature" { "public_key error" } else { "invalid_request" };
        assert_eq!(body["error"], expected_error, "{name}");
    }
}

#[tokio::test]
async fn a_jti_can_only_be_used_once() {
    let pds = secured().await;
    let assertion = signed(&claims(&pds));
    assert_eq!(pds.exchange(&assertion).await.status(), 200);
    let (status, body) = rejection(&pds, &assertion).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_description"], "Non-unique jti claim in JWT");
}

#[tokio::test]
async fn form_fields_are_checked() {
    let pds = secured().await;
    let assertion = signed(&claims(&pds));
    let assertion_type = ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    let cases: [(Form, &str, &str); 4] = [
        (&[assertion_type, ("client_assertion", &assertion)], "invalid_request", "grant_type is missing"),
        (
            &[("grant_type", "password"), assertion_type, ("client_assertion", &assertion)],
            "unsupported_grant_type",
            "grant_type is invalid",
        ),
        (
            &[("grant_type", "client_credentials"), ("client_assertion", &assertion)],
            "invalid_request",
            "Missing or invalid client_assertion_type - must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        (&[("grant_type", "client_credentials"), assertion_type], "invalid_request", "Missing client_assertion"),
    ];
    for (form, error, description) in cases {
        let response = pds.token_request(form).await;
        assert_eq!(response.status(), 400, "{description}");
        let body = json(response).await;
        assert_eq!(body["error"], error);
        assert_eq!(body["error_description"], description);
    }
}

#[tokio::test]
async fn pds_without_a_valid_token_is_401_access_denied() {
    let pds = secured().await;
    let missing = pds.get_patient("9000000009").await;
    assert_eq!(missing.status(), 401);
    let request_id = missing.headers().get("x-request-id").cloned();
    assert!(request_id.is_some(), "ids are mirrored on errors too");
    let body = json(missing).await;
    assert_eq!(outcome_code(&body), "ACCESS_DENIED");
    assert_eq!(body["issue"][0]["code"], "forbidden");
    assert_eq!(body["issue"][0]["details"]["coding"][0]["display"], "Access Denied - Unauthorised");
    assert_eq!(body["issue"][0]["diagnostics"], "Missing Authorization header");

    for token in ["made-up-token", ""] {
        let response = pds.pds_get("/Patient/9000000009", &[], Some(token)).await;
        assert_eq!(response.status(), 401);
        assert_eq!(json(response).await["issue"][0]["diagnostics"], "Invalid Access Token");
    }
    let search = pds.search(&[("family", "Smith"), ("birthdate", "eq2010-01-02")]).await;
    assert_eq!(search.status(), 401);
}

#[tokio::test]
async fn tokens_expire() {
    let pds = secured().await;
    let response = pds
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", &signed(&claims(&pds))),
            ("_access_token_expiry_ms", "1"),
        ])
        .await;
    let body = json(response).await;
    assert_eq!(body["expires_in"], "0");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let call = pds.pds_get("/Patient/9000000009", &[], body["access_token"].as_str()).await;
    assert_eq!(call.status(), 401);
}

#[tokio::test]
async fn audience_may_name_the_host_the_client_used() {
    let pds = secured().await;
    let via_localhost = format!("http://localhost:{}/oauth2/token", pds.emulator.addr.port());
    let mut claims = claims(&pds);
    claims["aud"] = json!(via_localhost);
    let response = pds
        .client
        .post(&via_localhost)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", &signed(&claims)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_pem_public_key_is_named_by_its_rfc7638_thumbprint() {
    let keys = KeySet::from_file(std::path::Path::new("tests/fixtures/test-key-1.pub.pem")).unwrap();
    let kid = keys.kids()[0].to_owned();
    assert_eq!(kid.len(), 43, "base64url SHA-256");

    let mut config = Config::builtin().unwrap();
    config.auth.keys = keys;
    let pds = common::start(config).await;
    let assertion = sign(&claims(&pds), Some(&kid), Algorithm::RS512, TEST_PRIVATE_KEY_PEM);
    assert_eq!(pds.exchange(&assertion).await.status(), 200);
    let (status, _) = rejection(&pds, &signed(&claims(&pds))).await;
    assert_eq!(status, 401, "kid test-1 is not configured here");
}

#[tokio::test]
async fn without_auth_the_bearer_is_not_needed() {
    let pds = common::open().await;
    assert_eq!(pds.get_patient("9000000009").await.status(), 200);
    assert!(!pds.token().await.is_empty(), "the token endpoint still works");
}

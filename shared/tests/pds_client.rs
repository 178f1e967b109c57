//! The PDS client and API-platform auth against the real PDS emulator over HTTP, with auth on and the emulator's
//! TEST-ONLY key, so token exchange, headers and error mapping are exercised end to end.

use std::time::Duration;

use chrono::NaiveDate;
use pds_emulator::{Config, RunningEmulator, test_keys};
use serde_json::{Value, json};
use shared::nhs_api::{ApiPlatformAuth, AuthConfig, AuthError, PdsClient, PdsError, PdsSearch, SearchResult};

/// TEST-ONLY key that the emulator does not know: its signatures fail verification.
const UNKNOWN_KEY_PEM: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../emulators/pds/tests/fixtures/test-key-2.pem"));

struct Harness {
    emulator: RunningEmulator,
    pds: PdsClient,
    http: reqwest::Client,
}

fn auth_config(emulator: &RunningEmulator, pem: &str) -> AuthConfig {
    AuthConfig {
        token_url: emulator.token_url.clone(),
        api_key: test_keys::TEST_API_KEY.into(),
        private_key_pem: pem.into(),
        kid: test_keys::TEST_KID.into(),
    }
}

async fn start_with_key(pem: &str) -> Harness {
    let emulator = pds_emulator::spawn(Config::builtin().expect("built-in config")).await.expect("emulator starts");
    let http = reqwest::Client::new();
    let auth = ApiPlatformAuth::signed(auth_config(&emulator, pem), http.clone()).expect("key parses");
    let pds = PdsClient::new(&emulator.pds_base_url, auth, http.clone());
    Harness { emulator, pds, http }
}

async fn start() -> Harness {
    start_with_key(test_keys::TEST_PRIVATE_KEY_PEM).await
}

impl Harness {
    async fn logged(&self, path: &str) -> Vec<Value> {
        let url = format!("{}/_emulator/requests?path={path}", self.emulator.base_url);
        let body: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        body["requests"].as_array().cloned().unwrap_or_default()
    }

    async fn set_faults(&self, faults: Value) {
        let url = format!("{}/_emulator/faults", self.emulator.base_url);
        assert_eq!(self.http.post(url).json(&faults).send().await.unwrap().status(), 200);
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn clarke() -> PdsSearch {
    PdsSearch {
        family: "Clarke".into(),
        given: "Jennifer".into(),
        birthdate: date(2010, 1, 1),
        postcode: Some("SW1A 1AA".into()),
        history: true,
        fuzzy: false,
        max_results: None,
    }
}

#[tokio::test]
async fn one_token_serves_many_calls_and_every_call_carries_ids() {
    let h = start().await;
    // Ten tasks find the cache empty at once: one refresh serves them all.
    let concurrent = (0..10).map(|_| h.pds.get_patient("9000000009"));
    for result in futures::future::join_all(concurrent).await {
        result.expect("found");
    }
    for _ in 0..3 {
        h.pds.get_patient("9000000009").await.expect("found");
    }
    h.pds.search(&clarke()).await.expect("search works");

    assert_eq!(h.logged("/oauth2/token").await.len(), 1, "the token is fetched once and reused");
    let pds_requests = h.logged("/personal-demographics").await;
    assert_eq!(pds_requests.len(), 14);
    let mut request_ids = std::collections::HashSet::new();
    for request in &pds_requests {
        assert_eq!(request["status"], 200);
        let request_id = request["request_id"].as_str().expect("X-Request-ID sent");
        assert_eq!(uuid::Uuid::parse_str(request_id).map(|u| u.get_version_num()), Ok(4));
        assert!(request["correlation_id"].as_str().is_some_and(|c| !c.is_empty()), "X-Correlation-ID sent");
        request_ids.insert(request_id.to_owned());
    }
    assert_eq!(request_ids.len(), 14, "a fresh X-Request-ID per call");
}

#[tokio::test]
async fn get_patient_outcomes() {
    let h = start().await;

    let jane = h.pds.get_patient("9000000009").await.expect("found");
    assert_eq!(jane.nhs_number, "9000000009");
    assert_eq!((jane.given_name.as_deref(), jane.family_name.as_deref()), (Some("Jane"), Some("Smith")));
    assert_eq!(jane.date_of_birth, Some(date(2010, 10, 22)));
    assert_eq!(jane.gp_ods_code.as_deref(), Some("Y12345"));
    assert!(!jane.restricted);
    assert_eq!(jane.superseded_by("9000000009"), None);

    let newman = h.pds.get_patient("9452372230").await.expect("superseded is not an error");
    assert_eq!(newman.nhs_number, "9467351307");
    assert_eq!(newman.superseded_by("9452372230"), Some("9467351307"));

    let elsie = h.pds.get_patient("9000000041").await.expect("found");
    assert_eq!(elsie.date_of_death, Some(date(2010, 10, 22)));

    assert!(matches!(h.pds.get_patient("9990003343").await, Err(PdsError::Invalidated)));
    assert!(matches!(h.pds.get_patient("9111231130").await, Err(PdsError::NotFound)));
    assert!(matches!(h.pds.get_patient("9000000000").await, Err(PdsError::InvalidNhsNumber)));
    assert_eq!(h.logged("/personal-demographics").await.len(), 6);

    // Refused before sending: it could not be a number and must not reach the URL path.
    assert!(matches!(h.pds.get_patient("90000/../x").await, Err(PdsError::InvalidNhsNumber)));
    assert_eq!(h.logged("/personal-demographics").await.len(), 6);
}

#[tokio::test]
async fn restricted_patient_is_flagged_and_has_no_gp() {
    let h = start().await;
    let janet = h.pds.get_patient("9000000025").await.expect("found");
    assert!(janet.restricted);
    assert_eq!(janet.gp_ods_code, None);
    assert_eq!(janet.family_name.as_deref(), Some("Smythe"));
}

#[tokio::test]
async fn search_outcomes() {
    let h = start().await;

    let SearchResult::OneMatch(jennifer) = h.pds.search(&clarke()).await.expect("search") else {
        panic!("one match expected with history")
    };
    assert_eq!(jennifer.nhs_number, "9999075320");
    assert_eq!(h.pds.search(&PdsSearch { history: false, ..clarke() }).await.unwrap(), SearchResult::NoMatch);

    let youds = PdsSearch {
        family: "Youds".into(),
        given: String::new(),
        birthdate: date(2010, 6, 15),
        postcode: Some("LS6 1AA".into()),
        history: true,
        fuzzy: false,
        max_results: None,
    };
    assert_eq!(h.pds.search(&youds).await.unwrap(), SearchResult::TooManyMatches);

    let wildcard = PdsSearch { family: "Cla*".into(), postcode: Some("SW*".into()), ..clarke() };
    assert!(
        matches!(h.pds.search(&wildcard).await.unwrap(), SearchResult::OneMatch(p) if p.nhs_number == "9999075320")
    );

    let requests = h.logged("/personal-demographics").await;
    let last = requests.last().expect("logged");
    assert!(last["query_string"].as_str().is_some_and(|q| q.contains("family=Cla%2A")), "wildcards go as %2A");
    let first_query = requests[0]["query"].as_array().expect("query");
    assert!(first_query.contains(&json!(["birthdate", "eq2010-01-01"])));
    assert!(first_query.contains(&json!(["_history", "true"])));
    assert!(!requests[1]["query_string"].as_str().unwrap_or_default().contains("_history"), "false flags dropped");
    assert!(!requests.iter().any(|r| r["query_string"].as_str().unwrap_or_default().contains("_fuzzy-match")));
}

#[tokio::test]
async fn invalid_searches_are_reported_with_their_code() {
    let h = start().await;
    let no_family = PdsSearch { family: " ".into(), ..clarke() };
    assert!(
        matches!(h.pds.search(&no_family).await, Err(PdsError::InvalidSearch { code, .. }) if code == "INVALID_SEARCH_DATA")
    );
    let bad_wildcard = PdsSearch { family: "S*".into(), ..clarke() };
    assert!(matches!(h.pds.search(&bad_wildcard).await, Err(PdsError::InvalidSearch { .. })));
    let too_many_asked = PdsSearch { max_results: Some(2), ..clarke() };
    assert!(
        matches!(h.pds.search(&too_many_asked).await, Err(PdsError::InvalidSearch { code, .. }) if code == "INVALID_VALUE")
    );
}

#[tokio::test]
async fn faults_map_to_transient_errors() {
    let h = start().await;

    h.set_faults(json!({"rate_429": 1.0})).await;
    let error = h.pds.get_patient("9000000009").await.unwrap_err();
    assert!(matches!(error, PdsError::RateLimited { .. }), "{error:?}");
    assert!(error.is_transient());
    assert!(matches!(h.pds.search(&clarke()).await, Err(PdsError::RateLimited { .. })));

    h.set_faults(json!({"rate_500": 1.0})).await;
    let error = h.pds.get_patient("9000000009").await.unwrap_err();
    assert!(matches!(error, PdsError::Unavailable { status: Some(500), .. }), "{error:?}");
    assert!(error.is_transient());

    h.set_faults(json!({"rate_503": 1.0})).await;
    let error = h.pds.get_patient("9000000009").await.unwrap_err();
    assert!(
        matches!(error, PdsError::Unavailable { status: Some(503), retry_after: Some(d) } if d == Duration::from_secs(5))
    );

    h.set_faults(json!({"rate_408": 1.0})).await;
    assert!(matches!(h.pds.get_patient("9000000009").await, Err(PdsError::Unavailable { status: Some(408), .. })));

    h.set_faults(json!({})).await;
    assert!(h.pds.get_patient("9000000009").await.is_ok(), "recovers when the faults stop");
}

#[tokio::test]
async fn connection_failure_is_unavailable() {
    let h = start().await;
    let base_url = h.emulator.pds_base_url.clone();
    h.emulator.shutdown().await;
    let pds = PdsClient::new(base_url, ApiPlatformAuth::disabled(), reqwest::Client::new());
    let error = pds.get_patient("9000000009").await.unwrap_err();
    assert!(matches!(error, PdsError::Unavailable { status: None, .. }), "{error:?}");
}

#[tokio::test]
async fn a_key_the_platform_does_not_know_is_rejected_credentials() {
    let h = start_with_key(UNKNOWN_KEY_PEM).await;
    let error = h.pds.get_patient("9000000009").await.unwrap_err();
    let PdsError::Auth(AuthError::Rejected { status, error: code, description }) = &error else {
        panic!("expected rejected credentials, got {error:?}")
    };
    assert_eq!(*status, 401);
    assert!(!code.is_empty());
    assert!(description.contains("signature"), "{description}");
    assert!(!error.is_transient());
    assert!(h.logged("/personal-demographics").await.is_empty(), "PDS is not called without a token");
}

#[tokio::test]
async fn disabled_auth_sends_no_token() {
    let mut config = Config::builtin().unwrap();
    config.auth_required = false;
    let open = pds_emulator::spawn(config).await.unwrap();
    let pds = PdsClient::new(&open.pds_base_url, ApiPlatformAuth::disabled(), reqwest::Client::new());
    assert_eq!(pds.get_patient("9000000009").await.unwrap().nhs_number, "9000000009");

    // Against a platform that wants a token, the missing header is a 401.
    let h = start().await;
    let pds = PdsClient::new(&h.emulator.pds_base_url, ApiPlatformAuth::disabled(), reqwest::Client::new());
    assert!(matches!(pds.get_patient("9000000009").await, Err(PdsError::Unauthorized { status: 401 })));
    assert!(h.logged("/oauth2/token").await.is_empty());
}

#[tokio::test]
async fn debug_output_never_shows_key_material() {
    let h = start().await;
    let config = auth_config(&h.emulator, test_keys::TEST_PRIVATE_KEY_PEM);
    let auth = ApiPlatformAuth::signed(config.clone(), reqwest::Client::new()).unwrap();
    h.pds.get_patient("9000000009").await.unwrap(); // a token is now cached inside the client's auth
    let key_body = test_keys::TEST_PRIVATE_KEY_PEM.lines().nth(1).expect("a base64 line");
    for shown in [format!("{config:?}"), format!("{auth:?}"), format!("{:?}", h.pds)] {
        assert!(!shown.contains(key_body), "{shown}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        assert!(!shown.contains(test_keys::TEST_API_KEY), "{shown}");
    }
}

#[tokio::test]
async fn a_refused_token_is_dropped_and_the_next_call_fetches_a_new_one() {
    let h = start().await;
    h.pds.get_patient("9000000009").await.expect("found");
    // A platform that has forgotten our token: a new emulator on the same port (same token URL and audience).
    let port = h.emulator.addr.port();
    h.emulator.shutdown().await;
    let mut config = Config::builtin().unwrap();
    config.port = port;
    let restarted = pds_emulator::spawn(config).await.expect("the port is free again");

    let error = h.pds.get_patient("9000000009").await.unwrap_err();
    assert!(matches!(error, PdsError::Unauthorized { status: 401 }), "{error:?}");
    h.pds.get_patient("9000000009").await.expect("a fresh token after the 401");
    let url = format!("{}/_emulator/requests?path=/oauth2/token", restarted.base_url);
    let tokens: Value = h.http.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(tokens["count"], 1);
}

//! The cascading PDS search (mavis-import.md §11.1) against the REAL PDS emulator over HTTP, with auth on, checking
//! both the stored records and the requests the emulator received (fixture-outcomes.md §2.1 B, §2.10 B, §2.11).

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::NaiveDate;
use pds_emulator::{Config, RunningEmulator, test_keys};
use serde_json::{Value, json};
use shared::nhs_api::{ApiPlatformAuth, AuthConfig, PdsClient, PdsError, PdsSearch, SearchResult};
use shared::pds::cascade::{
    self, CascadeError, Identity, PatientSearcher, SearchRecord, SearchStep, StepResult, outcome,
};

struct Harness {
    emulator: RunningEmulator,
    pds: PdsClient,
    http: reqwest::Client,
}

async fn start() -> Harness {
    let emulator = pds_emulator::spawn(Config::builtin().expect("built-in config")).await.expect("emulator starts");
    let http = reqwest::Client::new();
    let config = AuthConfig {
        token_url: emulator.token_url.clone(),
        api_key: test_keys::TEST_API_KEY.into(),
        private_key_pem: test_keys::TEST_PRIVATE_KEY_PEM.into(),
        kid: test_keys::TEST_KID.into(),
    };
    let auth = ApiPlatformAuth::signed(config, http.clone()).expect("key parses");
    let pds = PdsClient::new(&emulator.pds_base_url, auth, http.clone());
    Harness { emulator, pds, http }
}

impl Harness {
    /// The PDS searches the emulator received, oldest first, as `(query pairs, status)`.
    async fn searches(&self) -> Vec<(Vec<(String, String)>, u16)> {
        let url = format!("{}/_emulator/requests?path=/personal-demographics", self.emulator.base_url);
        let body: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        let requests = body["requests"].as_array().cloned().unwrap_or_default();
        requests
            .iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/Patient")))
            .map(|r| (serde_json::from_value(r["query"].clone()).unwrap(), r["status"].as_u64().unwrap() as u16))
            .collect()
    }

    async fn clear_log(&self) {
        let url = format!("{}/_emulator/requests", self.emulator.base_url);
        assert_eq!(self.http.delete(url).send().await.unwrap().status(), 204);
    }

    async fn set_faults(&self, faults: Value) {
        set_faults(&self.http, &self.emulator.base_url, faults).await;
    }

    async fn clear_faults(&self) {
        let url = format!("{}/_emulator/faults", self.emulator.base_url);
        assert_eq!(self.http.delete(url).send().await.unwrap().status(), 204);
    }
}

async fn set_faults(http: &reqwest::Client, base_url: &str, faults: Value) {
    let url = format!("{base_url}/_emulator/faults");
    assert_eq!(http.post(url).json(&faults).send().await.unwrap().status(), 200);
}

fn identity(given: &str, family: &str, dob: (i32, u32, u32), postcode: &str) -> Identity {
    Identity {
        given_name: given.into(),
        family_name: family.into(),
        date_of_birth: NaiveDate::from_ymd_opt(dob.0, dob.1, dob.2).unwrap(),
        postcode: Some(postcode.into()),
    }
}

fn summary(records: &[SearchRecord]) -> Vec<(SearchStep, StepResult, Option<&str>)> {
    records.iter().map(|r| (r.step, r.result, r.nhs_number.as_deref())).collect()
}

/// Query pairs as the emulator logged them (values decoded).
fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The four requests of fixture-outcomes §2.11 for Taylor Reed, in order.
fn taylor_reed_requests() -> Vec<Vec<(String, String)>> {
    let with = |family, given, postcode| {
        query(&[
            ("family", family),
            ("given", given),
            ("birthdate", "eq2010-01-01"),
            ("address-postalcode", postcode),
            ("_history", "true"),
        ])
    };
    vec![
        with("Reed", "Taylor", "SW1A 1AB"),
        with("Reed", "Taylor", "SW*"),
        with("Reed", "Tay*", "SW1A 1AB"),
        with("Ree*", "Taylor", "SW1A 1AB"),
    ]
}

#[tokio::test]
async fn jennifer_clarke_matches_at_the_first_step_with_one_request() {
    let h = start().await;
    let records =
        cascade::run(&h.pds, &identity("Jennifer", "Clarke", (2010, 1, 1), "SW1A 1AA"), &clock()).await.unwrap();
    assert_eq!(summary(&records), [(SearchStep::NoFuzzyWithHistory, StepResult::OneMatch, Some("9999075320"))]);
    assert_eq!(outcome(&records).pds_nhs_number.as_deref(), Some("9999075320"));

    let searches = h.searches().await;
    assert_eq!(searches.len(), 1);
    assert_eq!(
        searches[0].0,
        query(&[
            ("family", "Clarke"),
            ("given", "Jennifer"),
            ("birthdate", "eq2010-01-01"),
            ("address-postalcode", "SW1A 1AA"),
            ("_history", "true"),
        ])
    );
}

/// fixture-outcomes §2.10 B: her current postcode finds her too, with one request.
#[tokio::test]
async fn jennifer_clarke_at_her_current_postcode_also_matches_with_one_request() {
    let h = start().await;
    let records =
        cascade::run(&h.pds, &identity("Jennifer", "Clarke", (2010, 1, 1), "SW1A 1AB"), &clock()).await.unwrap();
    assert_eq!(summary(&records), [(SearchStep::NoFuzzyWithHistory, StepResult::OneMatch, Some("9999075320"))]);
    assert_eq!(h.searches().await.len(), 1);
}

#[tokio::test]
async fn taylor_reed_walks_the_four_wildcard_steps_without_a_match() {
    let h = start().await;
    let records = cascade::run(&h.pds, &identity("Taylor", "Reed", (2010, 1, 1), "SW1A 1AB"), &clock()).await.unwrap();
    assert_eq!(
        summary(&records),
        [
            (SearchStep::NoFuzzyWithHistory, StepResult::NoMatches, None),
            (SearchStep::NoFuzzyWithWildcardPostcode, StepResult::NoMatches, None),
            (SearchStep::NoFuzzyWithWildcardGivenName, StepResult::NoMatches, None),
            (SearchStep::NoFuzzyWithWildcardFamilyName, StepResult::NoMatches, None),
        ]
    );
    let outcome = outcome(&records);
    assert_eq!(outcome.pds_nhs_number, None);
    assert!(outcome.attempted);

    let searches = h.searches().await;
    assert!(searches.iter().all(|(_, status)| *status == 200));
    let queries: Vec<_> = searches.into_iter().map(|(q, _)| q).collect();
    assert_eq!(queries, taylor_reed_requests());
}

#[tokio::test]
async fn too_many_matches_goes_to_without_history() {
    let h = start().await;
    // Two Alex Youds have had LS6 1AA: one lives there now, the other only in the past.
    let records = cascade::run(&h.pds, &identity("Alex", "Youds", (2010, 6, 15), "LS6 1AA"), &clock()).await.unwrap();
    assert_eq!(
        summary(&records),
        [
            (SearchStep::NoFuzzyWithHistory, StepResult::TooManyMatches, None),
            (SearchStep::NoFuzzyWithoutHistory, StepResult::OneMatch, Some("9990001006")),
        ]
    );
    let queries: Vec<_> = h.searches().await.into_iter().map(|(q, _)| q).collect();
    assert_eq!(queries.len(), 2);
    assert!(queries[0].contains(&("_history".into(), "true".into())));
    assert!(!queries[1].iter().any(|(k, _)| k == "_history"));
}

#[tokio::test]
async fn rate_limit_asks_for_a_retry_and_records_nothing() {
    let h = start().await;
    h.set_faults(json!({"rate_429": 1.0})).await;
    let who = identity("Jennifer", "Clarke", (2010, 1, 1), "SW1A 1AA");
    let error = cascade::run(&h.pds, &who, &clock()).await.unwrap_err();
    let CascadeError::Retry { records, source } = error;
    assert!(records.is_empty());
    assert!(matches!(source, PdsError::RateLimited { .. }));
    assert_eq!(h.searches().await.iter().map(|(_, s)| *s).collect::<Vec<_>>(), [429]);

    h.clear_faults().await;
    let records = cascade::resume(&h.pds, &who, &records, &clock()).await.unwrap();
    assert_eq!(summary(&records), [(SearchStep::NoFuzzyWithHistory, StepResult::OneMatch, Some("9999075320"))]);
}

/// Test wrapper around the real client: switches the emulator's 429 fault on just before the `nth` search (from 1),
/// so a cascade is interrupted half-way through by a real HTTP 429.
struct RateLimitedFrom<'a> {
    pds: &'a PdsClient,
    http: &'a reqwest::Client,
    base_url: &'a str,
    nth: usize,
    calls: AtomicUsize,
}

#[async_trait]
impl PatientSearcher for RateLimitedFrom<'_> {
    async fn search(&self, search: &PdsSearch) -> Result<SearchResult, PdsError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.nth {
            set_faults(self.http, self.base_url, json!({"rate_429": 1.0})).await;
        }
        PatientSearcher::search(self.pds, search).await
    }
}

#[tokio::test]
async fn resuming_after_a_rate_limit_does_not_repeat_completed_steps() {
    let h = start().await;
    let who = identity("Taylor", "Reed", (2010, 1, 1), "SW1A 1AB");
    let interrupted = RateLimitedFrom {
        pds: &h.pds,
        http: &h.http,
        base_url: &h.emulator.base_url,
        nth: 3,
        calls: AtomicUsize::new(0),
    };
    let CascadeError::Retry { records: prior, source } = cascade::run(&interrupted, &who, &clock()).await.unwrap_err();
    assert!(matches!(source, PdsError::RateLimited { .. }));
    assert_eq!(
        summary(&prior),
        [
            (SearchStep::NoFuzzyWithHistory, StepResult::NoMatches, None),
            (SearchStep::NoFuzzyWithWildcardPostcode, StepResult::NoMatches, None),
        ]
    );

    h.clear_faults().await;
    h.clear_log().await;
    let records = cascade::resume(&h.pds, &who, &prior, &clock()).await.unwrap();
    assert_eq!(&records[..2], &prior[..], "completed steps are kept as they were");
    assert_eq!(
        summary(&records[2..]),
        [
            (SearchStep::NoFuzzyWithWildcardGivenName, StepResult::NoMatches, None),
            (SearchStep::NoFuzzyWithWildcardFamilyName, StepResult::NoMatches, None),
        ]
    );
    // Only the rate-limited step and the one after it were sent again.
    let queries: Vec<_> = h.searches().await.into_iter().map(|(q, _)| q).collect();
    assert_eq!(queries, taylor_reed_requests()[2..]);
}

/// When the searches run: a fixed instant, so that nothing here depends on when the tests run.
fn clock() -> shared::clock::Clock {
    shared::clock::Clock::fixed("2025-10-06T10:00:00Z".parse().expect("instant"))
}

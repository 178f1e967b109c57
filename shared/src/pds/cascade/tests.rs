//! Unit tests of the step table, the outcome and the runner. The runner tests use [`ScriptedSearcher`], a
//! UNIT-TEST FAKE that answers from a script; the real PDS emulator is exercised in
//! shared/tests/pds_cascading_search.rs.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{NaiveDate, TimeZone, Utc};

use super::SearchStep::*;
use super::StepResult::*;
use super::*;
use crate::clock::Clock;
use crate::nhs_api::{PdsError, PdsPatient, SearchResult};

// ---- the unit-test fake ------------------------------------------------------------------------------------------

/// UNIT-TEST FAKE: answers each search with the next scripted answer and remembers what it was asked.
struct ScriptedSearcher {
    answers: Mutex<VecDeque<Result<SearchResult, PdsError>>>,
    asked: Mutex<Vec<PdsSearch>>,
}

impl ScriptedSearcher {
    fn new(answers: impl IntoIterator<Item = Result<SearchResult, PdsError>>) -> Self {
        Self { answers: Mutex::new(answers.into_iter().collect()), asked: Mutex::new(Vec::new()) }
    }

    fn asked(&self) -> Vec<PdsSearch> {
        self.asked.lock().unwrap().clone()
    }
}

#[async_trait]
impl PatientSearcher for ScriptedSearcher {
    async fn search(&self, search: &PdsSearch) -> Result<SearchResult, PdsError> {
        self.asked.lock().unwrap().push(search.clone());
        self.answers.lock().unwrap().pop_front().expect("the fake was asked more often than scripted")
    }
}

fn found(nhs: &str) -> Result<SearchResult, PdsError> {
    Ok(SearchResult::OneMatch(PdsPatient {
        nhs_number: nhs.into(),
        given_name: None,
        family_name: None,
        date_of_birth: None,
        date_of_death: None,
        restricted: false,
        gp_ods_code: None,
    }))
}

fn none() -> Result<SearchResult, PdsError> {
    Ok(SearchResult::NoMatch)
}

fn many() -> Result<SearchResult, PdsError> {
    Ok(SearchResult::TooManyMatches)
}

fn identity(given: &str, family: &str, postcode: Option<&str>) -> Identity {
    Identity {
        given_name: given.into(),
        family_name: family.into(),
        date_of_birth: NaiveDate::from_ymd_opt(2010, 1, 1).unwrap(),
        postcode: postcode.map(str::to_owned),
    }
}

fn taylor() -> Identity {
    identity("Taylor", "Reed", Some("SW1A 1AB"))
}

/// `(step, result, nhs_number)` of each record, for compact assertions.
fn summary(records: &[SearchRecord]) -> Vec<(SearchStep, StepResult, Option<&str>)> {
    records.iter().map(|r| (r.step, r.result, r.nhs_number.as_deref())).collect()
}

/// When every search in these tests runs.
fn clock() -> Clock {
    Clock::fixed(Utc.with_ymd_and_hms(2025, 5, 20, 12, 0, 0).single().expect("instant"))
}

fn rec(step: SearchStep, result: StepResult, nhs: Option<&str>) -> SearchRecord {
    SearchRecord { step, result, nhs_number: nhs.map(str::to_owned), created_at: clock().now() }
}

async fn run_script(
    who: &Identity,
    answers: Vec<Result<SearchResult, PdsError>>,
) -> (Vec<SearchRecord>, Vec<PdsSearch>) {
    let fake = ScriptedSearcher::new(answers);
    let records = run(&fake, who, &clock()).await.expect("no retry");
    (records, fake.asked())
}

// ---- the step table as data --------------------------------------------------------------------------------------

#[test]
fn next_step_follows_the_table() {
    let rows = [
        (NoFuzzyWithHistory, [Some(NoFuzzyWithWildcardPostcode), None, Some(NoFuzzyWithoutHistory)]),
        (NoFuzzyWithoutHistory, [None, None, None]),
        (NoFuzzyWithWildcardPostcode, [Some(NoFuzzyWithWildcardGivenName); 3]),
        (NoFuzzyWithWildcardGivenName, [Some(NoFuzzyWithWildcardFamilyName); 3]),
        (NoFuzzyWithWildcardFamilyName, [None, None, None]),
    ];
    for (step, [no_match, one_match, too_many]) in rows {
        assert_eq!(next_step(step, NoMatches), no_match, "{step:?} no_matches");
        assert_eq!(next_step(step, OneMatch), one_match, "{step:?} one_match");
        assert_eq!(next_step(step, TooManyMatches), too_many, "{step:?} too_many_matches");
        assert_eq!(next_step(step, Error), None, "{step:?} error stops");
        assert_eq!(next_step(step, NoPostcode), None, "{step:?} no_postcode stops");
    }
    assert_eq!(next_step(NoFuzzyWithWildcardGivenName, SkipStep), Some(NoFuzzyWithWildcardFamilyName));
    assert_eq!(next_step(NoFuzzyWithWildcardFamilyName, SkipStep), None);
}

#[test]
fn queries_change_one_field_each() {
    let who = identity("Taylor", "Reed", Some(" SW1A 1AB "));
    let base = query_for(NoFuzzyWithHistory, &who).unwrap();
    assert_eq!(
        (base.family.as_str(), base.given.as_str(), base.postcode.as_deref()),
        ("Reed", "Taylor", Some("SW1A 1AB"))
    );
    assert!(base.history && !base.fuzzy && base.max_results.is_none());

    assert_eq!(query_for(NoFuzzyWithoutHistory, &who).unwrap(), PdsSearch { history: false, ..base.clone() });
    assert_eq!(
        query_for(NoFuzzyWithWildcardPostcode, &who).unwrap(),
        PdsSearch { postcode: Some("SW*".into()), ..base.clone() }
    );
    assert_eq!(
        query_for(NoFuzzyWithWildcardGivenName, &who).unwrap(),
        PdsSearch { given: "Tay*".into(), ..base.clone() }
    );
    assert_eq!(query_for(NoFuzzyWithWildcardFamilyName, &who).unwrap(), PdsSearch { family: "Ree*".into(), ..base });
}

#[test]
fn short_names_skip_their_wildcard_step() {
    let who = identity("Amy", "Li", Some("SW1A 1AA"));
    assert_eq!(query_for(NoFuzzyWithWildcardGivenName, &who), None);
    assert_eq!(query_for(NoFuzzyWithWildcardFamilyName, &who), None);
    // Characters, not bytes: "Zoë" is 3 characters.
    assert_eq!(query_for(NoFuzzyWithWildcardGivenName, &identity("Zoë", "Reed", Some("SW1A 1AA"))), None);
    assert_eq!(
        query_for(NoFuzzyWithWildcardGivenName, &identity("Zoëy", "Reed", Some("SW1A 1AA"))).unwrap().given,
        "Zoë*"
    );
    assert_eq!(query_for(NoFuzzyWithWildcardPostcode, &identity("Amy", "Li", Some("S"))), None);
}

#[test]
fn outcome_needs_exactly_one_distinct_number() {
    let none = outcome(&[]);
    assert_eq!(none, CascadeOutcome { pds_nhs_number: None, attempted: false });
    let no_postcode = outcome(&[rec(NoFuzzyWithHistory, NoPostcode, None)]);
    assert_eq!(no_postcode, CascadeOutcome { pds_nhs_number: None, attempted: false });

    let same_twice = [
        rec(NoFuzzyWithWildcardPostcode, OneMatch, Some("9999075320")),
        rec(NoFuzzyWithWildcardGivenName, OneMatch, Some("9999075320")),
    ];
    assert_eq!(outcome(&same_twice).pds_nhs_number.as_deref(), Some("9999075320"));

    let two = [
        rec(NoFuzzyWithWildcardPostcode, OneMatch, Some("9999075320")),
        rec(NoFuzzyWithWildcardGivenName, OneMatch, Some("9990000026")),
    ];
    assert_eq!(outcome(&two), CascadeOutcome { pds_nhs_number: None, attempted: true });
    assert!(outcome(&[rec(NoFuzzyWithHistory, NoMatches, None)]).attempted);
}

#[test]
fn records_serialise_with_mavis_names() {
    let json = serde_json::to_value(rec(NoFuzzyWithWildcardGivenName, TooManyMatches, None)).unwrap();
    assert_eq!(json["step"], "no_fuzzy_with_wildcard_given_name");
    assert_eq!(json["result"], "too_many_matches");
    let back: SearchRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back.step, NoFuzzyWithWildcardGivenName);
}

// ---- the runner, one test per table row --------------------------------------------------------------------------

#[tokio::test]
async fn with_history_one_match_stops() {
    let (records, asked) = run_script(&taylor(), vec![found("9999075320")]).await;
    assert_eq!(summary(&records), [(NoFuzzyWithHistory, OneMatch, Some("9999075320"))]);
    assert_eq!(asked.len(), 1);
    assert_eq!(outcome(&records).pds_nhs_number.as_deref(), Some("9999075320"));
}

#[tokio::test]
async fn with_history_too_many_then_without_history_one_match() {
    let (records, asked) = run_script(&taylor(), vec![many(), found("9990001006")]).await;
    assert_eq!(
        summary(&records),
        [(NoFuzzyWithHistory, TooManyMatches, None), (NoFuzzyWithoutHistory, OneMatch, Some("9990001006"))]
    );
    assert!(!asked[1].history);
}

#[tokio::test]
async fn without_history_no_match_or_too_many_gives_up() {
    for answer in [none as fn() -> _, many] {
        let (records, asked) = run_script(&taylor(), vec![many(), answer()]).await;
        assert_eq!(records.len(), 2);
        assert_eq!(asked.len(), 2);
        assert_eq!(outcome(&records).pds_nhs_number, None);
    }
}

#[tokio::test]
async fn no_match_walks_all_wildcards() {
    let (records, asked) = run_script(&taylor(), vec![none(), none(), none(), none()]).await;
    assert_eq!(
        summary(&records),
        [
            (NoFuzzyWithHistory, NoMatches, None),
            (NoFuzzyWithWildcardPostcode, NoMatches, None),
            (NoFuzzyWithWildcardGivenName, NoMatches, None),
            (NoFuzzyWithWildcardFamilyName, NoMatches, None),
        ]
    );
    let changed: Vec<_> =
        asked.iter().map(|s| (s.postcode.clone().unwrap(), s.given.clone(), s.family.clone())).collect();
    assert_eq!(
        changed,
        [
            ("SW1A 1AB".into(), "Taylor".into(), "Reed".into()),
            ("SW*".into(), "Taylor".into(), "Reed".into()),
            ("SW1A 1AB".into(), "Tay*".into(), "Reed".into()),
            ("SW1A 1AB".into(), "Taylor".into(), "Ree*".into()),
        ]
    );
    assert!(asked.iter().all(|s| s.history));
}

#[tokio::test]
async fn wildcard_postcode_any_result_moves_to_given_name() {
    for answer in [none as fn() -> _, many] {
        let (records, _) = run_script(&taylor(), vec![none(), answer(), none(), none()]).await;
        assert_eq!(records.len(), 4);
    }
    // The same number found twice is still one distinct number: the cascade runs on.
    let script = vec![none(), found("9999075320"), found("9999075320"), none()];
    let (records, _) = run_script(&taylor(), script).await;
    assert_eq!(records.len(), 4);
    assert_eq!(outcome(&records).pds_nhs_number.as_deref(), Some("9999075320"));
}

#[tokio::test]
async fn second_distinct_number_stops_early() {
    let (records, asked) = run_script(&taylor(), vec![none(), found("9999075320"), found("9990000026")]).await;
    assert_eq!(records.len(), 3);
    assert_eq!(asked.len(), 3);
    assert_eq!(outcome(&records).pds_nhs_number, None);
}

#[tokio::test]
async fn short_names_are_recorded_as_skip_step_without_a_request() {
    let (records, asked) = run_script(&identity("Amy", "Li", Some("SW1A 1AA")), vec![none(), none()]).await;
    assert_eq!(
        summary(&records),
        [
            (NoFuzzyWithHistory, NoMatches, None),
            (NoFuzzyWithWildcardPostcode, NoMatches, None),
            (NoFuzzyWithWildcardGivenName, SkipStep, None),
            (NoFuzzyWithWildcardFamilyName, SkipStep, None),
        ]
    );
    assert_eq!(asked.len(), 2);
}

#[tokio::test]
async fn no_postcode_searches_nothing() {
    for postcode in [None, Some("  ")] {
        let (records, asked) = run_script(&identity("Taylor", "Reed", postcode), vec![]).await;
        assert_eq!(summary(&records), [(NoFuzzyWithHistory, NoPostcode, None)]);
        assert!(asked.is_empty());
        assert!(!outcome(&records).attempted);
    }
}

// ---- error mapping -----------------------------------------------------------------------------------------------

#[tokio::test]
async fn not_found_counts_as_no_match() {
    let (records, _) = run_script(&taylor(), vec![Err(PdsError::NotFound), none(), none(), none()]).await;
    assert_eq!(records[0].result, NoMatches);
}

#[tokio::test]
async fn invalid_search_and_other_4xx_record_error_and_stop() {
    let errors = [
        PdsError::InvalidSearch { code: "INVALID_SEARCH_DATA".into(), diagnostics: None },
        PdsError::Unauthorized { status: 403 },
        PdsError::Unexpected("HTTP 418".into()),
    ];
    for error in errors {
        let (records, asked) = run_script(&taylor(), vec![none(), Err(error)]).await;
        assert_eq!(
            summary(&records),
            [(NoFuzzyWithHistory, NoMatches, None), (NoFuzzyWithWildcardPostcode, Error, None)]
        );
        assert_eq!(asked.len(), 2);
    }
}

#[tokio::test]
async fn rate_limit_and_server_errors_ask_for_a_retry_with_the_steps_so_far() {
    let errors = [
        PdsError::RateLimited { retry_after: None },
        PdsError::Unavailable { status: Some(503), retry_after: None },
        PdsError::Unavailable { status: None, retry_after: None },
    ];
    for error in errors {
        let fake = ScriptedSearcher::new([none(), Err(error)]);
        let CascadeError::Retry { records, source } = run(&fake, &taylor(), &clock()).await.unwrap_err();
        assert!(source.is_transient());
        assert_eq!(summary(&records), [(NoFuzzyWithHistory, NoMatches, None)]);
    }
}

#[tokio::test]
async fn resume_continues_after_the_last_recorded_step() {
    let prior = [rec(NoFuzzyWithHistory, NoMatches, None)];
    let fake = ScriptedSearcher::new([none(), none(), none()]);
    let records = resume(&fake, &taylor(), &prior, &clock()).await.unwrap();
    assert_eq!(records.len(), 4);
    assert_eq!(records[0], prior[0]);
    let asked = fake.asked();
    assert_eq!(asked.len(), 3);
    assert_eq!(asked[0].postcode.as_deref(), Some("SW*"));
}

#[tokio::test]
async fn resuming_a_finished_cascade_sends_nothing() {
    let finished = [
        vec![rec(NoFuzzyWithHistory, OneMatch, Some("9999075320"))],
        vec![rec(NoFuzzyWithHistory, NoPostcode, None)],
        vec![rec(NoFuzzyWithHistory, NoMatches, None), rec(NoFuzzyWithWildcardPostcode, Error, None)],
    ];
    for prior in finished {
        let fake = ScriptedSearcher::new([]);
        assert_eq!(resume(&fake, &taylor(), &prior, &clock()).await.unwrap(), prior);
        assert!(fake.asked().is_empty());
    }
}

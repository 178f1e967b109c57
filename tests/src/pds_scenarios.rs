//! Child-record imports with the PDS step on (fixture-outcomes.md §2.1 B and D, §2.10 B, §2.11), through the real
//! pipeline against the real PDS emulator over HTTP with auth on, written once and run on both adapter sets
//! (tests/tests/pds_*.rs).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use pds_emulator::{Config, RunningEmulator, test_keys};
use serde_json::{Value, json};
use shared::domain::import::{ImportPhase, NhsNumberUpdate};
use shared::domain::patient::{ChildAttributes, Patient, SchoolPlacement};
use shared::domain::{AcademicYear, Import, ImportKind, ImportStatus, RowError};
use shared::nhs_api::{ApiPlatformAuth, AuthConfig, PdsClient};
use shared::pds::cascade::{SearchStep, StepResult};
use shared::pipeline::pds_queue::{PdsMessage, PdsMessages};
use shared::pipeline::{Handled, PdsSettings};
use shared::store::changesets;
use uuid::Uuid;

use crate::harness::{Harness, UploadRequest};
use crate::scenarios::clock_2023;

/// A running emulator and an HTTP client for its test controls.
pub struct Pds {
    pub emulator: RunningEmulator,
    http: reqwest::Client,
    /// Where the pipeline reaches PDS: the emulator itself, or Prism in front of it.
    pds_base_url: String,
    _prism: Option<crate::prism::Prism>,
}

impl Pds {
    pub async fn start() -> Pds {
        let emulator = pds_emulator::spawn(Config::builtin().expect("built-in config")).await.expect("emulator");
        let pds_base_url = emulator.pds_base_url.clone();
        Pds { emulator, http: reqwest::Client::new(), pds_base_url, _prism: None }
    }

    /// An emulator whose PDS traffic passes through Prism, checked against the published specification.
    pub async fn behind_prism(dir: &std::path::Path, log: &crate::prism::Log) -> Pds {
        let mut pds = Pds::start().await;
        let prism = crate::prism::Prism::proxy(dir, crate::prism::Spec::Pds, &pds.emulator.base_url, log).await;
        pds.pds_base_url = format!("{}{}", prism.base_url, shared::cloud::PDS_PATH);
        pds._prism = Some(prism);
        pds
    }

    /// Pipeline settings talking to this emulator with the test key; fast back-off so fault runs stay short.
    pub fn settings(&self) -> PdsSettings {
        let config = AuthConfig {
            token_url: self.emulator.token_url.clone(),
            api_key: test_keys::TEST_API_KEY.into(),
            private_key_pem: test_keys::TEST_PRIVATE_KEY_PEM.into(),
            kid: test_keys::TEST_KID.into(),
        };
        let auth = ApiPlatformAuth::signed(config, self.http.clone()).expect("key parses");
        let client = PdsClient::new(&self.pds_base_url, auth, self.http.clone());
        PdsSettings {
            requests_per_second: 500,
            backoff_base: Duration::from_millis(10),
            backoff_cap: Duration::from_millis(200),
            ..PdsSettings::for_client(Arc::new(client))
        }
    }

    /// Statuses of the PDS GETs (`/Patient/{nhs}`) received so far, oldest first.
    pub async fn get_statuses(&self) -> Vec<u16> {
        let url = format!("{}/_emulator/requests?path=/personal-demographics", self.emulator.base_url);
        let body: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        let requests = body["requests"].as_array().cloned().unwrap_or_default();
        requests
            .iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| p.contains("/Patient/")))
            .map(|r| r["status"].as_u64().unwrap() as u16)
            .collect()
    }

    /// The NHS numbers PDS was asked for with a GET, sorted, without repeats.
    pub async fn get_numbers(&self) -> Vec<String> {
        let url = format!("{}/_emulator/requests?path=/personal-demographics", self.emulator.base_url);
        let body: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        let requests = body["requests"].as_array().cloned().unwrap_or_default();
        let mut numbers: Vec<String> =
            requests.iter().filter_map(|r| r["path"].as_str()?.split("/Patient/").nth(1).map(str::to_owned)).collect();
        numbers.sort();
        numbers.dedup();
        numbers
    }

    /// Statuses of the PDS searches received so far, oldest first.
    pub async fn search_statuses(&self) -> Vec<u16> {
        let url = format!("{}/_emulator/requests?path=/personal-demographics", self.emulator.base_url);
        let body: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        let requests = body["requests"].as_array().cloned().unwrap_or_default();
        requests
            .iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/Patient")))
            .map(|r| r["status"].as_u64().unwrap() as u16)
            .collect()
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) {
        let mut request = self.http.request(method, format!("{}/_emulator/{path}", self.emulator.base_url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let status = request.send().await.unwrap().status();
        assert!(status.is_success(), "emulator control {path}: {status}");
    }

    pub async fn clear_log(&self) {
        self.control(reqwest::Method::DELETE, "requests", None).await;
    }
}

/// A harness whose pipeline searches PDS on `pds`.
pub async fn with_pds<F, Fut>(make: &F, today: NaiveDate, pds: &Pds) -> Harness
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    let mut harness = make(today).await;
    harness.use_pds(pds.settings());
    harness
}

fn update(row: u64, uploaded: &str, pds: &str) -> NhsNumberUpdate {
    NhsNumberUpdate { row, uploaded: uploaded.into(), pds: pds.into() }
}

/// §2.1 B: one request per row at the first step; Jennifer's number is replaced and listed as updated.
pub async fn valid_file_takes_numbers_from_pds(h: &Harness, pds: &Pds) {
    let import = h.import_fixture("R1L", "cohort_import/valid.csv").await;
    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    assert_eq!(pds.search_statuses().await, [200, 200, 200]);
    let numbers =
        [("Jennifer", "Clarke", "9999075320"), ("Jimmy", "Smith", "9990000026"), ("Mark", "Doe", "9435764479")];
    for (given, family, number) in numbers {
        let patient = h.patient_named(&import, given, family).await;
        assert_eq!(patient.attributes.nhs_number.as_deref(), Some(number), "{given}");
    }
    assert_eq!(import.nhs_numbers_updated, [update(2, "9990000018", "9999075320")]);
    assert_eq!(import.progress.map(|p| (p.phase, p.done, p.total)), Some((ImportPhase::Pds, 3, 3)));
    assert_eq!(pds.get_statuses().await, [200, 200, 200], "after the commit, one GET refresh per patient");
    for changeset in changesets_of(h, &import).await {
        let steps: Vec<_> = changeset.pds_search.iter().map(|r| (r.step, r.result)).collect();
        assert_eq!(steps, [(SearchStep::NoFuzzyWithHistory, StepResult::OneMatch)]);
        assert_eq!(changeset.pds_nhs_number, changeset.child.nhs_number);
    }
}

/// §2.1 D: with the twins overlay PDS gives Mark 9449306168, so the existing John Doe (3 of 4 fields) is not him.
pub async fn twins_are_kept_apart_by_pds(h: &Harness, pds: &Pds) {
    let overlay: Value = serde_json::from_str(include_str!("../../emulators/pds/data/overlay-twins.json")).unwrap();
    pds.control(reqwest::Method::POST, "patients", Some(overlay)).await;
    let john = john_doe();
    h.existing_patient(&john).await;
    let import = h.import_fixture("R1L", "cohort_import/valid.csv").await;
    pds.control(reqwest::Method::DELETE, "patients", None).await;
    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    assert_eq!(import.counts.map(|c| c.new), Some(3));
    let mark = h.patient_named(&import, "Mark", "Doe").await;
    assert_eq!(mark.attributes.nhs_number.as_deref(), Some("9449306168"));
    assert_ne!(mark.id, john.id);
    assert!(mark.pending_changes.is_empty());
    assert_eq!(h.patient(john.id).await.attributes, john.attributes, "John Doe is unchanged");
    let jennifer = h.patient_named(&import, "Jennifer", "Clarke").await;
    assert_eq!(jennifer.attributes.nhs_number.as_deref(), Some("9999075320"));
}

fn john_doe() -> Patient {
    let now = crate::support::long_ago();
    Patient {
        team_ids: vec!["r1l".into()],
        ..Patient::new(
            Uuid::new_v4(),
            ChildAttributes {
                given_name: Some("John".into()),
                family_name: Some("Doe".into()),
                nhs_number: Some("9000000009".into()),
                date_of_birth: NaiveDate::from_ymd_opt(2010, 1, 3),
                birth_academic_year: Some(AcademicYear(2009)),
                address_line_1: Some("11 Downing Street".into()),
                address_town: Some("London".into()),
                address_postcode: Some("SW1A 1AA".into()),
                ..ChildAttributes::default()
            },
            SchoolPlacement::School { urn: "123456".into() },
            now,
        )
    }
}

/// §2.10 B: one request for the changed file; the match is on the NHS number PDS found, and the update is listed.
pub async fn changed_file_matches_on_the_pds_number(h: &Harness, pds: &Pds) {
    let first = h.import_fixture("R1L", "cohort_import/valid.csv").await;
    let jennifer = h.patient_named(&first, "Jennifer", "Clarke").await;
    pds.clear_log().await;
    let import = h.import_fixture("R1L", "cohort_import/valid_with_changes.csv").await;
    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    assert_eq!(pds.search_statuses().await, [200]);
    assert_eq!(import.counts.map(|c| c.changed), Some(1));
    assert_eq!(import.nhs_numbers_updated, [update(2, "9990000018", "9999075320")]);
    let changeset = &changesets_of(h, &import).await[0];
    assert_eq!(changeset.patient_id, Some(jennifer.id));
    assert!(changeset.matched_on_nhs_number);
}

/// §2.11: four requests without a match, stored as four `no_matches` steps; no PDS number.
pub async fn unmatched_row_walks_four_steps(h: &Harness, pds: &Pds) {
    let import = h.import_fixture("R1L", "cohort_import/duplicate_except_postcode.csv").await;
    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    assert_eq!(pds.search_statuses().await, [200, 200, 200, 200]);
    let changeset = &changesets_of(h, &import).await[0];
    let steps: Vec<_> = changeset.pds_search.iter().map(|r| (r.step, r.result)).collect();
    assert_eq!(
        steps,
        [
            (SearchStep::NoFuzzyWithHistory, StepResult::NoMatches),
            (SearchStep::NoFuzzyWithWildcardPostcode, StepResult::NoMatches),
            (SearchStep::NoFuzzyWithWildcardGivenName, StepResult::NoMatches),
            (SearchStep::NoFuzzyWithWildcardFamilyName, StepResult::NoMatches),
        ]
    );
    assert_eq!(changeset.pds_nhs_number, None);
    assert!(import.nhs_numbers_updated.is_empty());
}

const HEADER: &str =
    "CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_POSTCODE,CHILD_SCHOOL_URN,CHILD_NHS_NUMBER\n";

/// Rows PDS matches (emulator data): Jennifer, Jimmy, Mark.
const MATCHED: [&str; 3] = [
    "Jennifer,Clarke,2010-01-01,SW1A 1AA,123456,",
    "Jimmy,Smith,2010-01-02,SW1A 1AA,123456,",
    "Mark,Doe,2010-01-03,SW1A 1AA,123456,",
];

/// `n` rows nobody in PDS has (each walks all four steps).
fn unmatched(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("Quentin,Zzyzx{},2010-02-{:02},LS1 1AA,123456,", letters(i), i % 28 + 1)).collect()
}

/// Distinct letter-only suffixes, since names may not hold digits.
fn letters(i: usize) -> String {
    let a = (b'a' + (i / 26) as u8) as char;
    let b = (b'a' + (i % 26) as u8) as char;
    format!("{a}{b}")
}

fn csv(rows: &[String]) -> Vec<u8> {
    let mut body = HEADER.to_owned();
    for row in rows {
        body.push_str(row);
        body.push('\n');
    }
    body.into_bytes()
}

/// §7.4: two rows PDS resolves to the same child fail the import, naming each other and the number.
pub async fn rows_sharing_a_pds_number_fail(h: &Harness) {
    let rows = [
        "Jennifer,Clarke,2010-01-01,SW1A 1AA,123456,9990000018".to_owned(),
        "Jennifer,Clarke,2010-01-01,SW1A 1AB,123456,".to_owned(),
    ];
    let import = drop_csv(h, "R1L", &rows).await;
    assert_eq!(import.status, ImportStatus::ChangesetsAreInvalid);
    assert_eq!(import.status.tag(), "Failed");
    let message =
        |other| format!("The details on this row match row {other}. Mavis has found the NHS number 9999075320.");
    assert_eq!(
        import.errors,
        [
            RowError { row: 2, column: None, message: message(3) },
            RowError { row: 3, column: None, message: message(2) }
        ]
    );
    assert!(h.patients_of(&import).await.is_empty(), "nothing written");
}

/// §11.2: 3 of 10 rows matched (30%) for a team that rejects low match rates: Failed, nothing written.
pub async fn low_match_rate_is_rejected(h: &mut Harness) {
    let mut reference = (*h.pipeline.reference).clone();
    reference.teams.iter_mut().filter(|t| t.id == "r1l").for_each(|t| t.reject_low_pds_match_rate = true);
    h.pipeline.reference = Arc::new(reference);
    let mut rows: Vec<String> = MATCHED.iter().map(|r| (*r).to_owned()).collect();
    rows.extend(unmatched(7));
    let import = drop_csv(h, "R1L", &rows).await;
    assert_eq!(import.status, ImportStatus::LowPdsMatchRate);
    assert_eq!(import.status.tag(), "Failed");
    assert!(h.patients_of(&import).await.is_empty(), "nothing written");
}

/// 429 and 500 on 5% of requests each: the import still completes, every step is sent until it succeeds exactly
/// once, and every row becomes a patient.
pub async fn faults_lose_no_rows(h: &Harness, pds: &Pds) {
    pds.control(reqwest::Method::POST, "faults", Some(json!({"rate_429": 0.05, "rate_500": 0.05, "seed": 7}))).await;
    let mut rows: Vec<String> = MATCHED.iter().map(|r| (*r).to_owned()).collect();
    rows.extend(unmatched(17));
    let event = h.put(&format!("drops/R1L/{}-faults.csv", Uuid::new_v4().simple()), csv(&rows)).await;
    // The import function only stages and sends pages: PDS trouble cannot make it fail or hold the object's claim.
    let import_id = match h.pipeline.handle_object_created(&event).await.expect("import function") {
        Handled::Processed { import_id, status } => {
            assert_eq!(status, ImportStatus::PendingImport, "'Processing' until the pds function commits");
            import_id
        }
        other => panic!("not processed: {other:?}"),
    };
    assert!(matches!(h.pipeline.handle_object_created(&event).await, Ok(Handled::AlreadyDone { .. })));
    let deliveries = h.run_pds_queue().await;
    assert!(deliveries >= 2, "pages and the commit went through the pds queue: {deliveries}");
    pds.control(reqwest::Method::DELETE, "faults", None).await;
    let import = h.import(import_id).await;
    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    assert_eq!(import.progress.map(|p| (p.phase, p.done, p.total)), Some((ImportPhase::Pds, 20, 20)));
    let changesets = changesets_of(h, &import).await;
    let steps: usize = changesets.iter().map(|c| c.pds_search.len()).sum();
    assert_eq!(steps, 3 + 17 * 4);
    let statuses = pds.search_statuses().await;
    assert!(statuses.contains(&429) && statuses.contains(&500), "faults were met: {statuses:?}");
    let succeeded = statuses.into_iter().filter(|&s| s == 200).count();
    assert_eq!(succeeded, steps, "each step answered exactly once");
    assert_eq!(h.patients_of(&import).await.len(), 20);
}

async fn drop_csv(h: &Harness, ods: &str, rows: &[String]) -> Import {
    match h.drop_file(ods, &format!("{}.csv", Uuid::new_v4().simple()), csv(rows)).await.expect("pipeline") {
        Handled::Processed { import_id, .. } => h.import(import_id).await,
        other => panic!("not processed: {other:?}"),
    }
}

async fn changesets_of(h: &Harness, import: &Import) -> Vec<changesets::Changeset> {
    let (page, _) = changesets::page(h.records(), import.id, 1000, None).await.expect("changesets");
    page.into_iter().map(|c| c.value).collect()
}

/// Two pds functions consuming the same queue at once (as concurrent Lambda invocations do): 250 rows in 3 pages,
/// each step searched once, every row applied once, and the import committed with the right counts.
pub async fn concurrent_workers_commit_once(h: &Harness, pds: &Pds) {
    let mut rows: Vec<String> = MATCHED.iter().map(|r| (*r).to_owned()).collect();
    rows.extend(unmatched(247));
    let event = h.put(&format!("drops/R1L/{}-concurrent.csv", Uuid::new_v4().simple()), csv(&rows)).await;
    let Ok(Handled::Processed { import_id, .. }) = h.pipeline.handle_object_created(&event).await else {
        panic!("the import function failed")
    };
    let tally = shared::pipeline::pds_queue::tally(h.records(), import_id).await.expect("read").expect("tally");
    assert_eq!((tally.total_pages, tally.total_rows), (3, 250));
    let settings = shared::pipeline::pds_queue::consumer_settings().immediate_retries();
    let consume = || {
        let (queue, handler) = (h.pds_queue.clone(), Arc::new(PdsMessages(h.pipeline.clone())));
        shared::consumer::polling::run_until_idle(handler, queue, settings)
    };
    let (first, second) = tokio::join!(consume(), consume());
    assert!(first.expect("first worker") + second.expect("second worker") >= 4, "3 pages and a commit");
    h.run_pds_queue().await;

    let import = h.import(import_id).await;
    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    assert_eq!(import.counts.map(|c| c.new), Some(250));
    assert_eq!(import.progress.map(|p| (p.phase, p.done, p.total)), Some((ImportPhase::Pds, 250, 250)));
    let steps: usize = changesets_of(h, &import).await.iter().map(|c| c.pds_search.len()).sum();
    assert_eq!(steps, 3 + 247 * 4);
    assert_eq!(pds.search_statuses().await.len(), steps, "no step searched twice");
    assert_eq!(h.patients_of(&import).await.len(), 250);
    let tally = shared::pipeline::pds_queue::tally(h.records(), import_id).await.expect("read").expect("tally");
    assert!(tally.is_complete());
    assert!(h.pds_queue.dead_letters(10).await.expect("dead letters").is_empty());
}

/// A child as an earlier import left it, in team r1l.
pub fn child(given: &str, family: &str, date_of_birth: NaiveDate, nhs_number: &str) -> Patient {
    let mut patient = john_doe();
    patient.id = Uuid::new_v4();
    patient.attributes.given_name = Some(given.into());
    patient.attributes.family_name = Some(family.into());
    patient.attributes.date_of_birth = Some(date_of_birth);
    patient.attributes.nhs_number = Some(nhs_number.into());
    patient
}

/// §11.3 "then search for it", through the pds worker: a refresh that finds the number invalidated, or unknown to
/// PDS, searches with the child's details; the unique find is adopted (the invalidated flag and its notice go), and
/// merged into the patient already holding it when there is one.
pub async fn refresh_searches_again_when_the_number_is_refused(h: &Harness, pds: &Pds) {
    let date = |d| NaiveDate::from_ymd_opt(2010, 1, d).expect("date");
    let jennifer = child("Jennifer", "Clarke", date(1), INVALIDATED);
    let jimmy = child("Jimmy", "Smith", date(2), UNKNOWN);
    let mark_elsewhere = child("Mark", "Doe", date(3), "9435764479");
    let mark = child("Mark", "Doe", date(3), UNKNOWN_TOO);
    for patient in [&jennifer, &jimmy, &mark_elsewhere, &mark] {
        h.existing_patient(patient).await;
    }
    let ids = vec![jennifer.id, jimmy.id, mark.id];
    let message = shared::pipeline::pds_queue::PdsMessage::RefreshPatients { patient_ids: ids };
    shared::pipeline::pds_queue::handle_message(&h.pipeline, &message.body()).await.expect("refreshed");

    let jennifer = h.patient(jennifer.id).await;
    assert_eq!(jennifer.attributes.nhs_number.as_deref(), Some("9999075320"), "found by the search");
    assert!(jennifer.invalidated_at.is_none());
    let jimmy = h.patient(jimmy.id).await;
    assert_eq!(jimmy.attributes.nhs_number.as_deref(), Some("9990000026"));
    let gone = shared::store::patients::get(h.records(), mark.id).await.expect("read");
    assert!(gone.is_none(), "merged into the patient who holds the number found");
    assert_eq!(h.patient(mark_elsewhere.id).await.attributes.nhs_number.as_deref(), Some("9435764479"));
    let notices = shared::store::notices::active_for_team(h.records(), "r1l").await.expect("notices");
    assert!(notices.is_empty(), "the invalidated notice dismissed itself: {notices:?}");
    assert_eq!(pds.get_statuses().await.len(), 6, "three refused GETs, then one GET of each number found");
}

/// Emulator patients whose GET answers are special (emulators/pds/data/patients.json).
pub const RESTRICTED: &str = "9000000025";
pub const DECEASED: &str = "9000000041";
pub const INVALIDATED: &str = "9990003343";
pub const SUPERSEDED: &str = "9452372230";
pub const SUPERSEDING: &str = "9467351307";
/// Valid numbers PDS has no record of.
pub const UNKNOWN: &str = "9000000106";
pub const UNKNOWN_TOO: &str = "9000000114";

/// §11.3 through the real pipeline: four children whose uploaded numbers PDS's search does not confirm (their names
/// match nobody) keep those numbers; the post-commit GET refresh then flags the restricted one (postcode hidden),
/// records the death and archives the deceased one, flags the invalidated one, and silently replaces the
/// superseded number. A super admin sees exactly the three notices; a nurse of the team is refused them.
pub async fn refresh_after_commit_flags_and_notifies(h: &Harness, pds: &Pds) {
    let rows = [
        format!("Rhea,Quorvex,2010-03-01,LS1 1AA,123456,{RESTRICTED}"),
        format!("Dora,Quorvex,2010-03-02,LS1 1AA,123456,{DECEASED}"),
        format!("Ivan,Quorvex,2010-03-03,LS1 1AA,123456,{INVALIDATED}"),
        format!("Sami,Quorvex,2010-03-04,LS1 1AA,123456,{SUPERSEDED}"),
    ];
    let import = drop_csv(h, "R1L", &rows).await;
    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    assert_eq!(import.counts.map(|c| c.new), Some(4));
    // Four cascade steps per row during the import, none found; four more for the invalidated child, searched for
    // again after its refresh (§11.3), finding nobody either.
    assert_eq!(pds.search_statuses().await.len(), 16 + 4);
    assert_eq!(pds.get_statuses().await.len(), 4, "one GET per patient");

    let restricted = h.patient_named(&import, "Rhea", "Quorvex").await;
    assert!(restricted.restricted_at.is_some());
    let deceased = h.patient_named(&import, "Dora", "Quorvex").await;
    assert!(deceased.date_of_death.is_some());
    assert!(deceased.archived_in.contains_key("r1l"), "archived in the team: {:?}", deceased.archived_in);
    let invalidated = h.patient_named(&import, "Ivan", "Quorvex").await;
    assert!(invalidated.invalidated_at.is_some());
    assert_eq!(invalidated.attributes.nhs_number.as_deref(), Some(INVALIDATED), "kept, shown struck through");
    let superseded = h.patient_named(&import, "Sami", "Quorvex").await;
    assert_eq!(superseded.attributes.nhs_number.as_deref(), Some(SUPERSEDING));
    assert!(superseded.restricted_at.is_none() && superseded.invalidated_at.is_none());

    let api = crate::api::Api::over(h);
    let (status, body) = api.get("/api/notices", "superuser@example.com").await;
    assert_eq!(status, 200, "{body}");
    let mut notices: Vec<(String, String)> = body["notices"]
        .as_array()
        .expect("notices")
        .iter()
        .map(|n| (n["type"].as_str().unwrap().to_owned(), n["patient_id"].as_str().unwrap().to_owned()))
        .collect();
    notices.sort();
    let expected = [("deceased", deceased.id), ("invalidated", invalidated.id), ("restricted", restricted.id)];
    let expected: Vec<(String, String)> = expected.iter().map(|(k, id)| ((*k).to_owned(), id.to_string())).collect();
    assert_eq!(notices, expected);
    let (status, _) = api.get("/api/notices", "nurse@example.com").await;
    assert_eq!(status, 403);

    let (status, body) = api.get(&format!("/api/imports/{}/patients", import.id), "nurse@example.com").await;
    assert_eq!(status, 200, "{body}");
    let listed = body["patients"].as_array().expect("patients");
    let view = |id: Uuid| listed.iter().find(|p| p["id"] == id.to_string()).cloned().expect("listed");
    let flags = |v: &Value| (v["restricted"].as_bool(), v["deceased"].as_bool(), v["invalidated"].as_bool());
    assert_eq!(flags(&view(restricted.id)), (Some(true), Some(false), Some(false)));
    assert_eq!(view(restricted.id)["postcode"], Value::Null, "hidden for a sensitive patient");
    assert_eq!(flags(&view(deceased.id)), (Some(false), Some(true), Some(false)));
    assert_eq!(flags(&view(invalidated.id)), (Some(false), Some(false), Some(true)));
    assert_eq!(flags(&view(superseded.id)), (Some(false), Some(false), Some(false)));
    assert_eq!(view(superseded.id)["nhs_number"], SUPERSEDING);
}

/// §11.4: straight after a vaccination-records import commits, every patient it names with an NHS number gets a
/// GET refresh on the pds queue (vaccination imports run no search of their own). The emulator knows none of these
/// numbers, so §11.3 "not found" applies: each number is cleared and the child searched for, finding nobody.
pub async fn vaccination_import_refreshes_its_patients(h: &mut Harness, pds: &Pds) {
    crate::vaccination_scenarios::with_programmes(h, "r1l", &[shared::domain::Programme::Hpv]);
    let import = h.import_fixture("R1L", "immunisation_import/point_of_care/valid_hpv.csv").await;
    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.errors);
    let expected = [
        "1108533868",
        "2675725722",
        "3314278071",
        "4146825652",
        "7420180008",
        "8160442742",
        "9999148581",
        "9999525156",
        "9999525164",
    ];
    assert_eq!(pds.get_numbers().await, expected, "one GET for each number in the file");
    let patients = h.patients_of(&import).await;
    assert_eq!(patients.len(), 10);
    assert!(patients.iter().all(|p| p.attributes.nhs_number.is_none()), "numbers PDS does not know are cleared");
}

/// Issue #4 robustness: a vaccination import whose worker dies between its commit and sending the GET refreshes (the
/// first send is refused) is redelivered; the redelivery finds the import committed and sends the refreshes, so every
/// number still gets its GET.
pub async fn vaccination_refresh_survives_a_crash_after_commit(h: &mut Harness, pds: &Pds) {
    crate::vaccination_scenarios::with_programmes(h, "r1l", &[shared::domain::Programme::Hpv]);
    let refusing: Arc<dyn shared::ports::Queue> =
        Arc::new(crate::refusing_queue::RefusingQueue::new(h.pds_queue.clone(), 1));
    h.pipeline.settings.pds = h.pipeline.settings.pds.take().map(|settings| settings.with_queue(refusing));
    // The dead worker's claim lapses at once, so the redelivery may take it over.
    h.pipeline.settings.claim_lease = chrono::Duration::zero();
    let fixture = "immunisation_import/point_of_care/valid_hpv.csv";
    let request = UploadRequest {
        team_id: "r1l",
        uploaded_by: "nurse@example.com",
        kind: ImportKind::VaccinationRecords,
        school_urn: None,
        year_groups: &[],
    };
    let id = Uuid::new_v4();
    let crashed = h.upload_as(id, request, "valid_hpv.csv", crate::fixture(fixture)).await;
    assert!(crashed.is_err(), "the send after the commit fails: {crashed:?}");
    assert_eq!(h.import(id).await.status, ImportStatus::Processed, "the commit happened before the crash");
    h.run_pds_queue().await;
    assert!(pds.get_numbers().await.is_empty(), "no refresh reached the queue");

    let key = format!("uploads/r1l/{id}/valid_hpv.csv");
    let redelivered = h.put(&key, crate::fixture(fixture)).await;
    let handled = h.pipeline.handle_object_created(&redelivered).await.expect("redelivery");
    assert_eq!(handled, Handled::Processed { import_id: id, status: ImportStatus::Processed });
    h.run_pds_queue().await;
    assert_eq!(pds.get_numbers().await.len(), 9, "one GET for each number in the file, after the redelivery");
    let import = h.import(id).await;
    assert!(h.patients_of(&import).await.iter().all(|p| p.attributes.nhs_number.is_none()), "the GETs applied");
}

/// Every scenario, each on a fresh harness and a fresh emulator.
pub async fn all<F, Fut>(make: F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    without_faults(&make, Pds::start).await;
    let pds = Pds::start().await;
    faults_lose_no_rows(&with_pds(&make, clock_2023(), &pds).await, &pds).await;
    queue_faults_lose_no_rows(&make).await;
    let pds = Pds::start().await;
    outlasted_retries_end_the_import_failed(&with_pds(&make, clock_2023(), &pds).await, &pds).await;
}

/// PDS fails every search: the pages are retried as often as the queue's redrive policy allows, then the import
/// ends "Failed" with a reason the user can read (not "Processing" for ever), and the pages are in the dead letters
/// for an operator, whose redrive completes the import.
pub async fn outlasted_retries_end_the_import_failed(h: &Harness, pds: &Pds) {
    pds.control(reqwest::Method::POST, "faults", Some(json!({"rate_500": 1.0}))).await;
    let rows: Vec<String> = MATCHED.iter().map(|r| (*r).to_owned()).collect();
    let event = h.put(&format!("drops/R1L/{}-pds-down.csv", Uuid::new_v4().simple()), csv(&rows)).await;
    let Ok(Handled::Processed { import_id, .. }) = h.pipeline.handle_object_created(&event).await else {
        panic!("the import function failed")
    };
    let settings = shared::pipeline::pds_queue::consumer_settings()
        .with_max_receives(Some(crate::harness::MAX_RECEIVES))
        .immediate_retries();
    let handler = Arc::new(PdsMessages(h.pipeline.clone()));

    let deliveries =
        shared::consumer::polling::run_until_idle(handler, h.pds_queue.clone(), settings).await.expect("pds queue");

    pds.control(reqwest::Method::DELETE, "faults", None).await;
    assert_eq!(deliveries, crate::harness::MAX_RECEIVES as usize, "one page, delivered until its retries ran out");
    let import = h.import(import_id).await;
    assert_eq!(import.status, ImportStatus::Failed);
    assert_eq!(import.status.tag(), "Failed");
    let reason = "The import stopped because a service it needs was unavailable for too long. Upload the file again \
                  later.";
    assert_eq!(import.failure_reason.as_deref(), Some(reason));
    let dead: Vec<PdsMessage> = h
        .pds_queue
        .dead_letters(10)
        .await
        .expect("dead letters")
        .iter()
        .map(|b| serde_json::from_str(b).expect("a pds message"))
        .collect();
    assert!(matches!(dead.as_slice(), [PdsMessage::SearchPage { import_id: id, .. }] if *id == import_id), "{dead:?}");
    let api = crate::api::Api::over(h);
    let (status, body) = api.get(&format!("/api/imports/{import_id}"), "nurse@example.com").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["status"].as_str(), body["status_tag"].as_str()), (Some("failed"), Some("Failed")));
    assert_eq!(body["failure_reason"], reason);

    // PDS is back and an operator redrives the dead letter: the page is searched, the commit resumes the import.
    let redriven = h.pds_queue.dead_letters(10).await.expect("dead letters");
    h.pds_queue.send_batch(redriven).await.expect("redrive");
    h.run_pds_queue().await;
    let import = h.import(import_id).await;
    assert_eq!(import.status, ImportStatus::Processed, "{:?}", import.failure_reason);
    assert_eq!((import.failure_reason, import.counts.map(|c| c.new)), (None, Some(3)));
}

/// Every scenario but the injected faults (their 5xx answers are not in the published specification), each on a
/// fresh PDS from `start`: the traffic the conformance test passes through Prism.
pub async fn without_faults<F, Fut, S, SFut>(make: &F, start: S)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
    S: Fn() -> SFut,
    SFut: Future<Output = Pds>,
{
    let pds = start().await;
    valid_file_takes_numbers_from_pds(&with_pds(make, clock_2023(), &pds).await, &pds).await;
    let pds = start().await;
    let twins_clock = NaiveDate::from_ymd_opt(2024, 12, 1).expect("date");
    twins_are_kept_apart_by_pds(&with_pds(make, twins_clock, &pds).await, &pds).await;
    let pds = start().await;
    changed_file_matches_on_the_pds_number(&with_pds(make, clock_2023(), &pds).await, &pds).await;
    let pds = start().await;
    unmatched_row_walks_four_steps(&with_pds(make, clock_2023(), &pds).await, &pds).await;
    let pds = start().await;
    rows_sharing_a_pds_number_fail(&with_pds(make, clock_2023(), &pds).await).await;
    low_match_rate_is_rejected(&mut with_pds(make, clock_2023(), &pds).await).await;
    let pds = start().await;
    concurrent_workers_commit_once(&with_pds(make, clock_2023(), &pds).await, &pds).await;
    let pds = start().await;
    refresh_after_commit_flags_and_notifies(&with_pds(make, clock_2023(), &pds).await, &pds).await;
    let pds = start().await;
    refresh_searches_again_when_the_number_is_refused(&with_pds(make, clock_2023(), &pds).await, &pds).await;
    let pds = start().await;
    let hpv_clock = NaiveDate::from_ymd_opt(2025, 5, 20).expect("date");
    vaccination_import_refreshes_its_patients(&mut with_pds(make, hpv_clock, &pds).await, &pds).await;
    let pds = start().await;
    vaccination_refresh_survives_a_crash_after_commit(&mut with_pds(make, hpv_clock, &pds).await, &pds).await;
}

/// What an import through the pds queue left: status, counts, the children (NHS number, names, date of birth), and
/// the search steps taken.
type QueueEndState =
    (ImportStatus, Option<shared::domain::ImportCounts>, Vec<(Option<String>, Option<String>, Option<String>)>, usize);

async fn queue_end_state(h: &Harness, import_id: Uuid) -> QueueEndState {
    let import = h.import(import_id).await;
    let mut children: Vec<_> = h
        .patients_of(&import)
        .await
        .into_iter()
        .map(|p| (p.attributes.nhs_number, p.attributes.given_name, p.attributes.family_name))
        .collect();
    children.sort();
    let steps = changesets_of(h, &import).await.iter().map(|c| c.pds_search.len()).sum();
    (import.status, import.counts, children, steps)
}

/// 5% of the pds queue's calls fail (seeded: sends refused, or sent and reported failed, so sent twice; receives
/// refused; acknowledgements and retries lost before or after they arrived, so messages come back): the import
/// still reaches the fault-free end state, every PDS step answered once, on three seeds.
pub async fn queue_faults_lose_no_rows<F, Fut>(make: &F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    let mut rows: Vec<String> = MATCHED.iter().map(|r| (*r).to_owned()).collect();
    rows.extend(unmatched(27));
    let baseline = {
        let pds = Pds::start().await;
        let h = with_pds(make, clock_2023(), &pds).await;
        let import = drop_csv(&h, "R1L", &rows).await;
        queue_end_state(&h, import.id).await
    };
    assert_eq!(baseline.0, ImportStatus::Processed);
    let mut injected = 0;
    for seed in 1..=3 {
        let pds = Pds::start().await;
        let mut h = make(clock_2023()).await;
        let faulty = Arc::new(crate::faulty_queue::FaultyQueue::new(h.pds_queue.clone(), seed, 5));
        h.pipeline.settings.pds = Some(pds.settings().with_queue(faulty.clone()));
        let event = h.put(&format!("drops/R1L/{}-queue-faults.csv", Uuid::new_v4().simple()), csv(&rows)).await;
        let import_id = loop {
            match h.pipeline.handle_object_created(&event).await {
                Ok(Handled::Processed { import_id, .. } | Handled::AlreadyDone { import_id }) => break import_id,
                Ok(other) => panic!("seed {seed}: {other:?}"),
                // A failed import function invocation is redelivered once its claim's lease has run out.
                Err(_) => h.wait(h.pipeline.settings.claim_lease + chrono::Duration::seconds(1)),
            }
        };
        // A message whose acknowledgement was lost comes back when its visibility (1 s here) runs out.
        let settings = shared::consumer::ConsumerSettings {
            hold: Duration::from_secs(1),
            ..shared::pipeline::pds_queue::consumer_settings().immediate_retries()
        };
        let mut quiet_rounds = 0;
        for round in 0.. {
            assert!(round < 300, "seed {seed}: the pds queue never went quiet");
            let handler = Arc::new(PdsMessages(h.pipeline.clone()));
            let handled =
                shared::consumer::polling::run_until_idle(handler, faulty.clone(), settings).await.unwrap_or(1);
            let settled = h.import(import_id).await.status != ImportStatus::PendingImport;
            quiet_rounds = if settled && handled == 0 { quiet_rounds + 1 } else { 0 };
            if quiet_rounds == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        injected += faulty.faults();
        assert_eq!(queue_end_state(&h, import_id).await, baseline, "seed {seed}: the fault-free end state");
        let searched = pds.search_statuses().await.into_iter().filter(|&s| s == 200).count();
        assert_eq!(searched, baseline.3, "seed {seed}: each PDS step answered once");
    }
    assert!(injected > 0, "queue faults were injected");
}

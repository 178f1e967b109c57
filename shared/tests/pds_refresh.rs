//! PDS GET refresh (spec §11.3) and the important notices it raises (§10), against the real PDS emulator over HTTP
//! (auth on) with the embedded record store: the client's real answers go straight into `apply_get_result`.

use std::sync::Arc;

use chrono::NaiveDate;
use pds_emulator::{Config, RunningEmulator, test_keys};
use serde_json::json;
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::domain::Patient;
use shared::domain::notice::{ImportantNotice, NoticeKind};
use shared::domain::patient::{ChildAttributes, PatientLocation, SchoolPlacement};
use shared::domain::{Parent, ParentRelationship, Relationship};
use shared::nhs_api::{ApiPlatformAuth, AuthConfig, PdsClient};
use shared::pds_refresh::notices::dismiss;
use shared::pds_refresh::{RefreshError, RefreshOutcome, SearchReason, apply_get_result};
use shared::ports::RecordStore;
use shared::store::{keys, notices, patients};
use uuid::Uuid;

const RESTRICTED: &str = "9000000025";
const DECEASED: &str = "9000000041";
const SUPERSEDED: &str = "9452372230";
const SUPERSEDING: &str = "9467351307";
const INVALIDATED: &str = "9990003343";
/// Valid modulus 11, not in the emulator's data.
const UNKNOWN: &str = "9000000106";
const TEAMS: [&str; 2] = ["r1l", "rxb"];

struct Harness {
    emulator: RunningEmulator,
    pds: PdsClient,
    http: reqwest::Client,
    store: Arc<dyn RecordStore>,
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
    let store: Arc<dyn RecordStore> = Arc::new(SqliteRecordStore::in_memory().expect("sqlite"));
    Harness { emulator, pds, http, store }
}

fn new_patient(nhs: &str, teams: &[&str]) -> Patient {
    let at = recorded_at() - chrono::Duration::days(30);
    Patient {
        team_ids: teams.iter().map(|t| t.to_string()).collect(),
        ..Patient::new(
            Uuid::new_v4(),
            ChildAttributes {
                given_name: Some("Test".into()),
                family_name: Some("Child".into()),
                date_of_birth: NaiveDate::from_ymd_opt(2010, 10, 22),
                nhs_number: Some(nhs.into()),
                ..Default::default()
            },
            SchoolPlacement::Unknown,
            at,
        )
    }
}

impl Harness {
    /// Saves a patient with its NHS-number reservation, as the import pipeline does.
    async fn create(&self, patient: &Patient) {
        let mut ops = vec![patients::put_patient_op(patient, None)];
        if let Some(nhs) = &patient.attributes.nhs_number {
            ops.push(patients::reserve_nhs_number_op(nhs, patient.id));
        }
        self.store.transact(ops).await.expect("patient saved");
    }

    async fn patient(&self, id: Uuid) -> Option<Patient> {
        patients::get(self.store.as_ref(), id).await.expect("read").map(|v| v.value)
    }

    /// GET from the emulator and apply the answer, as the refresh job does.
    async fn refresh(&self, patient: &Patient) -> Result<shared::pds_refresh::Refreshed, RefreshError> {
        let nhs = patient.attributes.nhs_number.clone().expect("has a number");
        let result = self.pds.get_patient(&nhs).await;
        apply_get_result(self.store.as_ref(), patient.id, &nhs, result, recorded_at()).await
    }

    async fn active(&self, team: &str) -> Vec<ImportantNotice> {
        notices::active_for_team(self.store.as_ref(), team).await.expect("notices")
    }
}

fn kinds(notices: &[ImportantNotice]) -> Vec<NoticeKind> {
    notices.iter().map(|n| n.kind).collect()
}

#[tokio::test]
async fn when_restricted_should_flag_and_notify_each_team_then_dismiss_when_lifted() {
    let h = start().await;
    let patient = new_patient(RESTRICTED, &TEAMS);
    h.create(&patient).await;

    let refreshed = h.refresh(&patient).await.expect("refreshed");
    assert_eq!(refreshed.outcome, RefreshOutcome::Updated { nhs_number_changed: false });
    let stored = h.patient(patient.id).await.expect("exists");
    let restricted_at = stored.restricted_at.expect("restricted_at set");
    assert!(stored.updated_from_pds_at.is_some());
    for team in TEAMS {
        let active = h.active(team).await;
        assert_eq!(kinds(&active), [NoticeKind::Restricted], "team {team}");
        assert_eq!(active[0].recorded_at, restricted_at);
        assert_eq!(active[0].message(), "Record flagged as sensitive");
    }

    // A second refresh keeps the original timestamp and creates nothing new.
    let again = h.refresh(&patient).await.expect("refreshed");
    assert!(again.notices.created.is_empty() && again.notices.dismissed.is_empty());
    assert_eq!(h.patient(patient.id).await.unwrap().restricted_at, Some(restricted_at));

    // PDS lifts the restriction: the flag is cleared and both teams' notices are dismissed automatically.
    let mut lifted = h.pds.get_patient(RESTRICTED).await.expect("found");
    lifted.restricted = false;
    let refreshed =
        apply_get_result(h.store.as_ref(), patient.id, RESTRICTED, Ok(lifted), recorded_at()).await.expect("applied");
    assert_eq!(refreshed.notices.dismissed.len(), 2);
    assert!(refreshed.notices.dismissed.iter().all(|n| n.dismissed_at.is_some() && n.dismissed_by.is_none()));
    assert_eq!(h.patient(patient.id).await.unwrap().restricted_at, None);
    for team in TEAMS {
        assert!(h.active(team).await.is_empty(), "team {team}");
    }
}

#[tokio::test]
async fn when_deceased_should_record_the_date_archive_in_every_team_and_notify() {
    let h = start().await;
    let patient = new_patient(DECEASED, &TEAMS);
    h.create(&patient).await;

    h.refresh(&patient).await.expect("refreshed");
    let stored = h.patient(patient.id).await.expect("exists");
    assert_eq!(stored.date_of_death, NaiveDate::from_ymd_opt(2010, 10, 22));
    for team in TEAMS {
        assert_eq!(stored.archived_in.get(team).map(String::as_str), Some("deceased"), "team {team}");
        let active = h.active(team).await;
        assert_eq!(kinds(&active), [NoticeKind::Deceased], "team {team}");
        assert_eq!(active[0].message(), "Record updated with child’s date of death");
    }
    // Refreshing again does not raise the notice twice, nor bring back one a user dismissed.
    let again = h.refresh(&patient).await.expect("refreshed");
    assert!(again.notices.created.is_empty());
    let notice = notices::of_patient(h.store.as_ref(), patient.id).await.unwrap();
    let r1l = notice.iter().find(|n| n.value.team_id == "r1l").expect("r1l notice");
    dismiss(h.store.as_ref(), r1l, recorded_at(), Some("superuser@example.com")).await.expect("dismissed");
    let again = h.refresh(&patient).await.expect("refreshed");
    assert!(again.notices.created.is_empty());
    assert!(h.active("r1l").await.is_empty());
    assert_eq!(h.active("rxb").await.len(), 1);
}

#[tokio::test]
async fn when_invalidated_should_flag_notify_and_ask_for_a_search_then_clear_on_a_good_answer() {
    let h = start().await;
    let patient = new_patient(INVALIDATED, &TEAMS);
    h.create(&patient).await;

    let refreshed = h.refresh(&patient).await.expect("applied");
    assert_eq!(refreshed.outcome, RefreshOutcome::SearchNeeded(SearchReason::Invalidated));
    let stored = h.patient(patient.id).await.expect("exists");
    assert!(stored.invalidated_at.is_some());
    assert_eq!(stored.attributes.nhs_number.as_deref(), Some(INVALIDATED), "kept, shown struck through");
    for team in TEAMS {
        let active = h.active(team).await;
        assert_eq!(kinds(&active), [NoticeKind::Invalidated]);
        assert_eq!(active[0].message(), "Record flagged as invalid");
    }

    // A later successful GET for the number clears the flag, which dismisses the notices.
    let mut good = h.pds.get_patient("9000000009").await.expect("found");
    good.nhs_number = INVALIDATED.into();
    apply_get_result(h.store.as_ref(), patient.id, INVALIDATED, Ok(good), recorded_at()).await.expect("applied");
    assert_eq!(h.patient(patient.id).await.unwrap().invalidated_at, None);
    assert!(h.active("r1l").await.is_empty());
}

#[tokio::test]
async fn when_not_found_should_clear_the_number_and_ask_for_a_search() {
    let h = start().await;
    let patient = new_patient(UNKNOWN, &TEAMS);
    h.create(&patient).await;

    let refreshed = h.refresh(&patient).await.expect("applied");
    assert_eq!(refreshed.outcome, RefreshOutcome::SearchNeeded(SearchReason::NotFound));
    assert_eq!(h.patient(patient.id).await.unwrap().attributes.nhs_number, None);
    assert!(h.store.get(&keys::nhs_number_reservation(UNKNOWN)).await.unwrap().is_none(), "reservation released");
    assert!(h.active("r1l").await.is_empty());
}

#[tokio::test]
async fn when_superseded_should_replace_the_number_silently() {
    let h = start().await;
    let patient = new_patient(SUPERSEDED, &TEAMS);
    h.create(&patient).await;

    let refreshed = h.refresh(&patient).await.expect("refreshed");
    assert_eq!(refreshed.outcome, RefreshOutcome::Updated { nhs_number_changed: true });
    assert_eq!(h.patient(patient.id).await.unwrap().attributes.nhs_number.as_deref(), Some(SUPERSEDING));
    assert!(refreshed.notices.created.is_empty());
    for team in TEAMS {
        assert!(h.active(team).await.is_empty(), "no notice for a superseded number");
    }
    let reservation = h.store.get(&keys::nhs_number_reservation(SUPERSEDING)).await.unwrap().expect("reserved");
    assert_eq!(reservation.body["patient_id"], json!(patient.id));
    assert!(h.store.get(&keys::nhs_number_reservation(SUPERSEDED)).await.unwrap().is_none());

    // The same answer again is about a number the patient no longer has.
    let stale =
        apply_get_result(h.store.as_ref(), patient.id, SUPERSEDED, h.pds.get_patient(SUPERSEDED).await, recorded_at());
    assert_eq!(stale.await.expect("applied").outcome, RefreshOutcome::Stale);
}

#[tokio::test]
async fn when_superseded_by_a_number_another_patient_holds_should_merge_into_that_patient() {
    let h = start().await;
    let kept = new_patient(SUPERSEDING, &["r1l"]);
    let merged = new_patient(SUPERSEDED, &["rxb"]);
    h.create(&kept).await;
    h.create(&merged).await;
    let parent = Parent {
        id: Uuid::new_v4(),
        full_name: Some("Parent".into()),
        email: None,
        phone: None,
        phone_receive_updates: false,
        created_by_import: None,
    };
    let relationship = ParentRelationship {
        parent_id: parent.id,
        patient_id: merged.id,
        relationship: Relationship::Mother,
        other_name: None,
    };
    let location = PatientLocation {
        patient_id: merged.id,
        location: "142001".into(),
        team_id: "rxb".into(),
        academic_year: 2025,
        begin_date: None,
        end_date: None,
    };
    h.store
        .batch_put(vec![
            patients::parent_item(&parent),
            patients::relationship_item(&relationship),
            patients::location_item(&location),
        ])
        .await
        .expect("saved");

    let refreshed = h.refresh(&merged).await.expect("refreshed");
    assert_eq!(refreshed.outcome, RefreshOutcome::MergedInto(kept.id));
    assert!(h.patient(merged.id).await.is_none(), "merged patient deleted");
    let marker = h.store.get(&keys::merged_patient(merged.id)).await.unwrap().expect("marker");
    assert_eq!(marker.body["merged_into"], json!(kept.id));

    let stored = h.patient(kept.id).await.expect("kept");
    assert_eq!(stored.attributes.nhs_number.as_deref(), Some(SUPERSEDING));
    assert_eq!(stored.team_ids, ["r1l", "rxb"]);
    assert!(stored.updated_from_pds_at.is_some());
    let parents = patients::parents_of(h.store.as_ref(), kept.id).await.unwrap();
    assert_eq!(parents.len(), 1);
    assert_eq!(parents[0].1.relationship, Relationship::Mother);
    assert!(patients::parents_of(h.store.as_ref(), merged.id).await.unwrap().is_empty());
    let locations = patients::locations_of(h.store.as_ref(), kept.id).await.unwrap();
    assert_eq!(locations.len(), 1);
    assert_eq!(locations[0].patient_id, kept.id);
    assert!(h.store.get(&keys::nhs_number_reservation(SUPERSEDED)).await.unwrap().is_none());
    assert!(h.active("r1l").await.is_empty() && h.active("rxb").await.is_empty(), "no notice for a merge");
}

#[tokio::test]
async fn when_pds_fails_transiently_should_change_nothing() {
    let h = start().await;
    let patient = new_patient(RESTRICTED, &TEAMS);
    h.create(&patient).await;
    let before = h.store.get(&keys::patient(patient.id)).await.unwrap().expect("stored");

    let url = format!("{}/_emulator/faults", h.emulator.base_url);
    assert_eq!(h.http.post(url).json(&json!({"rate_500": 1.0})).send().await.unwrap().status(), 200);
    let error = h.refresh(&patient).await.expect_err("PDS is failing");
    assert!(matches!(error, RefreshError::Pds(_)), "{error:?}");
    assert!(error.is_transient());

    let after = h.store.get(&keys::patient(patient.id)).await.unwrap().expect("stored");
    assert_eq!(after, before);
    assert!(h.active("r1l").await.is_empty());
}

#[tokio::test]
async fn concurrent_refreshes_should_apply_once() {
    let h = start().await;
    let patient = new_patient(SUPERSEDED, &TEAMS);
    h.create(&patient).await;
    let answer = h.pds.get_patient(SUPERSEDED).await.expect("found");
    let runs =
        (0..4).map(|_| apply_get_result(h.store.as_ref(), patient.id, SUPERSEDED, Ok(answer.clone()), recorded_at()));
    let outcomes: Vec<_> = futures::future::join_all(runs).await.into_iter().map(|r| r.expect("ok").outcome).collect();
    let changed = outcomes.iter().filter(|o| **o == RefreshOutcome::Updated { nhs_number_changed: true }).count();
    assert_eq!(changed, 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(o, RefreshOutcome::Updated { .. } | RefreshOutcome::Stale)));
}

/// When this file's records were written: a fixed instant, so that nothing here depends on when the tests run.
fn recorded_at() -> chrono::DateTime<chrono::Utc> {
    "2025-10-06T10:00:00Z".parse().expect("instant")
}

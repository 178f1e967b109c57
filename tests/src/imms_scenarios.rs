//! NHS Immunisations API sync and history pull (issue #6 "Done when"), through the real pieces: the record store and
//! queue adapters, the fhir worker, and the Imms emulator over HTTP with auth on. Written once, run on the embedded
//! adapters (tests/tests/imms_embedded.rs) and on DynamoDB Local + moto SQS (tests/tests/imms_emulators.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use imms_emulator::{Config, RunningEmulator, test_keys};
use serde_json::{Value, json};
use shared::clock::Clock;
use shared::consumer::polling;
use shared::domain::notice::NoticeKind;
use shared::domain::patient::{ChildAttributes, Gender, Patient, SchoolPlacement};
use shared::domain::reference::User;
use shared::domain::vaccination::{
    DeliveryMethod, DeliverySite, Performer, RecordSource, VaccinationDetails, VaccinationOutcome, VaccinationRecord,
};
use shared::domain::{Programme, ReferenceData};
use shared::imms_sync::invocation::{self, SyncMessages};
use shared::imms_sync::{ImmsSync, SyncSettings, SyncState, record_changed_op};
use shared::nhs_api::{ApiPlatformAuth, AuthConfig, ImmsClient};
use shared::ports::{Queue, RecordStore};
use shared::store::{imms, notices, patients, vaccinations};
use shared::web::patients_api::vaccination_view;
use uuid::Uuid;

/// The fixture's record id, NHS number and performer.
pub const FIXTURE_RECORD_ID: &str = "11112222-3333-4444-5555-666677778888";
const FIXTURE_NHS_NUMBER: &str = "9449310475";
const FLORENCE: &str = "florence@example.com";

/// The store and queue under test, the emulator, and the worker talking to it.
/// The sync's clock: a school day after every fixture's vaccination.
const NOW: &str = "2025-10-06T10:00:00Z";

pub struct Rig {
    pub records: Arc<dyn RecordStore>,
    pub queue: Arc<dyn Queue>,
    pub emulator: RunningEmulator,
    pub sync: ImmsSync,
    http: reqwest::Client,
    _prism: Option<crate::prism::Prism>,
}

/// A client of the Immunisations API at `imms_base_url`, signing in at the emulator's token endpoint.
fn client(emulator: &RunningEmulator, imms_base_url: &str, http: &reqwest::Client) -> ImmsClient {
    let auth = ApiPlatformAuth::signed(
        AuthConfig {
            token_url: emulator.token_url.clone(),
            api_key: test_keys::TEST_API_KEY.into(),
            private_key_pem: test_keys::TEST_PRIVATE_KEY_PEM.into(),
            kid: test_keys::TEST_KID.into(),
        },
        http.clone(),
    )
    .expect("key parses");
    ImmsClient::new(imms_base_url, auth, http.clone())
}

/// The demo seed plus the fixture's performer (Florence Nightingale).
fn reference() -> ReferenceData {
    let mut reference = shared::reference::demo();
    reference.users.push(User {
        email: FLORENCE.into(),
        team_id: "r1l".into(),
        given_name: "Florence".into(),
        family_name: "Nightingale".into(),
        super_admin: false,
    });
    reference
}

impl Rig {
    pub async fn start(records: Arc<dyn RecordStore>, queue: Arc<dyn Queue>, preload: Vec<Value>) -> Rig {
        let mut config = Config::builtin().expect("built-in config");
        config.records = preload;
        let emulator = imms_emulator::spawn(config).await.expect("emulator");
        let http = reqwest::Client::new();
        let client = client(&emulator, &emulator.imms_base_url, &http);
        let settings = SyncSettings {
            requests_per_second: 500,
            sweep_after: chrono::Duration::zero(),
            clock: Clock::fixed(NOW.parse().expect("instant")),
            ..SyncSettings::default()
        };
        let sync = ImmsSync { records: records.clone(), client, reference: Arc::new(reference()), settings };
        Rig { records, queue, emulator, sync, http, _prism: None }
    }

    /// The same rig with its Immunisations API traffic passing through Prism, checked against the published
    /// specification.
    pub async fn behind_prism(mut self, dir: &std::path::Path, log: &crate::prism::Log) -> Rig {
        let prism =
            crate::prism::Prism::proxy(dir, crate::prism::Spec::Immunisations, &self.emulator.base_url, log).await;
        let base_url = format!("{}{}", prism.base_url, shared::imms_sync::config::IMMS_PATH);
        self.sync.client = client(&self.emulator, &base_url, &self.http);
        self._prism = Some(prism);
        self
    }

    fn store(&self) -> &dyn RecordStore {
        self.records.as_ref()
    }

    /// "Now" by the sync's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.sync.settings.clock.now()
    }

    /// The sync's clock, for the other functions a scenario runs beside it.
    pub fn clock(&self) -> Clock {
        self.sync.settings.clock.clone()
    }

    /// Time passes (between a change and the sweep that finds its marker, say).
    pub fn wait(&self, by: chrono::Duration) {
        self.sync.settings.clock.advance(by);
    }

    /// Handles queued messages until the queue stays empty (retries included), as the fhir function would.
    pub async fn drain(&self) {
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut last_message = Instant::now();
        // Retried messages come back after at most 2 s here: quiet for longer than that means done.
        let settings =
            shared::consumer::ConsumerSettings { retry_cap: Duration::from_secs(2), ..invocation::consumer_settings() };
        while last_message.elapsed() < Duration::from_secs(4) {
            assert!(Instant::now() < deadline, "the queue never drained");
            let handler = std::sync::Arc::new(SyncMessages(self.sync.clone()));
            let handled = polling::run_until_idle(handler, self.queue.clone(), settings).await.expect("work");
            if handled > 0 {
                last_message = Instant::now();
            }
        }
    }

    /// What the sweep does on its schedule, a minute on: enqueue markers (all of them here) and due searches.
    pub async fn sweep(&self) -> usize {
        self.wait(chrono::Duration::minutes(1));
        self.sync.sweep(self.queue.as_ref(), self.now()).await.expect("sweep")
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}/_emulator/{path}", self.emulator.base_url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("control");
        assert!(response.status().is_success(), "emulator control {path}: {}", response.status());
        response.json().await.unwrap_or(Value::Null)
    }

    /// Every record the emulator holds (deleted ones too), as its listing shows them.
    pub async fn emulator_records(&self) -> Vec<Value> {
        self.control(reqwest::Method::GET, "records", None).await["records"].as_array().cloned().unwrap_or_default()
    }

    /// Immunization requests the emulator answered (not token requests), oldest first.
    pub async fn requests(&self) -> Vec<Value> {
        let body = self.control(reqwest::Method::GET, "requests?path=/immunisation-fhir-api", None).await;
        body["requests"].as_array().cloned().unwrap_or_default()
    }

    pub async fn set_faults(&self, faults: Value) {
        self.control(reqwest::Method::POST, "faults", Some(faults)).await;
    }

    pub async fn add_patient(&self, nhs_number: Option<&str>) -> Patient {
        let now = crate::support::long_ago();
        let patient = Patient {
            team_ids: vec!["r1l".into()],
            ..Patient::new(
                Uuid::new_v4(),
                ChildAttributes {
                    given_name: Some("Sarah".into()),
                    family_name: Some("Taylor".into()),
                    date_of_birth: NaiveDate::from_ymd_opt(2011, 9, 9),
                    gender: Some(Gender::NotKnown),
                    nhs_number: nhs_number.map(String::from),
                    address_postcode: Some("EC1A 1BB".into()),
                    ..ChildAttributes::default()
                },
                SchoolPlacement::Unknown,
                now,
            )
        };
        // No NHS-number reservation: the fault run gives many children the fixture's number.
        self.store().transact(vec![patients::put_patient_op(&patient, None)]).await.expect("patient");
        patient
    }

    /// Records a vaccination as the import and the API do: record, patient listing and sync marker in one
    /// transaction, then a message on the queue.
    pub async fn record(&self, record: &VaccinationRecord) {
        let mut ops = vaccinations::create_ops(record);
        ops.extend(record_changed_op(record, self.now()));
        self.store().transact(ops).await.expect("record");
        shared::imms_sync::enqueue_sync(Some(self.queue.as_ref()), record.id).await;
    }

    /// Changes a record the same way (PATCH, discard).
    pub async fn change(&self, id: Uuid, edit: impl FnOnce(&mut VaccinationRecord)) {
        let current = vaccinations::get(self.store(), id).await.expect("get").expect("record");
        let mut record = current.value.clone();
        edit(&mut record);
        record.updated_at = self.now();
        let mut ops = vec![vaccinations::update_op(&record, current.version)];
        ops.extend(record_changed_op(&record, self.now()));
        self.store().transact(ops).await.expect("change");
        shared::imms_sync::enqueue_sync(Some(self.queue.as_ref()), id).await;
    }

    /// The record's sync status as GET /api/patients/{id} shows it.
    pub async fn status(&self, id: Uuid) -> (SyncState, Option<&'static str>, Option<DateTime<Utc>>) {
        let record = vaccinations::get(self.store(), id).await.expect("get").expect("record").value;
        let patient = patients::get(self.store(), record.patient_id).await.expect("get").map(|p| p.value);
        let view = vaccination_view(self.store(), &record, patient.as_ref(), self.now()).await.expect("view");
        let sync = view.sync.expect("a service record has a sync status");
        (sync.status, sync.reason, sync.last_synced_at)
    }
}

/// The record behind immunisation_create.json, for `patient`.
pub fn fixture_record(patient: &Patient, id: Uuid) -> VaccinationRecord {
    let at: DateTime<Utc> = "2021-02-07T13:28:17.271Z".parse().expect("time");
    VaccinationRecord {
        id,
        patient_id: patient.id,
        team_id: "r1l".into(),
        details: VaccinationDetails {
            programme: Programme::Hpv,
            vaccine: Some("gardasil".into()),
            disease_types: vec!["human_papillomavirus".into()],
            outcome: VaccinationOutcome::Administered,
            performed_at: at,
            time_given: true,
            batch_number: Some("X8U375AL".into()),
            batch_expiry: NaiveDate::from_ymd_opt(2023, 3, 20),
            delivery_site: Some(DeliverySite::LeftArmUpperPosition),
            delivery_method: Some(DeliveryMethod::Intramuscular),
            dose_sequence: Some(1),
            full_dose: true,
            performer: Performer { user_email: Some(FLORENCE.into()), ..Performer::default() },
            supplier_email: None,
            performed_ods_code: Some("A9A5A".into()),
            notes: None,
            session_id: None,
            location: Some("r1l-community-clinic".into()),
            location_name: None,
            source: RecordSource::Service,
            notify_parents: Some(true),
            protocol: None,
            local_patient_id: None,
            local_patient_id_uri: None,
        },
        pending_changes: BTreeMap::new(),
        discarded_at: None,
        created_at: at,
        updated_at: at,
    }
}

/// A Mavis fixture from `shared/fixtures/mavis/fhir/`.
pub fn fhir_fixture(name: &str) -> Value {
    serde_json::from_slice(&crate::fixture(&format!("fhir/{name}"))).expect("fixture JSON")
}

/// Done when 1–3: the recorded vaccination reaches the emulator as the fixture body and shows Synced; an edit is a
/// PUT with the version the create returned; a discard is a DELETE.
pub async fn create_update_delete(rig: &Rig) {
    let patient = rig.add_patient(Some(FIXTURE_NHS_NUMBER)).await;
    let id: Uuid = FIXTURE_RECORD_ID.parse().expect("uuid");
    rig.record(&fixture_record(&patient, id)).await;
    assert_eq!(rig.status(id).await.0, SyncState::Pending);
    rig.drain().await;

    let posts: Vec<Value> = rig.requests().await.into_iter().filter(|r| r["method"] == "POST").collect();
    assert_eq!(posts.len(), 1, "one create: {posts:#?}");
    assert_eq!(posts[0]["status"], 201);
    assert_eq!(posts[0]["body"], fhir_fixture("immunisation_create.json"), "the POST body is the fixture's");
    let (state, _, last_synced) = rig.status(id).await;
    assert_eq!(state, SyncState::Synced);
    assert!(last_synced.is_some());
    let link = imms::get_link(rig.store(), id).await.expect("link").expect("linked").value;
    let api_id = link.api_id.clone().expect("api id");
    assert_eq!(link.version, Some(1));

    rig.change(id, |r| r.details.batch_number = Some("NEWBATCH".into())).await;
    assert_eq!(rig.status(id).await.0, SyncState::Pending);
    rig.drain().await;
    let puts: Vec<Value> = rig.requests().await.into_iter().filter(|r| r["method"] == "PUT").collect();
    assert_eq!(puts.len(), 1, "one update");
    assert_eq!((puts[0]["e_tag"].as_str(), puts[0]["status"].as_u64()), (Some("1"), Some(200)));
    assert!(puts[0]["path"].as_str().expect("path").ends_with(&api_id));
    let mut expected = fhir_fixture("immunisation_update.json");
    expected["id"] = json!(api_id);
    expected["lotNumber"] = json!("NEWBATCH");
    assert_eq!(puts[0]["body"], expected);
    assert_eq!(imms::get_link(rig.store(), id).await.unwrap().unwrap().value.version, Some(2), "read from E-Tag");
    assert_eq!(rig.status(id).await.0, SyncState::Synced);

    let at = rig.now();
    rig.change(id, |r| r.discarded_at = Some(at)).await;
    rig.drain().await;
    let deletes: Vec<Value> = rig.requests().await.into_iter().filter(|r| r["method"] == "DELETE").collect();
    assert_eq!(deletes.len(), 1, "one delete");
    assert_eq!(deletes[0]["status"], 204);
    let held = rig.emulator_records().await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["deleted"], true);
    assert_eq!(imms::get_link(rig.store(), id).await.unwrap().unwrap().value.api_id, None);
}

/// Done when 4: Gillick no-notify and no NHS number are not synced, with the user guide's texts; the latter syncs
/// once the number arrives (the hook the PDS code calls, then the sweep).
pub async fn not_synced_until_the_number_arrives(rig: &Rig) {
    let with_number = rig.add_patient(Some(FIXTURE_NHS_NUMBER)).await;
    let mut gillick = fixture_record(&with_number, Uuid::new_v4());
    gillick.details.notify_parents = Some(false);
    rig.record(&gillick).await;
    let without_number = rig.add_patient(None).await;
    let waiting = fixture_record(&without_number, Uuid::new_v4());
    rig.record(&waiting).await;
    rig.drain().await;

    assert!(rig.requests().await.is_empty(), "nothing sent");
    let (state, reason, _) = rig.status(gillick.id).await;
    assert_eq!(state, SyncState::NotSynced);
    assert!(reason.unwrap_or_default().contains("You must let the child's GP know they were vaccinated"));
    let raised = notices::of_patient(rig.store(), with_number.id).await.expect("notices");
    assert!(raised.iter().any(|n| n.value.kind == NoticeKind::GillickNoNotify && n.value.team_id == "r1l"));
    let (state, reason, _) = rig.status(waiting.id).await;
    assert_eq!(state, SyncState::NotSynced);
    assert_eq!(reason, Some("You must add an NHS number to the child's record before this record will sync"));

    // PDS supplies the number.
    let mut current = patients::get(rig.store(), without_number.id).await.unwrap().unwrap();
    current.value.attributes.nhs_number = Some("9449306168".into());
    rig.store().transact(vec![patients::put_patient_op(&current.value, Some(current.version))]).await.unwrap();
    shared::imms_sync::nhs_number_changed(rig.store(), without_number.id, rig.now()).await.expect("hook");
    assert_eq!(rig.status(waiting.id).await.0, SyncState::Pending);
    assert!(rig.sweep().await >= 1);
    rig.drain().await;
    assert_eq!(rig.status(waiting.id).await.0, SyncState::Synced);
    let held = rig.emulator_records().await;
    assert_eq!(held.len(), 1, "only the record that may sync");
    assert_eq!(held[0]["nhs_number"], "9449306168");
}

/// A GP record for `nhs_number` on `date` (the flu GP fixture, re-dated).
pub fn gp_record(nhs_number: &str, date: &str, id: &str) -> Value {
    let mut record = fhir_fixture("flu/fhir_record_gp.json");
    record["id"] = json!(id);
    record["identifier"][0]["value"] = json!(Uuid::new_v4().to_string().to_uppercase());
    record["patient"]["identifier"]["value"] = json!(nhs_number);
    record["occurrenceDateTime"] = json!(format!("{date}T00:00:00+00:00"));
    record
}

/// Done when 5: the history search adds the GP record but not a duplicate of a record this service sent, and only
/// vaccinations since 1 September 2025.
pub async fn history_adds_gp_records_but_not_ours(rig: &Rig) {
    let patient = rig.add_patient(Some(FIXTURE_NHS_NUMBER)).await;
    let mut ours = fixture_record(&patient, Uuid::new_v4());
    ours.details.performed_at = "2025-11-03T10:00:00Z".parse().unwrap();
    rig.record(&ours).await;
    rig.drain().await;
    assert_eq!(rig.status(ours.id).await.0, SyncState::Synced);

    let gp_id = "5a1b2c3d-0000-4000-8000-00000000aa01";
    let old_id = "5a1b2c3d-0000-4000-8000-00000000aa02";
    let preload = json!([
        gp_record(FIXTURE_NHS_NUMBER, "2025-10-10", gp_id),
        gp_record(FIXTURE_NHS_NUMBER, "2024-10-10", old_id)
    ]);
    rig.control(reqwest::Method::POST, "records", Some(preload)).await;

    // An import committed for this child: the search is due, and the sweep sends it.
    imms::request_search(rig.store(), patient.id).await.expect("request");
    assert!(rig.sweep().await >= 1);
    rig.drain().await;

    let history = vaccinations::of_patient(rig.store(), patient.id).await.expect("records");
    let from_api: Vec<&VaccinationRecord> =
        history.iter().filter(|r| r.details.source == RecordSource::NhsImmunisationsApi).collect();
    assert_eq!(from_api.len(), 1, "the GP's 2025 record only: {from_api:?}");
    assert_eq!(from_api[0].details.programme, Programme::Flu);
    assert_eq!(from_api[0].details.performed_on(), NaiveDate::from_ymd_opt(2025, 10, 10).unwrap());
    assert_eq!(history.iter().filter(|r| r.details.programme == Programme::Hpv).count(), 1, "ours, once");
    let searches: Vec<Value> = rig
        .requests()
        .await
        .into_iter()
        .filter(|r| r["method"] == "GET" && r["query"].as_array().is_some_and(|q| !q.is_empty()))
        .collect();
    let query: BTreeMap<String, String> = searches[0]["query"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(query["-immunization.target"], "3IN1,FLU,HPV,MENACWY,MMR,MMRV");
    assert_eq!(query["-date.from"], "2025-09-01");

    // Searching again changes nothing.
    imms::request_search(rig.store(), patient.id).await.expect("request");
    rig.sweep().await;
    rig.drain().await;
    assert_eq!(vaccinations::of_patient(rig.store(), patient.id).await.unwrap().len(), history.len());
}

/// Done when 6: with 5% 429 and 5% 5xx injected, every record ends up in the API exactly once and synced.
pub async fn faults_lose_nothing_and_create_nothing_twice(rig: &Rig, count: usize) {
    rig.set_faults(json!({"rate_429": 0.05, "rate_500": 0.03, "rate_503": 0.02})).await;
    let mut ids = Vec::new();
    for _ in 0..count {
        let patient = rig.add_patient(Some(FIXTURE_NHS_NUMBER)).await;
        let record = fixture_record(&patient, Uuid::new_v4());
        rig.record(&record).await;
        ids.push(record.id);
    }
    rig.drain().await;
    // Final failures (none expected) would wait for the sweep: run it as the schedule would, until all are synced.
    for _ in 0..5 {
        if rig.sweep().await == 0 {
            break;
        }
        rig.drain().await;
    }
    rig.control(reqwest::Method::DELETE, "faults", None).await;

    let held = rig.emulator_records().await;
    let identifiers: BTreeSet<String> =
        held.iter().map(|r| r["resource"]["identifier"][0]["value"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(held.len(), count, "one record per vaccination");
    assert_eq!(identifiers, ids.iter().map(Uuid::to_string).collect(), "each exactly once");
    for id in &ids {
        assert_eq!(rig.status(*id).await.0, SyncState::Synced, "{id}");
    }
    let faulted = rig.requests().await.iter().filter(|r| matches!(r["status"].as_u64(), Some(429 | 500 | 503))).count();
    eprintln!("{count} records synced through {faulted} injected faults");
}

/// A create whose answer was lost: the retry gets 422 duplicate and adopts the record; nothing is created twice.
pub async fn a_repeated_create_adopts_the_existing_record(rig: &Rig) {
    let patient = rig.add_patient(Some(FIXTURE_NHS_NUMBER)).await;
    let id: Uuid = FIXTURE_RECORD_ID.parse().expect("uuid");
    // The API already holds it (our first POST succeeded, its answer never arrived).
    let mut earlier = fhir_fixture("immunisation_create.json");
    earlier["id"] = json!("0f0f0f0f-0000-4000-8000-000000000001");
    rig.control(reqwest::Method::POST, "records", Some(json!([earlier]))).await;
    rig.record(&fixture_record(&patient, id)).await;
    rig.drain().await;
    let held = rig.emulator_records().await;
    assert_eq!(held.len(), 1, "not created twice");
    let link = imms::get_link(rig.store(), id).await.unwrap().unwrap().value;
    assert_eq!(link.api_id.as_deref(), Some("0f0f0f0f-0000-4000-8000-000000000001"));
    assert_eq!(rig.status(id).await.0, SyncState::Synced);
    let statuses: Vec<u64> = rig.requests().await.iter().filter_map(|r| r["status"].as_u64()).collect();
    assert_eq!(statuses, [422, 200, 200], "POST duplicate, lookup by identifier, PUT to bring it up to date");
}

/// Runs every scenario, each on a fresh store, queue and emulator from `rig`.
pub async fn all<F, Fut>(rig: F)
where
    F: Fn(Vec<Value>) -> Fut,
    Fut: Future<Output = Rig>,
{
    create_update_delete(&rig(vec![]).await).await;
    not_synced_until_the_number_arrives(&rig(vec![]).await).await;
    history_adds_gp_records_but_not_ours(&rig(vec![]).await).await;
    a_repeated_create_adopts_the_existing_record(&rig(vec![]).await).await;
}

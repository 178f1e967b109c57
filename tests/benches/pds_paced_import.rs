//! Benchmark: the PDS step's pacing and fault tolerance on a generated child-records import of 10,000 rows
//! (override with MAVIS_BENCH_ROWS).
//!
//! The real pipeline (SQLite record store, folder object store and embedded pds queue in a temporary folder: the
//! import function stages and sends pages of 100 rows, the pds function consumes them 10 at a time as the Lambda
//! event source would, then commits) searches the in-process PDS emulator over HTTP, **auth on** (signed-JWT token, as in tests/src/pds_scenarios.rs). The emulator holds one
//! Patient per generated row, so every row's first cascade step finds exactly one match: one successful request per
//! row. The post-commit GET refresh is off here (no GET client): the figures are the searches'. Faults: 2.5% 429, 2.5% 500, and a 50 requests/s token bucket; the pipeline's pacer is set to the same 50/s.
//!
//! `cargo bench -p integration-tests --bench pds_paced_import` writes `target/bench-reports/pds_paced_import.json`
//! and exits non-zero when a row is lost, a search is answered twice, or the achieved rate of the PDS phase (first
//! to last PDS request) is below 90% of the limit. The whole import's rate is reported too.
//!
//! Knobs for experiments (reported in the JSON): MAVIS_BENCH_PDS_CONCURRENCY (default 4, the production default),
//! MAVIS_BENCH_PDS_BACKOFF_MS (default 200) and MAVIS_BENCH_PDS_BACKOFF_CAP_MS (default 10,000).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use integration_tests::generated_children::{Child, csv, generate};
use integration_tests::harness::Harness;
use pds_emulator::{Config, Dataset, test_keys};
use serde_json::{Value, json};
use shared::domain::ImportStatus;
use shared::nhs_api::{ApiPlatformAuth, AuthConfig, PdsClient};
use shared::pds::cascade::StepResult;
use shared::pipeline::{Handled, PdsSettings};
use shared::store::{changesets, patients};

const LIMIT_PER_SECOND: u32 = 50;
const REQUIRED_RATIO: f64 = 0.9;
const SEED: u64 = 20_231_120;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let failed = runtime.block_on(run());
    if failed {
        std::process::exit(1);
    }
}

async fn run() -> bool {
    let rows = env_u64("MAVIS_BENCH_ROWS", 10_000) as usize;
    let concurrency = env_u64("MAVIS_BENCH_PDS_CONCURRENCY", 4) as usize;
    let backoff_ms = env_u64("MAVIS_BENCH_PDS_BACKOFF_MS", 200);
    let backoff_cap_ms = env_u64("MAVIS_BENCH_PDS_BACKOFF_CAP_MS", 10_000);
    let children = generate(rows);

    // The emulator: only the generated patients, auth on.
    let mut config = Config::builtin().expect("built-in config");
    config.dataset = Dataset::from_bundle(&bundle(&children), "generated").expect("generated bundle loads");
    config.auth_required = true;
    let emulator = pds_emulator::spawn(config).await.expect("emulator");
    let http = reqwest::Client::new();
    let faults = json!({"rate_429": 0.025, "rate_500": 0.025, "rate_limit_per_second": LIMIT_PER_SECOND, "seed": SEED});
    let status = http
        .post(format!("{}/_emulator/faults", emulator.base_url))
        .json(&faults)
        .send()
        .await
        .expect("set faults")
        .status();
    assert!(status.is_success(), "setting faults: {status}");

    // The pipeline, paced at the emulator's limit.
    let mut harness = Harness::embedded(NaiveDate::from_ymd_opt(2023, 5, 20).expect("date")).await;
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
    let client = PdsClient::new(&emulator.pds_base_url, auth, http.clone());
    harness.use_pds(PdsSettings {
        requests_per_second: LIMIT_PER_SECOND,
        concurrency,
        backoff_base: Duration::from_millis(backoff_ms),
        backoff_cap: Duration::from_millis(backoff_cap_ms),
        ..PdsSettings::new(Arc::new(client))
    });
    let max_attempts = harness.pipeline.settings.pds.as_ref().map(|p| p.max_attempts);

    // The emulator keeps the latest 10,000 requests only: collect the log as the import runs.
    let log = RequestLog::default();
    let poller = {
        let (log, http, base) = (log.clone(), http.clone(), emulator.base_url.clone());
        tokio::spawn(async move {
            loop {
                log.poll(&http, &base).await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        })
    };

    let event = harness.put(&format!("drops/R1L/bench-{rows}.csv"), csv(&children)).await;
    let started = Instant::now();
    // The real path: the import function stages the rows and sends pages to the pds queue; the pds function
    // (consumed here as the Lambda event source would, 10 messages at once) searches them and commits.
    let import_id = match harness.pipeline.handle_object_created(&event).await {
        Ok(Handled::Processed { import_id, .. }) => import_id,
        other => panic!("the import function failed: {other:?}"),
    };
    let deliveries = harness.run_pds_queue().await;
    let import_seconds = started.elapsed().as_secs_f64();
    poller.abort();
    log.poll(&http, &emulator.base_url).await;

    // What the store holds.
    let import = harness.import(import_id).await;
    let mut by_row: HashMap<u64, changesets::Changeset> = HashMap::new();
    let mut after = None;
    loop {
        let (page, next) = changesets::page(harness.records(), import_id, 1000, after).await.expect("changesets");
        by_row.extend(page.into_iter().map(|c| (c.value.row_number, c.value)));
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    let mut lost_rows = 0usize;
    for (i, child) in children.iter().enumerate() {
        let ok = by_row.get(&(i as u64 + 2)).is_some_and(|c| {
            c.pds_nhs_number.as_deref() == Some(child.nhs.as_str())
                && c.child.nhs_number.as_deref() == Some(child.nhs.as_str())
                && c.pds_search.len() == 1
                && c.pds_search[0].result == StepResult::OneMatch
        });
        if !ok {
            lost_rows += 1;
        }
    }
    let patient_ids = patients::of_import(harness.records(), import_id).await.expect("import patients");
    let mut patient_numbers = HashSet::new();
    for id in &patient_ids {
        let patient = harness.patient(*id).await;
        if let Some(number) = patient.attributes.nhs_number {
            patient_numbers.insert(number);
        }
    }
    let missing_patients = children.iter().filter(|c| !patient_numbers.contains(&c.nhs)).count();

    // What the emulator saw.
    let requests = log.searches();
    let requests_total = requests.len();
    let count = |status: u64| requests.iter().filter(|r| r.status == status).count();
    let (ok_200, responses_429, responses_500) = (count(200), count(429), count(500));
    let mut answered: HashMap<&str, usize> = HashMap::new();
    for r in requests.iter().filter(|r| r.status == 200) {
        *answered.entry(r.query.as_str()).or_default() += 1;
    }
    let duplicated_searches: usize = answered.values().map(|n| n - 1).sum();
    let first = requests.first().map(|r| r.time);
    let last = requests.last().map(|r| r.time);
    let pds_seconds = match (first, last) {
        (Some(a), Some(b)) => (b - a).num_microseconds().unwrap_or_default() as f64 / 1e6,
        _ => f64::NAN,
    };
    // N requests over the span from the first to the last start N - 1 intervals: rate = (N - 1) / span.
    let achieved = if rows > 1 { (rows - 1) as f64 / pds_seconds } else { f64::NAN };
    let ratio = achieved / f64::from(LIMIT_PER_SECOND);
    let requests_per_second = if requests_total > 1 { (requests_total - 1) as f64 / pds_seconds } else { f64::NAN };
    let import_rate = rows as f64 / import_seconds;

    let report = json!({
        "benchmark": "pds_paced_import",
        "rows": rows,
        "emulator_auth": "on",
        "seconds": round(pds_seconds),
        "achieved_rows_per_second": round(achieved),
        "limit_per_second": LIMIT_PER_SECOND,
        "ratio": round3(ratio),
        "required_ratio": REQUIRED_RATIO,
        "requests_total": requests_total,
        "requests_per_second": round(requests_per_second),
        "responses_200": ok_200,
        "responses_429": responses_429,
        "responses_500": responses_500,
        "lost_rows": lost_rows,
        "duplicated_searches": duplicated_searches,
        "patients_created": patient_ids.len(),
        "patients_missing": missing_patients,
        "import_status": format!("{:?}", import.status),
        "deliveries": deliveries,
        "whole_import": {
            "seconds": round(import_seconds),
            "rows_per_second": round(import_rate),
            "ratio": round3(import_rate / f64::from(LIMIT_PER_SECOND)),
        },
        "pipeline_pds_settings": {
            "requests_per_second": LIMIT_PER_SECOND,
            "concurrency": concurrency,
            "max_attempts": max_attempts,
            "backoff_base_ms": backoff_ms,
            "backoff_cap_ms": backoff_cap_ms,
        },
        "faults": faults,
    });
    let reports = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-reports");
    std::fs::create_dir_all(&reports).expect("report folder");
    std::fs::write(reports.join("pds_paced_import.json"), format!("{report:#}\n")).expect("write report");
    println!("{report:#}");

    let mut problems = Vec::new();
    if import.status != ImportStatus::Processed {
        problems.push(format!("import ended {:?}: {:?}", import.status, import.errors));
    }
    if lost_rows > 0 {
        problems.push(format!("{lost_rows} rows without exactly one PDS match equal to the generated number"));
    }
    if ok_200 != rows || duplicated_searches > 0 {
        problems.push(format!("{ok_200} successful searches for {rows} rows ({duplicated_searches} duplicated)"));
    }
    if patient_ids.len() != rows || missing_patients > 0 {
        problems.push(format!("{} patients created for {rows} rows, {missing_patients} missing", patient_ids.len()));
    }
    if ratio.is_nan() || ratio < REQUIRED_RATIO {
        problems.push(format!("achieved {achieved:.2} rows/s, {ratio:.3} of the {LIMIT_PER_SECOND}/s limit"));
    }
    for problem in &problems {
        eprintln!("FAILED: {problem}");
    }
    !problems.is_empty()
}

#[derive(Debug, Clone)]
struct Search {
    time: DateTime<Utc>,
    status: u64,
    query: String,
}

/// Log entries keyed by time and full content.
type Entries = BTreeMap<(DateTime<Utc>, String), Search>;

/// The emulator's request log, merged across polls (entries are deduplicated by their full content).
#[derive(Clone, Default)]
struct RequestLog {
    seen: Arc<Mutex<Entries>>,
}

impl RequestLog {
    async fn poll(&self, http: &reqwest::Client, base_url: &str) {
        let url = format!("{base_url}/_emulator/requests?path=/personal-demographics");
        let Ok(response) = http.get(url).send().await else { return };
        let Ok(body) = response.json::<Value>().await else { return };
        let mut seen = self.seen.lock().expect("log lock");
        for r in body["requests"].as_array().into_iter().flatten() {
            if !r["path"].as_str().is_some_and(|p| p.ends_with("/Patient")) {
                continue;
            }
            let Some(time) = r["time"].as_str().and_then(|t| t.parse::<DateTime<Utc>>().ok()) else { continue };
            let search = Search {
                time,
                status: r["status"].as_u64().unwrap_or_default(),
                query: r["query_string"].as_str().unwrap_or_default().to_owned(),
            };
            seen.entry((time, r.to_string())).or_insert(search);
        }
    }

    fn searches(&self) -> Vec<Search> {
        self.seen.lock().expect("log lock").values().cloned().collect()
    }
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// A FHIR Bundle with one Patient per child, shaped as the emulator's shipped data.
fn bundle(children: &[Child]) -> Value {
    let entries: Vec<Value> = children
        .iter()
        .map(|c| {
            json!({
                "fullUrl": format!("urn:nhs-number:{}", c.nhs),
                "resource": {
                    "resourceType": "Patient",
                    "id": c.nhs,
                    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": c.nhs}],
                    "meta": {"versionId": "1", "security": [{
                        "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                        "code": "U", "display": "unrestricted"}]},
                    "name": [{"use": "usual", "given": [c.given], "family": c.family}],
                    "gender": "unknown",
                    "birthDate": c.dob.format("%Y-%m-%d").to_string(),
                    "address": [{"use": "home", "line": ["1 High Street", "Leeds"], "postalCode": c.postcode}],
                }
            })
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "collection", "entry": entries})
}

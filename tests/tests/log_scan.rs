//! The log scan (hardening): the scenario suites run with every log line captured at the most verbose level the
//! service allows (`RUST_LOG=trace` through the service's own filter, `shared::telemetry::filter`), and no personal
//! value of the files they import may appear in any line: NHS numbers, names, dates of birth, postcodes, emails,
//! phone numbers, file names. The suites cover every import kind (with PDS), invalid and replaced files, review
//! decisions, and the Immunisations API sync and history pull. The emulators' own logs are left out: they stand for
//! the NHS services, which hold the data.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use integration_tests::harness::Harness;
use integration_tests::imms_scenarios::{self, Rig};
use integration_tests::{
    class_list_scenarios, object_version_scenarios, pds_scenarios, review_scenarios, scenarios, vaccination_scenarios,
};
use shared::adapters::embedded_queue::EmbeddedQueue;
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::csv_import::values::{parse_date, parse_nhs_number, parse_postcode};
use shared::ports::{Queue, RecordStore};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

async fn imms_rig(preload: Vec<serde_json::Value>) -> Rig {
    let records: Arc<dyn RecordStore> = Arc::new(SqliteRecordStore::in_memory().expect("sqlite"));
    let queue: Arc<dyn Queue> = Arc::new(EmbeddedQueue::in_memory(20).expect("queue"));
    Rig::start(records, queue, preload).await
}

/// The forms a cell of a person's details takes in the service (as written, and as stored), by its column; empty
/// for other columns (a school's or a vaccinator's name is not a child's) and for cells that are no such value (an
/// invalid fixture's "invalid" NHS number).
fn personal_forms(header: &str, value: &str) -> Vec<String> {
    let header = header.to_ascii_uppercase();
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if header.contains("SCHOOL") || header.contains("PROFESSIONAL") || value.chars().count() < 4 {
        return vec![];
    }
    let mut forms = vec![value.to_string()];
    if header.contains("NHS") {
        if digits < 8 {
            return vec![];
        }
        forms.extend(parse_nhs_number(value));
    } else if header.contains("DOB") || header.contains("BIRTH") {
        let Some(date) = parse_date(value) else { return vec![] };
        forms.push(date.to_string());
    } else if header.contains("POSTCODE") {
        let Some(postcode) = parse_postcode(value) else { return vec![] };
        forms.push(postcode);
    } else if header.contains("EMAIL") {
        if !value.contains('@') {
            return vec![];
        }
    } else if header.contains("PHONE") {
        if digits < 7 {
            return vec![];
        }
    } else if ["NAME", "FORENAME", "SURNAME"].iter().any(|word| header.contains(word)) {
        if !value.chars().any(char::is_uppercase) {
            return vec![];
        }
    } else {
        return vec![];
    }
    forms
}

/// Every personal value in the fixture files (as written, and in the form the service stores), and the files' names.
fn personal_values(fixtures: &Path) -> BTreeSet<String> {
    let mut values = BTreeSet::new();
    for folder in
        ["cohort_import", "class_import", "immunisation_import/point_of_care", "immunisation_import/national_reporting"]
    {
        let Ok(entries) = std::fs::read_dir(fixtures.join(folder)) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "csv") {
                continue;
            }
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                values.insert(name.to_string());
            }
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(&path).expect("fixture");
            let headers = reader.headers().map(|h| h.clone()).unwrap_or_default();
            for record in reader.records().flatten() {
                for (header, value) in headers.iter().zip(record.iter()) {
                    values.extend(personal_forms(header, value.trim()));
                }
            }
        }
    }
    values
}

/// `value` in `line` as a whole word (not inside a longer word or number).
fn contains_word(line: &str, value: &str) -> bool {
    line.match_indices(value).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + value.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_every_scenario_runs_at_the_most_verbose_level_should_log_no_personal_data() {
    let captured = Captured::default();
    let service_only = tracing_subscriber::filter::filter_fn(|metadata| {
        !metadata.target().starts_with("pds_emulator") && !metadata.target().starts_with("imms_emulator")
    });
    let layer = tracing_subscriber::fmt::layer().json().with_current_span(true).with_writer(captured.clone());
    let subscriber = tracing_subscriber::registry()
        .with(shared::telemetry::filter(Some("trace")))
        .with(layer.with_filter(service_only));
    // As `telemetry::init` does: `try_init` also routes the `log` crate's records (reqwest's, for one) here.
    subscriber.try_init().expect("the only subscriber in this test binary");

    // What the HTTP and SDK crates log at debug and trace (URLs with their query strings, request lines): dropped at
    // the source by the service's filter, whatever RUST_LOG says.
    tracing::debug!(target: "reqwest::connect", "GET https://pds.example/Patient?family=Clarke&birthdate=2010-01-01");
    tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "PUT /uploads/r1l/import/valid.csv");

    scenarios::all(Harness::embedded).await;
    class_list_scenarios::all(Harness::embedded).await;
    vaccination_scenarios::all(Harness::embedded).await;
    pds_scenarios::all(Harness::embedded).await;
    review_scenarios::all(Harness::embedded).await;
    object_version_scenarios::all(Harness::embedded).await;
    imms_scenarios::all(imms_rig).await;

    let logs = String::from_utf8_lossy(&captured.0.lock().expect("logs")).into_owned();
    let lines: Vec<&str> = logs.lines().collect();
    assert!(lines.len() > 1_000, "the scenarios ran and logged at trace: {} lines", lines.len());
    assert!(logs.contains("\"level\":\"DEBUG\"") || logs.contains("\"level\":\"TRACE\""), "verbose levels are on");

    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mavis");
    let values = personal_values(&fixtures);
    assert!(values.len() > 100, "personal values were found in the fixtures: {}", values.len());
    for known in ["9990000018", "Jennifer", "2010-01-01", "SW1A 1AA", "john@example.com", "07412345678", "valid.csv"] {
        assert!(values.contains(known), "the scan looks for {known}");
    }
    assert!(contains_word(r#"{"message":"row of Jennifer"}"#, "Jennifer") && !contains_word("Jenniferx", "Jennifer"));
    // One example line for each value found.
    let mut leaks = std::collections::BTreeMap::new();
    for line in &lines {
        for value in &values {
            if contains_word(line, value) {
                leaks.entry(value.clone()).or_insert_with(|| line.to_string());
            }
        }
    }
    let shown: Vec<String> = leaks.iter().map(|(value, line)| format!("{value:?} in {line}")).collect();
    assert!(leaks.is_empty(), "personal data in the logs ({} values):\n{}", leaks.len(), shown.join("\n"));
}

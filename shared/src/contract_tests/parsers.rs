//! Every parser of untrusted input, each as one check taking the raw input: the fuzz targets (`fuzz/`) and the
//! property tests (`shared/tests/parser_properties.rs`) drive the same checks. A check panics only on a broken
//! invariant; any input, however malformed, must give an answer (a row error, a refusal, `Err`), never a panic.

use std::io::Cursor;
use std::sync::OnceLock;

use chrono::NaiveDate;
use serde_json::Value;

use crate::csv_import::child_records::{ChildFormat, ChildRecordsContext};
use crate::csv_import::report::{Status, summarise_child_records, summarise_vaccination_records};
use crate::csv_import::vaccination_records::VaccinationContext;
use crate::csv_import::{Limits, values};
use crate::domain::{AcademicYear, ReferenceData};
use crate::pipeline::object_event::{decode_key, route};

/// The day the file checks validate on (fixed: a check never reads the clock).
const TODAY: (i32, u32, u32) = (2025, 8, 1);
/// Few enough rows that one input stays cheap, enough to reach the per-file checks.
const LIMITS: Limits = Limits { max_rows: 1_000 };

fn reference() -> &'static ReferenceData {
    static REFERENCE: OnceLock<ReferenceData> = OnceLock::new();
    REFERENCE.get_or_init(crate::reference::demo)
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(TODAY.0, TODAY.1, TODAY.2).expect("a date")
}

/// The answer to a file read from memory: always a summary (an in-memory read cannot fail), consistent with itself.
fn check_summary(summary: &crate::csv_import::report::ValidationSummary) {
    assert!(summary.rows <= LIMITS.max_rows + 1, "rows beyond the limit were read: {}", summary.rows);
    assert!(summary.rows_with_errors <= summary.rows, "more rows with errors than rows");
    match summary.status {
        Status::Valid => assert!(summary.file_error.is_none() && summary.errors.is_empty(), "a valid file with errors"),
        Status::Invalid => {
            assert!(summary.file_error.is_some() || !summary.errors.is_empty(), "an invalid file must say why")
        }
    }
}

/// A child-records file (and the same bytes as a class list) for Leeds SAIS Team.
pub fn child_records_file(bytes: &[u8]) {
    let reference = reference();
    let team = reference.team("r1l").expect("the demo team");
    for format in [ChildFormat::ChildRecords, ChildFormat::ClassList { year_groups: vec![8, 9] }] {
        let context = ChildRecordsContext {
            reference,
            team,
            academic_year: AcademicYear::containing(today()),
            today: today(),
            format,
        };
        let summary = summarise_child_records(&mut || Ok(Cursor::new(bytes)), &context, &LIMITS)
            .expect("a file in memory is always read");
        check_summary(&summary);
    }
}

/// A vaccination-records file, for a point-of-care team and for a national-reporting one.
pub fn vaccination_records_file(bytes: &[u8]) {
    let reference = reference();
    for team_id in ["r1l", "ryg"] {
        let team = reference.team(team_id).expect("a demo team");
        let context = VaccinationContext {
            reference,
            catalogue: crate::pipeline::vaccination_records::catalogue(),
            team,
            today: today(),
            now: crate::clock::noon_in_london(today()),
        };
        let summary = summarise_vaccination_records(&mut || Ok(Cursor::new(bytes)), &context, &LIMITS)
            .expect("a file in memory is always read");
        check_summary(&summary);
    }
}

/// One cell's text through every value parser; the canonical forms parse back to themselves.
pub fn cell_values(text: &str) {
    if let Some(number) = values::parse_nhs_number(text) {
        assert!(number.len() == 10 && number.bytes().all(|b| b.is_ascii_digit()), "NHS number {number:?}");
        assert_eq!(values::parse_nhs_number(&number).as_deref(), Some(number.as_str()));
    }
    if let Some(postcode) = values::parse_postcode(text) {
        assert_eq!(values::parse_postcode(&postcode).as_deref(), Some(postcode.as_str()), "{text:?}");
    }
    let _ = values::parse_date(text);
    let _ = values::parse_email(text);
    let _ = values::parse_gender(text);
    let _ = values::parse_integer(text);
    let _ = values::check_person_name(text);
    let _ = values::normalise_apostrophes(text);
    let _ = values::parse_relationship(Some(text));
    if let Some(time) = values::parse_time(text) {
        let _ = values::london_date_time(today(), time);
    }
}

/// A phone number cell (its own check: the `phonenumber` crate is the slowest parser here).
pub fn phone_number(text: &str) {
    let _ = values::parse_phone(text);
}

/// An S3 notification body, and each key it names as the pipeline routes it.
pub fn s3_notification(text: &str) {
    if let Ok(events) = crate::pipeline::parse_notification(text) {
        for event in events {
            let _ = route(&event.key);
        }
    }
    let _ = route(&decode_key(text));
}

/// A PDS answer body: a search result and a patient read.
pub fn pds_response(bytes: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(bytes) else { return };
    let _ = crate::nhs_api::pds::search_result(&body);
    let _ = crate::nhs_api::PdsPatient::from_fhir(&body);
}

/// An Immunisations API answer body: a search bundle, and the body as one Immunization.
pub fn imms_response(bytes: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(bytes) else { return };
    let _ = crate::nhs_api::immunisations::search_bundle(&body);
    let _ =
        crate::fhir::inbound::from_immunization(&body, crate::pipeline::vaccination_records::catalogue(), reference());
    if let Some(location) = body.as_str() {
        let _ = crate::nhs_api::immunisations::id_from_location(location);
    }
}

/// A pipeline on an in-memory record store and a folder under `dir`, with the demo reference data: what the event
/// checks deliver to.
pub async fn embedded_pipeline(dir: &std::path::Path) -> crate::pipeline::Pipeline {
    use std::sync::Arc;
    let records = Arc::new(crate::adapters::sqlite_store::SqliteRecordStore::in_memory().expect("an in-memory store"));
    crate::store::reference::save(records.as_ref(), reference()).await.expect("reference data");
    let objects =
        crate::adapters::folder_object_store::FolderObjectStore::new(dir, "http://127.0.0.1:9".into(), [7; 32]);
    let clock = crate::clock::Clock::fixed(crate::clock::noon_in_london(today()));
    let settings = crate::pipeline::PipelineSettings {
        today_override: Some(today()),
        clock,
        ..crate::pipeline::PipelineSettings::default()
    };
    crate::pipeline::Pipeline {
        records,
        objects: Arc::new(objects),
        reference: Arc::new(reference().clone()),
        settings,
    }
}

/// A Lambda event, as the import function and the pds function receive it. An SQS batch is answered with a
/// partial-batch response naming only messages of the batch (or the empty identifier: the whole batch), or fails the
/// whole invocation, so that nothing is deleted unseen.
pub async fn lambda_event(pipeline: &crate::pipeline::Pipeline, bytes: &[u8]) {
    let Ok(payload) = serde_json::from_slice::<Value>(bytes) else { return };
    let ids: Vec<&str> = payload["Records"]
        .as_array()
        .map(|records| records.iter().filter_map(|r| r["messageId"].as_str()).collect())
        .unwrap_or_default();
    let check_failures = |response: &Value| {
        if payload["Records"].get(0).is_some_and(|r| r.get("messageId").is_some()) {
            let failures = response["batchItemFailures"].as_array().expect("a partial-batch response");
            for failure in failures {
                let id = failure["itemIdentifier"].as_str().expect("an item identifier");
                assert!(id.is_empty() || ids.contains(&id), "a failure names a message not in the batch: {id:?}");
            }
        }
    };
    let imports = crate::pipeline::invocation::consumer_settings();
    if let Ok(response) =
        crate::pipeline::invocation::handle_invocation(pipeline, None, &imports, payload.clone()).await
    {
        check_failures(&response);
    }
    let pds = crate::pipeline::pds_queue::consumer_settings();
    let response = crate::pipeline::pds_queue::invocation::handle_invocation(pipeline, None, &pds, payload.clone());
    if let Ok(response) = response.await
        && !crate::pipeline::invocation::is_scheduled(&payload)
    {
        check_failures(&response);
    }
}

/// A bearer token: nothing but a token the issuer signed is accepted. `header`, `payload` and `signature` make a
/// forged token of any shape; `raw` is taken as the whole token.
pub async fn bearer_token(
    authenticator: &crate::web::Authenticator,
    header: &[u8],
    payload: &[u8],
    signature: &[u8],
    raw: &str,
) {
    use base64::Engine;
    let encode = |part: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(part);
    let forged = format!("{}.{}.{}", encode(header), encode(payload), encode(signature));
    assert!(authenticator.verify(&forged).await.is_err(), "a forged token was accepted");
    assert!(authenticator.verify(raw).await.is_err(), "an arbitrary string was accepted as a token");
}

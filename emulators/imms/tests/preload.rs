//! Records given at start (`Config.records`, `--data`) or posted to `/_emulator/records`: GP-recorded history.

mod common;

use std::path::PathBuf;

use common::{fixture, json};
use imms_emulator::{Config, DataError, EmulatorError, load_records};
use serde_json::{Value, json};

fn test_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

const FLU_SEARCH: [(&str, &str); 2] =
    [("patient.identifier", "https://fhir.nhs.uk/Id/nhs-number|9449308357"), ("-immunization.target", "FLU")];

#[tokio::test]
async fn a_records_file_is_served_with_its_ids_and_versions() {
    let mut config = Config::from_file(&test_file("gp_history.json")).expect("file loads");
    config.auth_required = false;
    let h = common::start(config).await;
    let read = h.read("5a7f7b53-7d0f-4c8e-9d51-3f9d1c1f2a01").await;
    assert_eq!(read.status(), 200);
    assert_eq!(common::etag(&read), 3);
    let bundle = json(h.search(&FLU_SEARCH).await).await;
    assert_eq!(bundle["total"], 1);
    assert_eq!(bundle["entry"][0]["resource"]["meta"]["versionId"], "3");
    assert_eq!(bundle["entry"][0]["resource"]["vaccineCode"]["coding"][0]["code"], "NAVU");
    // Reset brings back the records given at start, after changes.
    h.delete("5a7f7b53-7d0f-4c8e-9d51-3f9d1c1f2a01").await;
    assert_eq!(json(h.search(&FLU_SEARCH).await).await["total"], 0);
    assert_eq!(h.client.delete(h.admin_url("/records")).send().await.unwrap().status(), 204);
    assert_eq!(json(h.search(&FLU_SEARCH).await).await["total"], 1);
}

#[tokio::test]
async fn bundles_and_arrays_both_load_and_bad_entries_are_named() {
    let from_bundle = imms_emulator::records::records_of(fixture("search_response_2_results.json"), "x").unwrap();
    assert_eq!(from_bundle.len(), 2, "the Patient include entry is skipped");
    assert_eq!(load_records(&test_file("gp_history.json")).unwrap().len(), 1);

    let dir = std::env::temp_dir().join(format!("imms-emulator-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    let mut record: Value = fixture("hpv/fhir_record_from_mavis.json");
    record["identifier"] = json!([]);
    std::fs::write(&bad, json!([fixture("mmr/fhir_record_from_mavis.json"), record]).to_string()).unwrap();
    let error = load_records(&bad).unwrap_err();
    assert!(matches!(error, DataError::Entry { index: 1, .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("bad.json") && message.contains("entry 1") && message.contains("identifier"), "{message}");
    std::fs::write(&bad, "{\"resourceType\": \"Patient\"}").unwrap();
    assert!(matches!(load_records(&bad), Err(DataError::Shape { .. })));
    let missing = Config::from_file(&dir.join("missing.json")).unwrap_err();
    assert!(matches!(missing, EmulatorError::Data(DataError::Read { .. })), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn every_single_record_fixture_can_be_preloaded_and_listed() {
    let h = common::open().await;
    let names = [
        "flu/fhir_record_gp.json",
        "flu/fhir_record_full.json",
        "flu/fhir_record_minimum_national_reporting_spec.json",
        "hpv/fhir_record_from_mavis.json",
        "menacwy/fhir_record_from_mavis.json",
        "mmr/fhir_record_from_mavis.json",
        "mmrv/fhir_record_from_mavis.json",
        "td_ipv/fhir_record_from_mavis.json",
    ];
    // The fixtures were copied from one another and share ids and identifiers; a later record with the same id
    // or identifier replaces the earlier one, so make each unique.
    let records: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let mut record = fixture(name);
            record["id"] = json!(format!("fixture-{index}"));
            record["identifier"][0]["value"] = json!(format!("fixture-{index}"));
            record
        })
        .collect();
    let response = h.client.post(h.admin_url("/records")).json(&records).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let listing: Value = h.client.get(h.admin_url("/records")).send().await.unwrap().json().await.unwrap();
    let types: Vec<&str> =
        listing["records"].as_array().unwrap().iter().map(|r| r["vaccine_type"].as_str().unwrap()).collect();
    assert_eq!(types.len(), names.len());
    assert!(types.contains(&"3IN1") && types.contains(&"MMRV") && types.contains(&"MENACWY"), "{types:?}");
    let first = &listing["records"][0];
    for field in ["id", "version", "identifier", "nhs_number", "vaccine_type", "deleted", "resource"] {
        assert!(first.get(field).is_some(), "{field} in {first}");
    }
    let refused =
        h.client.post(h.admin_url("/records")).json(&json!([{"resourceType": "Immunization"}])).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let message: Value = refused.json().await.unwrap();
    assert!(message["error"].as_str().unwrap().contains("entry 0"), "{message}");
}

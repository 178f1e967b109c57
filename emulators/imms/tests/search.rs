//! Search over real HTTP: Bundles shaped like the Mavis fixtures (`search_response_*.json`), compared as JSON with
//! only ids, per-request UUIDs and the host replaced; parameter rules of `nhs-apis.md` §4.3.

mod common;

use common::{create_body, diagnostics, fixture, json};
use serde_json::Value;

const MAVIS_TARGETS: &str = "FLU,HPV,MENACWY,3IN1,MMR,MMRV";
const NHS_PREFIX: &str = "https://fhir.nhs.uk/Id/nhs-number|";

/// Ids, `urn:uuid:`s and URL bases replaced by placeholders, so structure and content can be compared.
fn normalise(value: &Value) -> Value {
    match value {
        Value::String(text) => {
            if let Some((_, rest)) = text.split_once("/Immunization?") {
                Value::String(format!("BASE/Immunization?{rest}"))
            } else if text.contains("/Immunization/") {
                Value::String("BASE/Immunization/ID".into())
            } else if text.starts_with("urn:uuid:") {
                Value::String("urn:uuid:UUID".into())
            } else if uuid::Uuid::try_parse(text).is_ok() {
                Value::String("UUID".into())
            } else {
                value.clone()
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), normalise(v))).collect()),
        other => other.clone(),
    }
}

/// Each Immunization entry without `meta` (the older fixtures were captured before `meta.versionId` was added).
fn without_meta(mut bundle: Value) -> Value {
    for entry in bundle["entry"].as_array_mut().into_iter().flatten() {
        if let Some(resource) = entry["resource"].as_object_mut() {
            resource.remove("meta");
        }
    }
    bundle
}

async fn preload(h: &common::Harness, bundle: &Value) {
    let response = h.client.post(h.admin_url("/records")).json(bundle).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

async fn search_matches_fixture(name: &str, query: &[(&str, &str)]) {
    let h = common::open().await;
    let expected = fixture(name);
    preload(&h, &expected).await;
    let response = h.search(query).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.trim_end().ends_with(&format!("\"total\":{}}}", expected["total"])), "total comes last: {text}");
    let actual: Value = serde_json::from_str(&text).unwrap();
    for entry in actual["entry"].as_array().unwrap().iter().filter(|e| e["search"]["mode"] == "match") {
        assert_eq!(entry["resource"]["meta"]["versionId"], "1");
    }
    assert_eq!(normalise(&without_meta(actual)), normalise(&without_meta(expected)), "{name}");
}

#[tokio::test]
async fn one_result_bundle_matches_the_mavis_fixture() {
    let query = [
        ("patient.identifier", "https://fhir.nhs.uk/Id/nhs-number|9449308357"),
        ("-immunization.target", MAVIS_TARGETS),
    ];
    search_matches_fixture("search_response_1_result_mavis.json", &query).await;
}

#[tokio::test]
async fn two_result_bundle_matches_the_fixture() {
    let query = [
        ("patient.identifier", "https://fhir.nhs.uk/Id/nhs-number|9449308357"),
        ("-immunization.target", MAVIS_TARGETS),
    ];
    search_matches_fixture("search_response_2_results.json", &query).await;
}

#[tokio::test]
async fn date_range_bundle_matches_the_fixture() {
    let query = [
        ("patient.identifier", "https://fhir.nhs.uk/Id/nhs-number|9449308357"),
        ("-immunization.target", MAVIS_TARGETS),
        ("-date.from", "2025-08-01"),
        ("-date.to", "2025-10-01"),
    ];
    search_matches_fixture("search_response_full_bundle.json", &query).await;
}

#[tokio::test]
async fn empty_bundle_matches_the_fixture() {
    let query = [
        ("patient.identifier", "https://fhir.nhs.uk/Id/nhs-number|9449308357"),
        ("-immunization.target", MAVIS_TARGETS),
    ];
    search_matches_fixture("search_response_0_results.json", &query).await;
}

#[tokio::test]
async fn a_created_record_comes_back_in_search_shape() {
    let h = common::open().await;
    let (id, _) = h.create_ok(&create_body()).await;
    let nhs = format!("{NHS_PREFIX}9449310475");
    let bundle = json(h.search(&[("patient.identifier", &nhs), ("-immunization.target", "HPV")]).await).await;
    assert_eq!(bundle["total"], 1);
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let resource = &entries[0]["resource"];
    assert_eq!(entries[0]["fullUrl"], format!("{}/Immunization/{id}", h.emulator.imms_base_url));
    assert_eq!(entries[0]["search"]["mode"], "match");
    assert!(resource.get("contained").is_none(), "contained stripped");
    assert_eq!(resource["performer"].as_array().unwrap().len(), 1, "practitioner performer stripped");
    assert_eq!(resource["performer"][0]["actor"]["type"], "Organization");
    assert_eq!(resource["identifier"][0]["use"], "official");
    assert_eq!(resource["meta"]["versionId"], "1");
    assert_eq!(resource["patient"]["type"], "Patient");
    assert_eq!(resource["patient"]["identifier"]["value"], "9449310475");
    let patient_url = resource["patient"]["reference"].as_str().unwrap();
    assert!(patient_url.starts_with("urn:uuid:"));
    assert_eq!(entries[1]["fullUrl"], patient_url);
    assert_eq!(entries[1]["resource"]["id"], "9449310475");
    assert_eq!(entries[1]["search"]["mode"], "include");
    // The other vaccine types, other patients, dates outside the range and deleted records are not returned.
    let flu = json(h.search(&[("patient.identifier", &nhs), ("-immunization.target", "FLU")]).await).await;
    assert_eq!(flu["total"], 0);
    let later = [("patient.identifier", nhs.as_str()), ("-immunization.target", "HPV"), ("-date.from", "2021-02-08")];
    assert_eq!(json(h.search(&later).await).await["total"], 0);
    let hpv = "http://snomed.info/sct|240532009";
    let by_disease = json(h.search(&[("patient.identifier", &nhs), ("target-disease", hpv)]).await).await;
    assert_eq!(by_disease["total"], 1);
    // As the API: a target disease is `system|code` with the SNOMED system; a bare code is an invalid one.
    let bare = h.search(&[("patient.identifier", &nhs), ("target-disease", "240532009")]).await;
    assert_eq!(bare.status(), 400, "a bare SNOMED code is not a target disease");
    let other_system = [("patient.identifier", nhs.as_str()), ("target-disease", "http://example.org|240532009")];
    assert_eq!(h.search(&other_system).await.status(), 400, "only the SNOMED system");
    let tokens = format!("{hpv},240532009");
    let mixed = json(h.search(&[("patient.identifier", &nhs), ("target-disease", &tokens)]).await).await;
    assert_eq!(mixed["total"], 1, "the valid token is searched: {mixed}");
    assert!(mixed.to_string().contains("invalid target diseases, which have been ignored: 240532009"), "{mixed}");
    h.delete(&id).await;
    assert_eq!(
        json(h.search(&[("patient.identifier", &nhs), ("-immunization.target", "HPV")]).await).await["total"],
        0
    );
}

#[tokio::test]
async fn records_without_an_nhs_number_are_stored_but_not_searchable() {
    let h = common::open().await;
    let mut body = create_body();
    body["contained"][1]["identifier"][0].as_object_mut().unwrap().remove("value");
    let (id, _) = h.create_ok(&body).await;
    assert_eq!(h.read(&id).await.status(), 200);
    let nhs = format!("{NHS_PREFIX}9449310475");
    let bundle = json(h.search(&[("patient.identifier", &nhs), ("-immunization.target", "HPV")]).await).await;
    assert_eq!(bundle["total"], 0);
}

#[tokio::test]
async fn search_by_identifier_returns_the_version() {
    let h = common::open().await;
    let (id, _) = h.create_ok(&create_body()).await;
    let identifier =
        "http://manage-vaccinations-in-schools.nhs.uk/vaccination_records|11112222-3333-4444-5555-666677778888";
    let bundle = json(h.search(&[("identifier", identifier), ("_elements", "id,meta")]).await).await;
    assert_eq!(bundle["total"], 1);
    assert_eq!(
        bundle["entry"][0]["resource"],
        serde_json::json!({"resourceType": "Immunization", "id": id, "meta": {"versionId": "1"}})
    );
    let none = json(h.search(&[("identifier", "http://x|unknown")]).await).await;
    assert_eq!(none["total"], 0);
    assert_eq!(none["entry"], serde_json::json!([]));
}

#[tokio::test]
async fn unknown_and_unauthorised_types_give_warnings_or_errors() {
    let h = common::open().await;
    h.create_ok(&create_body()).await;
    let nhs = format!("{NHS_PREFIX}9449310475");
    let bundle =
        json(h.search(&[("patient.identifier", &nhs), ("-immunization.target", "HPV,NOPE,COVID")]).await).await;
    assert_eq!(bundle["total"], 1);
    let warnings: Vec<&Value> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "OperationOutcome")
        .collect();
    assert_eq!(warnings.len(), 2, "{bundle}");
    assert!(warnings.iter().all(|w| w["resource"]["issue"][0]["severity"] == "warning"));
    assert!(
        warnings
            .iter()
            .any(|w| diagnostics(&w["resource"])
                == "Your search contains details that you are not authorised to request")
    );
    let forbidden = h.search(&[("patient.identifier", &nhs), ("-immunization.target", "COVID")]).await;
    assert_eq!(forbidden.status(), 403);
    let invalid = h.search(&[("patient.identifier", &nhs), ("-immunization.target", "NOPE")]).await;
    assert_eq!(invalid.status(), 400);
    assert!(
        diagnostics(&json(invalid).await).starts_with("immunization-target must be one or more of the following: 3IN1")
    );
}

#[tokio::test]
async fn parameter_rules() {
    let h = common::open().await;
    let nhs = format!("{NHS_PREFIX}9449310475");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("patient.identifier", &nhs), ("-immunization.target", "HPV"), ("-immunization.target", "FLU")],
            "Parameters may not be duplicated. Use commas for \"or\".",
        ),
        (vec![("patient.identifier", &nhs)], "must be provided, but not both"),
        (
            vec![
                ("patient.identifier", &nhs),
                ("-immunization.target", "HPV"),
                ("target-disease", "http://snomed.info/sct|240532009"),
            ],
            "must be provided, but not both",
        ),
        (
            vec![
                ("patient.identifier", "https://fhir.nhs.uk/Id/nhs-number|9449310476"),
                ("-immunization.target", "HPV"),
            ],
            "must be a valid NHS number",
        ),
        (vec![("patient.identifier", "9449310475"), ("-immunization.target", "HPV")], "must be in format"),
        (vec![("-immunization.target", "HPV")], "must be in format"),
        (
            vec![("patient.identifier", &nhs), ("-immunization.target", "HPV"), ("-date.from", "2025-13-01")],
            "-date.from must be in format: YYYY-MM-DD",
        ),
        (
            vec![
                ("patient.identifier", &nhs),
                ("-immunization.target", "HPV"),
                ("-date.from", "2025-10-01"),
                ("-date.to", "2025-09-01"),
            ],
            "-date.from must be before",
        ),
        (
            vec![("patient.identifier", &nhs), ("-immunization.target", "HPV"), ("_include", "Patient:x")],
            "_include may only be 'Immunization:patient'",
        ),
    ];
    for (query, expected) in cases {
        let response = h.search(&query).await;
        assert_eq!(response.status(), 400, "{query:?}");
        let body = json(response).await;
        assert!(diagnostics(&body).contains(expected), "{query:?}: {body}");
    }
    let with_include =
        [("patient.identifier", nhs.as_str()), ("-immunization.target", "HPV"), ("_include", "Immunization:patient")];
    assert_eq!(h.search(&with_include).await.status(), 200);
    let form = h
        .request(reqwest::Method::POST, "/Immunization/_search")
        .form(&[("patient.identifier", nhs.as_str()), ("-immunization.target", "HPV")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    assert_eq!(json(form).await["resourceType"], "Bundle");
}

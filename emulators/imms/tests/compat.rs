//! Compatibility switches (`POST /_emulator/compat`): older or other deployments a robust client must survive.

mod common;

use common::{create_body, header, json};
use serde_json::{Value, json};

async fn set_compat(h: &common::Harness, compat: Value) -> reqwest::Response {
    h.client.post(h.admin_url("/compat")).json(&compat).send().await.unwrap()
}

const SEARCH: [(&str, &str); 2] =
    [("patient.identifier", "https://fhir.nhs.uk/Id/nhs-number|9449310475"), ("-immunization.target", "HPV")];

#[tokio::test]
async fn create_without_etag_and_with_the_older_location() {
    let h = common::open().await;
    assert_eq!(set_compat(&h, json!({"omit_etag_on_create": true, "legacy_location": true})).await.status(), 200);
    let response = h.create(&create_body()).await;
    assert_eq!(response.status(), 201);
    assert!(response.headers().get("e-tag").is_none());
    let location = header(&response, "location");
    let prefix = format!("{}/immunisation-fhir-api/Immunization/", h.emulator.base_url);
    assert!(location.starts_with(&prefix), "{location}");
    assert_eq!(h.client.delete(h.admin_url("/compat")).send().await.unwrap().status(), 204);
    let again = h.create(&common::body_with_identifier("second")).await;
    assert_eq!(header(&again, "e-tag"), "1");
    assert!(header(&again, "location").starts_with(&format!("{}/Immunization/", h.emulator.imms_base_url)));
}

#[tokio::test]
async fn legacy_link_key_and_injected_outcomes() {
    let h = common::open().await;
    h.create_ok(&create_body()).await;
    let compat = json!({
        "legacy_target_key": true,
        "bundle_outcome": {"severity": "error", "code": "invalid", "diagnostics": "Something failed"},
    });
    assert_eq!(set_compat(&h, compat).await.status(), 200);
    let bundle = json(h.search(&SEARCH).await).await;
    let link = bundle["link"][0]["url"].as_str().unwrap();
    assert!(link.contains("?immunization.target=HPV&-immunization.target=HPV&patient.identifier="), "{link}");
    let last = bundle["entry"].as_array().unwrap().last().unwrap();
    assert_eq!(last["resource"]["resourceType"], "OperationOutcome");
    assert_eq!(last["resource"]["issue"][0]["severity"], "error");
    assert_eq!(last["resource"]["issue"][0]["diagnostics"], "Something failed");
    assert_eq!(bundle["total"], 1, "total counts Immunizations only");
    assert_eq!(set_compat(&h, json!({"bundle_outcome": {"severity": "bad", "diagnostics": "x"}})).await.status(), 400);
    assert_eq!(set_compat(&h, json!({"nope": true})).await.status(), 400);
}

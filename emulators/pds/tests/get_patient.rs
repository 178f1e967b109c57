//! `GET /Patient/{id}` over HTTP: found, superseded, invalidated, not found, invalid, restricted, deceased, headers.

mod common;

use common::{json, open, outcome_code};
use pds_emulator::{Config, Dataset};

#[tokio::test]
async fn found_patient_is_returned_with_etag_and_fhir_content_type() {
    let pds = open().await;
    let response = pds.get_patient("9000000009").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "W/\"2\"");
    assert_eq!(response.headers()["content-type"], "application/fhir+json");
    let patient = json(response).await;
    assert_eq!(patient["resourceType"], "Patient");
    assert_eq!(patient["id"], "9000000009");
    assert_eq!(patient["identifier"][0]["value"], "9000000009");
    assert_eq!(patient["name"][0]["family"], "Smith");
    assert_eq!(patient["birthDate"], "2010-10-22");
    assert_eq!(patient["meta"]["security"][0]["code"], "U");
    assert_eq!(patient["generalPractitioner"][0]["identifier"]["value"], "Y12345");
    assert!(patient.get("deceasedDateTime").is_none());
}

#[tokio::test]
async fn request_and_correlation_ids_are_mirrored() {
    let pds = open().await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let response = pds
        .client
        .get(pds.pds_url("/Patient/9000000009"))
        .header("x-request-id", &request_id)
        .header("x-correlation-id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], request_id.as_str());
    assert_eq!(response.headers()["x-correlation-id"], "trace-123");
}

#[tokio::test]
async fn superseded_number_returns_the_new_patient() {
    let pds = open().await;
    let response = pds.get_patient("9452372230").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "W/\"3\"");
    let patient = json(response).await;
    assert_eq!(patient["id"], "9467351307", "PDS answers with the superseding record");
    assert!(patient.get("link").is_none());
}

#[tokio::test]
async fn invalidated_number_is_404_invalidated_resource() {
    let pds = open().await;
    let response = pds.get_patient("9990003343").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/fhir+json");
    let body = json(response).await;
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert_eq!(outcome_code(&body), "INVALIDATED_RESOURCE");
    assert_eq!(body["issue"][0]["details"]["coding"][0]["display"], "Resource is invalid");
}

#[tokio::test]
async fn unknown_valid_number_is_404_resource_not_found() {
    let pds = open().await;
    let response = pds.get_patient("9111231130").await;
    assert_eq!(response.status(), 404);
    assert_eq!(outcome_code(&json(response).await), "RESOURCE_NOT_FOUND");
}

#[tokio::test]
async fn malformed_or_bad_check_digit_is_400_invalid_resource_id() {
    let pds = open().await;
    for number in ["9000000000", "900000000", "90000000091", "abcdefghij", "999%20000%200026"] {
        let response = pds.get_patient(number).await;
        assert_eq!(response.status(), 400, "{number}");
        let body = json(response).await;
        assert_eq!(outcome_code(&body), "INVALID_RESOURCE_ID", "{number}");
        assert_eq!(body["issue"][0]["diagnostics"], "Resource ID is invalid");
    }
}

#[tokio::test]
async fn restricted_patient_has_address_telecom_and_gp_removed() {
    let pds = open().await;
    let patient = json(pds.get_patient("9000000025").await).await;
    assert_eq!(patient["meta"]["security"][0]["code"], "R");
    assert_eq!(patient["name"][0]["family"], "Smythe");
    for field in ["address", "telecom", "generalPractitioner"] {
        assert!(patient.get(field).is_none(), "{field} must be withheld");
    }
}

#[tokio::test]
async fn deceased_and_minimal_patients() {
    let pds = open().await;
    let deceased = json(pds.get_patient("9000000041").await).await;
    assert_eq!(deceased["deceasedDateTime"], "2010-10-22T00:00:00+00:00");
    let minimal = json(pds.get_patient("9000000033").await).await;
    assert_eq!(minimal["id"], "9000000033");
    assert!(minimal.get("name").is_none() && minimal.get("birthDate").is_none());
}

#[tokio::test]
async fn historic_addresses_are_not_returned() {
    let pds = open().await;
    let patient = json(pds.get_patient("9999075320").await).await;
    let postcodes: Vec<&str> =
        patient["address"].as_array().unwrap().iter().filter_map(|a| a["postalCode"].as_str()).collect();
    assert_eq!(postcodes, ["SW1A 1AB"]);
}

#[tokio::test]
async fn x_request_id_is_required_and_must_be_a_uuid() {
    let pds = open().await;
    let missing = pds.client.get(pds.pds_url("/Patient/9000000009")).send().await.unwrap();
    assert_eq!(missing.status(), 400);
    let body = json(missing).await;
    assert_eq!(outcome_code(&body), "MISSING_VALUE");
    assert_eq!(
        body["issue"][0]["diagnostics"],
        "Invalid request with error - X-Request-ID header must be supplied to access this resource"
    );

    let invalid =
        pds.client.get(pds.pds_url("/Patient/9000000009")).header("x-request-id", "1234").send().await.unwrap();
    assert_eq!(invalid.status(), 400);
    assert_eq!(invalid.headers()["x-request-id"], "1234");
    let body = json(invalid).await;
    assert_eq!(outcome_code(&body), "INVALID_VALUE");
    assert_eq!(body["issue"][0]["diagnostics"], "Invalid value - '1234' in header 'X-Request-ID'");
}

#[tokio::test]
async fn missing_nhs_number_and_unknown_routes_are_unsupported_service() {
    let pds = open().await;
    for path in ["/Patient/", "/Practitioner/123"] {
        let response = pds.pds_get(path, &[], None).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(outcome_code(&json(response).await), "UNSUPPORTED_SERVICE", "{path}");
    }
}

#[tokio::test]
async fn base_path_is_configurable() {
    let mut config = Config::new(Dataset::builtin().unwrap(), pds_emulator::test_keys::settings().unwrap());
    config.auth_required = false;
    config.base_path = "/pds/".into();
    let pds = common::start(config).await;
    assert!(pds.emulator.pds_base_url.ends_with("/pds"));
    assert_eq!(pds.get_patient("9000000009").await.status(), 200);
    let default_path = format!("{}/personal-demographics/FHIR/R4/Patient/9000000009", pds.emulator.base_url);
    assert_eq!(pds.client.get(default_path).send().await.unwrap().status(), 404);
}

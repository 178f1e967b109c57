//! Create, read, update, delete, duplicates and reinstatement over real HTTP (`nhs-apis.md` §4.2–4.3).

mod common;

use common::{body_with_identifier, create_body, diagnostics, etag, header, issue_code, json};
use serde_json::Value;

#[tokio::test]
async fn create_answers_201_with_location_and_etag_1() {
    let h = common::open().await;
    let response = h.create(&create_body()).await;
    assert_eq!(response.status(), 201);
    let location = header(&response, "location");
    let prefix = format!("{}/Immunization/", h.emulator.imms_base_url);
    assert!(location.starts_with(&prefix), "{location}");
    let id = &location[prefix.len()..];
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    assert_eq!(header(&response, "e-tag"), "1");
    assert!(response.text().await.unwrap().is_empty(), "201 has an empty body");
}

#[tokio::test]
async fn read_returns_the_stored_resource_with_its_etag() {
    let h = common::open().await;
    let (id, _) = h.create_ok(&create_body()).await;
    let response = h.read(&id).await;
    assert_eq!(response.status(), 200);
    assert_eq!(etag(&response), 1);
    assert_eq!(header(&response, "content-type"), "application/fhir+json");
    let mut body = json(response).await;
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["meta"]["versionId"], "1");
    let object = body.as_object_mut().unwrap();
    object.remove("id");
    object.remove("meta");
    assert_eq!(body, create_body(), "read back equal in substance to what was sent");
}

#[tokio::test]
async fn update_with_the_current_etag_bumps_the_version() {
    let h = common::open().await;
    let (id, version) = h.create_ok(&create_body()).await;
    let mut body = create_body();
    body["id"] = Value::String(id.clone());
    body["lotNumber"] = Value::String("NEWBATCH".into());
    let response = h.update(&id, &body, Some(&version.to_string())).await;
    assert_eq!(response.status(), 200);
    assert_eq!(etag(&response), 2);
    assert!(response.text().await.unwrap().is_empty());
    let read = json(h.read(&id).await).await;
    assert_eq!(read["lotNumber"], "NEWBATCH");
    assert_eq!(read["meta"]["versionId"], "2");
}

#[tokio::test]
async fn stale_newer_and_missing_etags_are_refused() {
    let h = common::open().await;
    let (id, _) = h.create_ok(&create_body()).await;
    let mut body = create_body();
    body["id"] = Value::String(id.clone());
    assert_eq!(h.update(&id, &body, Some("1")).await.status(), 200);

    let stale = h.update(&id, &body, Some("1")).await;
    assert_eq!(stale.status(), 400);
    let stale = json(stale).await;
    assert_eq!(issue_code(&stale), "invariant");
    assert!(diagnostics(&stale).contains("has changed since the last retrieve"), "{stale}");

    let newer = json(h.update(&id, &body, Some("7")).await).await;
    assert!(diagnostics(&newer).contains("version is inconsistent with the existing version"), "{newer}");

    let missing = h.update(&id, &body, None).await;
    assert_eq!(missing.status(), 400);
    assert_eq!(
        diagnostics(&json(missing).await),
        "Validation errors: Immunization resource version not specified in the request headers"
    );
    let invalid = json(h.update(&id, &body, Some("zero")).await).await;
    assert!(diagnostics(&invalid).contains("version:zero in the request headers is invalid"), "{invalid}");
    assert_eq!(etag(&h.read(&id).await), 2, "refused updates change nothing");
}

#[tokio::test]
async fn update_checks_the_body_id_and_the_identifier() {
    let h = common::open().await;
    let (id, _) = h.create_ok(&create_body()).await;
    let other_id = json(h.update(&id, &common::fixture("immunisation_update.json"), Some("1")).await).await;
    assert!(diagnostics(&other_id).contains("doesn't match with the content of the request body"), "{other_id}");

    let mut body = body_with_identifier("another-value");
    body["id"] = Value::String(id.clone());
    let response = h.update(&id, &body, Some("1")).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        diagnostics(&json(response).await),
        "Validation errors: identifier[0].value doesn't match with the stored content"
    );

    let mut unknown = create_body();
    unknown["id"] = Value::String("ffff1111-eeee-2222-dddd-3333eeee4444".into());
    let response = h.update("ffff1111-eeee-2222-dddd-3333eeee4444", &unknown, Some("1")).await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn delete_answers_204_then_404() {
    let h = common::open().await;
    let (id, _) = h.create_ok(&create_body()).await;
    let first = h.delete(&id).await;
    assert_eq!(first.status(), 204);
    let second = h.delete(&id).await;
    assert_eq!(second.status(), 404);
    let body = json(second).await;
    assert_eq!(issue_code(&body), "not-found");
    assert_eq!(diagnostics(&body), format!("Immunization resource does not exist. ID: {id}"));
    assert_eq!(h.read(&id).await.status(), 404, "deleted records read as missing");
}

#[tokio::test]
async fn a_live_duplicate_identifier_is_422() {
    let h = common::open().await;
    h.create_ok(&create_body()).await;
    let response = h.create(&create_body()).await;
    assert_eq!(response.status(), 422);
    let body = json(response).await;
    assert_eq!(issue_code(&body), "duplicate");
    assert!(diagnostics(&body).contains("already exists"), "{body}");
}

#[tokio::test]
async fn re_creating_a_deleted_identifier_reinstates_it_with_a_new_version() {
    let h = common::open().await;
    let (id, _) = h.create_ok(&create_body()).await;
    assert_eq!(h.delete(&id).await.status(), 204);
    let (again, version) = h.create_ok(&create_body()).await;
    assert_eq!(again, id, "reinstated under its old id");
    assert_eq!(version, 2);
    assert_eq!(etag(&h.read(&id).await), 2);
    // Mavis would now PUT with its stored etag 1: refused, as the live service does (§6.4 pitfall).
    let mut body = create_body();
    body["id"] = Value::String(id.clone());
    assert_eq!(h.update(&id, &body, Some("1")).await.status(), 400);
    assert_eq!(h.update(&id, &body, Some("2")).await.status(), 200);
}

#[tokio::test]
async fn put_on_a_deleted_record_reinstates_it_whatever_the_etag() {
    let h = common::open().await;
    let (id, _) = h.create_ok(&create_body()).await;
    assert_eq!(h.delete(&id).await.status(), 204);
    let mut body = create_body();
    body["id"] = Value::String(id.clone());
    let response = h.update(&id, &body, Some("1")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(etag(&response), 2);
    assert_eq!(h.read(&id).await.status(), 200);
}

#[tokio::test]
async fn create_with_an_id_and_bad_ids_are_refused() {
    let h = common::open().await;
    let response = h.create(&common::fixture("immunisation_update.json")).await;
    assert_eq!(response.status(), 400);
    assert_eq!(issue_code(&json(response).await), "invalid");
    let response = h.read("not%20valid").await;
    assert_eq!(response.status(), 400);
    assert!(diagnostics(&json(response).await).contains("the provided event ID"));
    let malformed = h.request(reqwest::Method::POST, "/Immunization").body("{not json").send().await.unwrap();
    assert_eq!(malformed.status(), 400);
    assert!(diagnostics(&json(malformed).await).starts_with("Request's body contains malformed JSON"));
}

#[tokio::test]
async fn accept_and_request_id_headers_are_checked_and_mirrored() {
    let h = common::open().await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let response = h
        .client
        .get(h.url("/Immunization/abc"))
        .header("accept", "application/fhir+json; version=1")
        .header("x-request-id", &request_id)
        .header("x-correlation-id", "corr-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(header(&response, "x-request-id"), request_id);
    assert_eq!(header(&response, "x-correlation-id"), "corr-1");
    let bad_accept = h.client.get(h.url("/Immunization/abc")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(bad_accept.status(), 400);
    let body = json(bad_accept).await;
    assert_eq!(body["issue"][0]["details"]["coding"][0]["code"], "BAD_REQUEST");
    assert!(diagnostics(&body).starts_with("Invalid accept header"));
    let bad_id = h.client.get(h.url("/Immunization/abc")).header("x-request-id", "nope").send().await.unwrap();
    assert_eq!(bad_id.status(), 400);
}

#[tokio::test]
async fn the_request_log_keeps_headers_and_bodies() {
    let h = common::open().await;
    let (id, _) = h.create_ok(&create_body()).await;
    let mut body = create_body();
    body["id"] = Value::String(id.clone());
    h.update(&id, &body, Some("1")).await;
    let requests = h.requests().await;
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(requests[0]["status"], 201);
    assert_eq!(requests[0]["body"], create_body());
    assert!(uuid::Uuid::parse_str(requests[0]["request_id"].as_str().unwrap()).is_ok());
    assert_eq!(requests[1]["method"], "PUT");
    assert_eq!(requests[1]["e_tag"], "1");
    assert_eq!(requests[1]["path"], format!("/immunisation-fhir-api/FHIR/R4/Immunization/{id}"));
    let cleared = h.client.delete(h.admin_url("/requests")).send().await.unwrap();
    assert_eq!(cleared.status(), 204);
    assert!(h.requests().await.is_empty());
}

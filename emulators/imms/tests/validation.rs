//! Body validation on create and update (`nhs-apis.md` §4.5), one case per rule family, over real HTTP.

mod common;

use common::{create_body, diagnostics, fixture, issue_code, json};
use serde_json::{Value, json};

type Mutation = fn(&mut Value);

fn object(body: &mut Value) -> &mut serde_json::Map<String, Value> {
    body.as_object_mut().expect("object")
}

/// `(name, change to the create fixture, text the diagnostics must contain)`.
const CASES: &[(&str, Mutation, &str)] = &[
    ("resource type", |b| b["resourceType"] = json!("Patient"), "resourceType must equal 'Immunization'"),
    ("unknown element", |b| b["note"] = json!([]), "note is not an allowed element of the Immunization resource"),
    (
        "contained patient element",
        |b| b["contained"][1]["telecom"] = json!([]),
        "telecom is not an allowed element of the Patient resource",
    ),
    (
        "contained missing",
        |b| {
            object(b).remove("contained");
        },
        "Validation errors: contained is a mandatory field",
    ),
    (
        "two patients",
        |b| {
            let p = b["contained"][1].clone();
            b["contained"].as_array_mut().unwrap().push(p);
        },
        "contained must contain exactly one Patient resource",
    ),
    (
        "other contained",
        |b| b["contained"][0]["resourceType"] = json!("Organization"),
        "contained must contain only Patient and Practitioner resources",
    ),
    (
        "patient without id",
        |b| {
            b["contained"][1].as_object_mut().unwrap().remove("id");
        },
        "The contained Patient resource must have an 'id' field",
    ),
    (
        "patient reference",
        |b| b["patient"]["reference"] = json!("#Other"),
        "The reference '#Other' does not match the id of the contained Patient resource",
    ),
    (
        "external patient reference",
        |b| b["patient"]["reference"] = json!("Patient/1"),
        "patient.reference must be a single reference to a contained Patient resource",
    ),
    (
        "practitioner unreferenced",
        |b| {
            b["performer"].as_array_mut().unwrap().remove(0);
        },
        "contained Practitioner resource id 'Practitioner1' must be referenced from performer",
    ),
    (
        "identifier extension",
        |b| b["contained"][1]["identifier"][0]["extension"] = json!([]),
        "identifier[0] must not include an extension",
    ),
    (
        "nhs number check digit",
        |b| b["contained"][1]["identifier"][0]["value"] = json!("9449310476"),
        "identifier[0].value is not a valid NHS number",
    ),
    (
        "nhs number length",
        |b| b["contained"][1]["identifier"][0]["value"] = json!("944931047"),
        "identifier[0].value must be 10 characters",
    ),
    (
        "nhs number system",
        |b| b["contained"][1]["identifier"][0]["system"] = json!("https://example.org/nhs"),
        "identifier[0].system must be one of the following: https://fhir.nhs.uk/Id/nhs-number",
    ),
    (
        "family name length",
        |b| b["contained"][1]["name"][0]["family"] = json!("X".repeat(36)),
        "name[0].family must be 35 or fewer characters",
    ),
    (
        "gender",
        |b| b["contained"][1]["gender"] = json!("boy"),
        "gender must be one of the following: male, female, other, unknown",
    ),
    (
        "postcode",
        |b| b["contained"][1]["address"][0]["postalCode"] = json!(""),
        "address[0].postalCode must be a non-empty string",
    ),
    (
        "birth date",
        |b| b["contained"][1]["birthDate"] = json!("09/09/2011"),
        "birthDate must be a valid date string in the format \"YYYY-MM-DD\"",
    ),
    (
        "identifier count",
        |b| {
            let i = b["identifier"][0].clone();
            b["identifier"].as_array_mut().unwrap().push(i);
        },
        "identifier must be an array of length 1",
    ),
    (
        "identifier system",
        |b| b["identifier"][0]["system"] = json!(""),
        "identifier[0].system must be a non-empty string",
    ),
    (
        "identifier value",
        |b| {
            b["identifier"][0].as_object_mut().unwrap().remove("value");
        },
        "identifier[0].value is a mandatory field",
    ),
    ("status", |b| b["status"] = json!("not-done"), "status must be one of the following: completed"),
    (
        "occurrence Z",
        |b| b["occurrenceDateTime"] = json!("2021-02-07T13:28:17Z"),
        "Only '+00:00' and '+01:00' are accepted as valid timezone offsets",
    ),
    (
        "occurrence in future",
        |b| b["occurrenceDateTime"] = json!("2999-02-07T13:28:17+00:00"),
        "occurrenceDateTime must be a valid datetime",
    ),
    (
        "occurrence partial",
        |b| b["occurrenceDateTime"] = json!("2021-02"),
        "Note that partial dates are not allowed for occurrenceDateTime",
    ),
    ("recorded format", |b| b["recorded"] = json!("yesterday"), "recorded must be a valid datetime"),
    ("primary source", |b| b["primarySource"] = json!("yes"), "primarySource must be a boolean"),
    (
        "organisation performer",
        |b| {
            b["performer"].as_array_mut().unwrap().remove(1);
        },
        "There must be exactly one performer.actor[?@.type=='Organization']",
    ),
    (
        "organisation code",
        |b| b["performer"][1]["actor"]["identifier"]["value"] = json!(""),
        "performer[?(@.actor.type=='Organization')].actor.identifier.value must be a non-empty string",
    ),
    (
        "extension missing",
        |b| {
            object(b).remove("extension");
        },
        "extension is a mandatory field",
    ),
    (
        "extension url",
        |b| b["extension"][0]["url"] = json!("https://example.org/x"),
        "extension[0].url must be one of the following",
    ),
    (
        "procedure code",
        |b| b["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] = json!("761841001"),
        "is not a valid snomed code",
    ),
    (
        "procedure display",
        |b| b["extension"][0]["valueCodeableConcept"]["coding"][0]["display"] = json!(""),
        "coding[?(@.system=='http://snomed.info/sct')].display must be a non-empty string",
    ),
    (
        "protocol count",
        |b| {
            let p = b["protocolApplied"][0].clone();
            b["protocolApplied"].as_array_mut().unwrap().push(p);
        },
        "protocolApplied must be an array of length 1",
    ),
    (
        "target disease missing",
        |b| {
            b["protocolApplied"][0].as_object_mut().unwrap().remove("targetDisease");
        },
        "protocolApplied[0].targetDisease is a mandatory field",
    ),
    (
        "target disease coding",
        |b| b["protocolApplied"][0]["targetDisease"][0]["coding"][0]["system"] = json!("http://x"),
        "must contain exactly one element with a system of http://snomed.info/sct",
    ),
    (
        "target disease set",
        |b| b["protocolApplied"][0]["targetDisease"][0]["coding"][0]["code"] = json!("14189004"),
        "is not a valid combination of disease codes for this service",
    ),
    (
        "dose number",
        |b| b["protocolApplied"][0]["doseNumberPositiveInt"] = json!(10),
        "doseNumberPositiveInt must be an integer in the range 1 to 9",
    ),
    (
        "dose number string",
        |b| b["protocolApplied"][0]["doseNumberString"] = json!(""),
        "doseNumberString must be a non-empty string",
    ),
    (
        "site systems",
        |b| {
            let c = b["site"]["coding"][0].clone();
            b["site"]["coding"].as_array_mut().unwrap().push(c);
        },
        "site.coding[?(@.system=='http://snomed.info/sct')] must be unique",
    ),
    (
        "route code",
        |b| b["route"]["coding"][0]["code"] = json!(""),
        "route.coding[?(@.system=='http://snomed.info/sct')].code must be a non-empty string",
    ),
    ("dose quantity value", |b| b["doseQuantity"]["value"] = json!("0.5"), "doseQuantity.value must be a number"),
    (
        "dose quantity system",
        |b| {
            b["doseQuantity"].as_object_mut().unwrap().remove("system");
        },
        "If doseQuantity.code is present, doseQuantity.system must also be present",
    ),
    ("reason code", |b| b["reasonCode"][0]["coding"] = json!([]), "reasonCode[0].coding must be a non-empty array"),
    (
        "location",
        |b| b["location"]["identifier"]["value"] = json!(""),
        "location.identifier.value must be a non-empty string",
    ),
    (
        "vaccine code",
        |b| b["vaccineCode"]["coding"][0]["code"] = json!("12345"),
        "vaccineCode.coding[?(@.system=='http://snomed.info/sct')].code is not a valid snomed code",
    ),
    (
        "null flavor",
        |b| {
            b["vaccineCode"]["coding"] =
                json!([{"system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "code": "XYZ"}])
        },
        "must be one of the following: NAVU, UNC, UNK, NA",
    ),
    ("lot number", |b| b["lotNumber"] = json!(" "), "lotNumber must be a non-empty string"),
    ("expiry date", |b| b["expirationDate"] = json!("2023-02-30"), "expirationDate must be a valid date string"),
];

#[tokio::test]
async fn each_rule_family_is_enforced_with_its_message() {
    let h = common::open().await;
    for (name, mutate, expected) in CASES {
        let mut body = create_body();
        mutate(&mut body);
        let response = h.create(&body).await;
        assert_eq!(response.status(), 400, "{name}");
        let outcome = json(response).await;
        assert_eq!(issue_code(&outcome), "invariant", "{name}");
        assert_eq!(outcome["issue"][0]["details"]["coding"][0]["code"], "INVARIANT", "{name}");
        let message = diagnostics(&outcome);
        assert!(message.starts_with("Validation errors: "), "{name}: {message}");
        assert!(message.contains(expected), "{name}: expected {expected:?} in {message:?}");
    }
    let records: Value = h.client.get(h.admin_url("/records")).send().await.unwrap().json().await.unwrap();
    assert_eq!(records["count"], 0, "nothing invalid was stored");
}

#[tokio::test]
async fn every_error_is_reported_at_once() {
    let h = common::open().await;
    let mut body = create_body();
    body["status"] = json!("not-done");
    body["lotNumber"] = json!("");
    let outcome = json(h.create(&body).await).await;
    assert_eq!(
        diagnostics(&outcome),
        "Validation errors: status must be one of the following: completed; lotNumber must be a non-empty string"
    );
}

#[tokio::test]
async fn updates_are_validated_too() {
    let h = common::open().await;
    let (id, _) = h.create_ok(&create_body()).await;
    let mut body = create_body();
    body["id"] = json!(id);
    body["status"] = json!("entered-in-error");
    let response = h.update(&id, &body, Some("1")).await;
    assert_eq!(response.status(), 400);
    assert!(diagnostics(&json(response).await).contains("status must be one of the following: completed"));
}

#[tokio::test]
async fn vaccine_types_outside_the_supplier_permissions_are_forbidden() {
    let h = common::open().await;
    let mut body = create_body();
    body["protocolApplied"][0]["targetDisease"] =
        json!([{"coding": [{"system": "http://snomed.info/sct", "code": "840539006", "display": "COVID-19"}]}]);
    let response = h.create(&body).await;
    assert_eq!(response.status(), 403);
    let outcome = json(response).await;
    assert_eq!(issue_code(&outcome), "forbidden");
    assert_eq!(diagnostics(&outcome), "Unauthorized request for vaccine type");
}

#[tokio::test]
async fn realistic_bodies_from_the_fixtures_are_accepted() {
    let h = common::open().await;
    let mut names = vec!["immunisation_create.json".to_owned()];
    for name in
        ["fhir_record_full", "fhir_record_half_dose", "fhir_record_unknown_location", "fhir_record_minimum_api_create"]
    {
        names.push(format!("flu/{name}.json"));
    }
    for (index, name) in names.iter().enumerate() {
        let mut body = fixture(name);
        // Several fixtures share an identifier; make each unique so only validation is under test.
        body["identifier"][0]["value"] = json!(format!("fixture-{index}"));
        object(&mut body).remove("id");
        object(&mut body).remove("meta");
        let response = h.create(&body).await;
        assert_eq!(response.status(), 201, "{name}: {}", response.text().await.unwrap());
    }
    // Without an NHS number value (a child PDS has not matched yet) the record is still accepted.
    let mut body = common::body_with_identifier("no-nhs-number");
    body["contained"][1]["identifier"][0].as_object_mut().unwrap().remove("value");
    assert_eq!(h.create(&body).await.status(), 201);
}

//! `GET /Patient?…` over HTTP, with the queries Mavis's cascading search sends (`nhs-apis.md` §2.3–2.4).

mod common;

use common::{Harness, json, open, outcome_code};
use serde_json::{Value, json};

type Query<'a> = &'a [(&'a str, &'a str)];

/// The first step of Mavis's cascade: family, given, `eq` birthdate, postcode, `_history=true`.
fn mavis_query<'a>(family: &'a str, given: &'a str, birthdate: &'a str, postcode: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("family", family),
        ("given", given),
        ("birthdate", birthdate),
        ("address-postalcode", postcode),
        ("_history", "true"),
    ]
}

async fn search_body(pds: &Harness, query: &[(&str, &str)]) -> Value {
    let response = pds.search(query).await;
    assert_eq!(response.status(), 200, "{query:?}");
    assert_eq!(response.headers()["content-type"], "application/fhir+json");
    json(response).await
}

/// The single NHS number found, `None` for an empty bundle, `Some("TOO_MANY_MATCHES")` for too many.
async fn found(pds: &Harness, query: &[(&str, &str)]) -> Option<String> {
    let body = search_body(pds, query).await;
    match body["resourceType"].as_str() {
        Some("Bundle") if body["total"] == 0 => None,
        Some("Bundle") => body["entry"][0]["resource"]["id"].as_str().map(str::to_owned),
        _ => Some(outcome_code(&body).to_owned()),
    }
}

#[tokio::test]
async fn one_match_is_a_searchset_bundle_with_score() {
    let pds = open().await;
    let body = search_body(&pds, &mavis_query("Smith", "Jimmy", "eq2010-01-02", "SW1A 1AA")).await;
    assert_eq!(body["resourceType"], "Bundle");
    assert_eq!(body["type"], "searchset");
    assert_eq!(body["total"], 1);
    assert!(body["timestamp"].as_str().is_some_and(|t| t.ends_with("+00:00")));
    let entry = &body["entry"][0];
    assert_eq!(entry["search"]["score"], json!(1), "an integer, as in the fixture");
    assert_eq!(entry["fullUrl"], pds.pds_url("/Patient/9990000026"));
    assert_eq!(entry["resource"]["resourceType"], "Patient");
    assert_eq!(entry["resource"]["id"], "9990000026");
}

#[tokio::test]
async fn mavis_fixture_searches_find_their_numbers() {
    let pds = open().await;
    let cases = [
        ("Clarke", "Jennifer", "eq2010-01-01", "SW1A 1AA", "9999075320"),
        ("Clarke", "Jennifer", "eq2010-01-01", "SW1A 1AB", "9999075320"),
        ("Smith", "Jimmy", "eq2010-01-02", "SW1A 1AA", "9990000026"),
        ("Doe", "Mark", "eq2010-01-03", "SW1A 1AA", "9435764479"),
        // case and spacing do not matter
        ("DOE", "mark", "eq2010-01-03", "sw1a1aa", "9435764479"),
    ];
    for (family, given, birthdate, postcode, expected) in cases {
        let query = mavis_query(family, given, birthdate, postcode);
        assert_eq!(found(&pds, &query).await.as_deref(), Some(expected), "{query:?}");
    }
}

#[tokio::test]
async fn history_decides_whether_old_postcodes_match() {
    let pds = open().await;
    let with_history = mavis_query("Clarke", "Jennifer", "eq2010-01-01", "SW1A 1AA");
    assert_eq!(found(&pds, &with_history).await.as_deref(), Some("9999075320"));
    let without_history = &with_history[..4];
    assert_eq!(found(&pds, without_history).await, None);
}

#[tokio::test]
async fn no_match_is_an_empty_bundle() {
    let pds = open().await;
    let body = search_body(&pds, &mavis_query("Nobody", "Known", "eq2010-01-01", "SW1A 1AA")).await;
    assert_eq!(body["resourceType"], "Bundle");
    assert_eq!(body["type"], "searchset");
    assert_eq!(body["total"], 0);
    assert_eq!(body["entry"], json!([]));
}

#[tokio::test]
async fn more_than_one_match_is_too_many_matches_inside_a_200() {
    let pds = open().await;
    let body = search_body(&pds, &[("family", "Youds"), ("birthdate", "eq2010-06-15")]).await;
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert_eq!(body["issue"][0]["severity"], "information");
    assert_eq!(body["issue"][0]["code"], "multiple-matches");
    assert_eq!(outcome_code(&body), "TOO_MANY_MATCHES");
    assert_eq!(body["issue"][0]["details"]["coding"][0]["display"], "Too Many Matches");
}

#[tokio::test]
async fn cascade_without_history_separates_two_alex_youds() {
    let pds = open().await;
    let with_history = mavis_query("Youds", "Alex", "eq2010-06-15", "LS6 1AA");
    assert_eq!(found(&pds, &with_history).await.as_deref(), Some("TOO_MANY_MATCHES"));
    assert_eq!(found(&pds, &with_history[..4]).await.as_deref(), Some("9990001006"));
}

#[tokio::test]
async fn wildcards_match_prefixes() {
    let pds = open().await;
    let base = [("birthdate", "eq2010-01-01"), ("_history", "true")];
    for (name, value) in [("family", "Cla*"), ("given", "Jen*"), ("address-postalcode", "SW*")] {
        let mut query = vec![("family", "Clarke"), ("given", "Jennifer"), ("address-postalcode", "SW1A 1AA")];
        query.retain(|(k, _)| *k != name);
        query.push((name, value));
        query.extend(base);
        assert_eq!(found(&pds, &query).await.as_deref(), Some("9999075320"), "{query:?}");
    }
    // the sandbox's example: Sm* on 2010-10-22 matches Smith, Smyth and Smythe
    let sm = [("family", "Sm*"), ("birthdate", "eq2010-10-22")];
    assert_eq!(found(&pds, &sm).await.as_deref(), Some("TOO_MANY_MATCHES"));
}

#[tokio::test]
async fn misplaced_wildcards_are_invalid_search_data() {
    let pds = open().await;
    for (name, value) in
        [("family", "S*"), ("family", "*mith"), ("family", "Sm*th"), ("given", "J*"), ("address-postalcode", "S*")]
    {
        let mut query = vec![("family", "Smith"), ("birthdate", "eq2010-01-02")];
        query.retain(|(k, _)| *k != name);
        query.push((name, value));
        let response = pds.search(&query).await;
        assert_eq!(response.status(), 400, "{query:?}");
        assert_eq!(outcome_code(&json(response).await), "INVALID_SEARCH_DATA", "{query:?}");
    }
}

#[tokio::test]
async fn restricted_patient_is_hidden_from_postcode_searches_only() {
    let pds = open().await;
    let with_postcode = [("family", "Smythe"), ("birthdate", "eq2010-10-22"), ("address-postalcode", "LS1 6AE")];
    assert_eq!(found(&pds, &with_postcode).await, None);

    let body = search_body(&pds, &with_postcode[..2]).await;
    let resource = &body["entry"][0]["resource"];
    assert_eq!(resource["id"], "9000000025");
    assert_eq!(resource["meta"]["security"][0]["code"], "R");
    for field in ["address", "telecom", "generalPractitioner", "contact"] {
        assert!(resource.get(field).is_none(), "{field} must be withheld");
    }

    let get = json(pds.get_patient("9000000025").await).await;
    assert!(get.get("address").is_none());
}

#[tokio::test]
async fn superseded_records_answer_with_their_replacement_and_invalidated_never_match() {
    let pds = open().await;
    // both the old and the new record match; one patient comes back, under the new number
    let query = mavis_query("Newman", "Oliver", "eq2011-03-04", "LS1 5HD");
    assert_eq!(found(&pds, &query).await.as_deref(), Some("9467351307"));
}

#[tokio::test]
async fn search_results_are_reduced_patients() {
    let pds = open().await;
    let body = search_body(&pds, &[("family", "Smith"), ("given", "Jane"), ("birthdate", "eq2010-10-22")]).await;
    let resource = &body["entry"][0]["resource"];
    assert_eq!(resource["id"], "9000000009");
    assert!(resource.get("contact").is_none());
    assert!(resource.get("extension").is_none(), "no pharmacy, communication or preferences");
    assert_eq!(resource["address"].as_array().map(Vec::len), Some(1), "home address only");
    assert_eq!(resource["generalPractitioner"][0]["identifier"]["value"], "Y12345");
}

#[tokio::test]
async fn parameter_errors_follow_pds() {
    let pds = open().await;
    let cases: [(Query, u16, &str); 9] = [
        (&[], 400, "UNSUPPORTED_SERVICE"),
        (&[("family", "Smith")], 400, "MISSING_VALUE"),
        (&[("birthdate", "eq2010-01-02")], 400, "INVALID_SEARCH_DATA"),
        (&[("family", "Smith"), ("birthdate", "2010/01/02")], 400, "INVALID_VALUE"),
        (&[("family", "Smith"), ("birthdate", "eq2010-01-02"), ("surname", "x")], 400, "ADDITIONAL_PROPERTIES"),
        (&[("family", "Smith"), ("birthdate", "eq2010-01-02"), ("gender", "m")], 400, "INVALID_VALUE"),
        (&[("family", "Smith"), ("birthdate", "eq2010-01-02"), ("_history", "yes")], 400, "INVALID_VALUE"),
        (
            &[
                ("family", "Smith"),
                ("birthdate", "eq2010-01-02"),
                ("address-postcode", "A"),
                ("address-postalcode", "A"),
            ],
            400,
            "INVALID_SEARCH_DATA",
        ),
        (&[("family", "Smith"), ("birthdate", "eq2010-01-02"), ("_max-results", "5")], 403, "INVALID_VALUE"),
    ];
    for (query, status, code) in cases {
        let response = pds.search(query).await;
        assert_eq!(response.status().as_u16(), status, "{query:?}");
        assert_eq!(outcome_code(&json(response).await), code, "{query:?}");
    }
    let body = json(pds.search(&[("family", "Smith")]).await).await;
    assert_eq!(
        body["issue"][0]["diagnostics"],
        "Missing value - 'birth_date/birth_date_range_start/birth_date_range_end'"
    );
}

#[tokio::test]
async fn birthdate_ranges_and_fuzzy_matching() {
    let pds = open().await;
    let range = [("family", "Smith"), ("given", "Jimmy"), ("birthdate", "ge2010-01-01"), ("birthdate", "le2010-01-31")];
    assert_eq!(found(&pds, &range).await.as_deref(), Some("9990000026"));

    let fuzzy = [("family", "Smyth"), ("given", "Jimmy"), ("birthdate", "eq2010-01-02"), ("_fuzzy-match", "true")];
    let body = search_body(&pds, &fuzzy).await;
    assert_eq!(body["entry"][0]["resource"]["id"], "9990000026");
    assert!(body["entry"][0]["search"]["score"].as_f64().is_some_and(|s| s < 1.0));
    let exact_only = [&fuzzy[..], &[("_exact-match", "true")]].concat();
    assert_eq!(found(&pds, &exact_only).await, None);

    let fuzzy_wildcard =
        [("family", "Smy*"), ("given", "Jimmy"), ("birthdate", "eq2010-01-02"), ("_fuzzy-match", "true")];
    assert_eq!(pds.search(&fuzzy_wildcard).await.status(), 400);
}

#[tokio::test]
async fn twins_overlay_can_be_posted_at_runtime_and_reset() {
    let pds = open().await;
    let query = mavis_query("Doe", "Mark", "eq2010-01-03", "SW1A 1AA");
    assert_eq!(found(&pds, &query).await.as_deref(), Some("9435764479"));

    let overlay: Value = serde_json::from_str(include_str!("../data/overlay-twins.json")).unwrap();
    let posted = pds.client.post(pds.admin_url("/patients")).json(&overlay).send().await.unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(found(&pds, &query).await.as_deref(), Some("9449306168"), "fixture-outcomes §2.1 D");
    assert_eq!(json(pds.get_patient("9435764479").await).await["id"], "9449306168");

    let bad = json!({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "id": "123"}}]});
    let rejected = pds.client.post(pds.admin_url("/patients")).json(&bad).send().await.unwrap();
    assert_eq!(rejected.status(), 400);
    assert!(json(rejected).await["error"].as_str().is_some_and(|e| e.contains("not a valid NHS number")));

    let reset = pds.client.delete(pds.admin_url("/patients")).send().await.unwrap();
    assert_eq!(reset.status(), 204);
    assert_eq!(found(&pds, &query).await.as_deref(), Some("9435764479"));
}

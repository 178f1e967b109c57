//! Our NHS API traffic against NHS Digital's published OpenAPI specifications: the PDS and Immunisations scenario
//! suites (all but the injected faults) run with their requests passing through Stoplight Prism in proxy mode in
//! front of the emulators, so our clients' requests and the emulators' answers are both checked. Any violation other
//! than the places where the specification is stricter than the API (`../shared/nhs-specs/README.md`) fails.
//! A request that breaks the specification on purpose first proves that the check is live.

use std::sync::{Arc, Mutex};

use integration_tests::harness::Harness;
use integration_tests::imms_scenarios::{self, Rig};
use integration_tests::pds_scenarios::{self, Pds};
use integration_tests::prism::{self, Known, Log, Violation};
use shared::adapters::embedded_queue::EmbeddedQueue;
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::ports::{Queue, RecordStore};

/// Where the Immunisations specification is stricter or less complete than the API (nhs-specs/README.md), and the
/// echo Prism adds for each failing Bundle entry.
const IMMS_KNOWN: &[Known] = &[
    Known {
        location: "response.header.location",
        message: "Response header parameter location must match pattern",
        why: "the spec describes Location on a 201 as a bare UUID; the API sends {service}/Immunization/{id}",
    },
    Known {
        location: "request.query.-immunization.target",
        message: "Request query parameter -immunization.target must be equal to one of the allowed values",
        why: "the spec models -immunization.target as one enum value; the API takes a comma-separated list",
    },
    Known {
        location: "request.query",
        message: "Request query must have required property 'patient.identifier'",
        why: "search by identifier (with _elements=id,meta) is implemented by the API but not described",
    },
    Known {
        location: "response.body",
        message: "Response body must have required property",
        why: "the read schema requires fields the create schema does not (and _elements answers lack)",
    },
    Known {
        location: "response.body.entry.N.resource",
        message: "Response body property entry.N.resource must have required property",
        why: "the search schema requires fields the create schema does not (and _elements answers lack)",
    },
    Known {
        location: "response.body.performer",
        message: "Response body property performer must NOT have more than 1 items",
        why: "the read schema allows one performer; the create schema and the API take the organisation and the person",
    },
    Known {
        location: "response.body.performer.N.actor",
        message: "Response body property performer.N.actor must have required property",
        why: "the read schema requires actor.type and actor.identifier; records are returned as submitted",
    },
    Known {
        location: "response.body.entry.N.resource.performer.N.actor",
        message: "Response body property entry.N.resource.performer.N.actor must have required property",
        why: "as for the read: the search schema requires actor.type and actor.identifier",
    },
    Known {
        location: "response.body.entry.N.resource.performer",
        message: "Response body property entry.N.resource.performer must NOT have more than 1 items",
        why: "as for the read: one performer in the search schema",
    },
    Known {
        location: "response.body.reasonCode.N.coding.N",
        message: "Response body property reasonCode.N.coding.N must have required property 'display'",
        why: "the read schema requires reasonCode coding display; the create schema does not",
    },
    Known {
        location: "response.body.entry.N.resource.reasonCode.N.coding.N",
        message: "Response body property entry.N.resource.reasonCode.N.coding.N must have required property 'display'",
        why: "the search schema requires reasonCode coding display; the create schema does not",
    },
    Known {
        location: "response.body.vaccineCode.coding.N",
        message: "Response body property vaccineCode.coding.N must have required property 'display'",
        why: "GP-recorded history often lacks the display; the API returns records as submitted",
    },
    Known {
        location: "response.body.entry.N.resource.vaccineCode.coding.N",
        message: "Response body property entry.N.resource.vaccineCode.coding.N must have required property 'display'",
        why: "GP-recorded history often lacks the display; the API returns records as submitted",
    },
    Known {
        location: "response.body.entry.N.resource.resourceType",
        message: "Response body property entry.N.resource.resourceType must be equal to one of the allowed values: Patient",
        why: "Prism's echo of a failing entry: the entry schema is a oneOf of Immunization and Patient",
    },
    Known {
        location: "response.body.entry.N.resource",
        message: "Response body property entry.N.resource must match exactly one schema in oneOf",
        why: "Prism's echo of a failing entry: the entry schema is a oneOf of Immunization and Patient",
    },
];

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn listed(violations: &[Violation]) -> String {
    violations.iter().map(|v| format!("\n  {} {} {}: {}", v.request, v.severity, v.location, v.message)).collect()
}

/// A request without the X-Request-ID PDS requires is reported: Prism is checking, not only forwarding.
async fn assert_prism_checks(dir: &std::path::Path) {
    let log = log();
    let pds = Pds::start().await;
    let prism = prism::Prism::proxy(dir, prism::Spec::Pds, &pds.emulator.base_url, &log).await;
    let url = format!("{}{}/Patient/9000000009", prism.base_url, shared::cloud::PDS_PATH);
    reqwest::Client::new().get(url).send().await.expect("through prism");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let found = prism::violations(&log);
    assert!(
        found.iter().any(|v| v.location == "request.header" && v.message.contains("'x-request-id'")),
        "Prism reports a request that breaks the specification: {}",
        listed(&found)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_the_pds_scenarios_run_through_prism_should_break_no_rule_of_the_published_specification() {
    let Some(dir) = prism::dir_or_skip("nhs_api_conformance") else {
        return;
    };
    assert_prism_checks(&dir).await;
    let log = log();
    pds_scenarios::without_faults(&Harness::embedded, || Pds::behind_prism(&dir, &log)).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let requests = prism::requests(&log);
    let searched = requests.iter().any(|r| r.split('?').next() == Some("GET /personal-demographics/FHIR/R4/Patient"));
    let read = requests.iter().any(|r| r.starts_with("GET /personal-demographics/FHIR/R4/Patient/"));
    assert!(searched && read, "searches and reads passed through Prism: {:?}", &requests[..requests.len().min(5)]);
    // PDS has no known differences that our traffic meets: every violation fails.
    let unexpected = prism::unexpected(&prism::violations(&log), &[]);
    assert!(unexpected.is_empty(), "{} requests, violations:{}", requests.len(), listed(&unexpected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_the_immunisations_scenarios_run_through_prism_should_break_no_rule_but_the_known_ones() {
    let Some(dir) = prism::dir_or_skip("nhs_api_conformance") else {
        return;
    };
    let log = log();
    imms_scenarios::all(|preload| {
        let (dir, log) = (dir.clone(), log.clone());
        async move {
            let records: Arc<dyn RecordStore> = Arc::new(SqliteRecordStore::in_memory().expect("sqlite"));
            let queue: Arc<dyn Queue> = Arc::new(EmbeddedQueue::in_memory(20).expect("queue"));
            Rig::start(records, queue, preload).await.behind_prism(&dir, &log).await
        }
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let requests = prism::requests(&log);
    for expected in ["POST /immunisation-fhir-api/FHIR/R4/Immunization", "PUT ", "DELETE ", "GET "] {
        assert!(requests.iter().any(|r| r.starts_with(expected)), "the traffic passed through Prism: {expected}");
    }
    let violations = prism::violations(&log);
    assert!(
        violations.iter().any(|v| v.location == "response.header.location"),
        "the known difference of every create (Location) is read from Prism's log"
    );
    let unexpected = prism::unexpected(&violations, IMMS_KNOWN);
    assert!(unexpected.is_empty(), "{} requests, violations:{}", requests.len(), listed(&unexpected));
}

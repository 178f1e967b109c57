//! `GET /api/imports/{id}/patients` and the PDS fields of `GET /api/imports/{id}`: the import's patients for its own
//! team only, restricted patients without their postcode, and the progress and updated NHS numbers as stored.

use axum::http::{Method, StatusCode};
use chrono::NaiveDate;
use serde_json::{Value, json};
use shared::domain::import::{ImportPhase, ImportProgress, NhsNumberUpdate};
use shared::domain::patient::{ChildAttributes, Patient, SchoolPlacement};
use shared::domain::{AcademicYear, Import, ImportKind, ImportStatus};
use shared::store::{imports, patients};
use uuid::Uuid;

const NURSE: &str = "nurse@example.com";
const OTHER_TEAM_NURSE: &str = "nurse2@example.com";

mod common;

use common::TestApi as TestApp;

impl TestApp {
    async fn get(&self, uri: &str, as_user: &str) -> (StatusCode, Value) {
        self.send(Method::GET, uri, Some(as_user)).await
    }

    /// A processed import of team r1l with two patients, one of them restricted, deceased and invalidated.
    async fn import_with_patients(&self) -> (Uuid, Patient, Patient) {
        let today = NaiveDate::from_ymd_opt(2023, 5, 20).expect("date");
        let now = recorded_at();
        let import = Import {
            id: Uuid::new_v4(),
            team_id: "r1l".into(),
            kind: ImportKind::ChildRecords,
            status: ImportStatus::Processed,
            object_key: "uploads/r1l/x/cohort.csv".into(),
            filename: Some("cohort.csv".into()),
            uploaded_by: Some(NURSE.into()),
            academic_year: AcademicYear::pending(today),
            school_urn: None,
            year_groups: vec![],
            row_count: Some(2),
            counts: None,
            file_error: None,
            rows_with_errors: 0,
            errors: vec![],
            today,
            created_at: now,
            updated_at: now,
            processed_at: Some(now),
            progress: Some(ImportProgress::new(ImportPhase::Pds, 2, 2)),
            pds_match: None,
            nhs_numbers_updated: vec![NhsNumberUpdate {
                row: 2,
                uploaded: "9990000018".into(),
                pds: "9999075320".into(),
            }],
            object_version: None,
            failure_reason: None,
        };
        imports::create(self.records.as_ref(), &import).await.expect("import");
        let jennifer = patient("Jennifer", "Clarke", "9999075320");
        let mut hidden = patient("Janet", "Smythe", "9000000025");
        hidden.restricted_at = Some(now);
        hidden.invalidated_at = Some(now);
        hidden.date_of_death = NaiveDate::from_ymd_opt(2023, 1, 1);
        for (row, p) in [(2, &jennifer), (3, &hidden)] {
            self.records.transact(vec![patients::put_patient_op(p, None)]).await.expect("patient");
            self.records.batch_put(vec![patients::import_link_item(import.id, p.id, row)]).await.expect("link");
        }
        (import.id, jennifer, hidden)
    }
}

fn patient(given: &str, family: &str, nhs_number: &str) -> Patient {
    let now = recorded_at();
    Patient {
        team_ids: vec!["r1l".into()],
        ..Patient::new(
            Uuid::new_v4(),
            ChildAttributes {
                given_name: Some(given.into()),
                family_name: Some(family.into()),
                nhs_number: Some(nhs_number.into()),
                date_of_birth: NaiveDate::from_ymd_opt(2010, 1, 1),
                address_postcode: Some("SW1A 1AA".into()),
                ..ChildAttributes::default()
            },
            SchoolPlacement::Unknown,
            now,
        )
    }
}

#[tokio::test]
async fn import_patients_should_list_them_with_restricted_postcodes_hidden() {
    let app = TestApp::new(None);
    let (id, jennifer, hidden) = app.import_with_patients().await;
    let (status, body) = app.get(&format!("/api/imports/{id}/patients"), NURSE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = body["patients"].as_array().expect("patients");
    assert_eq!(listed.len(), 2);
    let find = |id: Uuid| listed.iter().find(|p| p["id"] == json!(id)).expect("listed").clone();
    assert_eq!(
        find(jennifer.id),
        json!({"id": jennifer.id, "given_name": "Jennifer", "family_name": "Clarke", "date_of_birth": "2010-01-01",
               "nhs_number": "9999075320", "postcode": "SW1A 1AA",
               "restricted": false, "deceased": false, "invalidated": false})
    );
    let hidden_view = find(hidden.id);
    assert_eq!(hidden_view["postcode"], Value::Null);
    assert_eq!(hidden_view["restricted"], true);
    assert_eq!(hidden_view["deceased"], true);
    assert_eq!(hidden_view["invalidated"], true);
}

#[tokio::test]
async fn import_patients_should_be_not_found_for_another_team_or_a_bad_id() {
    let app = TestApp::new(None);
    let (id, _, _) = app.import_with_patients().await;
    let (status, body) = app.get(&format!("/api/imports/{id}/patients"), OTHER_TEAM_NURSE).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = app.get("/api/imports/not-a-uuid/patients", NURSE).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get(&format!("/api/imports/{}/patients", Uuid::new_v4()), NURSE).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn show_import_should_expose_pds_progress_and_updated_numbers() {
    let app = TestApp::new(None);
    let (id, _, _) = app.import_with_patients().await;
    let (status, body) = app.get(&format!("/api/imports/{id}"), NURSE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["uploaded_by_name"], "USER, Test");
    assert_eq!(body["pds_match"], json!(null));
    assert_eq!(
        body["progress"],
        json!({"phase": "pds", "done": 2, "total": 2, "text": "2 of 2 records checked with PDS"})
    );
    assert_eq!(body["nhs_numbers_updated"], json!([{"row": 2, "uploaded": "9990000018", "pds": "9999075320"}]));
}

/// When this file's records were written: a fixed instant, so that nothing here depends on when the tests run.
fn recorded_at() -> chrono::DateTime<chrono::Utc> {
    "2025-10-06T10:00:00Z".parse().expect("instant")
}

#[tokio::test]
async fn import_patients_should_come_a_hundred_a_page_with_the_total() {
    let app = TestApp::new(None);
    let (id, _, _) = app.import_with_patients().await;
    let mut links = Vec::new();
    let mut ops = Vec::new();
    for n in 0..118 {
        let child = patient("Pat", &format!("Row{n}"), &format!("{:010}", 9_000_100_000u64 + n));
        ops.push(patients::put_patient_op(&child, None));
        links.push(patients::import_link_item(id, child.id, n + 4));
    }
    for chunk in ops.chunks(50) {
        app.records.transact(chunk.to_vec()).await.expect("patients");
    }
    app.records.batch_put(links).await.expect("links");

    let (status, first) = app.get(&format!("/api/imports/{id}/patients"), NURSE).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["total"], 120);
    assert_eq!(first["patients"].as_array().map(Vec::len), Some(100));
    let next = first["next"].as_str().expect("a next page");
    let (status, second) = app.get(&format!("/api/imports/{id}/patients?cursor={next}"), NURSE).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["patients"].as_array().map(Vec::len), Some(20));
    assert_eq!(second["next"], Value::Null);
    let ids: std::collections::BTreeSet<String> = [&first, &second]
        .iter()
        .flat_map(|page| page["patients"].as_array().expect("patients").iter().map(|p| p["id"].to_string()))
        .collect();
    assert_eq!(ids.len(), 120, "every patient once");
    let (status, _) = app.get(&format!("/api/imports/{id}/patients?cursor=bogus"), NURSE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

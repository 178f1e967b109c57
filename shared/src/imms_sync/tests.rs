//! The decision table, eligibility, status and de-duplication, without I/O.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use uuid::Uuid;

use super::history::deduplicate;
use super::rules::*;
use crate::domain::Programme;
use crate::domain::patient::{ChildAttributes, Patient, SchoolPlacement};
use crate::domain::vaccination::{Performer, RecordSource, VaccinationDetails, VaccinationOutcome, VaccinationRecord};
use crate::fhir::ApiRecord;
use crate::store::imms::{ImmsLink, PendingMarker};

fn details(source: RecordSource) -> VaccinationDetails {
    VaccinationDetails {
        programme: Programme::Flu,
        vaccine: Some("fluenz".into()),
        disease_types: vec!["influenza".into()],
        outcome: VaccinationOutcome::Administered,
        performed_at: "2025-10-01T10:00:00Z".parse().unwrap(),
        time_given: true,
        batch_number: None,
        batch_expiry: None,
        delivery_site: None,
        delivery_method: None,
        dose_sequence: Some(1),
        full_dose: true,
        performer: Performer::default(),
        supplier_email: None,
        performed_ods_code: None,
        notes: None,
        session_id: None,
        location: None,
        location_name: None,
        source,
        notify_parents: Some(true),
        protocol: None,
        local_patient_id: None,
        local_patient_id_uri: None,
    }
}

fn record() -> VaccinationRecord {
    let now = crate::clock::test_instant();
    VaccinationRecord {
        id: Uuid::new_v4(),
        patient_id: Uuid::new_v4(),
        team_id: "r1l".into(),
        details: details(RecordSource::Service),
        pending_changes: BTreeMap::new(),
        discarded_at: None,
        created_at: now,
        updated_at: now,
    }
}

fn patient(nhs: Option<&str>) -> Patient {
    let now = crate::clock::test_instant();
    Patient::new(
        Uuid::new_v4(),
        ChildAttributes { nhs_number: nhs.map(String::from), ..ChildAttributes::default() },
        SchoolPlacement::Unknown,
        now,
    )
}

#[test]
fn decision_table_follows_section_6_3() {
    assert_eq!(decide(true, true), Action::Update);
    assert_eq!(decide(true, false), Action::Delete);
    assert_eq!(decide(false, true), Action::Create);
    assert_eq!(decide(false, false), Action::Nothing);
}

#[test]
fn eligibility_gives_the_user_guide_reasons() {
    let with_number = patient(Some("9449310475"));
    assert_eq!(eligibility(&record(), Some(&with_number)), Ok(()));
    let mut gillick = record();
    gillick.details.notify_parents = Some(false);
    assert_eq!(eligibility(&gillick, Some(&with_number)).unwrap_err().reason(), REASON_GILLICK);
    assert!(REASON_GILLICK.contains("You must let the child's GP know they were vaccinated"));
    assert_eq!(
        eligibility(&record(), Some(&patient(None))).unwrap_err().reason(),
        "You must add an NHS number to the child's record before this record will sync"
    );
    let mut refused = record();
    refused.details.outcome = VaccinationOutcome::Refused;
    assert_eq!(eligibility(&refused, Some(&with_number)), Err(NotSynced::NotGiven));
    let mut discarded = record();
    discarded.discarded_at = Some(crate::clock::test_instant());
    assert_eq!(eligibility(&discarded, Some(&with_number)), Err(NotSynced::Discarded));
}

#[test]
fn status_is_synced_pending_failed_or_not_synced() {
    let now = crate::clock::test_instant();
    let r = record();
    let p = patient(Some("9449310475"));
    let synced = ImmsLink { record_id: r.id, synced_at: Some(now), ..ImmsLink::default() };
    let fresh = PendingMarker { record_id: r.id, pending_at: now - Duration::minutes(1) };
    let old = PendingMarker { record_id: r.id, pending_at: now - Duration::hours(25) };
    let s = |link, marker| status(&r, Some(&p), link, marker, now).unwrap().status;
    assert_eq!(s(Some(&synced), None), SyncState::Synced);
    assert_eq!(s(Some(&synced), Some(&fresh)), SyncState::Pending);
    assert_eq!(s(None, Some(&old)), SyncState::Failed);
    let no_number = status(&r, Some(&patient(None)), None, None, now).unwrap();
    assert_eq!((no_number.status, no_number.reason), (SyncState::NotSynced, Some(REASON_NO_NHS_NUMBER)));
    let mut history = record();
    history.details.source = RecordSource::NhsImmunisationsApi;
    assert_eq!(status(&history, Some(&p), None, None, now), None, "records from elsewhere have no sync status");
}

fn found(system: &str, primary: bool, day: &str) -> ApiRecord {
    let mut details = details(RecordSource::NhsImmunisationsApi);
    details.performed_at = format!("{day}T10:00:00Z").parse().unwrap();
    ApiRecord {
        api_id: Uuid::new_v4().to_string(),
        version: 1,
        identifier_system: system.into(),
        identifier_value: Uuid::new_v4().to_string(),
        primary_source: primary,
        details,
    }
}

#[test]
fn dedup_drops_ours_and_prefers_primary_sources() {
    let gp = "https://gp.example/ids";
    let ours_sent = found(crate::fhir::RECORD_IDENTIFIER_SYSTEM, true, "2025-10-02");
    let same_day_as_ours = found(gp, true, "2025-10-01");
    let primary = found(gp, true, "2025-11-01");
    let secondary = found(gp, false, "2025-11-01");
    let lone_secondary = found(gp, false, "2025-12-01");
    let ours: BTreeSet<_> = [("2025-10-01".parse().unwrap(), Programme::Flu)].into();
    let (kept, skipped) =
        deduplicate(vec![ours_sent, same_day_as_ours, primary.clone(), secondary, lone_secondary.clone()], &ours);
    let kept_ids: Vec<_> = kept.iter().map(|r| r.api_id.clone()).collect();
    assert_eq!(kept_ids, [primary.api_id, lone_secondary.api_id]);
    assert_eq!(skipped, 3);
}

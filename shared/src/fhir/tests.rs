//! The mappings against the reference service's fixtures (../shared/fixtures/mavis/fhir).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::*;
use crate::domain::patient::{ChildAttributes, Gender, Patient, SchoolPlacement};
use crate::domain::reference::{Team, TeamKind, User};
use crate::domain::vaccination::{
    DeliveryMethod, DeliverySite, Performer, RecordSource, VaccinationDetails, VaccinationOutcome, VaccinationRecord,
};
use crate::domain::{Programme, ReferenceData};
use crate::reference::vaccines::VaccineCatalogue;

fn fixture(name: &str) -> Value {
    let path = format!("{}/../../shared/fixtures/mavis/fhir/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

fn reference() -> ReferenceData {
    ReferenceData {
        teams: vec![Team {
            id: "t1".into(),
            ods_code: "A9A5A".into(),
            name: "Team".into(),
            kind: TeamKind::PointOfCare,
            programmes: vec![Programme::Hpv],
            year_groups: vec![8],
            generic_clinic_id: Some("clinic-1".into()),
            reject_low_pds_match_rate: false,
            national_reporting_cut_off_date: None,
        }],
        users: vec![User {
            email: "florence@example.com".into(),
            team_id: "t1".into(),
            given_name: "Florence".into(),
            family_name: "Nightingale".into(),
            super_admin: false,
        }],
        ..ReferenceData::default()
    }
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// The record behind `immunisation_create.json`.
fn fixture_record() -> (VaccinationRecord, Patient) {
    let patient = Patient {
        team_ids: vec!["t1".into()],
        ..Patient::new(
            Uuid::new_v4(),
            ChildAttributes {
                given_name: Some("Sarah".into()),
                family_name: Some("Taylor".into()),
                date_of_birth: NaiveDate::from_ymd_opt(2011, 9, 9),
                gender: Some(Gender::NotKnown),
                nhs_number: Some("9449310475".into()),
                address_postcode: Some("EC1A 1BB".into()),
                ..ChildAttributes::default()
            },
            SchoolPlacement::Unknown,
            at("2021-01-01T00:00:00Z"),
        )
    };
    let record = VaccinationRecord {
        id: "11112222-3333-4444-5555-666677778888".parse().unwrap(),
        patient_id: patient.id,
        team_id: "t1".into(),
        details: VaccinationDetails {
            programme: Programme::Hpv,
            vaccine: Some("gardasil".into()),
            disease_types: vec!["human_papillomavirus".into()],
            outcome: VaccinationOutcome::Administered,
            performed_at: at("2021-02-07T13:28:17.271Z"),
            time_given: true,
            batch_number: Some("X8U375AL".into()),
            batch_expiry: NaiveDate::from_ymd_opt(2023, 3, 20),
            delivery_site: Some(DeliverySite::LeftArmUpperPosition),
            delivery_method: Some(DeliveryMethod::Intramuscular),
            dose_sequence: Some(1),
            full_dose: true,
            performer: Performer { user_email: Some("florence@example.com".into()), ..Performer::default() },
            supplier_email: None,
            performed_ods_code: Some("A9A5A".into()),
            notes: None,
            session_id: None,
            location: Some("clinic-1".into()),
            location_name: None,
            source: RecordSource::Service,
            notify_parents: Some(true),
            protocol: None,
            local_patient_id: None,
            local_patient_id_uri: None,
        },
        pending_changes: BTreeMap::new(),
        discarded_at: None,
        created_at: at("2021-02-07T13:28:17.271Z"),
        updated_at: at("2021-02-07T13:28:17.271Z"),
    };
    (record, patient)
}

#[test]
fn a_recorded_vaccination_maps_to_the_create_fixture() {
    let (record, patient) = fixture_record();
    let body = to_immunization(&record, &patient, &reference(), &VaccineCatalogue::bundled(), None).unwrap();
    assert_eq!(body, fixture("immunisation_create.json"));
}

#[test]
fn an_update_carries_the_api_id_as_in_the_update_fixture() {
    let (record, patient) = fixture_record();
    let id = Some("ffff1111-eeee-2222-dddd-3333eeee4444");
    let body = to_immunization(&record, &patient, &reference(), &VaccineCatalogue::bundled(), id).unwrap();
    assert_eq!(body, fixture("immunisation_update.json"));
}

#[test]
fn unsendable_records_are_refused_and_summer_time_uses_plus_one() {
    let (mut record, mut patient) = fixture_record();
    let catalogue = VaccineCatalogue::bundled();
    record.details.performed_at = at("2025-09-10T09:00:00Z");
    patient.attributes.nhs_number = None;
    let body = to_immunization(&record, &patient, &reference(), &catalogue, None).unwrap();
    assert_eq!(body["occurrenceDateTime"], "2025-09-10T10:00:00.000+01:00");
    assert!(body.pointer("/contained/1/identifier/0/value").is_none(), "no NHS number, no value");
    record.details.dose_sequence = None;
    let body = to_immunization(&record, &patient, &reference(), &catalogue, None).unwrap();
    assert_eq!(body["protocolApplied"][0]["doseNumberString"], "Unknown");
    record.details.outcome = VaccinationOutcome::Refused;
    assert_eq!(to_immunization(&record, &patient, &reference(), &catalogue, None), Err(MappingError::NotAdministered));
}

#[test]
fn search_results_map_back_to_each_programme() {
    let catalogue = VaccineCatalogue::bundled();
    let bundle = crate::nhs_api::immunisations::search_bundle(&fixture("search_response_all_programmes.json")).unwrap();
    let records: Vec<ApiRecord> =
        bundle.immunizations.iter().map(|r| from_immunization(r, &catalogue, &reference()).unwrap()).collect();
    let programmes: Vec<(Programme, Option<&str>)> =
        records.iter().map(|r| (r.details.programme, r.details.vaccine.as_deref())).collect();
    assert_eq!(
        programmes,
        [
            (Programme::TdIpv, Some("revaxis")),
            (Programme::Flu, Some("fluenz")),
            (Programme::Hpv, Some("gardasil_9")),
            (Programme::Menacwy, Some("menveo")),
            (Programme::Mmr, Some("priorix")),
            (Programme::Mmr, Some("priorix_tetra")),
        ]
    );
    let flu = &records[1];
    assert_eq!(flu.api_id, "7733fb74-8a99-469b-a31c-b8318ac34e77");
    assert_eq!(flu.details.source, RecordSource::NhsImmunisationsApi);
    assert_eq!(flu.details.delivery_method, Some(DeliveryMethod::NasalSpray));
    assert_eq!(flu.details.performed_at, at("2025-11-12T14:43:04Z"));
    assert!(flu.details.full_dose && flu.primary_source);
    assert_eq!(flu.details.location_name.as_deref(), Some("100005"), "a school this service does not know");
    assert_eq!(records[5].details.disease_types.len(), 4, "MMRV");
}

#[test]
fn single_records_map_dose_vaccine_and_status() {
    let catalogue = VaccineCatalogue::bundled();
    let map = |name: &str| from_immunization(&fixture(name), &catalogue, &reference());
    let half = map("flu/fhir_record_half_dose.json").unwrap();
    assert!(!half.details.full_dose);
    let unknown = map("flu/fhir_record_unknown_vaccine.json").unwrap();
    assert_eq!(unknown.details.vaccine, None);
    assert!(unknown.details.notes.as_deref().unwrap_or_default().starts_with("SNOMED product code: "));
    let gp = map("flu/fhir_record_gp.json").unwrap();
    assert_eq!(gp.details.programme, Programme::Flu);
    let mut not_done = fixture("flu/fhir_record_minimum.json");
    not_done["status"] = "not-done".into();
    assert_eq!(from_immunization(&not_done, &catalogue, &reference()), Err(InboundError::NotDone));
    let mavis = map("hpv/fhir_record_from_mavis.json").unwrap();
    assert_eq!(mavis.identifier_system, RECORD_IDENTIFIER_SYSTEM);
    assert_eq!(mavis.version, 1);
}

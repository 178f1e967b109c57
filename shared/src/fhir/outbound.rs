//! A vaccination record → the Immunization resource sent to the Immunisations API (nhs-apis.md §5).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::codes::{self, SNOMED, Variant};
use crate::domain::ReferenceData;
use crate::domain::patient::{Gender, Patient};
use crate::domain::vaccination::{RecordSource, VaccinationOutcome, VaccinationRecord};
use crate::nhs_api::immunisations::NHS_NUMBER_SYSTEM;
use crate::reference::vaccines::VaccineCatalogue;

/// The identifier system of records recorded in this service.
pub const RECORD_IDENTIFIER_SYSTEM: &str = "http://manage-vaccinations-in-schools.nhs.uk/vaccination_records";
/// The identifier system of national-reporting uploads.
pub const NATIONAL_REPORTING_IDENTIFIER_SYSTEM: &str =
    "http://manage-vaccinations-in-schools.nhs.uk/national-reporting/vaccination-records";
const PROCEDURE_EXTENSION: &str = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-VaccinationProcedure";
const ODS_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
const URN_SYSTEM: &str = "https://fhir.hl7.org.uk/Id/urn-school-number";
const UNKNOWN_LOCATION: &str = "X99999";
const UNKNOWN_POSTCODE: &str = "ZZ99 3WZ";

/// Why a record cannot be sent (the API accepts only administered vaccinations).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("only administered vaccinations can be sent")]
    NotAdministered,
    #[error("a discarded record cannot be sent")]
    Discarded,
}

/// The record's supplier identifier `(system, value)`.
pub fn identifier(record: &VaccinationRecord) -> (&'static str, String) {
    let system = match record.details.source {
        RecordSource::NationalReporting => NATIONAL_REPORTING_IDENTIFIER_SYSTEM,
        _ => RECORD_IDENTIFIER_SYSTEM,
    };
    (system, record.id.to_string())
}

/// `2021-02-07T13:28:17.271+00:00`: milliseconds and the Europe/London offset (the API refuses `Z`).
pub fn fhir_date_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::London).format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

fn coding(code: &str, display: &str) -> Value {
    json!({"system": SNOMED, "code": code, "display": display})
}

fn gender(gender: Option<Gender>) -> &'static str {
    match gender {
        Some(Gender::Male) => "male",
        Some(Gender::Female) => "female",
        Some(Gender::NotSpecified) => "other",
        Some(Gender::NotKnown) | None => "unknown",
    }
}

fn human_name(family: Option<&str>, given: Option<&str>) -> Value {
    let mut name = Map::new();
    if let Some(family) = family {
        name.insert("family".into(), json!(family));
    }
    if let Some(given) = given {
        name.insert("given".into(), json!([given]));
    }
    Value::Object(name)
}

/// The Immunization for `record`; `api_id` is set on updates.
pub fn to_immunization(
    record: &VaccinationRecord,
    patient: &Patient,
    reference: &ReferenceData,
    catalogue: &VaccineCatalogue,
    api_id: Option<&str>,
) -> Result<Value, MappingError> {
    let d = &record.details;
    if d.outcome != VaccinationOutcome::Administered {
        return Err(MappingError::NotAdministered);
    }
    if record.discarded_at.is_some() {
        return Err(MappingError::Discarded);
    }
    let vaccine = d.vaccine.as_deref().and_then(|key| catalogue.by_key(key));
    let disease_types = vaccine.map(|v| v.disease_types.as_slice()).unwrap_or(&d.disease_types);
    let variant = Variant::of(d.programme, disease_types);
    let a = &patient.attributes;

    let mut contained = Vec::new();
    let mut performers = Vec::new();
    let user = d.performer.user_email.as_deref().and_then(|email| reference.user(email));
    let performer_name = match user {
        Some(user) => Some((Some(user.family_name.as_str()), Some(user.given_name.as_str()))),
        None if d.performer.family_name.is_some() || d.performer.given_name.is_some() => {
            Some((d.performer.family_name.as_deref(), d.performer.given_name.as_deref()))
        }
        None => None,
    };
    if let Some((family, given)) = performer_name {
        contained
            .push(json!({"resourceType": "Practitioner", "id": "Practitioner1", "name": [human_name(family, given)]}));
        performers.push(json!({"actor": {"reference": "#Practitioner1"}}));
    }
    let mut patient_identifier = json!({"system": NHS_NUMBER_SYSTEM});
    if let Some(nhs_number) = &a.nhs_number {
        patient_identifier["value"] = json!(nhs_number);
    }
    let mut contained_patient = json!({
        "resourceType": "Patient",
        "id": "Patient1",
        "identifier": [patient_identifier],
        "name": [human_name(a.family_name.as_deref(), a.given_name.as_deref())],
        "gender": gender(a.gender),
        "address": [{"postalCode": a.address_postcode.as_deref().unwrap_or(UNKNOWN_POSTCODE)}],
    });
    if let Some(birth_date) = a.date_of_birth {
        contained_patient["birthDate"] = json!(birth_date.format("%Y-%m-%d").to_string());
    }
    contained.push(contained_patient);

    let team_ods = reference.team(&record.team_id).map(|team| team.ods_code.as_str());
    let ods = d.performed_ods_code.as_deref().or(team_ods).unwrap_or(UNKNOWN_LOCATION);
    performers.push(json!({"actor": {"type": "Organization", "identifier": {"system": ODS_SYSTEM, "value": ods}}}));

    let (procedure_code, procedure_display) = codes::procedure(variant, vaccine, d.dose_sequence);
    let (system, value) = identifier(record);
    let mut resource = json!({
        "resourceType": "Immunization",
        "contained": contained,
        "extension": [{"url": PROCEDURE_EXTENSION,
            "valueCodeableConcept": {"coding": [coding(procedure_code, procedure_display)]}}],
        "identifier": [{"system": system, "value": value}],
        "status": "completed",
        "vaccineCode": match vaccine {
            Some(v) => json!({"coding": [coding(&v.snomed_product_code, &v.snomed_product_term)]}),
            None => json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
                "code": "UNK", "display": "Unknown"}]}),
        },
        "patient": {"reference": "#Patient1"},
        "occurrenceDateTime": fhir_date_time(d.performed_at),
        "recorded": fhir_date_time(record.created_at),
        "primarySource": d.source != RecordSource::NationalReporting,
        "location": location(record, reference),
        "performer": performers,
        "reasonCode": [{"coding": [{"system": SNOMED, "code": "723620004"}]}],
        "protocolApplied": [protocol_applied(variant, d.dose_sequence)],
    });
    let fields = resource.as_object_mut().expect("an object literal");
    if let Some(id) = api_id {
        fields.insert("id".into(), json!(id));
    }
    if let Some(v) = vaccine {
        fields.insert("manufacturer".into(), json!({"display": v.manufacturer}));
        let volume = if d.full_dose { v.dose_volume_ml } else { v.dose_volume_ml / 2.0 };
        fields.insert(
            "doseQuantity".into(),
            json!({"value": volume, "unit": "ml", "system": SNOMED, "code": "258773002"}),
        );
    }
    if let Some(batch) = &d.batch_number {
        fields.insert("lotNumber".into(), json!(batch));
    }
    if let Some(expiry) = d.batch_expiry {
        fields.insert("expirationDate".into(), json!(expiry.format("%Y-%m-%d").to_string()));
    }
    if let Some(site) = d.delivery_site {
        let (code, display) = codes::site(site);
        fields.insert("site".into(), json!({"coding": [coding(code, display)]}));
    }
    if let Some(method) = d.delivery_method {
        let (code, display) = codes::route(method);
        fields.insert("route".into(), json!({"coding": [coding(code, display)]}));
    }
    Ok(resource)
}

fn protocol_applied(variant: Variant, dose: Option<u32>) -> Value {
    let diseases: Vec<Value> =
        variant.target_diseases().iter().map(|(code, display)| json!({"coding": [coding(code, display)]})).collect();
    match dose.filter(|d| (1..=9).contains(d)) {
        Some(dose) => json!({"targetDisease": diseases, "doseNumberPositiveInt": dose}),
        None => json!({"targetDisease": diseases, "doseNumberString": "Unknown"}),
    }
}

/// A school by URN; a clinic (ODS code unknown to this service) or an unknown place by the `X99999` placeholder.
fn location(record: &VaccinationRecord, reference: &ReferenceData) -> Value {
    let d = &record.details;
    let (system, value) = match d.location.as_deref() {
        Some(urn) if reference.school(urn).is_some() => (URN_SYSTEM, urn.to_owned()),
        Some(_) => (ODS_SYSTEM, UNKNOWN_LOCATION.to_owned()),
        None => (URN_SYSTEM, UNKNOWN_LOCATION.to_owned()),
    };
    json!({"identifier": {"system": system, "value": value}})
}

//! An Immunization found by search → a vaccination record for the child's history (nhs-apis.md §7.4).

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::Value;

use super::codes::{self, SNOMED, Variant};
use crate::domain::ReferenceData;
use crate::domain::vaccination::{DeliveryMethod, Performer, RecordSource, VaccinationDetails, VaccinationOutcome};
use crate::reference::vaccines::{VaccineCatalogue, VaccineMethod};

const UNKNOWN_LOCATION: &str = "X99999";
const URN_SYSTEM: &str = "https://fhir.hl7.org.uk/Id/urn-school-number";

/// A record as the API holds it, mapped to this service's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRecord {
    pub api_id: String,
    pub version: u64,
    pub identifier_system: String,
    pub identifier_value: String,
    pub primary_source: bool,
    pub details: VaccinationDetails,
}

/// Why a found record cannot join the history. The messages name fields only, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    #[error("Cannot import not-done vaccination records")]
    NotDone,
    #[error("unexpected Immunization status")]
    UnexpectedStatus,
    #[error("an Immunization must have exactly one identifier")]
    Identifier,
    #[error("the Immunization has no id")]
    MissingId,
    #[error("the target diseases match no programme")]
    UnknownProgramme,
    #[error("occurrenceDateTime is missing or invalid")]
    OccurrenceDateTime,
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// The first SNOMED coding's code of a CodeableConcept.
fn snomed_code(concept: Option<&Value>) -> Option<&str> {
    concept?
        .get("coding")?
        .as_array()?
        .iter()
        .find(|c| c.get("system").and_then(Value::as_str) == Some(SNOMED))?
        .get("code")?
        .as_str()
}

/// `YYYY-MM-DD` or a date-time with an offset; a bare date is midnight in London.
fn occurrence(text: &str) -> Option<(DateTime<Utc>, bool)> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some((at.with_timezone(&Utc), true));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let at = crate::csv_import::values::london_date_time(date, NaiveTime::MIN)?;
    Some((at, false))
}

pub fn from_immunization(
    resource: &Value,
    catalogue: &VaccineCatalogue,
    reference: &ReferenceData,
) -> Result<ApiRecord, InboundError> {
    match resource.get("status").and_then(Value::as_str) {
        Some("completed") => {}
        Some("not-done") => return Err(InboundError::NotDone),
        _ => return Err(InboundError::UnexpectedStatus),
    }
    let api_id = str_at(resource, "/id").ok_or(InboundError::MissingId)?.to_owned();
    let identifiers = resource.get("identifier").and_then(Value::as_array).ok_or(InboundError::Identifier)?;
    let [identifier] = identifiers.as_slice() else { return Err(InboundError::Identifier) };
    let identifier_system = str_at(identifier, "/system").ok_or(InboundError::Identifier)?.to_owned();
    let identifier_value = str_at(identifier, "/value").ok_or(InboundError::Identifier)?.to_owned();

    let target_codes: Vec<&str> = resource
        .pointer("/protocolApplied/0/targetDisease")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|concept| snomed_code(Some(concept)))
        .collect();
    let variant = Variant::from_target_codes(&target_codes).ok_or(InboundError::UnknownProgramme)?;
    let (performed_at, time_given) =
        str_at(resource, "/occurrenceDateTime").and_then(occurrence).ok_or(InboundError::OccurrenceDateTime)?;

    let product_code = snomed_code(resource.get("vaccineCode"));
    let vaccine = product_code.and_then(|code| catalogue.vaccines.iter().find(|v| v.snomed_product_code == code));
    let notes = match (vaccine, product_code) {
        (None, Some(code)) => {
            let description =
                resource.pointer("/vaccineCode/coding/0/display").and_then(Value::as_str).unwrap_or_default();
            Some(format!("SNOMED product code: {code}\nSNOMED description: {description}"))
        }
        _ => None,
    };
    let delivery_site = snomed_code(resource.get("site")).and_then(codes::site_from_code);
    let delivery_method = snomed_code(resource.get("route")).and_then(codes::route_from_code);
    let full_dose = match vaccine {
        Some(v) if v.method == VaccineMethod::Nasal => nasal_full_dose(resource, v.dose_volume_ml).unwrap_or(true),
        _ => true,
    };
    let (location, location_name) = location(resource, reference);
    let details = VaccinationDetails {
        programme: variant.programme(),
        vaccine: vaccine.map(|v| v.key.clone()),
        disease_types: vaccine.map(|v| v.disease_types.clone()).unwrap_or_else(|| variant.disease_types()),
        outcome: VaccinationOutcome::Administered,
        performed_at,
        time_given,
        batch_number: str_at(resource, "/lotNumber").map(str::to_owned),
        batch_expiry: str_at(resource, "/expirationDate")
            .and_then(|d| NaiveDate::parse_from_str(d.get(..10).unwrap_or(d), "%Y-%m-%d").ok()),
        delivery_site,
        delivery_method: delivery_method.or(delivery_site.map(|s| {
            if s == crate::domain::vaccination::DeliverySite::Nose {
                DeliveryMethod::NasalSpray
            } else {
                DeliveryMethod::Intramuscular
            }
        })),
        dose_sequence: resource
            .pointer("/protocolApplied/0/doseNumberPositiveInt")
            .and_then(Value::as_u64)
            .and_then(|d| u32::try_from(d).ok()),
        full_dose,
        performer: performer(resource),
        supplier_email: None,
        performed_ods_code: organisation(resource),
        notes,
        session_id: None,
        location,
        location_name,
        source: RecordSource::NhsImmunisationsApi,
        notify_parents: None,
        protocol: None,
        local_patient_id: None,
        local_patient_id_uri: None,
    };
    let version = resource
        .pointer("/meta/versionId")
        .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .unwrap_or(1);
    Ok(ApiRecord {
        api_id,
        version,
        identifier_system,
        identifier_value,
        primary_source: resource.get("primarySource").and_then(Value::as_bool).unwrap_or(false),
        details,
    })
}

/// Nasal flu: full when the dose equals the vaccine's volume, half when it is half; `None` when not in ml.
fn nasal_full_dose(resource: &Value, volume: f64) -> Option<bool> {
    let quantity = resource.get("doseQuantity")?;
    let unit = quantity.get("unit")?.as_str()?.to_ascii_lowercase();
    if !(unit.starts_with("ml") || unit.starts_with("millilitre") || unit.starts_with("milliliter")) {
        return None;
    }
    let value = quantity.get("value")?.as_f64()?;
    if (value - volume).abs() < 1e-9 {
        Some(true)
    } else if (value - volume / 2.0).abs() < 1e-9 {
        Some(false)
    } else {
        None
    }
}

/// The contained Practitioner a non-Organization performer points to (search results have none).
fn performer(resource: &Value) -> Performer {
    let reference = resource
        .get("performer")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.pointer("/actor/type").and_then(Value::as_str) != Some("Organization"))
        .find_map(|p| str_at(p, "/actor/reference"))
        .and_then(|r| r.strip_prefix('#'));
    let practitioner = reference.and_then(|id| {
        resource.get("contained").and_then(Value::as_array)?.iter().find(|c| {
            c.get("resourceType").and_then(Value::as_str) == Some("Practitioner")
                && c.get("id").and_then(Value::as_str) == Some(id)
        })
    });
    let names = practitioner.and_then(|p| p.get("name")).and_then(Value::as_array);
    let name = names.and_then(|names| {
        names.iter().find(|n| n.get("use").and_then(Value::as_str) == Some("official")).or(names.first())
    });
    match name {
        Some(name) => Performer {
            user_email: None,
            given_name: name.pointer("/given/0").and_then(Value::as_str).map(str::to_owned),
            family_name: name.get("family").and_then(Value::as_str).map(str::to_owned),
        },
        None => Performer::default(),
    }
}

fn organisation(resource: &Value) -> Option<String> {
    resource
        .get("performer")
        .and_then(Value::as_array)?
        .iter()
        .filter(|p| p.pointer("/actor/type").and_then(Value::as_str) == Some("Organization"))
        .find_map(|p| str_at(p, "/actor/identifier/value"))
        .map(str::to_owned)
}

/// `X99999` → none; a school URN we know → the school; anything else → its value as a free-text name.
fn location(resource: &Value, reference: &ReferenceData) -> (Option<String>, Option<String>) {
    let Some(value) = str_at(resource, "/location/identifier/value") else { return (None, None) };
    if value == UNKNOWN_LOCATION {
        return (None, None);
    }
    let system = str_at(resource, "/location/identifier/system");
    match reference.school(value) {
        Some(school) if system == Some(URN_SYSTEM) => (Some(school.urn_and_site()), None),
        _ => (None, Some(value.to_owned())),
    }
}

//! Body validation for create and update (`nhs-apis.md` §4.5), after the Imms repo's pre-validators: contained
//! resources are checked first and fail at once; every other rule adds its message, and all of them come back in
//! one `Validation errors: a; b; …` diagnostics string, as the real service answers.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

mod details;
mod patient;
mod primitives;

pub use primitives::{is_valid_snomed, parse_date, parse_date_time};

use crate::outcome::ImmsError;
use crate::vaccine_types;
use primitives::{date_time, list_rule, snomed_rule, string_rule};

pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const PROCEDURE_URL: &str = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-VaccinationProcedure";
const ORGANIZATION: &str = "performer[?(@.actor.type=='Organization')].actor.identifier";

const IMMUNIZATION_KEYS: &[&str] = &[
    "resourceType",
    "meta",
    "narrative",
    "contained",
    "id",
    "extension",
    "identifier",
    "status",
    "vaccineCode",
    "patient",
    "occurrenceDateTime",
    "recorded",
    "primarySource",
    "manufacturer",
    "location",
    "lotNumber",
    "expirationDate",
    "site",
    "route",
    "doseQuantity",
    "performer",
    "reasonCode",
    "protocolApplied",
];
const PATIENT_KEYS: &[&str] = &["resourceType", "id", "identifier", "name", "gender", "birthDate", "address"];
const PRACTITIONER_KEYS: &[&str] = &["resourceType", "id", "name"];

/// What the store needs to know about a valid resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub identifier_system: String,
    pub identifier_value: String,
    /// `None` when the contained Patient's identifier has no value: stored, but never found by search.
    pub nhs_number: Option<String>,
    pub vacc_type: &'static str,
}

impl Facts {
    /// The uniqueness key IEDS uses: `system#value`.
    pub fn identifier_key(&self) -> String {
        format!("{}#{}", self.identifier_system, self.identifier_value)
    }
}

/// Checks `resource` as the service does on POST and PUT.
pub fn validate(resource: &Value, now: DateTime<Utc>) -> Result<Facts, ImmsError> {
    let fail = |errors: Vec<String>| ImmsError::Invariant(format!("Validation errors: {}", errors.join("; ")));
    let Some(object) = resource.as_object() else {
        return Err(fail(vec![resource_type_error()]));
    };
    let (patient, practitioner) = contained(object).map_err(fail)?;
    let mut errors = Vec::new();
    if object.get("resourceType").and_then(Value::as_str) != Some("Immunization") {
        errors.push(resource_type_error());
    }
    unknown_keys(object, IMMUNIZATION_KEYS, "Immunization", &mut errors);
    unknown_keys(patient, PATIENT_KEYS, "Patient", &mut errors);
    if let Some(practitioner) = practitioner {
        unknown_keys(practitioner, PRACTITIONER_KEYS, "Practitioner", &mut errors);
    }
    references(object, patient, practitioner, &mut errors);
    let nhs_number = patient::rules(patient, now, &mut errors);
    match object.get("occurrenceDateTime") {
        None => errors.push("occurrenceDateTime is a mandatory field".into()),
        Some(value) => date_time(value, "occurrenceDateTime", true, now, &mut errors),
    }
    if let Some(value) = object.get("recorded") {
        date_time(value, "recorded", false, now, &mut errors);
    }
    performer(object, &mut errors);
    let identifier = identifier(object, &mut errors);
    match object.get("status") {
        None => errors.push("status is a mandatory field".into()),
        Some(value) => string_rule(value, "status", Some(&["completed"]), &mut errors),
    }
    if object.get("primarySource").is_some_and(|v| !v.is_boolean()) {
        errors.push("primarySource must be a boolean".into());
    }
    extension(object, &mut errors);
    let diseases = protocol_applied(object, &mut errors);
    details::rules(object, &mut errors);
    if !errors.is_empty() {
        return Err(fail(errors));
    }
    let vacc_type = vaccine_types::from_target_diseases(&diseases).ok_or_else(|| {
        let codes = diseases.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ");
        fail(vec![format!(
            "protocolApplied[0].targetDisease[*].coding[?(@.system=='{SNOMED}')].code - [{codes}] is not a valid \
             combination of disease codes for this service"
        )])
    })?;
    let (identifier_system, identifier_value) = identifier.unwrap_or_default();
    Ok(Facts { identifier_system, identifier_value, nhs_number, vacc_type })
}

fn resource_type_error() -> String {
    "This service only accepts FHIR Immunization Resources (i.e. resourceType must equal 'Immunization')".into()
}

pub(crate) type Resource = Map<String, Value>;

/// Exactly one Patient (with an id), at most one Practitioner (with a different id), nothing else.
fn contained(object: &Resource) -> Result<(&Resource, Option<&Resource>), Vec<String>> {
    let Some(contained) = object.get("contained") else {
        return Err(vec!["contained is a mandatory field".into()]);
    };
    let Some(items) = contained.as_array() else { return Err(vec!["contained must be an array".into()]) };
    if items.is_empty() {
        return Err(vec!["contained must be a non-empty array".into()]);
    }
    let mut resources = Vec::new();
    for item in items {
        match item.as_object() {
            Some(resource) if resource.is_empty() => {
                return Err(vec!["contained must be an array of non-empty objects".into()]);
            }
            Some(resource) => resources.push(resource),
            None => return Err(vec!["contained must be an array of objects".into()]),
        }
    }
    if resources.iter().any(|r| r.get("resourceType").is_none_or(Value::is_null)) {
        return Err(vec!["contained resources must have 'resourceType' key".into()]);
    }
    let of_type = |name: &str| -> Vec<&Resource> {
        resources.iter().copied().filter(|r| r.get("resourceType").and_then(Value::as_str) == Some(name)).collect()
    };
    let (patients, practitioners) = (of_type("Patient"), of_type("Practitioner"));
    let mut errors = Vec::new();
    if patients.len() + practitioners.len() != resources.len() {
        errors.push("contained must contain only Patient and Practitioner resources".into());
    }
    if patients.len() != 1 {
        errors.push("contained must contain exactly one Patient resource".into());
    }
    if practitioners.len() > 1 {
        errors.push("contained must contain a maximum of one Practitioner resource".into());
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let patient = patients[0];
    let practitioner = practitioners.first().copied();
    match (patient.get("id"), practitioner.map(|p| p.get("id"))) {
        (None | Some(Value::Null), _) => errors.push("The contained Patient resource must have an 'id' field".into()),
        (_, Some(None | Some(Value::Null))) => {
            errors.push("The contained Practitioner resource must have an 'id' field".into())
        }
        (Some(patient_id), Some(Some(practitioner_id))) if patient_id == practitioner_id => {
            errors.push("ids must not be duplicated amongst contained resources".into())
        }
        _ => {}
    }
    if errors.is_empty() { Ok((patient, practitioner)) } else { Err(errors) }
}

fn unknown_keys(object: &Resource, allowed: &[&str], resource: &str, errors: &mut Vec<String>) {
    for key in object.keys().filter(|k| !allowed.contains(&k.as_str())) {
        errors.push(format!("{key} is not an allowed element of the {resource} resource for this service"));
    }
}

fn id_text(resource: &Resource) -> String {
    match resource.get("id") {
        Some(Value::String(id)) => id.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// `patient.reference` is `#<contained Patient id>`; a contained Practitioner is referenced from exactly one
/// performer, and performers make no other internal references.
fn references(object: &Resource, patient: &Resource, practitioner: Option<&Resource>, errors: &mut Vec<String>) {
    match object.get("patient").and_then(|p| p.get("reference")).and_then(Value::as_str) {
        Some(reference) if reference.starts_with('#') => {
            if reference[1..] != id_text(patient) {
                errors.push(format!(
                    "The reference '{reference}' does not match the id of the contained Patient resource"
                ));
            }
        }
        _ => errors.push("patient.reference must be a single reference to a contained Patient resource".into()),
    }
    let internal: Vec<&str> = performers(object)
        .filter_map(|p| p.get("actor").and_then(|a| a.get("reference")).and_then(Value::as_str))
        .filter(|r| r.starts_with('#'))
        .collect();
    let Some(practitioner) = practitioner else {
        if !internal.is_empty() {
            errors.push(
                "performer must not contain internal references when there is no contained Practitioner resource"
                    .into(),
            );
        }
        return;
    };
    let id = id_text(practitioner);
    let to_practitioner = internal.iter().filter(|r| r[1..] == id).count();
    if to_practitioner != internal.len() {
        errors.push(
            "performer must not contain any internal references other than to the contained Practitioner resource"
                .into(),
        );
    } else if to_practitioner == 0 {
        errors.push(format!("contained Practitioner resource id '{id}' must be referenced from performer"));
    } else if to_practitioner > 1 {
        errors.push(format!("contained Practitioner resource id '{id}' must only be referenced once from performer"));
    }
}

fn performers(object: &Resource) -> impl Iterator<Item = &Value> {
    object.get("performer").and_then(Value::as_array).into_iter().flatten()
}

fn performer(object: &Resource, errors: &mut Vec<String>) {
    let organizations: Vec<&Value> = performers(object)
        .filter_map(|p| p.get("actor"))
        .filter(|actor| actor.get("type").and_then(Value::as_str) == Some("Organization"))
        .collect();
    let [organization] = organizations.as_slice() else {
        errors
            .push("There must be exactly one performer.actor[?@.type=='Organization'] with type 'Organization'".into());
        return;
    };
    let identifier = organization.get("identifier");
    match identifier.and_then(|i| i.get("value")) {
        Some(value) => string_rule(value, &format!("{ORGANIZATION}.value"), None, errors),
        None => errors.push(format!("{ORGANIZATION}.value is a mandatory field")),
    }
    if let Some(system) = identifier.and_then(|i| i.get("system")) {
        string_rule(system, &format!("{ORGANIZATION}.system"), None, errors);
    }
}

/// `identifier`: exactly one, with non-empty `system` and `value`.
fn identifier(object: &Resource, errors: &mut Vec<String>) -> Option<(String, String)> {
    let Some(identifiers) = object.get("identifier") else {
        errors.push("identifier is a mandatory field".into());
        return None;
    };
    if !list_rule(identifiers, "identifier", Some(1), errors) {
        return None;
    }
    let first = identifiers.get(0)?;
    if !first.is_object() {
        errors.push("identifier must be an array of objects".into());
        return None;
    }
    let mut part = |name: &str| match first.get(name) {
        None => {
            errors.push(format!("identifier[0].{name} is a mandatory field"));
            None
        }
        Some(value) => {
            let before = errors.len();
            string_rule(value, &format!("identifier[0].{name}"), None, errors);
            (errors.len() == before).then(|| value.as_str().unwrap_or_default().to_owned())
        }
    };
    let system = part("system");
    let value = part("value");
    system.zip(value)
}

/// Exactly one extension, the vaccination procedure, with a valid SNOMED code and a display.
fn extension(object: &Resource, errors: &mut Vec<String>) {
    let Some(extensions) = object.get("extension") else {
        errors.push("extension is a mandatory field".into());
        return;
    };
    if !list_rule(extensions, "extension", Some(1), errors) {
        return;
    }
    let Some(extension) = extensions.get(0) else { return };
    match extension.get("url") {
        Some(url) => string_rule(url, "extension[0].url", Some(&[PROCEDURE_URL]), errors),
        None => errors.push("extension[0].url is a mandatory field".into()),
    }
    let base = format!("extension[?(@.url=='{PROCEDURE_URL}')].valueCodeableConcept");
    let Some(concept) = extension.get("valueCodeableConcept") else {
        errors.push(format!("{base} is a mandatory field"));
        return;
    };
    let Some(codings) = concept.get("coding") else {
        errors.push(format!("{base}.coding is a mandatory field"));
        return;
    };
    let location = format!("{base}.coding[?(@.system=='{SNOMED}')]");
    if let Some(coding) = snomed_coding(codings) {
        match coding.get("code") {
            Some(code) => snomed_rule(code, &format!("{location}.code"), errors),
            None => errors.push(format!("{location}.code is a mandatory field")),
        }
        match coding.get("display") {
            Some(display) => string_rule(display, &format!("{location}.display"), None, errors),
            None => errors.push(format!("{location}.display is a mandatory field")),
        }
    } else {
        errors.push(format!("{location}.code is a mandatory field"));
    }
}

pub(crate) fn snomed_coding(codings: &Value) -> Option<&Value> {
    codings.as_array()?.iter().find(|c| c.get("system").and_then(Value::as_str) == Some(SNOMED))
}

/// Exactly one `protocolApplied`; its target-disease codes (one SNOMED coding each) and dose number. Returns the
/// set of disease codes found.
fn protocol_applied(object: &Resource, errors: &mut Vec<String>) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    let Some(protocols) = object.get("protocolApplied") else {
        errors.push("protocolApplied[0].targetDisease is a mandatory field".into());
        return codes;
    };
    if !list_rule(protocols, "protocolApplied", Some(1), errors) {
        return codes;
    }
    let Some(protocol) = protocols.get(0) else { return codes };
    if let Some(dose) = protocol.get("doseNumberPositiveInt") {
        let location = "protocolApplied[0].doseNumberPositiveInt";
        match dose.as_i64().filter(|_| dose.is_i64() || dose.is_u64()) {
            Some(n) if n <= 0 => errors.push(format!("{location} must be a positive integer")),
            Some(n) if n > 9 => errors.push(format!("{location} must be an integer in the range 1 to 9")),
            Some(_) => {}
            None => errors.push(format!("{location} must be a positive integer")),
        }
    }
    if let Some(dose) = protocol.get("doseNumberString") {
        string_rule(dose, "protocolApplied[0].doseNumberString", None, errors);
    }
    let Some(diseases) = protocol.get("targetDisease").and_then(Value::as_array) else {
        errors.push("protocolApplied[0].targetDisease is a mandatory field".into());
        return codes;
    };
    for (index, disease) in diseases.iter().enumerate() {
        let Some(codings) = disease.get("coding") else {
            errors.push("Every element of protocolApplied[0].targetDisease must have 'coding' property".into());
            continue;
        };
        let location = format!("protocolApplied[0].targetDisease[{index}].coding");
        let snomed: Vec<&Value> = codings
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c.get("system").and_then(Value::as_str) == Some(SNOMED))
            .collect();
        let [coding] = snomed.as_slice() else {
            errors.push(format!("{location} must contain exactly one element with a system of {SNOMED}"));
            continue;
        };
        let code_location = format!("{location}[?(@.system=='{SNOMED}')].code");
        match coding.get("code") {
            Some(code) => {
                string_rule(code, &code_location, None, errors);
                if let Some(code) = code.as_str() {
                    codes.insert(code.to_owned());
                }
            }
            None => errors.push(format!("{code_location} is a mandatory field")),
        }
    }
    codes
}

//! Body validation for create and update (`nhs-apis.md` §4.5), after the Imms repo's pre-validators: contained
//! resources are checked first and fail at once; every other rule adds its message, and all of them come back in
//! one `Validation errors: a; b; …` diagnostics string, as the real service answers.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use crate::outcome::ImmsError;
use crate::vaccine_types;

pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const PROCEDURE_URL: &str = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-VaccinationProcedure";
const NULL_FLAVOR: &str = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor";
const PATIENT: &str = "contained[?(@.resourceType=='Patient')]";
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
    let nhs_number = patient_rules(patient, now, &mut errors);
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
    if let Some(value) = object.get("primarySource").filter(|v| !v.is_boolean()) {
        let _ = value;
        errors.push("primarySource must be a boolean".into());
    }
    extension(object, &mut errors);
    let diseases = protocol_applied(object, &mut errors);
    codeable_parts(object, now, &mut errors);
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

type Resource = Map<String, Value>;

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

/// The contained Patient's identifier, name, gender, birth date and postcode. Returns the NHS number when present.
fn patient_rules(patient: &Resource, now: DateTime<Utc>, errors: &mut Vec<String>) -> Option<String> {
    let mut nhs_number = None;
    if let Some(identifiers) = patient.get("identifier") {
        let location = format!("{PATIENT}.identifier");
        if list_rule(identifiers, &location, Some(1), errors)
            && let Some(identifier) = identifiers.get(0)
        {
            if identifier.get("extension").is_some() {
                errors.push(format!("{PATIENT}.identifier[0] must not include an extension"));
            }
            match identifier.get("system") {
                Some(system) => {
                    string_rule(system, &format!("{location}[0].system"), Some(&[NHS_NUMBER_SYSTEM]), errors)
                }
                None => errors.push(format!("{location}[0].system is a mandatory field")),
            }
            if let Some(value) = identifier.get("value") {
                let value_location = format!("{location}[0].value");
                match value.as_str() {
                    None => errors.push(format!("{value_location} must be a string")),
                    Some(text) if text.chars().count() != 10 => {
                        errors.push(format!("{value_location} must be 10 characters"))
                    }
                    Some(text) if text.contains(' ') => {
                        errors.push(format!("{value_location} must not contain spaces"))
                    }
                    Some(text) if !pds_emulator::nhs_number::is_valid(text) => {
                        errors.push(format!("{value_location} is not a valid NHS number"))
                    }
                    Some(text) => nhs_number = Some(text.to_owned()),
                }
            }
        }
    }
    if let Some(names) = patient.get("name")
        && list_rule(names, &format!("{PATIENT}.name"), None, errors)
        && let Some(name) = names.get(0)
    {
        if let Some(family) = name.get("family") {
            let location = format!("{PATIENT}.name[0].family");
            string_rule(family, &location, None, errors);
            if family.as_str().is_some_and(|f| f.chars().count() > 35) {
                errors.push(format!("{location} must be 35 or fewer characters"));
            }
        }
        if let Some(given) = name.get("given") {
            let location = format!("{PATIENT}.name[0].given");
            if list_rule(given, &location, None, errors) {
                let parts: Vec<&Value> = given.as_array().into_iter().flatten().collect();
                for (index, part) in parts.iter().enumerate() {
                    string_rule(part, &format!("{location}[{index}]"), None, errors);
                }
                let total: usize = parts.iter().filter_map(|p| p.as_str()).map(|p| p.chars().count()).sum();
                if total > 180 {
                    errors.push(format!("{location} must be 180 or fewer characters in total"));
                }
            }
        }
    }
    if let Some(gender) = patient.get("gender") {
        string_rule(gender, &format!("{PATIENT}.gender"), Some(&["male", "female", "other", "unknown"]), errors);
    }
    if let Some(birth_date) = patient.get("birthDate") {
        date_rule(birth_date, &format!("{PATIENT}.birthDate"), Some(now), errors);
    }
    if let Some(addresses) = patient.get("address")
        && list_rule(addresses, &format!("{PATIENT}.address"), None, errors)
    {
        let codes: Vec<&Value> =
            addresses.as_array().into_iter().flatten().filter_map(|a| a.get("postalCode")).collect();
        let location = format!("{PATIENT}.address[0].postalCode");
        match codes.as_slice() {
            [] => {}
            [one] => string_rule(one, &location, None, errors),
            many => {
                let first_non_empty = many.iter().find(|c| c.as_str().is_some_and(|s| !s.is_empty()));
                string_rule(first_non_empty.copied().unwrap_or(&Value::Null), &location, None, errors);
            }
        }
    }
    nhs_number
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

fn snomed_coding(codings: &Value) -> Option<&Value> {
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

/// vaccineCode, manufacturer, lot, expiry, site, route, dose quantity, reason codes and location.
fn codeable_parts(object: &Resource, now: DateTime<Utc>, errors: &mut Vec<String>) {
    let _ = now;
    match object.get("vaccineCode") {
        None => errors.push("vaccineCode is a mandatory field".into()),
        Some(vaccine_code) => {
            let codings = vaccine_code.get("coding").unwrap_or(&Value::Null);
            if let Some(code) = snomed_coding(codings).and_then(|c| c.get("code")) {
                snomed_rule(code, &format!("vaccineCode.coding[?(@.system=='{SNOMED}')].code"), errors);
            }
            if let Some(display) = snomed_coding(codings).and_then(|c| c.get("display")) {
                string_rule(display, &format!("vaccineCode.coding[?(@.system=='{SNOMED}')].display"), None, errors);
            }
            let null_flavor = codings
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c.get("system").and_then(Value::as_str) == Some(NULL_FLAVOR));
            if let Some(code) = null_flavor.and_then(|c| c.get("code")) {
                let location = format!("vaccineCode.coding[?(@.system=='{NULL_FLAVOR}')].code");
                string_rule(code, &location, Some(&["NAVU", "UNC", "UNK", "NA"]), errors);
            }
        }
    }
    if let Some(display) = object.get("manufacturer").and_then(|m| m.get("display")) {
        string_rule(display, "manufacturer.display", None, errors);
    }
    if let Some(lot) = object.get("lotNumber") {
        string_rule(lot, "lotNumber", None, errors);
    }
    if let Some(expiry) = object.get("expirationDate") {
        date_rule(expiry, "expirationDate", None, errors);
    }
    for field in ["site", "route"] {
        let Some(codings) = object.get(field).and_then(|f| f.get("coding")).and_then(Value::as_array) else {
            continue;
        };
        let mut seen = BTreeSet::new();
        for system in codings.iter().filter_map(|c| c.get("system").and_then(Value::as_str)) {
            if !seen.insert(system) {
                errors.push(format!("{field}.coding[?(@.system=='{system}')] must be unique"));
            }
        }
        if let Some(coding) = snomed_coding(&Value::Array(codings.clone())) {
            for part in ["code", "display"] {
                if let Some(value) = coding.get(part) {
                    string_rule(value, &format!("{field}.coding[?(@.system=='{SNOMED}')].{part}"), None, errors);
                }
            }
        }
    }
    if let Some(dose) = object.get("doseQuantity") {
        if let Some(value) = dose.get("value").filter(|v| !v.is_number()) {
            let _ = value;
            errors.push("doseQuantity.value must be a number".into());
        }
        for part in ["system", "code", "unit"] {
            if let Some(value) = dose.get(part) {
                string_rule(value, &format!("doseQuantity.{part}"), None, errors);
            }
        }
        if dose.get("code").is_some_and(|c| !c.is_null()) && dose.get("system").is_none_or(Value::is_null) {
            errors.push("If doseQuantity.code is present, doseQuantity.system must also be present".into());
        }
    }
    for (index, reason) in object.get("reasonCode").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let location = format!("reasonCode[{index}].coding");
        if let Some(codings) = reason.get("coding")
            && list_rule(codings, &location, Some(1), errors)
            && let Some(code) = codings.get(0).and_then(|c| c.get("code"))
        {
            string_rule(code, &format!("{location}[0].code"), None, errors);
        }
    }
    if let Some(identifier) = object.get("location").and_then(|l| l.get("identifier")) {
        for part in ["value", "system"] {
            match identifier.get(part) {
                Some(value) => string_rule(value, &format!("location.identifier.{part}"), None, errors),
                None => errors.push(format!("location.identifier.{part} is a mandatory field")),
            }
        }
    }
}

/// A non-empty, non-blank string, optionally one of `allowed`.
fn string_rule(value: &Value, location: &str, allowed: Option<&[&str]>, errors: &mut Vec<String>) {
    let Some(text) = value.as_str() else {
        errors.push(format!("{location} must be a string"));
        return;
    };
    if text.trim().is_empty() {
        errors.push(format!("{location} must be a non-empty string"));
    } else if let Some(allowed) = allowed
        && !allowed.contains(&text)
    {
        errors.push(format!("{location} must be one of the following: {}", allowed.join(", ")));
    }
}

/// An array, of exactly `length` elements when given, else non-empty. False when the rule failed.
fn list_rule(value: &Value, location: &str, length: Option<usize>, errors: &mut Vec<String>) -> bool {
    let before = errors.len();
    match (value.as_array(), length) {
        (None, _) => errors.push(format!("{location} must be an array")),
        (Some(items), Some(length)) if items.len() != length => {
            errors.push(format!("{location} must be an array of length {length}"))
        }
        (Some(items), None) if items.is_empty() => errors.push(format!("{location} must be a non-empty array")),
        _ => {}
    }
    errors.len() == before
}

/// `YYYY-MM-DD`; not after today when `not_after` is given.
fn date_rule(value: &Value, location: &str, not_after: Option<DateTime<Utc>>, errors: &mut Vec<String>) {
    let Some(text) = value.as_str() else {
        errors.push(format!("{location} must be a string"));
        return;
    };
    match parse_date(text) {
        None => errors.push(format!("{location} must be a valid date string in the format \"YYYY-MM-DD\"")),
        Some(date) if not_after.is_some_and(|now| date > now.date_naive()) => {
            errors.push(format!("{location} must not be in the future"))
        }
        Some(_) => {}
    }
}

pub fn parse_date(text: &str) -> Option<NaiveDate> {
    (text.len() == 10).then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()).flatten()
}

/// `YYYY-MM-DD`, or date and time with seconds, optional fraction and an offset; not in the future. `strict`
/// limits the offset to UK ones (`+00:00`/`+01:00`, `+0000`/`+0100`), so `Z` is refused.
fn date_time(value: &Value, location: &str, strict: bool, now: DateTime<Utc>, errors: &mut Vec<String>) {
    let Some(text) = value.as_str() else {
        errors.push(format!("{location} must be a string"));
        return;
    };
    let mut message = format!(
        "{location} must be a valid datetime in one of the following formats:- 'YYYY-MM-DD' — Full date only- \
         'YYYY-MM-DDThh:mm:ss%z' — Full date and time with timezone (e.g. +00:00 or +01:00)- \
         'YYYY-MM-DDThh:mm:ss.f%z' — Full date and time with milliseconds and timezone-  Date must not be in the \
         future."
    );
    if strict {
        message.push_str(&format!(
            "Only '+00:00' and '+01:00' are accepted as valid timezone offsets.\nNote that partial dates are not \
             allowed for {location} in this service.\n"
        ));
    }
    let valid = if let Some(date) = parse_date(text) {
        date <= now.date_naive()
    } else {
        let parsed = parse_date_time(text);
        let uk_offset = ["+00:00", "+01:00", "+0000", "+0100"].iter().any(|s| text.ends_with(s));
        parsed.is_some_and(|instant| instant <= now && (!strict || uk_offset))
    };
    if !valid {
        errors.push(message);
    }
}

/// `YYYY-MM-DDThh:mm:ss[.f]±hh:mm` (or `±hhmm`, or `Z`).
pub fn parse_date_time(text: &str) -> Option<DateTime<Utc>> {
    let normalised = match text.strip_suffix('Z') {
        Some(stem) => format!("{stem}+00:00"),
        None => text.to_owned(),
    };
    DateTime::parse_from_str(&normalised, "%Y-%m-%dT%H:%M:%S%.f%z").ok().map(|t| t.with_timezone(&Utc))
}

/// A SNOMED CT concept id: 6–18 digits, no leading zero, a concept partition (`00`/`10`) and a Verhoeff check digit.
fn snomed_rule(value: &Value, location: &str, errors: &mut Vec<String>) {
    let before = errors.len();
    string_rule(value, location, None, errors);
    if errors.len() == before && !value.as_str().is_some_and(is_valid_snomed) {
        errors.push(format!("{location} is not a valid snomed code"));
    }
}

pub fn is_valid_snomed(code: &str) -> bool {
    let bytes = code.as_bytes();
    (6..=18).contains(&bytes.len())
        && bytes.iter().all(u8::is_ascii_digit)
        && bytes[0] != b'0'
        && matches!(&code[code.len() - 3..code.len() - 1], "00" | "10")
        && verhoeff_valid(code)
}

fn verhoeff_valid(digits: &str) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut check = 0u8;
    for (i, digit) in digits.bytes().rev().enumerate() {
        check = D[check as usize][P[i % 8][(digit - b'0') as usize] as usize];
    }
    check == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snomed_codes_from_the_fixtures_are_valid() {
        for code in ["10880211000001104", "761841000", "884861000000100", "240532009", "6142004", "723620004"] {
            assert!(is_valid_snomed(code), "{code}");
        }
        assert!(!is_valid_snomed("761841001"));
        assert!(!is_valid_snomed("12345"));
    }

    #[test]
    fn date_times() {
        assert!(parse_date_time("2021-02-07T13:28:17.271+00:00").is_some());
        assert!(parse_date_time("2025-08-22T14:16:03+01:00").is_some());
        assert!(parse_date_time("2025-08-22T14:16:03+0100").is_some());
        assert!(parse_date_time("2025-08-22T14:16:03Z").is_some());
        assert!(parse_date_time("2025-08-22T14:16+01:00").is_none());
        assert!(parse_date_time("2025-08-22").is_none());
    }
}

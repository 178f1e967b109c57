//! The contained Patient: identifier (system, NHS number), name, gender, birth date and postcode.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::primitives::{date_rule, list_rule, string_rule};
use super::{NHS_NUMBER_SYSTEM, Resource};

const PATIENT: &str = "contained[?(@.resourceType=='Patient')]";

/// The contained Patient's identifier, name, gender, birth date and postcode. Returns the NHS number when present.
pub(super) fn rules(patient: &Resource, now: DateTime<Utc>, errors: &mut Vec<String>) -> Option<String> {
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

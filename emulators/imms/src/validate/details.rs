//! The coded and descriptive parts: vaccine code, manufacturer, batch, expiry, site, route, dose quantity, reason
//! codes and location.

use std::collections::BTreeSet;

use serde_json::Value;

use super::primitives::{date_rule, list_rule, snomed_rule, string_rule};
use super::{Resource, SNOMED, snomed_coding};

const NULL_FLAVOR: &str = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor";

/// vaccineCode, manufacturer, lot, expiry, site, route, dose quantity, reason codes and location.
pub(super) fn rules(object: &Resource, errors: &mut Vec<String>) {
    // No vaccineCode at all is accepted: the fixture of a record created through the API has none.
    if let Some(vaccine_code) = object.get("vaccineCode") {
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
        if dose.get("value").is_some_and(|v| !v.is_number()) {
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
            && list_rule(codings, &location, None, errors)
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

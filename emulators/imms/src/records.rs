//! Reading Immunization resources to preload (GP-recorded history): a FHIR Bundle (`entry[].resource`) or a JSON
//! array of Immunizations, from a file (`--data`) or posted to `/_emulator/records`.
//!
//! Preloaded records are checked loosely, not with the create rules: real history comes from many suppliers and is
//! stored in the shapes the API returns (search results carry `patient.identifier` instead of a contained Patient).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::vaccine_types;
use crate::validate::{Facts, NHS_NUMBER_SYSTEM, SNOMED};

/// Why preload data was refused. Messages name the file (or request) and the entry.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read records file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{origin}: not JSON: {source}")]
    Json { origin: String, source: serde_json::Error },
    #[error("{origin}: expected a FHIR Bundle with entry[].resource or a JSON array of Immunization resources")]
    Shape { origin: String },
    #[error("{origin}: entry {index}: {reason}")]
    Entry { origin: String, index: usize, reason: String },
}

/// Reads a Bundle or array of Immunizations from `path`.
pub fn load_records(path: &Path) -> Result<Vec<Value>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Read { path: path.into(), source })?;
    let origin = path.display().to_string();
    let value = serde_json::from_str(&text).map_err(|source| DataError::Json { origin: origin.clone(), source })?;
    let records = records_of(value, &origin)?;
    for (index, record) in records.iter().enumerate() {
        facts(record).map_err(|reason| DataError::Entry { origin: origin.clone(), index, reason })?;
    }
    Ok(records)
}

/// The Immunizations of a Bundle (other entry types, such as the Patient include, are skipped) or of an array.
pub fn records_of(value: Value, origin: &str) -> Result<Vec<Value>, DataError> {
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut bundle) if bundle.get("resourceType").and_then(Value::as_str) == Some("Bundle") => {
            match bundle.remove("entry") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(entries)) => entries
                    .into_iter()
                    .filter_map(|mut entry| entry.get_mut("resource").map(Value::take))
                    .filter(|r| r.get("resourceType").and_then(Value::as_str) != Some("Patient"))
                    .filter(|r| r.get("resourceType").and_then(Value::as_str) != Some("OperationOutcome"))
                    .collect(),
                Some(_) => return Err(DataError::Shape { origin: origin.into() }),
            }
        }
        Value::Object(single) if single.get("resourceType").and_then(Value::as_str) == Some("Immunization") => {
            vec![Value::Object(single)]
        }
        _ => return Err(DataError::Shape { origin: origin.into() }),
    };
    Ok(items)
}

/// The identifier, NHS number (contained Patient or `patient.identifier`) and vaccine type of a record to preload.
pub fn facts(record: &Value) -> Result<Facts, String> {
    if record.get("resourceType").and_then(Value::as_str) != Some("Immunization") {
        return Err("resourceType must be Immunization".into());
    }
    let identifier = record.get("identifier").and_then(|i| i.get(0));
    let part = |name: &str| {
        identifier
            .and_then(|i| i.get(name))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| format!("identifier[0].{name} is missing"))
    };
    let (identifier_system, identifier_value) = (part("system")?, part("value")?);
    let codes: BTreeSet<String> = record
        .pointer("/protocolApplied/0/targetDisease")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|disease| disease.get("coding")?.as_array())
        .flatten()
        .filter(|coding| coding.get("system").and_then(Value::as_str) == Some(SNOMED))
        .filter_map(|coding| coding.get("code")?.as_str().map(str::to_owned))
        .collect();
    let vacc_type = vaccine_types::from_target_diseases(&codes)
        .ok_or_else(|| format!("protocolApplied[0].targetDisease codes {codes:?} match no vaccine type"))?;
    Ok(Facts { identifier_system, identifier_value, nhs_number: nhs_number(record), vacc_type })
}

fn nhs_number(record: &Value) -> Option<String> {
    let contained = record
        .get("contained")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|r| r.get("resourceType").and_then(Value::as_str) == Some("Patient"))
        .and_then(|patient| patient.get("identifier")?.as_array()?.first().cloned());
    let referenced = record.pointer("/patient/identifier").cloned();
    [contained, referenced]
        .into_iter()
        .flatten()
        .filter(|identifier| identifier.get("system").and_then(Value::as_str) == Some(NHS_NUMBER_SYSTEM))
        .find_map(|identifier| identifier.get("value")?.as_str().map(str::to_owned))
}

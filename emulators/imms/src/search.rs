//! Search (`nhs-apis.md` §4.3): by patient and vaccine types (`-immunization.target`) or target diseases
//! (`target-disease`), or by supplier `identifier`; parameter rules, and the Bundle in the shape of the Mavis
//! fixtures (`search_response_*.json`).

use std::collections::HashSet;

use chrono::NaiveDate;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use crate::outcome::{ImmsError, operation_outcome};
use crate::store::{Store, StoredRecord};
use crate::vaccine_types;
use crate::validate::{NHS_NUMBER_SYSTEM, parse_date};

/// Search responses above this size are refused, as IEDS does.
const MAX_BUNDLE_BYTES: usize = 1024 * 1024;
/// What Python's `urlencode` leaves alone.
const FORM: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
const TARGET: &str = "-immunization.target";
const DISEASE: &str = "target-disease";
const PATIENT: &str = "patient.identifier";
const INCLUDE: &str = "_include";

/// A parsed, valid search.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchRequest {
    Patient(PatientSearch),
    Identifier { system: String, value: String, elements: Option<Vec<String>> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatientSearch {
    pub nhs_number: String,
    /// Known, permitted vaccine types to match.
    pub types: Vec<&'static str>,
    pub date_from: Option<NaiveDate>,
    pub date_to: Option<NaiveDate>,
    /// The parameters echoed in the self link, in order.
    link_params: Vec<(String, String)>,
    /// Warning OperationOutcomes to append to the Bundle.
    warnings: Vec<Value>,
}

impl PatientSearch {
    /// Also echo the legacy `immunization.target` key in the self link, as the lambda source still does (Mavis
    /// treats the extra key as a link mismatch and only warns).
    pub fn add_legacy_target_key(&mut self) {
        if let Some(index) = self.link_params.iter().position(|(key, _)| key == TARGET) {
            let value = self.link_params[index].1.clone();
            self.link_params.insert(index, ("immunization.target".to_owned(), value));
        }
    }

    /// Appends an OperationOutcome entry (any severity) after the matches, as the service does with warnings.
    pub fn add_outcome(&mut self, outcome: Value) {
        self.warnings.push(outcome);
    }
}

fn invalid(message: impl Into<String>) -> ImmsError {
    ImmsError::Invalid(message.into())
}

/// Checks the parameters (query string or `_search` form) and works out what to match.
pub fn parse(pairs: &[(String, String)]) -> Result<SearchRequest, ImmsError> {
    let mut seen = HashSet::new();
    if pairs.iter().any(|(key, _)| !seen.insert(key.as_str())) {
        return Err(invalid("Parameters may not be duplicated. Use commas for \"or\"."));
    }
    let param = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
    if let Some(identifier) = param("identifier") {
        if [PATIENT, TARGET, DISEASE].iter().any(|p| param(p).is_some()) {
            return Err(invalid(
                "Search parameter identifier cannot be used with patient.identifier, -immunization.target or \
                 target-disease",
            ));
        }
        let Some((system, value)) = identifier.split_once('|').filter(|(s, v)| !s.is_empty() && !v.is_empty()) else {
            return Err(invalid(
                "identifier must be in the format of identifier.system|identifier.value e.g. \
                 http://pinnacle.org/vaccs|2345-gh3s-r53h7-12ny",
            ));
        };
        let elements = match param("_elements") {
            None => None,
            Some(list) => {
                let elements: Vec<String> = list.split(',').map(|e| e.trim().to_owned()).collect();
                if elements.iter().any(|e| e != "id" && e != "meta") {
                    return Err(invalid("_elements must be one or more of the following: id,meta"));
                }
                Some(elements)
            }
        };
        return Ok(SearchRequest::Identifier { system: system.into(), value: value.into(), elements });
    }
    let nhs_number = patient_identifier(param(PATIENT))?;
    let mut warnings = Vec::new();
    let mut link_params = Vec::new();
    let types = match (param(TARGET), param(DISEASE)) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(invalid(format!("Search parameter {TARGET} or {DISEASE} must be provided, but not both")));
        }
        (Some(targets), None) => {
            link_params.push((TARGET.to_owned(), targets.to_owned()));
            target_types(targets, &mut warnings)?
        }
        (None, Some(diseases)) => {
            let mut codes: Vec<&str> = diseases.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
            codes.sort_unstable();
            link_params.push((DISEASE.to_owned(), codes.join(",")));
            disease_types(&codes, &mut warnings)?
        }
    };
    let types = permitted(types, &mut warnings)?;
    let date = |name: &str| match param(name) {
        None => Ok(None),
        Some(text) => parse_date(text)
            .map(Some)
            .ok_or_else(|| invalid(format!("Search parameter {name} must be in format: YYYY-MM-DD"))),
    };
    let (date_from, date_to) = (date("-date.from")?, date("-date.to")?);
    if let (Some(from), Some(to)) = (date_from, date_to)
        && from > to
    {
        return Err(invalid("Search parameter -date.from must be before or equal to -date.to"));
    }
    if let Some(include) = param(INCLUDE)
        && include != "Immunization:patient"
    {
        return Err(invalid("Search parameter _include may only be 'Immunization:patient' if provided"));
    }
    // Self link order as the live service answers: dates, targets, _include, patient (keys sorted) for target
    // searches; target-disease first for disease searches.
    for name in ["-date.from", "-date.to", INCLUDE] {
        if let Some(value) = param(name) {
            link_params.push((name.to_owned(), value.to_owned()));
        }
    }
    if link_params[0].0 == TARGET {
        link_params.sort_by(|a, b| a.0.cmp(&b.0));
    }
    link_params.push((PATIENT.to_owned(), format!("{NHS_NUMBER_SYSTEM}|{nhs_number}")));
    Ok(SearchRequest::Patient(PatientSearch { nhs_number, types, date_from, date_to, link_params, warnings }))
}

fn patient_identifier(value: Option<&str>) -> Result<String, ImmsError> {
    let format = || {
        invalid(format!(
            "Search parameter {PATIENT} must be in format: {NHS_NUMBER_SYSTEM}|{{NHS number}} e.g. \
             {NHS_NUMBER_SYSTEM}|9000000009"
        ))
    };
    let value = value.ok_or_else(format)?;
    if value.contains(',') {
        return Err(invalid(format!("Search parameter {PATIENT} must have one value.")));
    }
    let (system, number) = value.split_once('|').ok_or_else(format)?;
    if system != NHS_NUMBER_SYSTEM {
        return Err(format());
    }
    if !pds_emulator::nhs_number::is_valid(number) {
        return Err(invalid(format!("Search parameter {PATIENT} must be a valid NHS number.")));
    }
    Ok(number.to_owned())
}

fn target_types(targets: &str, warnings: &mut Vec<Value>) -> Result<Vec<&'static str>, ImmsError> {
    let requested: Vec<&str> = targets.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
    let known: Vec<&'static str> =
        vaccine_types::VACCINE_TYPES.iter().map(|(name, _)| *name).filter(|name| requested.contains(name)).collect();
    if known.is_empty() {
        return Err(invalid(format!(
            "immunization-target must be one or more of the following: {}",
            vaccine_types::all_names()
        )));
    }
    let unknown: Vec<&str> = requested.iter().copied().filter(|t| !vaccine_types::is_known(t)).collect();
    if !unknown.is_empty() {
        warnings.push(operation_outcome(
            "warning",
            "invalid",
            "INVALID",
            &format!(
                "Your search contains invalid immunization targets, which have been ignored: {}",
                unknown.join(",")
            ),
        ));
    }
    Ok(known)
}

/// The only system a `target-disease` token may name: each is `http://snomed.info/sct|{code}`, as the API requires (a
/// bare code, or another system, is an invalid target disease).
const SNOMED: &str = "http://snomed.info/sct";

fn disease_types(tokens: &[&str], warnings: &mut Vec<Value>) -> Result<Vec<&'static str>, ImmsError> {
    let mut types: Vec<&'static str> = Vec::new();
    let mut unknown = Vec::new();
    for code in tokens {
        let snomed_code = code.split_once('|').filter(|(system, _)| *system == SNOMED).map(|(_, c)| c.trim());
        let matching: Vec<&'static str> = snomed_code.into_iter().flat_map(vaccine_types::with_disease).collect();
        if matching.is_empty() {
            unknown.push(*code);
        }
        for name in matching {
            if !types.contains(&name) {
                types.push(name);
            }
        }
    }
    if types.is_empty() {
        return Err(invalid(format!("Search parameter {DISEASE} must be one or more SNOMED target disease codes")));
    }
    if !unknown.is_empty() {
        warnings.push(operation_outcome(
            "warning",
            "invalid",
            "INVALID",
            &format!("Your search contains invalid target diseases, which have been ignored: {}", unknown.join(",")),
        ));
    }
    Ok(types)
}

/// Drops the types the supplier may not search, with a warning; none left → 403.
fn permitted(types: Vec<&'static str>, warnings: &mut Vec<Value>) -> Result<Vec<&'static str>, ImmsError> {
    let allowed: Vec<&'static str> = types.iter().copied().filter(|t| vaccine_types::is_permitted(t)).collect();
    if allowed.is_empty() {
        return Err(ImmsError::Forbidden("Unauthorized request for vaccine type".into()));
    }
    if allowed.len() < types.len() {
        warnings.push(operation_outcome(
            "warning",
            "unauthorized",
            "UNAUTHORIZED",
            "Your search contains details that you are not authorised to request",
        ));
    }
    Ok(allowed)
}

/// Runs the search and returns the Bundle text (`total` last, as the service writes it).
pub fn run(request: &SearchRequest, store: &Store, base: &str) -> Result<String, ImmsError> {
    let (link, entries, total) = match request {
        SearchRequest::Patient(search) => {
            let hits = store.search(&search.nhs_number, &search.types, search.date_from, search.date_to);
            let patient_url = format!("urn:uuid:{}", uuid::Uuid::new_v4());
            let patient_identifier = json!({"system": NHS_NUMBER_SYSTEM, "value": search.nhs_number});
            let mut entries: Vec<Value> = hits.iter().map(|r| match_entry(r, base, &patient_url)).collect();
            if !hits.is_empty() {
                entries.push(json!({
                    "fullUrl": patient_url,
                    "resource": {
                        "resourceType": "Patient", "id": search.nhs_number, "identifier": [patient_identifier],
                    },
                    "search": {"mode": "include"},
                }));
            }
            for warning in &search.warnings {
                entries.push(json!({
                    "fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
                    "resource": warning,
                    "search": {"mode": "include"},
                }));
            }
            (self_link(base, &search.link_params), entries, hits.len())
        }
        SearchRequest::Identifier { system, value, elements } => {
            let found = store.find_by_identifier(system, value).filter(|r| r.is_completed());
            if let Some(record) = found
                && !vaccine_types::is_permitted(&record.vaccine_type)
            {
                return Err(ImmsError::Forbidden("Unauthorized request for vaccine type".into()));
            }
            let mut params = vec![("identifier".to_owned(), format!("{system}|{value}"))];
            if let Some(elements) = elements {
                params.push(("_elements".to_owned(), elements.join(",")));
            }
            let entries: Vec<Value> = found
                .into_iter()
                .map(|record| {
                    let resource = match elements {
                        Some(_) => json!({
                            "resourceType": "Immunization", "id": record.id,
                            "meta": {"versionId": record.version.to_string()},
                        }),
                        None => search_view(record, &format!("urn:uuid:{}", uuid::Uuid::new_v4())),
                    };
                    json!({
                        "fullUrl": format!("{base}/Immunization/{}", record.id),
                        "resource": resource,
                        "search": {"mode": "match"},
                    })
                })
                .collect();
            let total = entries.len();
            (self_link(base, &params), entries, total)
        }
    };
    let body = format!(
        r#"{{"resourceType":"Bundle","type":"searchset","link":{},"entry":{},"total":{total}}}"#,
        json!([{"relation": "self", "url": link}]),
        Value::Array(entries),
    );
    if body.len() > MAX_BUNDLE_BYTES {
        return Err(invalid("Search returned too many results. Please narrow down the search"));
    }
    Ok(body)
}

fn match_entry(record: &StoredRecord, base: &str, patient_url: &str) -> Value {
    json!({
        "fullUrl": format!("{base}/Immunization/{}", record.id),
        "resource": search_view(record, patient_url),
        "search": {"mode": "match"},
    })
}

/// A stored record as search returns it: contained resources and the performers pointing at them removed, the
/// patient replaced by a reference to the Bundle's Patient entry, `identifier[0].use` official, `meta.versionId`.
pub fn search_view(record: &StoredRecord, patient_url: &str) -> Value {
    let mut resource = record.resource.clone();
    let Some(object) = resource.as_object_mut() else { return resource };
    object.remove("contained");
    if let Some(Value::Array(performers)) = object.get_mut("performer") {
        performers
            .retain(|p| !p.pointer("/actor/reference").and_then(Value::as_str).is_some_and(|r| r.starts_with('#')));
    }
    let nhs_number = record.nhs_number.clone().unwrap_or_default();
    object.insert(
        "patient".into(),
        json!({
            "reference": patient_url, "type": "Patient",
            "identifier": {"system": NHS_NUMBER_SYSTEM, "value": nhs_number},
        }),
    );
    if let Some(Value::Object(identifier)) = object.get_mut("identifier").and_then(|i| i.get_mut(0)) {
        identifier.entry("use").or_insert_with(|| Value::String("official".into()));
    }
    object.insert("meta".into(), json!({"versionId": record.version.to_string()}));
    resource
}

/// `{base}/Immunization?k=v&…`; values form-encoded except the comma lists, which the live links leave as they are.
fn self_link(base: &str, params: &[(String, String)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(key, value)| {
            let encoded = value.split(',').map(|part| utf8_percent_encode(part, FORM).to_string()).collect::<Vec<_>>();
            format!("{key}={}", encoded.join(","))
        })
        .collect();
    format!("{base}/Immunization?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn self_link_matches_the_fixture_form() {
        let request = parse(&pairs(&[
            (PATIENT, "https://fhir.nhs.uk/Id/nhs-number|9449308357"),
            (TARGET, "FLU,HPV,MENACWY,3IN1,MMR,MMRV"),
            ("-date.to", "2025-10-01"),
            ("-date.from", "2025-08-01"),
        ]))
        .unwrap();
        let SearchRequest::Patient(search) = request else { panic!("patient search") };
        assert_eq!(
            self_link("https://x/immunisation-fhir-api", &search.link_params),
            "https://x/immunisation-fhir-api/Immunization?-date.from=2025-08-01&-date.to=2025-10-01&\
             -immunization.target=FLU,HPV,MENACWY,3IN1,MMR,MMRV&\
             patient.identifier=https%3A%2F%2Ffhir.nhs.uk%2FId%2Fnhs-number%7C9449308357"
        );
    }

    #[test]
    fn repeated_parameters_are_refused() {
        let error = parse(&pairs(&[(TARGET, "FLU"), (TARGET, "HPV")])).unwrap_err();
        assert_eq!(error.to_string(), "Parameters may not be duplicated. Use commas for \"or\".");
    }
}

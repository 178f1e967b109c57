//! The patient store: a FHIR `Bundle` of `Patient` resources, in the shape PDS itself returns, loaded once and
//! indexed for GET and search. See the crate README for the data-file format.
//!
//! Everything a request needs is worked out at load time (the response bodies, the search index), so a bad
//! data file fails at start-up with a message naming the entry, never in the middle of a test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::nhs_number;

/// Code system of the emulator's own `meta.tag`s. They never appear in a response.
pub const EMULATOR_TAG_SYSTEM: &str = "urn:mavis:pds-emulator";
/// `meta.tag` code that marks an invalidated NHS number (PDS: `404 INVALIDATED_RESOURCE`).
pub const INVALIDATED_TAG: &str = "invalidated";
/// `Patient.link.type` that marks a superseded NHS number, as in FHIR R4.
pub const REPLACED_BY: &str = "replaced-by";

const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
const DEATH_NOTIFICATION_URL: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DeathNotificationStatus";
/// Supersession chains longer than this are treated as a data error (they are almost certainly loops).
const MAX_SUPERSESSION_HOPS: usize = 10;
/// The default data file, compiled in so tests in other crates need no path.
const BUILTIN_DATA: &str = include_str!("../data/patients.json");

/// Why a data file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{origin}: not valid JSON: {source}")]
    Json { origin: String, source: serde_json::Error },
    #[error("{origin}: not a FHIR Bundle (resourceType must be \"Bundle\" and entry an array)")]
    NotABundle { origin: String },
    #[error("{origin}: entry {index} has no Patient resource")]
    NotAPatient { origin: String, index: usize },
    #[error("{origin}: entry {index}: id {id:?} is not a valid NHS number")]
    InvalidId { origin: String, index: usize, id: String },
    #[error("{origin}: entry {index}: {field} {problem}")]
    BadField { origin: String, index: usize, field: &'static str, problem: String },
    #[error("{origin}: NHS number {id} appears more than once")]
    Duplicate { origin: String, id: String },
    #[error("NHS number {id} is replaced by {target}, which {problem}")]
    BrokenLink { id: String, target: String, problem: &'static str },
}

/// What a record stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Live,
    /// A superseded number: GET answers with the record it points to (PDS does so silently).
    SupersededBy(String),
    /// GET answers `404 INVALIDATED_RESOURCE`; never found by search.
    Invalidated,
}

/// One name, folded for comparison (lower case, single spaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub family: String,
    pub given: Vec<String>,
    /// `use: "old"`: only found by a search with `_history=true` (or fuzzy).
    pub historic: bool,
}

/// One postcode, without spaces and in upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postcode {
    pub value: String,
    pub historic: bool,
}

/// The fields search matches on, extracted once from the Patient.
#[derive(Debug, Clone, Default)]
pub struct Demographics {
    pub names: Vec<Name>,
    pub postcodes: Vec<Postcode>,
    pub birth_date: Option<NaiveDate>,
    pub death_date: Option<NaiveDate>,
    pub gender: Option<String>,
    pub gp_codes: Vec<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    /// `meta.security` code `R` (or `V`): location details are withheld and postcode searches skip it.
    pub restricted: bool,
}

/// One NHS number in the data.
#[derive(Debug, Clone)]
pub struct Record {
    pub nhs_number: String,
    pub status: Status,
    pub demographics: Demographics,
    /// `meta.versionId`, for the `ETag` header.
    pub version_id: String,
    /// The body GET returns: current data only, restricted fields removed, emulator tags removed.
    pub patient: Arc<Value>,
    /// The reduced Patient a search returns.
    pub search_patient: Arc<Value>,
}

/// Result of looking an NHS number up, after following supersession.
#[derive(Debug)]
pub enum Lookup<'a> {
    Found(&'a Record),
    Invalidated,
    NotFound,
}

/// All records, keyed by NHS number (ordered, so search results are deterministic).
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    records: BTreeMap<String, Record>,
}

impl Dataset {
    /// The data shipped in `data/patients.json`.
    pub fn builtin() -> Result<Self, DataError> {
        Self::from_json_str(BUILTIN_DATA, "built-in data/patients.json")
    }

    /// Loads files in order; an entry in a later file replaces the entry with the same NHS number (an overlay).
    pub fn from_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self, DataError> {
        let mut dataset = Self::default();
        for path in paths {
            let path = path.as_ref();
            let text = std::fs::read_to_string(path).map_err(|source| DataError::Read { path: path.into(), source })?;
            dataset.merge(parse_bundle_text(&text, &path.display().to_string())?);
        }
        dataset.check_links()?;
        Ok(dataset)
    }

    /// Parses and checks one Bundle given as text.
    pub fn from_json_str(text: &str, origin: &str) -> Result<Self, DataError> {
        let dataset = parse_bundle_text(text, origin)?;
        dataset.check_links()?;
        Ok(dataset)
    }

    /// Parses and checks one Bundle.
    pub fn from_bundle(bundle: &Value, origin: &str) -> Result<Self, DataError> {
        let dataset = parse_bundle(bundle, origin)?;
        dataset.check_links()?;
        Ok(dataset)
    }

    /// Applies `bundle` on top of this data (same rules as a later `--data` file). On error nothing changes.
    pub fn overlay(&self, bundle: &Value, origin: &str) -> Result<Self, DataError> {
        let mut merged = self.clone();
        merged.merge(parse_bundle(bundle, origin)?);
        merged.check_links()?;
        Ok(merged)
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.values()
    }

    /// GET semantics: unknown, invalidated, or the live record at the end of any supersession chain.
    pub fn lookup(&self, nhs_number: &str) -> Lookup<'_> {
        match self.records.get(nhs_number) {
            None => Lookup::NotFound,
            Some(record) => self.resolve(record).map_or(Lookup::Invalidated, Lookup::Found),
        }
    }

    /// Follows `replaced-by` links to the live record; `None` if the chain ends in an invalidated number.
    pub fn resolve<'a>(&'a self, record: &'a Record) -> Option<&'a Record> {
        let mut current = record;
        for _ in 0..=MAX_SUPERSESSION_HOPS {
            match &current.status {
                Status::Live => return Some(current),
                Status::Invalidated => return None,
                Status::SupersededBy(target) => current = self.records.get(target)?,
            }
        }
        None
    }

    fn merge(&mut self, other: Dataset) {
        self.records.extend(other.records);
    }

    /// Every superseded number must lead to a live record, so GET never has to invent an answer.
    fn check_links(&self) -> Result<(), DataError> {
        for record in self.records.values() {
            let Status::SupersededBy(target) = &record.status else { continue };
            if self.resolve(record).is_some() {
                continue;
            }
            let problem = match self.records.get(target).map(|t| &t.status) {
                None => "is not in the data",
                Some(Status::Invalidated) => "is invalidated",
                Some(_) => "does not lead to a live record within 10 links (a loop?)",
            };
            return Err(DataError::BrokenLink { id: record.nhs_number.clone(), target: target.clone(), problem });
        }
        Ok(())
    }
}

fn parse_bundle_text(text: &str, origin: &str) -> Result<Dataset, DataError> {
    let bundle: Value =
        serde_json::from_str(text).map_err(|source| DataError::Json { origin: origin.into(), source })?;
    parse_bundle(&bundle, origin)
}

fn parse_bundle(bundle: &Value, origin: &str) -> Result<Dataset, DataError> {
    let entries = match (bundle.get("resourceType").and_then(Value::as_str), bundle.get("entry")) {
        (Some("Bundle"), Some(Value::Array(entries))) => entries.as_slice(),
        (Some("Bundle"), None) => &[],
        _ => return Err(DataError::NotABundle { origin: origin.into() }),
    };
    let mut records = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        let record = parse_patient(entry.get("resource"), origin, index)?;
        let id = record.nhs_number.clone();
        if records.insert(id.clone(), record).is_some() {
            return Err(DataError::Duplicate { origin: origin.into(), id });
        }
    }
    Ok(Dataset { records })
}

fn parse_patient(resource: Option<&Value>, origin: &str, index: usize) -> Result<Record, DataError> {
    let bad =
        |field: &'static str, problem: String| DataError::BadField { origin: origin.into(), index, field, problem };
    let patient = match resource {
        Some(Value::Object(p)) if p.get("resourceType").and_then(Value::as_str) == Some("Patient") => p,
        _ => return Err(DataError::NotAPatient { origin: origin.into(), index }),
    };
    let id = patient.get("id").and_then(Value::as_str).unwrap_or_default();
    if !nhs_number::is_valid(id) {
        return Err(DataError::InvalidId { origin: origin.into(), index, id: id.into() });
    }
    for identifier in array(patient, "identifier") {
        let value = identifier.get("value").and_then(Value::as_str);
        if identifier.get("system").and_then(Value::as_str) == Some(NHS_NUMBER_SYSTEM) && value != Some(id) {
            return Err(bad("identifier", format!("value {value:?} differs from id {id}")));
        }
    }
    let status = status_of(patient, id).map_err(|problem| bad("link", problem))?;
    let demographics = demographics_of(patient).map_err(|(field, problem)| bad(field, problem))?;
    let version_id = match patient.get("meta").and_then(|m| m.get("versionId")) {
        Some(Value::String(v)) => v.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "1".into(),
    };
    let get_view = get_view(patient, id, demographics.restricted);
    let search_view = search_view(&get_view);
    Ok(Record {
        nhs_number: id.into(),
        status,
        demographics,
        version_id,
        patient: Arc::new(Value::Object(get_view)),
        search_patient: Arc::new(Value::Object(search_view)),
    })
}

fn status_of(patient: &Map<String, Value>, id: &str) -> Result<Status, String> {
    let invalidated = patient
        .get("meta")
        .and_then(|m| m.get("tag"))
        .and_then(Value::as_array)
        .is_some_and(|tags| tags.iter().any(|t| is_emulator_tag(t, INVALIDATED_TAG)));
    let replaced_by: Vec<&Value> =
        array(patient, "link").filter(|l| l.get("type").and_then(Value::as_str) == Some(REPLACED_BY)).collect();
    match (invalidated, replaced_by.as_slice()) {
        (true, []) => Ok(Status::Invalidated),
        (true, _) => Err("an invalidated number cannot also be replaced-by another".into()),
        (false, []) => Ok(Status::Live),
        (false, [link]) => {
            let other = link.get("other");
            let target = other
                .and_then(|o| o.get("reference"))
                .and_then(Value::as_str)
                .map(|r| r.rsplit('/').next().unwrap_or(r))
                .or_else(|| {
                    other.and_then(|o| o.get("identifier")).and_then(|i| i.get("value")).and_then(Value::as_str)
                })
                .unwrap_or_default();
            if !nhs_number::is_valid(target) || target == id {
                return Err(format!("replaced-by target {target:?} is not another valid NHS number"));
            }
            Ok(Status::SupersededBy(target.into()))
        }
        (false, _) => Err("more than one replaced-by link".into()),
    }
}

fn demographics_of(patient: &Map<String, Value>) -> Result<Demographics, (&'static str, String)> {
    let names = array(patient, "name")
        .map(|n| Name {
            family: fold(n.get("family").and_then(Value::as_str).unwrap_or_default()),
            given: strings(n.get("given")).flat_map(words).collect(),
            historic: is_old(n),
        })
        .collect();
    let postcodes = array(patient, "address")
        .filter_map(|a| {
            let value = a.get("postalCode").and_then(Value::as_str)?;
            Some(Postcode { value: normalise_postcode(value), historic: is_old(a) })
        })
        .collect();
    let birth_date = match patient.get("birthDate").and_then(Value::as_str) {
        None => None,
        Some(text) => Some(parse_date(text).ok_or(("birthDate", format!("{text:?} is not YYYY-MM-DD")))?),
    };
    let death_date = match patient.get("deceasedDateTime").and_then(Value::as_str) {
        None => None,
        Some(text) => Some(
            text.get(..10).and_then(parse_date).ok_or(("deceasedDateTime", format!("{text:?} is not a date-time")))?,
        ),
    };
    let telecom = |system: &str| -> Vec<String> {
        array(patient, "telecom")
            .filter(|t| t.get("system").and_then(Value::as_str) == Some(system))
            .filter_map(|t| t.get("value").and_then(Value::as_str).map(|v| v.trim().to_lowercase()))
            .collect()
    };
    let restricted = patient
        .get("meta")
        .and_then(|m| m.get("security"))
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|c| matches!(c.get("code").and_then(Value::as_str), Some("R" | "V"))));
    Ok(Demographics {
        names,
        postcodes,
        birth_date,
        death_date,
        gender: patient.get("gender").and_then(Value::as_str).map(str::to_lowercase),
        gp_codes: array(patient, "generalPractitioner")
            .filter_map(|gp| gp.get("identifier")?.get("value")?.as_str().map(str::to_uppercase))
            .collect(),
        emails: telecom("email"),
        phones: telecom("phone"),
        restricted,
    })
}

/// What GET returns: emulator tags and historic (`use: "old"`) names and addresses removed, and for restricted
/// patients the location-revealing fields removed, as PDS does (Mavis's restricted fixture keeps them; PDS does not).
fn get_view(patient: &Map<String, Value>, id: &str, restricted: bool) -> Map<String, Value> {
    let mut view = patient.clone();
    if let Some(Value::Object(meta)) = view.get_mut("meta")
        && let Some(Value::Array(tags)) = meta.get_mut("tag")
    {
        tags.retain(|t| t.get("system").and_then(Value::as_str) != Some(EMULATOR_TAG_SYSTEM));
        if tags.is_empty() {
            meta.remove("tag");
        }
    }
    retain(&mut view, "name", |n| !is_old(n));
    retain(&mut view, "address", |a| !is_old(a));
    if restricted {
        for field in ["address", "telecom", "generalPractitioner"] {
            view.remove(field);
        }
    }
    if !view.contains_key("identifier") {
        view.insert("identifier".into(), serde_json::json!([{"system": NHS_NUMBER_SYSTEM, "value": id}]));
    }
    view
}

/// The reduced Patient of a search result: usual/nickname/temporary names, home address, telecom, GP, birth and
/// death, security; no contacts, birthplace, pharmacy, communication or contact preferences.
fn search_view(get_view: &Map<String, Value>) -> Map<String, Value> {
    let mut view = get_view.clone();
    view.remove("contact");
    view.remove("managingOrganization");
    retain(&mut view, "extension", |e| e.get("url").and_then(Value::as_str) == Some(DEATH_NOTIFICATION_URL));
    retain(&mut view, "name", |n| matches!(use_of(n), None | Some("usual" | "nickname" | "temp")));
    retain(&mut view, "address", |a| matches!(use_of(a), None | Some("home")));
    view
}

fn retain(object: &mut Map<String, Value>, field: &str, keep: impl Fn(&Value) -> bool) {
    if let Some(Value::Array(items)) = object.get_mut(field) {
        items.retain(|item| keep(item));
        if items.is_empty() {
            object.remove(field);
        }
    }
}

fn is_emulator_tag(tag: &Value, code: &str) -> bool {
    tag.get("system").and_then(Value::as_str) == Some(EMULATOR_TAG_SYSTEM)
        && tag.get("code").and_then(Value::as_str) == Some(code)
}

fn use_of(value: &Value) -> Option<&str> {
    value.get("use").and_then(Value::as_str)
}

fn is_old(value: &Value) -> bool {
    use_of(value) == Some("old")
}

fn array<'a>(object: &'a Map<String, Value>, field: &str) -> impl Iterator<Item = &'a Value> {
    object.get(field).and_then(Value::as_array).into_iter().flatten()
}

fn strings(value: Option<&Value>) -> impl Iterator<Item = &str> {
    value.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Case-insensitive, whitespace-insensitive form used for every name comparison.
pub(crate) fn fold(text: &str) -> String {
    words(text).collect::<Vec<_>>().join(" ")
}

pub(crate) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split_whitespace().map(str::to_lowercase)
}

/// PDS ignores spaces in postcodes.
pub(crate) fn normalise_postcode(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle(patients: Vec<Value>) -> Value {
        json!({"resourceType": "Bundle", "type": "collection",
               "entry": patients.into_iter().map(|p| json!({"resource": p})).collect::<Vec<_>>()})
    }

    #[test]
    fn builtin_data_loads() {
        let data = Dataset::builtin().expect("built-in data");
        assert!(data.len() >= 16);
        assert!(matches!(data.lookup("9452372230"), Lookup::Found(r) if r.nhs_number == "9467351307"));
        assert!(matches!(data.lookup("9990003343"), Lookup::Invalidated));
    }

    #[test]
    fn rejects_broken_supersession() {
        let old = json!({"resourceType": "Patient", "id": "9452372230",
                         "link": [{"type": "replaced-by", "other": {"reference": "Patient/9467351307"}}]});
        let err = Dataset::from_bundle(&bundle(vec![old]), "test").unwrap_err();
        assert!(err.to_string().contains("is not in the data"), "{err}");
    }

    #[test]
    fn rejects_invalid_ids_and_duplicates() {
        let err = Dataset::from_bundle(&bundle(vec![json!({"resourceType": "Patient", "id": "9000000000"})]), "t");
        assert!(matches!(err, Err(DataError::InvalidId { .. })));
        let p = json!({"resourceType": "Patient", "id": "9000000009"});
        let err = Dataset::from_bundle(&bundle(vec![p.clone(), p]), "t");
        assert!(matches!(err, Err(DataError::Duplicate { .. })));
    }

    #[test]
    fn restricted_get_view_drops_location_fields() {
        let data = Dataset::builtin().expect("built-in data");
        let Lookup::Found(record) = data.lookup("9000000025") else { panic!("restricted patient missing") };
        for field in ["address", "telecom", "generalPractitioner"] {
            assert!(record.patient.get(field).is_none(), "{field}");
        }
        assert!(record.demographics.restricted);
        assert!(!record.demographics.postcodes.is_empty(), "kept for matching, never shown");
    }
}

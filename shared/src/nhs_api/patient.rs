//! The part of a PDS `Patient` that Mavis keeps (nhs-apis.md §1.8), plus the given name the import matcher needs.
//! Parsing is separate from HTTP so the PDS fixtures can pin it down.

use chrono::NaiveDate;
use serde_json::Value;

/// Why a Patient resource could not be read. Messages name the field, never its value (it is personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatientParseError {
    #[error("expected a Patient resource")]
    NotAPatient,
    #[error("the Patient has no id (NHS number)")]
    MissingId,
    #[error("the Patient's {0} is not a valid date")]
    BadDate(&'static str),
}

/// A patient as PDS knows them. `Debug` shows personal data: never log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdsPatient {
    /// The record's current NHS number (`id`). It differs from the number asked for when that one was superseded.
    pub nhs_number: String,
    /// The current name's given names joined with spaces (PDS allows several, Mavis sends them as one string).
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    /// Date part of `deceasedDateTime`.
    pub date_of_death: Option<NaiveDate>,
    /// `meta.security[].code == "R"`: PDS has withheld address, telecom and GP, and Mavis must hide location data.
    pub restricted: bool,
    /// `generalPractitioner[0].identifier.value`; `None` for restricted patients and patients with no GP.
    pub gp_ods_code: Option<String>,
}

impl PdsPatient {
    /// Reads a FHIR Patient (from GET, or a search Bundle entry's `resource`).
    pub fn from_fhir(resource: &Value) -> Result<Self, PatientParseError> {
        if resource.get("resourceType").and_then(Value::as_str) != Some("Patient") {
            return Err(PatientParseError::NotAPatient);
        }
        let nhs_number = text(resource.get("id")).ok_or(PatientParseError::MissingId)?;
        let name = current_name(resource);
        let given_name = name
            .and_then(|name| name.get("given"))
            .and_then(Value::as_array)
            .map(|given| given.iter().filter_map(Value::as_str).map(str::trim).filter(|g| !g.is_empty()))
            .map(|given| given.collect::<Vec<_>>().join(" "))
            .filter(|joined| !joined.is_empty());
        let family_name = text(name.and_then(|name| name.get("family")));
        let date_of_birth = date(resource.get("birthDate"), "birthDate")?;
        let date_of_death = date(resource.get("deceasedDateTime"), "deceasedDateTime")?;
        let restricted = resource
            .pointer("/meta/security")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|security| security.get("code").and_then(Value::as_str) == Some("R"));
        let gp_ods_code = text(resource.pointer("/generalPractitioner/0/identifier/value"));
        Ok(Self { nhs_number, given_name, family_name, date_of_birth, date_of_death, restricted, gp_ods_code })
    }

    /// The number that replaced `requested`, when PDS answered a GET for a superseded number with the new record.
    pub fn superseded_by(&self, requested: &str) -> Option<&str> {
        (self.nhs_number != requested.trim()).then_some(self.nhs_number.as_str())
    }
}

/// The name Mavis treats as current: `usual`, else `official`, else the first name that is not `old`.
fn current_name(resource: &Value) -> Option<&Value> {
    let names = resource.get("name").and_then(Value::as_array)?;
    let with_use = |wanted: &str| names.iter().find(|name| name.get("use").and_then(Value::as_str) == Some(wanted));
    with_use("usual")
        .or_else(|| with_use("official"))
        .or_else(|| names.iter().find(|name| name.get("use").and_then(Value::as_str) != Some("old")))
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A FHIR `date` or the date part of a `dateTime` (PDS sends `2010-10-22T00:00:00+00:00`).
fn date(value: Option<&Value>, field: &'static str) -> Result<Option<NaiveDate>, PatientParseError> {
    let Some(raw) = text(value) else { return Ok(None) };
    let day = raw.get(..10).ok_or(PatientParseError::BadDate(field))?;
    NaiveDate::parse_from_str(day, "%Y-%m-%d").map(Some).map_err(|_| PatientParseError::BadDate(field))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../../shared/fixtures/mavis/pds/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).expect("fixture is JSON")
    }

    fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    #[test]
    fn get_patient_fixture() {
        let patient = PdsPatient::from_fhir(&fixture("get-patient-response.json")).unwrap();
        assert_eq!(
            patient,
            PdsPatient {
                nhs_number: "9000000009".into(),
                given_name: Some("Jane".into()),
                family_name: Some("Smith".into()),
                date_of_birth: ymd(2010, 10, 22),
                date_of_death: None,
                restricted: false,
                gp_ods_code: Some("Y12345".into()),
            }
        );
        assert_eq!(patient.superseded_by("9000000009"), None);
        assert_eq!(patient.superseded_by("9111231130"), Some("9000000009"));
    }

    #[test]
    fn deceased_fixture_gives_the_date_part() {
        let patient = PdsPatient::from_fhir(&fixture("get-patient-response-deceased.json")).unwrap();
        assert_eq!(patient.date_of_death, ymd(2010, 10, 22));
        assert!(patient.restricted, "Mavis's deceased fixture is also marked R");
    }

    #[test]
    fn restricted_fixture_is_flagged() {
        let patient = PdsPatient::from_fhir(&fixture("restricted-patient-response.json")).unwrap();
        assert!(patient.restricted);
        assert_eq!(patient.date_of_death, None);
    }

    #[test]
    fn search_fixture_entry() {
        let bundle = fixture("search-patients-response.json");
        let patient = PdsPatient::from_fhir(&bundle["entry"][0]["resource"]).unwrap();
        assert_eq!(patient.nhs_number, "9449306168");
        assert_eq!(patient.family_name.as_deref(), Some("LAWMAN"));
        assert_eq!(patient.given_name.as_deref(), Some("ELDREDA"));
        assert_eq!(patient.date_of_birth, ymd(1939, 1, 9));
        assert_eq!(patient.gp_ods_code.as_deref(), Some("H81109"));
        assert!(!patient.restricted);
    }

    #[test]
    fn error_fixtures_are_not_patients() {
        for name in
            ["not-found-patient-response.json", "too-many-matches.json", "search-patients-no-results-response.json"]
        {
            assert_eq!(PdsPatient::from_fhir(&fixture(name)), Err(PatientParseError::NotAPatient), "{name}");
        }
    }

    #[test]
    fn old_names_are_ignored_and_given_names_joined() {
        let patient = PdsPatient::from_fhir(&json!({"resourceType": "Patient", "id": "9000000009", "name": [
            {"use": "old", "family": "Before", "given": ["Old"]},
            {"use": "usual", "family": "After", "given": ["John", "Paul"]}]}))
        .unwrap();
        assert_eq!(patient.family_name.as_deref(), Some("After"));
        assert_eq!(patient.given_name.as_deref(), Some("John Paul"));

        let only_old = PdsPatient::from_fhir(&json!({"resourceType": "Patient", "id": "9000000009",
            "name": [{"use": "old", "family": "Before"}]}))
        .unwrap();
        assert_eq!(only_old.family_name, None);
    }

    #[test]
    fn minimal_patient_and_bad_data() {
        let minimal = PdsPatient::from_fhir(&json!({"resourceType": "Patient", "id": "9000000033"})).unwrap();
        assert_eq!((minimal.given_name, minimal.date_of_birth, minimal.restricted), (None, None, false));
        assert_eq!(PdsPatient::from_fhir(&json!({"resourceType": "Patient"})), Err(PatientParseError::MissingId));
        assert_eq!(
            PdsPatient::from_fhir(&json!({"resourceType": "Patient", "id": "1", "birthDate": "22/10/2010"})),
            Err(PatientParseError::BadDate("birthDate"))
        );
    }
}

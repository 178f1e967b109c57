//! The vaccination-record columns and their aliases (mavis-import.md §3.2–§3.4), resolved once per file.
//!
//! Each field lists its headers in priority order. The first one present **as a column** wins, even when its cell
//! is blank on a row: `PERSON_FORENAME` blank with `First name` filled in is "Enter a first name.", not a fallback.
//! National reporting drops the point-of-care-only fields entirely (they are ignored even when present), but
//! keeps the other aliases, which Mavis does not gate by format.

use crate::csv_import::file::{Column, Headers};

/// Which layout a file is read with; the team's kind decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Mavis CSV and the SystmOne export (§3.2, §3.3).
    PointOfCare,
    /// §3.4.
    NationalReporting,
}

/// The column each field is read from, or `None` when the file has none of its headers (or the format ignores it).
#[derive(Debug, Clone, Default)]
pub(super) struct Columns {
    pub ods_code: Option<Column>,
    pub school_urn: Option<Column>,
    pub school_name: Option<Column>,
    pub nhs_number: Option<Column>,
    pub first_name: Option<Column>,
    pub last_name: Option<Column>,
    pub date_of_birth: Option<Column>,
    pub gender: Option<Column>,
    pub postcode: Option<Column>,
    pub vaccinated: Option<Column>,
    pub date_of_vaccination: Option<Column>,
    pub time_of_vaccination: Option<Column>,
    pub programme: Option<Column>,
    pub vaccination_type: Option<Column>,
    pub vaccine: Option<Column>,
    pub batch_number: Option<Column>,
    pub batch_expiry: Option<Column>,
    pub site: Option<Column>,
    pub dose_sequence: Option<Column>,
    pub reason: Option<Column>,
    pub care_setting: Option<Column>,
    pub location_type: Option<Column>,
    pub clinic_name: Option<Column>,
    pub performer_email: Option<Column>,
    pub performer_forename: Option<Column>,
    pub performer_surname: Option<Column>,
    pub supplier_email: Option<Column>,
    pub notes: Option<Column>,
    pub session_id: Option<Column>,
    pub uuid: Option<Column>,
    pub local_patient_id: Option<Column>,
    pub local_patient_id_uri: Option<Column>,
}

/// The first of `keys` (normalised headers) that the file has.
fn first(headers: &Headers, keys: &[&str]) -> Option<Column> {
    keys.iter().find_map(|key| headers.column(key))
}

impl Columns {
    pub fn resolve(headers: &Headers, format: Format) -> Self {
        let h = |keys: &[&str]| first(headers, keys);
        let poc = |keys: &[&str]| match format {
            Format::PointOfCare => first(headers, keys),
            Format::NationalReporting => None,
        };
        let nr = |keys: &[&str]| match format {
            Format::PointOfCare => None,
            Format::NationalReporting => first(headers, keys),
        };
        Columns {
            ods_code: h(&["organisation_code"]),
            school_urn: h(&["school_urn", "school_code"]),
            school_name: poc(&["school_name", "school", "event_done_at"]),
            nhs_number: h(&["nhs_number"]),
            first_name: h(&["person_forename", "first_name"]),
            last_name: h(&["person_surname", "surname"]),
            date_of_birth: h(&["person_dob", "date_of_birth"]),
            gender: h(&["person_gender_code", "person_gender", "sex"]),
            postcode: h(&["person_postcode", "postcode"]),
            vaccinated: h(&["vaccinated"]),
            date_of_vaccination: h(&["date_of_vaccination", "event_date"]),
            time_of_vaccination: h(&["time_of_vaccination", "event_time"]),
            programme: poc(&["programme"]),
            vaccination_type: poc(&["vaccination_type"]),
            vaccine: h(&["vaccine_given"]),
            batch_number: h(&["batch_number", "vaccination_batch_number"]),
            batch_expiry: h(&["batch_expiry_date"]),
            site: h(&["anatomical_site"]),
            dose_sequence: h(&["dose_sequence"]),
            reason: poc(&["reason_not_vaccinated"]),
            care_setting: poc(&["care_setting"]),
            location_type: poc(&["event_location_type"]),
            clinic_name: poc(&["clinic_name", "event_done_at"]),
            performer_email: poc(&["performing_professional_email"]),
            performer_forename: h(&["performing_professional_forename"]),
            performer_surname: h(&["performing_professional_surname"]),
            supplier_email: poc(&["supplier_email"]),
            notes: poc(&["notes"]),
            session_id: poc(&["session_id"]),
            uuid: poc(&["uuid"]),
            local_patient_id: nr(&["local_patient_id"]),
            local_patient_id_uri: nr(&["local_patient_id_uri"]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> Headers {
        Headers::new(names.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn when_several_aliases_are_columns_should_take_the_first_in_priority_order() {
        let columns =
            Columns::resolve(&headers(&["First name", "PERSON_FORENAME", "Sex", "PERSON_GENDER"]), Format::PointOfCare);
        assert_eq!(columns.first_name.unwrap().header, "PERSON_FORENAME");
        assert_eq!(columns.gender.unwrap().header, "PERSON_GENDER");
    }

    #[test]
    fn when_file_uses_systm_one_headers_should_find_every_field() {
        let columns = Columns::resolve(
            &headers(&[
                "Date of birth",
                "NHS number",
                "Vaccination batch number",
                "Vaccination type",
                "First name",
                "Postcode",
                "Sex",
                "Surname",
                "Event date",
                "Event location type",
                "Event time",
                "School",
                "School code",
                "Event done at",
            ]),
            Format::PointOfCare,
        );
        let header = |c: &Option<Column>| c.as_ref().map(|c| c.header.clone());
        assert_eq!(header(&columns.date_of_birth).as_deref(), Some("Date of birth"));
        assert_eq!(header(&columns.nhs_number).as_deref(), Some("NHS number"));
        assert_eq!(header(&columns.batch_number).as_deref(), Some("Vaccination batch number"));
        assert_eq!(header(&columns.vaccination_type).as_deref(), Some("Vaccination type"));
        assert_eq!(header(&columns.first_name).as_deref(), Some("First name"));
        assert_eq!(header(&columns.last_name).as_deref(), Some("Surname"));
        assert_eq!(header(&columns.gender).as_deref(), Some("Sex"));
        assert_eq!(header(&columns.postcode).as_deref(), Some("Postcode"));
        assert_eq!(header(&columns.date_of_vaccination).as_deref(), Some("Event date"));
        assert_eq!(header(&columns.time_of_vaccination).as_deref(), Some("Event time"));
        assert_eq!(header(&columns.location_type).as_deref(), Some("Event location type"));
        assert_eq!(header(&columns.school_name).as_deref(), Some("School"));
        assert_eq!(header(&columns.school_urn).as_deref(), Some("School code"));
        assert_eq!(header(&columns.clinic_name).as_deref(), Some("Event done at"));
    }

    #[test]
    fn when_format_is_national_reporting_should_ignore_point_of_care_fields() {
        let all = [
            "PROGRAMME",
            "Vaccination type",
            "REASON_NOT_VACCINATED",
            "CARE_SETTING",
            "CLINIC_NAME",
            "NOTES",
            "PERFORMING_PROFESSIONAL_EMAIL",
            "SUPPLIER_EMAIL",
            "SESSION_ID",
            "UUID",
            "Event location type",
            "SCHOOL_NAME",
            "LOCAL_PATIENT_ID",
            "LOCAL_PATIENT_ID_URI",
            "Date of birth",
        ];
        let nr = Columns::resolve(&headers(&all), Format::NationalReporting);
        for (name, column) in [
            ("programme", &nr.programme),
            ("vaccination type", &nr.vaccination_type),
            ("reason", &nr.reason),
            ("care setting", &nr.care_setting),
            ("clinic", &nr.clinic_name),
            ("notes", &nr.notes),
            ("performer email", &nr.performer_email),
            ("supplier", &nr.supplier_email),
            ("session", &nr.session_id),
            ("uuid", &nr.uuid),
            ("location type", &nr.location_type),
            ("school name", &nr.school_name),
        ] {
            assert!(column.is_none(), "{name} should be ignored");
        }
        assert!(nr.local_patient_id.is_some() && nr.local_patient_id_uri.is_some());
        assert!(nr.date_of_birth.is_some(), "aliases are not gated");

        let poc = Columns::resolve(&headers(&all), Format::PointOfCare);
        assert!(poc.programme.is_some() && poc.session_id.is_some());
        assert!(poc.local_patient_id.is_none(), "ignored for point of care");
    }
}

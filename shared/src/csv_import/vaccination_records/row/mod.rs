//! The messages of one vaccination row (mavis-import.md §4.2), in Mavis's order (fixture-outcomes.md §0):
//! VACCINATED, batch expiry, batch number, care setting, clinic name, date of vaccination, anatomical site, dose
//! sequence, (existing-patient ambiguity: the pipeline), local patient ID and URI, date of birth, first name,
//! gender, last name, NHS number, postcode, performer, ODS code, programme, reason not vaccinated, school name,
//! school URN, supplier, session ID, time, (UUID existence: the pipeline), vaccine. The in-file duplicate message
//! comes last and is added by the caller.
//!
//! A national-reporting row with Vaccinated = N gets no check at all; one whose Vaccinated cannot be decided gets
//! only the VACCINATED message.
//!
//! The checks are grouped by what they are about: [`child`] (who the child is), [`record`] (what was given, and
//! when), [`setting`] (who gave it, where, and the service's own identifiers).

mod child;
mod record;
mod setting;

use super::columns::Format;
use super::reading::{Reader, Reading};
use crate::csv_import::file::Field;
use crate::domain::RowError;

const MAX_FIELD_CHARS: usize = 300;
const TOO_LONG: &str = "is greater than 300 characters long";
const MUST_BE_BLANK: &str = "must be blank";
const INVALID_EMAIL: &str = "Enter a valid email address.";
const VACCINATED_UNDECIDED: &str =
    "You need to record whether the child was vaccinated or not. Enter ‘Y’ or ‘N’ in the ‘VACCINATED’ column.";

/// The messages of one row, in the order they are found.
pub(super) struct Errors {
    row: u64,
    pub list: Vec<RowError>,
}

impl Errors {
    pub fn new(row: u64) -> Self {
        Errors { row, list: Vec::new() }
    }

    /// A message attached to a column, shown as `<code>HEADER</code>: message`.
    pub(super) fn at(&mut self, field: Field, message: impl Into<String>) {
        self.list.push(RowError { row: self.row, column: Some(field.header.to_string()), message: message.into() });
    }

    /// A row-level message, shown alone.
    pub fn base(&mut self, message: impl Into<String>) {
        self.list.push(RowError { row: self.row, column: None, message: message.into() });
    }
}

/// How a field's presence turned out, for the many "absent → [base] required / blank → Enter …" rules.
pub(super) enum Presence<'a> {
    Absent,
    Blank(Field<'a>),
    Present(Field<'a>, &'a str),
}

pub(super) fn presence(field: Option<Field>) -> Presence {
    match field {
        None => Presence::Absent,
        Some(f @ Field { value: None, .. }) => Presence::Blank(f),
        Some(f @ Field { value: Some(text), .. }) => Presence::Present(f, text),
    }
}

/// The "…is required" text naming a field's headers: `<code>A</code> is required`, `<code>A</code> or
/// <code>B</code> is required`, `<code>A</code>, <code>B</code> or <code>C</code> is required`.
pub(super) fn required(headers: &[&str]) -> String {
    let coded: Vec<String> = headers.iter().map(|h| format!("<code>{h}</code>")).collect();
    let list = match coded.as_slice() {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    };
    format!("{list} is required")
}

/// The headers named in a "required" message: national reporting names only the Mavis header.
pub(super) fn names<'h>(format: Format, point_of_care: &'h [&'h str]) -> &'h [&'h str] {
    match format {
        Format::PointOfCare => point_of_care,
        Format::NationalReporting => &point_of_care[..1],
    }
}

/// Offline and national-reporting rows must carry what a live record would: batch, expiry, site, vaccine.
pub(super) fn record_complete_required(r: &Reading) -> bool {
    r.offline || r.is_national_reporting()
}

/// Checks one read row. `errors` must be empty; it gets the row's messages.
pub(super) fn check(reader: &Reader, r: &Reading, errors: &mut Errors) {
    if r.is_ignored() {
        return;
    }
    check_administered(r, errors);
    if r.is_national_reporting() && r.administered != Some(true) {
        return;
    }
    let today = reader.ctx.today;
    record::check_batch_expiry(r, errors, today);
    record::check_batch_number(r, errors);
    setting::check_care_setting(r, errors);
    setting::check_clinic_name(r, errors);
    record::check_date_of_vaccination(reader, r, errors);
    record::check_site(r, errors);
    record::check_dose(r, errors);
    record::check_local_patient_ids(r, errors);
    child::check_date_of_birth(r, errors, today);
    child::check_name(r.f.first_name, errors, r.format, &["PERSON_FORENAME", "First name"], "Enter a first name.");
    child::check_gender(r, errors);
    child::check_name(r.f.last_name, errors, r.format, &["PERSON_SURNAME", "Surname"], "Enter a last name.");
    child::check_nhs_number(r, errors);
    child::check_postcode(r, errors);
    setting::check_performer(r, errors);
    setting::check_ods_code(reader, r, errors);
    record::check_programme(r, errors);
    record::check_reason(r, errors);
    setting::check_school_name(r, errors);
    setting::check_school_urn(r, errors);
    setting::check_supplier(r, errors);
    setting::check_session(r, errors);
    setting::check_time(reader, r, errors);
    setting::check_uuid(r, errors);
    record::check_vaccine(r, errors);
}

fn check_administered(r: &Reading, errors: &mut Errors) {
    if r.administered.is_some() {
        return;
    }
    match r.f.vaccinated {
        None => errors.base(required(&["VACCINATED"])),
        Some(field) => errors.at(field, VACCINATED_UNDECIDED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_listing_required_headers_should_join_like_mavis() {
        assert_eq!(required(&["VACCINATED"]), "<code>VACCINATED</code> is required");
        assert_eq!(
            required(&["PERSON_DOB", "Date of birth"]),
            "<code>PERSON_DOB</code> or <code>Date of birth</code> is required"
        );
        assert_eq!(
            required(&["PERSON_GENDER_CODE", "PERSON_GENDER", "Sex"]),
            "<code>PERSON_GENDER_CODE</code>, <code>PERSON_GENDER</code> or <code>Sex</code> is required"
        );
    }
}

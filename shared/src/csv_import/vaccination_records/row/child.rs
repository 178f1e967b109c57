//! Who the child is: date of birth, names, gender, NHS number and postcode. Vaccination imports check only the
//! length of names, and need a postcode only to find a child who has no NHS number (always, in national reporting).

use chrono::NaiveDate;

use super::{Errors, MAX_FIELD_CHARS, Presence, TOO_LONG, names, presence, required};
use crate::csv_import::file::Field;
use crate::csv_import::vaccination_records::columns::Format;
use crate::csv_import::vaccination_records::reading::Reading;
use crate::csv_import::values::parse_nhs_number;

const INVALID_POSTCODE: &str = "Enter a valid postcode, such as SW1A 1AA.";

pub(super) fn check_date_of_birth(r: &Reading, errors: &mut Errors, today: NaiveDate) {
    match presence(r.f.date_of_birth) {
        Presence::Absent => errors.base(required(names(r.format, &["PERSON_DOB", "Date of birth"]))),
        Presence::Blank(field) => errors.at(field, "Enter a date of birth."),
        Presence::Present(field, _) => match r.date_of_birth {
            None => errors.at(field, "Enter a date of birth in the correct format."),
            Some(date) if date > today => errors.at(field, "Enter a date of birth in the past."),
            Some(_) => {}
        },
    }
}

/// Vaccination imports check only the length of names, not their characters.
pub(super) fn check_name(field: Option<Field>, errors: &mut Errors, format: Format, headers: &[&str], blank: &str) {
    match presence(field) {
        Presence::Absent => errors.base(required(names(format, headers))),
        Presence::Blank(field) => errors.at(field, blank),
        Presence::Present(field, text) if text.chars().count() > MAX_FIELD_CHARS => errors.at(field, TOO_LONG),
        Presence::Present(..) => {}
    }
}

pub(super) fn check_gender(r: &Reading, errors: &mut Errors) {
    let headers: &[&str] = match r.format {
        Format::PointOfCare => &["PERSON_GENDER_CODE", "PERSON_GENDER", "Sex"],
        Format::NationalReporting => &["PERSON_GENDER_CODE", "PERSON_GENDER"],
    };
    match presence(r.f.gender) {
        Presence::Absent => errors.base(required(headers)),
        Presence::Blank(field) => errors.at(field, "Enter a gender or gender code."),
        Presence::Present(field, _) if r.gender.is_none() => errors.at(field, "Enter a valid gender or gender code."),
        Presence::Present(..) => {}
    }
}

pub(super) fn check_nhs_number(r: &Reading, errors: &mut Errors) {
    if let Presence::Present(field, text) = presence(r.f.nhs_number)
        && parse_nhs_number(text).is_none()
    {
        errors.at(field, "should be a valid NHS number with 10 characters");
    }
}

/// Point of care needs a postcode only to find a child without an NHS number; national reporting always does.
pub(super) fn check_postcode(r: &Reading, errors: &mut Errors) {
    match presence(r.f.postcode) {
        Presence::Present(field, _) if r.postcode.is_none() => errors.at(field, INVALID_POSTCODE),
        Presence::Present(..) => {}
        _ if r.nhs_number.is_some() && !r.is_national_reporting() => {}
        Presence::Absent => errors.base(required(names(r.format, &["PERSON_POSTCODE", "Postcode"]))),
        Presence::Blank(field) => errors.at(field, INVALID_POSTCODE),
    }
}

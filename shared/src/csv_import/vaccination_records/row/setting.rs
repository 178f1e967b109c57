//! Who gave it and where: care setting, clinic, performer, ODS code, school, supplier, the offline session, the
//! time of day, and the `UUID` of a record being updated.

use super::{Errors, INVALID_EMAIL, MAX_FIELD_CHARS, Presence, TOO_LONG, presence, record_complete_required, required};
use crate::csv_import::vaccination_records::columns::Format;
use crate::csv_import::vaccination_records::reading::{Reader, Reading, SchoolValue, URN_UNKNOWN, value};
use crate::csv_import::values::london_date_time;
use crate::domain::Programme;

const URN_NOT_RECOGNISED: &str = "The school URN is not recognised. If you’ve checked the URN, and you believe it’s valid, contact our support team.";
const SESSION_NOT_RECOGNISED: &str = "The session ID is not recognised. Download the offline spreadsheet and copy the session ID for this row from there, or contact our support team.";

pub(super) fn check_care_setting(r: &Reading, errors: &mut Errors) {
    if let Presence::Present(field, _) = presence(r.f.care_setting)
        && r.care_setting.is_none()
    {
        errors.at(field, "Enter a valid care setting.");
    }
}

pub(super) fn check_clinic_name(r: &Reading, errors: &mut Errors) {
    let clinic_required = r.offline && r.community_setting();
    match presence(r.f.clinic_name) {
        Presence::Present(field, text) => {
            if text.chars().count() > MAX_FIELD_CHARS {
                errors.at(field, TOO_LONG);
            } else if clinic_required && r.clinic.is_none() {
                errors.at(field, "is not recognised");
            }
        }
        Presence::Absent if clinic_required => errors.base(required(&["CLINIC_NAME", "Event done at"])),
        Presence::Blank(field) if clinic_required => errors.at(field, "Enter a clinic name."),
        _ => {}
    }
}

pub(super) fn check_performer(r: &Reading, errors: &mut Errors) {
    match r.format {
        Format::PointOfCare => {
            if r.performer.is_some() {
                return;
            }
            match presence(r.f.performer_email) {
                Presence::Absent if r.offline => errors.base(required(&["PERFORMING_PROFESSIONAL_EMAIL"])),
                Presence::Blank(field) if r.offline => errors.at(field, INVALID_EMAIL),
                Presence::Present(field, _) => errors.at(field, INVALID_EMAIL),
                _ => {}
            }
        }
        Format::NationalReporting => {
            let flu = r.programme.is_some_and(|p| p.programme == Programme::Flu);
            if !flu || r.administered != Some(true) {
                return;
            }
            for (field, header, blank) in [
                (r.f.performer_forename, "PERFORMING_PROFESSIONAL_FORENAME", "Enter a forename."),
                (r.f.performer_surname, "PERFORMING_PROFESSIONAL_SURNAME", "Enter a surname."),
            ] {
                match presence(field) {
                    Presence::Absent => errors.base(required(&[header])),
                    Presence::Blank(field) => errors.at(field, blank),
                    Presence::Present(..) => {}
                }
            }
        }
    }
}

/// Offline rows must come from the uploading team; national reporting needs a code but does not check it.
pub(super) fn check_ods_code(reader: &Reader, r: &Reading, errors: &mut Errors) {
    if !record_complete_required(r) {
        return;
    }
    match presence(r.f.ods_code) {
        Presence::Absent => errors.base(required(&["ORGANISATION_CODE"])),
        Presence::Blank(field) => errors.at(field, "Enter an organisation code."),
        Presence::Present(field, code) if r.format == Format::PointOfCare && code != reader.ctx.team.ods_code => {
            errors.at(field, "Enter an organisation code that matches the current team.")
        }
        Presence::Present(..) => {}
    }
}

/// A school name is needed only to say where an unknown school (888888) is.
pub(super) fn check_school_name(r: &Reading, errors: &mut Errors) {
    if r.is_national_reporting() {
        return;
    }
    let name_required = value(r.f.school_urn) == Some(URN_UNKNOWN);
    match presence(r.f.school_name) {
        Presence::Present(field, text) if text.chars().count() > MAX_FIELD_CHARS => errors.at(field, TOO_LONG),
        Presence::Present(..) => {}
        Presence::Absent if name_required => errors.base(required(&["SCHOOL_NAME", "School"])),
        Presence::Blank(field) if name_required => errors.at(field, "Enter a school name."),
        _ => {}
    }
}

pub(super) fn check_school_urn(r: &Reading, errors: &mut Errors) {
    match presence(r.f.school_urn) {
        Presence::Absent if r.is_national_reporting() => errors.base(required(&["SCHOOL_URN"])),
        Presence::Blank(field) if r.is_national_reporting() => errors.at(field, "Enter a school URN."),
        Presence::Present(field, _) if r.school == SchoolValue::NotFound => errors.at(field, URN_NOT_RECOGNISED),
        _ => {}
    }
}

pub(super) fn check_supplier(r: &Reading, errors: &mut Errors) {
    if let Presence::Present(field, _) = presence(r.f.supplier_email)
        && r.supplier.is_none()
    {
        errors.at(field, INVALID_EMAIL);
    }
}

/// The session must be one of the team's for the current academic year. (A session ID on the UUID of a record
/// from the NHS Immunisations API is refused by the pipeline, which can see the stored record.)
pub(super) fn check_session(r: &Reading, errors: &mut Errors) {
    if let Presence::Present(field, _) = presence(r.f.session_id)
        && r.session.is_none()
    {
        errors.at(field, SESSION_NOT_RECOGNISED);
    }
}

pub(super) fn check_time(reader: &Reader, r: &Reading, errors: &mut Errors) {
    let Presence::Present(field, _) = presence(r.f.time_of_vaccination) else {
        return;
    };
    let Some(time) = r.time else {
        errors.at(field, "Enter a time in the correct format.");
        return;
    };
    if let Some(date) = r.date_of_vaccination
        && date == reader.ctx.today
        && london_date_time(date, time).is_some_and(|at| at > reader.now)
    {
        errors.at(field, "Enter a time in the past.");
    }
}

/// A value that is not a UUID cannot name a stored record. Whether a well-formed one does is for the pipeline.
pub(super) fn check_uuid(r: &Reading, errors: &mut Errors) {
    if let Presence::Present(field, _) = presence(r.f.uuid)
        && r.uuid.is_none()
    {
        errors.at(field, "Enter an existing record.");
    }
}

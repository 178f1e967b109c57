//! What was given and when: batch, date of vaccination, site, dose, programme, reason and vaccine, plus the
//! national-reporting local patient IDs.

use chrono::NaiveDate;

use super::{Errors, MUST_BE_BLANK, Presence, names, presence, record_complete_required, required};
use crate::csv_import::vaccination_records::columns::Format;
use crate::csv_import::vaccination_records::reading::{Reader, Reading};
use crate::csv_import::vaccination_records::values::{self, maximum_dose, site_suits};
use crate::domain::{AcademicYear, Programme};

const DATE_FORMAT: &str = "Enter a date in the correct format.";
const INVALID_REASON: &str = "Enter a valid reason.";
const DOSE_EXAMPLE: &str = "Enter a dose sequence number, for example, 1, 2 or 3.";
const DOSE_REQUIRED_BLANK: &str =
    "Enter a dose sequence number, for example, 1, 2 or 3. The dose sequence number cannot be greater than 6.";
const PROGRAMME_UNAVAILABLE: &str = "This programme is not available in this session.";

pub(super) fn check_batch_expiry(r: &Reading, errors: &mut Errors, today: NaiveDate) {
    let field = r.f.batch_expiry;
    if r.administered != Some(true) {
        if let Presence::Present(field, _) = presence(field) {
            errors.at(field, MUST_BE_BLANK);
        }
        return;
    }
    match presence(field) {
        Presence::Present(field, _) => {
            let year = chrono::Datelike::year(&today);
            let earliest = NaiveDate::from_ymd_opt(year - 15, 1, 1);
            let latest = NaiveDate::from_ymd_opt(year + 15, 1, 1);
            match r.batch_expiry {
                None => errors.at(field, DATE_FORMAT),
                Some(date) if latest.is_some_and(|latest| date > latest) => {
                    errors.at(field, "must be less than 15 years in the future")
                }
                Some(date) if earliest.is_some_and(|earliest| date < earliest) => {
                    errors.at(field, "must be more than 15 years old")
                }
                Some(_) => {}
            }
        }
        Presence::Absent if record_complete_required(r) => errors.base(required(&["BATCH_EXPIRY_DATE"])),
        Presence::Blank(field) if record_complete_required(r) => errors.at(field, "Enter a batch expiry date."),
        _ => {}
    }
}

pub(super) fn check_batch_number(r: &Reading, errors: &mut Errors) {
    let field = r.f.batch_number;
    if r.administered != Some(true) {
        if let Presence::Present(field, _) = presence(field) {
            errors.at(field, MUST_BE_BLANK);
        }
        return;
    }
    match presence(field) {
        Presence::Present(field, text) => {
            if let Err(message) = values::check_batch_number(text) {
                errors.at(field, message);
            }
        }
        Presence::Absent if record_complete_required(r) => {
            errors.base(required(names(r.format, &["BATCH_NUMBER", "Vaccination batch number"])))
        }
        Presence::Blank(field) if record_complete_required(r) => errors.at(field, "Enter a batch number."),
        _ => {}
    }
}

pub(super) fn check_date_of_vaccination(reader: &Reader, r: &Reading, errors: &mut Errors) {
    let (field, date) = match presence(r.f.date_of_vaccination) {
        Presence::Absent => {
            errors.base(required(names(r.format, &["DATE_OF_VACCINATION", "Event date"])));
            return;
        }
        Presence::Blank(field) => {
            errors.at(field, "Enter a date.");
            return;
        }
        Presence::Present(field, _) => match r.date_of_vaccination {
            None => {
                errors.at(field, DATE_FORMAT);
                return;
            }
            Some(date) => (field, date),
        },
    };
    if let Some(date_of_birth) = r.date_of_birth {
        if date > reader.ctx.today {
            errors.at(field, "The vaccination date is in the future.");
        } else if date < date_of_birth {
            errors.at(field, "The vaccination date is before the date of birth.");
        }
    }
    let flu = r.programme.is_some_and(|p| p.programme == Programme::Flu);
    if (flu || r.is_national_reporting()) && AcademicYear::containing(date) != reader.current_year {
        errors.at(field, "must be in the current academic year");
    }
    if let Some(session) = r.session
        && !session.dates.contains(&date)
    {
        errors.at(field, "Enter a date that matches when the vaccination session took place.");
    }
    if r.is_national_reporting()
        && let Some(cut_off) = reader.ctx.team.national_reporting_cut_off_date
        && date < cut_off
    {
        let long_date = cut_off.format("%-d %B %Y");
        errors.at(
            field,
            format!("must be on or after your team's start date with Mavis national reporting: {long_date}"),
        );
    }
}

pub(super) fn check_site(r: &Reading, errors: &mut Errors) {
    let field = r.f.site;
    if r.administered != Some(true) {
        if let Presence::Present(field, _) = presence(field) {
            errors.at(field, MUST_BE_BLANK);
        }
        return;
    }
    match presence(field) {
        Presence::Present(field, _) => match (r.site, r.vaccine) {
            (None, _) => errors.at(field, "Enter a valid anatomical site."),
            (Some(site), Some(vaccine)) if record_complete_required(r) && !site_suits(vaccine.method, site) => {
                // "a anatomical" is Mavis's typo, kept verbatim (quirk 10 of mavis-import.md §14).
                errors.at(field, "Enter a anatomical site that is appropriate for the vaccine.")
            }
            _ => {}
        },
        Presence::Absent if record_complete_required(r) => errors.base(required(&["ANATOMICAL_SITE"])),
        Presence::Blank(field) if record_complete_required(r) => errors.at(field, "Enter an anatomical site."),
        _ => {}
    }
}

/// Checked only once the programme is known, since the codes and the maximum are per programme.
pub(super) fn check_dose(r: &Reading, errors: &mut Errors) {
    let Some(programme) = r.programme else {
        return;
    };
    let field = r.f.dose_sequence.or(r.f.vaccination_type);
    let maximum = maximum_dose(programme.programme);
    if r.dose_given {
        let Some(field) = field else {
            return;
        };
        match r.dose {
            None => errors.at(field, DOSE_EXAMPLE),
            Some(dose) if dose < 1 => errors.at(field, "must be greater than 0"),
            Some(dose) if dose > maximum => errors.at(field, format!("must be less than or equal to {maximum}")),
            Some(_) => {}
        }
        return;
    }
    let required_here = r.administered == Some(true)
        && (r.offline || (r.is_national_reporting() && programme.programme == Programme::Hpv));
    if required_here {
        match field {
            None => errors.base(required(names(r.format, &["DOSE_SEQUENCE", "Vaccination type"]))),
            Some(field) => errors.at(field, DOSE_REQUIRED_BLANK),
        }
    }
}

pub(super) fn check_local_patient_ids(r: &Reading, errors: &mut Errors) {
    if !r.is_national_reporting() {
        return;
    }
    for (field, header, blank) in [
        (r.f.local_patient_id, "LOCAL_PATIENT_ID", "Enter a local patient ID."),
        (r.f.local_patient_id_uri, "LOCAL_PATIENT_ID_URI", "Enter a local patient ID URI."),
    ] {
        match presence(field) {
            Presence::Absent => errors.base(required(&[header])),
            Presence::Blank(field) => errors.at(field, blank),
            Presence::Present(..) => {}
        }
    }
}

pub(super) fn check_programme(r: &Reading, errors: &mut Errors) {
    match (r.format, r.programme) {
        (Format::NationalReporting, Some(programme))
            if !matches!(programme.programme, Programme::Flu | Programme::Hpv) =>
        {
            let message = "This vaccine programme is not accepted in this upload.";
            match r.f.vaccine {
                Some(field) => errors.at(field, message),
                None => errors.base(message),
            }
        }
        (Format::PointOfCare, None) => match presence(r.f.programme.or(r.f.vaccination_type)) {
            Presence::Absent => errors.base(required(&["PROGRAMME", "Vaccination type"])),
            Presence::Blank(field) => errors.at(field, "Enter a programme."),
            Presence::Present(field, _) => errors.at(field, PROGRAMME_UNAVAILABLE),
        },
        _ => {}
    }
}

pub(super) fn check_reason(r: &Reading, errors: &mut Errors) {
    if r.is_national_reporting() {
        return;
    }
    match (r.administered, presence(r.f.reason)) {
        (Some(true), Presence::Present(field, _)) => errors.at(field, MUST_BE_BLANK),
        (Some(true), _) => {}
        (_, Presence::Present(field, _)) if r.reason.is_none() => errors.at(field, INVALID_REASON),
        (_, Presence::Present(..)) => {}
        (_, Presence::Absent) => errors.base(required(&["REASON_NOT_VACCINATED"])),
        (_, Presence::Blank(field)) => errors.at(field, INVALID_REASON),
    }
}

pub(super) fn check_vaccine(r: &Reading, errors: &mut Errors) {
    let field = r.f.vaccine.or(r.f.vaccination_type);
    if let Some(vaccine) = r.vaccine {
        if let (Some(programme), Some(field)) = (r.programme, field)
            && vaccine.programme != programme.programme
        {
            errors.at(field, format!("is not given in the {} programme", programme.programme.name()));
        }
    } else if r.vaccine_name.is_some() {
        let message =
            if r.offline { "This vaccine is not available in this session." } else { "This vaccine is not valid." };
        match field {
            Some(field) => errors.at(field, message),
            None => errors.base(message),
        }
    } else if record_complete_required(r) && r.administered == Some(true) {
        match presence(r.f.vaccine) {
            Presence::Absent => errors.base(required(&["VACCINE_GIVEN"])),
            Presence::Blank(field) => errors.at(field, "Enter a vaccine name."),
            Presence::Present(..) => {}
        }
    }
}

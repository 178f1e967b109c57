//! A read row → [`VaccinationRow`] (mavis-import.md §6.1 item 5), and the derived record fields that the in-file
//! duplicate check compares (§8.2): location and location name, protocol, performer, source.

use chrono::NaiveTime;

use super::columns::Format;
use super::reading::{Reader, Reading, SchoolValue, value};
use super::values::delivery_method;
use crate::csv_import::file::Row;
use crate::csv_import::values::{london_date_time, parse_nhs_number};
use crate::domain::patient::ChildAttributes;
use crate::domain::vaccination::{
    DeliveryMethod, Performer, Protocol, RecordSource, VaccinatedChild, VaccinationDetails, VaccinationOutcome,
    VaccinationRow,
};
use crate::domain::{AcademicYear, Gender};

/// Where the record says the vaccination happened: `(location, location_name)`.
///
/// National reporting: the school found by URN. Point of care: the offline session's location, unless that is the
/// team's generic clinic. Without a location, the name is the URN's school, `SCHOOL_NAME` or "Unknown" in a school
/// (or unknown, clinic-less) setting, and the team's clinic, `CLINIC_NAME` or "Unknown" otherwise.
pub(super) fn location(reader: &Reader, r: &Reading) -> (Option<String>, Option<String>) {
    let location = match r.format {
        Format::NationalReporting => match r.school {
            SchoolValue::Found(school) => Some(school.urn_and_site()),
            _ => None,
        },
        Format::PointOfCare => r
            .session
            .filter(|session| !is_generic_clinic(reader, &session.location))
            .map(|session| session.location.clone()),
    };
    if location.is_some() {
        return (location, None);
    }
    let clinic_name = value(r.f.clinic_name);
    let name = if r.school_setting() || (r.unknown_setting() && clinic_name.is_none()) {
        match r.school {
            SchoolValue::Found(school) => school.name.clone(),
            _ => value(r.f.school_name).unwrap_or("Unknown").to_string(),
        }
    } else {
        r.clinic.map(|clinic| clinic.name.as_str()).or(clinic_name).unwrap_or("Unknown").to_string()
    };
    (None, Some(name))
}

fn is_generic_clinic(reader: &Reader, location: &str) -> bool {
    let team = reader.ctx.team;
    team.generic_clinic_id.as_deref() == Some(location)
        || reader.ctx.reference.clinics.iter().any(|c| c.id == location && c.generic)
}

/// `pgd`, unless a supplier other than the performer is named: then `national`, or `pgd` for a nasal spray. (A
/// patient-specific direction would make it `psd`; that needs the stored patient, so the pipeline decides it.)
pub(super) fn protocol(r: &Reading) -> Protocol {
    let other_supplier = r.supplier.is_some_and(|supplier| {
        r.performer.is_none_or(|performer| !performer.email.eq_ignore_ascii_case(&supplier.email))
    });
    if !other_supplier {
        return Protocol::Pgd;
    }
    match r.site.map(delivery_method) {
        Some(DeliveryMethod::NasalSpray) => Protocol::Pgd,
        _ => Protocol::National,
    }
}

/// A matched user, or else the free-text names when either is given.
pub(super) fn performer(r: &Reading) -> Performer {
    match r.performer {
        Some(user) => Performer { user_email: Some(user.email.clone()), ..Performer::default() },
        None => Performer {
            user_email: None,
            given_name: value(r.f.performer_forename).map(String::from),
            family_name: value(r.f.performer_surname).map(String::from),
        },
    }
}

/// `service` for offline rows, `historical_upload` for other point-of-care rows, `national_reporting`. (A UUID of
/// an NHS Immunisations API record makes it `nhs_immunisations_api`; the pipeline sees that.)
pub(super) fn source(r: &Reading) -> RecordSource {
    match r.format {
        Format::NationalReporting => RecordSource::NationalReporting,
        Format::PointOfCare if r.offline => RecordSource::Service,
        Format::PointOfCare => RecordSource::HistoricalUpload,
    }
}

/// The child as the row identifies them; blank or invalid values are left out.
fn child(r: &Reading) -> VaccinatedChild {
    let gender = r.gender.unwrap_or(Gender::NotKnown);
    VaccinatedChild {
        attributes: ChildAttributes {
            given_name: value(r.f.first_name).map(String::from),
            family_name: value(r.f.last_name).map(String::from),
            date_of_birth: r.date_of_birth,
            birth_academic_year: r.date_of_birth.map(AcademicYear::of_birth),
            gender: r.gender,
            nhs_number: value(r.f.nhs_number).and_then(parse_nhs_number),
            address_postcode: r.postcode.clone(),
            ..ChildAttributes::default()
        },
        gender,
        school_urn: match r.school {
            SchoolValue::Found(school) => Some(school.urn_and_site()),
            _ => None,
        },
        home_educated: r.school == SchoolValue::HomeEducated,
    }
}

/// A valid row as domain values. `None` only if the row was not valid after all (the caller reports that).
pub(super) fn convert(reader: &Reader, r: &Reading, row: &Row) -> Option<VaccinationRow> {
    let programme = r.programme?;
    let administered = r.administered?;
    let outcome = if administered { VaccinationOutcome::Administered } else { r.reason? };
    let date = r.date_of_vaccination?;
    let performed_at = london_date_time(date, r.time.unwrap_or(NaiveTime::MIN))?;
    let (location, location_name) = location(reader, r);
    // Not-vaccinated rows were checked to have no batch or site; a vaccine and a dose are still recorded.
    let given = |text: Option<&str>| text.filter(|_| administered).map(String::from);
    let site = r.site.filter(|_| administered);
    let national = r.format == Format::NationalReporting;
    let details = VaccinationDetails {
        programme: programme.programme,
        vaccine: r.vaccine.map(|v| v.key.clone()),
        disease_types: r.vaccine.map(|v| v.disease_types.clone()).unwrap_or_else(|| programme.disease_types()),
        outcome,
        performed_at,
        time_given: r.time.is_some(),
        batch_number: given(value(r.f.batch_number)),
        batch_expiry: r.batch_expiry.filter(|_| administered),
        delivery_site: site,
        delivery_method: site.map(delivery_method),
        dose_sequence: r.dose.and_then(|dose| u32::try_from(dose).ok()),
        full_dose: true,
        performer: performer(r),
        supplier_email: r.supplier.map(|user| user.email.clone()),
        performed_ods_code: value(r.f.ods_code).map(String::from),
        notes: value(r.f.notes).map(String::from),
        session_id: r.session.map(|session| session.id),
        location,
        location_name,
        source: source(r),
        notify_parents: r.session.map(|_| true),
        protocol: Some(protocol(r)),
        local_patient_id: value(r.f.local_patient_id).filter(|_| national).map(String::from),
        local_patient_id_uri: value(r.f.local_patient_id_uri).filter(|_| national).map(String::from),
    };
    Some(VaccinationRow {
        index: row.index,
        row_number: row.row_number,
        child: child(r),
        details,
        uuid: r.uuid,
        ignored: false,
    })
}

/// A national-reporting row with Vaccinated = N. It is handed over only to be counted as ignored: none of its
/// cells were checked, so beyond `index`, `row_number` and `ignored` the values are a best-effort reading with
/// placeholders (the team's first programme, outcome `refused`, midnight of `today`) and must not be imported.
pub(super) fn convert_ignored(reader: &Reader, r: &Reading, row: &Row) -> VaccinationRow {
    let team_programme = reader.ctx.team.programmes.first().copied();
    let programme = r.programme.map(|p| p.programme).or(team_programme).unwrap_or(crate::domain::Programme::Flu);
    let date = r.date_of_vaccination.unwrap_or(reader.ctx.today);
    let performed_at = london_date_time(date, r.time.unwrap_or(NaiveTime::MIN))
        .unwrap_or_else(|| date.and_time(NaiveTime::MIN).and_utc());
    VaccinationRow {
        index: row.index,
        row_number: row.row_number,
        child: child(r),
        details: VaccinationDetails {
            programme,
            vaccine: r.vaccine.map(|v| v.key.clone()),
            disease_types: Vec::new(),
            outcome: VaccinationOutcome::Refused,
            performed_at,
            time_given: false,
            batch_number: None,
            batch_expiry: None,
            delivery_site: None,
            delivery_method: None,
            dose_sequence: None,
            full_dose: true,
            performer: Performer::default(),
            supplier_email: None,
            performed_ods_code: value(r.f.ods_code).map(String::from),
            notes: None,
            session_id: None,
            location: None,
            location_name: None,
            source: RecordSource::NationalReporting,
            notify_parents: None,
            protocol: None,
            local_patient_id: value(r.f.local_patient_id).map(String::from),
            local_patient_id_uri: value(r.f.local_patient_id_uri).map(String::from),
        },
        uuid: None,
        ignored: true,
    }
}

//! Reading one vaccination row: every cell looked up once (programme, vaccine, dose, session, school, clinic,
//! users), before any message is decided.
//!
//! Mavis derives these values lazily and uses the same derived value in several checks: the programme decides
//! the dose limits, the current-academic-year rule, the performer rule and the vaccine mismatch. Computing them
//! once, up front, keeps the checker (`row.rs`), the conversion (`convert.rs`) and the duplicate key
//! (`duplicates.rs`) in agreement.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use uuid::Uuid;

use super::VaccinationContext;
use super::columns::{Columns, Format};
use super::vaccination_type::{TypeDose, parse_vaccination_type};
use super::values::{
    CareSetting, ProgrammeChoice, default_dose, dose_code, parse_care_setting, parse_delivery_site, parse_reason,
    parse_vaccinated, parse_vaccination_gender, programme_for_name,
};
use crate::csv_import::file::{Column, Field, Headers, Row};
use crate::csv_import::values::{parse_date, parse_integer, parse_postcode, parse_time, remove_whitespace};
use crate::domain::reference::SchoolLookup;
use crate::domain::vaccination::{DeliverySite, VaccinationOutcome};
use crate::domain::{AcademicYear, Clinic, Gender, Programme, ReferenceData, School, Session, User};
use crate::reference::vaccines::Vaccine;

/// Every programme, for national reporting: the programme comes from the vaccine, and a vaccine of a programme
/// that is not reported must still be recognised to say so ("This vaccine programme is not accepted…").
const ALL_PROGRAMMES: [Programme; 5] =
    [Programme::Flu, Programme::Hpv, Programme::Menacwy, Programme::Mmr, Programme::TdIpv];

pub(super) const URN_HOME_EDUCATED: &str = "999999";
pub(super) const URN_UNKNOWN: &str = "888888";

/// Reads the rows of one file: the columns are resolved once.
pub(super) struct Reader<'c, 'r> {
    pub ctx: &'c VaccinationContext<'r>,
    pub format: Format,
    pub columns: Columns,
    /// The current academic year (`today`'s): flu and national-reporting dates must fall in it, and offline
    /// sessions must belong to it.
    pub current_year: AcademicYear,
    /// What "now" is for "Enter a time in the past.".
    pub now: DateTime<Utc>,
}

/// The cells of the resolved columns. `None` means the column is absent; a present column may hold a blank cell.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Fields<'a> {
    pub ods_code: Option<Field<'a>>,
    pub school_urn: Option<Field<'a>>,
    pub school_name: Option<Field<'a>>,
    pub nhs_number: Option<Field<'a>>,
    pub first_name: Option<Field<'a>>,
    pub last_name: Option<Field<'a>>,
    pub date_of_birth: Option<Field<'a>>,
    pub gender: Option<Field<'a>>,
    pub postcode: Option<Field<'a>>,
    pub vaccinated: Option<Field<'a>>,
    pub date_of_vaccination: Option<Field<'a>>,
    pub time_of_vaccination: Option<Field<'a>>,
    pub programme: Option<Field<'a>>,
    pub vaccination_type: Option<Field<'a>>,
    pub vaccine: Option<Field<'a>>,
    pub batch_number: Option<Field<'a>>,
    pub batch_expiry: Option<Field<'a>>,
    pub site: Option<Field<'a>>,
    pub dose_sequence: Option<Field<'a>>,
    pub reason: Option<Field<'a>>,
    pub care_setting: Option<Field<'a>>,
    pub location_type: Option<Field<'a>>,
    pub clinic_name: Option<Field<'a>>,
    pub performer_email: Option<Field<'a>>,
    pub performer_forename: Option<Field<'a>>,
    pub performer_surname: Option<Field<'a>>,
    pub supplier_email: Option<Field<'a>>,
    pub notes: Option<Field<'a>>,
    pub session_id: Option<Field<'a>>,
    pub uuid: Option<Field<'a>>,
    pub local_patient_id: Option<Field<'a>>,
    pub local_patient_id_uri: Option<Field<'a>>,
}

/// The cell's text, when the column exists and the cell is not blank.
pub(super) fn value<'a>(field: Option<Field<'a>>) -> Option<&'a str> {
    field?.value
}

/// What `SCHOOL_URN` says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum SchoolValue<'a> {
    /// Absent or blank.
    Blank,
    HomeEducated,
    Unknown,
    /// A school anywhere (not only the team's), by URN, URN + site or SystmOne code.
    Found(&'a School),
    NotFound,
}

/// One row, read.
#[derive(Debug, Clone)]
pub(super) struct Reading<'a> {
    pub f: Fields<'a>,
    pub format: Format,
    /// `None` when it cannot be decided: an unknown `VACCINATED` value, or none and no vaccine given.
    pub administered: Option<bool>,
    /// A `SESSION_ID` is given: the row comes back from an offline session spreadsheet (§3.3).
    pub offline: bool,
    /// The team's session of the current academic year that `SESSION_ID` names.
    pub session: Option<&'a Session>,
    pub programme: Option<ProgrammeChoice>,
    /// The name the vaccine was looked up by: the vaccine part of `Vaccination type`, else `VACCINE_GIVEN`.
    pub vaccine_name: Option<String>,
    pub vaccine: Option<&'a Vaccine>,
    /// A dose was written (in `DOSE_SEQUENCE` or in `Vaccination type`), so it is checked.
    pub dose_given: bool,
    /// The dose as Mavis resolves it: a code, a number, or the programme's default when none is written.
    pub dose: Option<i64>,
    pub date_of_vaccination: Option<NaiveDate>,
    pub time: Option<NaiveTime>,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<Gender>,
    /// The NHS number cell with whitespace removed, valid or not (it makes the postcode optional).
    pub nhs_number: Option<String>,
    pub postcode: Option<String>,
    pub site: Option<DeliverySite>,
    pub batch_expiry: Option<NaiveDate>,
    pub school: SchoolValue<'a>,
    /// One of the team's community clinics, named by `CLINIC_NAME` (case-insensitive).
    pub clinic: Option<&'a Clinic>,
    /// `CARE_SETTING` when it is 1 or 2.
    pub care_setting: Option<CareSetting>,
    pub performer: Option<&'a User>,
    pub supplier: Option<&'a User>,
    pub reason: Option<VaccinationOutcome>,
    pub uuid: Option<Uuid>,
}

impl<'c, 'r> Reader<'c, 'r> {
    pub fn new(headers: &Headers, ctx: &'c VaccinationContext<'r>, now: DateTime<Utc>) -> Self {
        let format = ctx.format();
        Reader {
            ctx,
            format,
            columns: Columns::resolve(headers, format),
            current_year: AcademicYear::containing(ctx.today),
            now,
        }
    }

    pub fn fields<'a>(&'a self, row: &'a Row) -> Fields<'a> {
        let c = &self.columns;
        let f = |column: &'a Option<Column>| row.field(column.as_ref());
        Fields {
            ods_code: f(&c.ods_code),
            school_urn: f(&c.school_urn),
            school_name: f(&c.school_name),
            nhs_number: f(&c.nhs_number),
            first_name: f(&c.first_name),
            last_name: f(&c.last_name),
            date_of_birth: f(&c.date_of_birth),
            gender: f(&c.gender),
            postcode: f(&c.postcode),
            vaccinated: f(&c.vaccinated),
            date_of_vaccination: f(&c.date_of_vaccination),
            time_of_vaccination: f(&c.time_of_vaccination),
            programme: f(&c.programme),
            vaccination_type: f(&c.vaccination_type),
            vaccine: f(&c.vaccine),
            batch_number: f(&c.batch_number),
            batch_expiry: f(&c.batch_expiry),
            site: f(&c.site),
            dose_sequence: f(&c.dose_sequence),
            reason: f(&c.reason),
            care_setting: f(&c.care_setting),
            location_type: f(&c.location_type),
            clinic_name: f(&c.clinic_name),
            performer_email: f(&c.performer_email),
            performer_forename: f(&c.performer_forename),
            performer_surname: f(&c.performer_surname),
            supplier_email: f(&c.supplier_email),
            notes: f(&c.notes),
            session_id: f(&c.session_id),
            uuid: f(&c.uuid),
            local_patient_id: f(&c.local_patient_id),
            local_patient_id_uri: f(&c.local_patient_id_uri),
        }
    }

    pub fn read<'a>(&'a self, row: &'a Row) -> Reading<'a> {
        let f = self.fields(row);
        let reference: &'a ReferenceData = self.ctx.reference;
        let team = self.ctx.team;
        let vaccination_type = value(f.vaccination_type).and_then(parse_vaccination_type);

        let offline = value(f.session_id).is_some();
        let session = value(f.session_id).and_then(|id| self.session(id));
        let offered: &'a [Programme] = match (self.format, session) {
            (Format::NationalReporting, _) => &ALL_PROGRAMMES,
            (Format::PointOfCare, Some(session)) => &session.programmes,
            (Format::PointOfCare, None) => &team.programmes,
        };

        let vaccine_name = vaccination_type
            .as_ref()
            .and_then(|t| t.vaccine_name.clone())
            .or_else(|| value(f.vaccine).map(String::from));
        let vaccine = vaccine_name.as_deref().and_then(|name| self.ctx.catalogue.find_for_upload(name, offered));
        let programme_name = vaccination_type.as_ref().and_then(|t| t.programme_name).or(value(f.programme));
        let programme = programme_name
            .and_then(|name| programme_for_name(name, offered))
            .or_else(|| vaccine.map(|v| ProgrammeChoice::plain(v.programme)));

        let dose_cell = value(f.dose_sequence);
        let type_dose = vaccination_type.as_ref().and_then(|t| t.dose.clone());
        let dose = resolve_dose(type_dose.clone(), dose_cell, programme);

        let administered = match value(f.vaccinated) {
            Some(text) => parse_vaccinated(text),
            None if value(f.vaccine).is_some()
                || value(f.vaccination_type).is_some()
                || self.format == Format::NationalReporting =>
            {
                Some(true)
            }
            None => None,
        };

        let clinic = value(f.clinic_name).and_then(|name| {
            let name = name.to_lowercase();
            reference.clinics.iter().find(|c| c.team_id == team.id && !c.generic && c.name.to_lowercase() == name)
        });

        Reading {
            format: self.format,
            administered,
            offline,
            session,
            programme,
            vaccine_name,
            vaccine,
            dose_given: dose_cell.is_some() || type_dose.is_some(),
            dose,
            date_of_vaccination: value(f.date_of_vaccination).and_then(parse_date),
            time: value(f.time_of_vaccination).and_then(parse_time),
            date_of_birth: value(f.date_of_birth).and_then(parse_date),
            gender: value(f.gender).and_then(parse_vaccination_gender),
            nhs_number: value(f.nhs_number).map(remove_whitespace).filter(|n| !n.is_empty()),
            postcode: value(f.postcode).and_then(parse_postcode),
            site: value(f.site).and_then(parse_delivery_site),
            batch_expiry: value(f.batch_expiry).and_then(parse_date),
            school: school(reference, value(f.school_urn)),
            clinic,
            care_setting: value(f.care_setting).and_then(parse_care_setting),
            performer: value(f.performer_email).and_then(|email| reference.user(email)),
            supplier: value(f.supplier_email).and_then(|email| reference.user(email)),
            reason: value(f.reason).and_then(parse_reason),
            uuid: value(f.uuid).and_then(|text| Uuid::parse_str(text).ok()),
            f,
        }
    }

    /// The team's session of the current academic year with this id.
    fn session(&self, id: &str) -> Option<&'r Session> {
        let id = parse_integer(id)?;
        let reference: &'r ReferenceData = self.ctx.reference;
        reference
            .sessions
            .iter()
            .find(|s| s.id == id && s.team_id == self.ctx.team.id && s.academic_year == self.current_year.0)
    }
}

/// Mavis's `dose_sequence_value`: the dose of `Vaccination type`, else the `DOSE_SEQUENCE` cell without spaces and
/// upper-cased; nothing written gives the programme's default; a number is taken as it is; text goes through the
/// programme's code table and, failing that, the `DOSE_SEQUENCE` cell is read as a whole number.
fn resolve_dose(
    type_dose: Option<TypeDose>,
    dose_cell: Option<&str>,
    programme: Option<ProgrammeChoice>,
) -> Option<i64> {
    let written = type_dose.or_else(|| {
        dose_cell.map(|cell| remove_whitespace(cell).to_uppercase()).filter(|code| !code.is_empty()).map(TypeDose::Text)
    });
    match written {
        None => programme.and_then(|p| default_dose(p.programme)),
        Some(TypeDose::Number(number)) => Some(number),
        Some(TypeDose::Text(code)) => {
            programme.and_then(|p| dose_code(p.programme, &code)).or_else(|| dose_cell.and_then(parse_integer))
        }
    }
}

fn school<'a>(reference: &'a ReferenceData, urn: Option<&str>) -> SchoolValue<'a> {
    match urn {
        None => SchoolValue::Blank,
        Some(URN_HOME_EDUCATED) => SchoolValue::HomeEducated,
        Some(URN_UNKNOWN) => SchoolValue::Unknown,
        Some(urn) => match ReferenceData::lookup_school(reference.schools.iter(), urn) {
            SchoolLookup::Found(school) => SchoolValue::Found(school),
            SchoolLookup::SplitIntoSites(_) | SchoolLookup::NotFound => SchoolValue::NotFound,
        },
    }
}

impl Reading<'_> {
    pub fn is_national_reporting(&self) -> bool {
        self.format == Format::NationalReporting
    }

    /// A national-reporting row with Vaccinated = N: counted as ignored, neither checked nor imported.
    pub fn is_ignored(&self) -> bool {
        self.is_national_reporting() && self.administered == Some(false)
    }

    /// Neither `CARE_SETTING` nor `Event location type` is filled in.
    pub fn unknown_setting(&self) -> bool {
        value(self.f.care_setting).is_none() && value(self.f.location_type).is_none()
    }

    pub fn school_setting(&self) -> bool {
        self.care_setting == Some(CareSetting::School)
            || value(self.f.location_type).is_some_and(|t| t.to_lowercase() == "school")
    }

    pub fn community_setting(&self) -> bool {
        self.care_setting == Some(CareSetting::Community)
            || value(self.f.location_type).is_some_and(|t| t.to_lowercase() != "school")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(programme: Programme) -> Option<ProgrammeChoice> {
        Some(ProgrammeChoice::plain(programme))
    }

    #[test]
    fn when_no_dose_is_written_should_default_for_flu_and_hpv_only() {
        assert_eq!(resolve_dose(None, None, choice(Programme::Flu)), Some(1));
        assert_eq!(resolve_dose(None, None, choice(Programme::Hpv)), Some(1));
        assert_eq!(resolve_dose(None, None, choice(Programme::Mmr)), None);
        assert_eq!(resolve_dose(None, None, choice(Programme::TdIpv)), None);
        assert_eq!(resolve_dose(None, None, None), None);
    }

    #[test]
    fn when_dose_cell_is_a_code_or_number_should_resolve_it() {
        assert_eq!(resolve_dose(None, Some("2"), choice(Programme::Mmr)), Some(2));
        assert_eq!(resolve_dose(None, Some("2p"), choice(Programme::Hpv)), Some(2));
        assert_eq!(resolve_dose(None, Some("1 B"), choice(Programme::TdIpv)), Some(4));
        assert_eq!(resolve_dose(None, Some("0"), choice(Programme::Hpv)), Some(0));
        assert_eq!(resolve_dose(None, Some("7"), choice(Programme::Hpv)), Some(7));
        assert_eq!(resolve_dose(None, Some("1P"), choice(Programme::Flu)), None);
        assert_eq!(resolve_dose(None, Some("first"), choice(Programme::Hpv)), None);
    }

    #[test]
    fn when_dose_cell_names_a_scheduled_booster_should_never_match() {
        for programme in [Programme::Menacwy, Programme::TdIpv] {
            assert_eq!(resolve_dose(None, Some("1st Scheduled Booster"), choice(programme)), None);
            assert_eq!(resolve_dose(None, Some("2nd Scheduled Booster"), choice(programme)), None);
        }
    }

    #[test]
    fn when_vaccination_type_has_a_dose_should_win_over_the_cell() {
        assert_eq!(resolve_dose(Some(TypeDose::Number(2)), Some("1"), choice(Programme::Hpv)), Some(2));
        assert_eq!(resolve_dose(Some(TypeDose::Text("2B".into())), None, choice(Programme::Menacwy)), Some(3));
        // Text that is not a code falls back to the DOSE_SEQUENCE cell, as Mavis does.
        assert_eq!(resolve_dose(Some(TypeDose::Text("booster".into())), Some("3"), choice(Programme::Hpv)), Some(3));
        assert_eq!(resolve_dose(Some(TypeDose::Text("booster".into())), None, choice(Programme::Hpv)), None);
    }
}

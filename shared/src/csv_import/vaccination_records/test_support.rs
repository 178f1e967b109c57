//! Reference data and helpers for the vaccination-record tests, following fixture-outcomes.md §1: Team A (point of
//! care, ODS R1L) with a generic clinic and a community clinic; a national-reporting team; schools 123456,
//! 120026, 110158 (SystmOne `TT110158`), 144012, 100000, and 654321 split into sites A and B; sessions for the
//! offline-recording tests.

use std::io;
use std::ops::ControlFlow;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};

use super::{VaccinationContext, ValidationOutcome, read_rows, validate};
use crate::csv_import::values::london_date_time;
use crate::csv_import::{Limits, ValidateError};
use crate::domain::vaccination::VaccinationRow;
use crate::domain::{Clinic, Programme, ReferenceData, RowError, School, Session, Team, TeamKind, User};
use crate::reference::vaccines::VaccineCatalogue;

pub static CATALOGUE: LazyLock<VaccineCatalogue> = LazyLock::new(VaccineCatalogue::bundled);

pub const ALL: [Programme; 5] = [Programme::Flu, Programme::Hpv, Programme::Menacwy, Programme::Mmr, Programme::TdIpv];

/// The shared Mavis fixtures, read from the steering repository next to this workspace.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../../shared/fixtures/mavis/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|error| panic!("cannot read fixture {full}: {error}"))
}

pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a test date")
}

/// A London wall-clock time as an instant.
pub fn london(day: &str, time: &str) -> DateTime<Utc> {
    let time = chrono::NaiveTime::parse_from_str(time, "%H:%M").expect("a test time");
    london_date_time(date(day), time).expect("a real London time")
}

fn school(urn: &str, site: Option<&str>, systm_one_code: Option<&str>, team: &str) -> School {
    School {
        urn: urn.into(),
        site: site.map(Into::into),
        systm_one_code: systm_one_code.map(Into::into),
        name: format!("School {urn}{}", site.unwrap_or("")),
        year_groups: (0..=11).collect(),
        team_id: Some(team.into()),
        address: None,
    }
}

fn team(id: &str, ods_code: &str, kind: TeamKind, programmes: &[Programme]) -> Team {
    Team {
        id: id.into(),
        ods_code: ods_code.into(),
        name: id.into(),
        kind,
        programmes: programmes.to_vec(),
        year_groups: (0..=11).collect(),
        generic_clinic_id: (kind == TeamKind::PointOfCare).then(|| format!("{id}-generic")),
        reject_low_pds_match_rate: false,
        national_reporting_cut_off_date: None,
    }
}

fn session(id: i64, team_id: &str, location: &str, dates: &[&str], academic_year: i32) -> Session {
    Session {
        id,
        team_id: team_id.into(),
        location: location.into(),
        programmes: vec![Programme::Hpv, Programme::Flu],
        dates: dates.iter().map(|d| date(d)).collect(),
        academic_year,
    }
}

/// Team A ("team-a", point of care, R1L) offers `programmes`; "nr-team" is national reporting (flu + HPV).
///
/// Sessions (all Team A's unless said): 7 at school 123456 on 2025-05-20 (AY 2024, HPV + flu); 8 at the generic
/// clinic on 2025-05-20; 9 at 123456 in AY 2023; 10 belongs to the other team.
pub fn reference(programmes: &[Programme]) -> ReferenceData {
    ReferenceData {
        teams: vec![
            team("team-a", "R1L", TeamKind::PointOfCare, programmes),
            team("nr-team", "R1L", TeamKind::NationalReporting, &[Programme::Flu, Programme::Hpv]),
            team("other-team", "OTH", TeamKind::PointOfCare, &[Programme::Hpv]),
        ],
        schools: vec![
            school("123456", None, None, "team-a"),
            school("120026", None, None, "other-team"),
            school("110158", None, Some("TT110158"), "other-team"),
            school("144012", None, None, "other-team"),
            school("100000", None, None, "nr-team"),
            school("654321", Some("A"), None, "team-a"),
            school("654321", Some("B"), None, "team-a"),
        ],
        clinics: vec![
            Clinic {
                id: "team-a-generic".into(),
                name: "Community clinic".into(),
                team_id: "team-a".into(),
                generic: true,
            },
            Clinic { id: "leeds-clinic".into(), name: "Leeds Clinic".into(), team_id: "team-a".into(), generic: false },
            Clinic {
                id: "other-clinic".into(),
                name: "Other Clinic".into(),
                team_id: "other-team".into(),
                generic: false,
            },
        ],
        users: vec![
            User {
                email: "nurse@example.com".into(),
                team_id: "team-a".into(),
                given_name: "Test".into(),
                family_name: "User".into(),
                super_admin: false,
            },
            User {
                email: "supplier@example.com".into(),
                team_id: "team-a".into(),
                given_name: "Supply".into(),
                family_name: "Nurse".into(),
                super_admin: false,
            },
        ],
        sessions: vec![
            session(7, "team-a", "123456", &["2025-05-20"], 2024),
            session(8, "team-a", "team-a-generic", &["2025-05-20"], 2024),
            session(9, "team-a", "123456", &["2024-05-20"], 2023),
            session(10, "other-team", "120026", &["2025-05-20"], 2024),
        ],
    }
}

/// Team A's context (the first team) on `today`.
pub fn poc<'a>(reference: &'a ReferenceData, today: &str) -> VaccinationContext<'a> {
    at_noon(reference, &reference.teams[0], today)
}

/// The national-reporting team's context on `today`.
pub fn national<'a>(reference: &'a ReferenceData, today: &str) -> VaccinationContext<'a> {
    at_noon(reference, &reference.teams[1], today)
}

/// A team's context at noon in London on `today`.
fn at_noon<'a>(reference: &'a ReferenceData, team: &'a Team, today: &str) -> VaccinationContext<'a> {
    let now = london(today, "12:00");
    VaccinationContext { reference, catalogue: &CATALOGUE, team, today: date(today), now }
}

pub type Listed = Vec<(u64, String)>;

/// Validates `bytes` at `ctx.now`, collecting the errors as `(row, stored form)`, which is how
/// fixture-outcomes.md lists them.
pub fn validate_bytes(
    bytes: &[u8],
    ctx: &VaccinationContext,
    limits: &Limits,
) -> Result<(ValidationOutcome, Listed), ValidateError> {
    let mut errors: Vec<RowError> = Vec::new();
    let outcome = validate(&mut || Ok::<_, io::Error>(bytes), ctx, limits, &mut |error| errors.push(error))?;
    Ok((outcome, errors.iter().map(|error| (error.row, error.stored_form())).collect()))
}

/// The errors of an accepted file.
pub fn errors(csv: &str, ctx: &VaccinationContext) -> Listed {
    validate_bytes(csv.as_bytes(), ctx, &Limits::default()).expect("accepted file").1
}

pub fn rows_of(bytes: &[u8], ctx: &VaccinationContext) -> Vec<VaccinationRow> {
    let mut rows = Vec::new();
    read_rows(&mut || Ok::<_, io::Error>(bytes), ctx, &Limits::default(), &mut |row| {
        rows.push(row);
        ControlFlow::Continue(())
    })
    .expect("a valid file");
    rows
}

/// `(row, "<code>HEADER</code>: message")` for a column message.
pub fn at(row: u64, header: &str, message: &str) -> (u64, String) {
    (row, format!("<code>{header}</code>: {message}"))
}

/// `(row, message)` for a row-level message.
pub fn base(row: u64, message: &str) -> (u64, String) {
    (row, message.to_string())
}

/// A one-row CSV from `(header, value)` pairs, quoting values that need it.
pub fn csv(cells: &[(&str, &str)]) -> String {
    csv_rows(cells, 1)
}

/// The same row `count` times.
pub fn csv_rows(cells: &[(&str, &str)], count: usize) -> String {
    let quote = |text: &str| {
        if text.contains([',', '"']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
    };
    let header: Vec<String> = cells.iter().map(|(h, _)| quote(h)).collect();
    let row: Vec<String> = cells.iter().map(|(_, v)| quote(v)).collect();
    let mut out = header.join(",") + "\n";
    for _ in 0..count {
        out += &(row.join(",") + "\n");
    }
    out
}

/// The data line (no header, no newline) of a one-row CSV.
pub fn data_line(cells: &[(&str, &str)]) -> String {
    csv(cells).lines().nth(1).unwrap_or_default().to_string()
}

/// A complete, valid historical point-of-care HPV row for Team A (clock 2025-05-20), to vary one cell at a time.
pub fn hpv_row() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ORGANISATION_CODE", "R1L"),
        ("SCHOOL_URN", "110158"),
        ("SCHOOL_NAME", "Eton College"),
        ("NHS_NUMBER", "7420180008"),
        ("PERSON_FORENAME", "Chyna"),
        ("PERSON_SURNAME", "Pickle"),
        ("PERSON_DOB", "20100912"),
        ("PERSON_GENDER_CODE", "Not Specified"),
        ("PERSON_POSTCODE", "LE3 2DA"),
        ("VACCINATED", "Y"),
        ("DATE_OF_VACCINATION", "20240514"),
        ("PROGRAMME", "HPV"),
        ("VACCINE_GIVEN", "Gardasil9"),
        ("BATCH_NUMBER", "123013325"),
        ("BATCH_EXPIRY_DATE", "20260730"),
        ("ANATOMICAL_SITE", "Left Upper Arm"),
        ("DOSE_SEQUENCE", "1"),
        ("CARE_SETTING", "1"),
    ]
}

/// `row` with `header` set to `value` (added at the end when absent).
pub fn with(
    mut row: Vec<(&'static str, &'static str)>,
    header: &'static str,
    value: &'static str,
) -> Vec<(&'static str, &'static str)> {
    match row.iter_mut().find(|(h, _)| *h == header) {
        Some(cell) => cell.1 = value,
        None => row.push((header, value)),
    }
    row
}

/// `row` without the column `header`.
pub fn without(row: Vec<(&'static str, &'static str)>, header: &str) -> Vec<(&'static str, &'static str)> {
    row.into_iter().filter(|(h, _)| *h != header).collect()
}

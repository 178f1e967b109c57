//! Reference data and helpers for the child-record tests, following fixture-outcomes.md §1.

use std::io;

use chrono::NaiveDate;

use super::{ChildFormat, ChildRecordsContext, ChildRow, ValidationOutcome, read_rows, validate};
use crate::csv_import::{Limits, ValidateError};
use crate::domain::{AcademicYear, Programme, ReferenceData, RowError, School, Team, TeamKind};

/// The shared Mavis fixtures, read from the steering repository next to this workspace.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../../shared/fixtures/mavis/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|error| panic!("cannot read fixture {full}: {error}"))
}

pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a test date")
}

fn school(urn: &str, site: Option<&str>, systm_one_code: Option<&str>, team_id: &str) -> School {
    School {
        urn: urn.into(),
        site: site.map(Into::into),
        systm_one_code: systm_one_code.map(Into::into),
        name: format!("School {urn}{}", site.unwrap_or("")),
        year_groups: (0..=11).collect(),
        team_id: Some(team_id.into()),
        address: None,
    }
}

/// Team A (point of care) with schools 123456, 120026, a SystmOne-coded 110158, and 654321 split into sites A
/// and B; "Other Team" owns 111222.
pub fn reference(team_year_groups: impl IntoIterator<Item = i32>) -> ReferenceData {
    let team = |id: &str, year_groups: Vec<i32>| Team {
        id: id.into(),
        ods_code: "R1L".into(),
        name: id.into(),
        kind: TeamKind::PointOfCare,
        programmes: vec![Programme::Hpv, Programme::Menacwy, Programme::TdIpv],
        year_groups,
        generic_clinic_id: None,
        reject_low_pds_match_rate: false,
        national_reporting_cut_off_date: None,
    };
    ReferenceData {
        teams: vec![team("team-a", team_year_groups.into_iter().collect()), team("other-team", (8..=11).collect())],
        schools: vec![
            school("123456", None, None, "team-a"),
            school("120026", None, None, "team-a"),
            school("110158", None, Some("TT110158"), "team-a"),
            school("654321", Some("A"), None, "team-a"),
            school("654321", Some("B"), None, "team-a"),
            school("111222", None, None, "other-team"),
        ],
        ..ReferenceData::default()
    }
}

/// A context for Team A; `today` 2023-05-20 unless the academic year needs otherwise.
pub fn context(reference: &ReferenceData, academic_year: i32, format: ChildFormat) -> ChildRecordsContext<'_> {
    ChildRecordsContext {
        reference,
        team: &reference.teams[0],
        academic_year: AcademicYear(academic_year),
        today: AcademicYear(academic_year).start() + chrono::Days::new(260),
        format,
    }
}

pub fn class_list(year_groups: impl IntoIterator<Item = i32>) -> ChildFormat {
    ChildFormat::ClassList { year_groups: year_groups.into_iter().collect() }
}

/// Validates `bytes`, collecting the errors as `(row, stored form)`, which is how fixture-outcomes.md lists them.
pub fn validate_bytes(
    bytes: &[u8],
    ctx: &ChildRecordsContext,
    limits: &Limits,
) -> Result<(ValidationOutcome, Vec<(u64, String)>), ValidateError> {
    let mut errors: Vec<RowError> = Vec::new();
    let outcome = validate(&mut || Ok::<_, io::Error>(bytes), ctx, limits, &mut |error| errors.push(error))?;
    Ok((outcome, errors.iter().map(|error| (error.row, error.stored_form())).collect()))
}

pub fn rows_of(bytes: &[u8], ctx: &ChildRecordsContext) -> Vec<ChildRow> {
    let mut rows = Vec::new();
    read_rows(&mut || Ok::<_, io::Error>(bytes), ctx, &Limits::default(), &mut |row| {
        rows.push(row);
        std::ops::ControlFlow::Continue(())
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

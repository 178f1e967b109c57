//! One child-record or class-list row: validation with Mavis's messages in Mavis's order (mavis-import.md §4.1,
//! fixture-outcomes.md §0), then conversion of a valid row into the domain.
//!
//! The order is date of birth, (existing-patient ambiguity, checked later by the pipeline), first name, preferred
//! first name, gender, last name, preferred last name, NHS number, parent 1 email/name/phone/relationship, parent 2
//! the same, year group, postcode, school URN (child records only), and last the repeated NHS number.

use chrono::NaiveDate;

use super::columns::{Columns, ParentColumns};
use super::{ChildFormat, ChildRecordsContext, ChildRow, UploadedParent};
use crate::csv_import::file::{Column, Field, Headers, Row};
use crate::csv_import::values::{
    check_person_name, normalise_apostrophes, parse_date, parse_email, parse_gender, parse_integer, parse_nhs_number,
    parse_phone, parse_postcode, parse_relationship,
};
use crate::domain::patient::{ChildAttributes, SchoolPlacement};
use crate::domain::reference::{School, SchoolLookup};
use crate::domain::{AcademicYear, ReferenceData, RowError};

pub(super) const SAME_NHS_NUMBER: &str = "The same NHS number appears multiple times in this file.";
const NOT_IN_PROGRAMME: &str = "is not part of this programme";
const INVALID_EMAIL: &str = "should be a valid email address, like j.doe@example.com";
const INVALID_PHONE: &str = "should be a valid phone number, like 01632 960 001, 07700 900 982 or +44 808 157 0192";
const INVALID_POSTCODE: &str = "should be a postcode, like SW1A 1AA";
const URN_NOT_RECOGNISED: &str = "The school URN is not recognised. If you’ve checked the URN, and you believe it’s valid, contact our support team.";
const URN_UNKNOWN_SCHOOL: &str = "888888";
const URN_HOME_EDUCATED: &str = "999999";

/// The messages of one row, in the order they are found.
struct Errors {
    row: u64,
    list: Vec<RowError>,
}

impl Errors {
    /// A message attached to a column, shown as `<code>HEADER</code>: message`.
    fn at(&mut self, header: &str, message: impl Into<String>) {
        self.list.push(RowError { row: self.row, column: Some(header.to_string()), message: message.into() });
    }

    /// A row-level message, shown alone.
    fn base(&mut self, message: impl Into<String>) {
        self.list.push(RowError { row: self.row, column: None, message: message.into() });
    }

    /// A required column missing from the header row (named as the canonical header, since it is not in the file).
    fn column_missing(&mut self, canonical_header: &str) {
        self.base(format!("<code>{canonical_header}</code> is required"));
    }
}

/// Checks rows of one file: the columns and the team's schools are looked up once, not per row.
pub(super) struct RowChecker<'c, 'r> {
    ctx: &'c ChildRecordsContext<'r>,
    columns: Columns,
    team_schools: Vec<&'r School>,
}

impl<'c, 'r> RowChecker<'c, 'r> {
    pub fn new(headers: &Headers, ctx: &'c ChildRecordsContext<'r>) -> Self {
        let team_schools = ctx.reference.schools_of_team(&ctx.team.id).collect();
        RowChecker { ctx, columns: Columns::resolve(headers), team_schools }
    }

    /// The row's NHS number cell, for the repeated-number pre-pass.
    pub fn nhs_number<'a>(&'a self, row: &'a Row) -> Option<&'a str> {
        row.value(self.columns.nhs_number.as_ref())
    }

    /// Validates one row and, if it is valid, converts it. `repeated_nhs_number` comes from the pre-pass.
    pub fn check(&self, row: &Row, repeated_nhs_number: bool) -> Result<ChildRow, Vec<RowError>> {
        let (ctx, columns) = (self.ctx, &self.columns);
        let mut errors = Errors { row: row.row_number, list: Vec::new() };

        let dob_field = field(row, &columns.date_of_birth);
        let date_of_birth = check_date_of_birth(&mut errors, dob_field);
        let given_name =
            required_name(&mut errors, field(row, &columns.first_name), "CHILD_FIRST_NAME", "Enter a first name.");
        let preferred_given_name = optional_name(&mut errors, field(row, &columns.preferred_first_name));
        let gender =
            parse_present(&mut errors, field(row, &columns.gender), parse_gender, "is not a valid gender code");
        let family_name =
            required_name(&mut errors, field(row, &columns.last_name), "CHILD_LAST_NAME", "Enter a last name.");
        let preferred_family_name = optional_name(&mut errors, field(row, &columns.preferred_last_name));
        let nhs_number = parse_present(
            &mut errors,
            field(row, &columns.nhs_number),
            parse_nhs_number,
            "should be a valid NHS number with 10 characters",
        );
        let parents: Vec<UploadedParent> =
            columns.parents.iter().filter_map(|parent| check_parent(&mut errors, row, parent)).collect();
        let birth_academic_year =
            check_year_group(&mut errors, field(row, &columns.year_group), dob_field, date_of_birth, ctx);
        let address_postcode = check_postcode(&mut errors, field(row, &columns.postcode), &ctx.format);
        let school = match ctx.format {
            ChildFormat::ChildRecords => check_school(&mut errors, field(row, &columns.school_urn), &self.team_schools),
            ChildFormat::ClassList { .. } => None,
        };
        if repeated_nhs_number {
            errors.base(SAME_NHS_NUMBER);
        }
        if !errors.list.is_empty() {
            return Err(errors.list);
        }

        let registration = text(row, &columns.registration);
        // Both formats record the year the registration is for (§3.1); only class lists auto-accept it (§7.2).
        let registration_academic_year = registration.is_some().then_some(ctx.academic_year);
        let child = ChildAttributes {
            given_name,
            family_name,
            preferred_given_name,
            preferred_family_name,
            date_of_birth,
            birth_academic_year,
            gender,
            nhs_number,
            address_line_1: text(row, &columns.address_line_1),
            address_line_2: text(row, &columns.address_line_2),
            address_town: text(row, &columns.town),
            address_postcode,
            registration,
            registration_academic_year,
        };
        Ok(ChildRow { index: row.index, row_number: row.row_number, child, school, parents })
    }
}

fn field<'a>(row: &'a Row, column: &'a Option<Column>) -> Option<Field<'a>> {
    row.field(column.as_ref())
}

fn text(row: &Row, column: &Option<Column>) -> Option<String> {
    row.value(column.as_ref()).map(String::from)
}

fn check_date_of_birth(errors: &mut Errors, field: Option<Field>) -> Option<NaiveDate> {
    let oldest = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a real date");
    match field {
        None => {
            errors.column_missing("CHILD_DATE_OF_BIRTH");
            None
        }
        Some(Field { header, value: None }) => {
            errors.at(header, "Enter a date of birth.");
            None
        }
        Some(Field { header, value: Some(text) }) => {
            let date = parse_date(text);
            match date {
                None => errors.at(header, "should be formatted as YYYY-MM-DD"),
                Some(date) if date < oldest => errors.at(header, "is too old to still be in school"),
                Some(_) => {}
            }
            date
        }
    }
}

/// Parses a non-blank cell; when it does not parse, `message` goes on its header. Absent and blank give `None`.
fn parse_present<T>(
    errors: &mut Errors,
    field: Option<Field>,
    parse: impl FnOnce(&str) -> Option<T>,
    message: &str,
) -> Option<T> {
    let Some(Field { header, value: Some(text) }) = field else {
        return None;
    };
    let parsed = parse(text);
    if parsed.is_none() {
        errors.at(header, message);
    }
    parsed
}

fn required_name(errors: &mut Errors, field: Option<Field>, canonical_header: &str, blank: &str) -> Option<String> {
    match field {
        None => {
            errors.column_missing(canonical_header);
            None
        }
        Some(Field { header, value: None }) => {
            errors.at(header, blank);
            None
        }
        Some(Field { header, value: Some(text) }) => name_value(errors, header, text),
    }
}

fn optional_name(errors: &mut Errors, field: Option<Field>) -> Option<String> {
    let Some(Field { header, value: Some(text) }) = field else {
        return None;
    };
    name_value(errors, header, text)
}

fn name_value(errors: &mut Errors, header: &str, text: &str) -> Option<String> {
    match check_person_name(text) {
        Ok(()) => Some(normalise_apostrophes(text)),
        Err(problem) => {
            errors.at(header, problem.message());
            None
        }
    }
}

/// A parent exists on a row only if their name, email or phone is there (valid or not). A relationship alone is
/// an error: there is nobody to relate.
fn check_parent(errors: &mut Errors, row: &Row, columns: &ParentColumns) -> Option<UploadedParent> {
    let (name, email, phone) = (field(row, &columns.name), field(row, &columns.email), field(row, &columns.phone));
    let relationship = field(row, &columns.relationship);
    let exists = [name, email, phone].iter().any(|f| f.is_some_and(|f| f.value.is_some()));

    let email = parse_present(errors, email, parse_email, INVALID_EMAIL);
    let full_name = optional_name(errors, name);
    let phone = parse_present(errors, phone, parse_phone, INVALID_PHONE);
    let relationship_text = relationship.and_then(|f| f.value);
    if let (Some(Field { header, value: Some(_) }), false) = (relationship, exists) {
        errors.at(header, "must be blank");
    }
    exists.then(|| {
        let (relationship, other_name) = parse_relationship(relationship_text);
        UploadedParent { full_name, email, phone, relationship, other_name }
    })
}

/// `CHILD_YEAR_GROUP`, when given, overrides the year derived from the date of birth. Either way the year group in
/// the import's academic year must be one this import allows; the message goes on whichever column it came from.
fn check_year_group(
    errors: &mut Errors,
    year_group: Option<Field>,
    date_of_birth_field: Option<Field>,
    date_of_birth: Option<NaiveDate>,
    ctx: &ChildRecordsContext,
) -> Option<AcademicYear> {
    let allowed = ctx.allowed_year_groups();
    if let Some(Field { header, value: Some(text) }) = year_group {
        let Some(group) = parse_integer(text) else {
            errors.at(header, "is not a valid year group");
            return None;
        };
        if !allowed.iter().any(|&g| i64::from(g) == group) {
            errors.at(header, NOT_IN_PROGRAMME);
        }
        let group = i32::try_from(group).ok()?;
        return Some(AcademicYear(ctx.academic_year.0.checked_sub(group)?.checked_sub(5)?));
    }
    let birth = AcademicYear::of_birth(date_of_birth?);
    if !allowed.contains(&ctx.academic_year.year_group_of(birth))
        && let Some(field) = date_of_birth_field
    {
        errors.at(field.header, NOT_IN_PROGRAMME);
    }
    Some(birth)
}

/// Child records require a postcode; class lists accept a blank one. Both reject an invalid one.
fn check_postcode(errors: &mut Errors, field: Option<Field>, format: &ChildFormat) -> Option<String> {
    match (format, field) {
        (ChildFormat::ChildRecords, None) => {
            errors.column_missing("CHILD_POSTCODE");
            None
        }
        (ChildFormat::ChildRecords, Some(Field { header, value: None })) => {
            errors.at(header, "Enter a valid postcode, like SW1A 1AA.");
            None
        }
        (_, field) => parse_present(errors, field, parse_postcode, INVALID_POSTCODE),
    }
}

/// `CHILD_SCHOOL_URN`: 888888 (school unknown), 999999 (home-educated), or one of the uploading team's schools by
/// URN, URN + site letter or SystmOne code.
fn check_school(errors: &mut Errors, field: Option<Field>, team_schools: &[&School]) -> Option<SchoolPlacement> {
    let (header, urn) = match field {
        None => {
            errors.column_missing("CHILD_SCHOOL_URN");
            return None;
        }
        Some(Field { header, value: None }) => {
            errors.at(header, "Enter a school URN.");
            return None;
        }
        Some(Field { header, value: Some(urn) }) => (header, urn),
    };
    match urn {
        URN_UNKNOWN_SCHOOL => return Some(SchoolPlacement::Unknown),
        URN_HOME_EDUCATED => return Some(SchoolPlacement::HomeEducated),
        _ => {}
    }
    match ReferenceData::lookup_school(team_schools.iter().copied(), urn) {
        SchoolLookup::Found(school) => Some(SchoolPlacement::School { urn: school.urn_and_site() }),
        SchoolLookup::SplitIntoSites(sites) => {
            errors.at(header, format!("The URN {urn} has been split into sites. Use {} instead.", or_sentence(&sites)));
            None
        }
        SchoolLookup::NotFound => {
            errors.at(header, URN_NOT_RECOGNISED);
            None
        }
    }
}

/// Rails' `to_sentence` with " or " as the last connector: "A", "A or B", "A, B or C".
fn or_sentence(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_listing_sites_should_join_like_rails_to_sentence() {
        let sites = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(or_sentence(&sites(&["123456A"])), "123456A");
        assert_eq!(or_sentence(&sites(&["123456A", "123456B"])), "123456A or 123456B");
        assert_eq!(or_sentence(&sites(&["123456A", "123456B", "123456C"])), "123456A, 123456B or 123456C");
    }
}

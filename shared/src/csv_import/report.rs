//! The offline validator's output: one JSON object per file.
//!
//! ```json
//! {"status":"invalid","rows":3,"file_error":null,"rows_with_errors":1,
//!  "errors":[{"row":2,"column":"CHILD_DATE_OF_BIRTH","message":"Enter a date of birth."}]}
//! ```
//! Unlike the import pipeline, the validator lists every error, so this one does keep them in memory.

use std::io::{self, Read};

use serde::Serialize;

use super::child_records::{self, ChildRecordsContext, ValidationOutcome};
use super::vaccination_records::{self, VaccinationContext};
use super::{FileError, Limits, ValidateError};
use crate::domain::RowError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Valid,
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationSummary {
    pub status: Status,
    pub rows: u64,
    /// A whole-file rejection ("Choose a CSV file in the correct format"…); then there are no rows or errors.
    pub file_error: Option<String>,
    pub rows_with_errors: u64,
    pub errors: Vec<RowError>,
}

impl ValidationSummary {
    pub fn from_file_error(error: &FileError) -> Self {
        ValidationSummary {
            status: Status::Invalid,
            rows: 0,
            file_error: Some(error.to_string()),
            rows_with_errors: 0,
            errors: Vec::new(),
        }
    }

    pub fn from_outcome(outcome: &ValidationOutcome, errors: Vec<RowError>) -> Self {
        ValidationSummary {
            status: if outcome.is_valid() { Status::Valid } else { Status::Invalid },
            rows: outcome.rows,
            file_error: None,
            rows_with_errors: outcome.rows_with_errors,
            errors,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a summary always serialises")
    }
}

/// Validates a child-record or class-list file and summarises it. Only a failure to read the file is an error.
pub fn summarise_child_records<R: Read>(
    open: &mut dyn FnMut() -> io::Result<R>,
    ctx: &ChildRecordsContext,
    limits: &Limits,
) -> io::Result<ValidationSummary> {
    let mut errors = Vec::new();
    match child_records::validate(open, ctx, limits, &mut |error| errors.push(error)) {
        Ok(outcome) => Ok(ValidationSummary::from_outcome(&outcome, errors)),
        Err(ValidateError::File(error)) => Ok(ValidationSummary::from_file_error(&error)),
        Err(ValidateError::Io(error)) => Err(error),
        Err(ValidateError::InvalidRow(_)) => {
            unreachable!("only read_rows reports an invalid row as an error")
        }
    }
}

/// Validates a vaccination-records file and summarises it, in the same JSON as child records. Only a failure to
/// read the file is an error.
pub fn summarise_vaccination_records<R: Read>(
    open: &mut dyn FnMut() -> io::Result<R>,
    ctx: &VaccinationContext,
    limits: &Limits,
) -> io::Result<ValidationSummary> {
    let mut errors = Vec::new();
    match vaccination_records::validate(open, ctx, limits, &mut |error| errors.push(error)) {
        Ok(outcome) => Ok(ValidationSummary::from_outcome(&outcome.into(), errors)),
        Err(ValidateError::File(error)) => Ok(ValidationSummary::from_file_error(&error)),
        Err(ValidateError::Io(error)) => Err(error),
        Err(ValidateError::InvalidRow(_)) => {
            unreachable!("only read_rows reports an invalid row as an error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_file_is_rejected_should_serialise_file_error() {
        let json = ValidationSummary::from_file_error(&FileError::Malformed).to_json();
        assert_eq!(
            json,
            r#"{"status":"invalid","rows":0,"file_error":"Choose a CSV file in the correct format","rows_with_errors":0,"errors":[]}"#
        );
    }

    #[test]
    fn when_rows_have_errors_should_serialise_each_with_its_column() {
        let outcome = ValidationOutcome { rows: 3, rows_with_errors: 1, encoding: "UTF-8" };
        let errors = vec![
            RowError { row: 2, column: Some("CHILD_DATE_OF_BIRTH".into()), message: "Enter a date of birth.".into() },
            RowError {
                row: 2,
                column: None,
                message: "The same NHS number appears multiple times in this file.".into(),
            },
        ];
        assert_eq!(
            ValidationSummary::from_outcome(&outcome, errors).to_json(),
            concat!(
                r#"{"status":"invalid","rows":3,"file_error":null,"rows_with_errors":1,"errors":["#,
                r#"{"row":2,"column":"CHILD_DATE_OF_BIRTH","message":"Enter a date of birth."},"#,
                r#"{"row":2,"column":null,"message":"The same NHS number appears multiple times in this file."}]}"#
            )
        );
    }

    #[test]
    fn when_no_row_has_errors_should_be_valid() {
        let outcome = ValidationOutcome { rows: 1, rows_with_errors: 0, encoding: "UTF-8" };
        let summary = ValidationSummary::from_outcome(&outcome, Vec::new());
        assert_eq!(summary.status, Status::Valid);
        assert!(summary.to_json().starts_with(r#"{"status":"valid","rows":1,"file_error":null"#));
    }

    #[test]
    fn when_vaccination_file_has_duplicate_rows_should_summarise_them() {
        let reference = crate::reference::demo();
        let catalogue = crate::reference::vaccines::VaccineCatalogue::bundled();
        let ctx = VaccinationContext {
            reference: &reference,
            catalogue: &catalogue,
            team: reference.team_by_ods("R1L").expect("R1L"),
            today: chrono::NaiveDate::from_ymd_opt(2025, 8, 1).expect("a date"),
            now: crate::clock::noon_in_london(chrono::NaiveDate::from_ymd_opt(2025, 8, 1).expect("a date")),
        };
        let path = format!(
            "{}/../../shared/fixtures/mavis/immunisation_import/point_of_care/duplicate_row.csv",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(path).expect("the fixture");
        let summary =
            summarise_vaccination_records(&mut || Ok::<_, io::Error>(bytes.as_slice()), &ctx, &Limits::default())
                .expect("readable");
        assert_eq!(
            summary.to_json(),
            concat!(
                r#"{"status":"invalid","rows":2,"file_error":null,"rows_with_errors":2,"errors":["#,
                r#"{"row":2,"column":null,"message":"The record on this row appears to be a duplicate of row 3."},"#,
                r#"{"row":3,"column":null,"message":"The record on this row appears to be a duplicate of row 2."}]}"#
            )
        );
    }
}

//! The offline validator's output: one JSON object per file.
//!
//! ```json
//! {"status":"invalid","rows":3,"file_error":null,"rows_with_errors":1,
//!  "errors":[{"row":2,"column":"CHILD_DATE_OF_BIRTH","message":"Enter a date of birth."}]}
//! ```
//! Unlike the import pipeline, the validator lists every error. So that a file whose every row is wrong takes no more
//! memory than a valid one, the errors beyond the first [`ERRORS_IN_MEMORY`] wait in an anonymous temporary file
//! ([`RowErrors`]) and are written out from there.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, Write};

use serde::Serialize;

use super::child_records::{self, ChildRecordsContext, ValidationOutcome};
use super::vaccination_records::{self, VaccinationContext};
use super::{FileError, Limits, ValidateError};
use crate::domain::RowError;

/// How many errors are kept in memory before the rest go to a temporary file (about 2 MB of them).
pub const ERRORS_IN_MEMORY: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Valid,
    Invalid,
}

/// Every error of a file, in order: the first [`ERRORS_IN_MEMORY`] in memory, the rest one JSON line each on disk.
#[derive(Default)]
pub struct RowErrors {
    first: Vec<RowError>,
    spilled: Option<BufWriter<File>>,
    len: u64,
    /// The first failure to write the temporary file, reported when the errors are read.
    failure: Option<io::Error>,
}

impl RowErrors {
    pub fn push(&mut self, error: RowError) {
        self.len += 1;
        if self.first.len() < ERRORS_IN_MEMORY {
            self.first.push(error);
            return;
        }
        if self.failure.is_some() {
            return;
        }
        let written = match &mut self.spilled {
            Some(file) => Ok(file),
            None => tempfile::tempfile().map(|file| self.spilled.insert(BufWriter::new(file))),
        }
        .and_then(|file| {
            serde_json::to_writer(&mut *file, &error)?;
            file.write_all(b"\n")
        });
        if let Err(e) = written {
            self.failure = Some(e);
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Each error in file order.
    pub fn for_each(&mut self, mut each: impl FnMut(&RowError) -> io::Result<()>) -> io::Result<()> {
        if let Some(e) = self.failure.take() {
            return Err(e);
        }
        self.first.iter().try_for_each(&mut each)?;
        let Some(spilled) = &mut self.spilled else { return Ok(()) };
        spilled.flush()?;
        let mut file = spilled.get_ref();
        file.rewind()?;
        for line in BufReader::new(file).lines() {
            each(&serde_json::from_str(&line?)?)?;
        }
        Ok(())
    }
}

pub struct ValidationSummary {
    pub status: Status,
    pub rows: u64,
    /// A whole-file rejection ("Choose a CSV file in the correct format"…); then there are no rows or errors.
    pub file_error: Option<String>,
    pub rows_with_errors: u64,
    pub errors: RowErrors,
}

impl ValidationSummary {
    pub fn from_file_error(error: &FileError) -> Self {
        ValidationSummary {
            status: Status::Invalid,
            rows: 0,
            file_error: Some(error.to_string()),
            rows_with_errors: 0,
            errors: RowErrors::default(),
        }
    }

    pub fn from_outcome(outcome: &ValidationOutcome, errors: RowErrors) -> Self {
        ValidationSummary {
            status: if outcome.is_valid() { Status::Valid } else { Status::Invalid },
            rows: outcome.rows,
            file_error: None,
            rows_with_errors: outcome.rows_with_errors,
            errors,
        }
    }

    /// The JSON object, streamed: the errors go out as they are read back, never all in memory at once.
    pub fn write_json(&mut self, out: &mut dyn Write) -> io::Result<()> {
        #[derive(Serialize)]
        struct Head<'a> {
            status: Status,
            rows: u64,
            file_error: &'a Option<String>,
            rows_with_errors: u64,
        }
        let head = Head {
            status: self.status,
            rows: self.rows,
            file_error: &self.file_error,
            rows_with_errors: self.rows_with_errors,
        };
        let head = serde_json::to_string(&head)?;
        // The head's closing brace makes way for the errors array.
        out.write_all(&head.as_bytes()[..head.len() - 1])?;
        out.write_all(b",\"errors\":[")?;
        let mut first = true;
        self.errors.for_each(|error| {
            if !std::mem::take(&mut first) {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, error).map_err(io::Error::from)
        })?;
        out.write_all(b"]}")
    }

    pub fn to_json(&mut self) -> String {
        let mut json = Vec::new();
        self.write_json(&mut json).expect("writing to memory");
        String::from_utf8(json).expect("JSON is UTF-8")
    }
}

/// Validates a child-record or class-list file and summarises it. Only a failure to read the file is an error.
pub fn summarise_child_records<R: Read>(
    open: &mut dyn FnMut() -> io::Result<R>,
    ctx: &ChildRecordsContext,
    limits: &Limits,
) -> io::Result<ValidationSummary> {
    let mut errors = RowErrors::default();
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
    let mut errors = RowErrors::default();
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
        let mut errors = RowErrors::default();
        errors.push(RowError {
            row: 2,
            column: Some("CHILD_DATE_OF_BIRTH".into()),
            message: "Enter a date of birth.".into(),
        });
        errors.push(RowError {
            row: 2,
            column: None,
            message: "The same NHS number appears multiple times in this file.".into(),
        });
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
    fn errors_beyond_those_kept_in_memory_should_come_back_from_disk_in_order() {
        let count = ERRORS_IN_MEMORY + 3;
        let mut errors = RowErrors::default();
        for row in 0..count as u64 {
            errors.push(RowError {
                row: row + 2,
                column: Some("CHILD_POSTCODE".into()),
                message: "Enter a valid postcode".into(),
            });
        }
        assert_eq!(errors.len(), count as u64);
        assert!(errors.spilled.is_some(), "the last 3 went to disk");
        let outcome = ValidationOutcome { rows: count as u64, rows_with_errors: count as u64, encoding: "UTF-8" };
        let mut summary = ValidationSummary::from_outcome(&outcome, errors);
        let first_read = summary.to_json();
        let json: serde_json::Value = serde_json::from_str(&first_read).expect("JSON");
        let rows: Vec<u64> =
            json["errors"].as_array().expect("errors").iter().map(|e| e["row"].as_u64().unwrap()).collect();
        assert_eq!(rows, (2..count as u64 + 2).collect::<Vec<_>>());
        // Read twice (the human output after a look at the count, say): the same errors again.
        assert_eq!(summary.to_json(), first_read);
    }

    #[test]
    fn when_no_row_has_errors_should_be_valid() {
        let outcome = ValidationOutcome { rows: 1, rows_with_errors: 0, encoding: "UTF-8" };
        let mut summary = ValidationSummary::from_outcome(&outcome, RowErrors::default());
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
        let mut summary =
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

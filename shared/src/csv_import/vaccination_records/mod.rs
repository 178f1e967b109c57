//! Vaccination records (mavis-import.md §3.2–§3.4, §4.2): validating a whole file, and reading the rows of a valid
//! one as domain values. One parser reads the point-of-care Mavis CSV, the SystmOne export (aliases and
//! `Vaccination type`) and offline-session spreadsheets (`SESSION_ID`); the team's kind switches it to the
//! national-reporting rules.
//!
//! Everything streams. [`validate`] passes over the file three times (scan; identity keys for the in-file duplicate
//! check; rows), a fourth time only when two rows' keys hash alike, plus an encoding pass for a file that is not
//! UTF-8. Errors are handed over as they are found.
//!
//! # Left to the pipeline (they need the record store)
//! These §4.2 messages depend on stored records, so rows here never carry them:
//! - "Two or more possible patients match the patient first name, last name, date of birth and postcode." (comes
//!   after the dose-sequence messages and before the local patient ID ones in Mavis's order);
//! - "Enter an existing record." for a well-formed `UUID` that is neither one of the team's records nor an NHS
//!   Immunisations API record (a malformed `UUID` is refused here with the same message). The row carries
//!   [`VaccinationRow::uuid`];
//! - "A session ID cannot be provided for this record; this record was sourced from an external source." for a
//!   `SESSION_ID` on the `UUID` of an API record (it comes where the session message does).
//!
//! The pipeline also decides what needs a stored record for its value: protocol `psd` (a patient-specific
//! direction), and for a `UUID` of an API record the source `nhs_immunisations_api`, no protocol and no location.
//!
//! # Not implemented
//! The national-reporting cut-off date ("must be on or after your team's start date…") needs a
//! `national_reporting_cut_off_date` on `Team`, which does not exist yet.

mod columns;
mod convert;
mod detect;
mod duplicates;
mod reading;
mod row;
mod vaccination_type;
mod values;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod national_tests;
#[cfg(test)]
mod offline_tests;
#[cfg(test)]
mod systm_one_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use std::io::{self, Read};
use std::ops::ControlFlow;

use chrono::{DateTime, NaiveDate, Utc};

use crate::csv_import::file::{self, Limits};

use crate::csv_import::{FileError, ValidateError, child_records};
use crate::domain::vaccination::VaccinationRow;
use crate::domain::{ReferenceData, RowError, Team, TeamKind};
use crate::reference::vaccines::VaccineCatalogue;

pub use columns::Format;
pub use detect::{DetectKindError, detect_file_kind, detect_kind};

use reading::Reader;
use row::Errors;

/// Everything a row's validation depends on besides the row.
#[derive(Debug, Clone)]
pub struct VaccinationContext<'a> {
    /// Schools (`SCHOOL_URN` is looked up among all of them), clinics, users and sessions.
    pub reference: &'a ReferenceData,
    pub catalogue: &'a VaccineCatalogue,
    /// The uploading team: its kind picks the format, its programmes bound `PROGRAMME` and `VACCINE_GIVEN`.
    pub team: &'a Team,
    /// Decides the current academic year, future dates and the batch-expiry window.
    pub today: NaiveDate,
    /// "Enter a time in the past." is measured from this moment (on `today`: see [`crate::clock::on_date`]).
    pub now: DateTime<Utc>,
}

impl VaccinationContext<'_> {
    pub fn format(&self) -> Format {
        match self.team.kind {
            TeamKind::PointOfCare => Format::PointOfCare,
            TeamKind::NationalReporting => Format::NationalReporting,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationOutcome {
    /// Data rows, after removing the instruction row and trailing blank rows (ignored rows included).
    pub rows: u64,
    pub rows_with_errors: u64,
    /// The encoding the file was read with ("UTF-8", "windows-1252"…).
    pub encoding: &'static str,
    /// National reporting: rows with Vaccinated = N, neither checked nor imported ("1 ‘not vaccinated’ record
    /// not imported").
    pub ignored: u64,
}

impl ValidationOutcome {
    pub fn is_valid(&self) -> bool {
        self.rows_with_errors == 0
    }
}

impl From<ValidationOutcome> for child_records::ValidationOutcome {
    /// The offline validator's summary has the same shape for every import type.
    fn from(outcome: ValidationOutcome) -> Self {
        child_records::ValidationOutcome {
            rows: outcome.rows,
            rows_with_errors: outcome.rows_with_errors,
            encoding: outcome.encoding,
        }
    }
}

/// Validates the whole file. Every [`RowError`] goes to `on_error`, in row order and, within a row, in Mavis's
/// order (fixture-outcomes.md §0). `open` re-opens the file from the start; it is called three or four times
/// (plus one for a file that is not UTF-8: see [`file::scan`]).
pub fn validate<R: Read>(
    open: &mut dyn FnMut() -> io::Result<R>,
    ctx: &VaccinationContext,
    limits: &Limits,
    on_error: &mut dyn FnMut(RowError),
) -> Result<ValidationOutcome, ValidateError> {
    let now = ctx.now;
    let scan = file::scan(open, limits)?;
    let duplicates = duplicates::find(open, &scan, ctx, now)?;

    let mut rows = file::open(open()?, &scan)?;
    let reader = Reader::new(rows.headers(), ctx, now);
    let (mut rows_with_errors, mut ignored) = (0, 0);
    while let Some(row) = rows.next_row()? {
        let reading = reader.read(&row);
        if reading.is_ignored() {
            ignored += 1;
            continue;
        }
        let mut errors = Errors::new(row.row_number);
        row::check(&reader, &reading, &mut errors);
        if let Some(message) = duplicates.message(row.row_number) {
            errors.base(message);
        }
        if !errors.list.is_empty() {
            rows_with_errors += 1;
            errors.list.into_iter().for_each(&mut *on_error);
        }
    }
    Ok(ValidationOutcome { rows: rows.rows_read(), rows_with_errors, encoding: scan.encoding.name(), ignored })
}

/// For a file already known to be valid: each data row in order, converted, until `on_row` breaks. Returns how
/// many rows were handed over. Ignored national-reporting rows are handed over too, with
/// [`VaccinationRow::ignored`] set, so they can be counted; nothing else about them is meaningful. A row that does
/// not validate stops the read with [`ValidateError::InvalidRow`] (the in-file duplicate check needs the pre-pass
/// of [`validate`] and is not repeated here).
pub fn read_rows<R: Read>(
    open: &mut dyn FnMut() -> io::Result<R>,
    ctx: &VaccinationContext,
    limits: &Limits,
    on_row: &mut dyn FnMut(VaccinationRow) -> ControlFlow<()>,
) -> Result<u64, ValidateError> {
    let now = ctx.now;
    let scan = file::scan(open, limits)?;
    let mut rows = file::open(open()?, &scan)?;
    let reader = Reader::new(rows.headers(), ctx, now);
    let mut handed_over = 0;
    while let Some(row) = rows.next_row()? {
        let reading = reader.read(&row);
        let converted = if reading.is_ignored() {
            convert::convert_ignored(&reader, &reading, &row)
        } else {
            let mut errors = Errors::new(row.row_number);
            row::check(&reader, &reading, &mut errors);
            if let Some(first) = errors.list.into_iter().next() {
                return Err(ValidateError::InvalidRow(first));
            }
            convert::convert(&reader, &reading, &row).ok_or_else(|| {
                ValidateError::InvalidRow(RowError {
                    row: row.row_number,
                    column: None,
                    message: "The row could not be read as a vaccination record.".into(),
                })
            })?
        };
        handed_over += 1;
        if on_row(converted).is_break() {
            return Ok(handed_over);
        }
    }
    if rows.rows_read() == 0 {
        return Err(FileError::NoRecords.into());
    }
    Ok(handed_over)
}

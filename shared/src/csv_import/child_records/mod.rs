//! Child records (cohort imports) and class lists (mavis-import.md §3.1, §4.1): validating a whole file, and
//! reading the rows of a valid one as domain values.
//!
//! Both stream. [`validate`] makes two passes over the file: the scan, which also gathers the NHS numbers for the
//! repeated-number check, then the rows. A file that is not UTF-8 gets an encoding-detection pass and a pass of
//! its own for the NHS numbers. It hands each error over as it is found,
//! so memory does not grow with the file: the only per-row state is one `u64` per NHS number. The
//! existing-patient check ("Two or more possible patients match…") is not here: the pipeline does it later,
//! against the record store.

mod columns;
mod duplicates;
mod row;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use std::io::{self, Read};
use std::ops::ControlFlow;

use chrono::NaiveDate;

use crate::csv_import::file::{self, Limits};
use crate::csv_import::{FileError, ValidateError};
use crate::domain::patient::{ChildAttributes, SchoolPlacement};
use crate::domain::{AcademicYear, ReferenceData, RowError, Team};

use duplicates::{Repeated, ScannedNhsNumbers, key};
use encoding_rs::UTF_8;
use row::RowChecker;

/// Which of the two formats, which differ only in a few columns and in the allowed year groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildFormat {
    /// `CHILD_POSTCODE` and `CHILD_SCHOOL_URN` required; year groups are the team's.
    ChildRecords,
    /// For one school chosen in the wizard (no URN column, postcode optional); year groups are the ones ticked.
    ClassList { year_groups: Vec<i32> },
}

/// Everything a row's validation depends on besides the row.
#[derive(Debug, Clone)]
pub struct ChildRecordsContext<'a> {
    pub reference: &'a ReferenceData,
    /// The uploading team: its schools resolve `CHILD_SCHOOL_URN`, its year groups bound child records.
    pub team: &'a Team,
    /// The import's academic year: year groups are computed in it, and `CHILD_YEAR_GROUP` is read in it.
    pub academic_year: AcademicYear,
    pub today: NaiveDate,
    pub format: ChildFormat,
}

impl ChildRecordsContext<'_> {
    /// Class list: the year groups ticked in the wizard. Child records: the team's (for the pending academic year,
    /// even when the import is for the current one: quirk 8 of mavis-import.md §14).
    pub fn allowed_year_groups(&self) -> &[i32] {
        match &self.format {
            ChildFormat::ChildRecords => &self.team.year_groups,
            ChildFormat::ClassList { year_groups } => year_groups,
        }
    }
}

pub use crate::domain::patient::UploadedParent;

/// A valid row, converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildRow {
    /// 0-based position among the data rows.
    pub index: u64,
    /// The spreadsheet row number, as in error messages.
    pub row_number: u64,
    /// Blank values are `None`; `birth_academic_year` is always set.
    pub child: ChildAttributes,
    /// Child records only.
    pub school: Option<SchoolPlacement>,
    pub parents: Vec<UploadedParent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationOutcome {
    /// Data rows, after removing the instruction row and trailing blank rows.
    pub rows: u64,
    pub rows_with_errors: u64,
    /// The encoding the file was read with ("UTF-8", "windows-1252"…).
    pub encoding: &'static str,
}

impl ValidationOutcome {
    pub fn is_valid(&self) -> bool {
        self.rows_with_errors == 0
    }
}

/// Validates the whole file. Every [`RowError`] goes to `on_error`, in row order and, within a row, in Mavis's
/// order. `open` re-opens the file from the start; it is called twice (four times for a file that is not UTF-8:
/// see [`file::scan`]).
pub fn validate<R: Read>(
    open: &mut dyn FnMut() -> io::Result<R>,
    ctx: &ChildRecordsContext,
    limits: &Limits,
    on_error: &mut dyn FnMut(RowError),
) -> Result<ValidationOutcome, ValidateError> {
    let mut scanned = ScannedNhsNumbers::default();
    let scan = file::scan_with(open, limits, &mut |record| scanned.record(record))?;
    let repeated = if scan.encoding.cells == UTF_8 {
        scanned.repeated()
    } else {
        drop(scanned);
        repeated_nhs_numbers(open()?, &scan, ctx)?
    };

    let mut rows = file::open(open()?, &scan)?;
    let checker = RowChecker::new(rows.headers(), ctx);
    let mut rows_with_errors = 0;
    while let Some(row) = rows.next_row()? {
        let repeated_here = repeated.contains(checker.nhs_number(&row));
        if let Err(errors) = checker.check(&row, repeated_here) {
            rows_with_errors += 1;
            errors.into_iter().for_each(&mut *on_error);
        }
    }
    // A file whose every row is blank has no record once trailing blank rows are removed.
    if rows.rows_read() == 0 {
        return Err(FileError::NoRecords.into());
    }
    Ok(ValidationOutcome { rows: rows.rows_read(), rows_with_errors, encoding: scan.encoding.name() })
}

/// For a file already known to be valid: each data row in order, converted, until `on_row` breaks. Returns how
/// many rows were handed over. A row that does not validate stops the read with [`ValidateError::InvalidRow`]
/// (the repeated-NHS-number check needs the whole file, which [`validate`] reads for it, and is not repeated here).
pub fn read_rows<R: Read>(
    open: &mut dyn FnMut() -> io::Result<R>,
    ctx: &ChildRecordsContext,
    limits: &Limits,
    on_row: &mut dyn FnMut(ChildRow) -> ControlFlow<()>,
) -> Result<u64, ValidateError> {
    let scan = file::scan(open, limits)?;
    let mut rows = file::open(open()?, &scan)?;
    let checker = RowChecker::new(rows.headers(), ctx);
    let mut handed_over = 0;
    while let Some(row) = rows.next_row()? {
        let child = checker
            .check(&row, false)
            .map_err(|errors| ValidateError::InvalidRow(errors.into_iter().next().expect("errors are never empty")))?;
        handed_over += 1;
        if on_row(child).is_break() {
            return Ok(handed_over);
        }
    }
    if rows.rows_read() == 0 {
        return Err(FileError::NoRecords.into());
    }
    Ok(handed_over)
}

/// NHS numbers that occur on more than one row, in a pass of their own: for a file that is not UTF-8, whose
/// encoding the scan finds only at its end. It also rejects a file whose rows are all blank.
fn repeated_nhs_numbers<R: Read>(
    reader: R,
    scan: &file::FileScan,
    ctx: &ChildRecordsContext,
) -> Result<Repeated, ValidateError> {
    let mut rows = file::open(reader, scan)?;
    let checker = RowChecker::new(rows.headers(), ctx);
    let mut keys = Vec::new();
    while let Some(row) = rows.next_row()? {
        keys.extend(checker.nhs_number(&row).and_then(key));
    }
    if rows.rows_read() == 0 {
        return Err(FileError::NoRecords.into());
    }
    Ok(Repeated::from_keys(keys))
}

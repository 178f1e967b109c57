//! An import: one uploaded file and what became of it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AcademicYear;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportKind {
    ChildRecords,
    ClassList,
    VaccinationRecords,
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::ChildRecords => "child-records",
            ImportKind::ClassList => "class-list",
            ImportKind::VaccinationRecords => "vaccination-records",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "child-records" => Some(ImportKind::ChildRecords),
            "class-list" => Some(ImportKind::ClassList),
            "vaccination-records" => Some(ImportKind::VaccinationRecords),
            _ => None,
        }
    }

    /// "Child records", "Class list records", "Vaccination records".
    pub fn label(self) -> &'static str {
        match self {
            ImportKind::ChildRecords => "Child records",
            ImportKind::ClassList => "Class list records",
            ImportKind::VaccinationRecords => "Vaccination records",
        }
    }
}

/// mavis-import.md §5.2. Stored by name; shown through `tag()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Created through the API, waiting for its file.
    AwaitingUpload,
    PendingImport,
    RowsAreInvalid,
    Processed,
    LowPdsMatchRate,
    ChangesetsAreInvalid,
    InReview,
    CalculatingReReview,
    InReReview,
    Committing,
    PartiallyProcessed,
    Cancelled,
    /// Ours: the service could not finish the import (a failure retrying cannot mend, or one that outlasted every
    /// retry); `failure_reason` says why, in words for the user.
    Failed,
}

impl ImportStatus {
    /// The status tag the user sees.
    pub fn tag(self) -> &'static str {
        match self {
            ImportStatus::AwaitingUpload => "Awaiting upload",
            ImportStatus::PendingImport | ImportStatus::CalculatingReReview => "Processing",
            ImportStatus::RowsAreInvalid => "Invalid",
            ImportStatus::ChangesetsAreInvalid | ImportStatus::LowPdsMatchRate | ImportStatus::Failed => "Failed",
            ImportStatus::InReview => "Review and approve",
            ImportStatus::InReReview => "Review",
            ImportStatus::Committing => "Importing",
            ImportStatus::Processed => "Completed",
            ImportStatus::PartiallyProcessed => "Partially completed",
            ImportStatus::Cancelled => "Cancelled",
        }
    }

    /// No more work will happen on an import in this status without a user acting.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ImportStatus::RowsAreInvalid
                | ImportStatus::Processed
                | ImportStatus::LowPdsMatchRate
                | ImportStatus::ChangesetsAreInvalid
                | ImportStatus::PartiallyProcessed
                | ImportStatus::Cancelled
                | ImportStatus::Failed
        )
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCounts {
    pub new: u64,
    pub changed: u64,
    pub exact_duplicate: u64,
    #[serde(default)]
    pub ignored: u64,
}

/// One message about one row. `row` is the spreadsheet row number ("Row 2" is the first data row);
/// `column` is the header exactly as written in the file, or None for a row-level message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub row: u64,
    pub column: Option<String>,
    pub message: String,
}

impl RowError {
    /// The stored form: `<code>HEADER</code>: message` for a column, the message alone otherwise.
    pub fn stored_form(&self) -> String {
        match &self.column {
            Some(column) => format!("<code>{column}</code>: {}", self.message),
            None => self.message.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Import {
    pub id: Uuid,
    pub team_id: String,
    pub kind: ImportKind,
    pub status: ImportStatus,
    /// Object key of the uploaded file.
    pub object_key: String,
    pub filename: Option<String>,
    /// Email of the uploader; None for CHIS bulk drops.
    pub uploaded_by: Option<String>,
    pub academic_year: AcademicYear,
    /// Class lists: the school and year groups chosen at upload.
    #[serde(default)]
    pub school_urn: Option<String>,
    #[serde(default)]
    pub year_groups: Vec<i32>,
    /// Data rows after dropping an instruction row and trailing blank rows.
    #[serde(default)]
    pub row_count: Option<u64>,
    #[serde(default)]
    pub counts: Option<ImportCounts>,
    /// A whole-file problem ("Choose a CSV file in the correct format"…).
    #[serde(default)]
    pub file_error: Option<String>,
    #[serde(default)]
    pub rows_with_errors: u64,
    /// The errors of the first `ERRORS_KEPT_ON_IMPORT` rows with errors; `rows_with_errors` counts them all.
    #[serde(default)]
    pub errors: Vec<RowError>,
    /// The date the academic year and year groups were computed from.
    pub today: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub processed_at: Option<DateTime<Utc>>,
    /// How far the pipeline has got while the import is still processing: the phase and real counts. None before
    /// the rows are counted.
    #[serde(default)]
    pub progress: Option<ImportProgress>,
    /// Set when the import was rejected for a low PDS match rate (mavis-import.md §11.2): the figures and the rows
    /// PDS could not match, for the import page.
    #[serde(default)]
    pub pds_match: Option<PdsMatch>,
    /// "NHS numbers updated from PDS" (§6.2 item 12): rows whose uploaded number PDS replaced with another one.
    #[serde(default)]
    pub nhs_numbers_updated: Vec<NhsNumberUpdate>,
    /// The one version of the object this import reads, recorded when the import claims it: every pass reads
    /// exactly these bytes, so that a file replaced under the same key can never mix into the import.
    #[serde(default)]
    pub object_version: Option<ObjectVersion>,
    /// Status Failed: why, in words for the user (never the file's content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

/// One version of an uploaded object: its ETag, and S3's version id when the bucket keeps versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectVersion {
    pub etag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

impl ObjectVersion {
    pub fn of_etag(etag: impl Into<String>) -> Self {
        Self { etag: etag.into(), version_id: None }
    }
}

/// The match rate of a rejected import: `matched` rows had one NHS number found, a `rate`% match rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PdsMatch {
    pub rate: f64,
    pub matched: u64,
    /// The first [`UNMATCHED_KEPT`] rows no number was found for, in row order.
    pub unmatched: Vec<UnmatchedRecord>,
}

/// How a row PDS could not match was written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedRecord {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub postcode: Option<String>,
}

/// At most this many unmatched rows are kept on the import, so that the item stays small.
pub const UNMATCHED_KEPT: usize = 1000;

/// How far one phase of the pipeline has got, so that a long import shows it is moving (pages.md §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProgress {
    pub phase: ImportPhase,
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportPhase {
    /// Validating the file's rows.
    Checking,
    /// The PDS cascading search (mavis-import.md §11.1).
    Pds,
    /// Writing the rows to the record store.
    Importing,
}

impl ImportProgress {
    pub fn new(phase: ImportPhase, done: u64, total: u64) -> Self {
        ImportProgress { phase, done: done.min(total), total }
    }

    /// "N of M rows checked", "N of M records checked with PDS", "N of M records imported".
    pub fn text(&self) -> String {
        let (done, total) = (self.done, self.total);
        match self.phase {
            ImportPhase::Checking => format!("{done} of {total} rows checked"),
            ImportPhase::Pds => format!("{done} of {total} records checked with PDS"),
            ImportPhase::Importing => format!("{done} of {total} records imported"),
        }
    }
}

/// One row where the NHS number found on Spine differs from the one in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NhsNumberUpdate {
    /// Spreadsheet row number.
    pub row: u64,
    pub uploaded: String,
    pub pds: String,
}

/// At most this many updates are kept on the import, so that the import item stays small (a DynamoDB item is at
/// most 400 KB); the rows beyond it still have both numbers on their changesets.
pub const NHS_NUMBER_UPDATES_KEPT: usize = 1000;

/// How many rows with errors are listed on the import itself ("Only the first 100 rows with issues are listed").
pub const ERRORS_KEPT_ON_IMPORT: usize = 100;

/// How many rows a list of errors (in row order) concerns.
pub fn rows_with_errors(errors: &[RowError]) -> u64 {
    let mut rows: Vec<u64> = errors.iter().map(|e| e.row).collect();
    rows.dedup();
    rows.len() as u64
}

/// The errors of the first `ERRORS_KEPT_ON_IMPORT` rows (errors arrive in row order): what an import keeps.
pub fn errors_of_first_rows(errors: Vec<RowError>) -> Vec<RowError> {
    let mut rows = 0;
    let mut last = None;
    errors
        .into_iter()
        .take_while(|e| {
            if last != Some(e.row) {
                last = Some(e.row);
                rows += 1;
            }
            rows <= ERRORS_KEPT_ON_IMPORT
        })
        .collect()
}

/// Keeps the errors of the first `ERRORS_KEPT_ON_IMPORT` rows from a stream of errors in row order, so that
/// validating a file with errors on every row still holds only a hundred rows of them.
#[derive(Debug, Default)]
pub struct FirstRowsOfErrors {
    pub errors: Vec<RowError>,
    rows: usize,
    last_row: Option<u64>,
}

impl FirstRowsOfErrors {
    pub fn keep(&mut self, error: RowError) {
        if self.last_row != Some(error.row) {
            self.last_row = Some(error.row);
            self.rows += 1;
        }
        if self.rows <= ERRORS_KEPT_ON_IMPORT {
            self.errors.push(error);
        }
    }
}

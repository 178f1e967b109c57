//! CSV import formats (mavis-import.md §2–§5): reading uploaded files, the shared value parsers, child-record and
//! class-list rows, and the offline validator's JSON summary.
//!
//! Everything here streams. An upload can be a million rows, so no layer keeps the rows: callers pass a way to
//! re-open the file (`open`) and the readers make several cheap passes over it instead (encoding scan, a pre-pass
//! for whole-file checks such as repeated NHS numbers, then the real pass).
//!
//! - [`file`]: bytes → normalised cells and spreadsheet row numbers, plus the whole-file errors.
//! - [`values`]: small pure parsers (dates, postcodes, NHS numbers…) shared by every import type.
//! - [`child_records`]: validation and conversion of child-record and class-list rows.
//! - [`vaccination_records`]: validation and conversion of vaccination-record rows (point of care, SystmOne,
//!   offline sessions, national reporting).
//! - [`report`]: the offline validator's JSON summary.

pub mod child_records;
mod error;
pub mod file;
pub mod report;
#[cfg(test)]
mod test_reader;
pub mod vaccination_records;
pub mod values;

pub use error::{FileError, ValidateError};
pub use file::Limits;

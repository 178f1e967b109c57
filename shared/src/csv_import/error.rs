//! Whole-file errors (mavis-import.md §5.1) and the error type of the streaming readers.

use std::io;

use crate::domain::RowError;

use super::file::{MAX_CELL_BYTES, MAX_COLUMNS, MAX_ROW_BYTES};

/// A problem with the file as a whole. The upload is rejected and nothing is validated row by row. `Display` is the
/// exact message shown under the file field; the first four are Mavis's, the last three are this service's own
/// safety limits (Mavis reads the whole file into memory and has none).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// No file, zero bytes, or nothing but whitespace (Ruby's `blank?`).
    #[error("Choose a file")]
    Empty,
    /// Any CSV syntax error: an unclosed quote, a quote inside an unquoted cell, text after a closing quote, or a
    /// NUL byte (binary data).
    #[error("Choose a CSV file in the correct format")]
    Malformed,
    /// No data rows, only an instruction row, or only blank rows.
    #[error("Choose a CSV file with at least one record")]
    NoRecords,
    /// More data rows than the limit, counted before the instruction row and trailing blank rows are removed.
    #[error(
        "The row limit for CSV uploads is {max_rows}. Split your CSV file into smaller files of less than {max_rows} rows"
    )]
    TooManyRows { max_rows: u64 },
    #[error("Choose a CSV file with no more than {} columns", MAX_COLUMNS)]
    TooManyColumns,
    /// One cell is over [`MAX_CELL_BYTES`]: no real value is anywhere near this, and refusing it keeps memory flat.
    #[error("Choose a CSV file where every cell is smaller than {} MB", MAX_CELL_BYTES >> 20)]
    CellTooLong,
    #[error("Choose a CSV file where every row is smaller than {} MB", MAX_ROW_BYTES >> 20)]
    RowTooLong,
}

/// Why a streaming read stopped.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error(transparent)]
    File(#[from] FileError),
    /// Reading the underlying object failed: transient, worth a retry.
    #[error("could not read the CSV file")]
    Io(#[from] io::Error),
    /// `read_rows` met a row that does not validate: the caller skipped `validate`, or the file changed under it.
    #[error("row {} is invalid: {}", .0.row, .0.stored_form())]
    InvalidRow(RowError),
}

impl ValidateError {
    /// The whole-file error, if that is what this is.
    pub fn file_error(&self) -> Option<&FileError> {
        match self {
            ValidateError::File(error) => Some(error),
            _ => None,
        }
    }
}

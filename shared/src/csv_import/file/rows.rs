//! Headers and data rows (mavis-import.md §2.2–§2.4): column lookup by normalised header, absent versus blank,
//! the instruction row, trailing blank rows, and spreadsheet row numbers.

use std::collections::VecDeque;
use std::io::Read;

use super::bom::Unbommed;
use super::normalise::{is_instruction, normalise_header};
use super::records::{Cells, RecordReader};
use crate::csv_import::{FileError, ValidateError};

/// The header row: the text as written (for messages) and the normalised keys (for lookup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    originals: Vec<String>,
    keys: Vec<String>,
}

/// A column found in the header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub index: usize,
    /// The header exactly as written in the file (trimmed), which messages are attached to.
    pub header: String,
}

impl Headers {
    pub fn new(originals: Vec<String>) -> Self {
        let keys = originals.iter().map(|header| normalise_header(header)).collect();
        Headers { originals, keys }
    }

    /// The column whose normalised header is `key`. If a header appears twice, the first one wins, as a Ruby CSV
    /// row lookup returns the first match.
    pub fn column(&self, key: &str) -> Option<Column> {
        let index = self.keys.iter().position(|k| k == key)?;
        Some(Column { index, header: self.originals[index].clone() })
    }

    pub fn originals(&self) -> &[String] {
        &self.originals
    }
}

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 0-based position among the data rows (after the instruction row).
    pub index: u64,
    /// What the user sees in a spreadsheet: the header is row 1, so index + 2, or + 3 after an instruction row.
    pub row_number: u64,
    cells: Cells,
}

/// A cell of a column that exists, for messages attached to its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    pub header: &'a str,
    /// `None` when the cell is blank.
    pub value: Option<&'a str>,
}

impl Row {
    /// The cell in `column`, or `None` when the column is **absent**: not in the header row, or beyond the end of
    /// a short row (a Ruby CSV row has no field there either). Absent gives "… is required" errors; a blank cell
    /// gives "Enter a …" errors.
    pub fn field<'a>(&'a self, column: Option<&'a Column>) -> Option<Field<'a>> {
        let column = column?;
        let value = self.cells.get(column.index)?;
        Some(Field { header: &column.header, value })
    }

    /// The value in `column`, if the column exists and the cell is not blank.
    pub fn value<'a>(&'a self, column: Option<&'a Column>) -> Option<&'a str> {
        self.field(column)?.value
    }

    /// Every cell in order; `None` is a blank cell.
    pub fn cells(&self) -> impl Iterator<Item = Option<&str>> {
        self.cells.iter()
    }

    pub fn is_blank(&self) -> bool {
        self.cells.is_blank()
    }
}

/// The data rows of one file, streamed.
///
/// Trailing blank rows are dropped but blank rows in the middle are kept (they produce errors). Without knowing
/// the future, a blank row is held back until a non-blank row follows it. Held-back rows are stored as
/// run lengths of their cell count (which is all a blank row is), so even a million blank rows cost a few bytes.
pub struct DataRows<R> {
    records: RecordReader<Unbommed<R>>,
    headers: Headers,
    has_instruction_row: bool,
    first: Option<Cells>,
    blanks: VecDeque<(usize, u64)>,
    waiting: Option<Cells>,
    next_index: u64,
}

impl<R: Read> DataRows<R> {
    pub(super) fn new(mut records: RecordReader<Unbommed<R>>) -> Result<Self, ValidateError> {
        let headers = Headers::new(records.next_texts()?.ok_or(FileError::NoRecords)?);
        let first = records.next_cells()?;
        let has_instruction_row = first.as_ref().and_then(|cells| cells.get(0).flatten()).is_some_and(is_instruction);
        Ok(DataRows {
            records,
            headers,
            first: if has_instruction_row { None } else { first },
            has_instruction_row,
            blanks: VecDeque::new(),
            waiting: None,
            next_index: 0,
        })
    }

    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    pub fn has_instruction_row(&self) -> bool {
        self.has_instruction_row
    }

    /// How many rows have been returned so far.
    pub fn rows_read(&self) -> u64 {
        self.next_index
    }

    pub fn next_row(&mut self) -> Result<Option<Row>, ValidateError> {
        loop {
            if self.waiting.is_some() {
                if let Some(run) = self.blanks.front_mut() {
                    let len = run.0;
                    run.1 -= 1;
                    if run.1 == 0 {
                        self.blanks.pop_front();
                    }
                    return Ok(Some(self.row(Cells::blank(len))));
                }
                let cells = self.waiting.take().expect("checked above");
                return Ok(Some(self.row(cells)));
            }
            let Some(cells) = self.next_record()? else {
                self.blanks.clear();
                return Ok(None);
            };
            if cells.is_blank() {
                match self.blanks.back_mut() {
                    Some((len, count)) if *len == cells.len() => *count += 1,
                    _ => self.blanks.push_back((cells.len(), 1)),
                }
            } else {
                self.waiting = Some(cells);
            }
        }
    }

    fn next_record(&mut self) -> Result<Option<Cells>, ValidateError> {
        match self.first.take() {
            Some(cells) => Ok(Some(cells)),
            None => self.records.next_cells(),
        }
    }

    fn row(&mut self, cells: Cells) -> Row {
        let index = self.next_index;
        self.next_index += 1;
        let offset = if self.has_instruction_row { 3 } else { 2 };
        Row { index, row_number: index + offset, cells }
    }
}

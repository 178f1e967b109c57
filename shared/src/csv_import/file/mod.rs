//! The parsing layer shared by all import types (mavis-import.md §2): bytes → normalised cells → data rows with
//! spreadsheet row numbers, plus the whole-file checks of §5.1.
//!
//! A file is read in at least two passes, each from a fresh reader:
//! 1. [`scan`] looks at every byte once: BOM, UTF-8 validity, CSV syntax, safety limits and the raw row count. A
//!    file that is not UTF-8 then gets an encoding-detection pass over the whole stream. Both keep nothing but
//!    counters and the detector's fixed-size state.
//! 2. [`open`] then yields [`Row`]s one at a time, decoded with the encoding the scan found.
//!
//! Parsing works on bytes (`csv::ByteRecord`) and decodes each cell afterwards. That is sound because every
//! encoding this layer decodes cells with is ASCII-compatible for the bytes CSV cares about (comma, quote, CR, LF):
//! UTF-8, the single-byte code pages, and the CJK multi-byte encodings whose trail bytes never fall on those.
//! UTF-16 and UTF-32 (only with a BOM) are transcoded to UTF-8 first.

mod bom;
mod detect;
mod guard;
mod normalise;
mod records;
mod rows;

#[cfg(test)]
mod tests;

use std::io::{self, Read};

use csv::ByteRecord;
use encoding_rs::{Encoding, UTF_8};

use super::{FileError, ValidateError};

pub use bom::Bom;
pub use normalise::{is_instruction, normalise_cell, normalise_header};
pub use records::header_texts;
pub use rows::{Column, DataRows, Field, Headers, Row};

use bom::strip_bom;
use detect::{ScanTap, Seen, guess_encoding};
use records::RecordReader;

/// Cells longer than this make the whole file invalid ([`FileError::CellTooLong`]).
pub const MAX_CELL_BYTES: usize = 1 << 20;
/// Rows (records) longer than this make the whole file invalid ([`FileError::RowTooLong`]). Together with the cell
/// limit this bounds the memory one record can take.
pub const MAX_ROW_BYTES: usize = 4 << 20;
/// More columns than this make the whole file invalid ([`FileError::TooManyColumns`]). The widest real format has
/// about 40.
pub const MAX_COLUMNS: usize = 1_000;

/// Configurable whole-file limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Data rows allowed, counted before the instruction row and trailing blank rows are removed (Mavis: 20,000).
    pub max_rows: u64,
}

impl Limits {
    pub fn with_max_rows(max_rows: u64) -> Self {
        Limits { max_rows }
    }
}

impl Default for Limits {
    /// A safety limit rather than a product rule: a million rows still streams in flat memory.
    fn default() -> Self {
        Limits { max_rows: 1_000_000 }
    }
}

/// How the file's bytes become text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextEncoding {
    /// The byte-order mark the file started with, which fixes the encoding.
    pub bom: Option<Bom>,
    /// What each cell's bytes are decoded with (UTF-8 whenever there was a BOM, as UTF-16/32 are transcoded).
    pub cells: &'static Encoding,
}

impl TextEncoding {
    /// "UTF-8", "windows-1252", "UTF-16LE"…
    pub fn name(&self) -> &'static str {
        match self.bom {
            Some(bom) => bom.name(),
            None => self.cells.name(),
        }
    }
}

/// What the first pass learnt about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileScan {
    pub encoding: TextEncoding,
    /// Records after the header, as the row limit counts them: instruction row and trailing blank rows included,
    /// completely empty lines not.
    pub raw_rows: u64,
}

/// First pass: checks the whole file and finds its encoding, keeping nothing. `open` opens the file from the
/// start; it is called once, or twice for a file that is neither UTF-8 nor marked by a BOM, which gets a separate
/// encoding-detection pass.
///
/// Stops early once the row limit is exceeded, so an enormous upload is refused after reading only what it must.
pub fn scan<R: Read>(open: &mut dyn FnMut() -> io::Result<R>, limits: &Limits) -> Result<FileScan, ValidateError> {
    scan_with(open, limits, &mut |_| {})
}

/// [`scan`], showing `tap` every record it reads (the header first) as UTF-8 bytes, or as bytes of an encoding
/// found only at the end of the scan when the file is not UTF-8 ([`FileScan::encoding`] says which). What a
/// format must know of the whole file before it checks the first row comes from here, without a pass of its own.
pub fn scan_with<R: Read>(
    open: &mut dyn FnMut() -> io::Result<R>,
    limits: &Limits,
    tap: &mut dyn FnMut(&ByteRecord),
) -> Result<FileScan, ValidateError> {
    let (bom, reader) = strip_bom(open()?)?;
    let mut seen = Seen::new(bom.is_none());
    let counted = match count_records(ScanTap::new(reader, &mut seen), limits, tap) {
        Err(ValidateError::Io(error)) => return Err(error.into()),
        counted => counted,
    };
    if !seen.content {
        return Err(FileError::Empty.into());
    }
    let counted = counted?;
    let encoding = TextEncoding {
        bom,
        cells: match seen.utf8 {
            Some(utf8) if !utf8.is_valid() => guess_encoding(open()?)?,
            _ => UTF_8,
        },
    };
    let only_instruction_row = counted.raw_rows == 1
        && counted.first_cell.as_deref().is_some_and(|bytes| {
            let (text, _) = encoding.cells.decode_without_bom_handling(bytes);
            normalise_cell(&text).is_some_and(|cell| is_instruction(&cell))
        });
    if counted.raw_rows == 0 || only_instruction_row {
        return Err(FileError::NoRecords.into());
    }
    Ok(FileScan { encoding, raw_rows: counted.raw_rows })
}

/// A later pass: the data rows of a file that [`scan`] accepted, one at a time.
pub fn open<R: Read>(reader: R, scan: &FileScan) -> Result<DataRows<R>, ValidateError> {
    let (_, reader) = strip_bom(reader)?;
    DataRows::new(RecordReader::new(reader, scan.encoding.cells))
}

struct Counted {
    raw_rows: u64,
    /// The raw bytes of the first data row's first cell, to spot a file that is only an instruction row.
    first_cell: Option<Vec<u8>>,
}

fn count_records<R: Read>(
    reader: R,
    limits: &Limits,
    tap: &mut dyn FnMut(&ByteRecord),
) -> Result<Counted, ValidateError> {
    let mut records = RecordReader::new(reader, UTF_8);
    let mut counted = Counted { raw_rows: 0, first_cell: None };
    let Some(header) = records.next_raw()? else {
        return Ok(counted);
    };
    tap(header);
    while let Some(record) = records.next_raw()? {
        tap(record);
        counted.raw_rows += 1;
        if counted.raw_rows == 1 {
            counted.first_cell = record.get(0).map(<[u8]>::to_vec);
        }
        if counted.raw_rows > limits.max_rows {
            return Err(FileError::TooManyRows { max_rows: limits.max_rows }.into());
        }
    }
    Ok(counted)
}

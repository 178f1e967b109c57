//! CSV records as bytes (`csv::ByteRecord`, reused between records) and as decoded, normalised cells.

use std::io::Read;

use csv::{ByteRecord, ReaderBuilder};
use encoding_rs::Encoding;

use super::guard::{Guard, file_error_in};
use super::normalise::{is_space, normalise_cell_into};
use crate::csv_import::{FileError, ValidateError};

/// One record's cells, decoded and normalised, in one string: a row costs two allocations, not one a cell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cells {
    text: String,
    /// Where each cell is in `text`; `None` is a blank cell.
    spans: Vec<Option<(u32, u32)>>,
}

impl Cells {
    /// `len` blank cells.
    pub fn blank(len: usize) -> Self {
        Cells { text: String::new(), spans: vec![None; len] }
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// The cell at `index`: `None` beyond the last cell, `Some(None)` when blank.
    pub fn get(&self, index: usize) -> Option<Option<&str>> {
        let span = self.spans.get(index)?;
        Some(span.map(|(start, end)| &self.text[start as usize..end as usize]))
    }

    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> {
        (0..self.len()).map(|index| self.get(index).flatten())
    }

    pub fn is_blank(&self) -> bool {
        self.spans.iter().all(Option::is_none)
    }

    fn push(&mut self, raw: &str) {
        let start = self.text.len();
        normalise_cell_into(raw, &mut self.text);
        let end = self.text.len();
        // A cell is at most MAX_CELL_BYTES and a row MAX_ROW_BYTES (the guard stops longer ones), so spans fit.
        self.spans.push((end > start).then(|| (start as u32, end as u32)));
    }
}

pub struct RecordReader<R> {
    csv: csv::Reader<Guard<R>>,
    record: ByteRecord,
    encoding: &'static Encoding,
}

impl<R: Read> RecordReader<R> {
    pub fn new(reader: R, encoding: &'static Encoding) -> Self {
        let csv = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(b',')
            .quote(b'"')
            .double_quote(true)
            .from_reader(Guard::new(reader));
        RecordReader { csv, record: ByteRecord::new(), encoding }
    }

    /// The next record, undecoded. Completely empty lines are skipped.
    pub fn next_raw(&mut self) -> Result<Option<&ByteRecord>, ValidateError> {
        match self.csv.read_byte_record(&mut self.record) {
            Ok(true) => Ok(Some(&self.record)),
            Ok(false) => Ok(None),
            Err(error) => Err(into_validate_error(error)),
        }
    }

    /// The next record, each cell decoded and trimmed but otherwise as written (for the header row).
    pub fn next_texts(&mut self) -> Result<Option<Vec<String>>, ValidateError> {
        let encoding = self.encoding;
        Ok(self.next_raw()?.map(|record| header_texts(record, encoding)))
    }

    /// The next record, each cell decoded and normalised.
    pub fn next_cells(&mut self) -> Result<Option<Cells>, ValidateError> {
        let encoding = self.encoding;
        Ok(self.next_raw()?.map(|record| {
            let mut cells =
                Cells { text: String::with_capacity(record.as_slice().len()), spans: Vec::with_capacity(record.len()) };
            for bytes in record.iter() {
                cells.push(&encoding.decode_without_bom_handling(bytes).0);
            }
            cells
        }))
    }
}

/// A header record's cells, decoded and trimmed but otherwise as written.
pub fn header_texts(record: &ByteRecord, encoding: &'static Encoding) -> Vec<String> {
    record
        .iter()
        .map(|bytes| encoding.decode_without_bom_handling(bytes).0.trim_matches(is_space).to_string())
        .collect()
}

/// The guard's own errors come back wrapped in I/O errors; anything else the csv crate reports is a syntax error.
fn into_validate_error(error: csv::Error) -> ValidateError {
    match error.into_kind() {
        csv::ErrorKind::Io(io) => match file_error_in(&io) {
            Some(file_error) => file_error.into(),
            None => io.into(),
        },
        _ => FileError::Malformed.into(),
    }
}

#[cfg(test)]
mod tests {
    use encoding_rs::{UTF_8, WINDOWS_1252};

    use super::*;

    fn all_cells(bytes: &[u8], encoding: &'static Encoding) -> Result<Vec<Vec<Option<String>>>, ValidateError> {
        let mut reader = RecordReader::new(bytes, encoding);
        let mut out = Vec::new();
        while let Some(cells) = reader.next_cells()? {
            out.push(cells.iter().map(|cell| cell.map(String::from)).collect());
        }
        Ok(out)
    }

    fn cells(values: &[Option<&str>]) -> Vec<Option<String>> {
        values.iter().map(|v| v.map(String::from)).collect()
    }

    #[test]
    fn when_reading_records_should_skip_empty_lines_but_keep_comma_lines() {
        let rows = all_cells(b"a,b\n\n\r\n x ,\"y,\"\"z\"\"\"\n,,\n\"\",c", UTF_8).unwrap();
        assert_eq!(
            rows,
            vec![
                cells(&[Some("a"), Some("b")]),
                cells(&[Some("x"), Some("y,\"z\"")]),
                cells(&[None, None, None]),
                cells(&[None, Some("c")]),
            ]
        );
    }

    #[test]
    fn when_encoding_is_windows_1252_should_decode_each_cell() {
        let rows = all_cells(b"Jalape\xF1o-P\xE9rez,Mary\x92s", WINDOWS_1252).unwrap();
        assert_eq!(rows, vec![cells(&[Some("Jalapeño-Pérez"), Some("Mary’s")])]);
    }

    #[test]
    fn when_guard_fails_should_report_file_error() {
        let error = all_cells(b"a,b\n\"open", UTF_8).unwrap_err();
        assert!(matches!(error, ValidateError::File(FileError::Malformed)), "{error:?}");
    }
}

//! CSV records as bytes (`csv::ByteRecord`, reused between records) and as decoded, normalised cells.

use std::io::Read;

use csv::{ByteRecord, ReaderBuilder};
use encoding_rs::Encoding;

use super::guard::{Guard, file_error_in};
use super::normalise::{is_space, normalise_cell};
use crate::csv_import::{FileError, ValidateError};

/// One record's cells; `None` is a blank cell.
pub type Cells = Vec<Option<String>>;

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
            record.iter().map(|bytes| normalise_cell(&encoding.decode_without_bom_handling(bytes).0)).collect()
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

    fn all_cells(bytes: &[u8], encoding: &'static Encoding) -> Result<Vec<Cells>, ValidateError> {
        let mut reader = RecordReader::new(bytes, encoding);
        let mut out = Vec::new();
        while let Some(cells) = reader.next_cells()? {
            out.push(cells);
        }
        Ok(out)
    }

    fn cells(values: &[Option<&str>]) -> Cells {
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

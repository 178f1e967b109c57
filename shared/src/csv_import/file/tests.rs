//! Whole-file behaviour: encodings, whole-file errors, safety limits and streaming.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use super::{DataRows, FileScan, Limits, MAX_CELL_BYTES, MAX_COLUMNS, Row, open, scan};
use crate::csv_import::test_reader::Generated;
use crate::csv_import::{FileError, ValidateError};

fn scan_with<R: Read>(mut make: impl FnMut() -> R, limits: &Limits) -> Result<FileScan, ValidateError> {
    scan(&mut || Ok::<_, io::Error>(make()), limits)
}

fn scan_bytes(bytes: &[u8]) -> Result<FileScan, ValidateError> {
    scan_with(|| bytes, &Limits::default())
}

fn file_error(bytes: &[u8]) -> FileError {
    match scan_bytes(bytes) {
        Err(ValidateError::File(error)) => error,
        other => panic!("expected a file error, got {other:?}"),
    }
}

fn all_rows(bytes: &[u8]) -> (FileScan, Vec<Row>, DataRows<&[u8]>) {
    let scanned = scan_bytes(bytes).expect("accepted file");
    let mut rows = open(bytes, &scanned).expect("opens");
    let mut out = Vec::new();
    while let Some(row) = rows.next_row().expect("reads") {
        out.push(row);
    }
    (scanned, out, rows)
}

fn values(row: &Row) -> Vec<Option<&str>> {
    row.cells().collect()
}

#[test]
fn when_file_is_empty_or_blank_should_ask_for_a_file() {
    assert_eq!(file_error(b""), FileError::Empty);
    assert_eq!(file_error(b"  \r\n\n\t"), FileError::Empty);
    assert_eq!(file_error(b"\xEF\xBB\xBF"), FileError::Empty);
    assert_eq!(FileError::Empty.to_string(), "Choose a file");
}

#[test]
fn when_file_has_no_data_row_should_ask_for_a_record() {
    assert_eq!(file_error(b"CHILD_FIRST_NAME,CHILD_LAST_NAME\n"), FileError::NoRecords);
    assert_eq!(file_error(b"CHILD_FIRST_NAME,CHILD_LAST_NAME"), FileError::NoRecords);
    assert_eq!(file_error(b"a,b\n\"Required: Free text\",Optional\n"), FileError::NoRecords);
    assert_eq!(FileError::NoRecords.to_string(), "Choose a CSV file with at least one record");
}

#[test]
fn when_quote_is_unclosed_should_be_malformed() {
    assert_eq!(file_error(b"this;csv\nis,,,\n\"malformed\n"), FileError::Malformed);
    assert_eq!(file_error(b"a,b\n1,\"2"), FileError::Malformed);
}

#[test]
fn when_file_is_binary_with_nul_bytes_should_be_malformed() {
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00";
    assert_eq!(file_error(png), FileError::Malformed);
    // UTF-16 without a BOM looks like text with NULs: not a CSV this service can read.
    let utf16: Vec<u8> = "a,b\n1,2\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_eq!(file_error(&utf16), FileError::Malformed);
}

#[test]
fn when_a_cell_is_10_mb_should_stop_reading_soon_after_1_mb() {
    const CHUNK: usize = 64 * 1024;
    let chunks = 1 + (10 << 20) / CHUNK as u64;
    let pulled = Rc::new(Cell::new(0));
    let file =
        || Generated::new(chunks, |i| if i == 0 { b"a,b\n1,".to_vec() } else { vec![b'x'; CHUNK] }).counting(&pulled);
    let result = scan_with(file, &Limits::default());
    assert!(matches!(result, Err(ValidateError::File(FileError::CellTooLong))), "{result:?}");
    assert!(pulled.get() < (MAX_CELL_BYTES + 4 * CHUNK) as u64, "read {} bytes", pulled.get());
    assert_eq!(FileError::CellTooLong.to_string(), "Choose a CSV file where every cell is smaller than 1 MB");
}

#[test]
fn when_file_has_5000_columns_should_refuse_it() {
    let header = (0..5_000).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",");
    assert_eq!(file_error(format!("{header}\n{}\n", ",".repeat(4_999)).as_bytes()), FileError::TooManyColumns);
    assert_eq!(FileError::TooManyColumns.to_string(), "Choose a CSV file with no more than 1000 columns");
    let widest = (0..MAX_COLUMNS).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",");
    assert!(scan_bytes(format!("{widest}\n1\n").as_bytes()).is_ok());
}

#[test]
fn when_rows_exceed_limit_should_count_instruction_and_trailing_blank_rows() {
    let csv = b"CHILD_FIRST_NAME\nRequired\nJimmy\n,\n\n ,\n";
    assert_eq!(scan_with(|| &csv[..], &Limits::with_max_rows(4)).unwrap().raw_rows, 4);
    match scan_with(|| &csv[..], &Limits::with_max_rows(3)) {
        Err(ValidateError::File(error)) => assert_eq!(
            error.to_string(),
            "The row limit for CSV uploads is 3. Split your CSV file into smaller files of less than 3 rows"
        ),
        other => panic!("expected the row limit, got {other:?}"),
    }
    assert_eq!(Limits::default().max_rows, 1_000_000);
}

#[test]
fn when_file_is_far_over_the_row_limit_should_stop_reading_early() {
    let pulled = Rc::new(Cell::new(0));
    let file = || {
        Generated::new(1_000_001, |i| if i == 0 { b"a,b\n".to_vec() } else { format!("{i},x\n").into_bytes() })
            .counting(&pulled)
    };
    let result = scan_with(file, &Limits::with_max_rows(1_000));
    assert!(matches!(result, Err(ValidateError::File(FileError::TooManyRows { max_rows: 1_000 }))), "{result:?}");
    assert!(pulled.get() < 100_000, "read {} bytes", pulled.get());
}

#[test]
fn when_instruction_row_is_present_should_drop_it_and_number_from_row_3() {
    let (_, rows, data) =
        all_rows(b"NAME,DOB\r\n\"Required: Free text\",\"Required: DD/MM/YYYY\"\r\nJimmy,01/01/2010\r\n");
    assert!(data.has_instruction_row());
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].index, rows[0].row_number), (0, 3));
    assert_eq!(values(&rows[0]), vec![Some("Jimmy"), Some("01/01/2010")]);
}

#[test]
fn when_trailing_rows_are_blank_should_drop_them_but_keep_blank_rows_in_between() {
    let (_, rows, _) = all_rows(b"a,b\n1,2\n,\n\n , \n3,4\n,\n,,,\n \n");
    let numbers: Vec<_> = rows.iter().map(|row| (row.row_number, row.is_blank())).collect();
    assert_eq!(numbers, vec![(2, false), (3, true), (4, true), (5, false)]);
    assert_eq!(values(&rows[3]), vec![Some("3"), Some("4")]);
}

#[test]
fn when_file_has_utf8_bom_should_read_first_header() {
    let (scanned, rows, data) = all_rows(b"\xEF\xBB\xBFCHILD_FIRST_NAME,CHILD_LAST_NAME\r\nLena,Rath\r\n");
    assert_eq!(scanned.encoding.name(), "UTF-8");
    assert_eq!(data.headers().column("child_first_name").map(|c| c.index), Some(0));
    assert_eq!(values(&rows[0]), vec![Some("Lena"), Some("Rath")]);
}

#[test]
fn when_file_is_utf16_with_bom_should_transcode_it() {
    let text = "CHILD_FIRST_NAME,CHILD_LAST_NAME\r\nZoë,O’Brien\r\n";
    for (big_endian, name) in [(false, "UTF-16LE"), (true, "UTF-16BE")] {
        let mut bytes = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
        bytes.extend(text.encode_utf16().flat_map(|u| if big_endian { u.to_be_bytes() } else { u.to_le_bytes() }));
        let (scanned, rows, _) = all_rows(&bytes);
        assert_eq!(scanned.encoding.name(), name);
        assert_eq!(values(&rows[0]), vec![Some("Zoë"), Some("O’Brien")]);
    }
}

#[test]
fn when_file_is_windows_1252_should_decode_it() {
    let (scanned, rows, _) = all_rows(b"CHILD_LAST_NAME,NOTE\nJalape\xF1o-P\xE9rez,Mary\x92s\xA0 note\n");
    assert_eq!(scanned.encoding.name(), "windows-1252");
    assert_eq!(values(&rows[0]), vec![Some("Jalapeño-Pérez"), Some("Mary’s note")]);
}

#[test]
fn when_headers_are_written_differently_should_keep_original_text() {
    let (_, _, data) = all_rows(b" Child First Name ,child-last-name,CHILD_FIRST_NAME\nA,B,C\n");
    let column = data.headers().column("child_first_name").unwrap();
    assert_eq!((column.index, column.header.as_str()), (0, "Child First Name"));
    assert_eq!(data.headers().column("child_last_name").unwrap().header, "child-last-name");
    assert_eq!(data.headers().column("child_date_of_birth"), None);
}

#[test]
fn when_file_has_200k_rows_should_stream_them_in_order() {
    const ROWS: u64 = 200_000;
    let make = || {
        Generated::new(ROWS + 1, |i| {
            if i == 0 { b"NAME,NUMBER\n".to_vec() } else { format!("Child {i},{i}\n").into_bytes() }
        })
    };
    let scanned = scan_with(make, &Limits::default()).unwrap();
    assert_eq!(scanned.raw_rows, ROWS);
    let mut rows = open(make(), &scanned).unwrap();
    let mut count = 0;
    while let Some(row) = rows.next_row().unwrap() {
        count += 1;
        assert_eq!(row.row_number, count + 1);
        assert_eq!(row.cells().nth(1).flatten().map(str::parse::<u64>), Some(Ok(count)));
    }
    assert_eq!(count, ROWS);
}

//! "The same NHS number appears multiple times in this file." needs every row's NHS number before the first row
//! is reported. A pre-pass collects one `u64` per row that has one, so a million rows cost 8 MB, not a million
//! strings.

use std::hash::{DefaultHasher, Hash, Hasher};

use csv::ByteRecord;
use encoding_rs::UTF_8;

use super::columns::NHS_NUMBER;
use crate::csv_import::file::{Headers, header_texts, is_instruction, normalise_cell};
use crate::csv_import::values::remove_whitespace;

/// Set on keys that are hashes, so a hash can never equal a ten-digit number.
const HASHED: u64 = 1 << 63;

/// The compact key of an NHS number cell, compared after removing whitespace (as Mavis compares
/// `nhs_number_value`), whether or not the number is valid. Ten digits map to their exact value; anything else
/// (rare, and already an error on its row) to a 63-bit hash, where a collision is vanishingly unlikely.
pub(super) fn key(nhs_number: &str) -> Option<u64> {
    let value = remove_whitespace(nhs_number);
    if value.is_empty() {
        return None;
    }
    if value.len() == 10 && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok();
    }
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    Some(HASHED | hasher.finish())
}

/// The NHS number keys of the data rows, gathered from the records the file scan reads
/// ([`crate::csv_import::file::scan_with`]): the header row says which column, and an instruction row has none.
#[derive(Debug, Default)]
pub(super) struct ScannedNhsNumbers {
    /// `None` until the header row is read; then the NHS number column, if there is one.
    column: Option<Option<usize>>,
    data_records: u64,
    keys: Vec<u64>,
}

impl ScannedNhsNumbers {
    /// One record, read as UTF-8 (the keys are used only when the file is UTF-8).
    pub fn record(&mut self, record: &ByteRecord) {
        let cell = |index: usize| record.get(index).and_then(|bytes| normalise_cell(&String::from_utf8_lossy(bytes)));
        let Some(column) = self.column else {
            self.column = Some(Headers::new(header_texts(record, UTF_8)).column(NHS_NUMBER).map(|c| c.index));
            return;
        };
        self.data_records += 1;
        if self.data_records == 1 && cell(0).is_some_and(|first| is_instruction(&first)) {
            return;
        }
        self.keys.extend(column.and_then(cell).as_deref().and_then(key));
    }

    pub fn repeated(self) -> Repeated {
        Repeated::from_keys(self.keys)
    }
}

/// The keys that occur on more than one row, sorted for lookup.
#[derive(Debug, Default)]
pub(super) struct Repeated(Vec<u64>);

impl Repeated {
    pub fn from_keys(mut keys: Vec<u64>) -> Self {
        keys.sort_unstable();
        let mut repeated: Vec<u64> = keys.windows(2).filter(|pair| pair[0] == pair[1]).map(|pair| pair[0]).collect();
        repeated.dedup();
        Repeated(repeated)
    }

    pub fn contains(&self, nhs_number: Option<&str>) -> bool {
        nhs_number.and_then(key).is_some_and(|key| self.0.binary_search(&key).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_numbers_repeat_after_removing_whitespace_should_flag_them() {
        let cells = ["9990000018", "999 000 0018", "9990000026", "invalid", "invalid", "other"];
        let repeated = Repeated::from_keys(cells.iter().filter_map(|c| key(c)).collect());
        assert!(repeated.contains(Some("9990000018")));
        assert!(repeated.contains(Some("999 000 0018")));
        assert!(repeated.contains(Some("invalid")));
        assert!(!repeated.contains(Some("9990000026")));
        assert!(!repeated.contains(Some("other")));
        assert!(!repeated.contains(None));
    }

    #[test]
    fn when_number_is_blank_should_have_no_key() {
        assert_eq!(key(" "), None);
        assert_eq!(key("0000000001"), Some(1));
        assert!(key("000000001").unwrap() & HASHED != 0);
    }
}

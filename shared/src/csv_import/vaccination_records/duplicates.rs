//! In-file duplicate rows (mavis-import.md §8.2, §4.2): two rows that would make the same record for the same
//! child get "The record on this row appears to be a duplicate of row 3." (or "rows 3 and 5").
//!
//! The message on the first row needs rows that come later, so the file gets pre-passes. To stay flat in memory:
//! 1. every row's identity key is hashed to a `u64`, and only `(hash, row number)` pairs are kept (16 bytes a row);
//! 2. only if some hashes repeat is the file read again, and the full keys of just those rows are compared, so a
//!    hash collision can never report a false duplicate.
//!
//! The identity is what Mavis compares (`full_row_deduplication_attributes`): the record's identity fields and the
//! new-patient fields. At point of care the batch, expiry, time, notes, vaccine and site are not part of it (a
//! re-upload with a corrected batch is the same record); in national reporting they are. Invalid rows take part
//! with whatever their cells read as, as in Mavis; ignored national-reporting rows (Vaccinated = N) do not, since
//! nothing about them is checked.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, Read};

use chrono::{DateTime, Utc};

use super::VaccinationContext;
use super::columns::Format;
use super::convert::{location, performer, protocol, source};
use super::reading::{Reader, Reading, value};
use crate::csv_import::file::{self, FileScan, Row};
use crate::csv_import::{FileError, ValidateError};

/// Rows that duplicate other rows, by spreadsheet row number.
#[derive(Debug, Default)]
pub(super) struct Duplicates {
    group_of_row: HashMap<u64, usize>,
    groups: Vec<Vec<u64>>,
}

impl Duplicates {
    /// The message for `row_number`, if other rows duplicate it.
    pub fn message(&self, row_number: u64) -> Option<String> {
        let group = &self.groups[*self.group_of_row.get(&row_number)?];
        let others: Vec<u64> = group.iter().copied().filter(|&r| r != row_number).collect();
        Some(duplicate_message(&others))
    }

    fn from_groups(groups: Vec<Vec<u64>>) -> Self {
        let group_of_row =
            groups.iter().enumerate().flat_map(|(index, rows)| rows.iter().map(move |&row| (row, index))).collect();
        Duplicates { group_of_row, groups }
    }
}

/// "…a duplicate of row 3.", "…of rows 3 and 5.", "…of rows 2, 3 and 5." (Rails' `to_sentence`).
pub(super) fn duplicate_message(others: &[u64]) -> String {
    let numbers: Vec<String> = others.iter().map(u64::to_string).collect();
    let list = match numbers.as_slice() {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    let noun = if others.len() == 1 { "row" } else { "rows" };
    format!("The record on this row appears to be a duplicate of {noun} {list}.")
}

/// The pre-passes: finds duplicate rows, and rejects a file with no data rows once trailing blank rows are gone.
pub(super) fn find<R: Read>(
    open: &mut dyn FnMut() -> io::Result<R>,
    scan: &FileScan,
    ctx: &VaccinationContext,
    now: DateTime<Utc>,
) -> Result<Duplicates, ValidateError> {
    let mut hashes: Vec<(u64, u64)> = Vec::new();
    let rows_read = each_keyed_row(open()?, scan, ctx, now, &mut |row, key| {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        hashes.push((hasher.finish(), row.row_number));
    })?;
    if rows_read == 0 {
        return Err(FileError::NoRecords.into());
    }
    hashes.sort_unstable();
    let candidates: HashSet<u64> = hashes
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
        .flat_map(|run| run.iter().map(|&(_, row)| row))
        .collect();
    drop(hashes);
    if candidates.is_empty() {
        return Ok(Duplicates::default());
    }

    let mut by_key: BTreeMap<Vec<u8>, Vec<u64>> = BTreeMap::new();
    each_keyed_row(open()?, scan, ctx, now, &mut |row, key| {
        if candidates.contains(&row.row_number) {
            by_key.entry(key.to_vec()).or_default().push(row.row_number);
        }
    })?;
    let mut groups: Vec<Vec<u64>> = by_key.into_values().filter(|rows| rows.len() > 1).collect();
    groups.sort();
    Ok(Duplicates::from_groups(groups))
}

/// Reads every row that takes part and hands its identity key over. Returns the number of data rows.
fn each_keyed_row<R: Read>(
    reader: R,
    scan: &FileScan,
    ctx: &VaccinationContext,
    now: DateTime<Utc>,
    on_key: &mut dyn FnMut(&Row, &[u8]),
) -> Result<u64, ValidateError> {
    let mut rows = file::open(reader, scan)?;
    let reader = Reader::new(rows.headers(), ctx, now);
    let mut key = Vec::new();
    while let Some(row) = rows.next_row()? {
        let reading = reader.read(&row);
        if reading.is_ignored() {
            continue;
        }
        key.clear();
        identity_key(&reader, &reading, &mut key);
        on_key(&row, &key);
    }
    Ok(rows.rows_read())
}

/// Appends each part with its length, so that no two different lists of parts give the same bytes.
struct Key<'k>(&'k mut Vec<u8>);

impl Key<'_> {
    fn part(&mut self, part: Option<&str>) -> &mut Self {
        match part {
            None => self.0.push(0),
            Some(text) => {
                self.0.push(1);
                self.0.extend_from_slice(&(text.len() as u64).to_le_bytes());
                self.0.extend_from_slice(text.as_bytes());
            }
        }
        self
    }

    fn debug(&mut self, part: Option<impl std::fmt::Debug>) -> &mut Self {
        self.part(part.map(|p| format!("{p:?}")).as_deref())
    }
}

/// The fields Mavis compares for in-file duplicates, written into `out`.
pub(super) fn identity_key(reader: &Reader, r: &Reading, out: &mut Vec<u8>) {
    let mut key = Key(out);
    let disease_types = r.vaccine.map(|v| v.disease_types.clone()).or_else(|| r.programme.map(|p| p.disease_types()));
    let outcome = match r.administered {
        Some(true) => Some("administered".to_string()),
        _ => r.reason.map(|reason| format!("{reason:?}")),
    };
    let performer = performer(r);
    let (location, location_name) = location(reader, r);
    key.debug(disease_types)
        .debug(r.dose)
        .part(outcome.as_deref())
        .debug(r.date_of_vaccination)
        .part(performer.user_email.as_deref())
        .part(performer.given_name.as_deref())
        .part(performer.family_name.as_deref())
        .part(value(r.f.ods_code))
        .debug(r.programme.map(|p| p.programme))
        .debug(Some(protocol(r)))
        .debug(r.session.map(|s| s.id))
        .part(r.supplier.map(|u| u.email.as_str()))
        .part(location.as_deref())
        .part(location_name.as_deref());
    if r.format == Format::NationalReporting {
        key.part(value(r.f.local_patient_id))
            .part(value(r.f.local_patient_id_uri))
            .part(value(r.f.batch_number))
            .debug(r.batch_expiry)
            .debug(r.time)
            .debug(Some(source(r)))
            .part(r.vaccine.map(|v| v.key.as_str()))
            .debug(r.site);
    }
    // The patient a new record would be built for.
    key.part(r.postcode.as_deref())
        .debug(r.date_of_birth)
        .part(value(r.f.last_name))
        .part(value(r.f.first_name))
        .debug(r.gender)
        .part(r.nhs_number.as_deref());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_listing_other_rows_should_read_like_mavis() {
        assert_eq!(duplicate_message(&[3]), "The record on this row appears to be a duplicate of row 3.");
        assert_eq!(duplicate_message(&[3, 5]), "The record on this row appears to be a duplicate of rows 3 and 5.");
        assert_eq!(
            duplicate_message(&[2, 3, 5]),
            "The record on this row appears to be a duplicate of rows 2, 3 and 5."
        );
    }

    #[test]
    fn when_rows_share_a_group_should_name_the_others() {
        let duplicates = Duplicates::from_groups(vec![vec![2, 4, 7], vec![3, 9]]);
        assert_eq!(
            duplicates.message(4).as_deref(),
            Some("The record on this row appears to be a duplicate of rows 2 and 7.")
        );
        assert_eq!(
            duplicates.message(9).as_deref(),
            Some("The record on this row appears to be a duplicate of row 3.")
        );
        assert_eq!(duplicates.message(5), None);
    }

    #[test]
    fn when_parts_differ_only_in_where_they_split_should_give_different_keys() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        Key(&mut a).part(Some("ab")).part(Some("c"));
        Key(&mut b).part(Some("a")).part(Some("bc"));
        assert_ne!(a, b);
        let (mut blank, mut empty) = (Vec::new(), Vec::new());
        Key(&mut blank).part(None);
        Key(&mut empty).part(Some(""));
        assert_ne!(blank, empty);
    }
}

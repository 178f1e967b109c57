//! Which kind of import a file is, from its header row alone. CHIS drops arrive without a wizard to say whether
//! they hold child records or vaccination records, and the two formats share no required column, so the headers
//! tell them apart.

use std::io::{self, Read};

use crate::csv_import::ValidateError;
use crate::csv_import::file::{self, Headers, Limits};
use crate::domain::ImportKind;

/// Headers only a child-record file has (§3.1).
const CHILD_KEYS: [&str; 3] = ["child_first_name", "child_last_name", "child_date_of_birth"];

/// Headers only a vaccination-record file has (§3.2–§3.4), Mavis or SystmOne spelling.
const VACCINATION_KEYS: [&str; 6] =
    ["date_of_vaccination", "event_date", "vaccine_given", "vaccination_type", "vaccinated", "person_forename"];

/// Child records when the header row has a child-record column and no vaccination column; vaccination records the
/// other way round; `None` when it has both or neither. (A class list has child-record headers too; CHIS drops
/// are never class lists, which need a school chosen in the wizard.)
pub fn detect_kind(headers: &Headers) -> Option<ImportKind> {
    let has = |keys: &[&str]| keys.iter().any(|key| headers.column(key).is_some());
    match (has(&CHILD_KEYS), has(&VACCINATION_KEYS)) {
        (true, false) => Some(ImportKind::ChildRecords),
        (false, true) => Some(ImportKind::VaccinationRecords),
        _ => None,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DetectKindError {
    /// The file cannot be read as CSV at all (the same whole-file errors as validation).
    #[error(transparent)]
    File(#[from] ValidateError),
    #[error(
        "cannot tell whether this file holds child records or vaccination records: its header row should have \
         CHILD_FIRST_NAME, CHILD_LAST_NAME and CHILD_DATE_OF_BIRTH (child records) or DATE_OF_VACCINATION and \
         PERSON_FORENAME (vaccination records), but not both; it has: {}",
        .headers.join(", ")
    )]
    Unrecognised { headers: Vec<String> },
}

impl From<io::Error> for DetectKindError {
    fn from(error: io::Error) -> Self {
        DetectKindError::File(error.into())
    }
}

/// Opens and scans a file (the whole-file checks and encoding) and names its kind from the header row.
pub fn detect_file_kind<R: Read>(
    open: &mut dyn FnMut() -> io::Result<R>,
    limits: &Limits,
) -> Result<ImportKind, DetectKindError> {
    let scan = file::scan(open, limits)?;
    let rows = file::open(open()?, &scan)?;
    detect_kind(rows.headers())
        .ok_or_else(|| DetectKindError::Unrecognised { headers: rows.headers().originals().to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv_import::FileError;

    fn headers(line: &str) -> Headers {
        Headers::new(line.split(',').map(String::from).collect())
    }

    #[test]
    fn when_headers_are_child_records_should_say_so() {
        assert_eq!(
            detect_kind(&headers("CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_SCHOOL_URN")),
            Some(ImportKind::ChildRecords)
        );
    }

    #[test]
    fn when_headers_are_mavis_or_systm_one_vaccinations_should_say_so() {
        assert_eq!(
            detect_kind(&headers("ORGANISATION_CODE,PERSON_FORENAME,PERSON_SURNAME,DATE_OF_VACCINATION")),
            Some(ImportKind::VaccinationRecords)
        );
        assert_eq!(
            detect_kind(&headers("Date of birth,First name,Surname,Event date,Vaccination type")),
            Some(ImportKind::VaccinationRecords)
        );
    }

    #[test]
    fn when_headers_are_mixed_or_unknown_should_not_guess() {
        assert_eq!(detect_kind(&headers("CHILD_FIRST_NAME,DATE_OF_VACCINATION")), None);
        assert_eq!(detect_kind(&headers("name,dob,address")), None);
    }

    #[test]
    fn when_file_is_read_should_detect_or_explain() {
        let detect = |bytes: &'static [u8]| detect_file_kind(&mut || Ok::<_, io::Error>(bytes), &Limits::default());
        assert_eq!(
            detect(b"\xEF\xBB\xBFPERSON_FORENAME,DATE_OF_VACCINATION\nA,20250101\n").unwrap(),
            ImportKind::VaccinationRecords
        );
        assert_eq!(detect(b"CHILD_FIRST_NAME,CHILD_LAST_NAME\nA,B\n").unwrap(), ImportKind::ChildRecords);
        let error = detect(b"name,dob\nA,B\n").unwrap_err();
        assert!(error.to_string().contains("it has: name, dob"), "{error}");
        match detect(b"PERSON_FORENAME\n") {
            Err(DetectKindError::File(ValidateError::File(FileError::NoRecords))) => {}
            other => panic!("expected no records, got {other:?}"),
        }
    }
}

//! The school-moves export (mavis-import.md §9.4): confirmed moves into the team, from the school-move log, as CSV.
//! Cells that a spreadsheet would read as a formula (=, +, - or @ first) are prefixed with an apostrophe. As §9.4
//! says, this export does not blank the address of restricted patients.

use chrono::NaiveDate;
use uuid::Uuid;

use super::ReviewError;
use crate::domain::patient::{Gender, SchoolPlacement};
use crate::domain::{Patient, ReferenceData};
use crate::ports::{ItemKey, RecordStore};
use crate::store::{decode, keys, patients};

pub const COLUMNS: [&str; 18] = [
    "NHS_REF",
    "SURNAME",
    "FORENAME",
    "GENDER",
    "DOB",
    "ADDRESS1",
    "ADDRESS2",
    "ADDRESS3",
    "TOWN",
    "POSTCODE",
    "COUNTY",
    "ETHNIC_OR",
    "ETHNIC_DESCRIPTION",
    "NATIONAL_URN_NO",
    "BASE_NAME",
    "STARTDATE",
    "STUD_ID",
    "DES_NUMBER",
];

/// `school_moves_export[_<from>][_to][_<to>].csv`
pub fn filename(from: Option<NaiveDate>, to: Option<NaiveDate>) -> String {
    let mut name = "school_moves_export".to_string();
    if let Some(from) = from {
        name.push_str(&format!("_{from}"));
    }
    if let Some(to) = to {
        name.push_str(&format!("_to_{to}"));
    }
    name + ".csv"
}

/// A cell a spreadsheet shows as text, never evaluates: one starting = + - @, a tab or a carriage return gets a
/// leading apostrophe (OWASP's CSV injection advice).
pub fn neutralise(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell.to_string() }
}

fn gender(g: Option<Gender>) -> &'static str {
    match g {
        Some(Gender::Female) => "Female",
        Some(Gender::Male) => "Male",
        Some(Gender::NotSpecified) => "Not specified",
        Some(Gender::NotKnown) | None => "Not known",
    }
}

/// The CSV of the team's confirmed moves whose date (Europe/London) is within the optional bounds, oldest first.
pub async fn school_moves_csv(
    store: &dyn RecordStore,
    reference: &ReferenceData,
    team_id: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<u8>, ReviewError> {
    let entries: Vec<_> = patients::school_move_log_of_team(store, team_id)
        .await?
        .into_iter()
        .filter(|e| {
            let day = e.created_at.with_timezone(&chrono_tz::Europe::London).date_naive();
            from.is_none_or(|f| day >= f) && to.is_none_or(|t| day <= t)
        })
        .collect();
    let mut ids: Vec<Uuid> = entries.iter().map(|e| e.patient_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut found = std::collections::BTreeMap::new();
    for chunk in ids.chunks(100) {
        let keys: Vec<ItemKey> = chunk.iter().map(|id| keys::patient(*id)).collect();
        for item in store.batch_get(&keys).await? {
            let patient: Patient = decode(&item)?;
            found.insert(patient.id, patient);
        }
    }

    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| ReviewError::NotAllowed(format!("The export could not be written: {e}"));
    writer.write_record(COLUMNS).map_err(csv_error)?;
    for entry in &entries {
        let Some(patient) = found.get(&entry.patient_id) else { continue };
        let a = &patient.attributes;
        let (urn, base_name) = match &entry.school {
            SchoolPlacement::School { urn } => match reference.school(urn) {
                Some(school) => {
                    (school.systm_one_code.clone().unwrap_or_else(|| school.urn.clone()), school.name.clone())
                }
                None => (urn.clone(), String::new()),
            },
            SchoolPlacement::HomeEducated => ("999999".into(), String::new()),
            SchoolPlacement::Unknown => ("888888".into(), String::new()),
        };
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let row = [
            text(&a.nhs_number),
            text(&a.family_name),
            text(&a.given_name),
            gender(a.gender).to_string(),
            a.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
            text(&a.address_line_1),
            text(&a.address_line_2),
            String::new(),
            text(&a.address_town),
            text(&a.address_postcode),
            String::new(),
            String::new(),
            String::new(),
            urn,
            base_name,
            entry.created_at.with_timezone(&chrono_tz::Europe::London).date_naive().to_string(),
            patient.id.to_string(),
            String::new(),
        ];
        writer.write_record(row.iter().map(|cell| neutralise(cell))).map_err(csv_error)?;
    }
    writer.into_inner().map_err(|e| ReviewError::NotAllowed(format!("The export could not be written: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_should_be_neutralised() {
        assert_eq!(neutralise("=1+1"), "'=1+1");
        assert_eq!(neutralise("+44"), "'+44");
        assert_eq!(neutralise("-2"), "'-2");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("Smith"), "Smith");
    }

    #[test]
    fn filename_should_name_the_dates() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        assert_eq!(filename(None, None), "school_moves_export.csv");
        assert_eq!(filename(d("2023-05-01"), None), "school_moves_export_2023-05-01.csv");
        assert_eq!(filename(d("2023-05-01"), d("2023-06-01")), "school_moves_export_2023-05-01_to_2023-06-01.csv");
        assert_eq!(filename(None, d("2023-06-01")), "school_moves_export_to_2023-06-01.csv");
    }
}

//! The format help on the upload pages and the invalid-import page (Mavis's `AppImportFormatDetailsComponent`): the
//! columns the file should use, each with its note (mavis-import.md §3).

use super::patients::programme_label;
use crate::domain::{ImportKind, Team, TeamKind};

pub struct FormatHelp {
    pub summary: &'static str,
    pub columns: Vec<FormatColumn>,
}

pub struct FormatColumn {
    pub name: &'static str,
    /// "Required" or "Optional", shown in bold before the note.
    pub requirement: &'static str,
    pub note: String,
}

const NAME: &str = "must use alphabetical characters (you can include accents like Chloë, hyphens like Anne-Marie or \
                    apostrophes like D'Arcy but no other special characters)";

fn column(name: &'static str, required: bool, note: &str) -> FormatColumn {
    FormatColumn { name, requirement: if required { "Required" } else { "Optional" }, note: note.to_string() }
}

impl FormatHelp {
    pub fn for_import(kind: ImportKind, team: &Team) -> Self {
        match (kind, team.kind) {
            (ImportKind::ChildRecords, _) => FormatHelp {
                summary: "How to format your Mavis CSV file for child records",
                columns: child_columns(true),
            },
            (ImportKind::ClassList, _) => FormatHelp {
                summary: "How to format your Mavis CSV file for class lists",
                columns: child_columns(false),
            },
            (ImportKind::VaccinationRecords, TeamKind::PointOfCare) => FormatHelp {
                summary: "How to format your Mavis CSV file for vaccination records",
                columns: point_of_care_columns(team),
            },
            (ImportKind::VaccinationRecords, TeamKind::NationalReporting) => FormatHelp {
                summary: "How to format your CSV file for vaccination records",
                columns: national_reporting_columns(),
            },
        }
    }
}

fn child_columns(child_records: bool) -> Vec<FormatColumn> {
    let mut columns = Vec::new();
    if child_records {
        columns.push(column(
            "CHILD_SCHOOL_URN",
            true,
            "must be 6 digits and numeric. Use 888888 for school unknown and 999999 for homeschooled.",
        ));
    }
    columns.extend([
        column("CHILD_FIRST_NAME", true, &format!("{NAME}.")),
        column("CHILD_LAST_NAME", true, &format!("{NAME}.")),
        column("CHILD_PREFERRED_FIRST_NAME", false, &format!("{NAME}.")),
        column("CHILD_PREFERRED_LAST_NAME", false, &format!("{NAME}.")),
        column("CHILD_DATE_OF_BIRTH", true, "must use either DD/MM/YYYY or YYYY-MM-DD format."),
        column(
            "CHILD_YEAR_GROUP",
            false,
            "must be a number from 0 to 13; it overrides the year group worked out from the date of birth.",
        ),
        column("CHILD_REGISTRATION", false, "the child's registration or form group, for example 8T5."),
        column("CHILD_NHS_NUMBER", false, "must be 10 digits and numeric."),
        column("CHILD_GENDER", false, "must be one of: Male, Female, Not known or Not specified."),
        column("CHILD_ADDRESS_LINE_1", false, "the first line of the child's address."),
        column("CHILD_ADDRESS_LINE_2", false, "the second line of the child's address."),
        column("CHILD_TOWN", false, "the child's town or city."),
        column("CHILD_POSTCODE", child_records, "must be formatted as a valid postcode."),
    ]);
    for parent in ["PARENT_1", "PARENT_2"] {
        let (name, relationship, email, phone) = match parent {
            "PARENT_1" => ("PARENT_1_NAME", "PARENT_1_RELATIONSHIP", "PARENT_1_EMAIL", "PARENT_1_PHONE"),
            _ => ("PARENT_2_NAME", "PARENT_2_RELATIONSHIP", "PARENT_2_EMAIL", "PARENT_2_PHONE"),
        };
        columns.extend([
            column(name, false, &format!("{NAME}.")),
            column(relationship, false, "must be one of: Mum, Dad or Guardian."),
            column(email, false, "must be formatted as a valid email address."),
            column(phone, false, "must be formatted as a valid phone number."),
        ]);
    }
    columns
}

fn point_of_care_columns(team: &Team) -> Vec<FormatColumn> {
    let programmes: Vec<&str> = team.programmes.iter().map(|&p| programme_label(p)).collect();
    let programmes = match programmes.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, init)) => format!("{} or {last}", init.join(", ")),
        None => String::new(),
    };
    vec![
        column("ORGANISATION_CODE", false, "the ODS code of the organisation that gave the vaccination."),
        column(
            "SCHOOL_URN",
            true,
            "must be 6 digits and numeric. Use 888888 for school unknown and 999999 for homeschooled.",
        ),
        column("SCHOOL_NAME", false, "required if the school URN is 888888."),
        column("NHS_NUMBER", false, "must be 10 digits and numeric."),
        column("PERSON_FORENAME", true, &format!("{NAME}.")),
        column("PERSON_SURNAME", true, &format!("{NAME}.")),
        column("PERSON_DOB", true, "must use either DD/MM/YYYY or YYYY-MM-DD format."),
        column("PERSON_GENDER_CODE", true, "must be one of: Male, Female, Not known or Not specified."),
        column("PERSON_POSTCODE", true, "must be formatted as a valid postcode; optional if an NHS number is given."),
        column("DATE_OF_VACCINATION", true, "must use either DD/MM/YYYY or YYYY-MM-DD format."),
        column("TIME_OF_VACCINATION", false, "must use HH:MM:SS format."),
        column("VACCINATED", true, "must be Y or N."),
        column("PROGRAMME", true, &format!("must be {programmes}.")),
        column("VACCINE_GIVEN", false, "the vaccine's name, for example Gardasil9."),
        column("BATCH_NUMBER", false, "must use letters and numbers only."),
        column("BATCH_EXPIRY_DATE", false, "must use either DD/MM/YYYY or YYYY-MM-DD format."),
        column("ANATOMICAL_SITE", false, "must be Left thigh, Right thigh, Left upper arm, Right upper arm or Nasal."),
        column("DOSE_SEQUENCE", false, "must be a number, for example 1 for the first dose."),
        column(
            "REASON_NOT_VACCINATED",
            false,
            "required if VACCINATED is N: Refused, Unwell, Vaccination contraindicated or Already had elsewhere.",
        ),
        column("CARE_SETTING", false, "1 for a school session, 2 for a clinic."),
        column("PERFORMING_PROFESSIONAL_EMAIL", false, "the email address of the person who gave the vaccination."),
        column("NOTES", false, "any notes about the vaccination."),
    ]
}

fn national_reporting_columns() -> Vec<FormatColumn> {
    vec![
        column("ORGANISATION_CODE", true, "the ODS code of the organisation that gave the vaccination."),
        column(
            "SCHOOL_URN",
            true,
            "must be 6 digits and numeric. Use 888888 for school unknown and 999999 for homeschooled.",
        ),
        column("NHS_NUMBER", true, "must be 10 digits and numeric."),
        column("PERSON_FORENAME", true, &format!("{NAME}.")),
        column("PERSON_SURNAME", true, &format!("{NAME}.")),
        column("PERSON_DOB", true, "must use either DD/MM/YYYY or YYYY-MM-DD format."),
        column("PERSON_GENDER_CODE", true, "must be one of: Male, Female, Not known or Not specified."),
        column("PERSON_POSTCODE", true, "must be formatted as a valid postcode."),
        column("DATE_OF_VACCINATION", true, "must be in the current academic year."),
        column("VACCINATED", false, "Y or N; records with N are not imported."),
        column("VACCINE_GIVEN", true, "a flu or HPV vaccine, by name."),
        column("BATCH_NUMBER", true, "must use letters and numbers only."),
        column("BATCH_EXPIRY_DATE", true, "must use either DD/MM/YYYY or YYYY-MM-DD format."),
        column("ANATOMICAL_SITE", true, "must suit the vaccine."),
        column("DOSE_SEQUENCE", false, "required for HPV: 1, 2 or 3."),
        column("LOCAL_PATIENT_ID", true, "your system's identifier for the child."),
        column("LOCAL_PATIENT_ID_URI", true, "the URI of the system that identifier comes from."),
        column("PERFORMING_PROFESSIONAL_FORENAME", false, "required for flu."),
        column("PERFORMING_PROFESSIONAL_SURNAME", false, "required for flu."),
    ]
}

//! The child-record and class-list columns (mavis-import.md §3.1), resolved once per file. Only these canonical
//! headers are recognised (in any case, with spaces or hyphens); there are no aliases, and other columns are
//! ignored.

use crate::csv_import::file::{Column, Headers};

/// The normalised header of the NHS number column, which the scan reads for the repeated-number check.
pub(super) const NHS_NUMBER: &str = "child_nhs_number";

/// The columns of one parent (`PARENT_1_…` or `PARENT_2_…`).
#[derive(Debug, Clone)]
pub(super) struct ParentColumns {
    pub name: Option<Column>,
    pub relationship: Option<Column>,
    pub email: Option<Column>,
    pub phone: Option<Column>,
}

#[derive(Debug, Clone)]
pub(super) struct Columns {
    pub first_name: Option<Column>,
    pub last_name: Option<Column>,
    pub preferred_first_name: Option<Column>,
    pub preferred_last_name: Option<Column>,
    pub date_of_birth: Option<Column>,
    pub year_group: Option<Column>,
    pub registration: Option<Column>,
    pub nhs_number: Option<Column>,
    pub gender: Option<Column>,
    pub address_line_1: Option<Column>,
    pub address_line_2: Option<Column>,
    pub town: Option<Column>,
    pub postcode: Option<Column>,
    pub school_urn: Option<Column>,
    pub parents: [ParentColumns; 2],
}

impl Columns {
    pub fn resolve(headers: &Headers) -> Self {
        let parent = |n: u8| ParentColumns {
            name: headers.column(&format!("parent_{n}_name")),
            relationship: headers.column(&format!("parent_{n}_relationship")),
            email: headers.column(&format!("parent_{n}_email")),
            phone: headers.column(&format!("parent_{n}_phone")),
        };
        Columns {
            first_name: headers.column("child_first_name"),
            last_name: headers.column("child_last_name"),
            preferred_first_name: headers.column("child_preferred_first_name"),
            preferred_last_name: headers.column("child_preferred_last_name"),
            date_of_birth: headers.column("child_date_of_birth"),
            year_group: headers.column("child_year_group"),
            registration: headers.column("child_registration"),
            nhs_number: headers.column(NHS_NUMBER),
            gender: headers.column("child_gender"),
            address_line_1: headers.column("child_address_line_1"),
            address_line_2: headers.column("child_address_line_2"),
            town: headers.column("child_town"),
            postcode: headers.column("child_postcode"),
            school_urn: headers.column("child_school_urn"),
            parents: [parent(1), parent(2)],
        }
    }
}

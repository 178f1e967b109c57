//! Children (patients) and their parents.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AcademicYear;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Female,
    Male,
    NotKnown,
    NotSpecified,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
            Gender::NotKnown => "not_known",
            Gender::NotSpecified => "not_specified",
        }
    }
}

/// Where a child goes to school, as far as this service knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SchoolPlacement {
    /// At a school, by URN(+site).
    School {
        urn: String,
    },
    HomeEducated,
    /// School not known (URN 888888, or never set).
    Unknown,
}

/// The child attributes an import can set. Every field is optional because blank upload values are dropped;
/// the same struct carries uploaded values and a patient's current values. `Debug` hides personal data.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildAttributes {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub preferred_given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub preferred_family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub date_of_birth: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub birth_academic_year: Option<AcademicYear>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gender: Option<Gender>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nhs_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub address_line_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub address_line_2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub address_town: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub address_postcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub registration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub registration_academic_year: Option<AcademicYear>,
}

/// `Debug` hides personal data (see [`ChildAttributes`]), so a patient printed with `{:?}` cannot leak it into logs.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Patient {
    pub id: Uuid,
    #[serde(flatten)]
    pub attributes: ChildAttributes,
    pub school: SchoolPlacement,
    /// Uploaded values that differ from the record and wait for review (attribute name → uploaded value).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending_changes: BTreeMap<String, serde_json::Value>,
    /// Teams the patient belongs to (through a patient location in the current academic year).
    #[serde(default)]
    pub team_ids: Vec<String>,
    /// Teams in which the patient is archived, with the reason (`moved_out_of_area`, `immunisation_import`…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub archived_in: BTreeMap<String, String>,
    #[serde(default)]
    pub restricted_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub invalidated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub date_of_death: Option<NaiveDate>,
    #[serde(default)]
    pub updated_from_pds_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Patient {
    /// A patient with these details and nothing else: no pending changes, teams, archive reasons or flags.
    pub fn new(id: Uuid, attributes: ChildAttributes, school: SchoolPlacement, now: DateTime<Utc>) -> Self {
        Patient {
            id,
            attributes,
            school,
            pending_changes: BTreeMap::new(),
            team_ids: Vec::new(),
            archived_in: BTreeMap::new(),
            restricted_at: None,
            invalidated_at: None,
            date_of_death: None,
            updated_from_pds_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The name as staff-facing lists and headings show it: "CLARKE, Jennifer" (the one formatter, `names`).
    pub fn staff_facing_name(&self) -> String {
        super::names::staff_facing(self.attributes.given_name.as_deref(), self.attributes.family_name.as_deref())
    }

    pub fn full_name(&self) -> String {
        format!(
            "{} {}",
            self.attributes.given_name.as_deref().unwrap_or(""),
            self.attributes.family_name.as_deref().unwrap_or("")
        )
        .trim()
        .to_string()
    }

    pub fn is_restricted(&self) -> bool {
        self.restricted_at.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    Mother,
    Father,
    Guardian,
    Other,
    Unknown,
}

/// `Debug` hides the name and contact details.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parent {
    pub id: Uuid,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    pub phone_receive_updates: bool,
    /// The import that created this parent. Parents created by one import are not matched by email to each other's
    /// rows (they are matched only to parents saved before it), as the reference service's batches behave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_import: Option<Uuid>,
}

/// A parent as uploaded (`PARENT_1_*` or `PARENT_2_*`), blanks dropped: read from the file, staged with the row,
/// applied on commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedParent {
    pub full_name: Option<String>,
    /// Lower case.
    pub email: Option<String>,
    /// National format for UK numbers ("07412 345678"), international otherwise.
    pub phone: Option<String>,
    /// `Unknown` when the upload has no relationship.
    pub relationship: Relationship,
    /// The uploaded text when the relationship is `Other` (e.g. "Step-parent").
    pub other_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentRelationship {
    pub parent_id: Uuid,
    pub patient_id: Uuid,
    #[serde(rename = "type")]
    pub relationship: Relationship,
    /// The uploaded text when the relationship is `other` (e.g. "Step-parent").
    #[serde(default)]
    pub other_name: Option<String>,
}

/// Where a patient is seen in an academic year: a school (URN+site) or a clinic (clinic id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientLocation {
    pub patient_id: Uuid,
    pub location: String,
    pub team_id: String,
    pub academic_year: i32,
    pub begin_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

/// A confirmed school move, kept for the school-moves export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchoolMoveLogEntry {
    pub patient_id: Uuid,
    pub school: SchoolPlacement,
    pub team_id: Option<String>,
    /// The user who confirmed it; None when confirmed automatically.
    pub user_email: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A proposed school move waiting for review (at most one per patient).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchoolMove {
    pub patient_id: Uuid,
    pub academic_year: i32,
    pub source: SchoolMoveSource,
    pub destination: SchoolPlacement,
    /// The team the move is for when there is no destination school.
    pub team_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchoolMoveSource {
    ParentalConsentForm,
    ClassListImport,
    CohortImport,
}

/// How personal data shows in `Debug`: whether a value is there, never the value.
fn redacted<T>(value: &Option<T>) -> &'static str {
    if value.is_some() { "Some(<redacted>)" } else { "None" }
}

impl std::fmt::Debug for ChildAttributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildAttributes")
            .field("given_name", &format_args!("{}", redacted(&self.given_name)))
            .field("family_name", &format_args!("{}", redacted(&self.family_name)))
            .field("preferred_given_name", &format_args!("{}", redacted(&self.preferred_given_name)))
            .field("preferred_family_name", &format_args!("{}", redacted(&self.preferred_family_name)))
            .field("date_of_birth", &format_args!("{}", redacted(&self.date_of_birth)))
            .field("birth_academic_year", &self.birth_academic_year)
            .field("gender", &self.gender)
            .field("nhs_number", &format_args!("{}", redacted(&self.nhs_number)))
            .field("address_line_1", &format_args!("{}", redacted(&self.address_line_1)))
            .field("address_line_2", &format_args!("{}", redacted(&self.address_line_2)))
            .field("address_town", &format_args!("{}", redacted(&self.address_town)))
            .field("address_postcode", &format_args!("{}", redacted(&self.address_postcode)))
            .field("registration", &self.registration)
            .field("registration_academic_year", &self.registration_academic_year)
            .finish()
    }
}

impl std::fmt::Debug for Patient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pending: Vec<&String> = self.pending_changes.keys().collect();
        f.debug_struct("Patient")
            .field("id", &self.id)
            .field("attributes", &self.attributes)
            .field("school", &self.school)
            .field("pending_changes", &format_args!("{pending:?} (values redacted)"))
            .field("team_ids", &self.team_ids)
            .field("archived_in", &self.archived_in)
            .field("restricted_at", &self.restricted_at)
            .field("invalidated_at", &self.invalidated_at)
            .field("date_of_death", &format_args!("{}", redacted(&self.date_of_death)))
            .field("updated_from_pds_at", &self.updated_from_pds_at)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl std::fmt::Debug for Parent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parent")
            .field("id", &self.id)
            .field("full_name", &format_args!("{}", redacted(&self.full_name)))
            .field("email", &format_args!("{}", redacted(&self.email)))
            .field("phone", &format_args!("{}", redacted(&self.phone)))
            .field("phone_receive_updates", &self.phone_receive_updates)
            .field("created_by_import", &self.created_by_import)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_should_not_show_personal_data() {
        let attributes = ChildAttributes {
            given_name: Some("Jennifer".into()),
            family_name: Some("Clarke".into()),
            preferred_given_name: Some("Jenny".into()),
            date_of_birth: NaiveDate::from_ymd_opt(2010, 1, 1),
            nhs_number: Some("9990000018".into()),
            address_line_1: Some("10 Downing Street".into()),
            address_town: Some("London".into()),
            address_postcode: Some("SW1A 1AA".into()),
            ..ChildAttributes::default()
        };
        let mut patient = Patient::new(Uuid::nil(), attributes, SchoolPlacement::Unknown, DateTime::UNIX_EPOCH);
        patient.pending_changes.insert("address_postcode".into(), serde_json::json!("SW1A 1AB"));
        patient.date_of_death = NaiveDate::from_ymd_opt(2024, 2, 3);
        let parent = Parent {
            id: Uuid::nil(),
            full_name: Some("Susan Clarke".into()),
            email: Some("susan@example.com".into()),
            phone: Some("07412345678".into()),
            phone_receive_updates: false,
            created_by_import: None,
        };

        let printed = format!("{patient:?} {parent:?} {patient:#?}");

        for personal in [
            "Jennifer",
            "Clarke",
            "Jenny",
            "2010",
            "9990000018",
            "Downing",
            "London",
            "SW1A",
            "2024",
            "Susan",
            "susan@",
            "07412",
        ] {
            assert!(!printed.contains(personal), "{personal} in {printed}");
        }
        assert!(printed.contains("given_name: Some(<redacted>)"), "{printed}");
        assert!(printed.contains("address_line_2: None"), "{printed}");
        assert!(printed.contains("\"address_postcode\""), "which fields changed is kept: {printed}");
    }
}

//! Vaccination records, and a vaccination row as read from an upload (mavis-import.md §3.2–§3.4, §6.1, §8).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Programme;
use super::patient::{ChildAttributes, Gender};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VaccinationOutcome {
    Administered,
    Refused,
    Unwell,
    Contraindicated,
    AlreadyHad,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMethod {
    Intramuscular,
    NasalSpray,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliverySite {
    LeftThigh,
    RightThigh,
    LeftArmUpperPosition,
    LeftArmLowerPosition,
    RightArmUpperPosition,
    RightArmLowerPosition,
    LeftButtock,
    RightButtock,
    Nose,
}

/// Where a record came from (§6.1 item 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordSource {
    /// Recorded by the team in this service (offline-recording rows, the API).
    Service,
    /// History uploaded by a point-of-care team.
    HistoricalUpload,
    NationalReporting,
    NhsImmunisationsApi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Pgd,
    Psd,
    National,
}

/// Who gave the vaccination: a user of the service, or free-text names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Performer {
    #[serde(default)]
    pub user_email: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
}

/// The fields that make up a vaccination record, shared by a parsed row and a stored record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaccinationDetails {
    pub programme: Programme,
    /// Catalogue key of the vaccine (`gardasil_9`), when known.
    #[serde(default)]
    pub vaccine: Option<String>,
    pub disease_types: Vec<String>,
    pub outcome: VaccinationOutcome,
    /// Date and time of the vaccination; the time is midnight (Europe/London) when none was given.
    pub performed_at: DateTime<Utc>,
    /// Whether a time was given (a record without one shows only the date).
    pub time_given: bool,
    #[serde(default)]
    pub batch_number: Option<String>,
    #[serde(default)]
    pub batch_expiry: Option<NaiveDate>,
    #[serde(default)]
    pub delivery_site: Option<DeliverySite>,
    #[serde(default)]
    pub delivery_method: Option<DeliveryMethod>,
    #[serde(default)]
    pub dose_sequence: Option<u32>,
    pub full_dose: bool,
    #[serde(default)]
    pub performer: Performer,
    #[serde(default)]
    pub supplier_email: Option<String>,
    /// ODS code of the organisation that vaccinated (`ORGANISATION_CODE`).
    #[serde(default)]
    pub performed_ods_code: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// Offline recording: the session the row came from.
    #[serde(default)]
    pub session_id: Option<i64>,
    /// A school URN(+site) or clinic id, when the location is known.
    #[serde(default)]
    pub location: Option<String>,
    /// The location's name when it is not one of ours (§6.1 item 5): a school or clinic name, or "Unknown".
    #[serde(default)]
    pub location_name: Option<String>,
    pub source: RecordSource,
    pub notify_parents: Option<bool>,
    #[serde(default)]
    pub protocol: Option<Protocol>,
    /// National reporting only.
    #[serde(default)]
    pub local_patient_id: Option<String>,
    #[serde(default)]
    pub local_patient_id_uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaccinationRecord {
    pub id: Uuid,
    pub patient_id: Uuid,
    /// The team that recorded or uploaded it.
    pub team_id: String,
    #[serde(flatten)]
    pub details: VaccinationDetails,
    /// Uploaded values that differ and wait for review (field name → uploaded value).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending_changes: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub discarded_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The child as a vaccination row identifies them (§3.2); demographics of an existing patient are never changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaccinatedChild {
    pub attributes: ChildAttributes,
    pub gender: Gender,
    /// The school from `SCHOOL_URN` (URN+site), when it names a known school.
    #[serde(default)]
    pub school_urn: Option<String>,
    /// `SCHOOL_URN` was 999999.
    #[serde(default)]
    pub home_educated: bool,
}

/// One valid row of a vaccination-records file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaccinationRow {
    /// 0-based data index.
    pub index: u64,
    /// Spreadsheet row number for messages.
    pub row_number: u64,
    pub child: VaccinatedChild,
    pub details: VaccinationDetails,
    /// `UUID`: the existing record this row updates.
    #[serde(default)]
    pub uuid: Option<Uuid>,
    /// National reporting: a row with Vaccinated = N, counted as ignored and not imported.
    #[serde(default)]
    pub ignored: bool,
}

impl VaccinationDetails {
    /// The date of the vaccination as the team sees it (Europe/London).
    pub fn performed_on(&self) -> NaiveDate {
        self.performed_at.with_timezone(&chrono_tz::Europe::London).date_naive()
    }
}

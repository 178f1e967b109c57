//! Import issues (mavis-import.md §7.3) as items: a marker per patient or vaccination record whose pending changes
//! wait for review. The pipeline writes the marker in the same transaction as the pending changes; resolving clears
//! the pending changes and marks the marker resolved in one transaction, both conditional on the versions read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::imports::Versioned;
use super::{decode, encode, keys, query_all};
use crate::ports::{Condition, IndexName, Item, Query, RecordStore, StoreError, WriteOp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueSubject {
    Patient,
    VaccinationRecord,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueMarker {
    /// The patient's or vaccination record's id: also the issue's id in the API.
    pub id: Uuid,
    pub subject: IssueSubject,
    pub patient_id: Uuid,
    /// The team whose import staged the pending changes, and which reviews them.
    pub team_id: String,
    /// The import that last staged pending changes, and its row: what "keep both" moves to the copy.
    #[serde(default)]
    pub import_id: Option<Uuid>,
    #[serde(default)]
    pub row_index: Option<u64>,
    /// Child records: whether that row matched the patient on NHS number (then "keep both" is not offered).
    #[serde(default)]
    pub matched_on_nhs_number: bool,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub resolution: Option<Resolution>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub decision: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

impl IssueMarker {
    pub fn is_open(&self) -> bool {
        self.resolution.is_none()
    }
}

fn marker_item(marker: &IssueMarker, version: u64) -> Item {
    let mut item = Item::new(keys::issue(marker.id), encode(marker));
    if marker.is_open() {
        item =
            item.with_index(IndexName::Gsi1, keys::open_issue_of_team(&marker.team_id, marker.created_at, marker.id));
    }
    item.version = version;
    item
}

/// Opens (or re-opens) the issue: written with the pending changes, whatever was there before. The version starts
/// above any earlier one only as far as conditions go: a decision in flight on the older marker then conflicts.
pub fn open_op(marker: &IssueMarker) -> WriteOp {
    let mut item = marker_item(marker, 1);
    // A fresh version from the clock: never equal to the version a concurrent decision read from an earlier marker.
    item.version = marker.created_at.timestamp_micros().max(1) as u64;
    WriteOp::Put { item, condition: Condition::None }
}

/// Marks the issue resolved (off the team's list), if the marker is still at the version read.
pub fn resolve_op(marker: &Versioned<IssueMarker>, resolution: Resolution) -> WriteOp {
    let mut resolved = marker.value.clone();
    resolved.resolution = Some(resolution);
    WriteOp::Put { item: marker_item(&resolved, marker.version + 1), condition: Condition::VersionIs(marker.version) }
}

pub async fn get(store: &dyn RecordStore, id: Uuid) -> Result<Option<Versioned<IssueMarker>>, StoreError> {
    Ok(match store.get(&keys::issue(id)).await? {
        Some(item) => Some(Versioned { value: decode(&item)?, version: item.version }),
        None => None,
    })
}

/// A team's issue: None when missing or another team's (the two are indistinguishable to callers).
pub async fn get_for_team(
    store: &dyn RecordStore,
    team_id: &str,
    id: Uuid,
) -> Result<Option<Versioned<IssueMarker>>, StoreError> {
    Ok(get(store, id).await?.filter(|m| m.value.team_id == team_id))
}

/// A team's open issues, oldest first.
pub async fn open_for_team(store: &dyn RecordStore, team_id: &str) -> Result<Vec<IssueMarker>, StoreError> {
    let query = Query::index(IndexName::Gsi1, keys::open_issues_of_team_pk(team_id));
    query_all(store, query).await?.iter().map(decode).collect()
}

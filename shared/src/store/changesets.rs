//! Changesets: one staged row of a child-records or class-list import, from validation to commit.
//! Written with batch writes while staging; each then moves Pending → Planned → Committed (or Skipped), so that a
//! retried import resumes where it stopped and never applies a row twice.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::imports::Versioned;
use super::{decode, encode, keys};
use crate::domain::patient::{ChildAttributes, SchoolPlacement, UploadedParent};
use crate::pds::cascade::SearchRecord;
use crate::ports::{Condition, Item, Query, RecordStore, StoreError, WriteOp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangesetStatus {
    Pending,
    Committed,
    /// Nothing written on purpose (a skipped school move).
    Skipped,
}

/// How a row was counted (mavis-import.md §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    New,
    Changed,
    ExactDuplicate,
    SkippedSchoolMove,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Changeset {
    pub import_id: Uuid,
    /// 0-based data index.
    pub index: u64,
    /// Spreadsheet row number for messages.
    pub row_number: u64,
    pub child: ChildAttributes,
    /// Child records: the school from the URN. Class lists: None (the import names the school).
    pub school: Option<SchoolPlacement>,
    pub parents: Vec<UploadedParent>,
    pub uploaded_nhs_number: Option<String>,
    /// The NHS number PDS found for this row, when exactly one was found.
    #[serde(default)]
    pub pds_nhs_number: Option<String>,
    /// The steps of this row's cascading PDS search so far (§11.1). Stored after every attempt so that a search
    /// interrupted by PDS asking us to come back later resumes after its last step instead of repeating it.
    #[serde(default)]
    pub pds_search: Vec<SearchRecord>,
    pub status: ChangesetStatus,
    #[serde(default)]
    pub patient_id: Option<Uuid>,
    #[serde(default)]
    pub matched_on_nhs_number: bool,
    #[serde(default)]
    pub outcome: Option<RowOutcome>,
    /// The match decided before anything was written (mavis-import.md §7.1), against the patients as they were.
    #[serde(default)]
    pub planned: Option<PlannedMatch>,
}

impl Changeset {
    /// A row as validation stages it: nothing searched, planned or written yet.
    pub fn pending(
        import_id: Uuid,
        index: u64,
        row_number: u64,
        child: ChildAttributes,
        school: Option<SchoolPlacement>,
        parents: Vec<UploadedParent>,
    ) -> Self {
        Changeset {
            import_id,
            index,
            row_number,
            uploaded_nhs_number: child.nhs_number.clone(),
            child,
            school,
            parents,
            pds_nhs_number: None,
            pds_search: Vec::new(),
            status: ChangesetStatus::Pending,
            patient_id: None,
            matched_on_nhs_number: false,
            outcome: None,
            planned: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlannedMatch {
    New { patient_id: Uuid },
    Existing { patient_id: Uuid, on_nhs_number: bool },
}

pub fn item(changeset: &Changeset, version: u64) -> Item {
    let mut item = Item::new(keys::changeset(changeset.import_id, changeset.index), encode(changeset));
    item.version = version;
    item
}

/// Stages rows, or saves their plans (unconditional batch writes: the same row written twice is the same item).
pub async fn stage(store: &dyn RecordStore, changesets: &[Changeset]) -> Result<(), StoreError> {
    store.batch_put(changesets.iter().map(|c| item(c, 1)).collect()).await
}

/// Replaces a changeset if it is still at `version`.
pub fn update_op(changeset: &Changeset, version: u64) -> WriteOp {
    WriteOp::Put { item: item(changeset, version + 1), condition: Condition::VersionIs(version) }
}

/// A page of an import's changesets in row order.
pub async fn page(
    store: &dyn RecordStore,
    import_id: Uuid,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<Versioned<Changeset>>, Option<String>), StoreError> {
    let query = Query::table(keys::import(import_id).pk).prefix(keys::CHANGESET_PREFIX).limit(limit).after(after);
    let page = store.query(&query).await?;
    let changesets = page
        .items
        .iter()
        .map(|item| decode(item).map(|value| Versioned { value, version: item.version }))
        .collect::<Result<_, _>>()?;
    Ok((changesets, page.next))
}

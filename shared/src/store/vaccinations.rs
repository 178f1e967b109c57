//! Vaccination records, and the staged rows of a vaccination-records import, as items.
//!
//! - A record: `VACCINATION#{id}` / `#VACCINATION`, with gsi1 `PATIENT#{patient}#VACCINATIONS` (a patient's records).
//!   It is also listed under its patient (`PATIENT#{patient}` / `VACCINATION#{id}`), so that matching reads a
//!   patient's records with strongly consistent reads.
//! - A staged row: `IMPORT#{import}` / `VROW#{index}`. Written with batch writes while staging, planned before
//!   anything else is written, then applied in one transaction together with its "committed" mark, so that a retried
//!   import resumes where it stopped and never applies a row twice.
//! - The import's links: `IMPORT#{import}` / `VACCINATION#{record}` for every record a row created or matched.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::imports::Versioned;
use super::{decode, encode, keys, query_all, query_all_each};
use crate::domain::vaccination::{VaccinationRecord, VaccinationRow};
use crate::ports::{Condition, IndexName, Item, ItemKey, Query, RecordStore, StoreError, WriteOp};

/// The item for a record at `version`.
pub fn record_item(record: &VaccinationRecord, version: u64) -> Item {
    let mut item = Item::new(keys::vaccination(record.id), encode(record))
        .with_index(IndexName::Gsi1, keys::vaccination_by_patient(record.patient_id, record.id));
    item.version = version;
    item
}

/// Writes a new record (it must not exist yet) and lists it under its patient.
pub fn create_ops(record: &VaccinationRecord) -> Vec<WriteOp> {
    vec![
        WriteOp::Put { item: record_item(record, 1), condition: Condition::NotExists },
        WriteOp::Put {
            item: Item::new(
                keys::patient_vaccination(record.patient_id, record.id),
                serde_json::json!({ "record_id": record.id }),
            ),
            condition: Condition::None,
        },
    ]
}

/// Replaces a record if it is still at `version` (its patient is unchanged, so the patient's listing stands).
pub fn update_op(record: &VaccinationRecord, version: u64) -> WriteOp {
    WriteOp::Put { item: record_item(record, version + 1), condition: Condition::VersionIs(version) }
}

pub async fn get(store: &dyn RecordStore, id: Uuid) -> Result<Option<Versioned<VaccinationRecord>>, StoreError> {
    Ok(match store.get(&keys::vaccination(id)).await? {
        Some(item) => Some(Versioned { value: decode(&item)?, version: item.version }),
        None => None,
    })
}

fn id_field(item: &Item, field: &str) -> Option<Uuid> {
    item.body.get(field).and_then(|v| v.as_str()).and_then(|s| s.parse().ok())
}

/// Reads many records by id (strongly consistent), in the order of `ids`; missing ones are left out.
async fn get_many(store: &dyn RecordStore, ids: &[Uuid]) -> Result<Vec<VaccinationRecord>, StoreError> {
    let mut found: BTreeMap<Uuid, VaccinationRecord> = BTreeMap::new();
    for chunk in ids.chunks(100) {
        let keys: Vec<ItemKey> = chunk.iter().map(|id| keys::vaccination(*id)).collect();
        for item in store.batch_get(&keys).await? {
            let record: VaccinationRecord = decode(&item)?;
            found.insert(record.id, record);
        }
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// A patient's vaccination records (every team's, discarded ones included), oldest vaccination first.
pub async fn of_patient(store: &dyn RecordStore, patient_id: Uuid) -> Result<Vec<VaccinationRecord>, StoreError> {
    Ok(of_patients(store, &[patient_id]).await?.pop().unwrap_or_default())
}

/// [`of_patient`] for each of many patients, in their order, their links looked up together.
pub async fn of_patients(
    store: &dyn RecordStore,
    patient_ids: &[Uuid],
) -> Result<Vec<Vec<VaccinationRecord>>, StoreError> {
    let queries = patient_ids
        .iter()
        .map(|id| Query::table(keys::patient(*id).pk).prefix(keys::PATIENT_VACCINATION_PREFIX))
        .collect();
    let mut found = Vec::with_capacity(patient_ids.len());
    for links in query_all_each(store, queries).await? {
        let ids: Vec<Uuid> = links.iter().filter_map(|item| id_field(item, "record_id")).collect();
        let mut records = if ids.is_empty() { Vec::new() } else { get_many(store, &ids).await? };
        records.sort_by(|a, b| {
            (a.details.performed_at, a.created_at, a.id).cmp(&(b.details.performed_at, b.created_at, b.id))
        });
        found.push(records);
    }
    Ok(found)
}

/// Links an import to a record one of its rows created or matched ("imported records").
pub fn import_link_item(import_id: Uuid, record_id: Uuid, row_number: u64) -> Item {
    Item::new(
        keys::import_vaccination(import_id, record_id),
        serde_json::json!({ "record_id": record_id, "row": row_number }),
    )
}

/// A record an import's row created or matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportedRecord {
    pub record_id: Uuid,
    /// The spreadsheet row number.
    pub row: u64,
}

/// The records an import created or matched, in row order.
pub async fn of_import(store: &dyn RecordStore, import_id: Uuid) -> Result<Vec<ImportedRecord>, StoreError> {
    let query = Query::table(keys::import(import_id).pk).prefix(keys::IMPORT_VACCINATION_PREFIX);
    let mut found: Vec<ImportedRecord> = query_all(store, query)
        .await?
        .iter()
        .filter_map(|item| {
            Some(ImportedRecord { record_id: id_field(item, "record_id")?, row: item.body.get("row")?.as_u64()? })
        })
        .collect();
    found.sort_by_key(|r| r.row);
    Ok(found)
}

/// Where a staged row is on its way to the record store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    Pending,
    Committed,
}

/// How a row was counted (mavis-import.md §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    New,
    Changed,
    ExactDuplicate,
    /// National reporting, Vaccinated = N: nothing written.
    Ignored,
}

/// The patient a row is for, decided before anything is written (§8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlannedPatient {
    /// A patient that existed before the import. Never modified, apart from the team's archive reason.
    Existing { patient_id: Uuid },
    /// A patient this import creates, built from the row at `built_from` (the first row in the file for that child;
    /// later rows for the same child share the id).
    New { patient_id: Uuid, built_from: u64 },
}

impl PlannedPatient {
    pub fn id(self) -> Uuid {
        match self {
            PlannedPatient::Existing { patient_id } | PlannedPatient::New { patient_id, .. } => patient_id,
        }
    }
}

/// The record a row creates or updates (§8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlannedRecord {
    New {
        record_id: Uuid,
    },
    /// An existing record with the same identity: batch, expiry, notes… are staged where they differ.
    Matched {
        record_id: Uuid,
    },
    /// The row's `UUID`: every differing attribute is staged.
    ByUuid {
        record_id: Uuid,
    },
}

impl PlannedRecord {
    pub fn id(self) -> Uuid {
        match self {
            PlannedRecord::New { record_id }
            | PlannedRecord::Matched { record_id }
            | PlannedRecord::ByUuid { record_id } => record_id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowPlan {
    pub patient: PlannedPatient,
    pub record: PlannedRecord,
}

/// One staged row of a vaccination-records import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StagedRow {
    pub import_id: Uuid,
    pub row: VaccinationRow,
    pub status: RowStatus,
    #[serde(default)]
    pub plan: Option<RowPlan>,
    /// Set when committed: the patient the record went to (differs from the plan only when another import created
    /// the planned child's NHS number first and the row joined that patient).
    #[serde(default)]
    pub patient_id: Option<Uuid>,
    #[serde(default)]
    pub outcome: Option<RowOutcome>,
}

impl StagedRow {
    pub fn new(import_id: Uuid, row: VaccinationRow) -> Self {
        StagedRow { import_id, row, status: RowStatus::Pending, plan: None, patient_id: None, outcome: None }
    }
}

pub fn row_item(row: &StagedRow, version: u64) -> Item {
    let mut item = Item::new(keys::vaccination_row(row.import_id, row.row.index), encode(row));
    item.version = version;
    item
}

/// Stages rows, or saves their plans (unconditional batch writes: the same row written twice is the same item).
pub async fn stage_rows(store: &dyn RecordStore, rows: &[StagedRow]) -> Result<(), StoreError> {
    store.batch_put(rows.iter().map(|r| row_item(r, 1)).collect()).await
}

/// Replaces a staged row if it is still at `version`.
pub fn update_row_op(row: &StagedRow, version: u64) -> WriteOp {
    WriteOp::Put { item: row_item(row, version + 1), condition: Condition::VersionIs(version) }
}

pub async fn get_row(
    store: &dyn RecordStore,
    import_id: Uuid,
    index: u64,
) -> Result<Option<Versioned<StagedRow>>, StoreError> {
    Ok(match store.get(&keys::vaccination_row(import_id, index)).await? {
        Some(item) => Some(Versioned { value: decode(&item)?, version: item.version }),
        None => None,
    })
}

/// A page of an import's staged rows in row order.
pub async fn rows_page(
    store: &dyn RecordStore,
    import_id: Uuid,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<Versioned<StagedRow>>, Option<String>), StoreError> {
    let query = Query::table(keys::import(import_id).pk).prefix(keys::VACCINATION_ROW_PREFIX).limit(limit).after(after);
    let page = store.query(&query).await?;
    let rows = page
        .items
        .iter()
        .map(|item| decode(item).map(|value| Versioned { value, version: item.version }))
        .collect::<Result<_, _>>()?;
    Ok((rows, page.next))
}

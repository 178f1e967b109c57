//! NHS Immunisations API sync state as items (keys in `keys`):
//! - [`ImmsLink`]: a record's id and version in the API and when it was last synced. Written only by the sync
//!   worker, with optimistic versions.
//! - [`PendingMarker`]: "this record needs syncing", put unconditionally in the same transaction as the record
//!   change (an outbox), deleted by the worker only if unchanged since it read it. A sweep re-enqueues old ones.
//! - [`SearchMarker`]: a patient's history search (last run, and whether one is due now).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::imports::Versioned;
use super::{decode, encode, keys};
use crate::ports::{Condition, IndexName, Item, Query, RecordStore, StoreError, WriteOp};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImmsLink {
    pub record_id: Uuid,
    /// The API's id for the record; None when not (or no longer) in the API.
    #[serde(default)]
    pub api_id: Option<String>,
    /// The API's version (`E-Tag`) of the record.
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub synced_at: Option<DateTime<Utc>>,
    /// Records found by search: the supplier identifier and primary-source flag (nhs-apis.md §7.4).
    #[serde(default)]
    pub identifier_system: Option<String>,
    #[serde(default)]
    pub identifier_value: Option<String>,
    #[serde(default)]
    pub primary_source: Option<bool>,
    /// The last final (non-transient) failure, for operators; the API's words, never personal data from us.
    #[serde(default)]
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMarker {
    pub record_id: Uuid,
    pub pending_at: DateTime<Utc>,
}

pub fn link_item(link: &ImmsLink, version: u64) -> Item {
    let mut item = Item::new(keys::imms_link(link.record_id), encode(link));
    item.version = version;
    item
}

/// Writes `link`: creates it when `current` is None, else replaces it if still at that version.
pub fn put_link_op(link: &ImmsLink, current: Option<u64>) -> WriteOp {
    match current {
        None => WriteOp::Put { item: link_item(link, 1), condition: Condition::NotExists },
        Some(version) => WriteOp::Put { item: link_item(link, version + 1), condition: Condition::VersionIs(version) },
    }
}

pub async fn get_link(store: &dyn RecordStore, record_id: Uuid) -> Result<Option<Versioned<ImmsLink>>, StoreError> {
    Ok(match store.get(&keys::imms_link(record_id)).await? {
        Some(item) => Some(Versioned { value: decode(&item)?, version: item.version }),
        None => None,
    })
}

/// The marker op to add to the transaction that changes a record (unconditional: a newer change simply moves it).
pub fn mark_pending_op(record_id: Uuid, at: DateTime<Utc>) -> WriteOp {
    let marker = PendingMarker { record_id, pending_at: at };
    let item = Item::new(keys::imms_pending(record_id), encode(&marker))
        .with_index(IndexName::Gsi1, keys::imms_pending_by_time(at, record_id));
    WriteOp::Put { item, condition: Condition::None }
}

pub async fn get_pending(
    store: &dyn RecordStore,
    record_id: Uuid,
) -> Result<Option<Versioned<PendingMarker>>, StoreError> {
    Ok(match store.get(&keys::imms_pending(record_id)).await? {
        Some(item) => Some(Versioned { value: decode(&item)?, version: item.version }),
        None => None,
    })
}

/// Removes a marker only if nothing re-marked the record since it was read (else the newer change still syncs).
pub fn clear_pending_op(marker: &Versioned<PendingMarker>) -> WriteOp {
    WriteOp::Delete { key: keys::imms_pending(marker.value.record_id), condition: Condition::VersionIs(marker.version) }
}

/// Markers set before `cutoff`, oldest first, at most `limit`.
pub async fn pending_before(
    store: &dyn RecordStore,
    cutoff: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<PendingMarker>, StoreError> {
    let mut found = Vec::new();
    let mut after = None;
    loop {
        let page = store.query(&Query::index(IndexName::Gsi1, keys::IMMS_PENDING_PK).limit(100).after(after)).await?;
        for item in &page.items {
            let marker: PendingMarker = decode(item)?;
            if marker.pending_at >= cutoff || found.len() >= limit {
                return Ok(found);
            }
            found.push(marker);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(found),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchMarker {
    pub patient_id: Uuid,
    #[serde(default)]
    pub last_searched_at: Option<DateTime<Utc>>,
    /// A search was asked for (import, new NHS number) and has not run since.
    #[serde(default)]
    pub requested: bool,
}

fn search_item(marker: &SearchMarker) -> Item {
    let due = match (marker.requested, marker.last_searched_at) {
        (true, _) | (false, None) => "0".to_owned(),
        (false, Some(at)) => at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
    };
    Item::new(keys::imms_search(marker.patient_id), encode(marker))
        .with_index(IndexName::Gsi1, keys::imms_search_by_due(&due, marker.patient_id))
}

/// Asks for a history search of the patient (keeping when it last ran).
pub async fn request_search(store: &dyn RecordStore, patient_id: Uuid) -> Result<(), StoreError> {
    request_searches(store, vec![patient_id]).await
}

/// Asks for history searches of the patients, with one read and one write of all their markers.
pub async fn request_searches(store: &dyn RecordStore, mut patient_ids: Vec<Uuid>) -> Result<(), StoreError> {
    patient_ids.sort();
    patient_ids.dedup();
    let keys = patient_ids.iter().map(|id| keys::imms_search(*id)).collect();
    let mut last = super::versioned_many::<SearchMarker>(store, keys).await?;
    let markers = patient_ids.into_iter().filter_map(|patient_id| {
        let last = last.remove(&keys::imms_search(patient_id)).map(|m| m.value);
        // A search asked for and not run yet is asked for already: writing it again would change nothing.
        if last.as_ref().is_some_and(|m| m.requested) {
            return None;
        }
        let last_searched_at = last.and_then(|m| m.last_searched_at);
        Some(search_item(&SearchMarker { patient_id, last_searched_at, requested: true }))
    });
    store.batch_put(markers.collect()).await
}

/// Records that a search ran.
pub async fn searched(store: &dyn RecordStore, patient_id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
    let marker = SearchMarker { patient_id, last_searched_at: Some(at), requested: false };
    store.put(search_item(&marker), Condition::None).await
}

pub async fn get_search(store: &dyn RecordStore, patient_id: Uuid) -> Result<Option<SearchMarker>, StoreError> {
    Ok(match store.get(&keys::imms_search(patient_id)).await? {
        Some(item) => Some(decode(&item)?),
        None => None,
    })
}

/// Patients whose search is due: asked for, or last run before `stale_before`; most overdue first.
pub async fn searches_due(
    store: &dyn RecordStore,
    stale_before: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Uuid>, StoreError> {
    let mut found = Vec::new();
    let mut after = None;
    loop {
        let page = store.query(&Query::index(IndexName::Gsi1, keys::IMMS_SEARCH_PK).limit(100).after(after)).await?;
        for item in &page.items {
            let marker: SearchMarker = decode(item)?;
            let due = marker.requested || marker.last_searched_at.is_none_or(|at| at < stale_before);
            if !due || found.len() >= limit {
                return Ok(found);
            }
            found.push(marker.patient_id);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(found),
        }
    }
}

//! Imports: create, read (always within a team), list newest first, update with optimistic versions, row errors.

use uuid::Uuid;

use super::{decode, encode, keys};
use crate::domain::Import;
use crate::domain::import::ImportProgress;
use crate::ports::{Condition, IndexName, Item, Query, RecordStore, StoreError};

/// An import as stored, with the version to quote when updating it.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

fn item(import: &Import, version: u64) -> Item {
    let mut item = Item::new(keys::import(import.id), encode(import))
        .with_index(IndexName::Gsi1, keys::imports_of_team(&import.team_id, import.created_at, import.id));
    item.version = version;
    item
}

/// Saves a new import; `Conflict` if one with this id exists already.
pub async fn create(store: &dyn RecordStore, import: &Import) -> Result<(), StoreError> {
    store.put(item(import, 1), Condition::NotExists).await
}

pub async fn get(store: &dyn RecordStore, id: Uuid) -> Result<Option<Versioned<Import>>, StoreError> {
    match store.get(&keys::import(id)).await? {
        Some(item) => Ok(Some(Versioned { value: decode(&item)?, version: item.version })),
        None => Ok(None),
    }
}

/// The import if it belongs to `team_id`; another team's import is indistinguishable from a missing one.
pub async fn get_for_team(store: &dyn RecordStore, team_id: &str, id: Uuid) -> Result<Option<Import>, StoreError> {
    Ok(get(store, id).await?.map(|v| v.value).filter(|import| import.team_id == team_id))
}

/// A page of the team's imports, newest first.
pub async fn list_for_team(
    store: &dyn RecordStore,
    team_id: &str,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<Import>, Option<String>), StoreError> {
    let page = store
        .query(&Query::index(IndexName::Gsi1, keys::imports_of_team_pk(team_id)).descending().limit(limit).after(after))
        .await?;
    let imports = page.items.iter().map(decode).collect::<Result<Vec<Import>, _>>()?;
    Ok((imports, page.next))
}

/// One page of the import's links under `prefix` (its patients or its vaccination records): the linked ids in key
/// order, the cursor of the next page, and how many there are in all.
pub async fn linked_page(
    store: &dyn RecordStore,
    import_id: uuid::Uuid,
    prefix: &str,
    field: &str,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<uuid::Uuid>, Option<String>, usize), StoreError> {
    let query = Query::table(keys::import(import_id).pk).prefix(prefix);
    let total = store.count(&query).await?;
    let page = store.query(&query.limit(limit).after(after)).await?;
    let ids = page
        .items
        .iter()
        .filter_map(|item| item.body.get(field).and_then(|v| v.as_str()).and_then(|s| s.parse().ok()))
        .collect();
    Ok((ids, page.next, total))
}

/// How many imports the team has (every status), for the list's heading.
pub async fn count_for_team(store: &dyn RecordStore, team_id: &str) -> Result<usize, StoreError> {
    store.count(&Query::index(IndexName::Gsi1, keys::imports_of_team_pk(team_id))).await
}

/// Replaces the import if it is still at `version`; returns the new version. `Conflict` if someone else changed it.
pub async fn update(
    store: &dyn RecordStore,
    import: &Import,
    version: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u64, StoreError> {
    let mut import = import.clone();
    import.updated_at = now;
    store.put(item(&import, version + 1), Condition::VersionIs(version)).await?;
    Ok(version + 1)
}

/// Records how far the import has got (last write wins: each phase only moves forward).
pub async fn set_progress(
    store: &dyn RecordStore,
    import_id: Uuid,
    progress: ImportProgress,
) -> Result<(), StoreError> {
    store.put(Item::new(keys::import_progress(import_id), encode(&progress)), Condition::None).await
}

/// The import's latest progress: the progress item, or what the import itself recorded.
pub async fn progress(store: &dyn RecordStore, import: &Import) -> Result<Option<ImportProgress>, StoreError> {
    match store.get(&keys::import_progress(import.id)).await? {
        Some(item) => Ok(Some(decode(&item)?)),
        None => Ok(import.progress),
    }
}

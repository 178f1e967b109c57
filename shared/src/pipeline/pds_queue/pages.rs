//! Pages of rows on the pds queue, and the per-import tally that tells the worker finishing the last page to ask
//! for the commit.

use std::collections::BTreeMap;

use futures::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::PdsMessage;
use crate::domain::import::{ImportPhase, ImportProgress};
use crate::domain::{Import, ImportStatus};
use crate::pipeline::pds_step::{PAGE, Paced, PdsSettings, search_row, split};
use crate::pipeline::{Pipeline, PipelineError};
use crate::ports::{Condition, Item, ItemKey, Queue, RecordStore, StoreError};
use crate::store::changesets::{self, Changeset};
use crate::store::imports::{self, Versioned};
use crate::store::{decode, encode, keys};

/// Which pages of an import are searched. One item per import, updated with conditional writes, so that concurrent
/// workers each add their page once and exactly one of them sees the tally complete first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageTally {
    pub total_pages: u32,
    pub total_rows: u64,
    /// Page number → rows on it, for every page whose rows are all searched.
    pub done: BTreeMap<u32, u64>,
}

impl PageTally {
    pub fn checked(&self) -> u64 {
        self.done.values().sum()
    }

    pub fn is_complete(&self) -> bool {
        self.done.len() as u64 >= u64::from(self.total_pages)
    }
}

/// Its own partition, so that no query over an import's rows (`IMPORT#…`) ever meets it.
fn tally_key(import_id: Uuid) -> ItemKey {
    ItemKey::new(format!("PDSPAGES#{import_id}"), "#TALLY")
}

/// The import's tally, if its rows were sent to the pds queue.
pub async fn tally(store: &dyn RecordStore, import_id: Uuid) -> Result<Option<PageTally>, StoreError> {
    store.get(&tally_key(import_id)).await?.map(|item| decode(&item)).transpose()
}

/// Called by the import function after staging: records the tally, shows progress, and sends every page. A resumed
/// import (its tally exists) keeps the pages already searched and sends all pages again; finished ones cost a read.
pub async fn send_search_pages(
    pipeline: &Pipeline,
    queue: &dyn Queue,
    import: &mut Versioned<Import>,
    rows: Vec<u64>,
) -> Result<(), PipelineError> {
    let store = pipeline.records.as_ref();
    let import_id = import.value.id;
    let pages: Vec<&[u64]> = rows.chunks(PAGE).collect();
    let fresh = PageTally { total_pages: pages.len() as u32, total_rows: rows.len() as u64, done: BTreeMap::new() };
    let mut item = Item::new(tally_key(import_id), encode(&fresh));
    item.version = 1;
    match store.put(item, Condition::NotExists).await {
        Ok(()) | Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let checked = tally(store, import_id).await?.map(|t| t.checked()).unwrap_or_default();
    import.value.progress = Some(ImportProgress::new(ImportPhase::Pds, checked, rows.len() as u64));
    imports::set_progress(store, import.value.id, ImportProgress::new(ImportPhase::Pds, checked, rows.len() as u64))
        .await?;
    import.version = imports::update(store, &import.value, import.version, pipeline.now()).await?;

    let bodies: Vec<String> = if pages.is_empty() {
        vec![PdsMessage::CommitImport { import_id }.body()]
    } else {
        pages
            .iter()
            .enumerate()
            .map(|(page, rows)| PdsMessage::SearchPage { import_id, page: page as u32, rows: rows.to_vec() }.body())
            .collect()
    };
    let count = bodies.len();
    queue.send_batch(bodies).await?;
    tracing::info!(%import_id, pages = count, rows = rows.len(), "rows sent to the pds queue");
    Ok(())
}

/// Searches one page. A page with rows PDS keeps deferring fails (the message is redelivered; its finished rows are
/// saved and not searched again); a finished page is added to the tally, and the worker that completes the tally
/// sends the commit.
pub(super) async fn search_page(
    pipeline: &Pipeline,
    pds: &PdsSettings,
    queue: &dyn Queue,
    import_id: Uuid,
    page: u32,
    rows: &[u64],
) -> Result<(), PipelineError> {
    let store = pipeline.records.as_ref();
    match imports::get(store, import_id).await? {
        // A Failed import's pages are still searched: a redriven page completes the tally, and the commit resumes it.
        Some(import) if !import.value.status.is_final() || import.value.status == ImportStatus::Failed => {}
        // Gone, or finished (a late redelivery): nothing to search.
        _ => return Ok(()),
    }
    let keys: Vec<ItemKey> = rows.iter().map(|&index| keys::changeset(import_id, index)).collect();
    let staged: Vec<Changeset> = store.batch_get(&keys).await?.iter().map(decode).collect::<Result<_, _>>()?;
    let searcher = Paced::new(store, pds);
    let searched: Vec<(Changeset, bool)> = stream::iter(staged)
        .map(|changeset| search_row(&searcher, pds, changeset, &pipeline.settings.clock))
        .buffer_unordered(pds.concurrency.max(1))
        .collect()
        .await;
    let mut deferred = 0;
    let (_, to_save) = split(searched, &mut deferred);
    changesets::stage(store, &to_save).await?;
    if deferred > 0 {
        return Err(PipelineError::PdsDeferred { import_id, rows: deferred });
    }
    let tally = mark_done(store, import_id, page, rows.len() as u64).await?;
    record_progress(pipeline, import_id, &tally).await?;
    if tally.is_complete() {
        // Also on a redelivery of an already counted page: the commit is claim-guarded, so a second request is
        // harmless, and it covers a worker that died between the tally and this send.
        queue.send_batch(vec![PdsMessage::CommitImport { import_id }.body()]).await?;
        tracing::info!(%import_id, "every row searched in PDS; commit requested");
    }
    Ok(())
}

/// Adds `page` to the tally (once) and returns the tally as written.
async fn mark_done(store: &dyn RecordStore, import_id: Uuid, page: u32, rows: u64) -> Result<PageTally, PipelineError> {
    let key = tally_key(import_id);
    loop {
        let Some(item) = store.get(&key).await? else {
            return Err(PipelineError::Broken(format!("import {import_id} has no pds page tally")));
        };
        let mut tally: PageTally = decode(&item)?;
        if tally.done.contains_key(&page) {
            return Ok(tally);
        }
        tally.done.insert(page, rows);
        let mut updated = Item::new(key.clone(), encode(&tally));
        updated.version = item.version + 1;
        match store.put(updated, Condition::VersionIs(item.version)).await {
            Ok(()) => return Ok(tally),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Shows the rows checked on the import. Progress only grows, so a late redelivery never moves it back; losing the
/// race a few times in a row only delays the figure to the next page.
async fn record_progress(pipeline: &Pipeline, import_id: Uuid, tally: &PageTally) -> Result<(), PipelineError> {
    let store = pipeline.records.as_ref();
    let progress = ImportProgress::new(ImportPhase::Pds, tally.checked(), tally.total_rows);
    for _ in 0..5 {
        let Some(mut import) = imports::get(store, import_id).await? else { return Ok(()) };
        if import.value.status.is_final()
            || import.value.progress.is_some_and(|p| p.phase == ImportPhase::Pds && p.done >= progress.done)
        {
            return Ok(());
        }
        import.value.progress = Some(progress);
        imports::set_progress(store, import_id, progress).await?;
        match imports::update(store, &import.value, import.version, pipeline.now()).await {
            Ok(_) => return Ok(()),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(%import_id, "progress not recorded this time: the import kept changing");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::sqlite_store::SqliteRecordStore;

    async fn store_with_tally(import_id: Uuid, total_pages: u32, total_rows: u64) -> SqliteRecordStore {
        let store = SqliteRecordStore::in_memory().expect("store");
        let tally = PageTally { total_pages, total_rows, done: BTreeMap::new() };
        store.put(Item::new(tally_key(import_id), encode(&tally)), Condition::NotExists).await.expect("tally");
        store
    }

    #[tokio::test]
    async fn when_a_page_is_reported_twice_the_tally_should_count_it_once() {
        let import_id = Uuid::new_v4();
        let store = store_with_tally(import_id, 2, 150).await;

        let first = mark_done(&store, import_id, 0, 100).await.expect("first");
        let again = mark_done(&store, import_id, 0, 100).await.expect("redelivered");

        assert_eq!(first, again);
        assert_eq!((again.checked(), again.is_complete()), (100, false));
        let last = mark_done(&store, import_id, 1, 50).await.expect("last");
        assert_eq!((last.checked(), last.is_complete()), (150, true));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn when_workers_finish_pages_at_once_every_page_should_be_counted() {
        let import_id = Uuid::new_v4();
        let store = std::sync::Arc::new(store_with_tally(import_id, 20, 2000).await);
        let mut tasks = Vec::new();
        for page in 0..20 {
            let store = store.clone();
            tasks.push(tokio::spawn(
                async move { mark_done(store.as_ref(), import_id, page, 100).await.expect("mark") },
            ));
        }
        let mut completed_by = 0;
        for task in tasks {
            if task.await.expect("task").is_complete() {
                completed_by += 1;
            }
        }
        // Exactly one writer sees the tally complete as it writes (only the last write adds the last page).
        assert_eq!(completed_by, 1);
        let tally = tally(store.as_ref(), import_id).await.expect("read").expect("tally");
        assert_eq!((tally.checked(), tally.is_complete()), (2000, true));
    }

    #[tokio::test]
    async fn when_a_page_names_an_import_without_tally_should_fail_for_a_retry() {
        let store = SqliteRecordStore::in_memory().expect("store");
        assert!(mark_done(&store, Uuid::new_v4(), 0, 1).await.is_err());
    }
}

//! The PDS step of a child-records or class-list import (mavis-import.md §6.2 item 3, §11.1, §11.2): after staging
//! and before planning, every staged row gets a cascading PDS search, and when exactly one NHS number is found it
//! replaces the uploaded one.
//!
//! Deployed, the step runs in the pds function: the import function stages the rows and sends them in pages to the
//! pds queue ([`PdsSettings::queue`], see `crate::pds_worker`). Without a queue (unit-sized tests) it runs inside the
//! import function with [`search_import`]. Either way it is re-startable: each row's search records are stored on
//! its changeset, a row whose cascade is finished is never searched again, and a row PDS keeps deferring fails the
//! page (or the run) with [`PipelineError::PdsDeferred`] so that it is redelivered and resumes after the last
//! recorded step.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, stream};

use super::{Pipeline, PipelineError};
use crate::clock::Clock;
use crate::domain::Import;
use crate::domain::import::{
    ImportPhase, ImportProgress, NHS_NUMBER_UPDATES_KEPT, NhsNumberUpdate, UNMATCHED_KEPT, UnmatchedRecord,
};
use crate::nhs_api::{PdsError, PdsPatient, PdsSearch, SearchResult};
use crate::pacing::{self, RatePacer};
use crate::pds::cascade::{self, CascadeError, Identity, PatientSearcher, SearchRecord, SearchStep, StepResult};
use crate::pds::match_rate;
use crate::pds_refresh::PatientFetcher;
use crate::ports::Queue;
use crate::store::changesets::{self, Changeset, ChangesetStatus};
use crate::store::imports::{self, Versioned};

/// Rows read, searched and saved together (one pds-queue message); also how often the import's progress is updated.
pub const PAGE: usize = 100;

/// How the import function talks to PDS.
#[derive(Clone)]
pub struct PdsSettings {
    /// The PDS client (or a test fake).
    pub searcher: Arc<dyn PatientSearcher>,
    /// The agreed PDS rate, shared by every invocation through the record store.
    pub requests_per_second: u32,
    /// Rows searched at once within one invocation; the pacer keeps the total rate.
    pub concurrency: usize,
    /// Attempts per row in one invocation before the run gives up and asks for redelivery.
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// The pds queue: the import function sends pages of rows to it and the pds function searches them, then
    /// commits the import and refreshes its patients. None: the search runs inside the import function and no GET
    /// refresh follows the commit.
    pub queue: Option<Arc<dyn Queue>>,
    /// PDS GET for the post-commit refresh (§11.3); None skips the refresh.
    pub fetcher: Option<Arc<dyn PatientFetcher>>,
}

impl PdsSettings {
    /// Defaults sized for the PDS application-restricted rate limit.
    pub fn new(searcher: Arc<dyn PatientSearcher>) -> Self {
        Self {
            searcher,
            requests_per_second: 5,
            concurrency: 4,
            max_attempts: 6,
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(10),
            queue: None,
            fetcher: None,
        }
    }

    /// Searches and GETs with the PDS client.
    pub fn for_client(client: Arc<crate::nhs_api::PdsClient>) -> Self {
        Self { fetcher: Some(client.clone()), ..Self::new(client) }
    }

    /// The same settings, sending the PDS work to `queue`.
    pub fn with_queue(self, queue: Arc<dyn Queue>) -> Self {
        Self { queue: Some(queue), ..self }
    }
}

impl std::fmt::Debug for PdsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdsSettings")
            .field("requests_per_second", &self.requests_per_second)
            .field("concurrency", &self.concurrency)
            .field("max_attempts", &self.max_attempts)
            .field("queue", &self.queue.is_some())
            .field("get_refresh", &self.fetcher.is_some())
            .finish_non_exhaustive()
    }
}

/// Name of the shared rate limit, the same for every import, every invocation, searches and GETs alike.
pub const RATE_LIMIT: &str = "pds";

/// One `acquire` on the shared pacer before every PDS request, so that concurrent rows and concurrent invocations
/// together stay within the agreed rate.
pub(crate) struct Paced<'a> {
    pub inner: &'a dyn PatientSearcher,
    pub pacer: RatePacer<'a>,
}

impl<'a> Paced<'a> {
    pub fn new(store: &'a dyn crate::ports::RecordStore, pds: &'a PdsSettings) -> Self {
        Self { inner: pds.searcher.as_ref(), pacer: RatePacer::new(store, RATE_LIMIT, pds.requests_per_second) }
    }

    /// A paced PDS GET with `fetcher`.
    pub async fn get_patient(&self, fetcher: &dyn PatientFetcher, nhs_number: &str) -> Result<PdsPatient, PdsError> {
        if let Err(error) = self.pacer.acquire().await {
            tracing::warn!(%error, "PDS rate pacer unavailable");
            return Err(PdsError::Unavailable { status: None, retry_after: None });
        }
        fetcher.get_patient(nhs_number).await
    }
}

#[async_trait]
impl PatientSearcher for Paced<'_> {
    async fn search(&self, search: &PdsSearch) -> Result<SearchResult, PdsError> {
        if let Err(error) = self.pacer.acquire().await {
            // The record store is down, not PDS: "unavailable" makes the cascade defer the row, which is right.
            tracing::warn!(%error, "PDS rate pacer unavailable");
            return Err(PdsError::Unavailable { status: None, retry_after: None });
        }
        self.inner.search(search).await
    }
}

/// Runs the search for every row whose cascade is not finished yet, updating the import's progress as it goes.
/// Returns the import at its new version.
pub async fn search_import(
    pipeline: &Pipeline,
    pds: &PdsSettings,
    mut import: Versioned<Import>,
) -> Result<Versioned<Import>, PipelineError> {
    let store = pipeline.records.as_ref();
    let searcher = Paced::new(store, pds);
    let total = import.value.row_count.unwrap_or_default();
    let (mut checked, mut deferred, mut after) = (0u64, 0usize, None);
    loop {
        let (page, next) = changesets::page(store, import.value.id, PAGE, after).await?;
        let searched: Vec<(Changeset, bool)> = stream::iter(page.into_iter().map(|c| c.value))
            .map(|changeset| search_row(&searcher, pds, changeset, &pipeline.settings.clock))
            .buffer_unordered(pds.concurrency.max(1))
            .collect()
            .await;
        let (done, to_save) = split(searched, &mut deferred);
        checked += done;
        changesets::stage(store, &to_save).await?;
        import.value.progress = Some(ImportProgress::new(ImportPhase::Pds, checked, total));
        imports::set_progress(store, import.value.id, ImportProgress::new(ImportPhase::Pds, checked, total)).await?;
        import.version = imports::update(store, &import.value, import.version, pipeline.now()).await?;
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    if deferred > 0 {
        return Err(PipelineError::PdsDeferred { import_id: import.value.id, rows: deferred });
    }
    Ok(import)
}

/// Counts the rows whose search is finished, counts the deferred ones, and keeps the rows that changed.
pub(crate) fn split(searched: Vec<(Changeset, bool)>, deferred: &mut usize) -> (u64, Vec<Changeset>) {
    let mut done = 0;
    let mut to_save = Vec::new();
    for (changeset, changed) in searched {
        if is_finished(&changeset) {
            done += 1;
        } else {
            *deferred += 1;
        }
        if changed {
            to_save.push(changeset);
        }
    }
    (done, to_save)
}

/// Whether the row's cascade has ended (a resumed import skips it). Rows already applied count as finished.
pub fn is_finished(changeset: &Changeset) -> bool {
    changeset.status != ChangesetStatus::Pending
        || (!changeset.pds_search.is_empty() && cascade::step_after(&changeset.pds_search).is_none())
}

/// Searches one row, retrying with back-off while PDS defers it. Returns the row and whether it changed.
pub(crate) async fn search_row(
    searcher: &dyn PatientSearcher,
    pds: &PdsSettings,
    mut changeset: Changeset,
    clock: &Clock,
) -> (Changeset, bool) {
    if is_finished(&changeset) {
        return (changeset, false);
    }
    let Some(identity) = identity(&changeset) else {
        // Validation requires names and a date of birth, so this is a row the search cannot describe at all.
        changeset.pds_search = vec![unsearchable(clock)];
        return (changeset, true);
    };
    for attempt in 0..pds.max_attempts.max(1) {
        match cascade::resume(searcher, &identity, &changeset.pds_search, clock).await {
            Ok(records) => {
                changeset.pds_search = records;
                apply_outcome(&mut changeset);
                return (changeset, true);
            }
            Err(CascadeError::Retry { records, .. }) => {
                changeset.pds_search = records;
                tokio::time::sleep(pacing::backoff(attempt, pds.backoff_base, pds.backoff_cap)).await;
            }
        }
    }
    (changeset, true)
}

/// A row without names or a date of birth: recorded as an error step so the cascade counts as finished.
fn unsearchable(clock: &Clock) -> SearchRecord {
    SearchRecord { step: SearchStep::FIRST, result: StepResult::Error, nhs_number: None, created_at: clock.now() }
}

fn identity(changeset: &Changeset) -> Option<Identity> {
    let child = &changeset.child;
    Some(Identity {
        given_name: child.given_name.clone()?,
        family_name: child.family_name.clone()?,
        date_of_birth: child.date_of_birth?,
        postcode: child.address_postcode.clone(),
    })
}

/// §11.1 "Outcome": exactly one distinct NHS number replaces the uploaded one; `uploaded_nhs_number` keeps the
/// file's value for "NHS numbers updated from PDS".
fn apply_outcome(changeset: &mut Changeset) {
    if let Some(number) = cascade::outcome(&changeset.pds_search).pds_nhs_number {
        changeset.child.nhs_number = Some(number.clone());
        changeset.pds_nhs_number = Some(number);
    }
}

/// What the finished search means for the whole import: the match rate (§11.2) and the updated numbers.
#[derive(Debug, Default)]
pub struct SearchSummary {
    /// None when the import is too small for the check.
    pub match_rate: Option<f64>,
    pub nhs_numbers_updated: Vec<NhsNumberUpdate>,
    /// Rows with exactly one number found.
    pub matched: u64,
    /// The first rows with none, as the file wrote them.
    pub unmatched: Vec<UnmatchedRecord>,
}

/// Reads every row's stored search once the search is complete.
pub async fn summarise(pipeline: &Pipeline, import: &Import) -> Result<SearchSummary, PipelineError> {
    let store = pipeline.records.as_ref();
    let mut searches: Vec<Vec<SearchRecord>> = Vec::new();
    let mut updated = Vec::new();
    let (mut matched, mut unmatched) = (0, Vec::new());
    let mut after = None;
    loop {
        let (page, next) = changesets::page(store, import.id, 500, after).await?;
        for changeset in page.into_iter().map(|c| c.value) {
            if let Some(update) = number_update(&changeset)
                && updated.len() < NHS_NUMBER_UPDATES_KEPT
            {
                updated.push(update);
            }
            if cascade::outcome(&changeset.pds_search).pds_nhs_number.is_some() {
                matched += 1;
            } else if unmatched.len() < UNMATCHED_KEPT {
                let child = &changeset.child;
                unmatched.push(UnmatchedRecord {
                    given_name: child.given_name.clone(),
                    family_name: child.family_name.clone(),
                    date_of_birth: child.date_of_birth,
                    postcode: child.address_postcode.clone(),
                });
            }
            searches.push(changeset.pds_search);
        }
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    let slices: Vec<&[SearchRecord]> = searches.iter().map(Vec::as_slice).collect();
    Ok(SearchSummary { match_rate: match_rate(&slices), nhs_numbers_updated: updated, matched, unmatched })
}

/// §6.2 item 12: listed only when both numbers exist and differ.
fn number_update(changeset: &Changeset) -> Option<NhsNumberUpdate> {
    let uploaded = changeset.uploaded_nhs_number.as_deref()?;
    let pds = changeset.pds_nhs_number.as_deref()?;
    (uploaded != pds).then(|| NhsNumberUpdate {
        row: changeset.row_number,
        uploaded: uploaded.to_owned(),
        pds: pds.to_owned(),
    })
}

//! The import pipeline: from an uploaded object to committed patients.
//!
//! ```text
//! ObjectCreated ─► route key ─► claim (once per object) ─► import ─► validate (stream) ─► stage rows
//!     ─► plan (match every row against existing patients) ─► apply (one transaction per row) ─► Completed
//! ```
//! With PDS on, child records and class lists go through the pds queue between staging and planning
//! ([`pds_queue`]): the import function ends after staging, and the pds function searches, commits and refreshes.
//! Each step can be re-run after a crash: staging overwrites the same items, planning is stored on each row, and a
//! row is applied in one transaction together with its "committed" mark.

pub mod aged_out;
pub mod apply;
pub mod child_records;
pub mod class_list;
pub mod invocation;
pub mod matching;
pub mod object_event;
pub mod pds_queue;
pub mod pds_step;
pub mod plan;
pub mod reading;
pub mod school_moves;
pub mod staging;
pub mod upload;
pub mod vaccination_records;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::clock::Clock;
use crate::domain::ReferenceData;
use crate::ports::{ObjectStore, ObjectStoreError, QueueError, RecordStore, StoreError};

pub use object_event::{ObjectCreated, parse_notification};
pub use pds_step::PdsSettings;
pub use upload::Handled;

/// Everything the pipeline needs, built once at cold start.
#[derive(Clone)]
pub struct Pipeline {
    pub records: Arc<dyn RecordStore>,
    pub objects: Arc<dyn ObjectStore>,
    pub reference: Arc<ReferenceData>,
    pub settings: PipelineSettings,
}

impl Pipeline {
    /// The pipeline for one invocation: with the reference data of `live`, re-read first when older than its time
    /// to live, so a warm function follows changes to teams, schools and users.
    pub async fn with_current_reference(&self, live: &crate::reference::live::LiveReference) -> Pipeline {
        Pipeline { reference: live.refresh_if_stale(self.now()).await, ..self.clone() }
    }

    /// "Now" by the pipeline's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.settings.clock.now()
    }
}

#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// Safety limit on data rows per file (there is no business cap).
    pub max_rows: u64,
    /// Fixes "today" (academic years, year groups); None means today in Europe/London.
    pub today_override: Option<NaiveDate>,
    /// How long a claim on an object lasts before another worker may take it over.
    pub claim_lease: chrono::Duration,
    /// Who this worker is to the claims: one of many (the functions) or the only one (the local runner).
    pub claimant: crate::store::claims::Claimant,
    /// Rows applied at once.
    pub commit_concurrency: usize,
    /// PDS cascading searches during child-record and class-list imports (§6.2 item 3); None skips them.
    pub pds: Option<PdsSettings>,
    /// "Now" for every step: timestamps, "a time in the past", leases on claims.
    pub clock: Clock,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        Self {
            max_rows: 1_000_000,
            today_override: None,
            claim_lease: chrono::Duration::minutes(15),
            claimant: crate::store::claims::Claimant::Shared,
            commit_concurrency: 8,
            pds: None,
            clock: Clock::system(),
        }
    }
}

impl PipelineSettings {
    pub fn claim_terms(&self) -> crate::store::claims::ClaimTerms {
        crate::store::claims::ClaimTerms { claimant: self.claimant, lease: self.claim_lease }
    }

    pub fn today(&self) -> NaiveDate {
        self.today_override.unwrap_or_else(|| self.clock.today_in_london())
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// Failures worth retrying: the event or message is redelivered and processing resumes.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Objects(#[from] ObjectStoreError),
    #[error("another worker is processing import {0}; retry later")]
    InProgress(uuid::Uuid),
    #[error("reading the file failed: {0}")]
    Read(#[source] std::io::Error),
    #[error("background task failed: {0}")]
    Task(String),
    /// PDS kept asking us to come back later for some rows; their searches resume on the next delivery.
    #[error("PDS search of import {import_id} deferred for {rows} rows; retry later")]
    PdsDeferred { import_id: uuid::Uuid, rows: usize },
    /// PDS or the store kept failing the GET refresh of some patients; the message is redelivered.
    #[error("PDS GET refresh deferred for {patients} patients; retry later")]
    PdsRefreshDeferred { patients: usize },
    #[error(transparent)]
    Queue(#[from] QueueError),
}

//! The import pipeline: from an uploaded object to committed patients.
//!
//! ```text
//! ObjectCreated ─► route key ─► claim (once per object) ─► import ─► validate (stream) ─► stage rows
//!     ─► plan (match every row against existing patients) ─► apply (one transaction per row) ─► Completed
//! ```
//! With PDS on, child records and class lists go through the pds queue between staging and planning
//! ([`pds_queue`]): the import function ends after staging, and the pds function searches, commits and refreshes.
//! Each step can be re-run after a crash: staging overwrites the same items, planning is stored on each row, and a
//! row is applied in one transaction together with its "committed" mark. A failure that retrying cannot mend, or
//! one that outlasts every retry, ends the import "Failed" ([`failed`]); the queues are consumed by [`crate::consumer`].

pub mod aged_out;
pub mod apply;
pub mod child_records;
pub mod class_list;
pub mod failed;
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
    /// How long a claim on an object lasts before another worker may take it over: renewed with the hold of the
    /// message being worked on ([`crate::consumer`]), so as long as that hold.
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
            claim_lease: chrono::Duration::minutes(2),
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

/// Why a step of an import could not finish. [`PipelineError::retry`] sorts them: transient failures are tried again
/// (the message is redelivered and the step resumes), the others end the import "Failed" at once
/// ([`failed::fail_import`]), so that a bug never loops to the dead-letter queue.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Objects(#[from] ObjectStoreError),
    /// Another worker holds the import's claim; its lease runs out in `retry_in` unless renewed.
    #[error("another worker is processing import {import_id}; retry later")]
    InProgress { import_id: uuid::Uuid, retry_in: std::time::Duration },
    #[error("reading the file failed: {0}")]
    Read(#[source] std::io::Error),
    /// Other writers kept changing the same records: worth another try later.
    #[error("{0}")]
    Contended(String),
    /// The file under the import's key is not the one that was checked (replaced, or cut short).
    #[error("the file changed while it was imported: {0}")]
    FileChanged(String),
    /// Something that must hold did not (a bug): retrying cannot help.
    #[error("{0}")]
    Broken(String),
    /// The function lacks a setting it needs: retried, then dead-lettered, to be redriven once it is set.
    #[error("{0}")]
    Misconfigured(String),
    /// PDS kept asking us to come back later for some rows; their searches resume on the next delivery.
    #[error("PDS search of import {import_id} deferred for {rows} rows; retry later")]
    PdsDeferred { import_id: uuid::Uuid, rows: usize },
    /// PDS or the store kept failing the GET refresh of some patients; the message is redelivered.
    #[error("PDS GET refresh deferred for {patients} patients; retry later")]
    PdsRefreshDeferred { patients: usize },
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The object's claim could not be asked for: this delivery never held the import.
    #[error("cannot claim the object: {0}")]
    Unclaimed(#[source] StoreError),
}

impl PipelineError {
    /// Another worker's claim, live until `lease_until`.
    pub fn in_progress(import_id: uuid::Uuid, lease_until: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        let retry_in = (lease_until - now).to_std().unwrap_or_default() + std::time::Duration::from_secs(1);
        PipelineError::InProgress { import_id, retry_in }
    }

    /// A blocking task that did not return: a panic is a bug; a task cancelled by a shutting-down runtime is not.
    pub fn from_join(error: tokio::task::JoinError) -> Self {
        if error.is_panic() {
            PipelineError::Broken("a background task panicked".into())
        } else {
            PipelineError::Contended("a background task was cancelled".into())
        }
    }

    fn is_about_the_file(&self) -> bool {
        let gone = |e: &ObjectStoreError| matches!(e, ObjectStoreError::NotFound(_) | ObjectStoreError::Changed);
        match self {
            PipelineError::Objects(e) => gone(e),
            PipelineError::Read(e) => reading::object_error(e).is_some_and(gone),
            _ => false,
        }
    }

    /// The sentence the import page shows when this error ends an import: nothing of the file's content.
    pub fn reason_for_users(&self) -> &'static str {
        match self {
            PipelineError::FileChanged(_) => {
                "The file was replaced or changed while it was being imported. Upload the file again."
            }
            _ if self.is_about_the_file() => {
                "The file could not be read: it was deleted or replaced while it was being imported. Upload the file \
                 again."
            }
            _ if crate::consumer::Retryable::retry(self) == crate::consumer::Retry::Never => {
                "The import stopped because of a problem in the service. Upload the file again. If it stops again, \
                 contact the service desk."
            }
            _ => {
                "The import stopped because a service it needs was unavailable for too long. Upload the file again \
                 later."
            }
        }
    }
}

impl crate::consumer::Retryable for PipelineError {
    fn retry(&self) -> crate::consumer::Retry {
        use crate::consumer::Retry;
        match self {
            // A refused request may be a permission or a setting an operator mends: retried, then dead-lettered for
            // a redrive, which resumes the import.
            PipelineError::Store(StoreError::Transient(_) | StoreError::Conflict(_) | StoreError::Invalid(_))
            | PipelineError::Unclaimed(_) => Retry::Later,
            PipelineError::Store(StoreError::Corrupt(_)) => Retry::Never,
            // A file that is gone or replaced stays so; a broken connection or a refusal may not.
            PipelineError::Objects(e) => object_retry(e),
            PipelineError::Read(e) => reading::object_error(e).map_or(Retry::Later, object_retry),
            PipelineError::InProgress { retry_in, .. } => Retry::After(*retry_in),
            PipelineError::Contended(_) => Retry::Later,
            PipelineError::PdsDeferred { .. } | PipelineError::PdsRefreshDeferred { .. } => Retry::Later,
            PipelineError::Queue(_) | PipelineError::Misconfigured(_) => Retry::Later,
            PipelineError::FileChanged(_) | PipelineError::Broken(_) => Retry::Never,
        }
    }
}

fn object_retry(error: &ObjectStoreError) -> crate::consumer::Retry {
    match error {
        ObjectStoreError::NotFound(_) | ObjectStoreError::Changed => crate::consumer::Retry::Never,
        ObjectStoreError::Transient(_) | ObjectStoreError::Invalid(_) => crate::consumer::Retry::Later,
    }
}

//! The pds function's work (DESIGN.md "pds queue ──► pds fn"): the import function stages an import's rows and sends
//! them here in pages; the pds function searches each page against PDS (paced, §11.1); the worker that finishes the
//! last page asks for the commit (match rate, plan, apply); after the commit every imported patient is refreshed
//! with a PDS GET (§11.3).
//!
//! ```text
//! import fn: stage ─► SearchPage × ⌈rows/100⌉ ─► pds fn: search page ─► tally (one item per import)
//!     ─► last page done ─► CommitImport ─► commit (claim-guarded) ─► RefreshPatients × ⌈patients/100⌉ ─► GET
//! ```
//! Every message is idempotent, because SQS delivers at least once: a finished row is never searched again, a page
//! counts once in the tally, and the commit runs under a claim so a redelivered CommitImport finds it done.

mod commit;
pub mod invocation;
mod pages;
mod refresh;
pub mod schedule;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Pipeline, PipelineError, failed};
use crate::consumer::{ConsumerSettings, MessageHandler};
use crate::store::claims::Standing;

pub use pages::{PageTally, send_search_pages, tally};
pub use refresh::send_refresh;

/// One message on the pds queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PdsMessage {
    /// Run the cascading search for these staged rows (changeset indices) of the import.
    SearchPage { import_id: Uuid, page: u32, rows: Vec<u64> },
    /// Every row's search is finished: match rate, plan and apply.
    CommitImport { import_id: Uuid },
    /// GET refresh of these patients (post-commit, §11.3).
    RefreshPatients { patient_ids: Vec<Uuid> },
}

impl PdsMessage {
    pub fn body(&self) -> String {
        serde_json::to_string(self).expect("pds messages always serialise")
    }
}

/// Handles one pds-queue message body; `Ok` means it may be acknowledged, `Err` that it must be redelivered.
pub async fn handle_message(pipeline: &Pipeline, body: &str) -> Result<(), PipelineError> {
    let message: PdsMessage = match serde_json::from_str(body) {
        Ok(message) => message,
        Err(e) => {
            // A body that is not ours can never succeed: drop it rather than retry it into the dead letters.
            tracing::error!(error = %e, "dropping a message that is not a pds-queue message");
            return Ok(());
        }
    };
    let Some(pds) = &pipeline.settings.pds else {
        // A misconfigured function: retried, dead-lettered, and redriven once it is mended.
        return Err(PipelineError::Misconfigured("the pds function has no PDS configuration".into()));
    };
    let Some(queue) = &pds.queue else {
        return Err(PipelineError::Misconfigured("the pds function has no pds queue configured".into()));
    };
    match message {
        PdsMessage::SearchPage { import_id, page, rows } => {
            pages::search_page(pipeline, pds, queue.as_ref(), import_id, page, &rows).await
        }
        PdsMessage::CommitImport { import_id } => commit::commit_import(pipeline, import_id).await,
        PdsMessage::RefreshPatients { patient_ids } => refresh::refresh_patients(pipeline, pds, &patient_ids).await,
    }
}

/// The pds function's messages.
pub struct PdsMessages(pub Pipeline);

#[async_trait]
impl MessageHandler for PdsMessages {
    type Error = PipelineError;

    async fn handle(&self, body: &str) -> Result<(), PipelineError> {
        handle_message(&self.0, body).await
    }

    async fn renew(&self, body: &str) {
        if let Ok(PdsMessage::CommitImport { import_id }) = serde_json::from_str(body)
            && let Err(e) = commit::renew_claim(&self.0, import_id).await
        {
            tracing::warn!(%import_id, error = %e, "cannot renew the commit's claim");
        }
    }

    /// A search or a commit that cannot go on ends its import; a refresh that cannot is retried by the next
    /// scheduled run (§11.4), so only the log says so.
    async fn give_up(&self, body: &str, error: &PipelineError) {
        match serde_json::from_str(body) {
            Ok(PdsMessage::SearchPage { import_id, .. } | PdsMessage::CommitImport { import_id }) => {
                failed::give_up_on(&self.0, None, import_id, error).await;
            }
            Ok(PdsMessage::RefreshPatients { .. }) | Err(_) => {}
        }
    }

    /// As [`give_up`](Self::give_up), unless a live worker holds the import's commit or has finished it.
    async fn abandon(&self, body: &str) {
        let import_id = match serde_json::from_str(body) {
            Ok(PdsMessage::SearchPage { import_id, .. }) => import_id,
            Ok(PdsMessage::CommitImport { import_id }) => match commit::standing(&self.0, import_id).await {
                Ok(Standing::InHand) => return,
                Ok(Standing::Unclaimed | Standing::Dead { .. }) => import_id,
                Err(e) => {
                    tracing::error!(%import_id, error = %e, "cannot read a commit's claim: its import stays as it was");
                    return;
                }
            },
            Ok(PdsMessage::RefreshPatients { .. }) | Err(_) => return,
        };
        failed::abandon(&self.0, None, import_id).await;
    }
}

/// How the pds function and the local runner consume the pds queue: ten messages at once, paced together.
pub fn consumer_settings() -> ConsumerSettings {
    ConsumerSettings::new("pds").with_max_in_flight(10)
}

//! Ends an import the service cannot finish: a failure that retrying cannot mend, or one that outlasted every
//! retry. The import becomes "Failed" with the reason for the user, instead of showing "Processing" for ever; what
//! it had committed stays (each row was applied whole), and a new delivery of its object resumes it ([`resume`]).

use uuid::Uuid;

use super::Pipeline;
use crate::domain::{Import, ImportStatus};
use crate::ports::StoreError;
use crate::store::imports::{self, Versioned};

/// Marks the import Failed with `reason`, unless it is the team's no longer or has ended already. Returns whether
/// it was marked.
pub async fn fail_import(
    pipeline: &Pipeline,
    team_id: Option<&str>,
    import_id: Uuid,
    reason: &str,
) -> Result<bool, StoreError> {
    let store = pipeline.records.as_ref();
    for _ in 0..5 {
        let Some(mut import) = imports::get(store, import_id).await? else { return Ok(false) };
        if import.value.status.is_final() || team_id.is_some_and(|team| team != import.value.team_id) {
            return Ok(false);
        }
        import.value.status = ImportStatus::Failed;
        import.value.failure_reason = Some(reason.to_owned());
        import.value.processed_at = Some(pipeline.now());
        match imports::update(store, &import.value, import.version, pipeline.now()).await {
            Ok(_) => {
                tracing::warn!(%import_id, "import failed");
                return Ok(true);
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict("the import kept changing while it was marked failed".into()))
}

/// Takes a Failed import back to "Processing" for a new attempt; its steps resume from what they had recorded.
pub async fn resume(pipeline: &Pipeline, mut import: Versioned<Import>) -> Result<Versioned<Import>, StoreError> {
    import.value.status = ImportStatus::PendingImport;
    import.value.failure_reason = None;
    import.value.processed_at = None;
    import.version = imports::update(pipeline.records.as_ref(), &import.value, import.version, pipeline.now()).await?;
    tracing::info!(import_id = %import.value.id, "resuming a failed import");
    Ok(import)
}

/// What the import page says of an import whose worker stopped on every attempt (out of memory or out of time):
/// no error was ever returned to name.
pub const STOPPED_EACH_TIME: &str = "The import stopped before it finished each time it was tried. Upload the file \
     again. If it stops again, contact the service desk.";

/// [`fail_import`] for a message abandoned unanswered ([`crate::consumer::MessageHandler::abandon`]).
pub async fn abandon(pipeline: &Pipeline, team_id: Option<&str>, import_id: Uuid) {
    if let Err(e) = fail_import(pipeline, team_id, import_id, STOPPED_EACH_TIME).await {
        tracing::error!(%import_id, error = %e, "cannot mark the import failed");
    }
}

/// [`fail_import`] for a consumer giving up: a store that fails now too is logged, and the import stays as it was.
pub async fn give_up_on(pipeline: &Pipeline, team_id: Option<&str>, import_id: Uuid, error: &super::PipelineError) {
    if matches!(error, super::PipelineError::InProgress { .. } | super::PipelineError::Unclaimed(_)) {
        // The delivery never held the import (another worker does, or the claim could not be asked for): it is not
        // this message's to end.
        return;
    }
    if let Err(e) = fail_import(pipeline, team_id, import_id, error.reason_for_users()).await {
        tracing::error!(%import_id, error = %e, "cannot mark the import failed");
    }
}

//! The commit of an import whose PDS search is finished, run once however often its CommitImport is delivered.

use uuid::Uuid;

use super::refresh;
use crate::domain::ImportStatus;
use crate::pipeline::{Pipeline, PipelineError, child_records};
use crate::store::claims::{self, ClaimOutcome, Standing};
use crate::store::imports;

/// The claims of commits live beside the object claims under this "bucket": it is not a valid S3 bucket name, so no
/// object's claim can ever share a key with a commit's.
const COMMIT_CLAIMS: &str = "#pds-commit";

/// Extends the lease of the import's commit claim while its CommitImport is worked on.
pub(super) async fn renew_claim(pipeline: &Pipeline, import_id: Uuid) -> Result<bool, crate::ports::StoreError> {
    let (store, lease) = (pipeline.records.as_ref(), pipeline.settings.claim_lease);
    claims::renew(store, COMMIT_CLAIMS, &import_id.to_string(), "commit", lease, pipeline.now()).await
}

/// How the import's commit stands, for a CommitImport abandoned unanswered.
pub(super) async fn standing(pipeline: &Pipeline, import_id: Uuid) -> Result<Standing, crate::ports::StoreError> {
    let (store, terms) = (pipeline.records.as_ref(), pipeline.settings.claim_terms());
    claims::standing(store, COMMIT_CLAIMS, &import_id.to_string(), "commit", terms, pipeline.now()).await
}

/// Match rate, plan and apply (child_records::commit), then the GET refresh of the import's patients. A claim on
/// the import (conditional write, with a lease) makes a concurrent duplicate wait and a later one find it done.
pub(super) async fn commit_import(pipeline: &Pipeline, import_id: Uuid) -> Result<(), PipelineError> {
    let store = pipeline.records.as_ref();
    let name = import_id.to_string();
    let terms = pipeline.settings.claim_terms();
    let version = match claims::acquire(store, COMMIT_CLAIMS, &name, "commit", import_id, terms, pipeline.now()).await?
    {
        ClaimOutcome::Acquired { version, .. } => version,
        ClaimOutcome::AlreadyDone { .. } => return Ok(()),
        ClaimOutcome::InProgress { lease_until, .. } => {
            return Err(PipelineError::in_progress(import_id, lease_until, pipeline.now()));
        }
    };
    let Some(mut import) = imports::get(store, import_id).await? else {
        claims::finish(store, COMMIT_CLAIMS, &name, version).await?;
        return Ok(());
    };
    if import.value.status == ImportStatus::Failed {
        // Its commit (or a page before it) ran out of retries, and a redriven message has brought it back.
        import = crate::pipeline::failed::resume(pipeline, import).await?;
    }
    // A final status here means an earlier holder committed and died before finishing the claim: only the refresh
    // may be missing, and sending it again is harmless.
    let status = if import.value.status.is_final() {
        import.value.status
    } else {
        match pipeline.reference.team(&import.value.team_id).cloned() {
            Some(team) => child_records::commit(pipeline, import, &team).await?,
            None => {
                let message = Some("The team for this upload is not set up".to_owned());
                child_records::finish_invalid(pipeline, import, message, vec![], 0).await?
            }
        }
    };
    if status == ImportStatus::Processed {
        refresh::send_refresh(pipeline, import_id).await?;
    }
    claims::finish(store, COMMIT_CLAIMS, &name, version).await?;
    Ok(())
}

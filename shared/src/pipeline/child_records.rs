//! Child records and class lists: validate the file as a stream, stage one changeset per row, then plan and apply.

use std::sync::Arc;

use tokio::runtime::Handle;
use tokio_util::io::SyncIoBridge;

use super::reading::{RowBatches, opener};
use super::{Pipeline, PipelineError, apply, class_list, pds_queue, pds_step, plan};
use crate::csv_import::Limits;
use crate::csv_import::ValidateError;
use crate::csv_import::child_records::{self as format, ChildFormat, ChildRecordsContext, ChildRow};
use crate::domain::import::{
    FirstRowsOfErrors, ImportPhase, ImportProgress, PdsMatch, errors_of_first_rows, rows_with_errors,
};
use crate::domain::{Import, ImportKind, ImportStatus, ReferenceData, RowError};
use crate::pds::MIN_MATCH_RATE;
use crate::ports::{ObjectReader, ObjectStore, ObjectVersion};
use crate::store::changesets::{self, Changeset};
use crate::store::imports::{self, Versioned};

pub async fn run(pipeline: &Pipeline, mut import: Versioned<Import>) -> Result<ImportStatus, PipelineError> {
    let store = pipeline.records.as_ref();
    if import.value.status == ImportStatus::AwaitingUpload {
        import.value.status = ImportStatus::PendingImport;
        import.version = imports::update(store, &import.value, import.version, pipeline.now()).await?;
    }

    let Some(team) = pipeline.reference.team(&import.value.team_id).cloned() else {
        // Reference data changed since the import was created: nothing can be validated against it.
        return finish_invalid(pipeline, import, Some("The team for this upload is not set up".into()), vec![], 0)
            .await;
    };

    if import.value.kind == ImportKind::ClassList
        && let Err(message) = class_list::check_import(&pipeline.reference, &import.value)
    {
        // Checked when the import was created; only a change to the reference data since gets here.
        return finish_invalid(pipeline, import, Some(message), vec![], 0).await;
    }

    // Validate: nothing is staged unless every row is valid.
    let validation = validate(pipeline, &import.value, &team).await?;
    let (outcome, errors) = match validation {
        Ok(result) => result,
        Err(ValidateError::File(file_error)) => {
            return finish_invalid(pipeline, import, Some(file_error.to_string()), vec![], 0).await;
        }
        Err(ValidateError::Io(e)) => return Err(PipelineError::Read(e)),
        Err(e @ ValidateError::InvalidRow(_)) => return Err(PipelineError::Broken(e.to_string())),
    };
    import.value.row_count = Some(outcome.rows);
    if outcome.rows_with_errors > 0 {
        return finish_invalid(pipeline, import, None, errors, outcome.rows_with_errors).await;
    }
    import.version = imports::update(store, &import.value, import.version, pipeline.now()).await?;

    let staged_rows = stage(pipeline, &import.value, &team).await?;

    // PDS (§6.2 item 3): the cascading searches run between staging and planning, so that matching and the
    // uniqueness checks (§7.4) see the NHS numbers PDS found. With a pds queue they run in the pds function, which
    // commits the import when the last page is searched; the import stays 'Processing' until then.
    if let Some(pds) = &pipeline.settings.pds {
        match &pds.queue {
            Some(queue) => {
                pds_queue::send_search_pages(pipeline, queue.as_ref(), &mut import, staged_rows).await?;
                return Ok(import.value.status);
            }
            None => import = pds_step::search_import(pipeline, pds, import).await?,
        }
    }
    commit(pipeline, import, &team).await
}

/// Everything after the PDS search: the match rate (§11.2), planning (matching and §7.4) and applying every row.
pub async fn commit(
    pipeline: &Pipeline,
    mut import: Versioned<Import>,
    team: &crate::domain::Team,
) -> Result<ImportStatus, PipelineError> {
    let store = pipeline.records.as_ref();
    let mut nhs_numbers_updated = Vec::new();
    if pipeline.settings.pds.is_some() {
        let summary = pds_step::summarise(pipeline, &import.value).await?;
        if let Some(rate) = summary.match_rate.filter(|&rate| team.reject_low_pds_match_rate && rate < MIN_MATCH_RATE) {
            let pds_match = PdsMatch { rate, matched: summary.matched, unmatched: summary.unmatched };
            return finish_low_match_rate(pipeline, import, pds_match).await;
        }
        nhs_numbers_updated = summary.nhs_numbers_updated;
    }
    match plan::plan_import(pipeline, &import.value, team).await? {
        plan::PlanResult::Ready => {}
        plan::PlanResult::RowErrors(errors) => {
            let rows = rows_with_errors(&errors);
            return finish_invalid(pipeline, import, None, errors, rows).await;
        }
        plan::PlanResult::ChangesetErrors(errors) => {
            let rows = rows_with_errors(&errors);
            import.value.status = ImportStatus::ChangesetsAreInvalid;
            import.value.rows_with_errors = rows;
            import.value.errors = errors_of_first_rows(errors);
            imports::update(store, &import.value, import.version, pipeline.now()).await?;
            return Ok(ImportStatus::ChangesetsAreInvalid);
        }
    }

    let applied = apply::apply_import(pipeline, &import.value, team).await?;
    let counts = applied.counts;
    if import.value.kind == ImportKind::ClassList {
        class_list::create_move_outs(pipeline, &import.value).await?;
    }
    super::aged_out::after_import(pipeline, &import.value, applied.schools).await?;
    crate::imms_sync::import_committed(store, import.value.id, pipeline.now()).await?;
    import.value.status = ImportStatus::Processed;
    import.value.counts = Some(counts);
    import.value.nhs_numbers_updated = nhs_numbers_updated;
    import.value.processed_at = Some(pipeline.now());
    imports::update(store, &import.value, import.version, pipeline.now()).await?;
    tracing::info!(import_id = %import.value.id, new = counts.new, changed = counts.changed,
        exact_duplicate = counts.exact_duplicate, "import completed");
    Ok(ImportStatus::Processed)
}

/// §11.2: too few rows matched PDS, so the file is probably wrong; nothing is written.
async fn finish_low_match_rate(
    pipeline: &Pipeline,
    mut import: Versioned<Import>,
    pds_match: PdsMatch,
) -> Result<ImportStatus, PipelineError> {
    let rate = pds_match.rate;
    import.value.status = ImportStatus::LowPdsMatchRate;
    import.value.pds_match = Some(pds_match);
    imports::update(pipeline.records.as_ref(), &import.value, import.version, pipeline.now()).await?;
    tracing::info!(import_id = %import.value.id, match_rate = rate, "import rejected: low PDS match rate");
    Ok(ImportStatus::LowPdsMatchRate)
}

pub(crate) async fn finish_invalid(
    pipeline: &Pipeline,
    mut import: Versioned<Import>,
    file_error: Option<String>,
    errors: Vec<RowError>,
    rows_with_errors: u64,
) -> Result<ImportStatus, PipelineError> {
    import.value.status = ImportStatus::RowsAreInvalid;
    import.value.file_error = file_error;
    import.value.rows_with_errors = rows_with_errors;
    import.value.errors = errors_of_first_rows(errors);
    imports::update(pipeline.records.as_ref(), &import.value, import.version, pipeline.now()).await?;
    tracing::info!(import_id = %import.value.id, rows_with_errors, "import invalid");
    Ok(ImportStatus::RowsAreInvalid)
}

/// What the parsing thread needs, owned so that it can move to a blocking thread.
struct Job {
    objects: Arc<dyn ObjectStore>,
    key: String,
    version: Option<ObjectVersion>,
    reference: Arc<ReferenceData>,
    team: crate::domain::Team,
    import: Import,
    limits: Limits,
}

impl Job {
    fn context(&self) -> ChildRecordsContext<'_> {
        let format = match self.import.kind {
            ImportKind::ClassList => ChildFormat::ClassList { year_groups: self.import.year_groups.clone() },
            _ => ChildFormat::ChildRecords,
        };
        ChildRecordsContext {
            reference: &self.reference,
            team: &self.team,
            academic_year: self.import.academic_year,
            today: self.import.today,
            format,
        }
    }

    /// Opens the object again from the start, as a blocking reader.
    fn opener(&self, handle: Handle) -> impl FnMut() -> std::io::Result<SyncIoBridge<ObjectReader>> + '_ {
        opener(self.objects.as_ref(), &self.key, self.version.as_ref(), handle)
    }
}

fn job(pipeline: &Pipeline, import: &Import, team: &crate::domain::Team) -> Job {
    Job {
        team: team.clone(),
        objects: pipeline.objects.clone(),
        key: import.object_key.clone(),
        version: import.object_version.clone(),
        reference: pipeline.reference.clone(),
        import: import.clone(),
        limits: Limits { max_rows: pipeline.settings.max_rows },
    }
}

type Validation = Result<(format::ValidationOutcome, Vec<RowError>), ValidateError>;

async fn validate(
    pipeline: &Pipeline,
    import: &Import,
    team: &crate::domain::Team,
) -> Result<Validation, PipelineError> {
    let job = job(pipeline, import, team);
    let handle = Handle::current();
    tokio::task::spawn_blocking(move || {
        let context = job.context();
        let mut kept = FirstRowsOfErrors::default();
        let outcome = format::validate(&mut job.opener(handle), &context, &job.limits, &mut |e| kept.keep(e));
        outcome.map(|o| (o, kept.errors))
    })
    .await
    .map_err(PipelineError::from_join)
}

/// Stages every row; returns the rows' indices in file order (8 bytes a row: what the pds queue's pages name).
async fn stage(pipeline: &Pipeline, import: &Import, team: &crate::domain::Team) -> Result<Vec<u64>, PipelineError> {
    let job = job(pipeline, import, team);
    let import_id = import.id;
    let handle = Handle::current();
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<ChildRow>>(4);
    let reader = tokio::task::spawn_blocking(move || {
        let context = job.context();
        let mut batches = RowBatches::new(sender);
        let result = format::read_rows(&mut job.opener(handle), &context, &job.limits, &mut |row| batches.push(row));
        batches.finish();
        result
    });
    // Only rows that were planned or committed must not be overwritten, and nothing is planned before every row is
    // staged: an import with no staged rows at all needs no checks (the common case).
    let resuming = !changesets::page(pipeline.records.as_ref(), import_id, 1, None).await?.0.is_empty();
    let mut indices = Vec::new();
    let total = import.row_count.unwrap_or_default();
    while let Some(rows) = receiver.recv().await {
        indices.extend(rows.iter().map(|row| row.index));
        let progress = ImportProgress::new(ImportPhase::Checking, indices.len() as u64, total);
        imports::set_progress(pipeline.records.as_ref(), import_id, progress).await?;
        let changesets: Vec<Changeset> = rows.into_iter().map(|row| changeset(import_id, row)).collect();
        let changesets = if resuming { not_yet_staged(pipeline, changesets).await? } else { changesets };
        changesets::stage(pipeline.records.as_ref(), &changesets).await?;
    }
    match reader.await.map_err(PipelineError::from_join)? {
        Ok(_) => Ok(indices),
        Err(ValidateError::Io(e)) => Err(PipelineError::Read(e)),
        Err(e) => Err(PipelineError::FileChanged(e.to_string())),
    }
}

/// The rows of a batch that are not staged yet. A resumed import stages the same file again (the claim names the
/// object version); rows staged before keep their plan and their "committed" mark, which overwriting them with
/// fresh pending rows would lose, so that committed rows would be applied, and counted, a second time (and a
/// class list's children would look absent from it to the move-outs).
async fn not_yet_staged(pipeline: &Pipeline, batch: Vec<Changeset>) -> Result<Vec<Changeset>, PipelineError> {
    let keys: Vec<_> = batch.iter().map(|c| crate::store::keys::changeset(c.import_id, c.index)).collect();
    let staged: std::collections::HashSet<_> =
        pipeline.records.batch_get(&keys).await?.into_iter().map(|item| item.key).collect();
    Ok(batch.into_iter().zip(keys).filter(|(_, key)| !staged.contains(key)).map(|(changeset, _)| changeset).collect())
}

fn changeset(import_id: uuid::Uuid, row: ChildRow) -> Changeset {
    Changeset::pending(import_id, row.index, row.row_number, row.child, row.school, row.parents)
}

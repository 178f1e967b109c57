//! Turns an ObjectCreated event into an import and runs it, exactly once per object version.

use uuid::Uuid;

use super::object_event::{KeyRoute, ObjectCreated, route};
use super::{Pipeline, PipelineError, child_records, reading, vaccination_records};
use crate::csv_import::vaccination_records::{DetectKindError, detect_file_kind};
use crate::csv_import::{Limits, ValidateError};
use crate::domain::{AcademicYear, Import, ImportKind, ImportStatus, ObjectVersion};
use crate::ports::{RecordStore, StoreError};
use crate::store::claims::{self, ClaimOutcome};
use crate::store::imports::{self, Versioned};

/// Whether an import made by the upload pages is still waiting for the file its form may put at `key`.
fn awaits_form_upload(import: &Import, key: &str) -> bool {
    let Some(prefix) = import.object_key.strip_suffix(crate::ports::object_store::FILENAME_PLACEHOLDER) else {
        return false;
    };
    import.status == ImportStatus::AwaitingUpload
        && key.strip_prefix(prefix).is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// Makes `key` the file of a form-upload import waiting for it (status Processing), and returns the import at its new
/// version; the import as it is if that already happened (the page that the store redirected to, or an earlier
/// delivery, took it first); None if the import has moved on with another file. Both the import function and the
/// page call this, so whichever comes first, the other continues from the same versioned import.
pub async fn take_form_upload(
    store: &dyn RecordStore,
    import_id: Uuid,
    key: &str,
    version: Option<&ObjectVersion>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Versioned<Import>>, StoreError> {
    for _ in 0..5 {
        let Some(mut import) = imports::get(store, import_id).await? else { return Ok(None) };
        if import.value.object_key == key {
            return Ok(Some(import));
        }
        if !awaits_form_upload(&import.value, key) {
            return Ok(None);
        }
        import.value.object_key = key.to_string();
        import.value.filename = key.rsplit('/').next().map(str::to_string);
        import.value.object_version = version.cloned();
        import.value.status = ImportStatus::PendingImport;
        match imports::update(store, &import.value, import.version, now).await {
            Ok(version) => return Ok(Some(Versioned { value: import.value, version })),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict("the import kept changing while its file was taken".into()))
}

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    Processed {
        import_id: Uuid,
        status: ImportStatus,
    },
    AlreadyDone {
        import_id: Uuid,
    },
    /// Not for us: the reason is logged (without personal data) and the event acknowledged.
    Rejected {
        reason: String,
    },
}

/// Namespace for import ids of CHIS drops: the same object version always gives the same import id.
const DROP_NAMESPACE: Uuid = Uuid::from_u128(0x6d61_7669_735f_6472_6f70_735f_6e73_0001);

/// A CHIS drop whose header row names neither kind of import (or both).
pub const UNRECOGNISED_DROP: &str = "The columns in this file do not show whether it holds child records or \
     vaccination records. The first row must hold the column headers of one of them, such as CHILD_FIRST_NAME for \
     child records or DATE_OF_VACCINATION for vaccination records.";

impl Pipeline {
    pub async fn handle_object_created(&self, event: &ObjectCreated) -> Result<Handled, PipelineError> {
        let route = match route(&event.key) {
            Ok(route) => route,
            Err(rejection) => return Ok(self.reject(event, rejection.to_string())),
        };
        let Some((team_id, import_id)) = self.addressee(&route, event) else {
            return Ok(self.reject(event, "the drop names no known team".into()));
        };

        let version = event.version();
        let claim = claims::acquire(
            self.records.as_ref(),
            &event.bucket,
            &event.key,
            &event.etag,
            import_id,
            self.settings.claim_terms(),
            self.settings.now(),
        )
        .await
        .map_err(PipelineError::Unclaimed)?;
        let (import_id, claim_version) = match claim {
            ClaimOutcome::Acquired { import_id, version } => (import_id, version),
            ClaimOutcome::AlreadyDone { import_id } => {
                return Ok(Handled::AlreadyDone { import_id });
            }
            ClaimOutcome::InProgress { import_id, lease_until } => {
                return Err(PipelineError::in_progress(import_id, lease_until, self.now()));
            }
        };

        let import = match (&route, imports::get(self.records.as_ref(), import_id).await?) {
            (KeyRoute::Upload { .. }, Some(found))
                if found.value.team_id == team_id && found.value.object_key == event.key =>
            {
                found
            }
            // A form upload (the pages): the key ends with the browser's name for the file.
            (KeyRoute::Upload { .. }, Some(found))
                if found.value.team_id == team_id && awaits_form_upload(&found.value, &event.key) =>
            {
                if event.size == 0 {
                    // A form sent without a file, or an empty file: the page says "Choose a file"; the import waits.
                    claims::finish(self.records.as_ref(), &event.bucket, &event.key, claim_version).await?;
                    return Ok(self.reject(event, "an empty form upload".into()));
                }
                match take_form_upload(self.records.as_ref(), import_id, &event.key, Some(&version), self.now()).await?
                {
                    Some(taken) => taken,
                    None => {
                        claims::finish(self.records.as_ref(), &event.bucket, &event.key, claim_version).await?;
                        return Ok(self.reject(event, "the import already has another file".into()));
                    }
                }
            }
            (KeyRoute::Upload { .. }, _) => {
                claims::finish(self.records.as_ref(), &event.bucket, &event.key, claim_version).await?;
                return Ok(self.reject(event, "the upload names no import of that team".into()));
            }
            (KeyRoute::Drop { .. }, Some(found)) => found,
            (KeyRoute::Drop { filename, .. }, None) => {
                match self.create_drop_import(import_id, &team_id, event, filename).await {
                    // A newer file took the key before this one could be read: the newer one's event follows.
                    Err(PipelineError::Read(e)) if reading::replaced(&e) => {
                        claims::finish(self.records.as_ref(), &event.bucket, &event.key, claim_version).await?;
                        return Ok(self.reject(event, "the file was replaced before it was read".into()));
                    }
                    created => created?,
                }
            }
        };

        // Every pass reads the version claimed here; another object under the key never mixes into this import.
        let Some(import) = self.bind_version(import, &version).await? else {
            claims::finish(self.records.as_ref(), &event.bucket, &event.key, claim_version).await?;
            return Ok(self.reject(event, "the import already has another version of the file".into()));
        };
        let status = self.process(import).await?;
        claims::finish(self.records.as_ref(), &event.bucket, &event.key, claim_version).await?;
        Ok(Handled::Processed { import_id, status })
    }

    /// Ties the import to the object version it claimed (the first one it meets); None when it is already tied to
    /// another version.
    async fn bind_version(
        &self,
        mut import: Versioned<Import>,
        version: &ObjectVersion,
    ) -> Result<Option<Versioned<Import>>, PipelineError> {
        match &import.value.object_version {
            // The page that took a form upload knew the ETag only; the event adds S3's version id.
            Some(bound)
                if bound.etag == version.etag && (bound.version_id.is_some() || version.version_id.is_none()) =>
            {
                Ok(Some(import))
            }
            Some(bound) if bound.etag != version.etag => Ok(None),
            _ => {
                import.value.object_version = Some(version.clone());
                import.version =
                    imports::update(self.records.as_ref(), &import.value, import.version, self.now()).await?;
                Ok(Some(import))
            }
        }
    }

    /// The team and the import an object is for: the upload's own, or, for a CHIS drop, the one its object version
    /// always gives. None for a drop of an unknown team.
    fn addressee(&self, route: &KeyRoute, event: &ObjectCreated) -> Option<(String, Uuid)> {
        match route {
            KeyRoute::Upload { team_id, import_id } => Some((team_id.clone(), *import_id)),
            KeyRoute::Drop { ods_code, .. } => {
                let team = self.reference.team_by_ods(ods_code)?;
                let name = format!("{}/{}/{}", event.bucket, event.key, event.etag);
                Some((team.id.clone(), Uuid::new_v5(&DROP_NAMESPACE, name.as_bytes())))
            }
        }
    }

    /// The import an event is for, if its key names one: the import to end when the event cannot be handled.
    pub fn import_of(&self, event: &ObjectCreated) -> Option<(String, Uuid)> {
        self.addressee(&route(&event.key).ok()?, event)
    }

    fn reject(&self, event: &ObjectCreated, reason: String) -> Handled {
        // The folder, not the key: its last part is the user's file name (which can name a child).
        let folder = event.key.rsplit_once('/').map_or("", |(folder, _)| folder);
        tracing::warn!(bucket = %event.bucket, folder, size = event.size, %reason, "object rejected");
        Handled::Rejected { reason }
    }

    async fn create_drop_import(
        &self,
        id: Uuid,
        team_id: &str,
        event: &ObjectCreated,
        filename: &str,
    ) -> Result<Versioned<Import>, PipelineError> {
        let version = event.version();
        let (kind, file_error) = self.detect_drop_kind(&event.key, &version).await?;
        let today = self.settings.today();
        let now = self.settings.now();
        let import = Import {
            id,
            team_id: team_id.to_string(),
            kind,
            status: match file_error {
                Some(_) => ImportStatus::RowsAreInvalid,
                None => ImportStatus::PendingImport,
            },
            object_key: event.key.clone(),
            filename: Some(filename.rsplit('/').next().unwrap_or(filename).to_string()),
            uploaded_by: None,
            academic_year: AcademicYear::pending(today),
            school_urn: None,
            year_groups: vec![],
            row_count: None,
            counts: None,
            file_error,
            rows_with_errors: 0,
            errors: vec![],
            today,
            created_at: now,
            updated_at: now,
            processed_at: None,
            progress: None,
            pds_match: None,
            nhs_numbers_updated: Vec::new(),
            object_version: Some(version),
            failure_reason: None,
        };
        match imports::create(self.records.as_ref(), &import).await {
            Ok(()) | Err(crate::ports::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(imports::get(self.records.as_ref(), id).await?.expect("just created"))
    }

    /// A CHIS drop comes without a wizard to say what it holds: the header row tells child records from vaccination
    /// records. A file that cannot be read as CSV is left to the child-records pipeline (the historical kind of a
    /// drop), which reports the whole-file error; a readable file whose headers fit neither kind is invalid at once.
    async fn detect_drop_kind(
        &self,
        key: &str,
        version: &ObjectVersion,
    ) -> Result<(ImportKind, Option<String>), PipelineError> {
        let objects = self.objects.clone();
        let (key, version) = (key.to_string(), version.clone());
        let limits = Limits { max_rows: self.settings.max_rows };
        let handle = tokio::runtime::Handle::current();
        let detected = tokio::task::spawn_blocking(move || {
            let mut open = reading::opener(objects.as_ref(), &key, Some(&version), handle);
            detect_file_kind(&mut open, &limits)
        })
        .await
        .map_err(PipelineError::from_join)?;
        match detected {
            Ok(ImportKind::ClassList) | Err(DetectKindError::Unrecognised { .. }) => {
                Ok((ImportKind::ChildRecords, Some(UNRECOGNISED_DROP.into())))
            }
            Ok(kind) => Ok((kind, None)),
            Err(DetectKindError::File(ValidateError::Io(e))) => Err(PipelineError::Read(e)),
            Err(DetectKindError::File(_)) => Ok((ImportKind::ChildRecords, None)),
        }
    }

    /// Runs (or resumes) an import to its next resting status.
    pub async fn process(&self, import: Versioned<Import>) -> Result<ImportStatus, PipelineError> {
        // Failed in the service, not in the file: a new delivery of the object (the same file dropped again, or its
        // dead-lettered message redriven once the fault is mended) resumes it where it stopped.
        let import = match import.value.status {
            ImportStatus::Failed => super::failed::resume(self, import).await?,
            _ => import,
        };
        if import.value.status.is_final() {
            // Only a worker that took over an unfinished claim gets here: the one before it committed and died
            // before finishing the claim. A vaccination import sends its GET refresh after that commit in the same
            // invocation, so the refresh may be missing; sending it again is harmless (a refresh is idempotent).
            if import.value.kind == ImportKind::VaccinationRecords && import.value.status == ImportStatus::Processed {
                super::pds_queue::send_refresh(self, import.value.id).await?;
            }
            return Ok(import.value.status);
        }
        let import_id = import.value.id;
        let run = match import.value.kind {
            ImportKind::ChildRecords | ImportKind::ClassList => child_records::run(self, import).await,
            ImportKind::VaccinationRecords => vaccination_records::run(self, import).await,
        };
        match run {
            Err(PipelineError::Read(e)) if reading::replaced(&e) => self.finish_replaced(import_id).await,
            other => other,
        }
    }

    /// The import's file was replaced under its key before every pass had read it: the version it claimed is gone
    /// (a bucket without versions keeps only the newest), so the import ends invalid, saying so, with nothing
    /// committed; the newer file is imported or refused on its own.
    async fn finish_replaced(&self, import_id: Uuid) -> Result<ImportStatus, PipelineError> {
        let Some(import) = imports::get(self.records.as_ref(), import_id).await? else {
            return Err(PipelineError::Broken("the import vanished while its file was read".into()));
        };
        if import.value.status.is_final() {
            return Ok(import.value.status);
        }
        tracing::warn!(%import_id, "import's file was replaced while it was being read");
        child_records::finish_invalid(self, import, Some(reading::FILE_REPLACED.into()), vec![], 0).await
    }
}

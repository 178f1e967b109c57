//! Vaccination records (mavis-import.md §6.1, §8): a single pass with no review step.
//!
//! ```text
//! validate (stream) ─► stage every row (batch writes) ─► plan: every row's patient and record, before any write
//!     ─► apply: one transaction per row, with its "committed" mark ─► Processed with counts
//! ```
//! - Nothing is written to patients or records when any row is invalid, including the problems only the store can
//!   reveal (a row matching several patients, a `UUID` that is not the team's record, two rows that are the same
//!   vaccination of the same child).
//! - Existing patients are never modified (no demographics, no pending changes). The only thing added to one is
//!   team membership: the uploading team's archive reason `immunisation_import` when the child was not in the team,
//!   or, for a row recorded offline in one of the team's sessions, the session's location.
//! - A row that matches no stored patient is matched against the patients built earlier in the same file (§8.1),
//!   so repeated rows for one child plan one new patient. Each new patient is built from its first row, whichever
//!   row happens to be applied first.
//! - Resuming after a crash: staging skips rows already staged, a planned row keeps its plan (and later rows are
//!   matched against the same in-file patients, rebuilt from the stored plans), and a row is applied in one
//!   transaction together with its "committed" mark, so no row is applied twice.
//! - Memory: the plan keeps, for the whole file, the identifying fields of each new child (about 300 bytes) and a
//!   16-byte fingerprint per row, to find in-file patients and duplicate rows. Everything else streams.

mod in_file;
mod records;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use tokio::runtime::Handle;
use tokio_util::io::SyncIoBridge;
use uuid::Uuid;

use super::matching::{
    MatchInput, MatchOutcome, MatchRule, UNCONFIRMED_NHS_NUMBER, match_patient, nhs_number_match_stands,
};
use super::reading::{RowBatches, opener};
use super::{Pipeline, PipelineError};
use crate::csv_import::vaccination_records::{self as format, VaccinationContext};
use crate::csv_import::{Limits, ValidateError, file};
use crate::domain::import::{FirstRowsOfErrors, ImportPhase, ImportProgress, errors_of_first_rows, rows_with_errors};
use crate::domain::patient::PatientLocation;
use crate::domain::vaccination::{RecordSource, VaccinatedChild, VaccinationRecord, VaccinationRow};
use crate::domain::{
    AcademicYear, Import, ImportCounts, ImportStatus, Patient, ReferenceData, RowError, Session, Team, TeamKind,
};
use crate::ports::{Condition, Item, ItemKey, ObjectReader, ObjectStore, RecordStore, StoreError, WriteOp};
use crate::reference::vaccines::VaccineCatalogue;
use crate::store::imports::{self, Versioned};
use crate::store::vaccinations::{self, PlannedPatient, PlannedRecord, RowOutcome, RowPlan, RowStatus, StagedRow};
use crate::store::{issues, keys, patients};

use in_file::InFilePatients;

/// §4.2: a row matching several stored patients (vaccination rows always compare the postcode, unlike child records).
pub const AMBIGUOUS_MATCH: &str =
    "Two or more possible patients match the patient first name, last name, date of birth and postcode.";
/// §4.2: a `UUID` that names none of the team's records (nor a record from the Immunisations API).
pub const UNKNOWN_RECORD: &str = "Enter an existing record.";
/// §4.2: a `SESSION_ID` on a row whose `UUID` names a record from the Immunisations API.
pub const SESSION_ON_EXTERNAL_RECORD: &str =
    "A session ID cannot be provided for this record; this record was sourced from an external source.";
/// §6.1: the reason a child brought in by a vaccination import is archived in the uploading team.
pub const ARCHIVE_REASON: &str = "immunisation_import";

/// Column names for the messages above when the file's own header text is not known.
pub const UUID_COLUMN: &str = "UUID";
pub const SESSION_ID_COLUMN: &str = "SESSION_ID";

const PAGE: usize = 200;
/// A row whose transaction keeps conflicting with other writers is rebuilt this many times before giving up.
const MAX_ATTEMPTS: usize = 4;
/// Other rows named in "appears to be a duplicate of …" (§7.4).
const OTHER_ROWS_NAMED: usize = 5;

const PATIENT_NAMESPACE: Uuid = Uuid::from_u128(0x6d61_7669_735f_7661_6363_5f70_6174_0001);
const RECORD_NAMESPACE: Uuid = Uuid::from_u128(0x6d61_7669_735f_7661_6363_5f72_6563_0001);

/// The id of the patient a row creates: re-running the row gives the same id.
pub fn new_patient_id(import_id: Uuid, index: u64) -> Uuid {
    Uuid::new_v5(&PATIENT_NAMESPACE, format!("{import_id}/{index}").as_bytes())
}

/// The id of the record a row creates.
pub fn new_record_id(import_id: Uuid, index: u64) -> Uuid {
    Uuid::new_v5(&RECORD_NAMESPACE, format!("{import_id}/{index}").as_bytes())
}

/// The bundled vaccine catalogue, parsed once per process.
pub fn catalogue() -> &'static VaccineCatalogue {
    static CATALOGUE: OnceLock<VaccineCatalogue> = OnceLock::new();
    CATALOGUE.get_or_init(VaccineCatalogue::bundled)
}

/// Runs (or resumes) a vaccination-records import to its resting status: Invalid or Completed.
pub async fn run(pipeline: &Pipeline, mut import: Versioned<Import>) -> Result<ImportStatus, PipelineError> {
    let store = pipeline.records.as_ref();
    if import.value.status == ImportStatus::AwaitingUpload {
        import.value.status = ImportStatus::PendingImport;
        import.version = imports::update(store, &import.value, import.version, pipeline.now()).await?;
    }
    let Some(team) = pipeline.reference.team(&import.value.team_id).cloned() else {
        // Reference data changed since the import was created: nothing can be validated against it.
        return finish_invalid(pipeline, import, Some("The team for this upload is not set up".into()), vec![]).await;
    };

    // Validate: nothing is staged unless every row is valid.
    let (outcome, errors) = match validate(pipeline, &import.value, &team).await? {
        Ok(result) => result,
        Err(ValidateError::File(file_error)) => {
            return finish_invalid(pipeline, import, Some(file_error.to_string()), vec![]).await;
        }
        Err(ValidateError::Io(e)) => return Err(PipelineError::Read(e)),
        Err(e @ ValidateError::InvalidRow(_)) => return Err(PipelineError::Broken(e.to_string())),
    };
    import.value.row_count = Some(outcome.rows);
    if outcome.rows_with_errors > 0 {
        import.value.rows_with_errors = outcome.rows_with_errors;
        return finish_invalid(pipeline, import, None, errors).await;
    }
    import.version = imports::update(store, &import.value, import.version, pipeline.now()).await?;

    stage(pipeline, &import.value, &team).await?;
    match plan_import(pipeline, &import.value, &team).await? {
        PlanResult::Ready => {}
        PlanResult::RowErrors(errors) => {
            let errors = with_file_headers(pipeline, &import.value, errors).await?;
            return finish_invalid(pipeline, import, None, errors).await;
        }
    }
    // Seam for PDS refreshes (§11.4) and the Immunisations API sync (§6.1 item 4): they follow the commit.
    let import_id = import.value.id;
    let status = commit_planned(pipeline, import, &team).await?;
    if status == ImportStatus::Processed {
        super::pds_queue::send_refresh(pipeline, import_id).await?;
    }
    Ok(status)
}

/// What the parsing thread needs, owned so that it can move to a blocking thread.
struct Job {
    objects: Arc<dyn ObjectStore>,
    key: String,
    version: Option<crate::ports::ObjectVersion>,
    reference: Arc<ReferenceData>,
    team: Team,
    today: chrono::NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
    limits: Limits,
}

impl Job {
    fn new(pipeline: &Pipeline, import: &Import, team: &Team) -> Self {
        Job {
            objects: pipeline.objects.clone(),
            key: import.object_key.clone(),
            version: import.object_version.clone(),
            reference: pipeline.reference.clone(),
            team: team.clone(),
            today: import.today,
            now: pipeline.now(),
            limits: Limits { max_rows: pipeline.settings.max_rows },
        }
    }

    fn context(&self) -> VaccinationContext<'_> {
        VaccinationContext {
            reference: &self.reference,
            catalogue: catalogue(),
            team: &self.team,
            today: self.today,
            now: crate::clock::on_date(self.today, self.now),
        }
    }

    /// Opens the object again from the start, as a blocking reader.
    fn opener(&self, handle: Handle) -> impl FnMut() -> std::io::Result<SyncIoBridge<ObjectReader>> + '_ {
        opener(self.objects.as_ref(), &self.key, self.version.as_ref(), handle)
    }
}

type Validation = Result<(format::ValidationOutcome, Vec<RowError>), ValidateError>;

async fn validate(pipeline: &Pipeline, import: &Import, team: &Team) -> Result<Validation, PipelineError> {
    let job = Job::new(pipeline, import, team);
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

/// Stages every row of the valid file. Rows staged by an earlier, interrupted run are left as they are: they may
/// hold a plan or a "committed" mark.
async fn stage(pipeline: &Pipeline, import: &Import, team: &Team) -> Result<(), PipelineError> {
    let job = Job::new(pipeline, import, team);
    let import_id = import.id;
    let handle = Handle::current();
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<VaccinationRow>>(4);
    let reader = tokio::task::spawn_blocking(move || {
        let context = job.context();
        let mut batches = RowBatches::new(sender);
        let result = format::read_rows(&mut job.opener(handle), &context, &job.limits, &mut |row| batches.push(row));
        batches.finish();
        result
    });
    let store = pipeline.records.as_ref();
    let (mut checked, total) = (0, import.row_count.unwrap_or_default());
    while let Some(rows) = receiver.recv().await {
        checked += rows.len() as u64;
        imports::set_progress(store, import_id, ImportProgress::new(ImportPhase::Checking, checked, total)).await?;
        let keys: Vec<ItemKey> = rows.iter().map(|row| keys::vaccination_row(import_id, row.index)).collect();
        let already: std::collections::HashSet<ItemKey> =
            store.batch_get(&keys).await?.into_iter().map(|item| item.key).collect();
        let fresh: Vec<StagedRow> = rows
            .into_iter()
            .zip(keys)
            .filter(|(_, key)| !already.contains(key))
            .map(|(row, _)| StagedRow::new(import_id, row))
            .collect();
        vaccinations::stage_rows(store, &fresh).await?;
    }
    match reader.await.map_err(PipelineError::from_join)? {
        Ok(_) => Ok(()),
        Err(ValidateError::Io(e)) => Err(PipelineError::Read(e)),
        Err(e) => Err(PipelineError::FileChanged(e.to_string())),
    }
}

/// The messages about `UUID` and `SESSION_ID` name those columns as the file writes them.
async fn with_file_headers(
    pipeline: &Pipeline,
    import: &Import,
    mut errors: Vec<RowError>,
) -> Result<Vec<RowError>, PipelineError> {
    if !errors.iter().any(|e| e.column.is_some()) {
        return Ok(errors);
    }
    let objects = pipeline.objects.clone();
    let key = import.object_key.clone();
    let version = import.object_version.clone();
    let limits = Limits { max_rows: pipeline.settings.max_rows };
    let handle = Handle::current();
    let headers = tokio::task::spawn_blocking(move || {
        let mut open = opener(objects.as_ref(), &key, version.as_ref(), handle);
        let scan = file::scan(&mut open, &limits)?;
        let rows = file::open(open()?, &scan)?;
        let header = |key: &str| rows.headers().column(key).map(|c| c.header);
        Ok::<_, ValidateError>((header("uuid"), header("session_id")))
    })
    .await
    .map_err(PipelineError::from_join)?;
    let (uuid, session_id) = match headers {
        Ok(found) => found,
        Err(ValidateError::Io(e)) => return Err(PipelineError::Read(e)),
        Err(e) => return Err(PipelineError::FileChanged(e.to_string())),
    };
    for error in &mut errors {
        let written = match error.column.as_deref() {
            Some(UUID_COLUMN) => uuid.clone(),
            Some(SESSION_ID_COLUMN) => session_id.clone(),
            _ => None,
        };
        if let Some(written) = written {
            error.column = Some(written);
        }
    }
    Ok(errors)
}

pub enum PlanResult {
    Ready,
    /// Row errors found against the store: the import is invalid and nothing is written.
    RowErrors(Vec<RowError>),
}

/// Plans and applies the rows already staged for `import`, and records the outcome on the import.
pub async fn commit_staged(
    pipeline: &Pipeline,
    import: Versioned<Import>,
    team: &Team,
) -> Result<ImportStatus, PipelineError> {
    match plan_import(pipeline, &import.value, team).await? {
        PlanResult::Ready => commit_planned(pipeline, import, team).await,
        PlanResult::RowErrors(errors) => finish_invalid(pipeline, import, None, errors).await,
    }
}

/// Applies the planned rows and records the counts on the import.
async fn commit_planned(
    pipeline: &Pipeline,
    mut import: Versioned<Import>,
    team: &Team,
) -> Result<ImportStatus, PipelineError> {
    let counts = apply_import(pipeline, &import.value, team).await?;
    import.value.status = ImportStatus::Processed;
    import.value.counts = Some(counts);
    import.value.processed_at = Some(pipeline.now());
    imports::update(pipeline.records.as_ref(), &import.value, import.version, pipeline.now()).await?;
    tracing::info!(import_id = %import.value.id, new = counts.new, changed = counts.changed,
        exact_duplicate = counts.exact_duplicate, ignored = counts.ignored, "vaccination import completed");
    Ok(ImportStatus::Processed)
}

/// Ends the import as invalid with a whole-file error or row errors (in row order).
pub async fn finish_invalid(
    pipeline: &Pipeline,
    mut import: Versioned<Import>,
    file_error: Option<String>,
    errors: Vec<RowError>,
) -> Result<ImportStatus, PipelineError> {
    let rows_with_errors = rows_with_errors(&errors);
    import.value.status = ImportStatus::RowsAreInvalid;
    import.value.file_error = file_error;
    import.value.rows_with_errors = rows_with_errors.max(import.value.rows_with_errors);
    import.value.errors = errors_of_first_rows(errors);
    imports::update(pipeline.records.as_ref(), &import.value, import.version, pipeline.now()).await?;
    tracing::info!(import_id = %import.value.id, rows_with_errors, "vaccination import invalid");
    Ok(ImportStatus::RowsAreInvalid)
}

// ---------------------------------------------------------------------------------------------------------------
// Planning

/// What the store says about one row, looked up before anything is written.
struct Lookup {
    patient: StoreMatch,
    /// The matched patient's records this team may match against (its own, and those from the Immunisations API).
    records: Vec<VaccinationRecord>,
    /// The row's `UUID`: the record, when it is one the team may update.
    by_uuid: Option<Option<VaccinationRecord>>,
}

enum StoreMatch {
    Patient(Uuid),
    None,
    Ambiguous,
    /// The NHS number alone names another team's child: the row is refused (`UNCONFIRMED_NHS_NUMBER`).
    Unconfirmed,
}

fn visible_to(record: &VaccinationRecord, team: &Team) -> bool {
    record.team_id == team.id || record.details.source == RecordSource::NhsImmunisationsApi
}

fn match_input(child: &VaccinatedChild) -> Option<MatchInput<'_>> {
    let a = &child.attributes;
    Some(MatchInput {
        nhs_number: a.nhs_number.as_deref(),
        given_name: a.given_name.as_deref()?,
        family_name: a.family_name.as_deref()?,
        date_of_birth: a.date_of_birth?,
        postcode: a.address_postcode.as_deref(),
    })
}

async fn look_up(
    store: &dyn RecordStore,
    reference: &ReferenceData,
    team: &Team,
    row: &VaccinationRow,
) -> Result<Lookup, PipelineError> {
    let patient = match match_input(&row.child) {
        // Every vaccination row has names and a date of birth; without them there is nothing to match on.
        None => StoreMatch::None,
        Some(input) => {
            // No 3-of-4 rule (§8.1): every demographic match shares the date of birth, so the postcode index adds
            // no candidate.
            let candidates: Vec<Patient> =
                patients::match_candidates(store, input.nhs_number, Some(input.date_of_birth), None)
                    .await?
                    .into_iter()
                    .map(|v| v.value)
                    .collect();
            match match_patient(&input, &candidates, MatchRule::VaccinationRecords) {
                MatchOutcome::New => StoreMatch::None,
                MatchOutcome::Matched { patient, on_nhs_number: true }
                    if !nhs_number_match_stands(patient, &input, &team.id, reference) =>
                {
                    StoreMatch::Unconfirmed
                }
                MatchOutcome::Matched { patient, .. } => StoreMatch::Patient(patient.id),
                MatchOutcome::Ambiguous(_) => StoreMatch::Ambiguous,
            }
        }
    };
    let by_uuid = match row.uuid {
        Some(id) => {
            Some(vaccinations::get(store, id).await?.map(|v| v.value).filter(|record| visible_to(record, team)))
        }
        None => None,
    };
    let records = match (&patient, &by_uuid) {
        (StoreMatch::Patient(id), None) => {
            vaccinations::of_patient(store, *id).await?.into_iter().filter(|record| visible_to(record, team)).collect()
        }
        _ => vec![],
    };
    Ok(Lookup { patient, records, by_uuid })
}

/// Whole-file state of the plan: the new patients built so far and what each row's record is.
#[derive(Default)]
struct Planner {
    in_file: InFilePatients,
    /// New patient → the row it is built from.
    built_from: HashMap<Uuid, u64>,
    /// The vaccination each row creates or updates → the rows that do (more than one is a duplicate).
    targets: HashMap<(Uuid, [u8; 16]), Vec<u64>>,
}

impl Planner {
    /// Takes note of a row's plan, whether just made or stored by an earlier run.
    fn note(&mut self, row: &VaccinationRow, plan: &RowPlan, national_reporting: bool) {
        if let PlannedPatient::New { patient_id, built_from } = plan.patient
            && built_from == row.index
        {
            self.in_file.add(patient_id, &row.child.attributes);
            self.built_from.insert(patient_id, built_from);
        }
        let target = match plan.record {
            PlannedRecord::New { .. } => {
                (plan.patient.id(), records::fingerprint(&records::identity(&row.details, national_reporting, false)))
            }
            PlannedRecord::Matched { record_id } | PlannedRecord::ByUuid { record_id } => (record_id, [0xff; 16]),
        };
        self.targets.entry(target).or_default().push(row.row_number);
    }

    /// Decides a row's patient and record from what the store said.
    fn plan(&mut self, import_id: Uuid, row: &VaccinationRow, lookup: Lookup, national_reporting: bool) -> RowPlan {
        let patient = match lookup.patient {
            StoreMatch::Patient(patient_id) => PlannedPatient::Existing { patient_id },
            StoreMatch::None | StoreMatch::Ambiguous | StoreMatch::Unconfirmed => {
                let earlier = match_input(&row.child).and_then(|input| self.in_file.find(&input));
                match earlier {
                    Some(patient_id) => PlannedPatient::New {
                        patient_id,
                        built_from: self.built_from.get(&patient_id).copied().unwrap_or(row.index),
                    },
                    None => {
                        PlannedPatient::New { patient_id: new_patient_id(import_id, row.index), built_from: row.index }
                    }
                }
            }
        };
        let record = match lookup.by_uuid.flatten() {
            Some(record) => PlannedRecord::ByUuid { record_id: record.id },
            None => match records::find_same(&lookup.records, &row.details, national_reporting) {
                Some(same) => PlannedRecord::Matched { record_id: same.id },
                None => PlannedRecord::New { record_id: new_record_id(import_id, row.index) },
            },
        };
        RowPlan { patient, record }
    }

    /// "The record on this row appears to be a duplicate of row 3." on every row whose vaccination another row also
    /// creates or updates.
    fn duplicate_errors(&self) -> Vec<RowError> {
        let mut errors = Vec::new();
        for rows in self.targets.values().filter(|rows| rows.len() > 1) {
            for &row in rows {
                let others: Vec<u64> = rows.iter().copied().filter(|&r| r != row).take(OTHER_ROWS_NAMED).collect();
                errors.push(RowError {
                    row,
                    column: None,
                    message: format!("The record on this row appears to be a duplicate of {}.", describe_rows(&others)),
                });
            }
        }
        errors
    }
}

/// "row 3" or "rows 2, 4 and 5".
fn describe_rows(rows: &[u64]) -> String {
    match rows {
        [one] => format!("row {one}"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(u64::to_string).collect();
            format!("rows {} and {last}", init.join(", "))
        }
        [] => String::new(),
    }
}

/// The problems with a row that only the store reveals, in Mavis's order: patient ambiguity, session ID, UUID.
fn lookup_errors(row: &VaccinationRow, lookup: &Lookup) -> Vec<RowError> {
    let mut errors = Vec::new();
    match lookup.patient {
        StoreMatch::Ambiguous => {
            errors.push(RowError { row: row.row_number, column: None, message: AMBIGUOUS_MATCH.into() })
        }
        StoreMatch::Unconfirmed => {
            errors.push(RowError { row: row.row_number, column: None, message: UNCONFIRMED_NHS_NUMBER.into() })
        }
        StoreMatch::Patient(_) | StoreMatch::None => {}
    }
    match &lookup.by_uuid {
        Some(Some(record))
            if record.details.source == RecordSource::NhsImmunisationsApi && row.details.session_id.is_some() =>
        {
            errors.push(RowError {
                row: row.row_number,
                column: Some(SESSION_ID_COLUMN.into()),
                message: SESSION_ON_EXTERNAL_RECORD.into(),
            });
        }
        Some(None) => errors.push(RowError {
            row: row.row_number,
            column: Some(UUID_COLUMN.into()),
            message: UNKNOWN_RECORD.into(),
        }),
        _ => {}
    }
    errors
}

/// Matches every staged row against the store as it was before the import and against the patients built earlier
/// in the file, saving each row's plan. Rows already planned (an earlier, interrupted run) keep their plan.
pub async fn plan_import(pipeline: &Pipeline, import: &Import, team: &Team) -> Result<PlanResult, PipelineError> {
    let store = pipeline.records.as_ref();
    let national_reporting = team.kind == TeamKind::NationalReporting;
    let mut planner = Planner::default();
    let mut errors = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = vaccinations::rows_page(store, import.id, PAGE, after).await?;
        let looked_up: Vec<(Versioned<StagedRow>, Option<Lookup>)> = stream::iter(page)
            .map(|staged| async move {
                if staged.value.row.ignored || staged.value.plan.is_some() {
                    return Ok::<_, PipelineError>((staged, None));
                }
                let lookup = look_up(store, &pipeline.reference, team, &staged.value.row).await?;
                Ok((staged, Some(lookup)))
            })
            .buffered(pipeline.settings.commit_concurrency)
            .try_collect()
            .await?;

        let mut to_save = Vec::new();
        for (staged, lookup) in looked_up {
            let mut staged = staged.value;
            if staged.row.ignored {
                continue;
            }
            let Some(lookup) = lookup else {
                if let Some(plan) = staged.plan {
                    planner.note(&staged.row, &plan, national_reporting);
                }
                continue;
            };
            let row_errors = lookup_errors(&staged.row, &lookup);
            if !row_errors.is_empty() {
                errors.extend(row_errors);
                continue;
            }
            let plan = planner.plan(import.id, &staged.row, lookup, national_reporting);
            planner.note(&staged.row, &plan, national_reporting);
            staged.plan = Some(plan);
            to_save.push(staged);
        }
        vaccinations::stage_rows(store, &to_save).await?;
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    errors.extend(planner.duplicate_errors());
    if errors.is_empty() {
        return Ok(PlanResult::Ready);
    }
    // Stable: within a row, the store's messages keep their order and the duplicate message comes last.
    errors.sort_by_key(|e| e.row);
    Ok(PlanResult::RowErrors(errors))
}

// ---------------------------------------------------------------------------------------------------------------
// Applying

/// Applies every planned row, a page at a time, and counts them (§5.5).
pub async fn apply_import(pipeline: &Pipeline, import: &Import, team: &Team) -> Result<ImportCounts, PipelineError> {
    let store = pipeline.records.as_ref();
    let mut counts = ImportCounts::default();
    let (mut done, total) = (0, import.row_count.unwrap_or_default());
    let mut after = None;
    loop {
        let (page, next) = vaccinations::rows_page(store, import.id, PAGE, after).await?;
        done += page.len() as u64;
        let outcomes: Vec<RowOutcome> = stream::iter(page)
            .map(|row| apply_row(pipeline, import, team, row))
            .buffered(pipeline.settings.commit_concurrency)
            .try_collect()
            .await?;
        for outcome in outcomes {
            match outcome {
                RowOutcome::New => counts.new += 1,
                RowOutcome::Changed => counts.changed += 1,
                RowOutcome::ExactDuplicate => counts.exact_duplicate += 1,
                RowOutcome::Ignored => counts.ignored += 1,
            }
        }
        imports::set_progress(store, import.id, ImportProgress::new(ImportPhase::Importing, done, total)).await?;
        match next {
            Some(cursor) => after = Some(cursor),
            None => return Ok(counts),
        }
    }
}

async fn apply_row(
    pipeline: &Pipeline,
    import: &Import,
    team: &Team,
    mut staged: Versioned<StagedRow>,
) -> Result<RowOutcome, PipelineError> {
    let store = pipeline.records.as_ref();
    for _ in 0..MAX_ATTEMPTS {
        if staged.value.row.ignored {
            return Ok(RowOutcome::Ignored);
        }
        if staged.value.status == RowStatus::Committed {
            return staged.value.outcome.ok_or_else(|| PipelineError::Broken("a committed row has no outcome".into()));
        }
        let (ops, outcome) = build_row(pipeline, import, team, &staged).await?;
        match store.transact(ops).await {
            Ok(()) => return Ok(outcome),
            Err(StoreError::Conflict(_)) => {
                // Another row of this file created the shared new patient first, or another writer changed the
                // patient or record: read the row again and rebuild its writes against what is there now.
                staged = vaccinations::get_row(store, import.id, staged.value.row.index)
                    .await?
                    .ok_or_else(|| PipelineError::Broken("staged row vanished".into()))?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(PipelineError::Contended(format!("row {} kept conflicting with other writers", staged.value.row.row_number)))
}

fn put(item: Item) -> WriteOp {
    WriteOp::Put { item, condition: Condition::None }
}

/// The patient who holds an NHS number, according to its reservation.
async fn nhs_number_holder(store: &dyn RecordStore, nhs_number: &str) -> Result<Option<Uuid>, StoreError> {
    let key = ItemKey::new(keys::nhs_number_pk(nhs_number), "#UNIQUE");
    Ok(store
        .get(&key)
        .await?
        .and_then(|item| item.body.get("patient_id").and_then(|v| v.as_str()).and_then(|s| s.parse().ok())))
}

/// §6.1: a child recorded offline in one of the team's sessions joins the team through the session's location; any
/// other child not yet in the uploading team gets the team's archive reason. Nothing else about them changes.
fn join_team(patient: &Versioned<Patient>, team: &Team, offline: bool, now: DateTime<Utc>, ops: &mut Vec<WriteOp>) {
    let current = &patient.value;
    let mut updated = current.clone();
    let listed = current.team_ids.contains(&team.id);
    if offline {
        if !listed {
            updated.team_ids.push(team.id.clone());
        }
    } else if !listed && !current.archived_in.contains_key(&team.id) {
        updated.archived_in.insert(team.id.clone(), ARCHIVE_REASON.into());
    }
    if updated != *current {
        updated.updated_at = now;
        ops.push(patients::put_patient_op(&updated, Some(patient.version)));
    }
}

/// A patient built from a vaccination row (§6.1): no school, not home-educated, and archived in the uploading team
/// unless the row was recorded offline in one of its sessions (then the child is in the team through the session).
pub fn new_patient(id: Uuid, child: &VaccinatedChild, team: &Team, offline: bool, now: DateTime<Utc>) -> Patient {
    let mut attributes = child.attributes.clone();
    attributes.gender = attributes.gender.or(Some(child.gender));
    attributes.birth_academic_year =
        attributes.birth_academic_year.or(attributes.date_of_birth.map(AcademicYear::of_birth));
    Patient {
        id,
        attributes,
        school: crate::domain::patient::SchoolPlacement::Unknown,
        pending_changes: BTreeMap::new(),
        team_ids: if offline { vec![team.id.clone()] } else { Vec::new() },
        archived_in: if offline {
            BTreeMap::new()
        } else {
            BTreeMap::from([(team.id.clone(), ARCHIVE_REASON.to_string())])
        },
        restricted_at: None,
        invalidated_at: None,
        date_of_death: None,
        updated_from_pds_at: None,
        created_at: now,
        updated_at: now,
    }
}

/// Where a row's record goes: the planned patient, created if need be.
struct PatientTarget<'a> {
    store: &'a dyn RecordStore,
    import: &'a Import,
    team: &'a Team,
    /// The row was recorded offline in one of the team's sessions.
    offline: bool,
    now: DateTime<Utc>,
}

impl PatientTarget<'_> {
    /// The patient a row's record goes to, adding the writes that creating them or bringing them into the team need.
    async fn resolve(
        &self,
        staged: &StagedRow,
        planned: PlannedPatient,
        ops: &mut Vec<WriteOp>,
    ) -> Result<Uuid, PipelineError> {
        let (store, team, offline, now) = (self.store, self.team, self.offline, self.now);
        let (patient_id, built_from) = match planned {
            PlannedPatient::Existing { patient_id } => {
                let current = patients::get(store, patient_id).await?.ok_or_else(|| {
                    PipelineError::Broken(format!("matched patient for row {} vanished", staged.row.row_number))
                })?;
                join_team(&current, team, offline, now, ops);
                return Ok(patient_id);
            }
            PlannedPatient::New { patient_id, built_from } => (patient_id, built_from),
        };
        if let Some(current) = patients::get(store, patient_id).await? {
            // Another row for the same child created them already.
            join_team(&current, team, offline, now, ops);
            return Ok(patient_id);
        }
        let child = if built_from == staged.row.index {
            staged.row.child.clone()
        } else {
            vaccinations::get_row(store, self.import.id, built_from)
                .await?
                .ok_or_else(|| PipelineError::Broken("staged row vanished".into()))?
                .value
                .row
                .child
        };
        if let Some(nhs) = child.attributes.nhs_number.as_deref()
            && let Some(holder) = nhs_number_holder(store, nhs).await?
            && holder != patient_id
            && let Some(current) = patients::get(store, holder).await?
        {
            // Another import created this child (by NHS number) since the plan: the record goes to that patient.
            join_team(&current, team, offline, now, ops);
            return Ok(holder);
        }
        let patient = new_patient(patient_id, &child, team, offline, now);
        if let Some(nhs) = &patient.attributes.nhs_number {
            ops.push(patients::reserve_nhs_number_op(nhs, patient.id));
        }
        ops.push(patients::put_patient_op(&patient, None));
        Ok(patient_id)
    }
}

/// The session of an offline-recorded row (§3.3), when it is one of the team's.
fn offline_session<'a>(reference: &'a ReferenceData, team: &Team, row: &VaccinationRow) -> Option<&'a Session> {
    let id = row.details.session_id?;
    reference.sessions.iter().find(|s| s.id == id && s.team_id == team.id)
}

/// The transaction for one row, and how the row counts.
async fn build_row(
    pipeline: &Pipeline,
    import: &Import,
    team: &Team,
    staged: &Versioned<StagedRow>,
) -> Result<(Vec<WriteOp>, RowOutcome), PipelineError> {
    let store = pipeline.records.as_ref();
    let row = &staged.value;
    let plan = row.plan.ok_or_else(|| PipelineError::Broken(format!("row {} was not planned", row.row.row_number)))?;
    let now = pipeline.now();
    let national_reporting = team.kind == TeamKind::NationalReporting;
    let session = offline_session(&pipeline.reference, team, &row.row);
    let mut ops = Vec::new();
    let target = PatientTarget { store, import, team, offline: session.is_some(), now };
    let patient_id = target.resolve(row, plan.patient, &mut ops).await?;
    if let Some(session) = session {
        // §6.1: an offline row puts the child in the session's location for that academic year.
        ops.push(put(patients::location_item(&PatientLocation {
            patient_id,
            location: session.location.clone(),
            team_id: team.id.clone(),
            academic_year: session.academic_year,
            begin_date: None,
            end_date: None,
        })));
    }

    let outcome = match plan.record {
        PlannedRecord::New { record_id } => {
            let record = VaccinationRecord {
                id: record_id,
                patient_id,
                team_id: team.id.clone(),
                details: row.row.details.clone(),
                pending_changes: BTreeMap::new(),
                discarded_at: None,
                created_at: now,
                updated_at: now,
            };
            ops.extend(vaccinations::create_ops(&record));
            ops.extend(crate::imms_sync::record_changed_op(&record, now));
            RowOutcome::New
        }
        PlannedRecord::Matched { record_id } | PlannedRecord::ByUuid { record_id } => {
            let current = vaccinations::get(store, record_id).await?.ok_or_else(|| {
                PipelineError::Broken(format!("matched record for row {} vanished", row.row.row_number))
            })?;
            let staged_record = match plan.record {
                PlannedRecord::ByUuid { .. } => Some(records::stage_all(&current.value, &row.row.details, patient_id)),
                // National reporting compares every attribute: a match is an exact duplicate.
                _ if national_reporting => None,
                _ => Some(records::stage_matched(&current.value, &row.row.details)),
            };
            match staged_record {
                Some(mut staged_record) if staged_record.modified => {
                    staged_record.record.updated_at = now;
                    ops.push(vaccinations::update_op(&staged_record.record, current.version));
                    if !staged_record.record.pending_changes.is_empty() {
                        // §7.3: a record with pending changes is an import issue for the uploading team.
                        ops.push(issues::open_op(&issues::IssueMarker {
                            id: record_id,
                            subject: issues::IssueSubject::VaccinationRecord,
                            patient_id: staged_record.record.patient_id,
                            team_id: team.id.clone(),
                            import_id: Some(import.id),
                            row_index: Some(row.row.index),
                            matched_on_nhs_number: false,
                            created_at: now,
                            resolution: None,
                        }));
                    }
                    ops.extend(crate::imms_sync::record_changed_op(&staged_record.record, now));
                    if staged_record.gained_pending { RowOutcome::Changed } else { RowOutcome::ExactDuplicate }
                }
                _ => RowOutcome::ExactDuplicate,
            }
        }
    };

    ops.push(put(patients::import_link_item(import.id, patient_id, row.row.row_number)));
    ops.push(put(vaccinations::import_link_item(import.id, plan.record.id(), row.row.row_number)));
    let mut done = row.clone();
    done.status = RowStatus::Committed;
    done.patient_id = Some(patient_id);
    done.outcome = Some(outcome);
    ops.push(vaccinations::update_row_op(&done, staged.version));
    Ok((ops, outcome))
}

#[cfg(test)]
mod tests;

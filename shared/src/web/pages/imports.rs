//! P2, the imports list, and P7, an import in each of its states (pages.md §4), with its live progress and the
//! download of its errors as CSV.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::format;
use super::format_help::FormatHelp;
use super::layout::IncomingFlash;
use super::{Layout, PageError, PageResult, page};
use crate::domain::import::ImportProgress;
use crate::domain::names::staff_facing;
use crate::domain::{Import, ImportKind, ImportStatus, ReferenceData, TeamKind};
use crate::ports::object_store::FILENAME_PLACEHOLDER;
use crate::store;
use crate::web::AppState;
use crate::web::imports_api::{self, ImportSummary, PAGE_SIZE};
use crate::web::session::SignedIn;

/// Imported records per page of P7's table (pages.md §9).
const RECORDS_PER_PAGE: usize = 50;

// ---- P2 ----------------------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    cursor: Option<String>,
    /// The cursors of the pages before this one, oldest first, comma-separated: "Previous" without server state.
    #[serde(default)]
    trail: Option<String>,
}

#[derive(Template)]
#[template(path = "imports/index.html")]
struct ImportsPage {
    layout: Layout,
    national_reporting: bool,
    tabs: Vec<super::import_tabs::Tab>,
    /// Every import of the team, on all pages ("21 imports" above the first 20).
    total: usize,
    rows: Vec<ImportRow>,
    previous: Option<String>,
    next: Option<String>,
}

struct ImportRow {
    href: String,
    created: String,
    filename: Option<String>,
    kind: &'static str,
    school: Option<String>,
    tag: StatusTag,
    progress: Option<String>,
    records: String,
}

/// An import's status as the NHS.UK tag shows it (pages.md §5.1).
pub struct StatusTag {
    pub text: &'static str,
    pub colour: &'static str,
}

impl StatusTag {
    pub fn of(status: ImportStatus) -> Self {
        let colour = match status {
            ImportStatus::AwaitingUpload | ImportStatus::Cancelled => "grey",
            ImportStatus::RowsAreInvalid
            | ImportStatus::ChangesetsAreInvalid
            | ImportStatus::LowPdsMatchRate
            | ImportStatus::Failed => "red",
            ImportStatus::Processed | ImportStatus::PartiallyProcessed => "green",
            _ => "blue",
        };
        StatusTag { text: status.tag(), colour }
    }
}

fn is_processing(status: ImportStatus) -> bool {
    matches!(status, ImportStatus::PendingImport | ImportStatus::CalculatingReReview | ImportStatus::Committing)
}

/// "N of M rows checked", "N of M records checked with PDS", "N of M records imported"; "Starting" before the
/// pipeline has counted the rows (pages.md §5.2). Real counts, never an estimate.
pub fn progress_text(progress: Option<ImportProgress>) -> String {
    match progress {
        Some(progress) => progress.text(),
        None => "Starting".into(),
    }
}

pub async fn list(
    State(state): State<AppState>,
    signed: SignedIn,
    IncomingFlash(flash): IncomingFlash,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let layout = Layout::signed_in(&state, &signed, "Import records", "/imports").await?.with_flash(flash);
    let team_id = &signed.user.team_id;
    let cursor = query.cursor.filter(|c| !c.is_empty());
    let after = match &cursor {
        Some(cursor) => Some(imports_api::decode_cursor(cursor).map_err(|_| PageError::NotFound)?),
        None => None,
    };
    let (imports, next) = store::imports::list_for_team(state.records.as_ref(), team_id, PAGE_SIZE, after)
        .await
        .map_err(|e| match e {
            crate::ports::StoreError::Invalid(_) => PageError::NotFound,
            other => other.into(),
        })?;
    let mut trail: Vec<String> =
        query.trail.unwrap_or_default().split(',').filter(|c| !c.is_empty()).map(str::to_string).collect();
    let previous = cursor.as_ref().map(|_| match trail.split_last() {
        None => "/imports".to_string(),
        Some((last, [])) => format!("/imports?cursor={last}"),
        Some((last, rest)) => format!("/imports?cursor={last}&trail={}", rest.join(",")),
    });
    let next = next.map(imports_api::encode_cursor).map(|next| {
        if let Some(current) = &cursor {
            trail.push(current.clone());
        }
        match trail.is_empty() {
            true => format!("/imports?cursor={next}"),
            false => format!("/imports?cursor={next}&trail={}", trail.join(",")),
        }
    });
    let mut rows = Vec::new();
    for import in &imports {
        let progress = match is_processing(import.status) {
            true => store::imports::progress(state.records.as_ref(), import).await?,
            false => None,
        };
        rows.push(import_row(import, progress, &state.reference));
    }
    let national_reporting = state.reference.team(team_id).is_some_and(|t| t.kind == TeamKind::NationalReporting);
    let tabs = super::import_tabs::import_tabs(&layout.counts, "/imports");
    let total = store::imports::count_for_team(state.records.as_ref(), team_id).await?;
    Ok(page(StatusCode::OK, &ImportsPage { layout, national_reporting, tabs, total, rows, previous, next }))
}

fn import_row(import: &Import, progress: Option<ImportProgress>, reference: &ReferenceData) -> ImportRow {
    let summary = ImportSummary::new(import, reference);
    let processing = is_processing(import.status);
    ImportRow {
        href: format!("/imports/{}", import.id),
        created: format::date_time(import.created_at),
        filename: summary.filename,
        kind: import.kind.label(),
        school: summary.school.map(|s| s.name.unwrap_or(s.urn)),
        tag: StatusTag::of(import.status),
        progress: processing.then(|| progress_text(progress)),
        records: match import.status {
            ImportStatus::Processed | ImportStatus::PartiallyProcessed => import.row_count.unwrap_or(0).to_string(),
            ImportStatus::RowsAreInvalid
            | ImportStatus::ChangesetsAreInvalid
            | ImportStatus::LowPdsMatchRate
            | ImportStatus::Failed => "0".into(),
            _ => "…".into(),
        },
    }
}

// ---- P7 ----------------------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    page: Option<usize>,
    /// Set by the upload form's redirect (and the script's): the file should now be in the store.
    #[serde(default)]
    uploaded: Option<String>,
}

#[derive(Template)]
#[template(path = "imports/show.html")]
struct ImportPage {
    layout: Layout,
    import_id: Uuid,
    heading: String,
    tag: StatusTag,
    /// Set while processing: the live progress text and, when counts are known, the bar's figures.
    progress: Option<ProgressView>,
    uploaded_by: String,
    filename: String,
    kind: ImportKind,
    kind_label: &'static str,
    school: Option<String>,
    year_groups: Option<String>,
    state: PageState,
    /// Completed: "Records" and the "Import summary".
    summary: Option<CountsSummary>,
    nhs_numbers_updated: Vec<NumberUpdateRow>,
    /// Completed: the open issues this import raised ("Close matches to existing records - needs review").
    /// The first 50 of them: the rest are on the Import issues tab.
    close_matches: Vec<super::issues::IssueRow>,
    close_matches_total: usize,
    records: RecordsTable,
    /// Invalid: the error groups, the "only the first 100 rows" note, and whether PDS changed numbers first.
    errors: Vec<ErrorGroup>,
    errors_summary: Option<String>,
    after_pds: bool,
    format_help: FormatHelp,
    /// Failed for a low PDS match rate: the sentence with the figures, and the rows PDS could not match.
    match_rate: Option<String>,
    unmatched: Vec<UnmatchedRow>,
    /// Failed in the service: why, and how many records it had imported before it stopped.
    failure_reason: Option<String>,
    imported_before_failure: u64,
    /// The status as the progress JSON names it, so the script notices when it changes.
    status_name: String,
}

struct UnmatchedRow {
    first_name: String,
    last_name: String,
    date_of_birth: String,
    postcode: String,
}

impl ImportPage {
    /// "1 record flagged with upload issues for review", "N records flagged …".
    fn close_matches_hint(&self) -> String {
        format!("{} flagged with upload issues for review", format::count(self.close_matches_total, "record"))
    }

    fn close_matches_summary(&self) -> String {
        format::count(self.close_matches_total, "upload issue")
    }

    /// "1 NHS number updated", "3 NHS numbers updated".
    fn updates_summary(&self) -> String {
        format!("{} updated", format::count(self.nhs_numbers_updated.len(), "NHS number"))
    }
}

/// Which of pages.md §4's states the import is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageState {
    Processing,
    Invalid,
    LowMatchRate,
    Failed,
    Completed,
    NothingImported,
    Other,
}

struct ProgressView {
    text: String,
    done: u64,
    total: u64,
}

struct CountsSummary {
    records: u64,
    found: String,
    new: String,
    changed: Option<String>,
    duplicates: String,
    ignored: Option<String>,
}

struct NumberUpdateRow {
    child: String,
    uploaded: String,
    pds: String,
}

/// The imported records on this page of the table.
struct RecordsTable {
    total: usize,
    open: bool,
    children: Vec<ChildRow>,
    vaccinations: Vec<VaccinationRow>,
    pages: super::NumberedPages,
}

struct ChildRow {
    href: Option<String>,
    name: String,
    nhs_number: Option<String>,
    note: Option<&'static str>,
    postcode: String,
    school: String,
    date_of_birth: String,
}

struct VaccinationRow {
    href: String,
    name: String,
    nhs_number: Option<String>,
    date_of_birth: String,
    date: String,
}

/// The error groups of an invalid import: a file error, or each row's messages in row order.
struct ErrorGroup {
    heading: String,
    messages: Vec<ErrorMessage>,
}

struct ErrorMessage {
    column: Option<String>,
    text: String,
}

fn error_groups(import: &Import) -> Vec<ErrorGroup> {
    if let Some(message) = &import.file_error {
        return vec![ErrorGroup {
            heading: "CSV".into(),
            messages: vec![ErrorMessage { column: None, text: message.clone() }],
        }];
    }
    let mut groups: Vec<ErrorGroup> = Vec::new();
    let mut errors = import.errors.clone();
    errors.sort_by_key(|e| e.row);
    for error in errors {
        let message = ErrorMessage { column: error.column.clone(), text: error.message.clone() };
        match groups.last_mut() {
            Some(group) if group.heading == format!("Row {}", error.row) => group.messages.push(message),
            _ => groups.push(ErrorGroup { heading: format!("Row {}", error.row), messages: vec![message] }),
        }
    }
    groups
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    IncomingFlash(flash): IncomingFlash,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> PageResult {
    let import = team_import(&state, &signed, &id).await?;
    if query.uploaded.is_some() {
        return received_upload(&state, import).await;
    }
    let heading = format!("Import ({})", format::date_time(import.created_at));
    let layout = Layout::signed_in(&state, &signed, &heading, "/imports").await?.with_flash(flash);
    let reference = &state.reference;
    let page_state = match import.status {
        ImportStatus::AwaitingUpload | ImportStatus::PendingImport | ImportStatus::CalculatingReReview => {
            PageState::Processing
        }
        ImportStatus::RowsAreInvalid | ImportStatus::ChangesetsAreInvalid => PageState::Invalid,
        ImportStatus::LowPdsMatchRate => PageState::LowMatchRate,
        ImportStatus::Failed => PageState::Failed,
        ImportStatus::Processed => {
            let counts = import.counts.unwrap_or_default();
            let resubmitted = counts.new == 0 && counts.changed == 0 && counts.exact_duplicate > 0;
            if resubmitted && import.kind != ImportKind::ClassList {
                PageState::NothingImported
            } else {
                PageState::Completed
            }
        }
        _ => PageState::Other,
    };
    let summary =
        matches!(page_state, PageState::Completed | PageState::NothingImported).then(|| counts_summary(&import));
    let records = records_table(&state, &import, query.page.unwrap_or(1)).await?;
    let imported_before_failure = records.total as u64;
    let team = reference.team(&import.team_id).ok_or(PageError::NotFound)?;
    let (close_matches, close_matches_total) = match summary.is_some() && team.kind != TeamKind::NationalReporting {
        true => super::issues::of_import(&state, &import.team_id, import.id).await?,
        false => (Vec::new(), 0),
    };
    let current = store::imports::progress(state.records.as_ref(), &import).await?;
    let progress = (page_state == PageState::Processing && import.status != ImportStatus::AwaitingUpload).then(|| {
        let (done, total) = current.map(|p| (p.done, p.total)).unwrap_or((0, 0));
        ProgressView { text: progress_text(current), done, total }
    });
    let page_data = ImportPage {
        layout,
        import_id: import.id,
        heading,
        tag: StatusTag::of(import.status),
        progress,
        uploaded_by: uploader_name(reference, import.uploaded_by.as_deref()),
        filename: import.filename.clone().unwrap_or_default(),
        kind: import.kind,
        kind_label: import.kind.label(),
        school: import
            .school_urn
            .as_ref()
            .map(|urn| reference.school(urn).map(|s| s.name.clone()).unwrap_or(urn.clone())),
        year_groups: (import.kind == ImportKind::ClassList)
            .then(|| imports_api::year_groups_label(&import.year_groups)),
        state: page_state,
        summary,
        nhs_numbers_updated: import
            .nhs_numbers_updated
            .iter()
            .map(|u| NumberUpdateRow {
                child: format!("Row {}", u.row),
                uploaded: format::nhs_number(&u.uploaded),
                pds: format::nhs_number(&u.pds),
            })
            .collect(),
        close_matches,
        close_matches_total,
        records,
        errors: error_groups(&import),
        errors_summary: imports_api::errors_summary(&import),
        after_pds: import.status == ImportStatus::ChangesetsAreInvalid,
        format_help: FormatHelp::for_import(import.kind, team),
        match_rate: import.pds_match.as_ref().map(match_rate_text),
        failure_reason: import.failure_reason.clone(),
        imported_before_failure,
        unmatched: import
            .pds_match
            .iter()
            .flat_map(|m| &m.unmatched)
            .map(|r| UnmatchedRow {
                first_name: r.given_name.clone().unwrap_or_default(),
                last_name: r.family_name.clone().unwrap_or_default(),
                date_of_birth: r.date_of_birth.map(format::date).unwrap_or_default(),
                postcode: r.postcode.clone().unwrap_or_default(),
            })
            .collect(),
        status_name: status_name(import.status),
    };
    Ok(page(StatusCode::OK, &page_data))
}

/// After the store's redirect: the file under the import's prefix becomes the import's file, and the page shows the
/// import with "Import processing started". No file, or an empty one (a form sent without choosing a file), goes
/// back to the upload page with "Choose a file", the import still waiting. A repeat (reload, back button) finds the
/// import already on its way and just shows it.
async fn received_upload(state: &AppState, import: Import) -> PageResult {
    let here = format!("/imports/{}", import.id);
    let with_flash = |to: &str| super::layout::see_other_with_flash("import-started", to);
    if import.status != ImportStatus::AwaitingUpload || !import.object_key.ends_with(FILENAME_PLACEHOLDER) {
        return Ok(with_flash(&here));
    }
    let prefix = super::upload::upload_prefix(&import);
    let objects =
        state.objects.list(&prefix).await.map_err(|e| PageError::Internal(format!("listing an upload: {e}")))?;
    let (files, empty): (Vec<_>, Vec<_>) = objects.into_iter().partition(|o| o.size > 0 && !o.key.ends_with('/'));
    for object in &empty {
        // The empty object of a form sent without a file: never imported.
        let _ = state.objects.delete(&object.key).await;
    }
    let Some(file) = files.into_iter().next() else {
        return Ok(super::see_other(&format!(
            "{}{}error=no-file",
            super::upload::upload_path(&import),
            query_joiner(&import)
        )));
    };
    // The same step the import function takes on the store's event: whichever comes first, the other goes on.
    let store = state.records.as_ref();
    let version = crate::domain::ObjectVersion::of_etag(file.etag.clone());
    crate::pipeline::upload::take_form_upload(store, import.id, &file.key, Some(&version), state.settings.now())
        .await?;
    Ok(with_flash(&here))
}

fn query_joiner(import: &Import) -> &'static str {
    if import.kind == ImportKind::ClassList { "&" } else { "?" }
}

/// "The records could not be imported as an unusually low number of records were matched to PDS (spine). PDS
/// successfully matched only 3 records, a 30% match rate." ("only" when the rate is above 0; 2 decimal places).
fn match_rate_text(pds_match: &crate::domain::import::PdsMatch) -> String {
    let rate = format!("{:.2}", pds_match.rate);
    let rate = rate.trim_end_matches('0').trim_end_matches('.');
    format!(
        "The records could not be imported as an unusually low number of records were matched to PDS (spine). PDS \
         successfully matched {}{} {}, a {rate}% match rate.",
        if pds_match.rate > 0.0 { "only " } else { "" },
        pds_match.matched,
        records_noun(pds_match.matched),
    )
}

/// The status's name in JSON (`pending_import`…).
pub fn status_name(status: ImportStatus) -> String {
    serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The signed-in user's team's import, or the 404 page: a malformed id, a missing import and another team's import
/// look the same.
async fn team_import(state: &AppState, signed: &SignedIn, id: &str) -> Result<Import, PageError> {
    let id = Uuid::parse_str(id).map_err(|_| PageError::NotFound)?;
    store::imports::get_for_team(state.records.as_ref(), &signed.user.team_id, id).await?.ok_or(PageError::NotFound)
}

/// "USER, Test", from the reference data; a CHIS drop has no uploader.
fn uploader_name(reference: &ReferenceData, email: Option<&str>) -> String {
    match imports_api::uploader_name(reference, email) {
        Some(name) => name,
        None if email.is_none() => "CHIS bulk upload".into(),
        None => "Unknown user".into(),
    }
}

fn records_noun(n: u64) -> &'static str {
    if n == 1 { "record" } else { "records" }
}

fn counts_summary(import: &Import) -> CountsSummary {
    let counts = import.counts.unwrap_or_default();
    let found = counts.new + counts.changed + counts.exact_duplicate + counts.ignored;
    CountsSummary {
        records: import.row_count.unwrap_or(found),
        found: format!("{found} {} found in the file:", records_noun(found)),
        new: format!("{} new {} imported", counts.new, records_noun(counts.new)),
        changed: (counts.changed > 0)
            .then(|| format!("{} existing {} updated", counts.changed, records_noun(counts.changed))),
        duplicates: format!(
            "{} {} not imported",
            counts.exact_duplicate,
            if counts.exact_duplicate == 1 { "duplicate" } else { "duplicates" }
        ),
        ignored: (import.kind == ImportKind::VaccinationRecords && counts.ignored > 0)
            .then(|| format!("{} ‘not vaccinated’ {} not imported", counts.ignored, records_noun(counts.ignored))),
    }
}

/// This page of the imported records: only its 50 patients (or vaccination records) are read.
async fn records_table(state: &AppState, import: &Import, page_number: usize) -> Result<RecordsTable, PageError> {
    let store = state.records.as_ref();
    let vaccination = import.kind == ImportKind::VaccinationRecords;
    let record_ids: Vec<Uuid> = if vaccination {
        store::vaccinations::of_import(store, import.id).await?.into_iter().map(|r| r.record_id).collect()
    } else {
        store::patients::of_import(store, import.id).await?
    };
    let total = record_ids.len();
    let pages = super::NumberedPages::new(total, RECORDS_PER_PAGE, page_number, format!("/imports/{}", import.id));
    let on_page: Vec<Uuid> =
        record_ids.into_iter().skip((pages.current - 1) * RECORDS_PER_PAGE).take(RECORDS_PER_PAGE).collect();
    let mut table =
        RecordsTable { total, open: pages.current > 1, children: Vec::new(), vaccinations: Vec::new(), pages };
    if vaccination {
        let records: Vec<crate::domain::vaccination::VaccinationRecord> =
            in_order(store, &on_page, store::keys::vaccination).await?;
        let patient_ids: Vec<Uuid> = records.iter().map(|r| r.patient_id).collect();
        let patients: Vec<crate::domain::Patient> = in_order(store, &patient_ids, store::keys::patient).await?;
        for record in &records {
            let Some(patient) = patients.iter().find(|p| p.id == record.patient_id) else { continue };
            let a = &patient.attributes;
            table.vaccinations.push(VaccinationRow {
                href: format!("/patients/{}/vaccinations/{}", patient.id, record.id),
                name: staff_facing(a.given_name.as_deref(), a.family_name.as_deref()),
                nhs_number: a.nhs_number.as_deref().map(format::nhs_number),
                date_of_birth: a.date_of_birth.map(format::date).unwrap_or_default(),
                date: format::date(crate::clock::london_date(record.details.performed_at)),
            });
        }
    } else {
        let patients: Vec<crate::domain::Patient> = in_order(store, &on_page, store::keys::patient).await?;
        for patient in patients {
            let a = &patient.attributes;
            let in_team = patient.team_ids.iter().any(|t| t == &import.team_id);
            let note = if patient.date_of_death.is_some() {
                Some("Child is deceased")
            } else if !in_team {
                Some("Child is in a different SAIS team")
            } else {
                None
            };
            table.children.push(ChildRow {
                href: note.is_none().then(|| format!("/patients/{}", patient.id)),
                name: staff_facing(a.given_name.as_deref(), a.family_name.as_deref()),
                nhs_number: a.nhs_number.as_deref().map(format::nhs_number),
                note,
                postcode: if patient.is_restricted() {
                    String::new()
                } else {
                    a.address_postcode.clone().unwrap_or_default()
                },
                school: crate::review::issues::school_name(&state.reference, &patient.school),
                date_of_birth: a.date_of_birth.map(format::date).unwrap_or_default(),
            });
        }
    }
    Ok(table)
}

/// The items of `ids`, read in batches and decoded, in the order of `ids` (missing ones left out).
async fn in_order<T: serde::de::DeserializeOwned>(
    store: &dyn crate::ports::RecordStore,
    ids: &[Uuid],
    key_of: fn(Uuid) -> crate::ports::ItemKey,
) -> Result<Vec<T>, PageError> {
    let keys: Vec<_> = ids.iter().map(|id| key_of(*id)).collect();
    let mut items = Vec::new();
    for chunk in keys.chunks(100) {
        items.extend(store.batch_get(chunk).await?);
    }
    items.sort_by_key(|item| keys.iter().position(|k| k == &item.key));
    Ok(items.iter().map(store::decode).collect::<Result<_, _>>()?)
}

// ---- live progress and the error CSV -----------------------------------------------------------------------------

/// What P2 and P7's script reads every two seconds while an import processes.
#[derive(Debug, Serialize)]
pub struct ProgressJson {
    status: ImportStatus,
    status_tag: &'static str,
    text: String,
    done: u64,
    total: u64,
}

/// `GET /imports/{id}/progress`: the page's own JSON (cookie session, team-scoped), so that the script needs no API
/// token.
pub async fn progress(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let import = team_import(&state, &signed, &id).await?;
    let current = store::imports::progress(state.records.as_ref(), &import).await?;
    let (done, total) = current.map(|p| (p.done, p.total)).unwrap_or((0, 0));
    Ok(Json(ProgressJson {
        status: import.status,
        status_tag: import.status.tag(),
        text: progress_text(current),
        done,
        total,
    })
    .into_response())
}

/// `GET /imports/{id}/errors.csv`: row, column, message of every error the import keeps (the first
/// `ERRORS_KEPT_ON_IMPORT` rows with errors, as the page lists them), for fixing the file in a spreadsheet. Cells a
/// spreadsheet would run as a formula are neutralised.
pub async fn errors_csv(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let import = team_import(&state, &signed, &id).await?;
    let body = imports_api::errors_csv(&import).map_err(|e| PageError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"import-{}-errors.csv\"", import.id)),
        ],
        body,
    )
        .into_response())
}

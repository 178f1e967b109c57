//! JSON API for imports: create one (and get a presigned upload), list the team's imports, show one.
//! Every route is scoped to the signed-in user's team; another team's import is indistinguishable from a missing one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::domain::import::{ERRORS_KEPT_ON_IMPORT, ImportProgress, NhsNumberUpdate};
use crate::domain::patient::Patient;
use crate::domain::{AcademicYear, Import, ImportKind, ImportStatus, ReferenceData, RowError, TeamKind};
use crate::pipeline::class_list;
use crate::store;

/// Imports per page of `GET /api/imports`.
pub const PAGE_SIZE: usize = 20;
/// Longest filename kept in an object key, so that keys stay short in every store.
const MAX_KEY_FILENAME_CHARS: usize = 100;
/// Longest filename accepted at all.
const MAX_FILENAME_CHARS: usize = 255;
const NOT_FOUND: &str = "Import not found";

#[derive(Debug, Deserialize)]
pub struct CreateImportRequest {
    /// A string rather than `ImportKind`, so that an unknown kind gets a message listing the known ones.
    pub kind: String,
    #[serde(default)]
    pub filename: Option<String>,
    /// Class lists only: the school (URN, URN+site or SystmOne code) among the team's schools.
    #[serde(default)]
    pub school_urn: Option<String>,
    /// Class lists only: the year groups the list is for, each offered by the school.
    #[serde(default)]
    pub year_groups: Option<Vec<i32>>,
    /// The file's size in bytes, when the client knows it: checked against the upload limit, and signed into the
    /// upload URL so that the store refuses a body of another size.
    #[serde(default)]
    pub size_bytes: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct CreatedImport {
    pub id: Uuid,
    pub upload: UploadInstructions,
    pub status: ImportStatus,
}

/// How to upload the file: send `method` to `url` with exactly these headers and the CSV as the body.
#[derive(Debug, Serialize)]
pub struct UploadInstructions {
    pub method: String,
    pub url: String,
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_in_seconds: u64,
}

/// `POST /api/imports`
pub async fn create_import(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<CreateImportRequest>,
) -> Result<Response, ApiError> {
    let kind = ImportKind::parse(request.kind.trim()).ok_or_else(|| {
        ApiError::BadRequest(
            "Unknown import kind. The kind must be \"child-records\", \"class-list\" \
             or \"vaccination-records\""
                .into(),
        )
    })?;
    let (school_urn, year_groups) = check_import_request(
        state.reference.as_ref(),
        &user.team_id,
        kind,
        request.school_urn.as_deref(),
        request.year_groups.as_deref(),
    )?;
    let filename = request.filename.map(|f| f.trim().to_string()).filter(|f| !f.is_empty());
    if filename.as_ref().is_some_and(|f| f.chars().count() > MAX_FILENAME_CHARS) {
        return Err(ApiError::BadRequest(format!("The filename must be {MAX_FILENAME_CHARS} characters or fewer")));
    }

    let max = state.settings.max_upload_bytes;
    match request.size_bytes {
        Some(0) => return Err(ApiError::Unprocessable("The selected file is empty".into())),
        Some(size) if size > max => {
            let limit = max.div_ceil(1024 * 1024);
            return Err(ApiError::Unprocessable(format!("The selected file must be smaller than {limit}MB")));
        }
        _ => {}
    }

    let id = Uuid::new_v4();
    let object_key = format!(
        "uploads/{}/{id}/{}",
        user.team_id,
        filename.as_deref().map(key_safe_filename).unwrap_or_else(|| "upload.csv".into())
    );
    // Presign before saving: presigning has no side effects, so a failure leaves no import waiting for nothing.
    let upload = state
        .objects
        .presign_upload(&object_key, "text/csv", request.size_bytes, state.settings.upload_url_ttl)
        .await?;

    let import = new_import(&state, &user, id, kind, object_key, filename, school_urn, year_groups);
    store::imports::create(state.records.as_ref(), &import).await?;
    tracing::info!(import_id = %id, team_id = %user.team_id, kind = kind.as_str(), "import created");

    let body = CreatedImport {
        id,
        upload: UploadInstructions {
            method: upload.method,
            url: upload.url,
            headers: upload.headers,
            expires_in_seconds: upload.expires_in_seconds,
        },
        status: import.status,
    };
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/imports/{id}"))], Json(body)).into_response())
}

/// Who may import what (mavis-import.md §12) and, for class lists, the school and year groups checked against the
/// team's schools: the school as stored (URN and site) and the year groups, sorted.
pub fn check_import_request(
    reference: &ReferenceData,
    team_id: &str,
    kind: ImportKind,
    school_urn: Option<&str>,
    year_groups: Option<&[i32]>,
) -> Result<(Option<String>, Vec<i32>), ApiError> {
    let team = reference.team(team_id).ok_or_else(|| ApiError::internal("user's team vanished"))?;
    // mavis-import.md §12: child-record and class-list imports are for point-of-care teams only.
    if matches!(kind, ImportKind::ChildRecords | ImportKind::ClassList) && team.kind != TeamKind::PointOfCare {
        return Err(ApiError::Forbidden(format!(
            "{} can only be imported by point-of-care teams. Your team is a national reporting team.",
            kind.label()
        )));
    }
    match kind {
        ImportKind::ChildRecords => {
            if school_urn.is_some() || year_groups.is_some() {
                return Err(ApiError::BadRequest("school_urn and year_groups are for class lists only".into()));
            }
            Ok((None, Vec::new()))
        }
        ImportKind::ClassList => {
            let selection =
                class_list::check_selection(reference, team_id, school_urn, year_groups.unwrap_or_default())
                    .map_err(|e| ApiError::InvalidField { field: e.field, message: e.message })?;
            Ok((Some(selection.school.urn_and_site()), selection.year_groups))
        }
        // §12: any team, point of care or national reporting, may upload vaccination records.
        ImportKind::VaccinationRecords => Ok((None, Vec::new())),
    }
}

/// A new import waiting for its file at `object_key`, for the signed-in user, in the pending academic year.
#[allow(clippy::too_many_arguments)]
pub fn new_import(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
    kind: ImportKind,
    object_key: String,
    filename: Option<String>,
    school_urn: Option<String>,
    year_groups: Vec<i32>,
) -> Import {
    let today = state.settings.today();
    let now = state.settings.now();
    Import {
        id,
        team_id: user.team_id.clone(),
        kind,
        status: ImportStatus::AwaitingUpload,
        object_key,
        filename,
        uploaded_by: Some(user.email.clone()),
        academic_year: AcademicYear::pending(today),
        school_urn,
        year_groups,
        row_count: None,
        counts: None,
        file_error: None,
        rows_with_errors: 0,
        errors: Vec::new(),
        today,
        created_at: now,
        updated_at: now,
        processed_at: None,
        progress: None,
        pds_match: None,
        nhs_numbers_updated: Vec::new(),
        object_version: None,
        failure_reason: None,
    }
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ImportList {
    /// All the team's imports, on every page.
    pub total: usize,
    pub imports: Vec<ImportSummary>,
    /// Pass back as `?cursor=` for the next page; null on the last page.
    pub next: Option<String>,
}

/// One line of the imports list.
#[derive(Debug, Serialize)]
pub struct ImportSummary {
    pub id: Uuid,
    pub kind: ImportKind,
    pub status: ImportStatus,
    pub status_tag: &'static str,
    pub filename: Option<String>,
    pub uploaded_by: Option<String>,
    pub academic_year: AcademicYear,
    /// Class lists: the school the list is for (the list's "Type" column names it). Null otherwise.
    pub school: Option<SchoolView>,
    pub created_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    pub row_count: Option<u64>,
}

/// The school of a class list. `name` is null if the school has since left the reference data.
#[derive(Debug, Serialize)]
pub struct SchoolView {
    pub urn: String,
    pub name: Option<String>,
}

impl SchoolView {
    fn of(import: &Import, reference: &ReferenceData) -> Option<Self> {
        import
            .school_urn
            .as_ref()
            .map(|urn| SchoolView { urn: urn.clone(), name: reference.school(urn).map(|s| s.name.clone()) })
    }
}

impl ImportSummary {
    pub fn new(import: &Import, reference: &ReferenceData) -> Self {
        Self {
            id: import.id,
            kind: import.kind,
            status: import.status,
            status_tag: import.status.tag(),
            filename: import.filename.clone(),
            uploaded_by: import.uploaded_by.clone(),
            academic_year: import.academic_year,
            school: SchoolView::of(import, reference),
            created_at: import.created_at,
            processed_at: import.processed_at,
            row_count: import.row_count,
        }
    }
}

/// `GET /api/imports?cursor=…`: the team's imports, newest first, a page at a time.
pub async fn list_imports(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ImportList>, ApiError> {
    let after = params.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_cursor).transpose()?;
    let (imports, next) = store::imports::list_for_team(state.records.as_ref(), &user.team_id, PAGE_SIZE, after)
        .await
        .map_err(|e| match e {
            // A cursor the store cannot use (tampered with, or from another listing) is the caller's mistake.
            crate::ports::StoreError::Invalid(_) if params.cursor.is_some() => invalid_cursor(),
            other => other.into(),
        })?;
    let total = store::imports::count_for_team(state.records.as_ref(), &user.team_id).await?;
    Ok(Json(ImportList {
        total,
        imports: imports.iter().map(|import| ImportSummary::new(import, &state.reference)).collect(),
        next: next.map(encode_cursor),
    }))
}

/// Store cursors are opaque and may hold characters that need escaping in a URL (`#`), so the API hands them out
/// base64url-encoded.
pub fn encode_cursor(cursor: String) -> String {
    URL_SAFE_NO_PAD.encode(cursor)
}

pub fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|bytes| String::from_utf8(bytes).ok()).ok_or_else(invalid_cursor)
}

fn invalid_cursor() -> ApiError {
    ApiError::BadRequest("The cursor is not valid. Use the \"next\" value of the previous page.".into())
}

#[derive(Debug, Serialize)]
pub struct ImportDetail {
    pub id: Uuid,
    pub kind: ImportKind,
    pub status: ImportStatus,
    pub status_tag: &'static str,
    pub filename: Option<String>,
    pub uploaded_by: Option<String>,
    /// The uploader as staff-facing screens name them ("USER, Test"); null for a CHIS drop or an unknown user.
    pub uploaded_by_name: Option<String>,
    pub academic_year: AcademicYear,
    /// Class lists: the school and year groups chosen at upload. Null for other kinds.
    pub school: Option<SchoolView>,
    pub year_groups: Option<Vec<i32>>,
    /// The year groups as the import page lists them: "Year 8, Year 9, Year 10, and Year 11".
    pub year_groups_label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    pub row_count: Option<u64>,
    pub counts: Option<CountsView>,
    pub file_error: Option<String>,
    pub rows_with_errors: u64,
    /// The first rows with errors, as kept on the import.
    pub errors: Vec<RowError>,
    /// Set when there are more rows with errors than are listed.
    pub errors_summary: Option<String>,
    /// How far processing has got: the phase (`checking`, `pds`, `importing`), real counts, and the text the
    /// pages show ("12 of 30 rows checked"). Null before the rows are counted.
    pub progress: Option<ProgressView>,
    /// "NHS numbers updated from PDS": rows whose uploaded NHS number Spine replaced.
    pub nhs_numbers_updated: Vec<NhsNumberUpdate>,
    /// Failed for a low PDS match rate: the rate, the rows matched and the first rows that were not.
    pub pds_match: Option<crate::domain::import::PdsMatch>,
    /// Status `failed`: why the service could not finish the import, in words for the user.
    pub failure_reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ProgressView {
    #[serde(flatten)]
    pub progress: ImportProgress,
    pub text: String,
}

impl From<ImportProgress> for ProgressView {
    fn from(progress: ImportProgress) -> Self {
        ProgressView { text: progress.text(), progress }
    }
}

#[derive(Debug, Serialize)]
pub struct CountsView {
    pub new: u64,
    pub changed: u64,
    pub exact_duplicate: u64,
    /// Vaccination records only: national-reporting rows with Vaccinated = N, not imported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<u64>,
}

impl ImportDetail {
    fn new(import: Import, reference: &ReferenceData) -> Self {
        let is_class_list = import.kind == ImportKind::ClassList;
        let school = SchoolView::of(&import, reference);
        let errors_summary = errors_summary(&import);
        Self {
            id: import.id,
            kind: import.kind,
            status: import.status,
            status_tag: import.status.tag(),
            filename: import.filename,
            uploaded_by_name: uploader_name(reference, import.uploaded_by.as_deref()),
            uploaded_by: import.uploaded_by,
            academic_year: import.academic_year,
            school,
            year_groups_label: is_class_list.then(|| year_groups_label(&import.year_groups)),
            year_groups: is_class_list.then(|| import.year_groups.clone()),
            created_at: import.created_at,
            processed_at: import.processed_at,
            row_count: import.row_count,
            counts: import.counts.map(|c| CountsView {
                new: c.new,
                changed: c.changed,
                exact_duplicate: c.exact_duplicate,
                ignored: (import.kind == ImportKind::VaccinationRecords).then_some(c.ignored),
            }),
            file_error: import.file_error,
            rows_with_errors: import.rows_with_errors,
            errors: import.errors,
            errors_summary,
            progress: import.progress.map(ProgressView::from),
            nhs_numbers_updated: import.nhs_numbers_updated,
            pds_match: import.pds_match,
            failure_reason: import.failure_reason,
        }
    }
}

/// The uploader as staff-facing screens name them ("USER, Test"); None for a CHIS drop or a user no longer known.
pub fn uploader_name(reference: &ReferenceData, email: Option<&str>) -> Option<String> {
    let user = reference.user(email?)?;
    Some(crate::domain::names::staff_facing(Some(&user.given_name), Some(&user.family_name)))
}

/// "Only the first 100 rows with issues are listed here. There are N rows with issues in total.", when more rows
/// have errors than the import keeps.
pub fn errors_summary(import: &Import) -> Option<String> {
    (import.rows_with_errors > ERRORS_KEPT_ON_IMPORT as u64).then(|| {
        format!(
            "Only the first {ERRORS_KEPT_ON_IMPORT} rows with issues are listed here. \
             There are {} rows with issues in total.",
            import.rows_with_errors
        )
    })
}

/// The import's errors as CSV (`row,column,message`, a whole-file error as row 0 without a column), in row order,
/// written with the `csv` crate. A cell a spreadsheet would run as a formula (= + - @, tab or carriage return
/// first) gets a leading apostrophe: the column is the header as written in the uploaded file.
pub fn errors_csv(import: &Import) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["row", "column", "message"])?;
    if let Some(message) = &import.file_error {
        writer.write_record(["", "", &crate::review::export::neutralise(message)])?;
    }
    let mut errors = import.errors.clone();
    errors.sort_by_key(|e| e.row);
    for error in &errors {
        let column = error.column.as_deref().map(crate::review::export::neutralise).unwrap_or_default();
        writer.write_record([error.row.to_string(), column, crate::review::export::neutralise(&error.message)])?;
    }
    writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// `GET /api/imports/{id}/errors.csv`: [`errors_csv`] for the team's import.
pub async fn import_errors_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound(NOT_FOUND.into());
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let import =
        store::imports::get_for_team(state.records.as_ref(), &user.team_id, id).await?.ok_or_else(not_found)?;
    let body = errors_csv(&import).map_err(ApiError::internal)?;
    let disposition = format!("attachment; filename=\"import-{id}-errors.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

/// `GET /api/imports/{id}`. A malformed id is "not found" too: there is nothing to distinguish for the caller.
pub async fn show_import(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ImportDetail>, ApiError> {
    let not_found = || ApiError::NotFound(NOT_FOUND.into());
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let mut import =
        store::imports::get_for_team(state.records.as_ref(), &user.team_id, id).await?.ok_or_else(not_found)?;
    import.progress = store::imports::progress(state.records.as_ref(), &import).await?;
    Ok(Json(ImportDetail::new(import, &state.reference)))
}

/// One of an import's patients ("Imported records"). Restricted patients' addresses are hidden, postcode included.
#[derive(Debug, Serialize)]
pub struct ImportPatient {
    pub id: Uuid,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub nhs_number: Option<String>,
    pub postcode: Option<String>,
    pub restricted: bool,
    pub deceased: bool,
    pub invalidated: bool,
}

impl ImportPatient {
    fn new(patient: Patient) -> Self {
        let restricted = patient.restricted_at.is_some();
        let attributes = patient.attributes;
        Self {
            id: patient.id,
            given_name: attributes.given_name,
            family_name: attributes.family_name,
            date_of_birth: attributes.date_of_birth,
            nhs_number: attributes.nhs_number,
            postcode: if restricted { None } else { attributes.address_postcode },
            restricted,
            deceased: patient.date_of_death.is_some(),
            invalidated: patient.invalidated_at.is_some(),
        }
    }
}

/// Patients or vaccination records an import linked, a page at a time.
const LINKED_PAGE_SIZE: usize = 100;

#[derive(Debug, Serialize)]
pub struct ImportPatients {
    /// All the import's patients, on every page.
    pub total: usize,
    pub patients: Vec<ImportPatient>,
    /// Pass back as `?cursor=` for the next page; null on the last page.
    pub next: Option<String>,
}

/// One page of an import's links (patients or vaccination records) for the user's team, read in batches.
async fn linked(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    params: &ListParams,
    prefix: &str,
    field: &str,
    key_of: fn(Uuid) -> crate::ports::ItemKey,
) -> Result<(Vec<crate::ports::Item>, Option<String>, usize), ApiError> {
    let not_found = || ApiError::NotFound(NOT_FOUND.into());
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let store = state.records.as_ref();
    store::imports::get_for_team(store, &user.team_id, id).await?.ok_or_else(not_found)?;
    let after = params.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_cursor).transpose()?;
    let (ids, next, total) =
        store::imports::linked_page(store, id, prefix, field, LINKED_PAGE_SIZE, after).await.map_err(|e| match e {
            crate::ports::StoreError::Invalid(_) if params.cursor.is_some() => invalid_cursor(),
            other => other.into(),
        })?;
    let keys: Vec<_> = ids.iter().map(|id| key_of(*id)).collect();
    let mut items = store.batch_get(&keys).await?;
    // batch_get answers in no particular order: back into the page's order.
    items.sort_by_key(|item| keys.iter().position(|k| k == &item.key));
    Ok((items, next.map(encode_cursor), total))
}

/// `GET /api/imports/{id}/patients?cursor=…`: the patients the import created or updated, 100 a page, for the
/// import's team only.
pub async fn import_patients(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ImportPatients>, ApiError> {
    let (items, next, total) =
        linked(&state, &user, &id, &params, store::keys::IMPORT_PATIENT_PREFIX, "patient_id", store::keys::patient)
            .await?;
    let patients =
        items.iter().map(|item| store::decode::<Patient>(item).map(ImportPatient::new)).collect::<Result<_, _>>()?;
    Ok(Json(ImportPatients { total, patients, next }))
}

/// One row of `GET /api/imports/{id}/vaccination-records`: what P7's table shows, and the ids to open the record.
#[derive(Debug, Serialize)]
pub struct ImportVaccination {
    pub id: Uuid,
    pub patient_id: Uuid,
    /// "PICKLE, Chyna"
    pub name: String,
    pub nhs_number: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub performed_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct ImportVaccinations {
    pub total: usize,
    pub vaccination_records: Vec<ImportVaccination>,
    pub next: Option<String>,
}

/// `GET /api/imports/{id}/vaccination-records?cursor=…`: the records a vaccination import created or updated, 100 a
/// page, for the import's team only.
pub async fn import_vaccination_records(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ImportVaccinations>, ApiError> {
    let (items, next, total) = linked(
        &state,
        &user,
        &id,
        &params,
        store::keys::IMPORT_VACCINATION_PREFIX,
        "record_id",
        store::keys::vaccination,
    )
    .await?;
    let records: Vec<crate::domain::vaccination::VaccinationRecord> =
        items.iter().map(store::decode).collect::<Result<_, _>>()?;
    let mut patient_ids: Vec<Uuid> = records.iter().map(|r| r.patient_id).collect();
    patient_ids.sort_unstable();
    patient_ids.dedup();
    let keys: Vec<_> = patient_ids.iter().map(|id| store::keys::patient(*id)).collect();
    let mut patients = std::collections::HashMap::new();
    for chunk in keys.chunks(100) {
        for item in state.records.batch_get(chunk).await? {
            let patient: Patient = store::decode(&item)?;
            patients.insert(patient.id, patient);
        }
    }
    let vaccination_records = records
        .iter()
        .filter_map(|record| {
            let patient = patients.get(&record.patient_id)?;
            Some(ImportVaccination {
                id: record.id,
                patient_id: patient.id,
                name: patient.staff_facing_name(),
                nhs_number: patient.attributes.nhs_number.clone(),
                date_of_birth: patient.attributes.date_of_birth,
                performed_at: record.details.performed_at,
            })
        })
        .collect();
    Ok(Json(ImportVaccinations { total, vaccination_records, next }))
}

/// "Year 8", "Year 8 and Year 9", "Year 8, Year 9, and Year 10" (a serial comma, as the import page writes it).
pub fn year_groups_label(year_groups: &[i32]) -> String {
    let names: Vec<String> = year_groups.iter().map(|&g| class_list::year_group_name(g)).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [first, second] => format!("{first} and {second}"),
        [init @ .., last] => format!("{}, and {last}", init.join(", ")),
    }
}

/// A filename safe in any object key and on any filesystem: `[A-Za-z0-9._-]` kept, every other character becomes
/// `_`, at most 100 characters (keeping the extension when shortening). Names made only of dots (`.`, `..`) would
/// be path segments in the folder object store, so they become `upload.csv`.
pub fn key_safe_filename(filename: &str) -> String {
    let safe: String = filename
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    let safe = if safe.len() > MAX_KEY_FILENAME_CHARS {
        // All ASCII now, so byte offsets are character offsets.
        match safe.rfind('.').filter(|&dot| safe.len() - dot <= 10) {
            Some(dot) => format!("{}{}", &safe[..MAX_KEY_FILENAME_CHARS - (safe.len() - dot)], &safe[dot..]),
            None => safe[..MAX_KEY_FILENAME_CHARS].to_string(),
        }
    } else {
        safe
    };
    if safe.chars().all(|c| c == '.') { "upload.csv".to_string() } else { safe }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_safe_filename_should_replace_unsafe_characters() {
        assert_eq!(key_safe_filename("Year 9 – St Mary's.csv"), "Year_9___St_Mary_s.csv");
        assert_eq!(key_safe_filename("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(key_safe_filename("ok-name_1.CSV"), "ok-name_1.CSV");
    }

    #[test]
    fn key_safe_filename_should_never_be_a_path_segment_of_dots() {
        assert_eq!(key_safe_filename("."), "upload.csv");
        assert_eq!(key_safe_filename(".."), "upload.csv");
    }

    #[test]
    fn key_safe_filename_should_keep_the_extension_when_shortening() {
        let long = format!("{}.csv", "a".repeat(300));
        let safe = key_safe_filename(&long);
        assert_eq!(safe.len(), 100);
        assert!(safe.ends_with("a.csv"));
        assert_eq!(key_safe_filename(&"b".repeat(300)).len(), 100);
    }

    #[test]
    fn when_listing_year_groups_should_join_them_as_the_import_page_does() {
        assert_eq!(year_groups_label(&[9]), "Year 9");
        assert_eq!(year_groups_label(&[0, 1]), "Reception and Year 1");
        assert_eq!(year_groups_label(&[8, 9, 10, 11]), "Year 8, Year 9, Year 10, and Year 11");
    }

    #[test]
    fn errors_summary_should_appear_only_beyond_the_listed_rows() {
        let mut import: Import = serde_json::from_value(serde_json::json!({
            "id": Uuid::nil(), "team_id": "t", "kind": "child-records", "status": "rows_are_invalid",
            "object_key": "k", "filename": null, "uploaded_by": null, "academic_year": 2024,
            "today": "2024-10-01", "created_at": "2024-10-01T10:00:00Z", "updated_at": "2024-10-01T10:00:00Z"
        }))
        .expect("import");
        import.rows_with_errors = 100;
        assert_eq!(ImportDetail::new(import.clone(), &ReferenceData::default()).errors_summary, None);
        import.rows_with_errors = 101;
        assert_eq!(
            ImportDetail::new(import, &ReferenceData::default()).errors_summary.as_deref(),
            Some("Only the first 100 rows with issues are listed here. There are 101 rows with issues in total.")
        );
    }
}

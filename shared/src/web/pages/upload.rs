//! The upload wizard, P3 to P6 (pages.md §3): the type of records, for class lists the school and the year groups,
//! then the file. The wizard's state travels in the query string and hidden fields, and every step checks it again,
//! so a hand-edited URL naming another team's school gets the step's error. The file goes from the browser straight
//! to the object store through a signed form (a presigned POST): never through this function.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum_extra::extract::{Form, Query};
use serde::Deserialize;
use uuid::Uuid;

use super::format_help::FormatHelp;
use super::{Choice, FieldError, Layout, PageError, PageResult, page, see_other};
use crate::domain::{Import, ImportKind, ImportStatus, TeamKind};
use crate::pipeline::class_list::{self, CHOOSE_SCHOOL, CHOOSE_YEAR_GROUPS, year_group_name};
use crate::ports::object_store::{FILENAME_PLACEHOLDER, PostPolicy, PostSuccess, PresignedPost};
use crate::store;
use crate::web::imports_api;
use crate::web::session::SignedIn;
use crate::web::{AppState, CurrentUser};

const CHOOSE_TYPE: &str = "Choose which type of records you are importing";
const CHOOSE_FILE: &str = "Choose a file";
/// An import waiting for its file is reused by the same user for the same choice within this long (the upload
/// form's lifetime), so that reloading the page creates no second import.
const REUSE_WITHIN: chrono::Duration = chrono::Duration::minutes(15);

fn is_national_reporting(state: &AppState, signed: &SignedIn) -> bool {
    state.reference.team(&signed.user.team_id).is_some_and(|t| t.kind == TeamKind::NationalReporting)
}

/// Child records and class lists are for point-of-care teams (pages.md §0.5).
fn point_of_care_only(state: &AppState, signed: &SignedIn) -> Result<(), PageError> {
    if is_national_reporting(state, signed) { Err(PageError::Forbidden) } else { Ok(()) }
}

// ---- P3: the type ------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "imports/choose_type.html")]
struct ChooseType {
    layout: Layout,
    csrf_token: String,
    errors: Vec<FieldError>,
    error: Option<String>,
    choices: Vec<Choice>,
}

fn type_choices(chosen: Option<&str>) -> Vec<Choice> {
    [
        (
            "child-records",
            "Child records",
            "Records of children from a CHIS, local authority or school, used to create cohorts",
        ),
        ("class-list", "Class list records", "Records of children from a school, used to update cohorts"),
        ("vaccination-records", "Vaccination records", "Relevant vaccination history for children in the cohort"),
    ]
    .into_iter()
    .map(|(value, label, hint)| Choice::new(value, label).hint(hint).checked(chosen == Some(value)))
    .collect()
}

pub async fn choose_type(State(state): State<AppState>, signed: SignedIn) -> PageResult {
    if is_national_reporting(&state, &signed) {
        return Ok(see_other("/imports/new/vaccination-records"));
    }
    render_choose_type(&state, &signed, None).await
}

async fn render_choose_type(state: &AppState, signed: &SignedIn, error: Option<&str>) -> PageResult {
    let errors: Vec<FieldError> = error.map(|e| FieldError::new("type", e)).into_iter().collect();
    let layout = Layout::signed_in(state, signed, "What type of records are you importing?", "/imports")
        .await?
        .with_errors(&errors);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let form = ChooseType {
        layout,
        csrf_token: signed.csrf_token.clone(),
        error: error.map(str::to_string),
        errors,
        choices: type_choices(None),
    };
    Ok(page(status, &form))
}

#[derive(Debug, Deserialize)]
pub struct TypeForm {
    #[serde(default)]
    csrf_token: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

pub async fn chose_type(State(state): State<AppState>, signed: SignedIn, Form(form): Form<TypeForm>) -> PageResult {
    signed.check_csrf(form.csrf_token.as_deref())?;
    if is_national_reporting(&state, &signed) {
        return Ok(see_other("/imports/new/vaccination-records"));
    }
    match form.kind.as_deref().and_then(ImportKind::parse) {
        Some(ImportKind::ChildRecords) => Ok(see_other("/imports/new/child-records")),
        Some(ImportKind::ClassList) => Ok(see_other("/imports/new/class-list/school")),
        Some(ImportKind::VaccinationRecords) => Ok(see_other("/imports/new/vaccination-records")),
        None => render_choose_type(&state, &signed, Some(CHOOSE_TYPE)).await,
    }
}

// ---- P4: the school of a class list ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "imports/choose_school.html")]
struct ChooseSchool {
    layout: Layout,
    csrf_token: String,
    errors: Vec<FieldError>,
    error: Option<String>,
    schools: Vec<Choice>,
}

pub async fn choose_school(State(state): State<AppState>, signed: SignedIn) -> PageResult {
    point_of_care_only(&state, &signed)?;
    render_choose_school(&state, &signed, None).await
}

async fn render_choose_school(state: &AppState, signed: &SignedIn, error: Option<&str>) -> PageResult {
    let errors: Vec<FieldError> = error.map(|e| FieldError::new("school", e)).into_iter().collect();
    let layout = Layout::signed_in(state, signed, "Which school is this class list for?", "/imports")
        .await?
        .with_errors(&errors);
    let mut schools: Vec<_> = state.reference.schools_of_team(&signed.user.team_id).collect();
    schools.sort_by(|a, b| a.name.cmp(&b.name));
    let schools = schools
        .into_iter()
        .map(|s| {
            let choice = Choice::new(s.urn_and_site(), format!("{} (URN: {})", s.name, s.urn_and_site()));
            match &s.address {
                Some(address) => choice.hint(address.clone()),
                None => choice,
            }
        })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let form = ChooseSchool {
        layout,
        csrf_token: signed.csrf_token.clone(),
        error: error.map(str::to_string),
        errors,
        schools,
    };
    Ok(page(status, &form))
}

#[derive(Debug, Deserialize)]
pub struct SchoolForm {
    #[serde(default)]
    csrf_token: Option<String>,
    #[serde(default)]
    school: Option<String>,
}

pub async fn chose_school(State(state): State<AppState>, signed: SignedIn, Form(form): Form<SchoolForm>) -> PageResult {
    signed.check_csrf(form.csrf_token.as_deref())?;
    point_of_care_only(&state, &signed)?;
    match team_school(&state, &signed, form.school.as_deref()) {
        Some(urn) => Ok(see_other(&format!("/imports/new/class-list/year-groups?school={}", encode(&urn)))),
        None => render_choose_school(&state, &signed, Some(CHOOSE_SCHOOL)).await,
    }
}

/// The school (URN and site) when it is one of the team's; anything else is "not chosen".
fn team_school(state: &AppState, signed: &SignedIn, school: Option<&str>) -> Option<String> {
    let school = school.map(str::trim).filter(|s| !s.is_empty())?;
    state
        .reference
        .schools_of_team(&signed.user.team_id)
        .find(|s| s.urn_and_site() == school || s.urn == school)
        .map(|s| s.urn_and_site())
}

// ---- P5: the year groups -----------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "imports/choose_year_groups.html")]
struct ChooseYearGroups {
    layout: Layout,
    csrf_token: String,
    errors: Vec<FieldError>,
    error: Option<String>,
    school_urn: String,
    school_name: String,
    year_groups: Vec<Choice>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Selection {
    #[serde(default)]
    school: Option<String>,
    #[serde(default)]
    year_group: Vec<String>,
    #[serde(default)]
    csrf_token: Option<String>,
    /// Set by the upload pages' own redirects: why the last attempt was not imported.
    #[serde(default)]
    error: Option<String>,
}

pub async fn choose_year_groups(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(query): Query<Selection>,
) -> PageResult {
    point_of_care_only(&state, &signed)?;
    render_year_groups(&state, &signed, query.school.as_deref(), &[], None).await
}

async fn render_year_groups(
    state: &AppState,
    signed: &SignedIn,
    school: Option<&str>,
    ticked: &[i32],
    error: Option<&str>,
) -> PageResult {
    let Some(urn) = team_school(state, signed, school) else {
        // Another team's school, or none: the school step again, with its error.
        return render_choose_school(state, signed, Some(CHOOSE_SCHOOL)).await;
    };
    let school = state.reference.school(&urn).ok_or(PageError::NotFound)?;
    let errors: Vec<FieldError> = error.map(|e| FieldError::new("year_group", e)).into_iter().collect();
    let title = "Which year groups do you want to import class list records for?";
    let layout = Layout::signed_in(state, signed, title, "/imports").await?.with_errors(&errors);
    let mut offered = school.year_groups.clone();
    offered.sort_unstable();
    let year_groups =
        offered.iter().map(|g| Choice::new(g.to_string(), year_group_name(*g)).checked(ticked.contains(g))).collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let form = ChooseYearGroups {
        layout,
        csrf_token: signed.csrf_token.clone(),
        error: error.map(str::to_string),
        errors,
        school_urn: urn,
        school_name: school.name.clone(),
        year_groups,
    };
    Ok(page(status, &form))
}

pub async fn chose_year_groups(
    State(state): State<AppState>,
    signed: SignedIn,
    Form(form): Form<Selection>,
) -> PageResult {
    signed.check_csrf(form.csrf_token.as_deref())?;
    point_of_care_only(&state, &signed)?;
    let year_groups: Vec<i32> = form.year_group.iter().filter_map(|g| g.trim().parse().ok()).collect();
    let Some(urn) = team_school(&state, &signed, form.school.as_deref()) else {
        return render_choose_school(&state, &signed, Some(CHOOSE_SCHOOL)).await;
    };
    match class_list::check_selection(&state.reference, &signed.user.team_id, Some(&urn), &year_groups) {
        Ok(selection) => Ok(see_other(&class_list_upload_path(&urn, &selection.year_groups))),
        // A year group the school does not offer gets the same answer as none (pages.md P5).
        Err(_) => render_year_groups(&state, &signed, Some(&urn), &year_groups, Some(CHOOSE_YEAR_GROUPS)).await,
    }
}

fn class_list_upload_path(urn: &str, year_groups: &[i32]) -> String {
    let groups: String = year_groups.iter().map(|g| format!("&year_group={g}")).collect();
    format!("/imports/new/class-list?school={}{groups}", encode(urn))
}

fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Where an import's upload page is, to come back to it with an error.
pub fn upload_path(import: &Import) -> String {
    match import.kind {
        ImportKind::ClassList => {
            class_list_upload_path(import.school_urn.as_deref().unwrap_or_default(), &import.year_groups)
        }
        kind => format!("/imports/new/{}", kind.as_str()),
    }
}

// ---- P6: the file ------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "imports/upload.html")]
struct UploadPage {
    layout: Layout,
    errors: Vec<FieldError>,
    error: Option<String>,
    heading: &'static str,
    caption: Option<String>,
    back: String,
    kind: ImportKind,
    national_reporting: bool,
    format_help: FormatHelp,
    form: PresignedPost,
    /// The same form's fields for a script (answered 201 instead of a redirect), as JSON.
    js_fields: String,
    done: String,
    max_bytes: u64,
    too_large: String,
}

/// `GET /imports/new/{child-records|class-list|vaccination-records}`: creates the import (or reuses this user's
/// waiting one) and renders the signed form that sends the file to the object store.
pub async fn upload_form(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(kind): Path<String>,
    Query(query): Query<Selection>,
) -> PageResult {
    let kind = ImportKind::parse(&kind).ok_or(PageError::NotFound)?;
    let national_reporting = is_national_reporting(&state, &signed);
    if kind != ImportKind::VaccinationRecords {
        point_of_care_only(&state, &signed)?;
    }
    let user = signed.current_user();
    let year_groups: Vec<i32> = query.year_group.iter().filter_map(|g| g.trim().parse().ok()).collect();
    let (school_urn, year_groups) = match kind {
        ImportKind::ClassList => {
            let Some(urn) = team_school(&state, &signed, query.school.as_deref()) else {
                return render_choose_school(&state, &signed, Some(CHOOSE_SCHOOL)).await;
            };
            match class_list::check_selection(&state.reference, &user.team_id, Some(&urn), &year_groups) {
                Ok(selection) => (Some(selection.school.urn_and_site()), selection.year_groups),
                Err(_) => {
                    return render_year_groups(&state, &signed, Some(&urn), &year_groups, Some(CHOOSE_YEAR_GROUPS))
                        .await;
                }
            }
        }
        _ => (None, Vec::new()),
    };
    imports_api::check_import_request(
        &state.reference,
        &user.team_id,
        kind,
        school_urn.as_deref(),
        (kind == ImportKind::ClassList).then_some(year_groups.as_slice()),
    )
    .map_err(|_| PageError::Forbidden)?;
    let import = waiting_import(&state, &user, kind, school_urn, year_groups).await?;

    let policy = |on_success| PostPolicy {
        key_prefix: upload_prefix(&import),
        content_type: "text/csv".into(),
        max_bytes: state.settings.max_upload_bytes,
        expires_in: state.settings.upload_url_ttl,
        on_success,
    };
    let done = format!("/imports/{}?uploaded=1", import.id);
    let redirect = format!("{}{done}", state.settings.public_url.trim_end_matches('/'));
    let form = state.objects.presign_post(&policy(PostSuccess::Redirect(redirect))).await.map_err(internal)?;
    let scripted = state.objects.presign_post(&policy(PostSuccess::Created)).await.map_err(internal)?;
    let js_fields: serde_json::Map<String, serde_json::Value> =
        scripted.fields.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();

    let error = (query.error.as_deref() == Some("no-file")).then(|| CHOOSE_FILE.to_string());
    let errors: Vec<FieldError> = error.iter().map(|e| FieldError::new("file", e.clone())).collect();
    let (heading, caption, back) = match kind {
        ImportKind::ChildRecords => ("Import child records", None, "/imports/new".to_string()),
        ImportKind::ClassList => {
            let school = import.school_urn.as_deref().and_then(|urn| state.reference.school(urn));
            let back = format!(
                "/imports/new/class-list/year-groups?school={}",
                encode(import.school_urn.as_deref().unwrap_or_default())
            );
            ("Import class list records", school.map(|s| s.name.clone()), back)
        }
        ImportKind::VaccinationRecords => (
            "Import vaccination records",
            None,
            if national_reporting { "/imports".to_string() } else { "/imports/new".to_string() },
        ),
    };
    let team = state.reference.team(&user.team_id).ok_or(PageError::AccountNotSetUp)?;
    let layout = Layout::signed_in(&state, &signed, heading, "/imports").await?.with_errors(&errors);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let max_bytes = state.settings.max_upload_bytes;
    let upload = UploadPage {
        layout,
        errors,
        error,
        heading,
        caption,
        back,
        kind,
        national_reporting,
        format_help: FormatHelp::for_import(kind, team),
        form,
        js_fields: serde_json::Value::Object(js_fields).to_string(),
        done,
        max_bytes,
        too_large: format!("The selected file must be smaller than {}MB", max_bytes.div_ceil(1024 * 1024)),
    };
    Ok(page(status, &upload))
}

fn internal(error: crate::ports::ObjectStoreError) -> PageError {
    PageError::Internal(format!("upload form: {error}"))
}

/// `uploads/{team}/{import}/`: the form may put one file there, under the name the browser gives it.
pub fn upload_prefix(import: &Import) -> String {
    format!("uploads/{}/{}/", import.team_id, import.id)
}

/// This user's import of this kind and choice that still waits for its file (made less than 15 minutes ago), or a
/// new one.
async fn waiting_import(
    state: &AppState,
    user: &CurrentUser,
    kind: ImportKind,
    school_urn: Option<String>,
    year_groups: Vec<i32>,
) -> Result<Import, PageError> {
    let store = state.records.as_ref();
    let now = state.settings.now();
    let (recent, _) = store::imports::list_for_team(store, &user.team_id, imports_api::PAGE_SIZE, None).await?;
    if let Some(waiting) = recent.into_iter().find(|i| {
        i.status == ImportStatus::AwaitingUpload
            && i.uploaded_by.as_deref() == Some(user.email.as_str())
            && i.kind == kind
            && i.school_urn == school_urn
            && i.year_groups == year_groups
            && i.object_key.ends_with(FILENAME_PLACEHOLDER)
            && now - i.created_at < REUSE_WITHIN
    }) {
        return Ok(waiting);
    }
    let id = Uuid::new_v4();
    let key = format!("uploads/{}/{id}/{FILENAME_PLACEHOLDER}", user.team_id);
    let import = imports_api::new_import(state, user, id, kind, key, None, school_urn, year_groups);
    store::imports::create(store, &import).await?;
    tracing::info!(import_id = %id, team_id = %user.team_id, kind = kind.as_str(), "import created for a form upload");
    Ok(import)
}

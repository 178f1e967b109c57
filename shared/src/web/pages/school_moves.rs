//! P13, the school moves the team reviews; P14, confirming or ignoring one; P15, downloading the confirmed moves as
//! CSV (pages.md §8). Point-of-care teams only. Decisions go through `review::school_moves::decide`, the same one
//! transaction as the JSON API's.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum_extra::extract::Form;
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{Flash, IncomingFlash, see_other_with_flash};
use super::patients::ChildSummary;
use super::{Choice, FieldError, Layout, NumberedPages, PageError, PageResult, format, page};
use crate::domain::TeamKind;
use crate::review::ReviewError;
use crate::review::export;
use crate::review::school_moves::{self, ALREADY_DECIDED, LoadedMove, MoveDecision};
use crate::web::AppState;
use crate::web::extract::PageQuery;
use crate::web::session::SignedIn;

const CHOOSE: &str = "Choose whether to update the child’s record with this new information";

fn require_point_of_care(state: &AppState, signed: &SignedIn) -> Result<(), PageError> {
    match state.reference.team(&signed.user.team_id) {
        Some(team) if team.kind == TeamKind::PointOfCare => Ok(()),
        _ => Err(PageError::Forbidden),
    }
}

// ---- P13 ---------------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "school_moves/index.html")]
struct MovesPage {
    layout: Layout,
    summary: String,
    rows: Vec<MoveRow>,
    pages: NumberedPages,
}

struct MoveRow {
    href: String,
    updated: String,
    name: String,
    /// The child record, when the team can open it: not for a child still in another team's area.
    child_href: Option<String>,
    updated_by: String,
    from_school: String,
    to_school: String,
    tag: Option<String>,
}

/// The flash of a decision, with the child's name put in front when the child is one the team can see; a child who
/// has left the team (a move out of its area) gets "The child’s …".
async fn named_flash(state: &AppState, signed: &SignedIn, flash: Option<Flash>) -> Result<Option<Flash>, PageError> {
    let Some(mut flash) = flash else { return Ok(None) };
    let Some(id) = flash.subject else { return Ok(Some(flash)) };
    let child = crate::store::patients::get(state.records.as_ref(), id).await?;
    let name = match child {
        Some(child) if child.value.team_ids.contains(&signed.user.team_id) => child.value.staff_facing_name(),
        _ => "The child".to_string(),
    };
    flash.message = format!("{name}{}", flash.message);
    Ok(Some(flash))
}

pub async fn list(
    State(state): State<AppState>,
    signed: SignedIn,
    IncomingFlash(flash): IncomingFlash,
    Query(query): Query<PageQuery>,
) -> PageResult {
    require_point_of_care(&state, &signed)?;
    let flash = named_flash(&state, &signed, flash).await?;
    let layout = Layout::signed_in(&state, &signed, "School moves", "/school-moves").await?.with_flash(flash);
    let listed =
        school_moves::list(state.records.as_ref(), &state.reference, &signed.user.team_id, query.page.unwrap_or(1))
            .await?;
    let summary = crate::web::school_moves_api::summary_text(listed.paging.total);
    let pages = NumberedPages::of(&listed.paging, "/school-moves".into());
    let rows = listed
        .school_moves
        .iter()
        .map(|m| MoveRow {
            href: format!("/school-moves/{}", m.id),
            updated: format::date_time(m.updated_at),
            name: m.full_name.clone(),
            child_href: m.tag.is_none().then(|| format!("/patients/{}", m.id)),
            updated_by: m.updated_by.clone(),
            from_school: m.from_school.clone(),
            to_school: m.to_school.clone(),
            tag: m.tag.clone(),
        })
        .collect();
    Ok(page(StatusCode::OK, &MovesPage { layout, summary, rows, pages }))
}

// ---- P14 ---------------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "school_moves/show.html")]
struct MovePage {
    layout: Layout,
    action: String,
    csrf_token: String,
    caption: String,
    source_heading: String,
    across_teams: Option<String>,
    uploaded: ChildSummary,
    current: ChildSummary,
    choices: Vec<Choice>,
    errors: Vec<FieldError>,
    decision_error: Option<String>,
}

/// The team's pending move of the child, or the 404 page (decided, another team's, or missing).
async fn pending_move(state: &AppState, signed: &SignedIn, id: &str) -> Result<LoadedMove, PageError> {
    let id = Uuid::parse_str(id).map_err(|_| PageError::NotFound)?;
    match school_moves::load(state.records.as_ref(), &signed.user.team_id, id).await {
        Ok(Some(loaded)) => Ok(loaded),
        Ok(None) | Err(ReviewError::Conflict(_)) => Err(PageError::NotFound),
        Err(other) => Err(other.into()),
    }
}

async fn move_page(
    state: &AppState,
    signed: &SignedIn,
    loaded: &LoadedMove,
    chosen: Option<MoveDecision>,
) -> Result<MovePage, PageError> {
    let team_id = &signed.user.team_id;
    let today = state.settings.today();
    let detail = loaded.detail(&state.reference, team_id, today);
    let patient = &loaded.patient.value;
    let mut moved = patient.clone();
    moved.school = loaded.school_move.value.destination.clone();
    let mut uploaded = ChildSummary::of(&state.reference, &moved, team_id, today);
    uploaded.highlighted = vec!["school".into()];
    let caption = patient.staff_facing_name();
    let layout = Layout::signed_in(state, signed, &format!("{caption} – Review school move"), "/school-moves").await?;
    let choices = [
        (MoveDecision::Confirm, "confirm", "Update record with new school"),
        (MoveDecision::Ignore, "ignore", "Ignore new information"),
    ]
    .into_iter()
    .map(|(decision, value, label)| Choice::new(value, label).checked(chosen == Some(decision)))
    .collect();
    Ok(MovePage {
        layout,
        action: format!("/school-moves/{}", patient.id),
        csrf_token: signed.csrf_token.clone(),
        caption,
        source_heading: format!("{} record", detail.summary.source),
        across_teams: detail.across_teams,
        uploaded,
        current: ChildSummary::of(&state.reference, patient, team_id, today),
        choices,
        errors: Vec::new(),
        decision_error: None,
    })
}

pub async fn show(State(state): State<AppState>, signed: SignedIn, Path(id): Path<String>) -> PageResult {
    require_point_of_care(&state, &signed)?;
    let loaded = pending_move(&state, &signed, &id).await?;
    Ok(page(StatusCode::OK, &move_page(&state, &signed, &loaded, None).await?))
}

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf_token: Option<String>,
    #[serde(default)]
    decision: Option<String>,
}

/// `POST /school-moves/{id}`: confirm or ignore. Nothing chosen: the page again with the question's error. Decided
/// already (someone else, or this form sent twice): the refusal, 409, nothing changed.
pub async fn decide(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> PageResult {
    signed.check_csrf(form.csrf_token.as_deref())?;
    require_point_of_care(&state, &signed)?;
    let patient_id = Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let store = state.records.as_ref();
    let team_id = &signed.user.team_id;
    let loaded = match school_moves::load(store, team_id, patient_id).await {
        Ok(Some(loaded)) => loaded,
        Ok(None) => return Err(PageError::NotFound),
        Err(ReviewError::Conflict(_)) => return Ok(super::warning_page(StatusCode::CONFLICT, ALREADY_DECIDED)),
        Err(other) => return Err(other.into()),
    };
    let decision = match form.decision.as_deref() {
        Some("confirm") => MoveDecision::Confirm,
        Some("ignore") => MoveDecision::Ignore,
        _ => {
            let mut data = move_page(&state, &signed, &loaded, None).await?;
            data.errors = vec![FieldError::new("decision", CHOOSE)];
            data.decision_error = Some(CHOOSE.into());
            data.layout = data.layout.with_errors(&data.errors);
            return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, &data));
        }
    };
    let (today, now) = (state.settings.today(), state.settings.now());
    let user = signed.user.email.clone();
    match school_moves::decide(store, &state.reference, team_id, loaded, decision, &user, today, now).await {
        Ok(patient) => {
            let name = match decision {
                MoveDecision::Confirm => "school-move-confirmed",
                MoveDecision::Ignore => "school-move-ignored",
            };
            Ok(see_other_with_flash(&format!("{name}.{}", patient.id), "/school-moves"))
        }
        Err(ReviewError::Conflict(_)) => Ok(super::warning_page(StatusCode::CONFLICT, ALREADY_DECIDED)),
        Err(other) => Err(other.into()),
    }
}

// ---- P15 ---------------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "school_moves/download.html")]
struct DownloadPage {
    layout: Layout,
    csrf_token: String,
    from: DateField,
    to: DateField,
    errors: Vec<FieldError>,
}

/// One date input: what was typed, and its error.
#[derive(Default)]
pub struct DateField {
    pub day: String,
    pub month: String,
    pub year: String,
    pub error: Option<String>,
}

impl DateField {
    /// (name suffix, label, value, width) of the three inputs.
    pub fn parts(&self) -> Vec<(&'static str, &'static str, &str, u8)> {
        vec![("day", "Day", &self.day, 2), ("month", "Month", &self.month, 2), ("year", "Year", &self.year, 4)]
    }

    fn of(date: Option<NaiveDate>) -> Self {
        use chrono::Datelike;
        match date {
            Some(d) => DateField {
                day: d.day().to_string(),
                month: d.month().to_string(),
                year: d.year().to_string(),
                error: None,
            },
            None => DateField::default(),
        }
    }

    /// None when left blank; the date; or the error for a date that does not exist or is incomplete.
    fn parse(&self) -> Result<Option<NaiveDate>, &'static str> {
        let parts = [self.day.trim(), self.month.trim(), self.year.trim()];
        if parts.iter().all(|p| p.is_empty()) {
            return Ok(None);
        }
        let number = |p: &str| p.parse::<u32>().ok();
        match (number(parts[0]), number(parts[1]), number(parts[2])) {
            (Some(d), Some(m), Some(y)) if (1000..=9999).contains(&y) => {
                NaiveDate::from_ymd_opt(y as i32, m, d).map(Some).ok_or("Enter a real date")
            }
            _ => Err("Enter a real date"),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RangeQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

impl RangeQuery {
    /// The bounds as the confirm page and the CSV link carry them (YYYY-MM-DD, or empty for none); anything else is
    /// not a page of ours (404).
    fn dates(&self) -> Result<(Option<NaiveDate>, Option<NaiveDate>), PageError> {
        let parse = |v: &Option<String>| match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d").map(Some).map_err(|_| PageError::NotFound),
        };
        Ok((parse(&self.from)?, parse(&self.to)?))
    }
}

pub async fn download_form(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(query): Query<RangeQuery>,
) -> PageResult {
    require_point_of_care(&state, &signed)?;
    let (from, to) = query.dates().unwrap_or((None, None));
    let layout = Layout::signed_in(&state, &signed, "Download school moves", "/school-moves").await?;
    let data = DownloadPage {
        layout,
        csrf_token: signed.csrf_token.clone(),
        from: DateField::of(from),
        to: DateField::of(to),
        errors: Vec::new(),
    };
    Ok(page(StatusCode::OK, &data))
}

#[derive(Debug, Default, Deserialize)]
pub struct RangeForm {
    #[serde(default)]
    csrf_token: Option<String>,
    #[serde(default, rename = "from-day")]
    from_day: String,
    #[serde(default, rename = "from-month")]
    from_month: String,
    #[serde(default, rename = "from-year")]
    from_year: String,
    #[serde(default, rename = "to-day")]
    to_day: String,
    #[serde(default, rename = "to-month")]
    to_month: String,
    #[serde(default, rename = "to-year")]
    to_year: String,
}

/// `POST /school-moves/download`: the range checked, then on to the confirm page.
pub async fn chose_range(State(state): State<AppState>, signed: SignedIn, Form(form): Form<RangeForm>) -> PageResult {
    signed.check_csrf(form.csrf_token.as_deref())?;
    require_point_of_care(&state, &signed)?;
    let mut from = DateField { day: form.from_day, month: form.from_month, year: form.from_year, error: None };
    let mut to = DateField { day: form.to_day, month: form.to_month, year: form.to_year, error: None };
    let mut errors = Vec::new();
    let from_date = from.parse().unwrap_or_else(|e| {
        from.error = Some(e.into());
        errors.push(FieldError::new("from-day", e));
        None
    });
    let to_date = to.parse().unwrap_or_else(|e| {
        to.error = Some(e.into());
        errors.push(FieldError::new("to-day", e));
        None
    });
    if let (Some(f), Some(t)) = (from_date, to_date)
        && t < f
    {
        let message = "Enter a ‘To’ date that is the same as or after the ‘From’ date";
        to.error = Some(message.into());
        errors.push(FieldError::new("to-day", message));
    }
    if !errors.is_empty() {
        let layout =
            Layout::signed_in(&state, &signed, "Download school moves", "/school-moves").await?.with_errors(&errors);
        let data = DownloadPage { layout, csrf_token: signed.csrf_token.clone(), from, to, errors };
        return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, &data));
    }
    Ok(super::see_other(&format!("/school-moves/download/confirm{}", range_query(from_date, to_date))))
}

fn range_query(from: Option<NaiveDate>, to: Option<NaiveDate>) -> String {
    let text = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    format!("?from={}&to={}", text(from), text(to))
}

#[derive(Template)]
#[template(path = "school_moves/confirm_download.html")]
struct ConfirmPage {
    layout: Layout,
    change_href: String,
    from: String,
    until: String,
    records: usize,
    csv_href: String,
}

/// "27 March 2024", with the leading zero Mavis shows ("05 March 2024").
fn export_date(date: NaiveDate) -> String {
    date.format("%d %B %Y").to_string()
}

async fn export_csv(
    state: &AppState,
    signed: &SignedIn,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<u8>, PageError> {
    Ok(export::school_moves_csv(state.records.as_ref(), &state.reference, &signed.user.team_id, from, to).await?)
}

pub async fn confirm_download(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(query): Query<RangeQuery>,
) -> PageResult {
    require_point_of_care(&state, &signed)?;
    let (from, to) = query.dates()?;
    let csv = export_csv(&state, &signed, from, to).await?;
    let records = csv::Reader::from_reader(csv.as_slice()).records().count();
    let layout = Layout::signed_in(&state, &signed, "Check and confirm", "/school-moves").await?;
    let data = ConfirmPage {
        layout,
        change_href: format!("/school-moves/download{}", range_query(from, to)),
        from: from.map_or_else(|| "Earliest recorded vaccination".into(), export_date),
        until: to.map_or_else(|| "Latest recorded vaccination".into(), export_date),
        records,
        csv_href: format!("/school-moves/download.csv{}", range_query(from, to)),
    };
    Ok(page(StatusCode::OK, &data))
}

/// `GET /school-moves/download.csv?from=&to=`: the same file as the JSON API's export.
pub async fn download_csv(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(query): Query<RangeQuery>,
) -> PageResult {
    require_point_of_care(&state, &signed)?;
    let (from, to) = query.dates()?;
    let csv = export_csv(&state, &signed, from, to).await?;
    let disposition = format!("attachment; filename=\"{}\"", export::filename(from, to));
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        csv,
    )
        .into_response())
}

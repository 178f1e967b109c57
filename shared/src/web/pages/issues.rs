//! P8, the team's import issues, and P9/P10, reviewing one duplicate side by side and deciding (pages.md §6). The
//! decisions go through `review::issues::resolve`, the same one transaction as the JSON API's.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::Form;
use serde::Deserialize;
use uuid::Uuid;

use super::import_tabs::{Tab, import_tabs};
use super::layout::{IncomingFlash, see_other_with_flash};
use super::patients::{ChildSummary, SummaryLine, vaccination_rows};
use super::{Choice, FieldError, Layout, NumberedPages, PageError, PageResult, format, page};
use crate::domain::TeamKind;
use crate::review::ReviewError;
use crate::review::issues::{self, ALREADY_RESOLVED, Decision, LoadedIssue};
use crate::web::AppState;
use crate::web::extract::PageQuery;
use crate::web::session::SignedIn;

const CHOOSE: &str = "Choose which record to keep";

/// Issues are for teams that are not national reporting (pages.md §6).
fn require_issues_team(state: &AppState, signed: &SignedIn) -> Result<(), PageError> {
    match state.reference.team(&signed.user.team_id) {
        Some(team) if team.kind != TeamKind::NationalReporting => Ok(()),
        _ => Err(PageError::Forbidden),
    }
}

// ---- P8 ----------------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "imports/issues.html")]
struct IssuesPage {
    layout: Layout,
    national_reporting: bool,
    tabs: Vec<Tab>,
    summary: String,
    rows: Vec<IssueRow>,
    pages: NumberedPages,
}

pub struct IssueRow {
    pub href: String,
    /// The child record (P16).
    pub child_href: String,
    pub name: String,
    /// Grouped 3-3-4; None is "Not provided".
    pub nhs_number: Option<String>,
    pub issue: String,
}

impl IssueRow {
    pub fn of(summary: &issues::IssueSummary, return_to: Option<&str>) -> Self {
        let query = return_to.map(|to| format!("?return_to={to}")).unwrap_or_default();
        IssueRow {
            href: format!("/imports/issues/{}{query}", summary.id),
            child_href: format!("/patients/{}", summary.patient_id),
            name: summary.name.clone(),
            nhs_number: summary.nhs_number.as_deref().map(format::nhs_number),
            issue: summary.issue.clone(),
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    signed: SignedIn,
    IncomingFlash(flash): IncomingFlash,
    Query(query): Query<PageQuery>,
) -> PageResult {
    require_issues_team(&state, &signed)?;
    let layout = Layout::signed_in(&state, &signed, "Import issues", "/imports").await?.with_flash(flash);
    let listed = issues::list(state.records.as_ref(), &signed.user.team_id, query.page.unwrap_or(1)).await?;
    let summary = crate::web::issues_api::summary_text(listed.paging.total);
    let rows = listed.issues.iter().map(|i| IssueRow::of(i, None)).collect();
    let pages = NumberedPages::of(&listed.paging, "/imports/issues".into());
    let tabs = import_tabs(&layout.counts, "/imports/issues");
    Ok(page(StatusCode::OK, &IssuesPage { layout, national_reporting: false, tabs, summary, rows, pages }))
}

// ---- P9, P10 -----------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "imports/issue.html")]
struct IssuePage {
    layout: Layout,
    action: String,
    csrf_token: String,
    return_to: String,
    caption: String,
    heading: &'static str,
    existing_heading: &'static str,
    /// P9: the two children; P10: the two vaccination summaries.
    children: Option<(ChildSummary, ChildSummary)>,
    vaccinations: Option<(Vec<SummaryLine>, Vec<SummaryLine>)>,
    choices: Vec<Choice>,
    /// P10 when the existing record came from the Immunisations API: only "Discard incoming changes".
    from_immunisations_api: bool,
    errors: Vec<FieldError>,
    decision_error: Option<String>,
    /// Someone else decided first: the message, and no form.
    resolved_elsewhere: bool,
}

#[derive(Debug, Deserialize)]
pub struct ReturnQuery {
    #[serde(default)]
    return_to: Option<String>,
}

/// Where a decision returns: a path of the imports area (P7 or P8), else the issues list.
fn return_address(candidate: Option<&str>) -> String {
    let safe = crate::web::session::safe_return_to(candidate);
    if safe.starts_with("/imports/") { safe } else { "/imports/issues".into() }
}

/// The team's open issue, or the 404 page (resolved, another team's, or missing are all the same).
async fn open_issue(state: &AppState, signed: &SignedIn, id: &str) -> Result<LoadedIssue, PageError> {
    let id = Uuid::parse_str(id).map_err(|_| PageError::NotFound)?;
    issues::load(state.records.as_ref(), &signed.user.team_id, id)
        .await?
        .filter(|issue| issue.marker.value.is_open())
        .ok_or(PageError::NotFound)
}

async fn issue_page(
    state: &AppState,
    signed: &SignedIn,
    issue: &LoadedIssue,
    layout: Layout,
    return_to: String,
    chosen: Option<Decision>,
) -> Result<IssuePage, PageError> {
    let today = state.settings.today();
    let detail = issue.detail(&state.reference, today)?;
    let team_id = &signed.user.team_id;
    let patient = &issue.patient.value;
    let (heading, existing_heading, children, vaccinations, noun) = match &issue.record {
        None => {
            let uploaded_attributes = issues::uploaded_attributes(patient)?;
            let mut uploaded =
                ChildSummary::with_attributes(&state.reference, patient, &uploaded_attributes, team_id, today);
            uploaded.highlighted = detail.changed.clone();
            let existing = ChildSummary::of(&state.reference, patient, team_id, today);
            ("Review duplicate child record", "Existing record", Some((uploaded, existing)), None, "child record")
        }
        Some(record) => {
            let name = patient.staff_facing_name();
            let existing = &record.value;
            let uploaded = issues::uploaded_record(existing)?;
            // The upload may give the record to another child: the uploaded side names that child.
            let uploaded_child = match uploaded.patient_id == existing.patient_id {
                true => name.clone(),
                false => crate::store::patients::get(state.records.as_ref(), uploaded.patient_id)
                    .await?
                    .map_or_else(|| "Unknown child".to_string(), |p| p.value.staff_facing_name()),
            };
            let mut uploaded_rows = vaccination_rows(&state.reference, &uploaded, &uploaded_child);
            let changed = super::patients::changed_vaccination_rows(&detail.changed);
            for row in &mut uploaded_rows {
                row.marked = changed.contains(&row.key);
            }
            let existing_rows = vaccination_rows(&state.reference, existing, &name);
            let existing_heading = if detail.existing_archived { "Archived record" } else { "Existing record" };
            (
                "Review duplicate vaccination record",
                existing_heading,
                None,
                Some((uploaded_rows, existing_rows)),
                "vaccination record",
            )
        }
    };
    let archived = existing_heading == "Archived record";
    let choices = detail
        .decisions
        .iter()
        .map(|decision| {
            let (label, hint) = decision_text(*decision, noun, archived);
            Choice::new(decision.as_str(), label).hint(hint).checked(chosen == Some(*decision))
        })
        .collect();
    let from_immunisations_api = issue.record.is_some() && detail.decisions == [Decision::KeepExisting];
    let mut layout = layout;
    layout.title = format!("{} – {heading}", detail.caption);
    Ok(IssuePage {
        layout,
        action: format!("/imports/issues/{}", detail.id),
        csrf_token: signed.csrf_token.clone(),
        return_to,
        caption: detail.caption,
        heading,
        existing_heading,
        children,
        vaccinations,
        choices,
        from_immunisations_api,
        errors: Vec::new(),
        decision_error: None,
        resolved_elsewhere: false,
    })
}

/// The label and hint of a decision (pages.md P9, P10).
fn decision_text(decision: Decision, noun: &str, archived: bool) -> (String, &'static str) {
    match (decision, archived) {
        (Decision::UseUploaded, false) => {
            (format!("Use uploaded {noun}"), "The uploaded record will replace the existing record")
        }
        (Decision::UseUploaded, true) => (
            format!("Use uploaded {noun}"),
            "The uploaded record will replace the archived record, which will be reinstated with any changes",
        ),
        (Decision::KeepExisting, false) => (
            format!("Keep existing {noun}"),
            "The existing record will be kept and the uploaded record will be deleted",
        ),
        (Decision::KeepExisting, true) => (
            format!("Ignore the uploaded {noun}"),
            "The archived record will remain archived and the uploaded record will be deleted",
        ),
        (Decision::KeepBoth, _) => (
            "Keep both child records".to_string(),
            "The existing record will stay in Mavis and the uploaded record will be added",
        ),
    }
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<ReturnQuery>,
) -> PageResult {
    require_issues_team(&state, &signed)?;
    let issue = open_issue(&state, &signed, &id).await?;
    let layout = Layout::signed_in(&state, &signed, "", "/imports").await?;
    let data = issue_page(&state, &signed, &issue, layout, return_address(query.return_to.as_deref()), None).await?;
    Ok(page(StatusCode::OK, &data))
}

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf_token: Option<String>,
    #[serde(default)]
    decision: Option<String>,
    #[serde(default)]
    return_to: Option<String>,
}

fn parse_decision(value: &str) -> Option<Decision> {
    [Decision::UseUploaded, Decision::KeepExisting, Decision::KeepBoth].into_iter().find(|d| d.as_str() == value)
}

/// `POST /imports/issues/{id}`: resolve with the chosen decision. Nothing chosen (or a value that is no decision):
/// the page again with "Choose which record to keep"; a decision the rules refuse: the page with the reason; a lost
/// race or a repeat of a decision already made: the page with "already resolved" and no form.
pub async fn resolve(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> PageResult {
    signed.check_csrf(form.csrf_token.as_deref())?;
    require_issues_team(&state, &signed)?;
    let return_to = return_address(form.return_to.as_deref());
    let store = state.records.as_ref();
    let issue_id = Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let Some(issue) = issues::load(store, &signed.user.team_id, issue_id).await? else {
        return Err(PageError::NotFound);
    };
    let layout = Layout::signed_in(&state, &signed, "", "/imports").await?;
    let decision = form.decision.as_deref().and_then(parse_decision);
    // The page as it stands, drawn before the decision takes the issue: shown again if the decision is refused.
    let shown = issue_page(&state, &signed, &issue, layout, return_to.clone(), decision).await;
    if !issue.marker.value.is_open() {
        return Ok(resolved_elsewhere(shown));
    }
    let Some(decision) = decision else {
        return Ok(refused(shown?, CHOOSE.into(), true));
    };
    match issues::resolve(store, issue, decision, &signed.user.email, state.settings.now()).await {
        Ok(_) => Ok(see_other_with_flash("record-updated", &return_to)),
        Err(ReviewError::NotAllowed(reason)) => Ok(refused(shown?, reason, false)),
        Err(ReviewError::Conflict(_)) => Ok(resolved_elsewhere(shown)),
        Err(other) => Err(other.into()),
    }
}

/// 422: the page again with `message` in the error summary (and at the radios when nothing was chosen).
fn refused(mut data: IssuePage, message: String, at_the_question: bool) -> Response {
    data.errors = vec![FieldError::new("decision", message.clone())];
    data.layout = data.layout.with_errors(&data.errors);
    data.decision_error = at_the_question.then_some(message);
    page(StatusCode::UNPROCESSABLE_ENTITY, &data)
}

/// 409: the issue was decided by someone else (or this form was sent twice). The records as they are, no form.
fn resolved_elsewhere(shown: Result<IssuePage, PageError>) -> Response {
    match shown {
        Ok(mut data) => {
            data.errors = vec![FieldError { target: None, message: ALREADY_RESOLVED.into() }];
            data.layout = data.layout.with_errors(&data.errors);
            data.resolved_elsewhere = true;
            data.choices.clear();
            page(StatusCode::CONFLICT, &data)
        }
        // The pending changes are gone with the decision: the comparison cannot be drawn, the message still can.
        Err(_) => super::warning_page(StatusCode::CONFLICT, ALREADY_RESOLVED),
    }
}

/// The first 50 issues of one import, for P7's "Close matches to existing records" section, and how many it has.
pub async fn of_import(state: &AppState, team_id: &str, import_id: Uuid) -> Result<(Vec<IssueRow>, usize), PageError> {
    let listed = issues::of_import(state.records.as_ref(), team_id, import_id).await?;
    let return_to = format!("/imports/{import_id}");
    Ok((listed.issues.iter().map(|i| IssueRow::of(i, Some(&return_to))).collect(), listed.paging.total))
}

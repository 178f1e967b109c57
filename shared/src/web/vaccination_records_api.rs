//! Recording, editing and discarding a vaccination given by the team (issue #6 item 8). A request is validated by
//! the vaccination-records import itself: its fields, with the child's details from their record, become one
//! point-of-care row read by `csv_import::vaccination_records`, so the rules and messages are the upload's. The
//! record is then a `service` record like an offline-recording row, and syncs like one: the "needs sync" marker is
//! written in the same transaction, then the fhir queue is told.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, CurrentUser};
use super::patients_api::{VaccinationView, team_patient, vaccination_view};
use crate::csv_import::file::Limits;
use crate::csv_import::vaccination_records::{VaccinationContext, read_rows, validate};
use crate::domain::patient::{Gender, Patient, SchoolPlacement};
use crate::domain::vaccination::{DeliverySite, RecordSource, VaccinationRecord, VaccinationRow};
use crate::domain::{Programme, RowError, Team};
use crate::imms_sync::{enqueue_sync, record_changed_op};
use crate::pipeline::vaccination_records::catalogue;
use crate::ports::StoreError;
use crate::store::imports::Versioned;
use crate::store::vaccinations;

const NOT_FOUND: &str = "Vaccination record not found";

/// The request body; every field is optional here so that PATCH can send a few and POST's missing ones get the
/// upload's "required" messages. Values may be JSON strings or numbers.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaccinationInput {
    pub patient_id: Option<Uuid>,
    pub programme: Option<Value>,
    pub vaccine: Option<Value>,
    pub date: Option<Value>,
    pub time: Option<Value>,
    pub batch: Option<Value>,
    pub batch_expiry: Option<Value>,
    pub site: Option<Value>,
    pub dose_sequence: Option<Value>,
    pub performer_email: Option<Value>,
    pub notify_parents: Option<bool>,
}

/// Upload header → request field, for error messages.
const FIELDS: [(&str, &str); 9] = [
    ("PROGRAMME", "programme"),
    ("VACCINE_GIVEN", "vaccine"),
    ("DATE_OF_VACCINATION", "date"),
    ("TIME_OF_VACCINATION", "time"),
    ("BATCH_NUMBER", "batch"),
    ("BATCH_EXPIRY_DATE", "batch_expiry"),
    ("ANATOMICAL_SITE", "site"),
    ("DOSE_SEQUENCE", "dose_sequence"),
    ("PERFORMING_PROFESSIONAL_EMAIL", "performer_email"),
];

fn text(value: &Option<Value>) -> Option<String> {
    match value {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

/// ISO dates as the upload writes them (`2025-05-20` → `20250520`); anything else is passed on to get its message.
fn upload_date(value: Option<String>) -> Option<String> {
    value.map(|v| match NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d") {
        Ok(date) => date.format("%Y%m%d").to_string(),
        Err(_) => v,
    })
}

fn site_text(site: DeliverySite) -> &'static str {
    match site {
        DeliverySite::LeftThigh => "left thigh",
        DeliverySite::RightThigh => "right thigh",
        DeliverySite::LeftArmUpperPosition => "left arm (upper position)",
        DeliverySite::LeftArmLowerPosition => "left arm (lower position)",
        DeliverySite::RightArmUpperPosition => "right arm (upper position)",
        DeliverySite::RightArmLowerPosition => "right arm (lower position)",
        DeliverySite::LeftButtock => "left buttock",
        DeliverySite::RightButtock => "right buttock",
        DeliverySite::Nose => "nasal",
    }
}

fn programme_text(programme: Programme, mmrv: bool) -> &'static str {
    match programme {
        Programme::Flu => "flu",
        Programme::Hpv => "HPV",
        Programme::Menacwy => "MenACWY",
        Programme::Mmr if mmrv => "MMRV",
        Programme::Mmr => "MMR",
        Programme::TdIpv => "Td/IPV",
    }
}

/// The request's fields as upload cells: the request's values over the current record's (PATCH) .
fn record_cells(input: &VaccinationInput, current: Option<&VaccinationRecord>) -> Vec<(&'static str, String)> {
    let d = current.map(|r| &r.details);
    let vaccine = |key: String| catalogue().by_key(&key).map(|v| v.upload_name.clone()).unwrap_or(key);
    let london = d.map(|d| d.performed_at.with_timezone(&chrono_tz::Europe::London));
    let cells = [
        text(&input.programme)
            .or(d.map(|d| programme_text(d.programme, d.disease_types.iter().any(|t| t == "varicella")).into())),
        text(&input.vaccine).map(vaccine).or(d.and_then(|d| d.vaccine.clone()).map(vaccine)),
        upload_date(text(&input.date)).or(london.map(|at| at.format("%Y%m%d").to_string())),
        text(&input.time)
            .or(london.filter(|_| d.is_some_and(|d| d.time_given)).map(|at| at.format("%H:%M:%S").to_string())),
        text(&input.batch).or(d.and_then(|d| d.batch_number.clone())),
        upload_date(text(&input.batch_expiry))
            .or(d.and_then(|d| d.batch_expiry).map(|e| e.format("%Y%m%d").to_string())),
        text(&input.site).or(d.and_then(|d| d.delivery_site).map(|s| site_text(s).into())),
        text(&input.dose_sequence).or(d.and_then(|d| d.dose_sequence).map(|n| n.to_string())),
        text(&input.performer_email).or(d.and_then(|d| d.performer.user_email.clone())),
    ];
    FIELDS.iter().zip(cells).map(|((header, _), value)| (*header, value.unwrap_or_default())).collect()
}

/// The team's session of the current academic year where the child is seen (their school, else the team's clinic):
/// with its id the row is read as an offline-recording row, with that format's stricter rules (site for the vaccine,
/// performer, time). Without one it is read as a point-of-care row.
fn session_cell(state: &AppState, patient: &Patient, team: &Team) -> Option<(&'static str, String)> {
    let year = crate::domain::AcademicYear::containing(state.settings.today()).0;
    let location = match &patient.school {
        SchoolPlacement::School { urn } => Some(urn.clone()),
        _ => team.generic_clinic_id.clone(),
    }?;
    let session = state
        .reference
        .sessions
        .iter()
        .find(|s| s.team_id == team.id && s.academic_year == year && s.location == location)?;
    Some(("SESSION_ID", session.id.to_string()))
}

/// The child's cells, from their record (the request never changes the child).
fn child_cells(patient: &Patient, team: &Team) -> Vec<(&'static str, String)> {
    let a = &patient.attributes;
    let gender = match a.gender {
        Some(Gender::Female) => "Female",
        Some(Gender::Male) => "Male",
        Some(Gender::NotSpecified) => "Not specified",
        Some(Gender::NotKnown) | None => "Not known",
    };
    let school = match &patient.school {
        SchoolPlacement::School { urn } => urn.clone(),
        SchoolPlacement::HomeEducated => "999999".into(),
        SchoolPlacement::Unknown => "888888".into(),
    };
    vec![
        ("ORGANISATION_CODE", team.ods_code.clone()),
        ("SCHOOL_URN", school),
        ("SCHOOL_NAME", "Unknown".into()),
        ("CARE_SETTING", "1".into()),
        ("NHS_NUMBER", a.nhs_number.clone().unwrap_or_default()),
        ("PERSON_FORENAME", a.given_name.clone().unwrap_or_default()),
        ("PERSON_SURNAME", a.family_name.clone().unwrap_or_default()),
        ("PERSON_DOB", a.date_of_birth.map(|d| d.format("%Y%m%d").to_string()).unwrap_or_default()),
        ("PERSON_GENDER_CODE", gender.into()),
        ("PERSON_POSTCODE", a.address_postcode.clone().unwrap_or_default()),
        ("VACCINATED", "Y".into()),
    ]
}

fn csv(cells: &[(&str, String)]) -> String {
    let quote = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    let header: Vec<String> = cells.iter().map(|(h, _)| quote(h)).collect();
    let row: Vec<String> = cells.iter().map(|(_, v)| quote(v)).collect();
    format!("{}\n{}\n", header.join(","), row.join(","))
}

fn field_of(error: &RowError) -> &'static str {
    let column = error.column.as_deref().unwrap_or_default();
    FIELDS.iter().find(|(header, _)| *header == column).map(|(_, field)| *field).unwrap_or("patient_id")
}

/// Reads the row as the upload would; the first error (with its request field) or the row's values.
fn read_as_upload(state: &AppState, team: &Team, cells: &[(&str, String)]) -> Result<VaccinationRow, ApiError> {
    let bytes = csv(cells).into_bytes();
    let ctx = VaccinationContext {
        reference: &state.reference,
        catalogue: catalogue(),
        team,
        today: state.settings.today(),
        now: crate::clock::on_date(state.settings.today(), state.settings.now()),
    };
    let mut errors = Vec::new();
    let mut open = || Ok::<_, std::io::Error>(bytes.as_slice());
    validate(&mut open, &ctx, &Limits::default(), &mut |e| errors.push(e))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if let Some(first) = errors.first() {
        return Err(ApiError::InvalidField { field: field_of(first), message: first.message.clone() });
    }
    let mut row = None;
    read_rows(&mut open, &ctx, &Limits::default(), &mut |r| {
        row = Some(r);
        ControlFlow::Break(())
    })
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    row.ok_or_else(|| ApiError::BadRequest("The vaccination could not be read".into()))
}

fn team_of<'a>(state: &'a AppState, user: &CurrentUser) -> Result<&'a Team, ApiError> {
    state.reference.team(&user.team_id).ok_or_else(|| ApiError::Forbidden(super::error::ACCOUNT_NOT_SET_UP.into()))
}

/// A record of the user's team that was recorded in this service and not discarded.
async fn own_record(state: &AppState, user: &CurrentUser, id: &str) -> Result<Versioned<VaccinationRecord>, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::NotFound(NOT_FOUND.into()))?;
    let record =
        vaccinations::get(state.records.as_ref(), id).await?.ok_or_else(|| ApiError::NotFound(NOT_FOUND.into()))?;
    let r = &record.value;
    if r.team_id != user.team_id || r.details.source != RecordSource::Service || r.discarded_at.is_some() {
        return Err(ApiError::NotFound(NOT_FOUND.into()));
    }
    Ok(record)
}

async fn respond(state: &AppState, record: &VaccinationRecord, patient: &Patient) -> Result<VaccinationView, ApiError> {
    enqueue_sync(state.imms_queue.as_deref(), record.id).await;
    Ok(vaccination_view(state.records.as_ref(), record, Some(patient), state.settings.now()).await?)
}

fn conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::Unprocessable("The record was changed by someone else. Try again.".into()),
        other => other.into(),
    }
}

/// `POST /api/vaccination-records`: 201 with the record and its sync status.
pub async fn create_record(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(input): ApiJson<VaccinationInput>,
) -> Result<(StatusCode, Json<VaccinationView>), ApiError> {
    let team = team_of(&state, &user)?;
    let patient_id = input
        .patient_id
        .ok_or_else(|| ApiError::InvalidField { field: "patient_id", message: "Enter the child's record id".into() })?;
    let patient = team_patient(&state, &user, patient_id).await?;
    let mut cells = child_cells(&patient, team);
    cells.extend(session_cell(&state, &patient, team));
    cells.extend(record_cells(&input, None));
    let row = read_as_upload(&state, team, &cells)?;
    let now = state.settings.now();
    let mut details = row.details;
    details.source = RecordSource::Service;
    details.notify_parents = Some(input.notify_parents.unwrap_or(true));
    if let SchoolPlacement::School { urn } = &patient.school {
        details.location = Some(urn.clone());
        details.location_name = None;
    }
    let record = VaccinationRecord {
        id: Uuid::new_v4(),
        patient_id,
        team_id: team.id.clone(),
        details,
        pending_changes: BTreeMap::new(),
        discarded_at: None,
        created_at: now,
        updated_at: now,
    };
    let mut ops = vaccinations::create_ops(&record);
    ops.extend(record_changed_op(&record, now));
    state.records.transact(ops).await?;
    tracing::info!(record_id = %record.id, "vaccination recorded through the API");
    Ok((StatusCode::CREATED, Json(respond(&state, &record, &patient).await?)))
}

/// `PATCH /api/vaccination-records/{id}`: the given fields change; the record syncs as an update.
pub async fn update_record(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<VaccinationInput>,
) -> Result<Json<VaccinationView>, ApiError> {
    let team = team_of(&state, &user)?;
    let current = own_record(&state, &user, &id).await?;
    if input.patient_id.is_some_and(|p| p != current.value.patient_id) {
        return Err(ApiError::InvalidField {
            field: "patient_id",
            message: "A record cannot move to another child".into(),
        });
    }
    let patient = team_patient(&state, &user, current.value.patient_id).await?;
    let mut cells = child_cells(&patient, team);
    cells.extend(session_cell(&state, &patient, team));
    cells.extend(record_cells(&input, Some(&current.value)));
    let row = read_as_upload(&state, team, &cells)?;
    let now = state.settings.now();
    let mut record = current.value.clone();
    let kept = &current.value.details;
    record.details = crate::domain::vaccination::VaccinationDetails {
        source: RecordSource::Service,
        notify_parents: input.notify_parents.or(kept.notify_parents),
        location: kept.location.clone(),
        location_name: kept.location_name.clone(),
        session_id: kept.session_id,
        notes: kept.notes.clone(),
        protocol: kept.protocol,
        performed_ods_code: kept.performed_ods_code.clone().or(row.details.performed_ods_code.clone()),
        ..row.details
    };
    record.updated_at = now;
    let mut ops = vec![vaccinations::update_op(&record, current.version)];
    ops.extend(record_changed_op(&record, now));
    state.records.transact(ops).await.map_err(conflict)?;
    Ok(Json(respond(&state, &record, &patient).await?))
}

/// `DELETE /api/vaccination-records/{id}`: discards the record (kept, hidden); the API copy is deleted.
pub async fn discard_record(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let current = own_record(&state, &user, &id).await?;
    let now = state.settings.now();
    let mut record = current.value.clone();
    record.discarded_at = Some(now);
    record.updated_at = now;
    let mut ops = vec![vaccinations::update_op(&record, current.version)];
    ops.extend(record_changed_op(&record, now));
    state.records.transact(ops).await.map_err(conflict)?;
    enqueue_sync(state.imms_queue.as_deref(), record.id).await;
    Ok(StatusCode::NO_CONTENT)
}

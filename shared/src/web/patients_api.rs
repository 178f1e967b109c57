//! `GET /api/patients/{id}`: the child record with its vaccinations and each one's NHS Immunisations API sync status
//! (nhs-apis.md §6.5). Team-scoped: a child outside the user's team answers 404. A restricted child's address is
//! left out.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::CurrentUser;
use crate::domain::Programme;
use crate::domain::patient::{Gender, Patient};
use crate::domain::vaccination::{DeliverySite, RecordSource, VaccinationOutcome, VaccinationRecord};
use crate::imms_sync::SyncStatus;
use crate::imms_sync::rules::status;
use crate::ports::{RecordStore, StoreError};
use crate::store::{imms, patients, vaccinations};

const NOT_FOUND: &str = "Patient not found";

#[derive(Debug, Serialize)]
pub struct AddressView {
    pub line_1: Option<String>,
    pub line_2: Option<String>,
    pub town: Option<String>,
    pub postcode: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PatientView {
    pub id: Uuid,
    pub nhs_number: Option<String>,
    /// "CLARKE, Jennifer"
    pub name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<Gender>,
    /// None for a restricted child.
    pub address: Option<AddressView>,
    pub restricted: bool,
    pub invalidated: bool,
    /// The record's status banners from the team's notices (pages.md §8.4), in the order the page shows them.
    pub notices: Vec<String>,
    pub vaccinations: Vec<VaccinationView>,
}

#[derive(Debug, Serialize)]
pub struct VaccinationView {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub team_id: String,
    pub programme: Programme,
    pub vaccine: Option<String>,
    pub outcome: VaccinationOutcome,
    pub performed_at: DateTime<Utc>,
    pub batch: Option<String>,
    pub batch_expiry: Option<NaiveDate>,
    pub site: Option<DeliverySite>,
    pub dose_sequence: Option<u32>,
    pub performer_email: Option<String>,
    pub notify_parents: Option<bool>,
    pub source: RecordSource,
    /// None for records not recorded in this service (they are never sent).
    pub sync: Option<SyncStatus>,
}

/// The patient, if in the user's team (listed or archived there), for recording against; else 404. Reading is wider
/// (`review::team_child`): a child who moved away stays readable by the team holding its notice.
pub async fn team_patient(state: &AppState, user: &CurrentUser, id: Uuid) -> Result<Patient, ApiError> {
    let patient =
        patients::get(state.records.as_ref(), id).await?.ok_or_else(|| ApiError::NotFound(NOT_FOUND.into()))?;
    let p = patient.value;
    if p.team_ids.contains(&user.team_id) || p.archived_in.contains_key(&user.team_id) {
        Ok(p)
    } else {
        Err(ApiError::NotFound(NOT_FOUND.into()))
    }
}

pub async fn vaccination_view(
    store: &dyn RecordStore,
    record: &VaccinationRecord,
    patient: Option<&Patient>,
    now: DateTime<Utc>,
) -> Result<VaccinationView, StoreError> {
    let link = imms::get_link(store, record.id).await?.map(|l| l.value);
    let marker = imms::get_pending(store, record.id).await?.map(|m| m.value);
    let d = &record.details;
    Ok(VaccinationView {
        id: record.id,
        patient_id: record.patient_id,
        team_id: record.team_id.clone(),
        programme: d.programme,
        vaccine: d.vaccine.clone(),
        outcome: d.outcome,
        performed_at: d.performed_at,
        batch: d.batch_number.clone(),
        batch_expiry: d.batch_expiry,
        site: d.delivery_site,
        dose_sequence: d.dose_sequence,
        performer_email: d.performer.user_email.clone(),
        notify_parents: d.notify_parents,
        source: d.source,
        sync: status(record, patient, link.as_ref(), marker.as_ref(), now),
    })
}

/// `GET /api/patients/{id}`.
pub async fn show_patient(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<PatientView>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound(NOT_FOUND.into()))?;
    let child = crate::review::team_child::team_child(state.records.as_ref(), &user.team_id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(NOT_FOUND.into()))?;
    let notices = child.banners(&user.team_id);
    let patient = child.patient;
    let store = state.records.as_ref();
    let now = state.settings.now();
    let mut views = Vec::new();
    for record in vaccinations::of_patient(store, id).await?.iter().filter(|r| r.discarded_at.is_none()) {
        views.push(vaccination_view(store, record, Some(&patient), now).await?);
    }
    let a = &patient.attributes;
    let address = (!patient.is_restricted()).then(|| AddressView {
        line_1: a.address_line_1.clone(),
        line_2: a.address_line_2.clone(),
        town: a.address_town.clone(),
        postcode: a.address_postcode.clone(),
    });
    Ok(Json(PatientView {
        id,
        nhs_number: a.nhs_number.clone(),
        name: patient.staff_facing_name(),
        given_name: a.given_name.clone(),
        family_name: a.family_name.clone(),
        date_of_birth: a.date_of_birth,
        gender: a.gender,
        address,
        restricted: patient.is_restricted(),
        invalidated: patient.invalidated_at.is_some(),
        notices,
        vaccinations: views,
    }))
}

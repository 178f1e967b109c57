//! What syncs and what the user sees (nhs-apis.md §6.2, §6.3, §6.5, and the user guide's rules from issue #6):
//! pure functions over a record, its patient and its sync state.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::domain::patient::Patient;
use crate::domain::vaccination::{RecordSource, VaccinationOutcome, VaccinationRecord};
use crate::store::imms::{ImmsLink, PendingMarker};

pub const REASON_NOT_GIVEN: &str = "Records are not synced if the vaccination was not given";
pub const REASON_GILLICK: &str = "The child gave consent under Gillick competence and does not want their parents to \
                                  be notified. You must let the child's GP know they were vaccinated.";
pub const REASON_NO_NHS_NUMBER: &str = "You must add an NHS number to the child's record before this record will sync";
pub const REASON_INVALIDATED: &str = "Records are not synced for a child whose NHS number has been invalidated";
pub const REASON_DISCARDED: &str = "Records are not synced once they have been discarded";

/// How long a record may wait before its sync shows as failed.
pub const FAILED_AFTER: Duration = Duration::hours(24);

/// Why a record is not in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSynced {
    Discarded,
    NotGiven,
    Invalidated,
    Gillick,
    NoNhsNumber,
}

impl NotSynced {
    pub fn reason(self) -> &'static str {
        match self {
            NotSynced::Discarded => REASON_DISCARDED,
            NotSynced::NotGiven => REASON_NOT_GIVEN,
            NotSynced::Invalidated => REASON_INVALIDATED,
            NotSynced::Gillick => REASON_GILLICK,
            NotSynced::NoNhsNumber => REASON_NO_NHS_NUMBER,
        }
    }
}

/// Only records the team recorded in this service are ever sent (historical uploads, national reporting and
/// records found in the API never are).
pub fn is_sync_source(record: &VaccinationRecord) -> bool {
    record.details.source == RecordSource::Service
}

/// §6.2 plus the user guide: administered, not discarded, patient not invalidated, parents may be told (Gillick),
/// and the child has an NHS number. `Ok` means the record belongs in the API.
pub fn eligibility(record: &VaccinationRecord, patient: Option<&Patient>) -> Result<(), NotSynced> {
    if record.discarded_at.is_some() {
        return Err(NotSynced::Discarded);
    }
    if record.details.outcome != VaccinationOutcome::Administered {
        return Err(NotSynced::NotGiven);
    }
    let Some(patient) = patient else { return Err(NotSynced::Invalidated) };
    if patient.invalidated_at.is_some() {
        return Err(NotSynced::Invalidated);
    }
    if record.details.notify_parents == Some(false) {
        return Err(NotSynced::Gillick);
    }
    if patient.attributes.nhs_number.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(NotSynced::NoNhsNumber);
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
    Nothing,
}

/// §6.3, for a record whose "needs sync" marker is set: in the API and still eligible → update; in the API and
/// no longer eligible → delete; not in the API and eligible → create; otherwise nothing.
pub fn decide(in_api: bool, eligible: bool) -> Action {
    match (in_api, eligible) {
        (true, true) => Action::Update,
        (true, false) => Action::Delete,
        (false, true) => Action::Create,
        (false, false) => Action::Nothing,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncState {
    Synced,
    Pending,
    NotSynced,
    Failed,
}

/// The "sync" object of a record in the API: `{"status", "reason", "last_synced_at"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub status: SyncState,
    pub reason: Option<&'static str>,
    pub last_synced_at: Option<DateTime<Utc>>,
}

/// §6.5. `None` for records that are never synced (not recorded in this service).
pub fn status(
    record: &VaccinationRecord,
    patient: Option<&Patient>,
    link: Option<&ImmsLink>,
    marker: Option<&PendingMarker>,
    now: DateTime<Utc>,
) -> Option<SyncStatus> {
    if !is_sync_source(record) {
        return None;
    }
    let last_synced_at = link.and_then(|l| l.synced_at);
    let (status, reason) = match (eligibility(record, patient), marker) {
        (Err(why), _) => (SyncState::NotSynced, Some(why.reason())),
        (Ok(()), Some(marker)) if now - marker.pending_at > FAILED_AFTER => (SyncState::Failed, None),
        (Ok(()), Some(_)) => (SyncState::Pending, None),
        (Ok(()), None) if last_synced_at.is_some() => (SyncState::Synced, None),
        (Ok(()), None) => (SyncState::Pending, None),
    };
    Some(SyncStatus { status, reason, last_synced_at })
}

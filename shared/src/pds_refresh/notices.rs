//! The important-notice generator (spec §10, `ImportantNoticeGeneratorJob`) for the three status kinds: deceased,
//! invalidated and restricted. It reads only the patient record, so it is safe to run again at any time: creation is
//! keyed by the deterministic notice id, and dismissal is conditional on the notice's version.
//!
//! It lives beside the PDS refresh because that is its first caller; the school-move and Gillick generators will add
//! their own kinds next to it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::Patient;
use crate::domain::notice::{ImportantNotice, NoticeKind};
use crate::ports::{RecordStore, StoreError, WriteOp};
use crate::store::imports::Versioned;
use crate::store::notices;

/// What one run changed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct NoticeChanges {
    pub created: Vec<ImportantNotice>,
    pub dismissed: Vec<ImportantNotice>,
}

/// When the patient has the status behind `kind`, the time that status was recorded.
///
/// The patient record has no `date_of_death_recorded_at` yet, so a deceased notice is stamped with the last PDS
/// update (the refresh that recorded the date of death is the one that triggers this run).
fn status_recorded_at(patient: &Patient, kind: NoticeKind) -> Option<DateTime<Utc>> {
    match kind {
        NoticeKind::Deceased => {
            patient.date_of_death.map(|_| patient.updated_from_pds_at.unwrap_or(patient.updated_at))
        }
        NoticeKind::Invalidated => patient.invalidated_at,
        NoticeKind::Restricted => patient.restricted_at,
        NoticeKind::GillickNoNotify | NoticeKind::TeamChanged => None,
    }
}

/// For each team the patient belongs to (`team_ids`) and each status kind: creates one active notice when the status
/// holds and none is active, and dismisses (automatically, no user) active ones whose status no longer holds. Teams
/// the patient has left keep their notices as they are.
pub async fn generate_for_patient(
    store: &dyn RecordStore,
    patient: &Patient,
    now: DateTime<Utc>,
) -> Result<NoticeChanges, StoreError> {
    let existing = notices::of_patient(store, patient.id).await?;
    let mut changes = NoticeChanges::default();
    for team_id in &patient.team_ids {
        for kind in NoticeKind::STATUS_KINDS {
            let of_kind: Vec<&Versioned<ImportantNotice>> =
                existing.iter().filter(|n| n.value.team_id == *team_id && n.value.kind == kind).collect();
            let active: Vec<&Versioned<ImportantNotice>> =
                of_kind.iter().copied().filter(|n| n.value.is_active()).collect();
            match status_recorded_at(patient, kind) {
                Some(recorded_at) if active.is_empty() => {
                    // The deceased stamp is not stable across refreshes (see `status_recorded_at`): a notice a user
                    // already dismissed must not come back with a new timestamp.
                    if kind == NoticeKind::Deceased && of_kind.iter().any(|n| n.value.dismissed_by.is_some()) {
                        continue;
                    }
                    let notice = ImportantNotice::new(patient.id, team_id, kind, recorded_at);
                    if create(store, &notice).await? {
                        changes.created.push(notice);
                    }
                }
                Some(_) => {}
                None => {
                    for notice in active {
                        changes.dismissed.push(dismiss(store, notice, now, None).await?);
                    }
                }
            }
        }
    }
    Ok(changes)
}

/// Dismisses every active notice of a patient who no longer exists as such (merged into another record).
pub async fn dismiss_all_for_patient(
    store: &dyn RecordStore,
    patient_id: Uuid,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut count = 0;
    for notice in notices::of_patient(store, patient_id).await?.iter().filter(|n| n.value.is_active()) {
        dismiss(store, notice, now, None).await?;
        count += 1;
    }
    Ok(count)
}

/// Creates the notice; false when the same notice (same unique key) exists already, active or dismissed.
async fn create(store: &dyn RecordStore, notice: &ImportantNotice) -> Result<bool, StoreError> {
    match store.transact(vec![notices::create_op(notice)]).await {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Dismisses one notice; `Conflict` if it changed since it was read (the caller's job is retried).
pub async fn dismiss(
    store: &dyn RecordStore,
    notice: &Versioned<ImportantNotice>,
    at: DateTime<Utc>,
    by: Option<&str>,
) -> Result<ImportantNotice, StoreError> {
    let op: WriteOp = notices::dismiss_op(notice, at, by);
    store.transact(vec![op]).await?;
    let mut dismissed = notice.value.clone();
    dismissed.dismissed_at = Some(at);
    dismissed.dismissed_by = by.map(str::to_string);
    Ok(dismissed)
}

//! What a PDS GET refresh does to a patient (spec §11.3, `PatientUpdateFromPDSJob`), and the important notices it
//! raises (§10).
//!
//! The caller (a queue job) does the HTTP call with [`crate::nhs_api::PdsClient::get_patient`] and hands the result
//! to [`apply_get_result`]. Keeping the call outside makes this module testable against any PDS and keeps the retry
//! policy with the job: a transient error comes back untouched and nothing is written.
//!
//! Every write is one transaction conditional on the patient's version. On a conflict the patient is read again and
//! the rules re-evaluated, so two refreshes racing each other never half-apply; an answer about a number the patient
//! no longer has is dropped ([`RefreshOutcome::Stale`]).
//!
//! The follow-up search is the caller's (the pds queue runs the cascade on [`RefreshOutcome::SearchNeeded`] and hands
//! a unique find to [`apply_found_number`]). Not done here yet: the GP practice
//! (the patient record has no GP field), ending future session locations of a deceased patient, and the
//! vaccination-history re-sync after an NHS number change.

mod merge;
pub mod notices;
pub mod update;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use notices::{NoticeChanges, dismiss_all_for_patient, generate_for_patient};

use crate::domain::Patient;
use crate::nhs_api::{PdsClient, PdsError, PdsPatient};
use crate::ports::{Condition, RecordStore, StoreError, WriteOp};
use crate::store::imports::Versioned;
use crate::store::{keys, patients};

/// One PDS GET. The PDS client implements it; the pds worker paces every call.
#[async_trait::async_trait]
pub trait PatientFetcher: Send + Sync {
    async fn get_patient(&self, nhs_number: &str) -> Result<PdsPatient, PdsError>;
}

#[async_trait::async_trait]
impl PatientFetcher for PdsClient {
    async fn get_patient(&self, nhs_number: &str) -> Result<PdsPatient, PdsError> {
        PdsClient::get_patient(self, nhs_number).await
    }
}

/// How many times a refresh re-reads the patient after losing a race before giving up (the job is retried then).
const MAX_ATTEMPTS: usize = 5;

/// What the refresh did.
#[derive(Debug, Clone, PartialEq)]
pub struct Refreshed {
    pub outcome: RefreshOutcome,
    /// Notices created or dismissed for the patient that remains (the kept one after a merge).
    pub notices: NoticeChanges,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Updated from PDS; `nhs_number_changed` when PDS answered with a superseding number (no notice for that).
    Updated { nhs_number_changed: bool },
    /// The number was superseded by one another patient holds: this patient was merged into that one and deleted.
    MergedInto(Uuid),
    /// The record has no usable NHS number now: the caller should search PDS for it (cascading search or lookup).
    SearchNeeded(SearchReason),
    /// The patient's NHS number changed since the GET was sent; the answer is about another number and is ignored.
    Stale,
    /// The patient no longer exists (deleted, or merged by a concurrent refresh).
    PatientGone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchReason {
    /// PDS has no record with the number: it was cleared.
    NotFound,
    /// PDS says the number is invalid or invalidated: `invalidated_at` was set and the number kept.
    Invalidated,
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// PDS did not give an answer about the patient (transient: retry; otherwise: report). Nothing was written.
    #[error("PDS GET failed; nothing changed")]
    Pds(#[source] PdsError),
    #[error("could not update the patient")]
    Store(#[from] StoreError),
    /// Lost the race for the patient `MAX_ATTEMPTS` times in a row.
    #[error("the patient kept changing during the refresh")]
    Contended,
}

impl RefreshError {
    /// Whether the job should be retried as it is.
    pub fn is_transient(&self) -> bool {
        match self {
            RefreshError::Pds(e) => e.is_transient(),
            RefreshError::Store(e) => matches!(e, StoreError::Transient(_)),
            RefreshError::Contended => true,
        }
    }
}

/// What the PDS answer asks for, decided before anything is read or written.
enum Answer {
    Found(PdsPatient),
    NotFound,
    Invalid,
}

/// Applies the result of `PdsClient::get_patient(requested_nhs)` to the patient, then regenerates its notices.
pub async fn apply_get_result(
    store: &dyn RecordStore,
    patient_id: Uuid,
    requested_nhs: &str,
    result: Result<PdsPatient, PdsError>,
    now: DateTime<Utc>,
) -> Result<Refreshed, RefreshError> {
    let answer = match result {
        Ok(pds) => Answer::Found(pds),
        Err(PdsError::NotFound) => Answer::NotFound,
        Err(PdsError::InvalidNhsNumber | PdsError::Invalidated) => Answer::Invalid,
        Err(other) => return Err(RefreshError::Pds(other)),
    };
    let requested = requested_nhs.trim();
    apply_answer(store, patient_id, Some(requested), requested, &answer, now).await
}

/// §11.3 "then search for it": after a refresh cleared or invalidated the patient's number (`previous`, `None` when
/// cleared), the cascading search found exactly one number and `result` is the GET of that number. The found record
/// is adopted as a superseding number would be: merged into a patient already holding it, or set on this patient
/// and updated from PDS (which clears `invalidated_at`, so the notice dismisses itself). A GET error changes nothing.
pub async fn apply_found_number(
    store: &dyn RecordStore,
    patient_id: Uuid,
    previous: Option<&str>,
    result: Result<PdsPatient, PdsError>,
    now: DateTime<Utc>,
) -> Result<Refreshed, RefreshError> {
    let pds = result.map_err(RefreshError::Pds)?;
    let previous = previous.map(str::trim);
    if previous == Some(pds.nhs_number.as_str()) {
        // The search found the very number PDS just refused: nothing to adopt.
        return Ok(Refreshed { outcome: RefreshOutcome::Stale, notices: NoticeChanges::default() });
    }
    // Planned as a GET of `previous` answered with a different number: the superseded path.
    apply_answer(store, patient_id, previous, previous.unwrap_or(""), &Answer::Found(pds), now).await
}

/// Applies `answer` while the patient still has the number `expected` (else the answer is stale), re-reading the
/// patient after a lost race, then regenerates its notices.
async fn apply_answer(
    store: &dyn RecordStore,
    patient_id: Uuid,
    expected: Option<&str>,
    requested: &str,
    answer: &Answer,
    now: DateTime<Utc>,
) -> Result<Refreshed, RefreshError> {
    for _ in 0..MAX_ATTEMPTS {
        let Some(current) = patients::get(store, patient_id).await? else {
            return Ok(Refreshed { outcome: RefreshOutcome::PatientGone, notices: NoticeChanges::default() });
        };
        if current.value.attributes.nhs_number.as_deref() != expected {
            return Ok(Refreshed { outcome: RefreshOutcome::Stale, notices: NoticeChanges::default() });
        }
        let (ops, remaining, outcome) = plan(store, &current, requested, answer, now).await?;
        match store.transact(ops).await {
            Ok(()) => {
                if let RefreshOutcome::MergedInto(_) = outcome {
                    dismiss_all_for_patient(store, patient_id, now).await?;
                }
                let notices = generate_for_patient(store, &remaining, now).await?;
                crate::imms_sync::hooks::after_pds_refresh(store, patient_id, &outcome, now).await?;
                tracing::info!(patient_id = %patient_id, outcome = ?outcome, "patient refreshed from PDS");
                return Ok(Refreshed { outcome, notices });
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(RefreshError::Contended)
}

/// The transaction for one attempt, the patient that remains afterwards, and the outcome.
async fn plan(
    store: &dyn RecordStore,
    current: &Versioned<Patient>,
    requested: &str,
    answer: &Answer,
    now: DateTime<Utc>,
) -> Result<(Vec<WriteOp>, Patient, RefreshOutcome), StoreError> {
    let mut patient = current.value.clone();
    let put = |p: &Patient| patients::put_patient_op(p, Some(current.version));
    match answer {
        Answer::Found(pds) => match pds.superseded_by(requested) {
            None => {
                update::apply_pds_patient(&mut patient, pds, now);
                Ok((vec![put(&patient)], patient, RefreshOutcome::Updated { nhs_number_changed: false }))
            }
            Some(new_number) => match holder_of(store, new_number, patient.id).await? {
                Some(holder) => {
                    let (ops, kept) = merge::merge_ops(store, current, &holder, pds, now).await?;
                    Ok((ops, kept, RefreshOutcome::MergedInto(holder.value.id)))
                }
                None => {
                    let mut ops = Vec::new();
                    if let Some(op) = release_reservation_op(store, &patient).await? {
                        ops.push(op);
                    }
                    patient.attributes.nhs_number = Some(new_number.to_string());
                    update::apply_pds_patient(&mut patient, pds, now);
                    ops.push(put(&patient));
                    // Fails the transaction if another patient reserved the number meanwhile: the retry merges.
                    ops.push(patients::reserve_nhs_number_op(new_number, patient.id));
                    Ok((ops, patient, RefreshOutcome::Updated { nhs_number_changed: true }))
                }
            },
        },
        Answer::NotFound => {
            let mut ops = Vec::new();
            if let Some(op) = release_reservation_op(store, &patient).await? {
                ops.push(op);
            }
            update::clear_nhs_number(&mut patient, now);
            ops.push(put(&patient));
            Ok((ops, patient, RefreshOutcome::SearchNeeded(SearchReason::NotFound)))
        }
        Answer::Invalid => {
            update::mark_invalidated(&mut patient, now);
            Ok((vec![put(&patient)], patient, RefreshOutcome::SearchNeeded(SearchReason::Invalidated)))
        }
    }
}

/// Another patient holding `nhs_number`: the one its reservation names, else any the NHS-number index lists.
async fn holder_of(
    store: &dyn RecordStore,
    nhs_number: &str,
    except: Uuid,
) -> Result<Option<Versioned<Patient>>, StoreError> {
    if let Some(item) = store.get(&keys::nhs_number_reservation(nhs_number)).await?
        && let Some(id) = item.body.get("patient_id").and_then(|v| v.as_str()).and_then(|s| s.parse::<Uuid>().ok())
        && id != except
        && let Some(holder) = patients::get(store, id).await?
    {
        return Ok(Some(holder));
    }
    let candidates = patients::match_candidates(store, Some(nhs_number), None, None).await?;
    Ok(candidates
        .into_iter()
        .find(|c| c.value.id != except && c.value.attributes.nhs_number.as_deref() == Some(nhs_number)))
}

/// Deletes the reservation of the patient's current NHS number, if it is this patient's (conditional on its version,
/// so a reservation taken over meanwhile is never removed).
async fn release_reservation_op(store: &dyn RecordStore, patient: &Patient) -> Result<Option<WriteOp>, StoreError> {
    let Some(nhs) = patient.attributes.nhs_number.as_deref() else { return Ok(None) };
    let key = keys::nhs_number_reservation(nhs);
    let Some(item) = store.get(&key).await? else { return Ok(None) };
    let owner = item.body.get("patient_id").and_then(|v| v.as_str()).and_then(|s| s.parse::<Uuid>().ok());
    Ok((owner == Some(patient.id)).then_some(WriteOp::Delete { key, condition: Condition::VersionIs(item.version) }))
}

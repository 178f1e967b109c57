//! The writes other code makes so that records sync: the "needs sync" marker that goes into the same transaction as
//! a record change, and the hooks for a patient whose NHS number arrived or changed, or whose import committed.
//! Each hook only writes markers (the outbox): the fhir function's sweep enqueues them, so a crash between the write
//! and a queue send loses nothing.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::rules::is_sync_source;
use crate::domain::Patient;
use crate::domain::vaccination::VaccinationRecord;
use crate::ports::{RecordStore, StoreError, WriteOp};
use crate::store::{imms, patients, vaccinations};

/// The marker op for a changed record (None for records that never sync): add it to the record's transaction.
pub fn record_changed_op(record: &VaccinationRecord, at: DateTime<Utc>) -> Option<WriteOp> {
    is_sync_source(record).then(|| imms::mark_pending_op(record.id, at))
}

/// A patient's NHS number was set or changed (PDS, a user): every record of theirs that syncs is marked (created
/// now that it can be, or updated with the new number), and a history search is asked for.
pub async fn nhs_number_changed(
    store: &dyn RecordStore,
    patient_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let ops: Vec<WriteOp> = vaccinations::of_patient(store, patient_id)
        .await?
        .iter()
        .filter_map(|record| record_changed_op(record, now))
        .collect();
    write_markers(store, ops).await?;
    imms::request_search(store, patient_id).await
}

/// An import committed: each of its patients with an NHS number gets a history search, and records of theirs that
/// waited for a number (never sent, no marker) are marked, since PDS may have supplied it in this import.
/// A hundred patients at a time, their records looked up and their markers written together.
pub async fn import_committed(store: &dyn RecordStore, import_id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
    const PATIENTS_AT_ONCE: usize = 100;
    let patient_ids = patients::of_import(store, import_id).await?;
    for chunk in patient_ids.chunks(PATIENTS_AT_ONCE) {
        let keys = chunk.iter().map(|id| crate::store::keys::patient(*id)).collect();
        let found = crate::store::versioned_many::<Patient>(store, keys).await?;
        let with_numbers: Vec<Patient> =
            found.into_values().map(|p| p.value).filter(|p| p.attributes.nhs_number.is_some()).collect();
        let ids: Vec<Uuid> = with_numbers.iter().map(|p| p.id).collect();
        let mut ops = Vec::new();
        for (patient, records) in with_numbers.iter().zip(vaccinations::of_patients(store, &ids).await?) {
            for record in records {
                if is_sync_source(&record) && waits_for_a_number(store, &record, patient).await? {
                    ops.extend(record_changed_op(&record, now));
                }
            }
        }
        write_markers(store, ops).await?;
        imms::request_searches(store, ids).await?;
    }
    Ok(())
}

/// A record never sent to the API and without a marker, that may be sent now.
async fn waits_for_a_number(
    store: &dyn RecordStore,
    record: &VaccinationRecord,
    patient: &Patient,
) -> Result<bool, StoreError> {
    if imms::get_pending(store, record.id).await?.is_some() {
        return Ok(false);
    }
    let in_api = imms::get_link(store, record.id).await?.is_some_and(|l| l.value.api_id.is_some());
    Ok(!in_api && super::rules::eligibility(record, Some(patient)).is_ok())
}

async fn write_markers(store: &dyn RecordStore, ops: Vec<WriteOp>) -> Result<(), StoreError> {
    for chunk in ops.chunks(crate::ports::record_store::MAX_TRANSACTION_OPS) {
        store.transact(chunk.to_vec()).await?;
    }
    Ok(())
}

/// The PDS refresh's hook (§6.1: a patient's NHS number or invalidation changed): a superseding number updates the
/// API copies; a number PDS no longer knows, or an invalidated record, takes them out of the API (no longer
/// eligible). Anything else changes nothing the API holds.
pub async fn after_pds_refresh(
    store: &dyn RecordStore,
    patient_id: Uuid,
    outcome: &crate::pds_refresh::RefreshOutcome,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use crate::pds_refresh::RefreshOutcome;
    match outcome {
        RefreshOutcome::Updated { nhs_number_changed: true } | RefreshOutcome::SearchNeeded(_) => {
            nhs_number_changed(store, patient_id, now).await
        }
        _ => Ok(()),
    }
}

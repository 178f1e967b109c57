//! The post-commit GET refresh (mavis-import.md §11.3, §11.4): every patient of a committed import who has an NHS
//! number is fetched from PDS (paced by the same limiter as the searches) and `pds_refresh` applies the answer. When
//! PDS says the number is not found or invalid, the patient is searched for (the cascade of §11.1) and a unique find
//! is adopted.

use futures::{StreamExt, stream};
use uuid::Uuid;

use super::PdsMessage;
use crate::clock::Clock;
use crate::pds::cascade::{self, CascadeError, Identity, SearchRecord};
use crate::pds_refresh::{self, PatientFetcher, RefreshOutcome};
use crate::pipeline::pds_step::{Paced, PdsSettings};
use crate::pipeline::{Pipeline, PipelineError};
use crate::ports::{Queue, RecordStore};
use crate::store::patients;

/// Patients per RefreshPatients message.
const REFRESH_PAGE: usize = 100;

/// Queues the GET refresh of every patient linked to the import. Does nothing without a pds queue and a PDS GET
/// client (the refresh is then off). Called after a child-record or class-list commit, and by the vaccination-records
/// pipeline straight after its commit.
pub async fn send_refresh(pipeline: &Pipeline, import_id: Uuid) -> Result<(), PipelineError> {
    let Some(pds) = &pipeline.settings.pds else { return Ok(()) };
    let (Some(queue), Some(_)) = (&pds.queue, &pds.fetcher) else { return Ok(()) };
    let ids = patients::of_import(pipeline.records.as_ref(), import_id).await?;
    send_refresh_pages(queue.as_ref(), &ids).await?;
    tracing::info!(%import_id, patients = ids.len(), "PDS GET refresh queued");
    Ok(())
}

/// Sends RefreshPatients messages for `ids`, in their order, a page per message.
pub(super) async fn send_refresh_pages(queue: &dyn Queue, ids: &[Uuid]) -> Result<(), PipelineError> {
    if ids.is_empty() {
        return Ok(());
    }
    let bodies: Vec<String> = ids
        .chunks(REFRESH_PAGE)
        .map(|chunk| PdsMessage::RefreshPatients { patient_ids: chunk.to_vec() }.body())
        .collect();
    queue.send_batch(bodies).await?;
    Ok(())
}

/// Refreshes each patient; fails (for a redelivery) when any of them could not be refreshed now. A redelivery
/// fetches the whole page again, which is harmless: applying the same answer twice changes nothing.
pub(super) async fn refresh_patients(
    pipeline: &Pipeline,
    pds: &PdsSettings,
    patient_ids: &[Uuid],
) -> Result<(), PipelineError> {
    let Some(fetcher) = &pds.fetcher else { return Ok(()) };
    let store = pipeline.records.as_ref();
    let paced = Paced::new(store, pds);
    let refreshed: Vec<bool> = stream::iter(patient_ids.iter().copied())
        .map(|id| refresh_one(store, &paced, fetcher.as_ref(), pds, id, &pipeline.settings.clock))
        .buffer_unordered(pds.concurrency.max(1))
        .collect()
        .await;
    let failed = refreshed.iter().filter(|done| !**done).count();
    if failed > 0 {
        return Err(PipelineError::PdsRefreshDeferred { patients: failed });
    }
    Ok(())
}

/// One patient: false when it must be tried again later. Nothing about the patient but its id is logged.
async fn refresh_one(
    store: &dyn RecordStore,
    paced: &Paced<'_>,
    fetcher: &dyn PatientFetcher,
    pds: &PdsSettings,
    patient_id: Uuid,
    clock: &Clock,
) -> bool {
    let patient = match patients::get(store, patient_id).await {
        Ok(Some(patient)) => patient,
        Ok(None) => return true,
        Err(error) => {
            tracing::warn!(%patient_id, %error, "cannot read the patient to refresh");
            return false;
        }
    };
    let Some(nhs_number) = patient.value.attributes.nhs_number else { return true };
    for attempt in 0..pds.max_attempts.max(1) {
        let result = paced.get_patient(fetcher, &nhs_number).await;
        if let Err(error) = &result
            && error.is_transient()
        {
            tracing::info!(%patient_id, %error, attempt, "PDS GET deferred");
            tokio::time::sleep(crate::pacing::backoff(attempt, pds.backoff_base, pds.backoff_cap)).await;
            continue;
        }
        return match pds_refresh::apply_get_result(store, patient_id, &nhs_number, result, clock.now()).await {
            Ok(refreshed) => match refreshed.outcome {
                RefreshOutcome::SearchNeeded(_) => search_again(store, paced, fetcher, pds, patient_id, clock).await,
                _ => true,
            },
            Err(error) if error.is_transient() => {
                tracing::warn!(%patient_id, %error, "PDS refresh will be retried");
                false
            }
            Err(error) => {
                // PDS refused the GET for good (not a status that §11.3 acts on): retrying cannot change that.
                tracing::warn!(%patient_id, %error, "PDS refresh failed");
                true
            }
        };
    }
    false
}

/// §11.3 "then search for it": the cascading search with the patient's details; exactly one number found is
/// fetched and adopted (`pds_refresh::apply_found_number`). False when PDS kept deferring (the message is retried;
/// the GET before it is then repeated, which is harmless).
async fn search_again(
    store: &dyn RecordStore,
    paced: &Paced<'_>,
    fetcher: &dyn PatientFetcher,
    pds: &PdsSettings,
    patient_id: Uuid,
    clock: &Clock,
) -> bool {
    let patient = match patients::get(store, patient_id).await {
        Ok(Some(patient)) => patient.value,
        Ok(None) => return true,
        Err(error) => {
            tracing::warn!(%patient_id, %error, "cannot read the patient to search for");
            return false;
        }
    };
    let attributes = &patient.attributes;
    let (Some(given_name), Some(family_name), Some(date_of_birth)) =
        (attributes.given_name.clone(), attributes.family_name.clone(), attributes.date_of_birth)
    else {
        return true;
    };
    let identity = Identity { given_name, family_name, date_of_birth, postcode: attributes.address_postcode.clone() };
    let mut records: Vec<SearchRecord> = Vec::new();
    let mut finished = false;
    for attempt in 0..pds.max_attempts.max(1) {
        match cascade::resume(paced, &identity, &records, clock).await {
            Ok(done) => {
                records = done;
                finished = true;
                break;
            }
            Err(CascadeError::Retry { records: so_far, .. }) => {
                records = so_far;
                tokio::time::sleep(crate::pacing::backoff(attempt, pds.backoff_base, pds.backoff_cap)).await;
            }
        }
    }
    if !finished {
        return false;
    }
    let Some(found) = cascade::outcome(&records).pds_nhs_number else {
        tracing::info!(%patient_id, steps = records.len(), "PDS search after the refresh found no unique number");
        return true;
    };
    let previous = attributes.nhs_number.clone();
    for attempt in 0..pds.max_attempts.max(1) {
        let result = paced.get_patient(fetcher, &found).await;
        if let Err(error) = &result
            && error.is_transient()
        {
            tokio::time::sleep(crate::pacing::backoff(attempt, pds.backoff_base, pds.backoff_cap)).await;
            continue;
        }
        return match pds_refresh::apply_found_number(store, patient_id, previous.as_deref(), result, clock.now()).await
        {
            Ok(refreshed) => {
                tracing::info!(%patient_id, outcome = ?refreshed.outcome, "number found by the search adopted");
                true
            }
            Err(error) => {
                tracing::warn!(%patient_id, %error, "number found by the search not adopted");
                !error.is_transient()
            }
        };
    }
    false
}

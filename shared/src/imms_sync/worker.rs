//! The fhir function's work: one queue message syncs one record (create, update or delete per §6.3) or searches one
//! patient's history (§7); the sweep re-enqueues what was marked but never delivered.
//!
//! Idempotent under redelivery: the marker is cleared only after the API call and the link write, so a redelivered
//! message repeats at most the last call; a repeated create gets 422 duplicate and adopts the record the API already
//! holds (looked up by our identifier), so the API never holds two copies.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules::{self, Action, NotSynced};
use crate::clock::Clock;
use crate::domain::ReferenceData;
use crate::domain::notice::{ImportantNotice, NoticeKind};
use crate::domain::patient::Patient;
use crate::domain::vaccination::VaccinationRecord;
use crate::fhir;
use crate::nhs_api::immunisations::{ImmsClient, ImmsError, Stored};
use crate::nhs_api::pds::RequestIds;
use crate::pacing::RatePacer;
use crate::ports::{Queue, QueueError, RecordStore, StoreError};
use crate::store::imms::{self, ImmsLink, PendingMarker};
use crate::store::imports::Versioned;
use crate::store::{notices, patients, vaccinations};

/// One queue message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SyncMessage {
    Sync { record_id: Uuid },
    Search { patient_id: Uuid },
}

impl SyncMessage {
    pub fn body(&self) -> String {
        serde_json::to_string(self).expect("a message serialises")
    }
}

/// Requests a second when `MAVIS_IMMS_RATE_PER_SECOND` is not set (Mavis's throttle, nhs-apis.md §6.6).
pub const DEFAULT_IMMS_RATE_PER_SECOND: u32 = 20;
/// The pacing bucket, shared by every invocation through the record store.
pub const PACING_BUCKET: &str = "imms";

#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub requests_per_second: u32,
    /// History searches ask only for vaccinations on or after this date (the user guide: 1 September 2025).
    pub history_since: Option<NaiveDate>,
    /// The sweep re-enqueues markers older than this (a message should have handled them by then).
    pub sweep_after: chrono::Duration,
    /// Patients are searched again after this long.
    pub search_every: chrono::Duration,
    /// At most this many markers or searches per sweep.
    pub sweep_batch: usize,
    /// "Now" for sync timestamps and the sweep.
    pub clock: Clock,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            requests_per_second: DEFAULT_IMMS_RATE_PER_SECOND,
            history_since: NaiveDate::from_ymd_opt(2025, 9, 1),
            sweep_after: chrono::Duration::minutes(3),
            search_every: chrono::Duration::days(28),
            sweep_batch: 500,
            clock: Clock::system(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Api(#[from] ImmsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("the record kept changing while it was synced")]
    Contended,
    #[error("not a sync message: {0}")]
    BadMessage(String),
}

impl SyncError {
    /// Worth retrying the message (else it is acknowledged; the marker stays and the sweep tries again later).
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Api(e) => e.is_transient(),
            SyncError::Store(e) => matches!(e, StoreError::Transient(_) | StoreError::Conflict(_)),
            SyncError::Queue(_) | SyncError::Contended => true,
            SyncError::BadMessage(_) => false,
        }
    }
}

/// What a sync message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synced {
    Created,
    Updated,
    Deleted,
    /// No marker (already handled), or nothing to send.
    Nothing,
}

/// Everything the fhir function needs. Cheap to clone.
#[derive(Clone)]
pub struct ImmsSync {
    pub records: Arc<dyn RecordStore>,
    pub client: ImmsClient,
    pub reference: Arc<ReferenceData>,
    pub settings: SyncSettings,
}

impl ImmsSync {
    /// The sync for one invocation: with the reference data of `live`, re-read first when older than its time to
    /// live.
    pub async fn with_current_reference(&self, live: &crate::reference::live::LiveReference) -> ImmsSync {
        ImmsSync { reference: live.refresh_if_stale(self.settings.clock.now()).await, ..self.clone() }
    }

    /// Handles one message body.
    pub async fn handle(&self, body: &str) -> Result<(), SyncError> {
        match serde_json::from_str::<SyncMessage>(body).map_err(|e| SyncError::BadMessage(e.to_string()))? {
            SyncMessage::Sync { record_id } => self.sync_record(record_id).await.map(|_| ()),
            SyncMessage::Search { patient_id } => self.search_history(patient_id).await.map(|_| ()),
        }
    }

    pub(super) async fn pace(&self) -> Result<(), StoreError> {
        RatePacer::new(self.records.as_ref(), PACING_BUCKET, self.settings.requests_per_second).acquire().await?;
        Ok(())
    }

    /// Brings the API in line with the record, if its marker is set.
    pub async fn sync_record(&self, record_id: Uuid) -> Result<Synced, SyncError> {
        let store = self.records.as_ref();
        let Some(marker) = imms::get_pending(store, record_id).await? else { return Ok(Synced::Nothing) };
        let record = vaccinations::get(store, record_id).await?.map(|r| r.value);
        let patient = match &record {
            Some(record) => patients::get(store, record.patient_id).await?.map(|p| p.value),
            None => None,
        };
        let link = imms::get_link(store, record_id).await?;
        let mut new_link =
            link.as_ref().map(|l| l.value.clone()).unwrap_or(ImmsLink { record_id, ..ImmsLink::default() });
        let eligibility = match &record {
            Some(record) => rules::eligibility(record, patient.as_ref()),
            None => Err(NotSynced::Discarded),
        };
        let action = rules::decide(new_link.api_id.is_some(), eligibility.is_ok());
        let ids = RequestIds::new();
        let result = match (action, &record, &patient) {
            (Action::Create, Some(record), Some(patient)) => {
                self.create(record, patient, &mut new_link, &ids).await.map(|()| Synced::Created)
            }
            (Action::Update, Some(record), Some(patient)) => self.update(record, patient, &mut new_link, &ids).await,
            (Action::Delete, _, _) => self.delete(&mut new_link, &ids).await.map(|()| Synced::Deleted),
            _ => Ok(Synced::Nothing),
        };
        let done = match result {
            Ok(done) => done,
            Err(e) if e.is_transient() => return Err(e.into()),
            Err(e) => {
                // Final: keep the marker (the record shows pending, then failed) and note why for operators.
                tracing::warn!(record_id = %record_id, error = %e, "Imms API refused the record");
                new_link.last_error = Some(e.diagnostics().unwrap_or(&e.to_string()).to_owned());
                self.save_link(&new_link, link.as_ref(), None).await?;
                return Err(e.into());
            }
        };
        if done != Synced::Nothing {
            new_link.synced_at = Some(self.settings.clock.now());
            new_link.last_error = None;
        }
        if eligibility == Err(NotSynced::Gillick)
            && let (Some(record), Some(patient)) = (&record, &patient)
        {
            self.raise_gillick_notice(record, patient).await?;
        }
        self.save_link(&new_link, link.as_ref(), Some(&marker)).await?;
        tracing::info!(record_id = %record_id, action = ?done, "record synced with the Imms API");
        Ok(done)
    }

    async fn create(
        &self,
        record: &VaccinationRecord,
        patient: &Patient,
        link: &mut ImmsLink,
        ids: &RequestIds,
    ) -> Result<(), ImmsError> {
        let body = fhir::to_immunization(record, patient, &self.reference, fhir_catalogue(), None)
            .map_err(|e| ImmsError::Unexpected(e.to_string()))?;
        self.pace().await.map_err(store_unavailable)?;
        let stored = match self.client.create(&body, ids).await {
            Ok(stored) => stored,
            Err(ImmsError::Duplicate) => {
                // An earlier attempt created it (its answer was lost): adopt that record, then bring it up to date.
                let (system, value) = fhir::identifier(record);
                self.pace().await.map_err(store_unavailable)?;
                let found = self.client.find_by_identifier(system, &value, &RequestIds::new()).await?;
                let Stored { id, version } = found.ok_or(ImmsError::Duplicate)?;
                link.api_id = Some(id.clone());
                link.version = Some(version);
                let body = fhir::to_immunization(record, patient, &self.reference, fhir_catalogue(), Some(&id))
                    .map_err(|e| ImmsError::Unexpected(e.to_string()))?;
                self.pace().await.map_err(store_unavailable)?;
                let version = self.client.update(&id, &body, version, &RequestIds::new()).await?;
                link.version = Some(version);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        link.api_id = Some(stored.id);
        link.version = Some(stored.version);
        Ok(())
    }

    async fn update(
        &self,
        record: &VaccinationRecord,
        patient: &Patient,
        link: &mut ImmsLink,
        ids: &RequestIds,
    ) -> Result<Synced, ImmsError> {
        let id = link.api_id.clone().unwrap_or_default();
        let body = fhir::to_immunization(record, patient, &self.reference, fhir_catalogue(), Some(&id))
            .map_err(|e| ImmsError::Unexpected(e.to_string()))?;
        let mut version = link.version.unwrap_or(1);
        for attempt in 0..2 {
            self.pace().await.map_err(store_unavailable)?;
            match self.client.update(&id, &body, version, ids).await {
                Ok(new_version) => {
                    link.version = Some(new_version);
                    return Ok(Synced::Updated);
                }
                Err(ImmsError::VersionMismatch { .. }) if attempt == 0 => {
                    // Our stored version is stale (an update's answer was lost): read the current one and retry.
                    self.pace().await.map_err(store_unavailable)?;
                    version = self.client.read(&id, &RequestIds::new()).await?.1;
                }
                Err(ImmsError::NotFound) => {
                    // Gone from the API (deleted there): send it again as a new record.
                    link.api_id = None;
                    link.version = None;
                    return self.create(record, patient, link, ids).await.map(|()| Synced::Created);
                }
                Err(e) => return Err(e),
            }
        }
        Err(ImmsError::VersionMismatch { diagnostics: None })
    }

    async fn delete(&self, link: &mut ImmsLink, ids: &RequestIds) -> Result<(), ImmsError> {
        let id = link.api_id.clone().unwrap_or_default();
        self.pace().await.map_err(store_unavailable)?;
        match self.client.delete(&id, ids).await {
            // Already deleted: a redelivered delete, or deleted there.
            Ok(()) | Err(ImmsError::NotFound) => {
                link.api_id = None;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Writes the link and, when `marker` is given, clears it in the same transaction. If the record was marked
    /// again meanwhile, the link is written alone and the newer marker stays for its own message.
    async fn save_link(
        &self,
        link: &ImmsLink,
        current: Option<&Versioned<ImmsLink>>,
        marker: Option<&Versioned<PendingMarker>>,
    ) -> Result<(), SyncError> {
        let store = self.records.as_ref();
        let put = imms::put_link_op(link, current.map(|c| c.version));
        if let Some(marker) = marker {
            match store.transact(vec![put.clone(), imms::clear_pending_op(marker)]).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        match store.transact(vec![put]).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(SyncError::Contended),
            Err(e) => Err(e.into()),
        }
    }

    /// §10: a Gillick no-notify record raises one notice per record for the team (idempotent: the id is derived).
    async fn raise_gillick_notice(&self, record: &VaccinationRecord, patient: &Patient) -> Result<(), StoreError> {
        let mut notice =
            ImportantNotice::new(patient.id, &record.team_id, NoticeKind::GillickNoNotify, record.created_at);
        notice.programme_name = Some(record.details.programme.name().to_owned());
        match self.records.transact(vec![notices::create_op(&notice)]).await {
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Enqueues a message for every marker older than the sweep age, and every history search that is due.
    pub async fn sweep(&self, queue: &dyn Queue, now: DateTime<Utc>) -> Result<usize, SyncError> {
        let store = self.records.as_ref();
        let batch = self.settings.sweep_batch;
        let mut bodies: Vec<String> = imms::pending_before(store, now - self.settings.sweep_after, batch)
            .await?
            .into_iter()
            .map(|m| SyncMessage::Sync { record_id: m.record_id }.body())
            .collect();
        let due = imms::searches_due(store, now - self.settings.search_every, batch).await?;
        bodies.extend(due.into_iter().map(|patient_id| SyncMessage::Search { patient_id }.body()));
        let count = bodies.len();
        if count > 0 {
            queue.send_batch(bodies).await?;
            tracing::info!(messages = count, "Imms sync sweep enqueued");
        }
        Ok(count)
    }
}

fn fhir_catalogue() -> &'static crate::reference::vaccines::VaccineCatalogue {
    crate::pipeline::vaccination_records::catalogue()
}

/// The pacer could not reach the record store: as transient as the API being unavailable.
fn store_unavailable(e: StoreError) -> ImmsError {
    tracing::warn!(error = %e, "Imms pacing could not reach the record store");
    ImmsError::Unavailable { status: None }
}

/// Enqueues a sync of one record right away (the marker must already be written); a failure is only logged, since
/// the sweep sends it later.
pub async fn enqueue_sync(queue: Option<&dyn Queue>, record_id: Uuid) {
    if let Some(queue) = queue
        && let Err(e) = queue.send_batch(vec![SyncMessage::Sync { record_id }.body()]).await
    {
        tracing::warn!(record_id = %record_id, error = %e, "could not enqueue a sync; the sweep will");
    }
}

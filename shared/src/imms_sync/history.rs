//! History pull (nhs-apis.md §7): search the API for a child's vaccinations and add the ones this service does not
//! know, with the de-duplication rules of §7.5, so a child vaccinated by their GP is not vaccinated twice.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use uuid::Uuid;

use super::worker::{ImmsSync, SyncError};
use crate::domain::Programme;
use crate::domain::vaccination::{RecordSource, VaccinationRecord};
use crate::fhir::{self, ApiRecord, RECORD_IDENTIFIER_SYSTEM, Variant};
use crate::nhs_api::pds::RequestIds;
use crate::ports::{Condition, RecordStore, StoreError, WriteOp};
use crate::store::imms::{self, ImmsLink};
use crate::store::{keys, patients, vaccinations};

/// Fixed namespace: a record found in the API gets an id derived from its API id, so a repeated search never inserts
/// it twice.
const API_RECORD_NAMESPACE: Uuid = Uuid::from_u128(0x6d61_7669_732d_696d_6d73_2d68_6973_0001);

/// What a search changed in the child's history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryChanges {
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    /// Found but left out: a duplicate of one of ours, a non-primary duplicate, or not mappable.
    pub skipped: usize,
}

/// `(date, programme)`: the group §7.5 de-duplicates within.
type Group = (NaiveDate, Programme);

/// §7.5 over the found records, given the groups holding one of this service's own records.
pub fn deduplicate(found: Vec<ApiRecord>, ours: &BTreeSet<Group>) -> (Vec<ApiRecord>, usize) {
    let total = found.len();
    let mut groups: BTreeMap<Group, Vec<ApiRecord>> = BTreeMap::new();
    for record in found {
        // A record this service sent is ours whatever its date now says.
        if record.identifier_system == RECORD_IDENTIFIER_SYSTEM {
            continue;
        }
        let group = (record.details.performed_on(), record.details.programme);
        if !ours.contains(&group) {
            groups.entry(group).or_default().push(record);
        }
    }
    let kept: Vec<ApiRecord> = groups
        .into_values()
        .flat_map(|group| {
            let any_primary = group.iter().any(|r| r.primary_source);
            group.into_iter().filter(move |r| !any_primary || r.primary_source)
        })
        .collect();
    let skipped = total - kept.len();
    (kept, skipped)
}

impl ImmsSync {
    /// Searches one patient's history and reconciles it (§7.6). Patients without a usable NHS number (none, or
    /// invalidated) are not searched: their records from the API are removed.
    pub async fn search_history(&self, patient_id: Uuid) -> Result<HistoryChanges, SyncError> {
        let store = self.records.as_ref();
        let Some(patient) = patients::get(store, patient_id).await?.map(|p| p.value) else {
            return Ok(HistoryChanges::default());
        };
        let nhs_number = match &patient.attributes.nhs_number {
            Some(number) if patient.invalidated_at.is_none() => number.clone(),
            // §7.6 with nothing found: a child who lost their number, or whose number was invalidated, no longer has
            // a history in the API, so what earlier searches brought in is removed.
            _ => {
                let existing = vaccinations::of_patient(store, patient_id).await?;
                let removed = remove_api_records(store, patient_id, &existing, &BTreeSet::new()).await?;
                imms::searched(store, patient_id, self.settings.clock.now()).await?;
                tracing::info!(patient_id = %patient_id, removed, "Imms history cleared: no usable NHS number");
                return Ok(HistoryChanges { removed, ..HistoryChanges::default() });
            }
        };
        let since = self.settings.history_since;
        self.pace().await?;
        let bundle = self.client.search(&nhs_number, &Variant::all_targets(), since, &RequestIds::new()).await?;
        if !bundle.warnings.is_empty() {
            tracing::warn!(warnings = bundle.warnings.len(), "Imms search answered with warnings");
        }
        let catalogue = crate::pipeline::vaccination_records::catalogue();
        let mut unmappable = 0;
        let found: Vec<ApiRecord> = bundle
            .immunizations
            .iter()
            .filter_map(|resource| match fhir::from_immunization(resource, catalogue, &self.reference) {
                Ok(record) => Some(record),
                Err(e) => {
                    unmappable += 1;
                    tracing::info!(reason = %e, "Imms search result not imported");
                    None
                }
            })
            .filter(|r| since.is_none_or(|since| r.details.performed_on() >= since))
            .collect();

        let existing = vaccinations::of_patient(store, patient_id).await?;
        let ours: BTreeSet<Group> = existing
            .iter()
            .filter(|r| r.details.source == RecordSource::Service && r.discarded_at.is_none())
            .map(|r| (r.details.performed_on(), r.details.programme))
            .collect();
        let (kept, skipped) = deduplicate(found, &ours);
        let mut changes = HistoryChanges { skipped: skipped + unmappable, ..HistoryChanges::default() };

        let now = self.settings.clock.now();
        let kept_ids: BTreeSet<Uuid> = kept.iter().map(|r| api_record_id(&r.api_id)).collect();
        changes.removed = remove_api_records(store, patient_id, &existing, &kept_ids).await?;
        let team_id = patient.team_ids.first().cloned().unwrap_or_default();
        for found in kept {
            let id = api_record_id(&found.api_id);
            let link = ImmsLink {
                record_id: id,
                api_id: Some(found.api_id.clone()),
                version: Some(found.version),
                synced_at: Some(now),
                identifier_system: Some(found.identifier_system.clone()),
                identifier_value: Some(found.identifier_value.clone()),
                primary_source: Some(found.primary_source),
                last_error: None,
            };
            let mut ops = vec![WriteOp::Put { item: imms::link_item(&link, 1), condition: Condition::None }];
            match vaccinations::get(store, id).await? {
                Some(current) if current.value.details == found.details => continue,
                Some(current) => {
                    let mut record = current.value.clone();
                    record.details = found.details;
                    record.updated_at = now;
                    ops.push(vaccinations::update_op(&record, current.version));
                    changes.updated += 1;
                }
                None => {
                    let record = VaccinationRecord {
                        id,
                        patient_id,
                        team_id: team_id.clone(),
                        details: found.details,
                        pending_changes: BTreeMap::new(),
                        discarded_at: None,
                        created_at: now,
                        updated_at: now,
                    };
                    ops.extend(vaccinations::create_ops(&record));
                    changes.added += 1;
                }
            }
            match store.transact(ops).await {
                Ok(()) => {}
                // Another search of the same patient wrote it first.
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        imms::searched(store, patient_id, now).await?;
        tracing::info!(patient_id = %patient_id, added = changes.added, updated = changes.updated,
            removed = changes.removed, skipped = changes.skipped, "Imms history searched");
        Ok(changes)
    }
}

/// Removes the patient's records that came from the API (§7.6) except `kept`, as Mavis does: they were deleted
/// upstream, are now a duplicate of ours, or the child no longer has a number to search with. Returns how many.
async fn remove_api_records(
    store: &dyn RecordStore,
    patient_id: Uuid,
    existing: &[VaccinationRecord],
    kept: &BTreeSet<Uuid>,
) -> Result<usize, StoreError> {
    let mut removed = 0;
    for old in existing.iter().filter(|r| r.details.source == RecordSource::NhsImmunisationsApi) {
        if kept.contains(&old.id) {
            continue;
        }
        store
            .transact(vec![
                WriteOp::Delete { key: keys::vaccination(old.id), condition: Condition::None },
                WriteOp::Delete { key: keys::patient_vaccination(patient_id, old.id), condition: Condition::None },
                WriteOp::Delete { key: keys::imms_link(old.id), condition: Condition::None },
            ])
            .await?;
        removed += 1;
    }
    Ok(removed)
}

pub fn api_record_id(api_id: &str) -> Uuid {
    Uuid::new_v5(&API_RECORD_NAMESPACE, api_id.as_bytes())
}

//! Merging a patient into the existing holder of its superseded NHS number (spec §11.3). The existing patient is
//! kept; in ONE transaction, conditional on both patients' versions, this:
//!
//! - updates the kept patient from PDS and adds the merged patient's teams (and its archive reasons for teams the
//!   kept patient was not in);
//! - moves parent relationships, patient locations and vaccination records (record and patient link) to the kept
//!   patient, re-marking the moved records that sync (their NHS number changed); a relationship or location the kept
//!   patient already has wins;
//! - deletes the merged patient, releases its NHS-number reservation and leaves a `#MERGEDINTO` marker under its id.
//!
//! Not moved: import links (`IMPORT#…/PATIENT#…` has no index by patient, so they keep the old id and readers follow
//! the marker), school-move log entries and a pending school move (they describe the old record's history).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::update::apply_pds_patient;
use crate::domain::Patient;
use crate::nhs_api::PdsPatient;
use crate::ports::{Condition, Item, RecordStore, StoreError, WriteOp};
use crate::store::imports::Versioned;
use crate::store::{keys, patients, vaccinations};

/// Builds the merge transaction and the kept patient as it will be written.
pub(super) async fn merge_ops(
    store: &dyn RecordStore,
    from: &Versioned<Patient>,
    into: &Versioned<Patient>,
    pds: &PdsPatient,
    now: DateTime<Utc>,
) -> Result<(Vec<WriteOp>, Patient), StoreError> {
    let (merged, kept_before) = (&from.value, &into.value);
    let mut kept = kept_before.clone();
    for team in &merged.team_ids {
        if !kept.team_ids.contains(team) {
            kept.team_ids.push(team.clone());
            if let Some(reason) = merged.archived_in.get(team) {
                kept.archived_in.insert(team.clone(), reason.clone());
            }
        }
    }
    apply_pds_patient(&mut kept, pds, now);

    let mut ops = vec![
        patients::put_patient_op(&kept, Some(into.version)),
        WriteOp::Delete { key: keys::patient(merged.id), condition: Condition::VersionIs(from.version) },
        WriteOp::Put {
            item: Item::new(keys::merged_patient(merged.id), json!({ "merged_into": kept.id, "merged_at": now })),
            condition: Condition::None,
        },
    ];
    if let Some(op) = super::release_reservation_op(store, merged).await? {
        ops.push(op);
    }

    let kept_parents: BTreeSet<_> =
        patients::parents_of(store, kept.id).await?.into_iter().map(|(p, _)| p.id).collect();
    for (_, relationship) in patients::parents_of(store, merged.id).await? {
        ops.push(WriteOp::Delete {
            key: keys::parent_relationship(merged.id, relationship.parent_id),
            condition: Condition::None,
        });
        if !kept_parents.contains(&relationship.parent_id) {
            let moved = crate::domain::ParentRelationship { patient_id: kept.id, ..relationship };
            ops.push(WriteOp::Put { item: patients::relationship_item(&moved), condition: Condition::None });
        }
    }

    let kept_locations: BTreeSet<_> =
        patients::locations_of(store, kept.id).await?.into_iter().map(|l| (l.academic_year, l.location)).collect();
    for location in patients::locations_of(store, merged.id).await? {
        ops.push(WriteOp::Delete {
            key: keys::patient_location(merged.id, location.academic_year, &location.location),
            condition: Condition::None,
        });
        if !kept_locations.contains(&(location.academic_year, location.location.clone())) {
            let moved = crate::domain::patient::PatientLocation { patient_id: kept.id, ..location };
            ops.push(WriteOp::Put { item: patients::location_item(&moved), condition: Condition::None });
        }
    }

    for record in vaccinations::of_patient(store, merged.id).await? {
        let Some(current) = vaccinations::get(store, record.id).await? else { continue };
        let mut moved = current.value.clone();
        moved.patient_id = kept.id;
        ops.push(vaccinations::update_op(&moved, current.version));
        // The record's contained patient and NHS number change (nhs-apis.md §6.1): it is re-marked for sync in the
        // same transaction as the move, so the API copy is updated however the process ends.
        ops.extend(crate::imms_sync::record_changed_op(&moved, now));
        ops.push(WriteOp::Delete { key: keys::patient_vaccination(merged.id, record.id), condition: Condition::None });
        ops.push(WriteOp::Put {
            item: Item::new(keys::patient_vaccination(kept.id, record.id), json!({ "record_id": record.id })),
            condition: Condition::None,
        });
    }
    Ok((ops, kept))
}

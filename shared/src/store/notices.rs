//! Important notices as items (key design in `keys`): create idempotently, list a patient's or a team's active
//! notices, find one by id, and dismiss with optimistic versions.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::imports::Versioned;
use super::{decode, encode, keys, query_all};
use crate::domain::notice::{ImportantNotice, NoticeKind};
use crate::ports::{Condition, IndexName, Item, Query, RecordStore, StoreError, WriteOp};

/// The item for a notice at `version`. Only active notices carry the team-listing key, so the team's list never has
/// to skip dismissed ones.
pub fn notice_item(notice: &ImportantNotice, version: u64) -> Item {
    let mut item = Item::new(
        keys::notice(notice.patient_id, &notice.team_id, notice.kind.as_str(), notice.recorded_at),
        encode(notice),
    )
    .with_index(IndexName::Gsi2, keys::notice_by_id(notice.id));
    if notice.is_active() {
        item = item
            .with_index(IndexName::Gsi1, keys::active_notice_of_team(&notice.team_id, notice.recorded_at, notice.id));
    }
    item.version = version;
    item
}

/// Creates a notice unless one with the same unique key exists (active or dismissed): `Conflict` then.
pub fn create_op(notice: &ImportantNotice) -> WriteOp {
    WriteOp::Put { item: notice_item(notice, 1), condition: Condition::NotExists }
}

/// Marks a notice dismissed, if it is still at `version`.
pub fn dismiss_op(notice: &Versioned<ImportantNotice>, at: DateTime<Utc>, by: Option<&str>) -> WriteOp {
    let mut dismissed = notice.value.clone();
    dismissed.dismissed_at = Some(at);
    dismissed.dismissed_by = by.map(str::to_string);
    WriteOp::Put { item: notice_item(&dismissed, notice.version + 1), condition: Condition::VersionIs(notice.version) }
}

/// §10: the dismissals of a patient's active team_changed notices for `team_id`, which a confirmed move back into
/// that team makes (a reviewed move, or one the import pipeline confirms at once). No user: it is automatic.
pub async fn dismiss_team_changed_ops(
    store: &dyn RecordStore,
    patient_id: Uuid,
    team_id: &str,
    at: DateTime<Utc>,
) -> Result<Vec<WriteOp>, StoreError> {
    Ok(of_patient(store, patient_id)
        .await?
        .iter()
        .filter(|n| n.value.kind == NoticeKind::TeamChanged && n.value.team_id == team_id && n.value.is_active())
        .map(|n| dismiss_op(n, at, None))
        .collect())
}

fn versioned(item: &Item) -> Result<Versioned<ImportantNotice>, StoreError> {
    Ok(Versioned { value: decode(item)?, version: item.version })
}

/// Every notice of a patient, in every team, active or not (strongly consistent).
pub async fn of_patient(
    store: &dyn RecordStore,
    patient_id: Uuid,
) -> Result<Vec<Versioned<ImportantNotice>>, StoreError> {
    let query = Query::table(keys::patient(patient_id).pk).prefix(keys::NOTICE_PREFIX);
    query_all(store, query).await?.iter().map(versioned).collect()
}

/// A team's active notices, newest first.
pub async fn active_for_team(store: &dyn RecordStore, team_id: &str) -> Result<Vec<ImportantNotice>, StoreError> {
    let query = Query::index(IndexName::Gsi1, keys::active_notices_of_team_pk(team_id)).descending();
    query_all(store, query).await?.iter().map(decode).collect()
}

/// A notice by id, read back from its home item so that the version is current.
pub async fn get(store: &dyn RecordStore, id: Uuid) -> Result<Option<Versioned<ImportantNotice>>, StoreError> {
    let found = query_all(store, Query::index(IndexName::Gsi2, keys::notice_by_id(id).pk)).await?;
    let Some(hit) = found.first() else { return Ok(None) };
    match store.get(&hit.key).await? {
        Some(item) => Ok(Some(versioned(&item)?)),
        None => Ok(None),
    }
}

/// The notice if it belongs to `team_id`; another team's notice is indistinguishable from a missing one.
pub async fn get_for_team(
    store: &dyn RecordStore,
    team_id: &str,
    id: Uuid,
) -> Result<Option<Versioned<ImportantNotice>>, StoreError> {
    Ok(get(store, id).await?.filter(|n| n.value.team_id == team_id))
}

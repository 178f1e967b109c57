//! Patients, parents, relationships, locations and school-move log entries, as items.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use uuid::Uuid;

use super::imports::Versioned;
use super::{decode, encode, keys, query_all, query_all_each};
use crate::domain::patient::{PatientLocation, SchoolMoveLogEntry};
use crate::domain::{Parent, ParentRelationship, Patient};
use crate::ports::{Condition, IndexName, Item, ItemKey, Query, RecordStore, StoreError, WriteOp};

/// The item for a patient at `version`, with every index key that the patient's data allows.
pub fn patient_item(patient: &Patient, version: u64) -> Item {
    let a = &patient.attributes;
    let mut item = Item::new(keys::patient(patient.id), encode(patient));
    item.version = version;
    if let Some(nhs) = &a.nhs_number {
        item = item.with_index(IndexName::Gsi1, keys::patient_by_nhs_number(nhs, patient.id));
    }
    if let Some(dob) = a.date_of_birth {
        item = item.with_index(IndexName::Gsi2, keys::patient_by_date_of_birth(dob, patient.id));
    }
    if let Some(postcode) = &a.address_postcode {
        item = item.with_index(IndexName::Gsi3, keys::patient_by_postcode(postcode, patient.id));
    }
    if let (crate::domain::patient::SchoolPlacement::School { urn }, Some(bay)) =
        (&patient.school, a.birth_academic_year)
    {
        item = item.with_index(IndexName::Gsi4, keys::patient_by_school(urn, bay.0, patient.id));
    }
    if a.nhs_number.is_some() && patient.date_of_death.is_none() {
        item = item.with_index(IndexName::Gsi5, keys::patient_by_pds_refresh(patient.updated_from_pds_at, patient.id));
    }
    item
}

/// Puts a patient: a new one (`version` None) must not exist yet; an existing one must still be at `version`.
pub fn put_patient_op(patient: &Patient, version: Option<u64>) -> WriteOp {
    match version {
        None => WriteOp::Put { item: patient_item(patient, 1), condition: Condition::NotExists },
        Some(v) => WriteOp::Put { item: patient_item(patient, v + 1), condition: Condition::VersionIs(v) },
    }
}

/// Reserves an NHS number for one patient, so that two concurrent imports cannot both create it.
pub fn reserve_nhs_number_op(nhs_number: &str, patient_id: Uuid) -> WriteOp {
    let item = Item::new(
        ItemKey::new(keys::nhs_number_pk(nhs_number), "#UNIQUE"),
        serde_json::json!({ "patient_id": patient_id }),
    );
    WriteOp::Put { item, condition: Condition::NotExists }
}

pub async fn get(store: &dyn RecordStore, id: Uuid) -> Result<Option<Versioned<Patient>>, StoreError> {
    Ok(match store.get(&keys::patient(id)).await? {
        Some(item) => Some(Versioned { value: decode(&item)?, version: item.version }),
        None => None,
    })
}

/// Every patient sharing the NHS number, the date of birth or the postcode: the superset the matcher narrows.
pub async fn match_candidates(
    store: &dyn RecordStore,
    nhs_number: Option<&str>,
    date_of_birth: Option<NaiveDate>,
    postcode: Option<&str>,
) -> Result<Vec<Versioned<Patient>>, StoreError> {
    let wanted = [CandidatesOf { nhs_number, date_of_birth, postcode }];
    Ok(match_candidates_each(store, &wanted).await?.pop().unwrap_or_default())
}

/// What the candidates of one row are looked up by.
#[derive(Debug, Clone, Copy)]
pub struct CandidatesOf<'a> {
    pub nhs_number: Option<&'a str>,
    pub date_of_birth: Option<NaiveDate>,
    pub postcode: Option<&'a str>,
}

/// [`match_candidates`] for many rows at once, in their order, with all their queries read together.
pub async fn match_candidates_each(
    store: &dyn RecordStore,
    rows: &[CandidatesOf<'_>],
) -> Result<Vec<Vec<Versioned<Patient>>>, StoreError> {
    let mut queries = Vec::new();
    let mut owners = Vec::new();
    for (row, wanted) in rows.iter().enumerate() {
        if let Some(nhs) = wanted.nhs_number {
            queries.push(Query::index(IndexName::Gsi1, keys::nhs_number_pk(nhs)).prefix("PATIENT#"));
            owners.push(row);
        }
        if let Some(dob) = wanted.date_of_birth {
            queries.push(Query::index(IndexName::Gsi2, keys::date_of_birth_pk(dob)));
            owners.push(row);
        }
        if let Some(postcode) = wanted.postcode {
            queries.push(Query::index(IndexName::Gsi3, keys::postcode_pk(postcode)));
            owners.push(row);
        }
    }
    let mut found: Vec<BTreeMap<Uuid, Versioned<Patient>>> = vec![BTreeMap::new(); rows.len()];
    for (row, items) in owners.into_iter().zip(query_all_each(store, queries).await?) {
        for item in items {
            let patient: Patient = decode(&item)?;
            found[row].insert(patient.id, Versioned { value: patient, version: item.version });
        }
    }
    Ok(found.into_iter().map(|patients| patients.into_values().collect()).collect())
}

/// Patients at a school with a given birth academic year (class-list move-outs, aged-out checks).
pub async fn at_school(
    store: &dyn RecordStore,
    school_urn: &str,
    birth_academic_year: i32,
) -> Result<Vec<Patient>, StoreError> {
    let query =
        Query::index(IndexName::Gsi4, keys::school_pk(school_urn)).prefix(format!("BAY#{birth_academic_year}#"));
    query_all(store, query).await?.iter().map(decode).collect()
}

/// Every patient at a school (by the school index, which may lag: re-read a patient before changing it).
pub async fn all_at_school(store: &dyn RecordStore, school_urn: &str) -> Result<Vec<Patient>, StoreError> {
    query_all(store, Query::index(IndexName::Gsi4, keys::school_pk(school_urn))).await?.iter().map(decode).collect()
}

pub fn parent_item(parent: &Parent) -> Item {
    let mut item = Item::new(keys::parent(parent.id), encode(parent));
    if let Some(email) = &parent.email {
        item = item.with_index(IndexName::Gsi1, keys::parent_by_email(email, parent.id));
    }
    item
}

/// Every parent with each of the email addresses, all looked up together (emails are not unique: see
/// `Parent::created_by_import`); an address no parent has maps to none.
pub async fn parents_by_emails(
    store: &dyn RecordStore,
    mut emails: Vec<String>,
) -> Result<std::collections::HashMap<String, Vec<Parent>>, StoreError> {
    emails.sort();
    emails.dedup();
    let queries = emails.iter().map(|email| Query::index(IndexName::Gsi1, keys::parent_email_pk(email))).collect();
    let found = query_all_each(store, queries).await?;
    emails
        .into_iter()
        .zip(found)
        .map(|(email, items)| Ok((email, items.iter().map(decode).collect::<Result<_, _>>()?)))
        .collect()
}

pub fn relationship_item(relationship: &ParentRelationship) -> Item {
    Item::new(keys::parent_relationship(relationship.patient_id, relationship.parent_id), encode(relationship))
}

/// A patient's parents with their relationships.
pub async fn parents_of(
    store: &dyn RecordStore,
    patient_id: Uuid,
) -> Result<Vec<(Parent, ParentRelationship)>, StoreError> {
    Ok(parents_of_each(store, &[patient_id]).await?.pop().unwrap_or_default())
}

/// The parents of each patient with their relationships, in order: the relationships of them all asked for
/// together, then their parents in one read.
pub async fn parents_of_each(
    store: &dyn RecordStore,
    patient_ids: &[Uuid],
) -> Result<Vec<Vec<(Parent, ParentRelationship)>>, StoreError> {
    let queries = patient_ids
        .iter()
        .map(|id| Query::table(keys::patient(*id).pk).prefix(keys::PARENT_RELATIONSHIP_PREFIX))
        .collect();
    let relationships: Vec<Vec<ParentRelationship>> = query_all_each(store, queries)
        .await?
        .iter()
        .map(|items| items.iter().map(decode).collect::<Result<_, _>>())
        .collect::<Result<_, _>>()?;
    let parent_keys: Vec<ItemKey> = relationships.iter().flatten().map(|r| keys::parent(r.parent_id)).collect();
    let parents: BTreeMap<Uuid, Parent> = super::versioned_many::<Parent>(store, parent_keys)
        .await?
        .into_values()
        .map(|parent| (parent.value.id, parent.value))
        .collect();
    let with_parents = |relationships: Vec<ParentRelationship>| {
        relationships.into_iter().filter_map(|r| parents.get(&r.parent_id).cloned().map(|p| (p, r))).collect()
    };
    Ok(relationships.into_iter().map(with_parents).collect())
}

pub fn location_item(location: &PatientLocation) -> Item {
    Item::new(keys::patient_location(location.patient_id, location.academic_year, &location.location), encode(location))
}

pub async fn locations_of(store: &dyn RecordStore, patient_id: Uuid) -> Result<Vec<PatientLocation>, StoreError> {
    let query = Query::table(keys::patient(patient_id).pk).prefix(keys::PATIENT_LOCATION_PREFIX);
    query_all(store, query).await?.iter().map(decode).collect()
}

/// A log entry, listed (gsi1) for the team the child moved to: the school-moves export reads that listing.
pub fn school_move_log_item(entry: &SchoolMoveLogEntry) -> Item {
    let item = Item::new(keys::school_move_log(entry.patient_id, entry.created_at), encode(entry));
    match &entry.team_id {
        Some(team) => {
            item.with_index(IndexName::Gsi1, keys::school_move_log_of_team(team, entry.created_at, entry.patient_id))
        }
        None => item,
    }
}

/// A team's school-move log entries (confirmed moves into the team), oldest first.
pub async fn school_move_log_of_team(
    store: &dyn RecordStore,
    team_id: &str,
) -> Result<Vec<SchoolMoveLogEntry>, StoreError> {
    let query = Query::index(IndexName::Gsi1, keys::school_move_log_of_team_pk(team_id));
    query_all(store, query).await?.iter().map(decode).collect()
}

/// Links an import to a patient it touched ("imported records").
pub fn import_link_item(import_id: Uuid, patient_id: Uuid, row_number: u64) -> Item {
    Item::new(
        keys::import_patient(import_id, patient_id),
        serde_json::json!({ "patient_id": patient_id, "row": row_number }),
    )
}

/// The patients an import touched, in patient-id order.
/// Patients with an NHS number, not deceased, last refreshed from PDS before `refreshed_before` (never refreshed
/// first), oldest first, at most `limit` (gsi5, mavis-import.md §11.4).
pub async fn due_pds_refresh(
    store: &dyn RecordStore,
    refreshed_before: chrono::DateTime<chrono::Utc>,
    limit: usize,
) -> Result<Vec<Uuid>, StoreError> {
    let cutoff = refreshed_before.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut due = Vec::new();
    let mut after = None;
    loop {
        let query = Query::index(IndexName::Gsi5, keys::PDS_REFRESH_PK).limit(limit.clamp(1, 500)).after(after);
        let page = store.query(&query).await?;
        for item in &page.items {
            let sort_key = item.index(IndexName::Gsi5).map(|k| k.sk.as_str()).unwrap_or_default();
            if sort_key >= cutoff.as_str() || due.len() >= limit {
                return Ok(due);
            }
            let patient: Patient = decode(item)?;
            due.push(patient.id);
        }
        match page.next {
            Some(cursor) => after = Some(cursor),
            None => return Ok(due),
        }
    }
}

pub async fn of_import(store: &dyn RecordStore, import_id: Uuid) -> Result<Vec<Uuid>, StoreError> {
    let query = Query::table(keys::import(import_id).pk).prefix(keys::IMPORT_PATIENT_PREFIX);
    Ok(query_all(store, query)
        .await?
        .iter()
        .filter_map(|item| item.body.get("patient_id").and_then(|v| v.as_str()).and_then(|s| s.parse().ok()))
        .collect())
}

/// A pending school move, listed (gsi1) for the team that will review it, and (gsi2..gsi4) for up to three more teams
/// that also see it: §9.4 shows a move with no school to the teams of the patient too, not only to the raising team.
pub fn school_move_item(
    school_move: &crate::domain::patient::SchoolMove,
    reviewing_team: &str,
    also_seen_by: &[String],
) -> Item {
    let listing = |team: &str| keys::school_moves_of_team(team, school_move.updated_at, school_move.patient_id);
    let mut item = Item::new(keys::school_move(school_move.patient_id), encode(school_move))
        .with_index(IndexName::Gsi1, listing(reviewing_team));
    let mut others: Vec<&String> = also_seen_by.iter().filter(|t| t.as_str() != reviewing_team).collect();
    others.sort();
    others.dedup();
    for (index, team) in [IndexName::Gsi2, IndexName::Gsi3, IndexName::Gsi4].into_iter().zip(others) {
        item = item.with_index(index, listing(team));
    }
    item
}

/// The teams other than the raising one that see a pending move (§9.4): for a move with no destination school, the
/// teams the patient is in.
pub fn move_also_seen_by(
    school_move: &crate::domain::patient::SchoolMove,
    patient: &crate::domain::Patient,
) -> Vec<String> {
    match school_move.destination {
        crate::domain::patient::SchoolPlacement::School { .. } => Vec::new(),
        _ => patient.team_ids.clone(),
    }
}

/// A patient's pending school move, if any.
pub async fn school_move_of(
    store: &dyn RecordStore,
    patient_id: Uuid,
) -> Result<Option<crate::domain::patient::SchoolMove>, StoreError> {
    store.get(&keys::school_move(patient_id)).await?.as_ref().map(decode).transpose()
}

/// The pending school moves of those of the patients that have one, by patient.
pub async fn school_moves_of(
    store: &dyn RecordStore,
    patient_ids: &[Uuid],
) -> Result<HashMap<Uuid, crate::domain::patient::SchoolMove>, StoreError> {
    let patient_of = |school_move: &crate::domain::patient::SchoolMove| school_move.patient_id;
    let found = by_patient(store, patient_ids, keys::school_move, patient_of).await?;
    Ok(found.into_iter().map(|(id, school_move)| (id, school_move.value)).collect())
}

/// Those of the patients that exist, by id.
pub async fn get_many(store: &dyn RecordStore, ids: &[Uuid]) -> Result<HashMap<Uuid, Versioned<Patient>>, StoreError> {
    by_patient(store, ids, keys::patient, |patient: &Patient| patient.id).await
}

/// The items of one kind kept for each of the patients (`key_of` says where), those that exist, by patient.
async fn by_patient<T: serde::de::DeserializeOwned>(
    store: &dyn RecordStore,
    patient_ids: &[Uuid],
    key_of: fn(Uuid) -> ItemKey,
    patient_of: fn(&T) -> Uuid,
) -> Result<HashMap<Uuid, Versioned<T>>, StoreError> {
    let found = super::versioned_many::<T>(store, patient_ids.iter().map(|id| key_of(*id)).collect()).await?;
    Ok(found.into_values().map(|item| (patient_of(&item.value), item)).collect())
}

/// The pending school moves a team sees (its listings in gsi1..gsi4), oldest update first.
pub async fn pending_school_moves_for_team(
    store: &dyn RecordStore,
    team_id: &str,
) -> Result<Vec<crate::domain::patient::SchoolMove>, StoreError> {
    // The partition key of the team's listing; the sort key's time and patient only order the items in it.
    let pk = keys::school_moves_of_team(team_id, chrono::DateTime::UNIX_EPOCH, Uuid::nil()).pk;
    let mut moves: Vec<crate::domain::patient::SchoolMove> = Vec::new();
    for index in IndexName::ALL {
        for item in query_all(store, Query::index(index, pk.clone())).await? {
            let school_move: crate::domain::patient::SchoolMove = decode(&item)?;
            if !moves.iter().any(|m| m.patient_id == school_move.patient_id) {
                moves.push(school_move);
            }
        }
    }
    moves.sort_by(|a, b| a.updated_at.cmp(&b.updated_at).then(a.patient_id.cmp(&b.patient_id)));
    Ok(moves)
}

//! Reference data (teams, schools, clinics, users, sessions) as items under one partition, one item per record,
//! so that a large seed never hits the per-item size limit.

use serde::Serialize;

use super::{decode, encode, keys::REFERENCE_PK};
use crate::domain::{Clinic, ReferenceData, School, Session, Team, User};
use crate::ports::{Condition, Item, ItemKey, Query, RecordStore, StoreError};

fn item<T: Serialize>(kind: &str, id: &str, value: &T) -> Item {
    Item::new(ItemKey::new(REFERENCE_PK, format!("{kind}#{id}")), encode(value))
}

/// Makes the stored reference data the seed's: writes every record (overwriting records with the same id), then
/// deletes the records the seed no longer has, so that a user taken out of the seed loses access.
pub async fn save(store: &dyn RecordStore, reference: &ReferenceData) -> Result<(), StoreError> {
    let mut items = Vec::new();
    items.extend(reference.teams.iter().map(|t| item("TEAM", &t.id, t)));
    items.extend(reference.schools.iter().map(|s| item("SCHOOL", &s.urn_and_site(), s)));
    items.extend(reference.clinics.iter().map(|c| item("CLINIC", &c.id, c)));
    items.extend(reference.users.iter().map(|u| item("USER", &u.email.to_lowercase(), u)));
    items.extend(reference.sessions.iter().map(|s| item("SESSION", &s.id.to_string(), s)));
    let kept: std::collections::HashSet<ItemKey> = items.iter().map(|i| i.key.clone()).collect();
    store.batch_put(items).await?;
    for key in stored_keys(store).await?.into_iter().filter(|k| !kept.contains(k)) {
        store.delete(&key, Condition::None).await?;
    }
    Ok(())
}

async fn stored_keys(store: &dyn RecordStore) -> Result<Vec<ItemKey>, StoreError> {
    let mut keys = Vec::new();
    let mut after = None;
    loop {
        let page = store.query(&Query::table(REFERENCE_PK).limit(500).after(after)).await?;
        keys.extend(page.items.into_iter().map(|i| i.key));
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(keys),
        }
    }
}

/// Loads all reference data.
pub async fn load(store: &dyn RecordStore) -> Result<ReferenceData, StoreError> {
    let mut reference = ReferenceData::default();
    let mut after = None;
    loop {
        let page = store.query(&Query::table(REFERENCE_PK).limit(500).after(after)).await?;
        for item in &page.items {
            let kind = item.key.sk.split('#').next().unwrap_or_default();
            match kind {
                "TEAM" => reference.teams.push(decode::<Team>(item)?),
                "SCHOOL" => reference.schools.push(decode::<School>(item)?),
                "CLINIC" => reference.clinics.push(decode::<Clinic>(item)?),
                "USER" => reference.users.push(decode::<User>(item)?),
                "SESSION" => reference.sessions.push(decode::<Session>(item)?),
                _ => {
                    return Err(StoreError::Corrupt(format!("unknown reference record {}", item.key.sk)));
                }
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(reference),
        }
    }
}

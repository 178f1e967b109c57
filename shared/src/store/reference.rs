//! Reference data (teams, schools, clinics, users, sessions) as items under one partition, one item per record,
//! so that a large seed never hits the per-item size limit.

use serde::Serialize;

use super::{decode, encode, keys::REFERENCE_PK};
use crate::domain::{Clinic, ReferenceData, School, Session, Team, User};
use crate::ports::{Item, ItemKey, Query, RecordStore, StoreError};

fn item<T: Serialize>(kind: &str, id: &str, value: &T) -> Item {
    Item::new(ItemKey::new(REFERENCE_PK, format!("{kind}#{id}")), encode(value))
}

/// Writes every record of the seed (overwriting records with the same id).
pub async fn save(store: &dyn RecordStore, reference: &ReferenceData) -> Result<(), StoreError> {
    let mut items = Vec::new();
    items.extend(reference.teams.iter().map(|t| item("TEAM", &t.id, t)));
    items.extend(reference.schools.iter().map(|s| item("SCHOOL", &s.urn_and_site(), s)));
    items.extend(reference.clinics.iter().map(|c| item("CLINIC", &c.id, c)));
    items.extend(reference.users.iter().map(|u| item("USER", &u.email.to_lowercase(), u)));
    items.extend(reference.sessions.iter().map(|s| item("SESSION", &s.id.to_string(), s)));
    store.batch_put(items).await
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

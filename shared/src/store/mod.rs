//! Typed access to the record store: the single-table key design lives here and nowhere else. Every function takes
//! the port (`&dyn RecordStore`), so the same code runs on DynamoDB and on the embedded database.

pub mod changesets;
pub mod claims;
pub mod imms;
pub mod imports;
pub mod issues;
pub mod keys;
pub mod notices;
pub mod patients;
pub mod reference;
pub mod sessions;
pub mod vaccinations;

use serde::{Serialize, de::DeserializeOwned};

use crate::ports::{Item, Query, RecordStore, StoreError};

/// Decodes an item's body into a domain record.
pub fn decode<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    serde_json::from_value(item.body.clone())
        .map_err(|e| StoreError::Corrupt(format!("{}/{}: {e}", item.key.pk, item.key.sk)))
}

/// Encodes a domain record as an item body.
pub fn encode<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("domain records always serialise")
}

/// Every item a query matches, following the pages.
pub async fn query_all(store: &dyn RecordStore, query: Query) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = store.query(&query.clone().after(after)).await?;
        items.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(items),
        }
    }
}

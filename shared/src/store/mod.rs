//! Typed access to the record store: the single-table key design lives here and nowhere else. Every function takes
//! the port (`&dyn RecordStore`), so the same code runs on DynamoDB and on the embedded database.

pub mod changesets;
pub mod claims;
pub mod identities;
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

/// Decodes an item's body into a domain record. The error names the kind of item and what went wrong, never the
/// stored values (serde's messages quote them) nor the ids in the key (one kind of key holds an NHS number).
pub fn decode<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    serde_json::from_value(item.body.clone()).map_err(|e| {
        let kind = |key: &str| key.split('#').next().unwrap_or_default().to_string();
        StoreError::Corrupt(format!(
            "a {} / {} item does not decode into {} ({:?} error)",
            kind(&item.key.pk),
            kind(&item.key.sk),
            std::any::type_name::<T>(),
            e.classify()
        ))
    })
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

/// Every item each query matches, in the queries' order: their first pages read together, any further pages after.
pub async fn query_all_each(store: &dyn RecordStore, queries: Vec<Query>) -> Result<Vec<Vec<Item>>, StoreError> {
    let pages = store.query_each(&queries).await?;
    let mut found = Vec::with_capacity(queries.len());
    for (query, page) in queries.into_iter().zip(pages) {
        let mut items = page.items;
        if let Some(next) = page.next {
            items.extend(query_all(store, query.after(Some(next))).await?);
        }
        found.push(items);
    }
    Ok(found)
}

/// Many items by key, read 100 at a time, each decoded with its version; missing keys are absent from the map.
pub async fn versioned_many<T: DeserializeOwned>(
    store: &dyn RecordStore,
    keys: Vec<crate::ports::ItemKey>,
) -> Result<std::collections::HashMap<crate::ports::ItemKey, imports::Versioned<T>>, StoreError> {
    let mut found = std::collections::HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(100) {
        for item in store.batch_get(chunk).await? {
            let value = decode(&item)?;
            found.insert(item.key.clone(), imports::Versioned { value, version: item.version });
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::ports::ItemKey;

    #[test]
    fn a_corrupt_item_should_be_reported_without_its_values_or_ids() {
        #[derive(Debug, Deserialize)]
        struct Child {
            #[allow(dead_code)]
            age: u32,
        }
        let item = Item::new(ItemKey::new("NHSNO#9990000018", "PATIENT#x"), serde_json::json!({"age": "Jennifer"}));
        let error = decode::<Child>(&item).expect_err("corrupt").to_string();
        assert!(!error.contains("Jennifer") && !error.contains("9990000018"), "{error}");
        assert!(error.contains("NHSNO / PATIENT") && error.contains("Data"), "{error}");
    }
}

//! The subject (`sub`) each user first signed in with, at each token issuer (a subject is unique only within its
//! issuer). Email addresses get reused and reassigned; a subject does not. An address that later arrives from the
//! same issuer with another subject is another account there, and is refused. To let a person back in with a new
//! account, delete their binding (`IDENTITY#{email}`, `SUBJECT#{issuer}`).

use serde::{Deserialize, Serialize};

use super::{decode, encode, keys};
use crate::ports::{Condition, Item, RecordStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Binding {
    subject: String,
}

/// Whether `subject` of `issuer` may sign in as `email`: yes when it is the subject bound to the address at that
/// issuer, or the first one seen there (which it then becomes).
pub async fn subject_matches(
    store: &dyn RecordStore,
    issuer: &str,
    email: &str,
    subject: &str,
) -> Result<bool, StoreError> {
    let key = keys::identity(issuer, email);
    for _ in 0..3 {
        if let Some(item) = store.get(&key).await? {
            let bound: Binding = decode(&item)?;
            return Ok(bound.subject == subject);
        }
        let item = Item::new(key.clone(), encode(&Binding { subject: subject.to_string() }));
        match store.put(item, Condition::NotExists).await {
            Ok(()) => return Ok(true),
            // Another request bound the address first: compare with what it bound.
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict("the identity binding kept changing".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::sqlite_store::SqliteRecordStore;

    #[tokio::test]
    async fn the_first_subject_of_an_address_should_be_the_only_one_it_signs_in_with() {
        let store = SqliteRecordStore::in_memory().expect("store");
        let cis2 = "https://cis2.example";
        assert!(subject_matches(&store, cis2, "nurse@example.com", "sub-1").await.expect("first"));
        assert!(subject_matches(&store, cis2, "Nurse@Example.com", "sub-1").await.expect("again, any case"));
        assert!(!subject_matches(&store, cis2, "nurse@example.com", "sub-2").await.expect("another account"));
        assert!(subject_matches(&store, cis2, "nurse2@example.com", "sub-2").await.expect("another address"));
        assert!(subject_matches(&store, "mavis-local", "nurse@example.com", "x").await.expect("another issuer"));
    }
}

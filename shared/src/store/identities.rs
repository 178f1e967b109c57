//! The identity provider's subject (`sub`) each user first signed in with. Email addresses get reused and
//! reassigned; a subject does not. An address that later arrives with another subject is another account at the
//! provider, and is refused. To let a person back in with a new account, delete their binding (`IDENTITY#{email}`).

use serde::{Deserialize, Serialize};

use super::{decode, encode, keys};
use crate::ports::{Condition, Item, RecordStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Binding {
    subject: String,
}

/// Whether `subject` may sign in as `email`: yes when it is the subject bound to the address, or the first one seen
/// (which it then becomes).
pub async fn subject_matches(store: &dyn RecordStore, email: &str, subject: &str) -> Result<bool, StoreError> {
    let key = keys::identity(email);
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
        assert!(subject_matches(&store, "nurse@example.com", "sub-1").await.expect("first"));
        assert!(subject_matches(&store, "Nurse@Example.com", "sub-1").await.expect("again, any case"));
        assert!(!subject_matches(&store, "nurse@example.com", "sub-2").await.expect("another account"));
        assert!(subject_matches(&store, "nurse2@example.com", "sub-2").await.expect("another address"));
    }
}

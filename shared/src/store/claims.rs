//! Claims make the handling of an uploaded object happen once, however often (or however concurrently) its
//! ObjectCreated event is delivered. A claim is a conditional put keyed on bucket/key; it remembers the object's
//! ETag (a re-upload of different content under the same key is a new claim, once the claim before it is finished
//! or its holder's lease has run out) and carries a lease so that a claim whose holder died can be taken over.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{decode, encode, keys};
use crate::ports::{Condition, Item, RecordStore, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectClaim {
    pub etag: String,
    pub import_id: Uuid,
    pub done: bool,
    pub lease_until: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// This caller now holds the claim and must process the object, then call `finish`.
    Acquired { import_id: Uuid, version: u64 },
    /// The object was processed already.
    AlreadyDone { import_id: Uuid },
    /// Another caller holds a live lease on it.
    InProgress { import_id: Uuid },
}

/// Claims `bucket/key` (content `etag`) for processing as `import_id` (an existing claim's import id wins).
pub async fn acquire(
    store: &dyn RecordStore,
    bucket: &str,
    key: &str,
    etag: &str,
    import_id: Uuid,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<ClaimOutcome, StoreError> {
    let claim_key = keys::object_claim(bucket, key);
    loop {
        let existing = store.get(&claim_key).await?;
        let (claim, condition, version) = match &existing {
            None => (
                ObjectClaim { etag: etag.into(), import_id, done: false, lease_until: now + lease },
                Condition::NotExists,
                1,
            ),
            Some(item) => {
                let current: ObjectClaim = decode(item)?;
                if current.etag == etag {
                    if current.done {
                        return Ok(ClaimOutcome::AlreadyDone { import_id: current.import_id });
                    }
                    if current.lease_until > now {
                        return Ok(ClaimOutcome::InProgress { import_id: current.import_id });
                    }
                    // The holder died: take over its import.
                    let claim = ObjectClaim { lease_until: now + lease, ..current };
                    (claim, Condition::VersionIs(item.version), item.version + 1)
                } else if !current.done && current.lease_until > now {
                    // New content under a key whose earlier content is still being imported: that import keeps the
                    // claim until it finishes (it reads only its own version), then the new content gets its turn.
                    return Ok(ClaimOutcome::InProgress { import_id: current.import_id });
                } else {
                    // New content under the same key: a new import.
                    let claim = ObjectClaim { etag: etag.into(), import_id, done: false, lease_until: now + lease };
                    (claim, Condition::VersionIs(item.version), item.version + 1)
                }
            }
        };
        let mut item = Item::new(claim_key.clone(), encode(&claim));
        item.version = version;
        match store.put(item, condition).await {
            Ok(()) => {
                return Ok(ClaimOutcome::Acquired { import_id: claim.import_id, version });
            }
            // Someone else got there between our read and write: look again.
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Marks the claimed object as processed.
pub async fn finish(store: &dyn RecordStore, bucket: &str, key: &str, version: u64) -> Result<(), StoreError> {
    let claim_key = keys::object_claim(bucket, key);
    let Some(item) = store.get(&claim_key).await? else {
        return Err(StoreError::Conflict(format!("claim on {bucket}/{key} vanished")));
    };
    let mut claim: ObjectClaim = decode(&item)?;
    claim.done = true;
    let mut updated = Item::new(claim_key, encode(&claim));
    updated.version = version + 1;
    store.put(updated, Condition::VersionIs(version)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::sqlite_store::SqliteRecordStore;

    #[tokio::test]
    async fn new_content_should_wait_for_the_live_claim_on_the_old_then_be_a_new_claim() {
        let store = SqliteRecordStore::in_memory().expect("store");
        let now = crate::clock::test_instant();
        let lease = Duration::minutes(15);
        let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
        let acquired = acquire(&store, "b", "drops/R1L/a.csv", "etag-a", first, lease, now).await.expect("claim A");
        let ClaimOutcome::Acquired { version, .. } = acquired else { panic!("{acquired:?}") };

        let while_live = acquire(&store, "b", "drops/R1L/a.csv", "etag-b", second, lease, now).await.expect("B");
        assert_eq!(while_live, ClaimOutcome::InProgress { import_id: first }, "file A's import keeps its claim");

        finish(&store, "b", "drops/R1L/a.csv", version).await.expect("finish A");
        let after = acquire(&store, "b", "drops/R1L/a.csv", "etag-b", second, lease, now).await.expect("B again");
        assert!(matches!(after, ClaimOutcome::Acquired { import_id, .. } if import_id == second), "{after:?}");
    }
}

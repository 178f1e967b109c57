//! Claims make the handling of an uploaded object happen once, however often (or however concurrently) its
//! ObjectCreated event is delivered. A claim is a conditional put keyed on bucket/key; it remembers the object's
//! ETag (a re-upload of different content under the same key is a new claim) and carries a lease so that a
//! claim whose holder died can be taken over.

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

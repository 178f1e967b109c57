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
    /// The sole worker that holds it ([`Claimant::Sole`]); `None` for a shared one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<Uuid>,
}

/// Who asks for a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimant {
    /// One of any number of workers running at once (the Lambda functions): another's claim is taken over only
    /// once its lease has run out.
    Shared,
    /// The only worker on this record store, under an id of its own for as long as it runs (the local runner,
    /// which locks its data folder): a claim held under any other id was left by a worker that has stopped, and is
    /// taken over at once instead of after its lease.
    Sole(Uuid),
}

impl Claimant {
    fn id(self) -> Option<Uuid> {
        match self {
            Claimant::Shared => None,
            Claimant::Sole(id) => Some(id),
        }
    }

    /// Whether a live claim held by `holder` may be taken over now.
    fn may_take_over(self, holder: Option<Uuid>) -> bool {
        matches!(self, Claimant::Sole(id) if holder != Some(id))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// This caller now holds the claim and must process the object, then call `finish`.
    Acquired { import_id: Uuid, version: u64 },
    /// The object was processed already.
    AlreadyDone { import_id: Uuid },
    /// Another caller holds a live lease on it, until `lease_until` unless renewed.
    InProgress { import_id: Uuid, lease_until: DateTime<Utc> },
}

/// How a worker asks for claims: who it is, and how long a claim of its lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimTerms {
    pub claimant: Claimant,
    pub lease: Duration,
}

/// Claims `bucket/key` (content `etag`) for processing as `import_id` (an existing claim's import id wins).
pub async fn acquire(
    store: &dyn RecordStore,
    bucket: &str,
    key: &str,
    etag: &str,
    import_id: Uuid,
    terms: ClaimTerms,
    now: DateTime<Utc>,
) -> Result<ClaimOutcome, StoreError> {
    let claim_key = keys::object_claim(bucket, key);
    let (holder, lease_until) = (terms.claimant.id(), now + terms.lease);
    let live = |claim: &ObjectClaim| claim.lease_until > now && !terms.claimant.may_take_over(claim.holder);
    loop {
        let existing = store.get(&claim_key).await?;
        let (claim, condition, version) = match &existing {
            None => (
                ObjectClaim { etag: etag.into(), import_id, done: false, lease_until, holder },
                Condition::NotExists,
                1,
            ),
            Some(item) => {
                let current: ObjectClaim = decode(item)?;
                if current.etag == etag {
                    if current.done {
                        return Ok(ClaimOutcome::AlreadyDone { import_id: current.import_id });
                    }
                    if live(&current) {
                        return Ok(ClaimOutcome::InProgress {
                            import_id: current.import_id,
                            lease_until: current.lease_until,
                        });
                    }
                    // The holder died: take over its import.
                    let claim = ObjectClaim { lease_until, holder, ..current };
                    (claim, Condition::VersionIs(item.version), item.version + 1)
                } else if !current.done && live(&current) {
                    // New content under a key whose earlier content is still being imported: that import keeps the
                    // claim until it finishes (it reads only its own version), then the new content gets its turn.
                    return Ok(ClaimOutcome::InProgress {
                        import_id: current.import_id,
                        lease_until: current.lease_until,
                    });
                } else {
                    // New content under the same key: a new import.
                    let claim = ObjectClaim { etag: etag.into(), import_id, done: false, lease_until, holder };
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

/// Extends a claim on `etag` that is not finished to `now + lease`; returns whether it did. The version stays: a
/// renewal is no change of hands, so the holder's [`finish`] (which quotes the version it acquired) still holds, and
/// a takeover that read the claim before the renewal still wins. Only a live worker renews, so a dead one's lease runs
/// out one lease after its last renewal.
pub async fn renew(
    store: &dyn RecordStore,
    bucket: &str,
    key: &str,
    etag: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let claim_key = keys::object_claim(bucket, key);
    let Some(item) = store.get(&claim_key).await? else { return Ok(false) };
    let mut claim: ObjectClaim = decode(&item)?;
    if claim.done || claim.etag != etag || claim.lease_until >= now + lease {
        return Ok(false);
    }
    claim.lease_until = now + lease;
    let mut renewed = Item::new(claim_key, encode(&claim));
    renewed.version = item.version;
    match store.put(renewed, Condition::VersionIs(item.version)).await {
        Ok(()) => Ok(true),
        // Taken over or finished meanwhile: nothing of ours to renew.
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Where the work on an object stands, for a message that is abandoned unanswered.
#[derive(Debug, Clone, PartialEq)]
pub enum Standing {
    /// No claim on this content: no worker got as far as claiming it.
    Unclaimed,
    /// Finished, or held by a live worker (which ends it, or dies and leaves it [`Standing::Dead`]).
    InHand,
    /// Claimed by a worker whose lease has run out, before it finished `import_id`.
    Dead { import_id: Uuid },
}

/// How the work on `bucket/key` (content `etag`) stands, as [`acquire`] would see it for `terms` at `now`.
pub async fn standing(
    store: &dyn RecordStore,
    bucket: &str,
    key: &str,
    etag: &str,
    terms: ClaimTerms,
    now: DateTime<Utc>,
) -> Result<Standing, StoreError> {
    let Some(item) = store.get(&keys::object_claim(bucket, key)).await? else { return Ok(Standing::Unclaimed) };
    let claim: ObjectClaim = decode(&item)?;
    Ok(if claim.etag != etag {
        Standing::Unclaimed
    } else if claim.done || (claim.lease_until > now && !terms.claimant.may_take_over(claim.holder)) {
        Standing::InHand
    } else {
        Standing::Dead { import_id: claim.import_id }
    })
}

/// Marks the claimed object as processed.
pub async fn finish(store: &dyn RecordStore, bucket: &str, key: &str, version: u64) -> Result<(), StoreError> {
    let claim_key = keys::object_claim(bucket, key);
    let Some(item) = store.get(&claim_key).await? else {
        // Not the key: it can carry a file's name.
        return Err(StoreError::Conflict("an object's claim vanished".into()));
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
        let lease = ClaimTerms { claimant: Claimant::Shared, lease: Duration::minutes(15) };
        let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
        let acquired = acquire(&store, "b", "drops/R1L/a.csv", "etag-a", first, lease, now).await.expect("claim A");
        let ClaimOutcome::Acquired { version, .. } = acquired else { panic!("{acquired:?}") };

        let while_live = acquire(&store, "b", "drops/R1L/a.csv", "etag-b", second, lease, now).await.expect("B");
        let held_until = now + Duration::minutes(15);
        let kept = ClaimOutcome::InProgress { import_id: first, lease_until: held_until };
        assert_eq!(while_live, kept, "file A's import keeps its claim");

        finish(&store, "b", "drops/R1L/a.csv", version).await.expect("finish A");
        let after = acquire(&store, "b", "drops/R1L/a.csv", "etag-b", second, lease, now).await.expect("B again");
        assert!(matches!(after, ClaimOutcome::Acquired { import_id, .. } if import_id == second), "{after:?}");
    }

    #[tokio::test]
    async fn standing_should_tell_a_dead_holders_claim_from_a_live_or_finished_one() {
        let store = SqliteRecordStore::in_memory().expect("store");
        let now = crate::clock::test_instant();
        let terms = ClaimTerms { claimant: Claimant::Shared, lease: Duration::minutes(2) };
        let import_id = Uuid::new_v4();
        let at = |when| standing(&store, "b", "k", "e", terms, when);
        assert_eq!(at(now).await.expect("none yet"), Standing::Unclaimed);

        let acquired = acquire(&store, "b", "k", "e", import_id, terms, now).await.expect("claim");
        let ClaimOutcome::Acquired { version, .. } = acquired else { panic!("{acquired:?}") };
        assert_eq!(at(now + Duration::minutes(1)).await.expect("live"), Standing::InHand);
        assert_eq!(at(now + Duration::minutes(3)).await.expect("dead"), Standing::Dead { import_id });
        let other_content = standing(&store, "b", "k", "other", terms, now).await.expect("other content");
        assert_eq!(other_content, Standing::Unclaimed);

        finish(&store, "b", "k", version).await.expect("finish");
        assert_eq!(at(now + Duration::minutes(3)).await.expect("finished"), Standing::InHand);
    }

    #[tokio::test]
    async fn a_renewed_claim_should_outlive_its_first_lease_and_still_be_finished_by_its_holder() {
        let store = SqliteRecordStore::in_memory().expect("store");
        let now = crate::clock::test_instant();
        let terms = ClaimTerms { claimant: Claimant::Shared, lease: Duration::minutes(2) };
        let (import, other) = (Uuid::new_v4(), Uuid::new_v4());
        let claim = |etag, at| acquire(&store, "b", "drops/R1L/a.csv", etag, import, terms, at);
        let ClaimOutcome::Acquired { version, .. } = claim("etag", now).await.unwrap() else { panic!("acquired") };

        let later = now + Duration::seconds(90);
        assert!(renew(&store, "b", "drops/R1L/a.csv", "etag", terms.lease, later).await.unwrap());
        assert!(!renew(&store, "b", "drops/R1L/a.csv", "other-etag", terms.lease, later).await.unwrap());

        let past_first_lease = now + Duration::seconds(150);
        let waiting = ClaimOutcome::InProgress { import_id: import, lease_until: later + terms.lease };
        assert_eq!(claim("etag", past_first_lease).await.unwrap(), waiting, "the renewal kept it");
        let second = acquire(&store, "b", "drops/R1L/a.csv", "etag", other, terms, past_first_lease).await.unwrap();
        assert_eq!(second, waiting, "and kept it from a new import of the same content");
        finish(&store, "b", "drops/R1L/a.csv", version).await.expect("the holder finishes with the version it got");
        assert!(!renew(&store, "b", "drops/R1L/a.csv", "etag", terms.lease, later).await.unwrap(), "done: not renewed");
        let long_after = later + Duration::hours(1);
        assert_eq!(claim("etag", long_after).await.unwrap(), ClaimOutcome::AlreadyDone { import_id: import });
    }

    #[tokio::test]
    async fn a_sole_worker_should_take_over_at_once_the_live_claims_of_other_ids_but_not_its_own() {
        let store = SqliteRecordStore::in_memory().expect("store");
        let now = crate::clock::test_instant();
        let terms = |claimant| ClaimTerms { claimant, lease: Duration::minutes(15) };
        let (stopped, running, import) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let claim = |claimant| acquire(&store, "b", "uploads/x.csv", "etag", import, terms(claimant), now);
        assert!(matches!(claim(Claimant::Sole(stopped)).await.unwrap(), ClaimOutcome::Acquired { .. }));
        let in_progress = ClaimOutcome::InProgress { import_id: import, lease_until: now + Duration::minutes(15) };
        assert_eq!(claim(Claimant::Shared).await.unwrap(), in_progress, "a shared worker waits out the lease");
        let ClaimOutcome::Acquired { version, .. } = claim(Claimant::Sole(running)).await.unwrap() else {
            panic!("the running sole worker takes over the stopped one's claim")
        };
        assert_eq!(claim(Claimant::Sole(running)).await.unwrap(), in_progress, "its own claim stays with it");
        finish(&store, "b", "uploads/x.csv", version).await.unwrap();
        assert_eq!(claim(Claimant::Sole(stopped)).await.unwrap(), ClaimOutcome::AlreadyDone { import_id: import });
    }
}

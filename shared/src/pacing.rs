//! Pacing calls to a rate-limited NHS API across every concurrent invocation of a function.
//!
//! Each limit is one record-store item holding the time at which the next call may start (the generic cell rate
//! algorithm without a burst). A caller reserves the next slot with a conditional write on the item's version and
//! then sleeps until its slot, so callers in different processes never exceed the rate together, and a caller that
//! dies after reserving a slot only wastes that slot.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ports::{Condition, Item, ItemKey, RecordStore, StoreError};
use crate::store::{decode, encode};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Schedule {
    next_slot: DateTime<Utc>,
}

/// A rate limit shared through the record store.
pub struct RatePacer<'a> {
    store: &'a dyn RecordStore,
    key: ItemKey,
    interval: chrono::Duration,
}

impl<'a> RatePacer<'a> {
    /// `name` identifies the limit (`pds`, `immunisations-api`); `per_second` is the agreed rate.
    pub fn new(store: &'a dyn RecordStore, name: &str, per_second: u32) -> Self {
        let per_second = per_second.max(1);
        Self {
            store,
            key: ItemKey::new(format!("RATE#{name}"), "#SCHEDULE"),
            interval: chrono::Duration::microseconds(1_000_000 / i64::from(per_second)),
        }
    }

    /// Waits for this caller's slot. Returns the slot it was given.
    pub async fn acquire(&self) -> Result<DateTime<Utc>, StoreError> {
        let slot = self.reserve().await?;
        if let Ok(wait) = (slot - Utc::now()).to_std() {
            tokio::time::sleep(wait).await;
        }
        Ok(slot)
    }

    /// Reserves the next free slot, retrying when another caller reserved one at the same moment.
    async fn reserve(&self) -> Result<DateTime<Utc>, StoreError> {
        loop {
            let now = Utc::now();
            let (slot, condition, version) = match self.store.get(&self.key).await? {
                None => (now, Condition::NotExists, 1),
                Some(item) => {
                    let schedule: Schedule = decode(&item)?;
                    (schedule.next_slot.max(now), Condition::VersionIs(item.version), item.version + 1)
                }
            };
            let mut item = Item::new(self.key.clone(), encode(&Schedule { next_slot: slot + self.interval }));
            item.version = version;
            match self.store.put(item, condition).await {
                Ok(()) => return Ok(slot),
                Err(StoreError::Conflict(_)) => tokio::task::yield_now().await,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Exponential back-off with full jitter for a retried call: a random wait up to `base · 2^attempt`, capped.
pub fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let ceiling = base.saturating_mul(2u32.saturating_pow(attempt.min(16))).min(cap);
    ceiling.mul_f64(rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::adapters::sqlite_store::SqliteRecordStore;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn when_many_callers_share_a_limit_should_give_each_a_distinct_slot_at_the_rate() {
        let store = Arc::new(SqliteRecordStore::in_memory().expect("store"));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let pacer = RatePacer::new(store.as_ref(), "pds", 100);
                let mut slots = Vec::new();
                for _ in 0..5 {
                    slots.push(pacer.reserve().await.expect("slot"));
                }
                slots
            }));
        }
        let mut slots: Vec<DateTime<Utc>> = Vec::new();
        for task in tasks {
            slots.extend(task.await.expect("task"));
        }
        slots.sort();
        assert_eq!(slots.len(), 40);
        for pair in slots.windows(2) {
            assert!(pair[1] - pair[0] >= chrono::Duration::milliseconds(10), "slots closer than 1/100 s: {pair:?}");
        }
    }

    #[test]
    fn when_attempts_grow_backoff_should_stay_under_the_cap() {
        for attempt in 0..40 {
            let wait = backoff(attempt, Duration::from_millis(100), Duration::from_secs(30));
            assert!(wait <= Duration::from_secs(30));
            assert!(wait <= Duration::from_millis(100).saturating_mul(2u32.saturating_pow(attempt.min(16))));
        }
    }
}

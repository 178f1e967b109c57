//! Reference data (teams, schools, users) that follows the record store: a warm function or the local runner
//! re-reads it once its copy is older than a time to live, so a removed user loses access, and a new school or user
//! is known, within minutes and without a redeploy. Each request or invocation takes one snapshot and uses it
//! throughout, so it never sees half of a change.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};

use crate::domain::ReferenceData;
use crate::ports::RecordStore;

/// How old a copy may get before the next request re-reads it, unless configured (`MAVIS_REFERENCE_TTL_SECONDS`).
pub const DEFAULT_TTL: Duration = Duration::minutes(5);

pub struct LiveReference {
    current: RwLock<Loaded>,
    /// None: a fixed copy (tests, the CLI's one-off commands).
    source: Option<Source>,
    /// One re-read at a time; the others keep using the copy they have.
    reloading: tokio::sync::Mutex<()>,
}

struct Loaded {
    reference: Arc<ReferenceData>,
    at: DateTime<Utc>,
}

struct Source {
    records: Arc<dyn RecordStore>,
    ttl: Duration,
}

impl LiveReference {
    /// A copy that never changes.
    pub fn fixed(reference: Arc<ReferenceData>) -> Self {
        Self::with_source(reference, DateTime::<Utc>::MIN_UTC, None)
    }

    /// `reference`, read from `records` at `loaded_at`, re-read from there once older than `ttl`.
    pub fn reloading(
        records: Arc<dyn RecordStore>,
        reference: ReferenceData,
        loaded_at: DateTime<Utc>,
        ttl: Duration,
    ) -> Self {
        Self::with_source(Arc::new(reference), loaded_at, Some(Source { records, ttl }))
    }

    fn with_source(reference: Arc<ReferenceData>, at: DateTime<Utc>, source: Option<Source>) -> Self {
        LiveReference { current: RwLock::new(Loaded { reference, at }), source, reloading: tokio::sync::Mutex::new(()) }
    }

    /// The copy in use now.
    pub fn current(&self) -> Arc<ReferenceData> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).reference.clone()
    }

    fn loaded_at(&self) -> DateTime<Utc> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).at
    }

    /// Re-reads the reference data when the copy is older than its time to live at `now`. A failed read keeps the
    /// copy in use (and is logged), so an outage of the store does not lock everyone out; the next request tries
    /// again.
    pub async fn refresh_if_stale(&self, now: DateTime<Utc>) -> Arc<ReferenceData> {
        let Some(source) = &self.source else { return self.current() };
        if now - self.loaded_at() < source.ttl {
            return self.current();
        }
        let _one_at_a_time = self.reloading.lock().await;
        if now - self.loaded_at() >= source.ttl {
            match crate::store::reference::load(source.records.as_ref()).await {
                Ok(reference) => {
                    let mut current = self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
                    *current = Loaded { reference: Arc::new(reference), at: now };
                }
                Err(error) => {
                    tracing::warn!(%error, "reference data could not be re-read; the loaded copy stays in use")
                }
            }
        }
        self.current()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::sqlite_store::SqliteRecordStore;
    use crate::domain::reference::User;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(minutes)
    }

    #[tokio::test]
    async fn when_the_store_changes_should_follow_it_once_the_copy_is_older_than_its_ttl() {
        let records: Arc<dyn RecordStore> = Arc::new(SqliteRecordStore::in_memory().expect("store"));
        let mut seed = crate::reference::demo();
        crate::store::reference::save(records.as_ref(), &seed).await.expect("save");
        let live = LiveReference::reloading(records.clone(), seed.clone(), at(0), Duration::minutes(5));
        assert!(live.current().user("nurse@example.com").is_some());

        seed.users.retain(|u: &User| u.email != "nurse@example.com");
        crate::store::reference::save(records.as_ref(), &seed).await.expect("save");
        let within_ttl = live.refresh_if_stale(at(4)).await;
        assert!(within_ttl.user("nurse@example.com").is_some(), "a copy younger than its TTL is used as it is");
        let after_ttl = live.refresh_if_stale(at(5)).await;
        assert!(after_ttl.user("nurse@example.com").is_none(), "the removed user is gone after the TTL");
        assert!(live.current().user("superuser@example.com").is_some());
        assert!(within_ttl.user("nurse@example.com").is_some(), "a snapshot taken earlier does not change under it");
    }

    #[tokio::test]
    async fn when_a_copy_is_fixed_should_never_read_the_store() {
        let live = LiveReference::fixed(Arc::new(crate::reference::demo()));
        assert!(live.refresh_if_stale(at(60 * 24 * 365)).await.user("nurse@example.com").is_some());
    }
}

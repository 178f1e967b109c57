//! Browser sessions and the sign-ins that create them. Both are keyed by a hash of the secret the browser holds, so
//! that a copy of the table signs nobody in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::imports::Versioned;
use super::{decode, encode, keys};
use crate::ports::{Condition, Item, RecordStore, StoreError};

/// A signed-in user's session. Revoked by deleting it (sign-out, or an operator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// As the identity provider's ID token gave it; resolved against the reference data on every request.
    pub email: String,
    /// The token every form POST must carry.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// What a sign-in must remember between the redirect to the identity provider and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInAttempt {
    pub nonce: String,
    pub pkce_verifier: String,
    /// A path on this service, checked when the attempt was made.
    pub return_to: String,
    pub created_at: DateTime<Utc>,
}

pub async fn create_session(store: &dyn RecordStore, id_hash: &str, session: &Session) -> Result<(), StoreError> {
    store.put(Item::new(keys::session(id_hash), encode(session)), Condition::NotExists).await
}

pub async fn get_session(store: &dyn RecordStore, id_hash: &str) -> Result<Option<Versioned<Session>>, StoreError> {
    match store.get(&keys::session(id_hash)).await? {
        Some(item) => Ok(Some(Versioned { value: decode(&item)?, version: item.version })),
        None => Ok(None),
    }
}

/// Records activity. A lost race (another request touched it first) is as good as a win.
pub async fn touch_session(
    store: &dyn RecordStore,
    id_hash: &str,
    session: &Versioned<Session>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut item = Item::new(keys::session(id_hash), encode(&Session { last_seen_at: now, ..session.value.clone() }));
    item.version = session.version + 1;
    match store.put(item, Condition::VersionIs(session.version)).await {
        Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

pub async fn delete_session(store: &dyn RecordStore, id_hash: &str) -> Result<(), StoreError> {
    store.delete(&keys::session(id_hash), Condition::None).await
}

pub async fn create_attempt(
    store: &dyn RecordStore,
    state_hash: &str,
    attempt: &SignInAttempt,
) -> Result<(), StoreError> {
    store.put(Item::new(keys::sign_in_attempt(state_hash), encode(attempt)), Condition::NotExists).await
}

/// The attempt, removed so that its `state` and code verifier serve one answer only.
pub async fn take_attempt(store: &dyn RecordStore, state_hash: &str) -> Result<Option<SignInAttempt>, StoreError> {
    let key = keys::sign_in_attempt(state_hash);
    let Some(item) = store.get(&key).await? else { return Ok(None) };
    match store.delete(&key, Condition::VersionIs(item.version)).await {
        Ok(()) => Ok(Some(decode(&item)?)),
        // Another request took it first: this one must not use it too.
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

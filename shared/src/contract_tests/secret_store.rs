//! The secret-store contract: what the NHS API credentials code relies on, for every adapter.

use std::future::Future;

use crate::ports::{SecretError, SecretStore};

/// Reading a secret gives its current value, a new value is seen at the next read (rotation), and a missing secret
/// is `NotFound`. `put` creates or updates a secret through the adapter's own back end (a test's side door).
pub async fn reads_the_current_value_and_sees_a_rotation<F, Fut>(store: &dyn SecretStore, put: F)
where
    F: Fn(String, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let id = format!("mavis/contract-{}", uuid::Uuid::new_v4().simple());
    put(id.clone(), r#"{"api_key":"first"}"#.into()).await;
    assert_eq!(store.secret_string(&id).await.expect("read"), r#"{"api_key":"first"}"#);
    put(id.clone(), r#"{"api_key":"second"}"#.into()).await;
    assert_eq!(store.secret_string(&id).await.expect("read after rotation"), r#"{"api_key":"second"}"#);

    let missing = format!("{id}-missing");
    match store.secret_string(&missing).await {
        Err(SecretError::NotFound { id }) => assert_eq!(id, missing),
        other => panic!("a missing secret should be NotFound, got {other:?}"),
    }
}

//! The embedded secret store: secrets held in memory, set with [`MemorySecretStore::put`] (a rotation is a second
//! `put`). For tests and local runs that hand the functions' code a store instead of Secrets Manager.

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;

use crate::ports::{SecretError, SecretStore};

#[derive(Default)]
pub struct MemorySecretStore {
    values: RwLock<HashMap<String, String>>,
}

impl MemorySecretStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates the secret or gives it a new current value.
    pub fn put(&self, id: &str, value: &str) {
        self.values.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(id.to_owned(), value.to_owned());
    }
}

#[async_trait]
impl SecretStore for MemorySecretStore {
    async fn secret_string(&self, id: &str) -> Result<String, SecretError> {
        let values = self.values.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        values.get(id).cloned().ok_or_else(|| SecretError::NotFound { id: id.to_owned() })
    }
}

//! The cloud secret store: AWS Secrets Manager's `GetSecretValue` (the current version of a text secret).

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;

use super::aws::{Failure, classify, describe};
use crate::ports::{SecretError, SecretStore};

#[derive(Clone)]
pub struct SecretsManagerStore {
    client: Client,
}

impl SecretsManagerStore {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn secret_string(&self, id: &str) -> Result<String, SecretError> {
        let output = self.client.get_secret_value().secret_id(id).send().await.map_err(|e| match classify(&e) {
            Failure::NotFound => SecretError::NotFound { id: id.to_owned() },
            Failure::Transient => {
                SecretError::Unavailable(format!("GetSecretValue: {}", e.code().unwrap_or("no answer")))
            }
            // The code and message name the secret and the cause, never its value.
            Failure::Invalid => SecretError::Refused { id: id.to_owned(), reason: describe("GetSecretValue", &e) },
        })?;
        output
            .secret_string
            .ok_or_else(|| SecretError::Refused { id: id.to_owned(), reason: "it holds binary data, not text".into() })
    }
}

//! The cloud secret store: AWS Secrets Manager's `GetSecretValue` (the current version of a text secret).

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};

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

/// Secrets Manager's codes for "wait and try again"; everything else but a missing secret is permanent.
const RETRYABLE_CODES: &[&str] =
    &["ThrottlingException", "InternalServiceError", "RequestTimeout", "ServiceUnavailable"];

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn secret_string(&self, id: &str) -> Result<String, SecretError> {
        let answer = self.client.get_secret_value().secret_id(id).send().await;
        let output = match answer {
            Ok(output) => output,
            Err(SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)) => {
                return Err(SecretError::Unavailable("GetSecretValue: no answer".into()));
            }
            Err(e) => {
                let code = e.code().unwrap_or_default().to_owned();
                let status = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
                return Err(if code == "ResourceNotFoundException" {
                    SecretError::NotFound { id: id.to_owned() }
                } else if RETRYABLE_CODES.contains(&code.as_str()) || status == 429 || status >= 500 {
                    SecretError::Unavailable(format!("GetSecretValue: {code}"))
                } else {
                    // The code and message name the secret and the cause, never its value.
                    SecretError::Refused { id: id.to_owned(), reason: format!("{code}: {}", e.message().unwrap_or("")) }
                });
            }
        };
        output
            .secret_string
            .ok_or_else(|| SecretError::Refused { id: id.to_owned(), reason: "it holds binary data, not text".into() })
    }
}

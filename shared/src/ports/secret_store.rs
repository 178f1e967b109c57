//! Secret store: where deployed functions read credentials at run time (Secrets Manager on AWS), so that a secret
//! never sits in an environment variable and a rotation needs no redeploy.

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No such secret (or no current value): a configuration error.
    #[error("the secret {id:?} does not exist")]
    NotFound { id: String },
    /// Access denied, a value that is not text, or another answer that a retry will not change.
    #[error("the secret {id:?} cannot be read: {reason}")]
    Refused { id: String, reason: String },
    /// Throttling, a timeout or an outage: worth trying again later.
    #[error("the secret store is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait SecretStore: Send + Sync {
    /// The current text value of the secret named (or with the ARN) `id`.
    async fn secret_string(&self, id: &str) -> Result<String, SecretError>;
}

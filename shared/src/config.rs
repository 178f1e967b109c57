//! Configuration from the environment, read once at cold start with a clear error for anything missing.

/// Reads a required environment variable, naming it in the error.
pub fn required_env(name: &str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(ConfigError::Missing(name.to_string())),
    }
}

pub fn optional_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the environment variable {0} must be set")]
    Missing(String),
    #[error("the environment variable {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

//! Invoking a function served by `cargo lambda watch` through the Lambda Invoke API it emulates.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("cargo lambda watch did not answer: {0}")]
    Unreachable(String),
    /// The function failed (an error returned from its handler, or a crash): the whole event failed.
    #[error("the function failed: {0}")]
    Function(String),
}

pub struct Invoker {
    http: reqwest::Client,
    base_url: String,
    /// Functions served somewhere else than `base_url`.
    function_urls: HashMap<String, String>,
}

impl Invoker {
    /// `base_url` is where `cargo lambda watch` listens, e.g. `http://127.0.0.1:9000`.
    pub fn new(base_url: &str, function_urls: HashMap<String, String>) -> anyhow::Result<Self> {
        // The first invocation of a function waits for `cargo lambda watch` to build and start it.
        let http = reqwest::Client::builder().timeout(Duration::from_secs(15 * 60)).build()?;
        Ok(Self { http, base_url: base_url.trim_end_matches('/').to_owned(), function_urls })
    }

    pub async fn invoke(&self, function: &str, payload: &Value) -> Result<Value, InvokeError> {
        let base = self.function_urls.get(function).map_or(self.base_url.as_str(), |url| url.trim_end_matches('/'));
        let url = format!("{base}/2015-03-31/functions/{function}/invocations");
        let response = self
            .http
            .post(&url)
            .json(payload)
            .send()
            .await
            .map_err(|e| InvokeError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| InvokeError::Unreachable(e.without_url().to_string()))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        // Lambda reports a handler's error as an `errorType`/`errorMessage` document.
        if !status.is_success() || body.get("errorType").is_some() {
            let message = body.get("errorMessage").and_then(Value::as_str).unwrap_or(&text);
            return Err(InvokeError::Function(format!(
                "HTTP {}: {}",
                status.as_u16(),
                message.chars().take(300).collect::<String>()
            )));
        }
        Ok(body)
    }
}

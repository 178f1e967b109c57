//! One error type for every handler and extractor, with one mapping to HTTP. Clients always get a JSON body
//! `{"error": "…"}`; server-side failures are logged with their cause chain and answered with a generic message, so
//! that internal details (keys, adapter messages) never reach a response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::AuthError;
use crate::ports::{ObjectStoreError, StoreError};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (bad JSON, unknown kind, bad cursor). The message is shown to the caller.
    #[error("{0}")]
    BadRequest(String),
    /// No usable bearer token. The reason is logged at debug level only; the caller gets a fixed message.
    #[error("not authenticated")]
    Unauthenticated(#[source] AuthError),
    /// Authenticated, but not allowed to do this. The message is shown to the caller.
    #[error("{0}")]
    Forbidden(String),
    /// Missing, or belonging to another team: the two are deliberately indistinguishable.
    #[error("{0}")]
    NotFound(String),
    /// Well-formed, but asks for something this service does not do (yet).
    #[error("{0}")]
    Unprocessable(String),
    /// Someone else changed or decided the same thing first. The message says what happened.
    #[error("{0}")]
    Conflict(String),
    /// Well-formed, but one field's value cannot be used. Answered 422 with the field named, so that a client can
    /// show the message next to it: `{"error": "…", "field": "school_urn"}`.
    #[error("{field}: {message}")]
    InvalidField { field: &'static str, message: String },
    /// A dependency is temporarily unavailable (throttling, timeouts, JWKS endpoint down): worth retrying.
    #[error("a dependency is temporarily unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug, corrupt data, a misconfiguration.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// Shown for 403s raised because the token's user is not in the reference data.
pub const ACCOUNT_NOT_SET_UP: &str = "Your account is not set up for this service";

impl ApiError {
    pub fn internal(error: impl Into<BoxError>) -> Self {
        ApiError::Internal(error.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) | ApiError::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message the caller sees.
    fn public_message(&self) -> String {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Unprocessable(m)
            | ApiError::Conflict(m)
            | ApiError::InvalidField { message: m, .. } => m.clone(),
            ApiError::Unauthenticated(AuthError::MissingToken) => {
                "Sign in: send an Authorization: Bearer token with this request".to_string()
            }
            ApiError::Unauthenticated(_) => "The bearer token is invalid or has expired".to_string(),
            ApiError::Unavailable(_) => "The service is temporarily unavailable. Try again shortly.".to_string(),
            ApiError::Internal(_) => "Something went wrong. Try again later.".to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Internal(_) | ApiError::Unavailable(_) => {
                // Adapter and auth errors carry identifiers only (keys, ids), never request bodies or tokens.
                tracing::error!(
                    status = status.as_u16(),
                    error.message = %self,
                    error.cause_chain = %cause_chain(&self),
                    "request failed"
                );
            }
            ApiError::Unauthenticated(reason) => {
                tracing::debug!(reason = %reason, "request not authenticated");
            }
            _ => {}
        }
        let body = match &self {
            ApiError::InvalidField { field, .. } => {
                json!({ "error": self.public_message(), "field": field })
            }
            _ => json!({ "error": self.public_message() }),
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthenticated(AuthError::MissingToken) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(r#"Bearer realm="mavis""#));
            }
            ApiError::Unauthenticated(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer realm="mavis", error="invalid_token""#),
                );
            }
            ApiError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}

/// "outer: inner: innermost", for logs. A cause whose text its parent already printed is not repeated (several
/// port errors write their source into their own message).
fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !chain.ends_with(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        source = cause.source();
    }
    chain
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Transient(_) => ApiError::Unavailable(Box::new(error)),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<ObjectStoreError> for ApiError {
    fn from(error: ObjectStoreError) -> Self {
        match error {
            ObjectStoreError::Transient(_) => ApiError::Unavailable(Box::new(error)),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        if error.is_rejected_token() {
            ApiError::Unauthenticated(error)
        } else if matches!(error, AuthError::JwksUnavailable(_)) {
            ApiError::Unavailable(Box::new(error))
        } else {
            ApiError::Internal(Box::new(error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024).await.expect("body");
        serde_json::from_slice(&bytes).expect("json body")
    }

    #[tokio::test]
    async fn when_internal_error_should_hide_the_details() {
        let error = ApiError::from(StoreError::Corrupt("IMPORT#123/#IMPORT: bad json".into()));
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_json(response).await;
        assert_eq!(body["error"], "Something went wrong. Try again later.");
    }

    #[tokio::test]
    async fn when_store_is_throttled_should_answer_503_with_retry_after() {
        let error = ApiError::from(StoreError::Transient("throttled".into()));
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
    }

    #[tokio::test]
    async fn when_token_missing_should_answer_401_with_bearer_challenge() {
        let response = ApiError::Unauthenticated(AuthError::MissingToken).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers()[header::WWW_AUTHENTICATE].to_str().unwrap_or_default().starts_with("Bearer"));
    }

    #[tokio::test]
    async fn when_a_field_is_invalid_should_answer_422_naming_it() {
        let error = ApiError::InvalidField {
            field: "year_groups",
            message: "Choose which year groups you want to import class list records for".into(),
        };
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body_json(response).await,
            json!({
                "error": "Choose which year groups you want to import class list records for",
                "field": "year_groups"
            })
        );
    }

    #[test]
    fn cause_chain_should_join_sources() {
        let error = ApiError::from(StoreError::Transient("socket closed".into()));
        assert_eq!(
            cause_chain(&error),
            "a dependency is temporarily unavailable: record store temporarily unavailable: socket closed"
        );
    }
}

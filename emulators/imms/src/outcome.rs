//! The Immunisations API error envelope (`nhs-apis.md` §4.4): every failure is an `OperationOutcome` with an
//! `id`, the UK Core profile, one issue whose `details.coding[0].code` is the upper-cased issue code, and the
//! message in `diagnostics` (the only field Mavis reads).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// `Content-Type` of every FHIR response.
pub const FHIR_JSON: &str = "application/fhir+json";
const PROFILE: &str = "https://simplifier.net/guide/UKCoreDevelopment2/ProfileUKCore-OperationOutcome";
const CODE_SYSTEM: &str = "https://fhir.nhs.uk/Codesystem/http-error-codes";

/// An Immunisations API error response. `Display` is the `diagnostics` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImmsError {
    /// 400 `invalid`: bad id, bad search parameters, malformed JSON, bad headers.
    #[error("{0}")]
    Invalid(String),
    /// 400 from the proxy (`BAD_REQUEST`): an unacceptable `Accept` or `X-Request-ID` header.
    #[error("{0}")]
    BadRequest(String),
    /// 400 `invariant`: body validation, id/identifier/version mismatches, missing `E-Tag`.
    #[error("{0}")]
    Invariant(String),
    /// 401 from the proxy: no or unknown bearer token.
    #[error("The sender has not provided a token or it has expired or is otherwise invalid.")]
    Unauthorized,
    /// 403 `forbidden`: the supplier lacks the permission for the vaccine type.
    #[error("{0}")]
    Forbidden(String),
    /// 404 `not-found`.
    #[error("Immunization resource does not exist. ID: {0}")]
    NotFound(String),
    /// 422 `duplicate`: a live record already has the identifier.
    #[error("The provided identifier: {0} already exists")]
    Duplicate(String),
    /// 408 (fault injection only).
    #[error("The downstream service did not respond in time.")]
    Timeout,
    /// 429 (fault injection or rate limit).
    #[error("{0}")]
    TooManyRequests(String),
    /// 500 `exception`.
    #[error("Unable to process request. Issue may be transient.")]
    Exception,
    /// 503 (fault injection only), with `Retry-After: 5`.
    #[error("The service is currently unavailable. Retry your request after the time in the Retry-After header.")]
    Unavailable,
}

impl ImmsError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) | Self::BadRequest(_) | Self::Invariant(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Duplicate(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Timeout => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Exception => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// `(issue.code, details.coding[0].code)`.
    fn codes(&self) -> (&'static str, &'static str) {
        match self {
            Self::Invalid(_) => ("invalid", "INVALID"),
            Self::BadRequest(_) => ("invalid", "BAD_REQUEST"),
            Self::Invariant(_) => ("invariant", "INVARIANT"),
            Self::Unauthorized => ("expired", "SEND_UNAUTHORIZED"),
            Self::Forbidden(_) => ("forbidden", "FORBIDDEN"),
            Self::NotFound(_) => ("not-found", "NOT-FOUND"),
            Self::Duplicate(_) => ("duplicate", "DUPLICATE"),
            Self::Timeout => ("timeout", "TIMEOUT"),
            Self::TooManyRequests(_) => ("throttled", "TOO_MANY_REQUESTS"),
            Self::Exception => ("exception", "EXCEPTION"),
            Self::Unavailable => ("transient", "SERVICE_UNAVAILABLE"),
        }
    }

    /// The `OperationOutcome` body.
    pub fn body(&self) -> Value {
        let (code, coding) = self.codes();
        operation_outcome("error", code, coding, &self.to_string())
    }

    /// Maps a fault the shared PDS fault machinery drew to this API's envelope, keeping its status.
    pub fn from_fault(fault: &pds_emulator::outcome::PdsError) -> Self {
        match fault.status() {
            StatusCode::TOO_MANY_REQUESTS => Self::TooManyRequests(fault.to_string()),
            StatusCode::REQUEST_TIMEOUT => Self::Timeout,
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable,
            _ => Self::Exception,
        }
    }
}

impl IntoResponse for ImmsError {
    fn into_response(self) -> Response {
        let mut response = fhir_response(self.status(), &self.body());
        if matches!(self, Self::Unavailable) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// One-issue `OperationOutcome`, also used for the warning entries inside search Bundles.
pub fn operation_outcome(severity: &str, code: &str, coding: &str, diagnostics: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "id": uuid::Uuid::new_v4().to_string(),
        "meta": {"profile": [PROFILE]},
        "issue": [{
            "severity": severity,
            "code": code,
            "details": {"coding": [{"system": CODE_SYSTEM, "code": coding}]},
            "diagnostics": diagnostics,
        }]
    })
}

/// A JSON body with the FHIR content type.
pub fn fhir_response(status: StatusCode, body: &Value) -> Response {
    fhir_text_response(status, body.to_string())
}

/// An already-serialised JSON body with the FHIR content type (search Bundles keep `total` last this way).
pub fn fhir_text_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

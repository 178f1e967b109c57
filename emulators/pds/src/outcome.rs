//! The PDS error envelope: every failure is a FHIR `OperationOutcome` shaped like the fixtures in
//! `shared/fixtures/mavis/pds/` (clients such as Mavis read `issue[*].details.coding[*].code`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// `Content-Type` of every PDS response, success or error.
pub const FHIR_JSON: &str = "application/fhir+json";

/// Code system of errors raised by Spine itself (not-found, invalid id, search data).
const SPINE_SYSTEM: &str = "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode";
/// Code system the API-platform proxy uses for the errors it raises (headers, auth, rate limits);
/// PDS's own functional-test fixtures show the two differ, so the emulator keeps them apart.
const PROXY_SYSTEM: &str = "https://fhir.hl7.org.uk/CodeSystem/Spine-ErrorOrWarningCode";

/// A PDS error response. The `Display` text is the `diagnostics` string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdsError {
    /// 400: the NHS number in the path fails the format or modulus-11 check.
    #[error("Resource ID is invalid")]
    InvalidResourceId,
    /// 404: the number was invalidated and not superseded.
    #[error("Resource is invalid")]
    InvalidatedResource,
    /// 404: a valid number with no record.
    #[error("Resource not found")]
    ResourceNotFound,
    /// 400: no NHS number in the path, no search parameters, or an unknown route.
    #[error("{0}")]
    UnsupportedService(String),
    /// 400: a required header or parameter is missing.
    #[error("{0}")]
    MissingValue(String),
    /// 400: a header or parameter is malformed.
    #[error("{0}")]
    InvalidValue(String),
    /// 400: an unknown query parameter.
    #[error("{0}")]
    AdditionalProperties(String),
    /// 400: a search that breaks the combination, wildcard or length rules.
    #[error("{0}")]
    InvalidSearchData(String),
    /// 401: missing, unknown or expired bearer token.
    #[error("{0}")]
    AccessDenied(String),
    /// 403: asking for more than one result with an application-restricted token.
    #[error("{0}")]
    ForbiddenValue(String),
    /// 408: Spine did not answer in time (fault injection only).
    #[error("{0}")]
    UnableToCallService(String),
    /// 429: rate limited, by the configured bucket or by fault injection.
    #[error("{0}")]
    TooManyRequests(String),
    /// 500: catch-all (fault injection only).
    #[error("{0}")]
    UnknownError(String),
    /// 503: downstream timeout; carries `Retry-After: 5` (fault injection only).
    #[error("{0}")]
    ServiceUnavailable(String),
}

impl PdsError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidResourceId
            | Self::UnsupportedService(_)
            | Self::MissingValue(_)
            | Self::InvalidValue(_)
            | Self::AdditionalProperties(_)
            | Self::InvalidSearchData(_) => StatusCode::BAD_REQUEST,
            Self::InvalidatedResource | Self::ResourceNotFound => StatusCode::NOT_FOUND,
            Self::AccessDenied(_) => StatusCode::UNAUTHORIZED,
            Self::ForbiddenValue(_) => StatusCode::FORBIDDEN,
            Self::UnableToCallService(_) => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::UnknownError(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// `(issue.code, details.coding[0].code, details.coding[0].display, raised by the proxy?)`.
    fn coding(&self) -> (&'static str, &'static str, &'static str, bool) {
        match self {
            Self::InvalidResourceId => ("structure", "INVALID_RESOURCE_ID", "Resource ID is invalid", false),
            Self::InvalidatedResource => ("structure", "INVALIDATED_RESOURCE", "Resource is invalid", false),
            Self::ResourceNotFound => ("structure", "RESOURCE_NOT_FOUND", "Resource not found", false),
            Self::UnsupportedService(_) => ("processing", "UNSUPPORTED_SERVICE", "Unsupported Service", false),
            Self::MissingValue(_) => ("required", "MISSING_VALUE", "Required value is missing", true),
            Self::InvalidValue(_) => ("value", "INVALID_VALUE", "Provided value is invalid", true),
            Self::AdditionalProperties(_) => ("structure", "ADDITIONAL_PROPERTIES", "Additional properties", false),
            Self::InvalidSearchData(_) => ("value", "INVALID_SEARCH_DATA", "Search data is invalid", false),
            Self::AccessDenied(_) => ("forbidden", "ACCESS_DENIED", "Access Denied - Unauthorised", true),
            Self::ForbiddenValue(_) => ("forbidden", "INVALID_VALUE", "Provided value is invalid", true),
            Self::UnableToCallService(_) => ("timeout", "UNABLE_TO_CALL_SERVICE", "Unable to call service", true),
            Self::TooManyRequests(_) => ("value", "TOO_MANY_REQUESTS", "Too Many Requests", true),
            Self::UnknownError(_) => ("exception", "UNKNOWN_ERROR", "Unknown error", true),
            Self::ServiceUnavailable(_) => ("exception", "SERVICE_UNAVAILABLE", "Service unavailable", true),
        }
    }

    /// The `OperationOutcome` body.
    pub fn body(&self) -> Value {
        let (issue_code, code, display, proxy) = self.coding();
        let system = if proxy { PROXY_SYSTEM } else { SPINE_SYSTEM };
        json!({
            "resourceType": "OperationOutcome",
            "issue": [{
                "severity": "error",
                "code": issue_code,
                "details": {"coding": [{"system": system, "version": "1", "code": code, "display": display}]},
                "diagnostics": self.to_string(),
            }]
        })
    }
}

impl IntoResponse for PdsError {
    fn into_response(self) -> Response {
        let mut response = fhir_response(self.status(), &self.body());
        if matches!(self, Self::ServiceUnavailable(_)) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// The `TOO_MANY_MATCHES` outcome. PDS sends it with **200**, not as an error, so it is not a `PdsError`.
pub fn too_many_matches() -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": "information",
            "code": "multiple-matches",
            "details": {"coding": [{
                "system": SPINE_SYSTEM, "version": "1", "code": "TOO_MANY_MATCHES", "display": "Too Many Matches"
            }]},
        }]
    })
}

/// A JSON body with the FHIR content type.
pub fn fhir_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

//! AWS SDK configuration and the error triage shared by the S3 and SQS adapters.
//!
//! On Lambda and in CI the same code runs: [`sdk_config`] reads the standard environment (`AWS_REGION`,
//! `AWS_ENDPOINT_URL`, credentials…), so pointing the back end at moto is only a matter of environment variables.
//! [`sdk_config_for`] is the explicit form for tests and the local emulators, which must not depend on whatever
//! credentials the developer's shell happens to have.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// The region the service runs in; also the region of every local emulator resource.
pub const REGION: &str = "eu-west-2";

/// The SDK configuration from the environment, as on Lambda.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// A configuration for an emulator at `endpoint` (e.g. `http://127.0.0.1:5000`): region eu-west-2 and fixed dummy
/// credentials, so that nothing from the developer's own AWS profile is picked up or sent.
pub async fn sdk_config_for(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "mavis-static"))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// An S3 client with path-style addressing: virtual-host style would need DNS for `bucket.127.0.0.1` locally, and
/// path style works the same on AWS.
pub fn s3_client(cfg: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(cfg).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// An SQS client (no special settings; here so that callers need not know which clients need which tweaks).
pub fn sqs_client(cfg: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(cfg)
}

/// What a failed SDK call means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The resource does not exist (HTTP 404 or a `NoSuchKey`-style code).
    NotFound,
    /// Worth retrying: throttling, a 5xx, a timeout or a connection failure.
    Transient,
    /// Retrying the same request will fail the same way.
    Invalid,
}

/// Error codes that mean "slow down / try again", whatever the HTTP status.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "RequestLimitExceeded",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServiceError",
    "ServiceUnavailable",
    "KmsThrottled",
    "OverLimit",
];

const NOT_FOUND_CODES: &[&str] =
    &["NoSuchKey", "NotFound", "NoSuchBucket", "NonExistentQueue", "QueueDoesNotExist", "ResourceNotFoundException"];

/// Sorts an SDK error into NotFound / Transient / Invalid (the SDK has already retried transient failures with its
/// standard back-off by the time we see them).
pub(crate) fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Failure {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => Failure::Transient,
        SdkError::ConstructionFailure(_) => Failure::Invalid,
        _ => {
            let code = err.code().unwrap_or_default();
            let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
            if RETRYABLE_CODES.contains(&code) || status == 429 || status >= 500 {
                Failure::Transient
            } else if NOT_FOUND_CODES.contains(&code) || status == 404 {
                Failure::NotFound
            } else {
                Failure::Invalid
            }
        }
    }
}

/// A one-line description for `Invalid(String)` errors: the AWS error code and message, never the request.
pub(crate) fn describe<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{operation}: {code}: {message}"),
        (Some(code), None) => format!("{operation}: {code}"),
        _ => format!("{operation}: {}", aws_sdk_s3::error::DisplayErrorContext(err)),
    }
}

//! Structured logs. JSON on AWS (and whenever MAVIS_LOG_FORMAT=json); human-readable locally.
//! Never log personal data: identifiers (import id, row number, patient id) only.

use tracing_subscriber::filter::Directive;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Dependencies whose debug and trace events carry request URLs, headers or bodies: a PDS search URL holds a child's
/// name, date of birth and postcode, a signed S3 URL an uploaded file's name, an SDK trace the whole request. They
/// log at `info` at most, whatever `RUST_LOG` asks for, so that no log level of ours lets personal data out.
pub const QUIET_DEPENDENCIES: &[&str] = &[
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
    "tower",
    "tower_http",
    "axum",
    "aws_config",
    "aws_credential_types",
    "aws_runtime",
    "aws_sigv4",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_types",
    "aws_sdk_dynamodb",
    "aws_sdk_s3",
    "aws_sdk_sqs",
    "lambda_runtime",
    "lambda_http",
];

/// The service's log filter: `directives` as `RUST_LOG` writes them (`info` when unset or unreadable), with the
/// dependencies of [`QUIET_DEPENDENCIES`] capped at `info`.
pub fn filter(directives: Option<&str>) -> EnvFilter {
    let base = directives.and_then(|d| EnvFilter::try_new(d).ok()).unwrap_or_else(|| EnvFilter::new("info"));
    QUIET_DEPENDENCIES.iter().fold(base, |filter, target| match format!("{target}=info").parse::<Directive>() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    })
}

pub fn init() {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    let json = std::env::var("AWS_LAMBDA_FUNCTION_NAME").is_ok()
        || std::env::var("MAVIS_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if json {
        registry.with(fmt::layer().json().with_current_span(true).without_time()).try_init()
    } else {
        registry.with(fmt::layer().with_target(false)).try_init()
    };
    // A second init (tests, the local runner hosting several handlers) is harmless.
    let _ = result;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_should_stay_at_info_however_verbose_the_service_is_asked_to_be() {
        let shown = filter(Some("trace,reqwest=trace,aws_smithy_runtime=debug")).to_string();
        for target in ["reqwest", "aws_smithy_runtime", "hyper"] {
            assert!(shown.contains(&format!("{target}=info")), "{target} capped: {shown}");
        }
        assert!(!shown.contains("reqwest=trace") && !shown.contains("aws_smithy_runtime=debug"), "{shown}");
        assert!(filter(Some("not a [filter")).to_string().contains("info"), "an unreadable RUST_LOG gives info");
    }
}

//! Structured logs. JSON on AWS (and whenever MAVIS_LOG_FORMAT=json); human-readable locally.
//! Never log personal data: identifiers (import id, row number, patient id) only.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
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

//! The fhir function's configuration from the environment, checked at cold start.

use crate::cloud::PdsConfig;
use crate::config::{ConfigError, optional_env, required_env};
use crate::nhs_api::ImmsClient;

use super::worker::DEFAULT_IMMS_RATE_PER_SECOND;

/// Where the Immunisations API lives under the NHS API platform's base URL.
pub const IMMS_PATH: &str = "/immunisation-fhir-api/FHIR/R4";

/// `NHS_API_BASE_URL` (the API at `{base}/immunisation-fhir-api/FHIR/R4`) with the same platform auth variables as
/// PDS (one token serves both), `MAVIS_IMMS_RATE_PER_SECOND` (default 20), `MAVIS_IMMS_HISTORY_SINCE` (default
/// 2025-09-01; `none` searches all history), and the fhir queue's URLs `MAVIS_FHIR_QUEUE_URL` and
/// `MAVIS_FHIR_DLQ_URL`.
#[derive(Debug, Clone)]
pub struct ImmsConfig {
    pub client: ImmsClient,
    pub requests_per_second: u32,
    pub history_since: Option<chrono::NaiveDate>,
    pub queue_url: String,
    pub dead_letter_queue_url: String,
}

impl ImmsConfig {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let base_url = required_env("NHS_API_BASE_URL")?;
        let base = base_url.trim().trim_end_matches('/');
        let base = base.strip_suffix(IMMS_PATH).unwrap_or(base);
        // The platform auth is the PDS client's: same variables, same token endpoint.
        let auth = PdsConfig::for_base_url(base).await?.auth;
        let client = ImmsClient::new(format!("{base}{IMMS_PATH}"), auth, crate::cloud::http_client()?);
        Ok(Self {
            client,
            requests_per_second: rate_from_env()?,
            history_since: history_since_from_env()?,
            queue_url: required_env("MAVIS_FHIR_QUEUE_URL")?,
            dead_letter_queue_url: required_env("MAVIS_FHIR_DLQ_URL")?,
        })
    }
}

/// `MAVIS_IMMS_RATE_PER_SECOND`, 20 when unset.
pub fn rate_from_env() -> Result<u32, ConfigError> {
    match optional_env("MAVIS_IMMS_RATE_PER_SECOND") {
        Some(value) => match value.trim().parse::<u32>() {
            Ok(rate) if rate > 0 => Ok(rate),
            _ => Err(ConfigError::Invalid {
                name: "MAVIS_IMMS_RATE_PER_SECOND".into(),
                reason: format!("{value:?} is not a whole number above 0"),
            }),
        },
        None => Ok(DEFAULT_IMMS_RATE_PER_SECOND),
    }
}

/// `MAVIS_IMMS_HISTORY_SINCE`: a date, or `none`; 2025-09-01 when unset (the user guide's cut-off).
pub fn history_since_from_env() -> Result<Option<chrono::NaiveDate>, ConfigError> {
    match optional_env("MAVIS_IMMS_HISTORY_SINCE") {
        Some(value) if value.trim().eq_ignore_ascii_case("none") => Ok(None),
        Some(value) => value.trim().parse().map(Some).map_err(|_| ConfigError::Invalid {
            name: "MAVIS_IMMS_HISTORY_SINCE".into(),
            reason: format!("{value:?} is not a date like 2025-09-01 or \"none\""),
        }),
        None => Ok(super::worker::SyncSettings::default().history_since),
    }
}

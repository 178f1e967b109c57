//! Wiring for AWS: configuration from the environment (checked at cold start) and the cloud adapters.

use std::sync::Arc;

use crate::adapters::secrets_manager_store::SecretsManagerStore;
use crate::adapters::{aws, dynamodb_store::DynamoRecordStore, s3_object_store::S3ObjectStore, sqs_queue::SqsQueue};
use crate::config::{ConfigError, optional_env, required_env};
use crate::consumer::ConsumerSettings;
use crate::nhs_api::auth::SECRET_MAX_AGE;
use crate::nhs_api::{ApiPlatformAuth, AuthConfig, PdsClient, SecretCredentials};
use crate::pipeline::PdsSettings;

/// Configuration shared by every function.
#[derive(Debug, Clone)]
pub struct CloudConfig {
    pub table_name: String,
    pub bucket_name: String,
    pub max_rows: u64,
    pub today_override: Option<chrono::NaiveDate>,
    /// How old the reference data may get before a warm function re-reads it (`MAVIS_REFERENCE_TTL_SECONDS`).
    pub reference_ttl: chrono::Duration,
}

impl CloudConfig {
    /// Also refuses, at cold start, the settings that only tests and local stacks may use
    /// ([`refuse_test_only_settings`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        refuse_test_only_settings(optional_env)?;
        let max_rows = match optional_env("MAVIS_MAX_ROWS") {
            Some(value) => value.parse().map_err(|_| ConfigError::Invalid {
                name: "MAVIS_MAX_ROWS".into(),
                reason: format!("{value:?} is not a whole number"),
            })?,
            None => 1_000_000,
        };
        let today_override = match optional_env("MAVIS_TODAY") {
            Some(value) => Some(value.parse().map_err(|_| ConfigError::Invalid {
                name: "MAVIS_TODAY".into(),
                reason: format!("{value:?} is not a date like 2025-12-01"),
            })?),
            None => None,
        };
        let reference_ttl = match optional_env("MAVIS_REFERENCE_TTL_SECONDS") {
            None => crate::reference::live::DEFAULT_TTL,
            Some(value) => match value.trim().parse::<i64>() {
                Ok(seconds) if seconds >= 1 => chrono::Duration::seconds(seconds),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "MAVIS_REFERENCE_TTL_SECONDS".into(),
                        reason: format!("{value:?} is not a whole number of seconds, at least 1"),
                    });
                }
            },
        };
        Ok(Self {
            reference_ttl,
            table_name: required_env("MAVIS_TABLE_NAME")?,
            bucket_name: required_env("MAVIS_BUCKET_NAME")?,
            max_rows,
            today_override,
        })
    }
}

/// The emulators' committed TEST-ONLY signing keys and API key: they protect nothing.
const TEST_ONLY_KEYS: [&str; 2] = [
    include_str!("../../emulators/pds/tests/fixtures/test-key-1.pem"),
    include_str!("../../emulators/pds/tests/fixtures/test-key-2.pem"),
];
const TEST_ONLY_API_KEY: &str = "pds-emulator-test-api-key";

/// Settings a deployed function must never run with: NHS API authentication switched off, NHS API URLs over plain
/// http, a fixed date (`MAVIS_TODAY`), or the emulators' committed test keys. They are allowed only against an
/// emulated AWS (`AWS_ENDPOINT_URL` set, as LocalStack and the test stacks do), where no real data is.
pub fn refuse_test_only_settings(env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    if env("AWS_ENDPOINT_URL").is_some_and(|url| !url.trim().is_empty()) {
        return Ok(());
    }
    let refuse = |name: &str, reason: &str| Err(ConfigError::Invalid { name: name.into(), reason: reason.into() });
    if env("NHS_API_DISABLE_AUTHENTICATION").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return refuse("NHS_API_DISABLE_AUTHENTICATION", "is for tests only: a deployed function must authenticate");
    }
    for name in ["NHS_API_BASE_URL", "NHS_API_TOKEN_URL"] {
        if env(name).is_some_and(|url| url.trim().to_ascii_lowercase().starts_with("http://")) {
            return refuse(name, "must be an https URL: NHS APIs are never reached over plain http");
        }
    }
    if env("MAVIS_TODAY").is_some() {
        return refuse("MAVIS_TODAY", "fixes the date for tests only; a deployed function uses the real date");
    }
    let squash = |pem: &str| pem.split_whitespace().collect::<String>();
    if let Some(pem) = env("NHS_API_PRIVATE_KEY_PEM")
        && TEST_ONLY_KEYS.iter().any(|test| squash(test) == squash(&pem))
    {
        return refuse("NHS_API_PRIVATE_KEY_PEM", "is the emulators' committed TEST-ONLY key");
    }
    if env("NHS_API_KEY").is_some_and(|key| key.trim() == TEST_ONLY_API_KEY) {
        return refuse("NHS_API_KEY", "is the emulators' TEST-ONLY API key");
    }
    Ok(())
}

/// The cloud adapters, built once per cold start.
pub struct CloudAdapters {
    pub records: Arc<DynamoRecordStore>,
    pub objects: Arc<S3ObjectStore>,
}

impl CloudAdapters {
    pub async fn connect(config: &CloudConfig) -> Self {
        let sdk = aws::sdk_config().await;
        let records = DynamoRecordStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table_name.clone());
        let objects = S3ObjectStore::new(aws::s3_client(&sdk), config.bucket_name.clone()).with_browser_uploads(&sdk);
        Self { records: Arc::new(records), objects: Arc::new(objects) }
    }

    /// The reference data as stored, re-read by warm invocations once older than the configured time to live.
    pub async fn live_reference(
        &self,
        config: &CloudConfig,
    ) -> Result<Arc<crate::reference::live::LiveReference>, crate::ports::StoreError> {
        let now = chrono::Utc::now();
        let reference = crate::store::reference::load(self.records.as_ref()).await?;
        let records: Arc<dyn crate::ports::RecordStore> = self.records.clone();
        Ok(Arc::new(crate::reference::live::LiveReference::reloading(records, reference, now, config.reference_ttl)))
    }
}

/// Where PDS lives under the NHS API platform's base URL.
pub const PDS_PATH: &str = "/personal-demographics/FHIR/R4";
/// PDS requests a second when `MAVIS_PDS_RATE_PER_SECOND` is not set. Production sets the agreed rate (50).
pub const DEFAULT_PDS_RATE_PER_SECOND: u32 = 5;

/// How the import function reaches PDS: `NHS_API_BASE_URL` (PDS at `{base}/personal-demographics/FHIR/R4`), the
/// platform auth (`NHS_API_TOKEN_URL`, `NHS_API_KID`, and the keys from the Secrets Manager secret
/// `NHS_API_SECRET_ID` as deployed, or from `NHS_API_KEY` and `NHS_API_PRIVATE_KEY_PEM` locally; or
/// `NHS_API_DISABLE_AUTHENTICATION=true`) and `MAVIS_PDS_RATE_PER_SECOND`.
#[derive(Debug, Clone)]
pub struct PdsConfig {
    /// `{NHS_API_BASE_URL}/personal-demographics/FHIR/R4`.
    pub pds_base_url: String,
    pub auth: ApiPlatformAuth,
    pub requests_per_second: u32,
    http: reqwest::Client,
}

impl PdsConfig {
    /// `None` when `NHS_API_BASE_URL` is not set: the import runs without the PDS step.
    pub async fn from_env() -> Result<Option<Self>, ConfigError> {
        match optional_env("NHS_API_BASE_URL") {
            Some(base_url) => Self::for_base_url(&base_url).await.map(Some),
            None => Ok(None),
        }
    }

    /// PDS under `base_url` (the platform base, e.g. `https://int.api.service.nhs.uk`; a URL that already ends with
    /// the PDS path is accepted too), with auth and rate from the environment. The token URL is
    /// `NHS_API_TOKEN_URL` or `{base_url}/oauth2/token`.
    pub async fn for_base_url(base_url: &str) -> Result<Self, ConfigError> {
        let base = platform_base(base_url);
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                name: "NHS_API_BASE_URL".into(),
                reason: format!("{base_url:?} is not an http(s) URL"),
            });
        }
        let http = http_client()?;
        let auth = if optional_env("NHS_API_DISABLE_AUTHENTICATION")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        {
            ApiPlatformAuth::disabled()
        } else {
            let token_url = optional_env("NHS_API_TOKEN_URL").unwrap_or_else(|| format!("{base}/oauth2/token"));
            let kid = required_env("NHS_API_KID")?;
            match optional_env("NHS_API_SECRET_ID") {
                Some(secret_id) => {
                    let store = SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(&aws::sdk_config().await));
                    let secret = SecretCredentials { store: Arc::new(store), secret_id, max_age: SECRET_MAX_AGE };
                    ApiPlatformAuth::signed_from_secret(token_url, kid, secret, http.clone())
                        .await
                        .map_err(|e| ConfigError::Invalid { name: "NHS_API_SECRET_ID".into(), reason: e.to_string() })?
                }
                None => {
                    let config = AuthConfig {
                        token_url,
                        api_key: required_env("NHS_API_KEY")?,
                        private_key_pem: required_env("NHS_API_PRIVATE_KEY_PEM")?,
                        kid,
                    };
                    ApiPlatformAuth::signed(config, http.clone()).map_err(|e| ConfigError::Invalid {
                        name: "NHS_API_PRIVATE_KEY_PEM".into(),
                        reason: e.to_string(),
                    })?
                }
            }
        };
        Ok(Self { pds_base_url: format!("{base}{PDS_PATH}"), auth, requests_per_second: pds_rate_from_env()?, http })
    }

    /// The pipeline's PDS settings: a [`PdsClient`] with this auth, at this rate.
    pub fn settings(&self) -> PdsSettings {
        let client = PdsClient::new(self.pds_base_url.clone(), self.auth.clone(), self.http.clone());
        let mut settings = PdsSettings::for_client(Arc::new(client));
        settings.requests_per_second = self.requests_per_second;
        settings
    }
}

// ---- event sources ----

/// The queue that triggers a function, from `MAVIS_EVENTS_QUEUE_URL`, and the function's consumer settings with the
/// queue's redrive limit read from the queue itself (the template's RedrivePolicy is the only place it is written).
/// Without the queue the messages keep the queue's own visibility timeout and retries, which the log says once.
pub async fn event_source_from_env(settings: ConsumerSettings) -> (Option<Arc<SqsQueue>>, ConsumerSettings) {
    let Some(queue_url) = optional_env("MAVIS_EVENTS_QUEUE_URL") else {
        tracing::warn!(
            "MAVIS_EVENTS_QUEUE_URL is not set: a crashed invocation's messages wait out the queue's timeout"
        );
        return (None, settings);
    };
    let sdk = aws::sdk_config().await;
    let queue = Arc::new(SqsQueue::new(aws::sqs_client(&sdk), queue_url, String::new()));
    let max_receives = match queue.max_receive_count().await {
        Ok(max) => max,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the event queue's redrive limit: retries end in the dead letters");
            None
        }
    };
    (Some(queue), settings.with_max_receives(max_receives))
}

// ---- pds queue (import function → pds function) ----

/// The pds queue from `MAVIS_PDS_QUEUE_URL` and `MAVIS_PDS_DEAD_LETTER_QUEUE_URL`; `None` when the first is unset.
pub async fn pds_queue_from_env() -> Result<Option<Arc<SqsQueue>>, ConfigError> {
    let Some(queue_url) = optional_env("MAVIS_PDS_QUEUE_URL") else { return Ok(None) };
    let dead_letters = optional_env("MAVIS_PDS_DEAD_LETTER_QUEUE_URL").unwrap_or_default();
    let sdk = aws::sdk_config().await;
    Ok(Some(Arc::new(SqsQueue::new(aws::sqs_client(&sdk), queue_url, dead_letters))))
}

/// The fhir queue from `MAVIS_FHIR_QUEUE_URL` (and `MAVIS_FHIR_DLQ_URL`), for functions that change vaccination
/// records and tell the fhir function at once; `None` when unset (the fhir function's sweep still finds the change).
pub async fn fhir_queue_from_env() -> Option<Arc<SqsQueue>> {
    let queue_url = optional_env("MAVIS_FHIR_QUEUE_URL")?;
    let dead_letters = optional_env("MAVIS_FHIR_DLQ_URL").unwrap_or_default();
    let sdk = aws::sdk_config().await;
    Some(Arc::new(SqsQueue::new(aws::sqs_client(&sdk), queue_url, dead_letters)))
}

/// The pipeline's PDS settings for a function: PDS from [`PdsConfig::from_env`], its work on the pds queue when
/// `MAVIS_PDS_QUEUE_URL` is set (the deployed shape; without it the search runs inside the import function).
/// `None` when PDS is off.
pub async fn pipeline_pds_settings_from_env() -> Result<Option<PdsSettings>, ConfigError> {
    let Some(pds) = PdsConfig::from_env().await? else { return Ok(None) };
    tracing::info!(
        pds_base_url = %pds.pds_base_url,
        requests_per_second = pds.requests_per_second,
        auth = if pds.auth.is_disabled() { "disabled" } else { "signed JWT" },
        "PDS on"
    );
    let settings = pds.settings();
    Ok(Some(match pds_queue_from_env().await? {
        Some(queue) => settings.with_queue(queue),
        None => settings,
    }))
}

// ---- end of pds queue ----

/// `MAVIS_PDS_RATE_PER_SECOND`, [`DEFAULT_PDS_RATE_PER_SECOND`] when unset.
pub fn pds_rate_from_env() -> Result<u32, ConfigError> {
    match optional_env("MAVIS_PDS_RATE_PER_SECOND") {
        Some(value) => match value.trim().parse::<u32>() {
            Ok(rate) if rate > 0 => Ok(rate),
            _ => Err(ConfigError::Invalid {
                name: "MAVIS_PDS_RATE_PER_SECOND".into(),
                reason: format!("{value:?} is not a whole number above 0"),
            }),
        },
        None => Ok(DEFAULT_PDS_RATE_PER_SECOND),
    }
}

/// The HTTP client for the NHS APIs: bounded connect and request times, so a stuck call is retried, not waited on.
pub fn http_client() -> Result<reqwest::Client, ConfigError> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| ConfigError::Invalid { name: "NHS_API_BASE_URL".into(), reason: format!("HTTP client: {e}") })
}

/// `https://host/personal-demographics/FHIR/R4/` → `https://host`; `https://host/` → `https://host`.
fn platform_base(url: &str) -> &str {
    let url = url.trim().trim_end_matches('/');
    url.strip_suffix(PDS_PATH).unwrap_or(url).trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::platform_base;

    #[test]
    fn platform_base_accepts_the_platform_or_the_pds_url() {
        assert_eq!(platform_base("https://int.api.service.nhs.uk/"), "https://int.api.service.nhs.uk");
        assert_eq!(
            platform_base("https://int.api.service.nhs.uk/personal-demographics/FHIR/R4/"),
            "https://int.api.service.nhs.uk"
        );
    }

    use std::collections::HashMap;

    use super::{TEST_ONLY_API_KEY, TEST_ONLY_KEYS, refuse_test_only_settings};

    fn check(pairs: &[(&str, &str)]) -> Result<(), String> {
        let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        refuse_test_only_settings(|name| env.get(name).cloned()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_deployed_function_should_refuse_every_test_only_setting() {
        assert_eq!(check(&[("NHS_API_BASE_URL", "https://int.api.service.nhs.uk"), ("NHS_API_KEY", "real")]), Ok(()));
        let refused = [
            ("NHS_API_DISABLE_AUTHENTICATION", "true"),
            ("NHS_API_BASE_URL", "http://127.0.0.1:9000"),
            ("NHS_API_TOKEN_URL", "HTTP://int.api.service.nhs.uk/oauth2/token"),
            ("MAVIS_TODAY", "2025-12-01"),
            ("NHS_API_PRIVATE_KEY_PEM", TEST_ONLY_KEYS[0]),
            ("NHS_API_KEY", TEST_ONLY_API_KEY),
        ];
        for (name, value) in refused {
            let error = check(&[(name, value)]).expect_err(name);
            assert!(error.contains(name), "{error}");
        }
        // The same key with other line breaks is still the test key.
        let rewrapped = TEST_ONLY_KEYS[1].replace('\n', "\r\n");
        assert!(check(&[("NHS_API_PRIVATE_KEY_PEM", &rewrapped)]).is_err());
    }

    #[test]
    fn an_emulated_aws_should_allow_the_test_settings() {
        let local = [("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"), ("NHS_API_DISABLE_AUTHENTICATION", "true")];
        assert_eq!(check(&local), Ok(()));
    }
}

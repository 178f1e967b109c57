//! Wiring for AWS: configuration from the environment (checked at cold start) and the cloud adapters.

use std::sync::Arc;

use crate::adapters::{aws, dynamodb_store::DynamoRecordStore, s3_object_store::S3ObjectStore};
use crate::config::{ConfigError, optional_env, required_env};

/// Configuration shared by every function.
#[derive(Debug, Clone)]
pub struct CloudConfig {
    pub table_name: String,
    pub bucket_name: String,
    pub max_rows: u64,
    pub today_override: Option<chrono::NaiveDate>,
}

impl CloudConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
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
        Ok(Self {
            table_name: required_env("MAVIS_TABLE_NAME")?,
            bucket_name: required_env("MAVIS_BUCKET_NAME")?,
            max_rows,
            today_override,
        })
    }
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
        let objects = S3ObjectStore::new(aws::s3_client(&sdk), config.bucket_name.clone());
        Self { records: Arc::new(records), objects: Arc::new(objects) }
    }
}

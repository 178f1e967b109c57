//! Object store: uploaded CSV files. Read as a stream so that memory stays flat whatever the file size.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncRead;

pub type ObjectReader = Box<dyn AsyncRead + Send + Unpin>;

/// How a browser (or curl) uploads a file: send `method` to `url` with exactly these headers and the file as the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresignedUpload {
    pub method: String,
    pub url: String,
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_in_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// Changes whenever the content changes (S3 ETag; a content hash for the folder adapter).
    pub etag: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectStoreError {
    #[error("no object at {0}")]
    NotFound(String),
    #[error("object store temporarily unavailable: {0}")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("object store rejected the request: {0}")]
    Invalid(String),
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn put(&self, key: &str, body: bytes::Bytes, content_type: &str) -> Result<(), ObjectStoreError>;

    async fn head(&self, key: &str) -> Result<ObjectInfo, ObjectStoreError>;

    /// A fresh stream over the whole object; can be called again to re-read.
    async fn open(&self, key: &str) -> Result<ObjectReader, ObjectStoreError>;

    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError>;

    /// Keys under a prefix, in key order.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectStoreError>;

    /// A URL through which the holder can PUT one object at `key` with the given content type until it expires.
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<PresignedUpload, ObjectStoreError>;
}

//! Object store: uploaded CSV files. Read as a stream so that memory stays flat whatever the file size.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncRead;

pub use crate::domain::ObjectVersion;

pub type ObjectReader = Box<dyn AsyncRead + Send + Unpin>;

/// How a browser (or curl) uploads a file: send `method` to `url` with exactly these headers and the file as the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresignedUpload {
    pub method: String,
    pub url: String,
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_in_seconds: u64,
}

/// What a browser form upload (S3's "POST policy") may do: put one file under `key_prefix` (its name from the
/// chosen file), of `content_type`, between 0 bytes and `max_bytes`, until `expires_in` has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPolicy {
    pub key_prefix: String,
    pub content_type: String,
    pub max_bytes: u64,
    pub expires_in: Duration,
    pub on_success: PostSuccess,
}

/// How the store answers a successful form upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostSuccess {
    /// 303 to this URL (a plain HTML form: the browser lands on the next page).
    Redirect(String),
    /// 201 (a script sending the form: it cannot follow a redirect to another origin).
    Created,
}

/// The form to send: POST `url` as `multipart/form-data` with these fields in this order, then the file in a field
/// named `file`, last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresignedPost {
    pub url: String,
    pub fields: Vec<(String, String)>,
    pub expires_in_seconds: u64,
}

/// The key field of a form upload: the store puts the chosen file's name in place of `${filename}` (S3's rule).
pub const FILENAME_PLACEHOLDER: &str = "${filename}";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// Changes whenever the content changes (S3 ETag; a content hash for the folder adapter).
    pub etag: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectStoreError {
    /// Holds the key, for the code that asked; the message leaves it out, as it can carry a file's name.
    #[error("no object at that key")]
    NotFound(String),
    #[error("object store temporarily unavailable: {0}")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("object store rejected the request: {0}")]
    Invalid(String),
    /// The key no longer holds the version asked for (it was replaced, and the store keeps no older version), or a
    /// create-only upload found an object already there. Says nothing of the key: it can carry a file's name.
    #[error("the object is not the version expected")]
    Changed,
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn put(&self, key: &str, body: bytes::Bytes, content_type: &str) -> Result<(), ObjectStoreError>;

    async fn head(&self, key: &str) -> Result<ObjectInfo, ObjectStoreError>;

    /// A fresh stream over the whole object; can be called again to re-read.
    async fn open(&self, key: &str) -> Result<ObjectReader, ObjectStoreError>;

    /// A fresh stream over exactly `version` of the object (S3: `versionId` when known, and `If-Match` on the
    /// ETag); `Changed` when the key now holds other content and that version cannot be read any more.
    async fn open_version(&self, key: &str, version: &ObjectVersion) -> Result<ObjectReader, ObjectStoreError>;

    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError>;

    /// Keys under a prefix, in key order.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectStoreError>;

    /// A URL through which the holder can PUT one object at `key` with the given content type until it expires.
    /// With `content_length`, the length is signed too: the store refuses a body of any other size. The PUT only
    /// creates: once an object is at `key`, another PUT through the URL is refused (412, S3's `If-None-Match: *`).
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedUpload, ObjectStoreError>;

    /// A signed form through which a browser uploads one file straight to the store, with no JavaScript.
    async fn presign_post(&self, policy: &PostPolicy) -> Result<PresignedPost, ObjectStoreError>;

    /// The origin forms and scripts upload to, when it is not this service's own (the Content-Security-Policy must
    /// allow it).
    fn upload_origin(&self) -> Option<String> {
        None
    }
}

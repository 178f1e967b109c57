//! An object store that puts another file under one key just before the Nth read of that key: to the pipeline, the
//! same as a second upload landing under the key between two passes over the first file.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use shared::ports::object_store::{ObjectInfo, PostPolicy, PresignedPost, PresignedUpload};
use shared::ports::{ObjectReader, ObjectStore, ObjectStoreError, ObjectVersion};

pub struct ReplacingObjects {
    inner: Arc<dyn ObjectStore>,
    key: String,
    replacement: Bytes,
    /// The read (1-based) before which the replacement lands; 0 never replaces (to count reads).
    before_read: usize,
    reads: AtomicUsize,
}

impl ReplacingObjects {
    pub fn new(inner: Arc<dyn ObjectStore>, key: &str, replacement: Vec<u8>, before_read: usize) -> Self {
        Self { inner, key: key.into(), replacement: replacement.into(), before_read, reads: AtomicUsize::new(0) }
    }

    /// Reads of the key so far (`open` and `open_version`).
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    async fn count_read(&self, key: &str) -> Result<(), ObjectStoreError> {
        if key == self.key && self.reads.fetch_add(1, Ordering::SeqCst) + 1 == self.before_read {
            self.inner.put(key, self.replacement.clone(), "text/csv").await?;
        }
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for ReplacingObjects {
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), ObjectStoreError> {
        self.inner.put(key, body, content_type).await
    }

    async fn head(&self, key: &str) -> Result<ObjectInfo, ObjectStoreError> {
        self.inner.head(key).await
    }

    async fn open(&self, key: &str) -> Result<ObjectReader, ObjectStoreError> {
        self.count_read(key).await?;
        self.inner.open(key).await
    }

    async fn open_version(&self, key: &str, version: &ObjectVersion) -> Result<ObjectReader, ObjectStoreError> {
        self.count_read(key).await?;
        self.inner.open_version(key, version).await
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError> {
        self.inner.delete(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectStoreError> {
        self.inner.list(prefix).await
    }

    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedUpload, ObjectStoreError> {
        self.inner.presign_upload(key, content_type, content_length, expires_in).await
    }

    async fn presign_post(&self, policy: &PostPolicy) -> Result<PresignedPost, ObjectStoreError> {
        self.inner.presign_post(policy).await
    }
}

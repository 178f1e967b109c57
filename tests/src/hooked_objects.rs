//! An object store that lets a test act before each read of the store it wraps: replace a file between two passes
//! over it ([`crate::replacing_objects`]), or fail reads at random ([`crate::faulty_stores`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use shared::ports::object_store::{ObjectInfo, PostPolicy, PresignedPost, PresignedUpload};
use shared::ports::{ObjectReader, ObjectStore, ObjectStoreError, ObjectVersion};

/// Which kind of read is about to happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    Head,
    /// `open` or `open_version`: a pass over the object's content.
    Content,
    List,
}

#[async_trait]
pub trait BeforeRead: Send + Sync {
    /// Runs before the read of `key` (the prefix, for a list); an error is the read's answer.
    async fn before_read(&self, inner: &dyn ObjectStore, read: Read, key: &str) -> Result<(), ObjectStoreError>;
}

pub struct HookedObjects<H> {
    pub inner: Arc<dyn ObjectStore>,
    pub hook: H,
}

#[async_trait]
impl<H: BeforeRead> ObjectStore for HookedObjects<H> {
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), ObjectStoreError> {
        self.inner.put(key, body, content_type).await
    }

    async fn head(&self, key: &str) -> Result<ObjectInfo, ObjectStoreError> {
        self.hook.before_read(self.inner.as_ref(), Read::Head, key).await?;
        self.inner.head(key).await
    }

    async fn open(&self, key: &str) -> Result<ObjectReader, ObjectStoreError> {
        self.hook.before_read(self.inner.as_ref(), Read::Content, key).await?;
        self.inner.open(key).await
    }

    async fn open_version(&self, key: &str, version: &ObjectVersion) -> Result<ObjectReader, ObjectStoreError> {
        self.hook.before_read(self.inner.as_ref(), Read::Content, key).await?;
        self.inner.open_version(key, version).await
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError> {
        self.inner.delete(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectStoreError> {
        self.hook.before_read(self.inner.as_ref(), Read::List, prefix).await?;
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

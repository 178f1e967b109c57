//! Puts another file under one key just before the Nth pass over that key's content: to the pipeline, the same as a
//! second upload landing under the key between two passes over the first file.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use shared::ports::{ObjectStore, ObjectStoreError};

use crate::hooked_objects::{BeforeRead, HookedObjects, Read};

pub struct ReplaceBeforeRead {
    key: String,
    replacement: Bytes,
    /// The pass (1-based) before which the replacement lands; 0 never replaces (to count passes).
    before_read: usize,
    reads: AtomicUsize,
}

pub type ReplacingObjects = HookedObjects<ReplaceBeforeRead>;

impl ReplaceBeforeRead {
    pub fn wrap(inner: Arc<dyn ObjectStore>, key: &str, replacement: Vec<u8>, before_read: usize) -> ReplacingObjects {
        let hook = ReplaceBeforeRead {
            key: key.into(),
            replacement: replacement.into(),
            before_read,
            reads: AtomicUsize::new(0),
        };
        HookedObjects { inner, hook }
    }

    /// Passes over the key's content so far.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl BeforeRead for ReplaceBeforeRead {
    async fn before_read(&self, inner: &dyn ObjectStore, read: Read, key: &str) -> Result<(), ObjectStoreError> {
        if read == Read::Content && key == self.key && self.reads.fetch_add(1, Ordering::SeqCst) + 1 == self.before_read
        {
            inner.put(key, self.replacement.clone(), "text/csv").await?;
        }
        Ok(())
    }
}

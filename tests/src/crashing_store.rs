//! A record store that stops answering after a given number of writes, as a worker killed at that moment: every
//! write before it landed, none after, and nothing it asks for ever comes back.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use shared::ports::{Condition, Item, ItemKey, Page, Query, RecordStore, StoreError, WriteOp};
use tokio::sync::Notify;

pub struct CrashingStore {
    inner: Arc<dyn RecordStore>,
    writes_left: AtomicUsize,
    crashed: Notify,
    dead: std::sync::atomic::AtomicBool,
}

impl CrashingStore {
    /// Lets `writes` writes through, then crashes at the next one.
    pub fn new(inner: Arc<dyn RecordStore>, writes: usize) -> Self {
        Self { inner, writes_left: AtomicUsize::new(writes), crashed: Notify::new(), dead: false.into() }
    }

    /// Resolves once the worker has crashed.
    pub async fn crashed(&self) {
        self.crashed.notified().await
    }

    async fn read<T>(&self, op: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        if self.dead.load(Ordering::SeqCst) {
            return std::future::pending().await;
        }
        op.await
    }

    async fn write<T>(&self, op: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        let allowed = self.writes_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if !allowed || self.dead.load(Ordering::SeqCst) {
            if !self.dead.swap(true, Ordering::SeqCst) {
                // A permit is kept if nobody waits yet.
                self.crashed.notify_one();
            }
            return std::future::pending().await;
        }
        op.await
    }
}

#[async_trait]
impl RecordStore for CrashingStore {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        self.read(self.inner.get(key)).await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        self.write(self.inner.put(item, condition)).await
    }

    async fn delete(&self, key: &ItemKey, condition: Condition) -> Result<(), StoreError> {
        self.write(self.inner.delete(key, condition)).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.read(self.inner.query(query)).await
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        self.write(self.inner.batch_put(items)).await
    }

    async fn batch_get(&self, keys: &[ItemKey]) -> Result<Vec<Item>, StoreError> {
        self.read(self.inner.batch_get(keys)).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.write(self.inner.transact(ops)).await
    }
}

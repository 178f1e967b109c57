//! Record and object stores that fail at random, as DynamoDB and S3 do under load: seeded, so that a failing run
//! repeats exactly. A fault is throttling before the call (nothing done), a timeout after it (done, but the caller
//! is told it failed), a batch write cut short (DynamoDB's unprocessed items, given up on), or a transaction
//! cancelled by a conflict (nothing done). Reads fail only before the call.

use async_trait::async_trait;
use shared::ports::{Item, ItemKey, ObjectStore, ObjectStoreError, Page, Query, RecordStore, StoreError, WriteOp};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::hooked_objects::{BeforeRead, HookedObjects, Read};

/// A seeded splitmix64 generator: the fault pattern is a function of the seed alone.
pub(crate) struct Dice(Mutex<u64>, u32);

impl Dice {
    /// Faults in `percent` of calls.
    pub(crate) fn new(seed: u64, percent: u32) -> Self {
        Dice(Mutex::new(seed), percent)
    }

    /// None most of the time; Some(0..4) in `percent` of calls (which fault).
    pub(crate) fn roll(&self) -> Option<u64> {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z % 100) < u64::from(self.1)).then_some((z >> 32) % 4)
    }
}

fn throttled() -> StoreError {
    StoreError::Transient("injected: ProvisionedThroughputExceededException".into())
}

fn timed_out() -> StoreError {
    StoreError::Transient("injected: the request timed out after it was applied".into())
}

pub struct FaultyRecordStore {
    inner: Arc<dyn RecordStore>,
    dice: Dice,
    calls: AtomicUsize,
    faults: AtomicUsize,
}

impl FaultyRecordStore {
    pub fn new(inner: Arc<dyn RecordStore>, seed: u64, percent: u32) -> Self {
        Self { inner, dice: Dice::new(seed, percent), calls: AtomicUsize::new(0), faults: AtomicUsize::new(0) }
    }

    /// Calls made so far, and the faults injected in them.
    pub fn calls_and_faults(&self) -> (usize, usize) {
        (self.calls.load(Ordering::SeqCst), self.faults.load(Ordering::SeqCst))
    }

    fn roll(&self) -> Option<u64> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let fault = self.dice.roll();
        if fault.is_some() {
            self.faults.fetch_add(1, Ordering::SeqCst);
        }
        fault
    }

    /// A write under the dice: throttled before, or timed out after.
    async fn write<F: std::future::Future<Output = Result<(), StoreError>>>(&self, call: F) -> Result<(), StoreError> {
        match self.roll() {
            None => call.await,
            Some(0 | 1) => Err(throttled()),
            Some(_) => {
                call.await?;
                Err(timed_out())
            }
        }
    }
}

#[async_trait]
impl RecordStore for FaultyRecordStore {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        if self.roll().is_some() {
            return Err(throttled());
        }
        self.inner.get(key).await
    }

    async fn put(&self, item: Item, condition: shared::ports::Condition) -> Result<(), StoreError> {
        self.write(self.inner.put(item, condition)).await
    }

    async fn delete(&self, key: &ItemKey, condition: shared::ports::Condition) -> Result<(), StoreError> {
        self.write(self.inner.delete(key, condition)).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        if self.roll().is_some() {
            return Err(throttled());
        }
        self.inner.query(query).await
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        match self.roll() {
            None => self.inner.batch_put(items).await,
            // Unprocessed items the adapter gave up on: the first half written, the rest not.
            Some(0) => {
                let half = items.len() / 2;
                self.inner.batch_put(items.into_iter().take(half).collect()).await?;
                Err(StoreError::Transient("injected: unprocessed items left after retries".into()))
            }
            Some(1) => Err(throttled()),
            Some(_) => {
                self.inner.batch_put(items).await?;
                Err(timed_out())
            }
        }
    }

    async fn batch_get(&self, keys: &[ItemKey]) -> Result<Vec<Item>, StoreError> {
        if self.roll().is_some() {
            return Err(throttled());
        }
        self.inner.batch_get(keys).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        match self.roll() {
            None => self.inner.transact(ops).await,
            Some(0) => Err(StoreError::Conflict("injected: TransactionConflict".into())),
            Some(1) => Err(throttled()),
            Some(_) => {
                self.inner.transact(ops).await?;
                Err(timed_out())
            }
        }
    }
}

/// Fails reads of an object store at random (S3's 503 SlowDown), before anything is read.
pub struct SlowDown(Dice);

pub type FaultyObjects = HookedObjects<SlowDown>;

impl SlowDown {
    pub fn wrap(inner: Arc<dyn ObjectStore>, seed: u64, percent: u32) -> FaultyObjects {
        HookedObjects { inner, hook: SlowDown(Dice::new(seed, percent)) }
    }
}

#[async_trait]
impl BeforeRead for SlowDown {
    async fn before_read(&self, _inner: &dyn ObjectStore, _read: Read, _key: &str) -> Result<(), ObjectStoreError> {
        match self.0.roll() {
            Some(_) => Err(ObjectStoreError::Transient("injected: SlowDown".into())),
            None => Ok(()),
        }
    }
}

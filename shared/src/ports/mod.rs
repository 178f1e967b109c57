//! The ports through which the pipeline talks to the world. Each has a cloud adapter and an embedded adapter
//! (see `crate::adapters`) and one contract test suite (`crate::contract_tests`) that both must pass.

pub mod object_store;
pub mod queue;
pub mod record_store;
pub mod secret_store;

pub use object_store::{
    ObjectReader, ObjectStore, ObjectStoreError, ObjectVersion, PostPolicy, PostSuccess, PresignedPost, PresignedUpload,
};
pub use queue::{Queue, QueueError, ReceivedMessage};
pub use record_store::{Condition, IndexName, Item, ItemKey, Page, Query, RecordStore, StoreError, WriteOp};
pub use secret_store::{SecretError, SecretStore};

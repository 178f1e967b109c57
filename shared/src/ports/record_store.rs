//! Record store: items addressed by a partition key and a sort key, with up to four secondary indexes, optimistic
//! versions, conditional writes, batch writes and all-or-nothing transactions. Shaped after one DynamoDB table so
//! that the cloud adapter is a thin mapping; the embedded adapter keeps the same semantics on disk.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The key of an item in the table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ItemKey {
    pub pk: String,
    pub sk: String,
}

impl ItemKey {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self { pk: pk.into(), sk: sk.into() }
    }
}

/// Secondary indexes. Each projects every attribute; an item is in an index only when it sets that index's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexName {
    Gsi1,
    Gsi2,
    Gsi3,
    Gsi4,
    Gsi5,
}

impl IndexName {
    pub const ALL: [IndexName; 5] =
        [IndexName::Gsi1, IndexName::Gsi2, IndexName::Gsi3, IndexName::Gsi4, IndexName::Gsi5];

    /// The index name as it appears in the table definition (`gsi1` …).
    pub fn as_str(self) -> &'static str {
        match self {
            IndexName::Gsi1 => "gsi1",
            IndexName::Gsi2 => "gsi2",
            IndexName::Gsi3 => "gsi3",
            IndexName::Gsi4 => "gsi4",
            IndexName::Gsi5 => "gsi5",
        }
    }
}

/// One stored item. `body` is the domain record as JSON; `version` starts at 1 and is bumped by the caller on every
/// conditional update (`Condition::VersionIs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub key: ItemKey,
    /// Secondary index keys, by position: `indexes[0]` is gsi1 … `indexes[4]` is gsi5.
    pub indexes: [Option<ItemKey>; 5],
    pub version: u64,
    pub body: serde_json::Value,
    /// Seconds since the epoch after which the item may be removed (DynamoDB TTL). None keeps it for ever.
    pub expires_at: Option<i64>,
}

impl Item {
    pub fn new(key: ItemKey, body: serde_json::Value) -> Self {
        Self { key, indexes: [None, None, None, None, None], version: 1, body, expires_at: None }
    }

    pub fn with_index(mut self, index: IndexName, key: ItemKey) -> Self {
        self.indexes[index as usize] = Some(key);
        self
    }

    pub fn index(&self, index: IndexName) -> Option<&ItemKey> {
        self.indexes[index as usize].as_ref()
    }
}

/// A condition on the item currently stored under the written key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Write whatever is there.
    None,
    /// Only if no item has this key.
    NotExists,
    /// Only if an item exists with exactly this version.
    VersionIs(u64),
    /// Only if an item with this key exists (any version).
    Exists,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Put {
        item: Item,
        condition: Condition,
    },
    Delete {
        key: ItemKey,
        condition: Condition,
    },
    /// Checks a condition without writing (DynamoDB ConditionCheck).
    Check {
        key: ItemKey,
        condition: Condition,
    },
}

/// A query on the table or on one secondary index: all items whose partition key equals `pk` and whose sort key
/// starts with `sk_prefix`, in sort-key order (or reversed), a page at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub index: Option<IndexName>,
    pub pk: String,
    pub sk_prefix: String,
    pub descending: bool,
    pub limit: Option<usize>,
    /// Opaque cursor from a previous `Page::next`.
    pub after: Option<String>,
}

impl Query {
    pub fn table(pk: impl Into<String>) -> Self {
        Self { index: None, pk: pk.into(), sk_prefix: String::new(), descending: false, limit: None, after: None }
    }

    pub fn index(index: IndexName, pk: impl Into<String>) -> Self {
        Self { index: Some(index), ..Self::table(pk) }
    }

    pub fn prefix(mut self, sk_prefix: impl Into<String>) -> Self {
        self.sk_prefix = sk_prefix.into();
        self
    }

    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn after(mut self, cursor: Option<String>) -> Self {
        self.after = cursor;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Set when more items may follow; pass it back as `Query::after`.
    pub next: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A write's condition did not hold (or, in a transaction, one of them did not). Not retryable as it stands.
    #[error("the record changed or already exists: {0}")]
    Conflict(String),
    /// Throttling, timeouts, connection failures: worth retrying.
    #[error("record store temporarily unavailable: {0}")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A request the store refuses as it stands (too many items in a transaction, an item too large…).
    #[error("record store rejected the request: {0}")]
    Invalid(String),
    /// Stored data that cannot be read back.
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
}

/// The largest number of operations one `transact` call accepts (DynamoDB's limit).
pub const MAX_TRANSACTION_OPS: usize = 100;

#[async_trait]
pub trait RecordStore: Send + Sync {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError>;

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError>;

    async fn delete(&self, key: &ItemKey, condition: Condition) -> Result<(), StoreError>;

    async fn query(&self, query: &Query) -> Result<Page, StoreError>;

    /// How many items `query` matches (its limit and cursor ignored). By default it pages through the items;
    /// adapters that can count without reading them do so.
    async fn count(&self, query: &Query) -> Result<usize, StoreError> {
        let mut query = Query { limit: None, after: None, ..query.clone() };
        let mut count = 0;
        loop {
            let page = self.query(&query).await?;
            count += page.items.len();
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(count),
            }
        }
    }

    /// Many queries, each answered with its first page as by [`RecordStore::query`], in their order. By default
    /// one after another; the embedded adapter reads them all in one read transaction, the DynamoDB adapter sends
    /// several at a time.
    async fn query_each(&self, queries: &[Query]) -> Result<Vec<Page>, StoreError> {
        let mut pages = Vec::with_capacity(queries.len());
        for query in queries {
            pages.push(self.query(query).await?);
        }
        Ok(pages)
    }

    /// Unconditional puts of any number of items; adapters chunk them (25 per DynamoDB BatchWriteItem) and retry
    /// unprocessed items. Not atomic: on error some items may have been written.
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError>;

    /// Reads many items at once; missing keys are simply absent from the result, which is in no particular order.
    async fn batch_get(&self, keys: &[ItemKey]) -> Result<Vec<Item>, StoreError>;

    /// All or nothing, at most `MAX_TRANSACTION_OPS` operations, at most one operation per key.
    /// A failed condition gives `StoreError::Conflict`.
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;

    /// Many independent transactions, each all or nothing as by [`RecordStore::transact`], with one answer each in
    /// their order: a failed condition or a refused request fails only its own transaction. The outer error means
    /// the store failed part-way, after which any of them may have been applied. By default they run one after
    /// another; the embedded adapter commits them all at once, the DynamoDB adapter sends several at a time.
    async fn transact_each(&self, transactions: Vec<Vec<WriteOp>>) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let mut answers = Vec::with_capacity(transactions.len());
        for ops in transactions {
            answers.push(answer_of_one(self.transact(ops).await)?);
        }
        Ok(answers)
    }
}

/// One transaction's answer within [`RecordStore::transact_each`]: a failed condition or a refused request is its
/// own; a store that is failing or corrupt fails them all.
pub fn answer_of_one(answer: Result<(), StoreError>) -> Result<Result<(), StoreError>, StoreError> {
    match answer {
        Err(e @ (StoreError::Transient(_) | StoreError::Corrupt(_))) => Err(e),
        answer => Ok(answer),
    }
}

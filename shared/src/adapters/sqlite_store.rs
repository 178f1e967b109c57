//! Embedded record store on SQLite, used by the local runner and the default tests.
//!
//! It keeps the exact semantics of the DynamoDB adapter (see `crate::ports::record_store`), including the requests
//! DynamoDB refuses (empty or oversized keys, items over 400 KB, transactions over 100 operations or touching one key
//! twice), so that code which passes locally does not fail in the cloud.
//!
//! Layout: one table `items` clustered on the table key (WITHOUT ROWID: one B-tree fewer to maintain, and table
//! queries read rows in key order) and one partial index per GSI on `(gsiNpk, gsiNsk, pk, sk)`; the table key
//! columns make the index order total, which the paging cursor relies on.
//! rusqlite is synchronous, so every call runs on tokio's blocking pool with the one connection behind a mutex.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior, params, params_from_iter};

use crate::ports::record_store::MAX_TRANSACTION_OPS;
use crate::ports::{Condition, IndexName, Item, ItemKey, Page, Query, RecordStore, StoreError, WriteOp};

/// Bumped when the layout changes; a database written by a newer build is refused rather than misread.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk         TEXT NOT NULL,
    sk         TEXT NOT NULL,
    gsi1pk     TEXT, gsi1sk TEXT,
    gsi2pk     TEXT, gsi2sk TEXT,
    gsi3pk     TEXT, gsi3sk TEXT,
    gsi4pk     TEXT, gsi4sk TEXT,
    gsi5pk     TEXT, gsi5sk TEXT,
    version    INTEGER NOT NULL,
    body       TEXT NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi2 ON items (gsi2pk, gsi2sk, pk, sk) WHERE gsi2pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi3 ON items (gsi3pk, gsi3sk, pk, sk) WHERE gsi3pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi4 ON items (gsi4pk, gsi4sk, pk, sk) WHERE gsi4pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi5 ON items (gsi5pk, gsi5sk, pk, sk) WHERE gsi5pk IS NOT NULL;
";

const COLUMNS: &str =
    "pk, sk, gsi1pk, gsi1sk, gsi2pk, gsi2sk, gsi3pk, gsi3sk, gsi4pk, gsi4sk, gsi5pk, gsi5sk, version, body, expires_at";

const UPSERT: &str = "
INSERT INTO items (pk, sk, gsi1pk, gsi1sk, gsi2pk, gsi2sk, gsi3pk, gsi3sk, gsi4pk, gsi4sk, gsi5pk, gsi5sk, version, body,
    expires_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
ON CONFLICT (pk, sk) DO UPDATE SET
    gsi1pk = excluded.gsi1pk, gsi1sk = excluded.gsi1sk, gsi2pk = excluded.gsi2pk, gsi2sk = excluded.gsi2sk,
    gsi3pk = excluded.gsi3pk, gsi3sk = excluded.gsi3sk, gsi4pk = excluded.gsi4pk, gsi4sk = excluded.gsi4sk,
    gsi5pk = excluded.gsi5pk, gsi5sk = excluded.gsi5sk,
    version = excluded.version, body = excluded.body, expires_at = excluded.expires_at";

/// DynamoDB's limits, enforced here too so that the embedded store refuses what the cloud would.
const MAX_PK_BYTES: usize = 2048;
const MAX_SK_BYTES: usize = 1024;
const MAX_ITEM_BYTES: usize = 400 * 1024;

/// Rows written per SQLite transaction by `batch_put`. Each commit rewrites every index page it touched, and the
/// GSI inserts of an import are scattered, so larger transactions write far less: 1,000,000 rows with two GSIs took
/// 33 s at 5,000 rows and 14 s at 20,000 (release build, busy 2-core machine). 20,000 rows hold the connection for
/// about 0.3 s, short enough for the web pages reading alongside an import.
const BATCH_PUT_ROWS_PER_TRANSACTION: usize = 20_000;

/// Queries read, or transactions written, under one hold of the connection by `query_each` and `transact_each`:
/// an import's page asks for a few hundred, and a larger batch lets the web pages in between.
const REQUESTS_PER_HOLD: usize = 1_000;

/// File databases only: `synchronous = NORMAL` is durable across process crashes in WAL mode; a 64 MiB page cache
/// keeps the GSI pages of a large import in memory; checkpointing every 16,384 pages (64 MiB) instead of every 1,000
/// lets a page rewritten by many commits be copied back to the file once (measured: 33 s to 18 s for 1M rows).
const FILE_PRAGMAS: &str =
    "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384;";

/// How long a write waits for another process holding the file's write lock before giving up as `Transient`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Query shapes vary by index, direction, prefix and cursor (about 40); keep them all prepared.
const STATEMENT_CACHE_CAPACITY: usize = 128;

/// Failures of the embedded database, boxed into `StoreError::Transient` so that the cause chain survives.
#[derive(Debug, thiserror::Error)]
enum SqliteFailure {
    #[error("sqlite could not {action}")]
    Sql {
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the sqlite worker task did not finish")]
    Worker(#[source] tokio::task::JoinError),
}

/// The embedded adapter of `RecordStore`. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct SqliteRecordStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteRecordStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteRecordStore").finish_non_exhaustive()
    }
}

impl SqliteRecordStore {
    /// Opens (creating if needed) the database file and its schema. WAL mode lets other processes read the file
    /// while we write; `synchronous = NORMAL` survives a crash of the process (not of the machine), which is enough
    /// for a local runner and makes bulk imports several times faster. See `FILE_PRAGMAS` for the rest.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(sql("open the database file"))?;
        // Personal data: the owner's alone (SQLite gives the WAL and shared-memory files the same mode).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| StoreError::Invalid(format!("cannot restrict the database file to its owner: {e}")))?;
        }
        let mode: String =
            conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(sql("switch to WAL mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Invalid(format!("the database file refused WAL mode (journal mode is {mode})")));
        }
        conn.execute_batch(FILE_PRAGMAS).map_err(sql("tune the database file"))?;
        Self::prepare(conn)
    }

    /// A private database that lives as long as this store (and its clones): for unit tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::prepare(Connection::open_in_memory().map_err(sql("open an in-memory database"))?)
    }

    fn prepare(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql("set the busy timeout"))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        migrate(&conn)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `work` on the blocking pool with the connection locked.
    async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.run_unlocked(move |conn| work(&mut lock(conn))).await
    }

    /// Runs `work` on the blocking pool; `work` locks the connection itself (for as short a time as it can).
    async fn run_unlocked<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Mutex<Connection>) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || work(&conn))
            .await
            .map_err(|e| StoreError::Transient(Box::new(SqliteFailure::Worker(e))))?
    }
}

/// A panic while the lock was held cannot leave a half-applied write behind: the open `Transaction` rolls back as
/// it unwinds. So a poisoned lock is safe to take over, and refusing it would make the store unusable for good.
fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let found: i64 =
        conn.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(sql("read the schema version"))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::Invalid(format!(
            "the database has schema version {found}, newer than this build understands ({SCHEMA_VERSION})"
        )));
    }
    if found == 1 {
        // Version 2 added gsi5 (patients by last PDS refresh); existing rows stay out of it until rewritten.
        conn.execute_batch("ALTER TABLE items ADD COLUMN gsi5pk TEXT; ALTER TABLE items ADD COLUMN gsi5sk TEXT;")
            .map_err(sql("add gsi5"))?;
    }
    conn.execute_batch(SCHEMA).map_err(sql("create the schema"))?;
    conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};")).map_err(sql("record the schema version"))
}

/// Maps a rusqlite error, naming what we were doing. Keys and bodies are never part of the message.
fn sql(action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            StoreError::Corrupt(format!("sqlite could not {action}: {source}"))
        }
        Some(ErrorCode::TooBig) => StoreError::Invalid(format!("sqlite could not {action}: {source}")),
        _ => StoreError::Transient(Box::new(SqliteFailure::Sql { action, source })),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Validation and encoding (before any blocking work, so invalid requests write nothing)

/// An item as it goes into its row.
struct EncodedItem {
    item: Item,
    version: i64,
    body: String,
}

fn validate_key(key: &ItemKey, what: &str) -> Result<(), StoreError> {
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(StoreError::Invalid(format!("{what} has an empty key attribute")));
    }
    if key.pk.len() > MAX_PK_BYTES || key.sk.len() > MAX_SK_BYTES {
        return Err(StoreError::Invalid(format!(
            "{what} key is too long (at most {MAX_PK_BYTES} bytes of partition key and {MAX_SK_BYTES} of sort key)"
        )));
    }
    Ok(())
}

fn encode(item: Item) -> Result<EncodedItem, StoreError> {
    validate_key(&item.key, "the item")?;
    for (index, key) in IndexName::ALL.iter().zip(&item.indexes) {
        if let Some(key) = key {
            validate_key(key, index.as_str())?;
        }
    }
    let version = i64::try_from(item.version)
        .map_err(|_| StoreError::Invalid(format!("version {} is too large to store", item.version)))?;
    let body = serde_json::to_string(&item.body)
        .map_err(|e| StoreError::Invalid(format!("the item body cannot be written as JSON: {e}")))?;
    let size = dynamodb_item_size(&item, &body);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::Invalid(format!("the item is {size} bytes, over the limit of {MAX_ITEM_BYTES}")));
    }
    Ok(EncodedItem { item, version, body })
}

/// The item's size as DynamoDB counts it (attribute names plus values; numbers at their largest), so that an item
/// too big for the cloud is refused here as well.
fn dynamodb_item_size(item: &Item, body: &str) -> usize {
    const NUMBER: usize = 21;
    let mut size = "pk".len() + item.key.pk.len() + "sk".len() + item.key.sk.len();
    size += "version".len() + NUMBER + "body".len() + body.len();
    if item.expires_at.is_some() {
        size += "expires_at".len() + NUMBER;
    }
    for key in item.indexes.iter().flatten() {
        size += "gsi1pk".len() + key.pk.len() + "gsi1sk".len() + key.sk.len();
    }
    size
}

fn validate_transaction(ops: Vec<WriteOp>) -> Result<Vec<PreparedOp>, StoreError> {
    if ops.is_empty() {
        return Err(StoreError::Invalid("a transaction needs at least one operation".into()));
    }
    if ops.len() > MAX_TRANSACTION_OPS {
        return Err(StoreError::Invalid(format!(
            "a transaction takes at most {MAX_TRANSACTION_OPS} operations, not {}",
            ops.len()
        )));
    }
    let mut seen = std::collections::HashSet::with_capacity(ops.len());
    let mut prepared = Vec::with_capacity(ops.len());
    for op in ops {
        let op = PreparedOp::new(op)?;
        if !seen.insert(op.key().clone()) {
            return Err(StoreError::Invalid("a transaction cannot include two operations on one item".into()));
        }
        prepared.push(op);
    }
    Ok(prepared)
}

/// A transaction operation, validated and encoded.
enum PreparedOp {
    Put(Box<EncodedItem>, Condition),
    Delete(ItemKey, Condition),
    Check(ItemKey, Condition),
}

impl PreparedOp {
    fn new(op: WriteOp) -> Result<Self, StoreError> {
        Ok(match op {
            WriteOp::Put { item, condition } => PreparedOp::Put(Box::new(encode(item)?), condition),
            WriteOp::Delete { key, condition } => {
                validate_key(&key, "the deleted item")?;
                PreparedOp::Delete(key, condition)
            }
            WriteOp::Check { key, condition } => {
                validate_key(&key, "the checked item")?;
                if condition == Condition::None {
                    return Err(StoreError::Invalid("a condition check needs a condition".into()));
                }
                PreparedOp::Check(key, condition)
            }
        })
    }

    fn key(&self) -> &ItemKey {
        match self {
            PreparedOp::Put(encoded, _) => &encoded.item.key,
            PreparedOp::Delete(key, _) | PreparedOp::Check(key, _) => key,
        }
    }

    fn condition(&self) -> Condition {
        match self {
            PreparedOp::Put(_, condition) | PreparedOp::Delete(_, condition) | PreparedOp::Check(_, condition) => {
                *condition
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Row access (all on a locked connection or open transaction)

fn write_row(conn: &Connection, encoded: &EncodedItem) -> Result<(), StoreError> {
    let item = &encoded.item;
    let index_pk = |i: usize| item.indexes[i].as_ref().map(|k| k.pk.as_str());
    let index_sk = |i: usize| item.indexes[i].as_ref().map(|k| k.sk.as_str());
    conn.prepare_cached(UPSERT)
        .and_then(|mut stmt| {
            stmt.execute(params![
                item.key.pk,
                item.key.sk,
                index_pk(0),
                index_sk(0),
                index_pk(1),
                index_sk(1),
                index_pk(2),
                index_sk(2),
                index_pk(3),
                index_sk(3),
                index_pk(4),
                index_sk(4),
                encoded.version,
                encoded.body,
                item.expires_at,
            ])
        })
        .map_err(sql("write an item"))?;
    Ok(())
}

fn delete_row(conn: &Connection, key: &ItemKey) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut stmt| stmt.execute(params![key.pk, key.sk]))
        .map_err(sql("delete an item"))?;
    Ok(())
}

fn read_row(conn: &Connection, key: &ItemKey) -> Result<Option<Item>, StoreError> {
    let stored = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM items WHERE pk = ?1 AND sk = ?2"))
        .and_then(|mut stmt| stmt.query_row(params![key.pk, key.sk], StoredRow::read).optional())
        .map_err(sql("read an item"))?;
    stored.map(StoredRow::into_item).transpose()
}

fn stored_version(conn: &Connection, key: &ItemKey) -> Result<Option<i64>, StoreError> {
    conn.prepare_cached("SELECT version FROM items WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut stmt| stmt.query_row(params![key.pk, key.sk], |row| row.get(0)).optional())
        .map_err(sql("read an item's version"))
}

/// Fails with `Conflict` unless `condition` holds for what is stored under `key`. `position` names the operation
/// within a transaction; the key itself stays out of the message (keys can carry identifiers of people).
fn require(conn: &Connection, key: &ItemKey, condition: Condition, position: Option<usize>) -> Result<(), StoreError> {
    if condition == Condition::None {
        return Ok(());
    }
    let stored = stored_version(conn, key)?;
    let holds = match condition {
        Condition::None => true,
        Condition::NotExists => stored.is_none(),
        Condition::Exists => stored.is_some(),
        Condition::VersionIs(expected) => stored.and_then(|v| u64::try_from(v).ok()) == Some(expected),
    };
    if holds {
        return Ok(());
    }
    Err(StoreError::Conflict(match position {
        Some(position) => {
            format!("condition {condition:?} failed on transaction operation {position}")
        }
        None => format!("condition {condition:?} failed"),
    }))
}

/// A row as read, before it is checked and decoded.
struct StoredRow {
    pk: String,
    sk: String,
    indexes: [(Option<String>, Option<String>); 5],
    version: i64,
    body: String,
    expires_at: Option<i64>,
}

impl StoredRow {
    /// Reads the columns in `COLUMNS` order.
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        let index = |i: usize| -> rusqlite::Result<(Option<String>, Option<String>)> {
            Ok((row.get(2 + 2 * i)?, row.get(3 + 2 * i)?))
        };
        Ok(Self {
            pk: row.get(0)?,
            sk: row.get(1)?,
            indexes: [index(0)?, index(1)?, index(2)?, index(3)?, index(4)?],
            version: row.get(12)?,
            body: row.get(13)?,
            expires_at: row.get(14)?,
        })
    }

    fn into_item(self) -> Result<Item, StoreError> {
        let version = u64::try_from(self.version)
            .map_err(|_| StoreError::Corrupt(format!("stored version {} is negative", self.version)))?;
        let body = serde_json::from_str(&self.body)
            .map_err(|e| StoreError::Corrupt(format!("stored body is not JSON: {e}")))?;
        let mut indexes: [Option<ItemKey>; 5] = Default::default();
        for ((slot, (pk, sk)), name) in indexes.iter_mut().zip(self.indexes).zip(IndexName::ALL) {
            *slot = match (pk, sk) {
                (Some(pk), Some(sk)) => Some(ItemKey { pk, sk }),
                (None, None) => None,
                _ => {
                    return Err(StoreError::Corrupt(format!("stored item has half a {} key", name.as_str())));
                }
            };
        }
        Ok(Item { key: ItemKey { pk: self.pk, sk: self.sk }, indexes, version, body, expires_at: self.expires_at })
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Queries and cursors

/// The key columns of the table or of one index.
fn key_columns(index: Option<IndexName>) -> (&'static str, &'static str) {
    match index {
        None => ("pk", "sk"),
        Some(IndexName::Gsi1) => ("gsi1pk", "gsi1sk"),
        Some(IndexName::Gsi2) => ("gsi2pk", "gsi2sk"),
        Some(IndexName::Gsi3) => ("gsi3pk", "gsi3sk"),
        Some(IndexName::Gsi4) => ("gsi4pk", "gsi4sk"),
        Some(IndexName::Gsi5) => ("gsi5pk", "gsi5sk"),
    }
}

/// The columns that order a query's results totally: on an index, several items may share an index key, so the
/// table key breaks ties (as DynamoDB's LastEvaluatedKey for an index carries the table key too).
fn order_columns(index: Option<IndexName>) -> Vec<&'static str> {
    let (_, sort) = key_columns(index);
    match index {
        None => vec![sort],
        Some(_) => vec![sort, "pk", "sk"],
    }
}

/// The values of `order_columns` for one item: what a cursor remembers.
fn order_values(index: Option<IndexName>, item: &Item) -> Vec<String> {
    match index.and_then(|index| item.index(index)) {
        None => vec![item.key.sk.clone()],
        Some(index_key) => vec![index_key.sk.clone(), item.key.pk.clone(), item.key.sk.clone()],
    }
}

fn encode_cursor(values: &[String]) -> Result<String, StoreError> {
    let json = serde_json::to_vec(values).map_err(|e| StoreError::Invalid(format!("cannot encode cursor: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

fn decode_cursor(cursor: &str, expected_len: usize) -> Result<Vec<String>, StoreError> {
    let malformed = || StoreError::Invalid("the paging cursor is malformed or belongs to another query".into());
    let json = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| malformed())?;
    let values: Vec<String> = serde_json::from_slice(&json).map_err(|_| malformed())?;
    if values.len() != expected_len {
        return Err(malformed());
    }
    Ok(values)
}

/// The least string greater than every string that starts with `prefix` (None if there is none). Because UTF-8
/// byte order is code point order, `prefix <= s < bound` is exactly "s starts with prefix", and unlike LIKE it has
/// no wildcards and can use the index.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match u32::from(last) {
            0xD7FF => Some('\u{E000}'),
            code => char::from_u32(code + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The SQL and parameters of one page of a query; fetches one row more than the limit to learn whether more follow.
fn query_sql(query: &Query) -> Result<(String, Vec<Value>), StoreError> {
    let (pk_col, sk_col) = key_columns(query.index);
    let order = order_columns(query.index);
    let mut sql = format!("SELECT {COLUMNS} FROM items WHERE {pk_col} = ?");
    let mut values = vec![Value::Text(query.pk.clone())];
    if !query.sk_prefix.is_empty() {
        sql.push_str(&format!(" AND {sk_col} >= ?"));
        values.push(Value::Text(query.sk_prefix.clone()));
        if let Some(bound) = prefix_upper_bound(&query.sk_prefix) {
            sql.push_str(&format!(" AND {sk_col} < ?"));
            values.push(Value::Text(bound));
        }
    }
    if let Some(cursor) = &query.after {
        let after = decode_cursor(cursor, order.len())?;
        let placeholders = vec!["?"; order.len()].join(", ");
        let op = if query.descending { "<" } else { ">" };
        sql.push_str(&format!(" AND ({}) {op} ({placeholders})", order.join(", ")));
        values.extend(after.into_iter().map(Value::Text));
    }
    let direction = if query.descending { "DESC" } else { "ASC" };
    let order_by: Vec<String> = order.iter().map(|col| format!("{col} {direction}")).collect();
    sql.push_str(&format!(" ORDER BY {} LIMIT ?", order_by.join(", ")));
    values.push(Value::Integer(fetch_limit(query.limit)?));
    Ok((sql, values))
}

/// The SQL LIMIT for a page: one more than asked, -1 (no limit) when none was given.
fn fetch_limit(limit: Option<usize>) -> Result<i64, StoreError> {
    match limit {
        None => Ok(-1),
        Some(0) => Err(StoreError::Invalid("a query limit must be at least 1".into())),
        Some(n) => Ok(i64::try_from(n).map_or(-1, |n| n.saturating_add(1))),
    }
}

fn run_query(conn: &Connection, query: &Query) -> Result<Page, StoreError> {
    let (text, values) = query_sql(query)?;
    let rows = conn
        .prepare_cached(&text)
        .and_then(|mut stmt| stmt.query_map(params_from_iter(values), StoredRow::read)?.collect::<Result<Vec<_>, _>>())
        .map_err(sql("run a query"))?;
    let mut items = rows.into_iter().map(StoredRow::into_item).collect::<Result<Vec<_>, _>>()?;
    let mut next = None;
    if let Some(limit) = query.limit
        && items.len() > limit
    {
        items.truncate(limit);
        if let Some(last) = items.last() {
            next = Some(encode_cursor(&order_values(query.index, last))?);
        }
    }
    Ok(Page { items, next })
}

// ---------------------------------------------------------------------------------------------------------------
// The port

#[async_trait]
impl RecordStore for SqliteRecordStore {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        validate_key(key, "the requested item")?;
        let key = key.clone();
        self.run(move |conn| read_row(conn, &key)).await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        let encoded = encode(item)?;
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql("begin a write"))?;
            require(&tx, &encoded.item.key, condition, None)?;
            write_row(&tx, &encoded)?;
            tx.commit().map_err(sql("commit a write"))
        })
        .await
    }

    async fn delete(&self, key: &ItemKey, condition: Condition) -> Result<(), StoreError> {
        validate_key(key, "the deleted item")?;
        let key = key.clone();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql("begin a delete"))?;
            require(&tx, &key, condition, None)?;
            delete_row(&tx, &key)?;
            tx.commit().map_err(sql("commit a delete"))
        })
        .await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        if query.pk.is_empty() {
            return Err(StoreError::Invalid("a query needs a partition key".into()));
        }
        let query = query.clone();
        self.run(move |conn| run_query(conn, &query)).await
    }

    async fn query_each(&self, queries: &[Query]) -> Result<Vec<Page>, StoreError> {
        if queries.iter().any(|query| query.pk.is_empty()) {
            return Err(StoreError::Invalid("a query needs a partition key".into()));
        }
        let queries = queries.to_vec();
        self.run_unlocked(move |conn| {
            let mut pages = Vec::with_capacity(queries.len());
            for chunk in queries.chunks(REQUESTS_PER_HOLD) {
                // One read transaction: no lock taken and released for each query.
                let mut conn = lock(conn);
                let tx = conn.transaction().map_err(sql("begin a batch of queries"))?;
                for query in chunk {
                    pages.push(run_query(&tx, query)?);
                }
                tx.commit().map_err(sql("finish a batch of queries"))?;
            }
            Ok(pages)
        })
        .await
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let encoded = items.into_iter().map(encode).collect::<Result<Vec<_>, _>>()?;
        if encoded.is_empty() {
            return Ok(());
        }
        self.run_unlocked(move |conn| {
            for chunk in encoded.chunks(BATCH_PUT_ROWS_PER_TRANSACTION) {
                let mut conn = lock(conn);
                let tx =
                    conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql("begin a batch"))?;
                for item in chunk {
                    write_row(&tx, item)?;
                }
                tx.commit().map_err(sql("commit a batch"))?;
            }
            Ok(())
        })
        .await
    }

    async fn batch_get(&self, keys: &[ItemKey]) -> Result<Vec<Item>, StoreError> {
        for key in keys {
            validate_key(key, "a requested item")?;
        }
        let mut unique: Vec<ItemKey> = keys.to_vec();
        unique.sort();
        unique.dedup();
        if unique.is_empty() {
            return Ok(Vec::new());
        }
        self.run(move |conn| {
            // One read transaction, so that the batch sees a single state of the database.
            let tx = conn.transaction().map_err(sql("begin a batch read"))?;
            let mut items = Vec::with_capacity(unique.len());
            for key in &unique {
                items.extend(read_row(&tx, key)?);
            }
            tx.commit().map_err(sql("finish a batch read"))?;
            Ok(items)
        })
        .await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let ops = validate_transaction(ops)?;
        self.run(move |conn| {
            // Dropping the transaction on an early return rolls it back: all or nothing.
            let tx =
                conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql("begin a transaction"))?;
            apply_ops(&tx, &ops)?;
            tx.commit().map_err(sql("commit a transaction"))
        })
        .await
    }

    /// One SQLite transaction with a savepoint for each of them: a commit costs far more than the writes of a row
    /// (measured: 20,000 rows of an import applied in 11 s one commit each).
    async fn transact_each(&self, transactions: Vec<Vec<WriteOp>>) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let prepared: Vec<_> = transactions.into_iter().map(validate_transaction).collect();
        if prepared.iter().all(Result::is_err) {
            return Ok(prepared.into_iter().map(|p| p.map(|_| ())).collect());
        }
        self.run_unlocked(move |conn| {
            let mut answers = Vec::with_capacity(prepared.len());
            let mut prepared = prepared.into_iter().peekable();
            while prepared.peek().is_some() {
                let chunk: Vec<_> = prepared.by_ref().take(REQUESTS_PER_HOLD).collect();
                let mut conn = lock(conn);
                let mut tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql("begin transactions"))?;
                for ops in chunk {
                    let ops = match ops {
                        Ok(ops) => ops,
                        Err(refused) => {
                            answers.push(Err(refused));
                            continue;
                        }
                    };
                    // Dropping the savepoint rolls back to it: this one undone, the others kept.
                    let savepoint = tx.savepoint().map_err(sql("begin a transaction"))?;
                    match apply_ops(&savepoint, &ops) {
                        Ok(()) => {
                            savepoint.commit().map_err(sql("end a transaction"))?;
                            answers.push(Ok(()));
                        }
                        Err(conflict @ StoreError::Conflict(_)) => {
                            // Explicitly, so that a failed rollback fails the batch instead of keeping half a row.
                            savepoint.finish().map_err(sql("undo a transaction"))?;
                            answers.push(Err(conflict));
                        }
                        Err(failure) => return Err(failure),
                    }
                }
                tx.commit().map_err(sql("commit transactions"))?;
            }
            Ok(answers)
        })
        .await
    }
}

/// The operations of one transaction, on an open SQLite transaction; stops at the first failed condition.
fn apply_ops(conn: &Connection, ops: &[PreparedOp]) -> Result<(), StoreError> {
    for (position, op) in ops.iter().enumerate() {
        require(conn, op.key(), op.condition(), Some(position))?;
        match op {
            PreparedOp::Put(encoded, _) => write_row(conn, encoded)?,
            PreparedOp::Delete(key, _) => delete_row(conn, key)?,
            PreparedOp::Check(..) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bound_increments_the_last_character() {
        assert_eq!(prefix_upper_bound("A#"), Some("A$".to_string()));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}"), Some("b".to_string()));
        assert_eq!(prefix_upper_bound("\u{D7FF}"), Some("\u{E000}".to_string()));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
    }

    #[test]
    fn cursor_round_trips_and_rejects_other_shapes() {
        let values = vec!["s".to_string(), "p".to_string(), "k".to_string()];
        let cursor = encode_cursor(&values).expect("encodes");
        assert_eq!(decode_cursor(&cursor, 3).expect("decodes"), values);
        assert!(matches!(decode_cursor(&cursor, 1), Err(StoreError::Invalid(_))));
        assert!(matches!(decode_cursor("not base64!", 1), Err(StoreError::Invalid(_))));
    }

    #[test]
    fn store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<SqliteRecordStore>();
    }
}

//! Cloud record store: the port mapped onto one DynamoDB table (single-table design).
//!
//! Item layout: `pk`, `sk` (S) as the table key; `gsiNpk`/`gsiNsk` (S) only when the item is in index N (DynamoDB
//! leaves items without the key attributes out of a GSI, which is exactly the port's rule); `version` (N); `body`
//! (S, the JSON text, so that records of any shape round-trip unchanged); `expires_at` (N), the TTL attribute.
//!
//! The SDK retries throttling and transient failures itself (standard mode); this adapter adds only what the SDK
//! cannot know: retrying the unprocessed part of a batch, and mapping failures onto `StoreError`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, ConsumedCapacity, Delete, GlobalSecondaryIndex,
    IndexStatus, KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put, PutRequest,
    ReturnConsumedCapacity, ScalarAttributeType, Select, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
    TransactWriteItem, WriteRequest,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::stream::{self, StreamExt, TryStreamExt};
use rand::Rng as _;

use crate::ports::record_store::MAX_TRANSACTION_OPS;
use crate::ports::{Condition, IndexName, Item, ItemKey, Page, Query, RecordStore, StoreError, WriteOp};

type Attributes = HashMap<String, AttributeValue>;

const PK: &str = "pk";
const SK: &str = "sk";
const VERSION: &str = "version";
const BODY: &str = "body";
const EXPIRES_AT: &str = "expires_at";

/// DynamoDB's per-request limits.
const BATCH_WRITE_MAX: usize = 25;
const BATCH_GET_MAX: usize = 100;

/// Batch requests in flight at once for one call: a million-row import is 40,000 BatchWriteItem calls, too slow one
/// at a time, while on-demand tables absorb a handful in parallel without throttling.
const BATCH_CONCURRENCY: usize = 8;

/// Attempts at the unprocessed part of a batch, and the back-off between them (doubling, with jitter, capped).
const BATCH_MAX_ATTEMPTS: u32 = 8;
const BACKOFF_BASE: Duration = Duration::from_millis(50);
const BACKOFF_CAP: Duration = Duration::from_secs(5);

/// How long `create_table` waits for the table and its indexes to become ACTIVE (AWS takes tens of seconds).
const TABLE_ACTIVE_DEADLINE: Duration = Duration::from_secs(300);

/// Error codes that mean "try again later", whatever the HTTP status.
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
    "LimitExceededException",
];

/// Failures boxed into `StoreError::Transient`, keeping the SDK error as the source.
#[derive(Debug, thiserror::Error)]
enum DynamoFailure {
    #[error("DynamoDB {operation} failed")]
    Sdk {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("DynamoDB {operation} left {count} requests unprocessed after {attempts} attempts")]
    Unprocessed { operation: &'static str, count: usize, attempts: u32 },
    #[error("DynamoDB transaction cancelled ({reasons})")]
    Cancelled { reasons: String },
    #[error("DynamoDB table did not become ACTIVE within {} s", .waited.as_secs())]
    NotActive { waited: Duration },
}

/// The cloud adapter of `RecordStore`. Cheap to clone (the client and the capacity tally are shared).
#[derive(Debug, Clone)]
pub struct DynamoRecordStore {
    client: Client,
    table: String,
    write_capacity: Arc<WriteCapacity>,
}

impl DynamoRecordStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into(), write_capacity: Arc::default() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// What this store's successful writes have cost so far, as DynamoDB reports it.
    pub fn write_capacity(&self) -> Arc<WriteCapacity> {
        self.write_capacity.clone()
    }
}

/// The write capacity units DynamoDB reports its writes consumed (`ReturnConsumedCapacity`): what an import costs
/// on an on-demand table, whatever the number of requests. A write that fails reports nothing, so is not counted.
#[derive(Debug, Default)]
pub struct WriteCapacity {
    thousandths: AtomicU64,
}

impl WriteCapacity {
    pub fn units(&self) -> f64 {
        self.thousandths.load(Ordering::Relaxed) as f64 / 1000.0
    }

    fn add<'a>(&self, consumed: impl IntoIterator<Item = &'a ConsumedCapacity>) {
        let units: f64 = consumed.into_iter().filter_map(ConsumedCapacity::capacity_units).sum();
        self.thousandths.fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Table creation (tests and infra bootstrap)

/// Creates the table with the layout this adapter expects (on-demand billing, gsi1..gsi5 projecting everything, TTL
/// on `expires_at`) and waits until it and its indexes are ACTIVE. Idempotent: an existing table is fine, so every
/// test and every bootstrap run can call it.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attribute_definitions()?))
        .set_key_schema(Some(key_schema(PK, SK)?))
        .set_global_secondary_indexes(Some(global_secondary_indexes()?))
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {}
        Err(e) => return Err(sdk_error("CreateTable", e)),
    }
    wait_until_active(client, table).await?;
    enable_ttl(client, table).await
}

fn attribute_definitions() -> Result<Vec<AttributeDefinition>, StoreError> {
    let mut names = vec![PK, SK];
    for index in IndexName::ALL {
        let (pk, sk) = key_attributes(Some(index));
        names.extend([pk, sk]);
    }
    names
        .into_iter()
        .map(|name| AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build())
        .collect::<Result<_, _>>()
        .map_err(build_error)
}

fn key_schema(pk: &str, sk: &str) -> Result<Vec<KeySchemaElement>, StoreError> {
    Ok(vec![
        KeySchemaElement::builder().attribute_name(pk).key_type(KeyType::Hash).build().map_err(build_error)?,
        KeySchemaElement::builder().attribute_name(sk).key_type(KeyType::Range).build().map_err(build_error)?,
    ])
}

fn global_secondary_indexes() -> Result<Vec<GlobalSecondaryIndex>, StoreError> {
    IndexName::ALL
        .into_iter()
        .map(|index| {
            let (pk, sk) = key_attributes(Some(index));
            GlobalSecondaryIndex::builder()
                .index_name(index.as_str())
                .set_key_schema(Some(key_schema(pk, sk)?))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(build_error)
        })
        .collect()
}

async fn wait_until_active(client: &Client, table: &str) -> Result<(), StoreError> {
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        let described = client.describe_table().table_name(table).send().await;
        let described = described.map_err(|e| sdk_error("DescribeTable", e))?;
        let active = described.table.is_some_and(|t| {
            t.table_status == Some(TableStatus::Active)
                && t.global_secondary_indexes().iter().all(|i| i.index_status == Some(IndexStatus::Active))
        });
        if active {
            return Ok(());
        }
        if started.elapsed() >= TABLE_ACTIVE_DEADLINE {
            return Err(StoreError::Transient(Box::new(DynamoFailure::NotActive { waited: started.elapsed() })));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// Turns TTL on unless it already is (DynamoDB refuses to enable it twice).
async fn enable_ttl(client: &Client, table: &str) -> Result<(), StoreError> {
    let described = client.describe_time_to_live().table_name(table).send().await;
    let status = described.map_err(|e| sdk_error("DescribeTimeToLive", e))?.time_to_live_description;
    if status
        .and_then(|s| s.time_to_live_status)
        .is_some_and(|s| matches!(s, TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling))
    {
        return Ok(());
    }
    let spec = TimeToLiveSpecification::builder().enabled(true).attribute_name(EXPIRES_AT).build();
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec.map_err(build_error)?)
        .send()
        .await
        .map_err(|e| sdk_error("UpdateTimeToLive", e))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Mapping items and conditions

/// The key attributes of the table or of one index.
fn key_attributes(index: Option<IndexName>) -> (&'static str, &'static str) {
    match index {
        None => (PK, SK),
        Some(IndexName::Gsi1) => ("gsi1pk", "gsi1sk"),
        Some(IndexName::Gsi2) => ("gsi2pk", "gsi2sk"),
        Some(IndexName::Gsi3) => ("gsi3pk", "gsi3sk"),
        Some(IndexName::Gsi4) => ("gsi4pk", "gsi4sk"),
        Some(IndexName::Gsi5) => ("gsi5pk", "gsi5sk"),
    }
}

fn key_to_attributes(key: &ItemKey) -> Attributes {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(key.pk.clone())),
        (SK.to_string(), AttributeValue::S(key.sk.clone())),
    ])
}

fn item_to_attributes(item: &Item) -> Result<Attributes, StoreError> {
    let body = serde_json::to_string(&item.body)
        .map_err(|e| StoreError::Invalid(format!("the item body cannot be written as JSON: {e}")))?;
    let mut attributes = key_to_attributes(&item.key);
    for (index, key) in IndexName::ALL.into_iter().zip(&item.indexes) {
        if let Some(key) = key {
            let (pk, sk) = key_attributes(Some(index));
            attributes.insert(pk.to_string(), AttributeValue::S(key.pk.clone()));
            attributes.insert(sk.to_string(), AttributeValue::S(key.sk.clone()));
        }
    }
    attributes.insert(VERSION.to_string(), AttributeValue::N(item.version.to_string()));
    attributes.insert(BODY.to_string(), AttributeValue::S(body));
    if let Some(expires_at) = item.expires_at {
        attributes.insert(EXPIRES_AT.to_string(), AttributeValue::N(expires_at.to_string()));
    }
    Ok(attributes)
}

fn item_from_attributes(mut attributes: Attributes) -> Result<Item, StoreError> {
    let key = ItemKey { pk: take_string(&mut attributes, PK)?, sk: take_string(&mut attributes, SK)? };
    let mut indexes: [Option<ItemKey>; 5] = Default::default();
    for (slot, index) in indexes.iter_mut().zip(IndexName::ALL) {
        let (pk, sk) = key_attributes(Some(index));
        *slot = match (attributes.remove(pk), attributes.remove(sk)) {
            (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => Some(ItemKey { pk, sk }),
            (None, None) => None,
            _ => {
                return Err(StoreError::Corrupt(format!("stored item has a malformed {} key", index.as_str())));
            }
        };
    }
    let version = take_number(&mut attributes, VERSION)?
        .ok_or_else(|| StoreError::Corrupt("stored item has no version".into()))?;
    let body = serde_json::from_str(&take_string(&mut attributes, BODY)?)
        .map_err(|e| StoreError::Corrupt(format!("stored body is not JSON: {e}")))?;
    let expires_at = take_number(&mut attributes, EXPIRES_AT)?;
    Ok(Item { key, indexes, version, body, expires_at })
}

fn take_string(attributes: &mut Attributes, name: &str) -> Result<String, StoreError> {
    match attributes.remove(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(StoreError::Corrupt(format!("stored item has no string attribute {name}"))),
    }
}

fn take_number<T: std::str::FromStr>(attributes: &mut Attributes, name: &str) -> Result<Option<T>, StoreError> {
    match attributes.remove(name) {
        None => Ok(None),
        Some(AttributeValue::N(value)) => value
            .parse()
            .map(Some)
            .map_err(|_| StoreError::Corrupt(format!("stored attribute {name} is not a valid number"))),
        Some(_) => Err(StoreError::Corrupt(format!("stored attribute {name} is not a number"))),
    }
}

/// A `Condition` as DynamoDB expression parts; all `None` for `Condition::None`.
#[derive(Default)]
struct ConditionParts {
    expression: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<Attributes>,
}

impl ConditionParts {
    fn new(condition: Condition) -> Self {
        match condition {
            Condition::None => Self::default(),
            Condition::NotExists => Self { expression: Some(format!("attribute_not_exists({PK})")), ..Self::default() },
            Condition::Exists => Self { expression: Some(format!("attribute_exists({PK})")), ..Self::default() },
            Condition::VersionIs(version) => Self {
                expression: Some("#v = :v".into()),
                names: Some(HashMap::from([("#v".to_string(), VERSION.to_string())])),
                values: Some(HashMap::from([(":v".to_string(), AttributeValue::N(version.to_string()))])),
            },
        }
    }
}

/// Sets a condition's expression parts on any SDK builder that takes them (they share method names, not a trait).
macro_rules! with_condition {
    ($builder:expr, $condition:expr) => {{
        let parts = ConditionParts::new($condition);
        $builder
            .set_condition_expression(parts.expression)
            .set_expression_attribute_names(parts.names)
            .set_expression_attribute_values(parts.values)
    }};
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

fn build_error(e: BuildError) -> StoreError {
    StoreError::Invalid(format!("could not build a DynamoDB request: {e}"))
}

/// Sorts an SDK error into Conflict / Transient / Invalid. Messages carry the AWS error code and message, never the
/// request (whose keys can identify people).
fn sdk_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().unwrap_or_default();
    if code == "ConditionalCheckFailedException" {
        return StoreError::Conflict(format!("{operation}: the condition failed"));
    }
    let status = err.raw_response().map_or(0, |r| r.status().as_u16());
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ConstructionFailure(_) => false,
        _ => TRANSIENT_CODES.contains(&code) || status == 429 || status >= 500,
    };
    if transient {
        return StoreError::Transient(Box::new(DynamoFailure::Sdk { operation, source: Box::new(err) }));
    }
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => StoreError::Invalid(format!("{operation}: {code}: {message}")),
        (Some(code), None) => StoreError::Invalid(format!("{operation}: {code}")),
        _ => StoreError::Invalid(format!("{operation}: {}", DisplayErrorContext(&err))),
    }
}

/// A cancelled transaction is a Conflict when a condition failed; otherwise its reasons decide.
fn transact_error(err: SdkError<TransactWriteItemsError, HttpResponse>) -> StoreError {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() else {
        return sdk_error("TransactWriteItems", err);
    };
    let codes: Vec<&str> = cancelled.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None")).collect();
    let message = cancelled.message().unwrap_or_default();
    if let Some(position) = codes.iter().position(|c| *c == "ConditionalCheckFailed") {
        return StoreError::Conflict(format!("a condition failed on transaction operation {position}"));
    }
    if codes.is_empty() && message.contains("ConditionalCheckFailed") {
        return StoreError::Conflict("a condition failed in the transaction".into());
    }
    let reasons = if codes.is_empty() { message.to_string() } else { codes.join(", ") };
    if codes.iter().any(|c| matches!(*c, "ValidationError" | "ItemCollectionSizeLimitExceeded")) {
        return StoreError::Invalid(format!("TransactWriteItems cancelled: {reasons}"));
    }
    StoreError::Transient(Box::new(DynamoFailure::Cancelled { reasons }))
}

// ---------------------------------------------------------------------------------------------------------------
// Cursors, validation, back-off

/// LastEvaluatedKey as base64url JSON of its string attributes: opaque to callers, safe in a URL.
fn encode_cursor(key: &Attributes) -> Result<String, StoreError> {
    let mut plain = HashMap::with_capacity(key.len());
    for (name, value) in key {
        let AttributeValue::S(value) = value else {
            return Err(StoreError::Corrupt(format!("LastEvaluatedKey attribute {name} is not a string")));
        };
        plain.insert(name.as_str(), value.as_str());
    }
    let json = serde_json::to_vec(&plain).map_err(|e| StoreError::Invalid(format!("cannot encode cursor: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

fn decode_cursor(cursor: &str) -> Result<Attributes, StoreError> {
    let malformed = || StoreError::Invalid("the paging cursor is malformed or belongs to another query".into());
    let json = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| malformed())?;
    let plain: HashMap<String, String> = serde_json::from_slice(&json).map_err(|_| malformed())?;
    if plain.is_empty() {
        return Err(malformed());
    }
    Ok(plain.into_iter().map(|(name, value)| (name, AttributeValue::S(value))).collect())
}

/// Refuses, before sending, what DynamoDB would refuse anyway, with a clearer message and without a round trip.
fn validate_transaction(ops: &[WriteOp]) -> Result<(), StoreError> {
    if ops.is_empty() {
        return Err(StoreError::Invalid("a transaction needs at least one operation".into()));
    }
    if ops.len() > MAX_TRANSACTION_OPS {
        return Err(StoreError::Invalid(format!(
            "a transaction takes at most {MAX_TRANSACTION_OPS} operations, not {}",
            ops.len()
        )));
    }
    let mut seen = HashSet::with_capacity(ops.len());
    for op in ops {
        let key = match op {
            WriteOp::Put { item, .. } => &item.key,
            WriteOp::Delete { key, .. } => key,
            WriteOp::Check { key, condition } => {
                if *condition == Condition::None {
                    return Err(StoreError::Invalid("a condition check needs a condition".into()));
                }
                key
            }
        };
        if !seen.insert(key) {
            return Err(StoreError::Invalid("a transaction cannot include two operations on one item".into()));
        }
    }
    Ok(())
}

/// Exponential back-off with "equal jitter": at least half the doubled delay, so retries never bunch at zero.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE.saturating_mul(1 << attempt.min(16)).min(BACKOFF_CAP);
    let half = ceiling / 2;
    half + rand::rng().random_range(Duration::ZERO..=half)
}

/// Keeps the last write of each key: DynamoDB refuses a batch that names a key twice, and "last wins" is what
/// writing the items one after another would have done.
fn last_write_per_key(items: Vec<Item>) -> Vec<Item> {
    let mut last: HashMap<ItemKey, usize> = HashMap::with_capacity(items.len());
    for (position, item) in items.iter().enumerate() {
        last.insert(item.key.clone(), position);
    }
    items
        .into_iter()
        .enumerate()
        .filter(|(position, item)| last.get(&item.key) == Some(position))
        .map(|(_, i)| i)
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

impl DynamoRecordStore {
    fn transact_item(&self, op: WriteOp) -> Result<TransactWriteItem, StoreError> {
        let transact_item = TransactWriteItem::builder();
        Ok(match op {
            WriteOp::Put { item, condition } => {
                let builder = Put::builder().table_name(&self.table).set_item(Some(item_to_attributes(&item)?));
                transact_item.put(with_condition!(builder, condition).build().map_err(build_error)?)
            }
            WriteOp::Delete { key, condition } => {
                let builder = Delete::builder().table_name(&self.table).set_key(Some(key_to_attributes(&key)));
                transact_item.delete(with_condition!(builder, condition).build().map_err(build_error)?)
            }
            WriteOp::Check { key, condition } => {
                let builder = ConditionCheck::builder().table_name(&self.table).set_key(Some(key_to_attributes(&key)));
                transact_item.condition_check(with_condition!(builder, condition).build().map_err(build_error)?)
            }
        }
        .build())
    }

    /// Writes up to 25 items, retrying what DynamoDB leaves unprocessed (it does so under load, by design).
    async fn write_batch(&self, mut pending: Vec<WriteRequest>) -> Result<(), StoreError> {
        for attempt in 1..=BATCH_MAX_ATTEMPTS {
            let output = self
                .client
                .batch_write_item()
                .request_items(&self.table, pending)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| sdk_error("BatchWriteItem", e))?;
            self.write_capacity.add(output.consumed_capacity());
            pending = output.unprocessed_items.and_then(|mut u| u.remove(&self.table)).unwrap_or_default();
            if pending.is_empty() {
                return Ok(());
            }
            if attempt < BATCH_MAX_ATTEMPTS {
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
        Err(StoreError::Transient(Box::new(DynamoFailure::Unprocessed {
            operation: "BatchWriteItem",
            count: pending.len(),
            attempts: BATCH_MAX_ATTEMPTS,
        })))
    }

    /// Reads up to 100 keys, retrying the keys DynamoDB leaves unprocessed (size limits, throttling).
    async fn get_batch(&self, keys: Vec<Attributes>) -> Result<Vec<Item>, StoreError> {
        let mut request =
            KeysAndAttributes::builder().set_keys(Some(keys)).consistent_read(true).build().map_err(build_error)?;
        let mut items = Vec::new();
        for attempt in 1..=BATCH_MAX_ATTEMPTS {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| sdk_error("BatchGetItem", e))?;
            for found in output.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                items.push(item_from_attributes(found)?);
            }
            request = match output.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(unprocessed) if !unprocessed.keys.is_empty() => unprocessed,
                _ => return Ok(items),
            };
            if attempt < BATCH_MAX_ATTEMPTS {
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
        Err(StoreError::Transient(Box::new(DynamoFailure::Unprocessed {
            operation: "BatchGetItem",
            count: request.keys.len(),
            attempts: BATCH_MAX_ATTEMPTS,
        })))
    }
}

/// A query's key condition: the partition key, and the sort key's prefix when there is one.
fn key_condition(query: &Query) -> (String, HashMap<String, String>, HashMap<String, AttributeValue>) {
    let (pk, sk) = key_attributes(query.index);
    let mut expression = "#pk = :pk".to_string();
    let mut names = HashMap::from([("#pk".to_string(), pk.to_string())]);
    let mut values = HashMap::from([(":pk".to_string(), AttributeValue::S(query.pk.clone()))]);
    if !query.sk_prefix.is_empty() {
        expression.push_str(" AND begins_with(#sk, :prefix)");
        names.insert("#sk".to_string(), sk.to_string());
        values.insert(":prefix".to_string(), AttributeValue::S(query.sk_prefix.clone()));
    }
    (expression, names, values)
}

#[async_trait]
impl RecordStore for DynamoRecordStore {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_to_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        output.item.map(item_from_attributes).transpose()
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        let request = self.client.put_item().table_name(&self.table).set_item(Some(item_to_attributes(&item)?));
        let request = request.return_consumed_capacity(ReturnConsumedCapacity::Total);
        let output = with_condition!(request, condition).send().await.map_err(|e| sdk_error("PutItem", e))?;
        self.write_capacity.add(output.consumed_capacity());
        Ok(())
    }

    async fn delete(&self, key: &ItemKey, condition: Condition) -> Result<(), StoreError> {
        let request = self.client.delete_item().table_name(&self.table).set_key(Some(key_to_attributes(key)));
        let request = request.return_consumed_capacity(ReturnConsumedCapacity::Total);
        let output = with_condition!(request, condition).send().await.map_err(|e| sdk_error("DeleteItem", e))?;
        self.write_capacity.add(output.consumed_capacity());
        Ok(())
    }

    /// One Query call per page. Reads on the table are strongly consistent; reads on an index cannot be (DynamoDB
    /// updates GSIs asynchronously, so an item written a moment ago may be missing from an index query).
    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let limit = match query.limit {
            None => None,
            Some(0) => {
                return Err(StoreError::Invalid("a query limit must be at least 1".into()));
            }
            Some(n) => Some(i32::try_from(n).unwrap_or(i32::MAX)),
        };
        let (expression, names, values) = key_condition(query);
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(query.index.map(|i| i.as_str().to_string()))
            .key_condition_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(!query.descending)
            .set_limit(limit)
            .set_exclusive_start_key(query.after.as_deref().map(decode_cursor).transpose()?)
            .set_consistent_read(query.index.is_none().then_some(true))
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        let next = match &output.last_evaluated_key {
            Some(key) if !key.is_empty() => Some(encode_cursor(key)?),
            _ => None,
        };
        let items = output.items.unwrap_or_default().into_iter().map(item_from_attributes).collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }

    /// `Select: COUNT`: DynamoDB counts the matches without sending them (a page at a time, up to 1 MB read each).
    async fn count(&self, query: &Query) -> Result<usize, StoreError> {
        let (expression, names, values) = key_condition(query);
        let mut count = 0usize;
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(query.index.map(|i| i.as_str().to_string()))
                .key_condition_expression(expression.clone())
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .set_consistent_read(query.index.is_none().then_some(true))
                .send()
                .await
                .map_err(|e| sdk_error("Query (count)", e))?;
            count += usize::try_from(output.count).unwrap_or(0);
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(count),
            }
        }
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let requests = last_write_per_key(items)
            .iter()
            .map(|item| {
                let put =
                    PutRequest::builder().set_item(Some(item_to_attributes(item)?)).build().map_err(build_error)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let chunks: Vec<Vec<WriteRequest>> = requests.chunks(BATCH_WRITE_MAX).map(<[_]>::to_vec).collect();
        stream::iter(chunks)
            .map(|chunk| self.write_batch(chunk))
            .buffer_unordered(BATCH_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn batch_get(&self, keys: &[ItemKey]) -> Result<Vec<Item>, StoreError> {
        // DynamoDB refuses a batch that names a key twice.
        let mut unique: Vec<&ItemKey> = keys.iter().collect();
        unique.sort();
        unique.dedup();
        let chunks: Vec<Vec<Attributes>> =
            unique.chunks(BATCH_GET_MAX).map(|chunk| chunk.iter().map(|k| key_to_attributes(k)).collect()).collect();
        let found: Vec<Vec<Item>> = stream::iter(chunks)
            .map(|chunk| self.get_batch(chunk))
            .buffer_unordered(BATCH_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_transaction(&ops)?;
        let items = ops.into_iter().map(|op| self.transact_item(op)).collect::<Result<Vec<_>, _>>()?;
        let request = self.client.transact_write_items().set_transact_items(Some(items));
        let output =
            request.return_consumed_capacity(ReturnConsumedCapacity::Total).send().await.map_err(transact_error)?;
        self.write_capacity.add(output.consumed_capacity());
        Ok(())
    }

    async fn query_each(&self, queries: &[Query]) -> Result<Vec<Page>, StoreError> {
        let queries = queries.to_vec();
        stream::iter(queries)
            .map(|query| async move { self.query(&query).await })
            .buffered(REQUESTS_AT_ONCE)
            .try_collect()
            .await
    }

    /// Several `TransactWriteItems` requests at a time, each on its own (DynamoDB has nothing that groups them).
    async fn transact_each(&self, transactions: Vec<Vec<WriteOp>>) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let answers: Vec<_> =
            stream::iter(transactions).map(|ops| self.transact(ops)).buffered(REQUESTS_AT_ONCE).collect().await;
        answers.into_iter().map(crate::ports::record_store::answer_of_one).collect()
    }
}

/// Requests of one `query_each` or `transact_each` in flight together.
const REQUESTS_AT_ONCE: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_through_attributes() {
        let item = Item::new(ItemKey::new("P", "S"), serde_json::json!({"a": [1, 2.5, "x"], "b": null}))
            .with_index(IndexName::Gsi3, ItemKey::new("IP", "IS"));
        let item = Item { version: 7, expires_at: Some(1_900_000_000), ..item };
        let attributes = item_to_attributes(&item).expect("maps");
        assert!(!attributes.contains_key("gsi1pk"));
        assert_eq!(item_from_attributes(attributes).expect("reads back"), item);
    }

    #[test]
    fn cursor_round_trips() {
        let key = HashMap::from([
            ("pk".to_string(), AttributeValue::S("a".into())),
            ("gsi1sk".to_string(), AttributeValue::S("b".into())),
        ]);
        assert_eq!(decode_cursor(&encode_cursor(&key).expect("encodes")).expect("decodes"), key);
        assert!(matches!(decode_cursor("%%%"), Err(StoreError::Invalid(_))));
    }

    #[test]
    fn last_write_wins_within_a_batch() {
        let first = Item::new(ItemKey::new("p", "1"), serde_json::json!(1));
        let other = Item::new(ItemKey::new("p", "2"), serde_json::json!(2));
        let second = Item::new(ItemKey::new("p", "1"), serde_json::json!(3));
        assert_eq!(last_write_per_key(vec![first, other.clone(), second.clone()]), vec![other, second]);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= BACKOFF_BASE * 2);
        assert!(backoff(1) >= BACKOFF_BASE);
        assert!(backoff(30) <= BACKOFF_CAP);
    }
}

//! The DynamoDB record store against DynamoDB Local (scripts/start-dynamodb-local.sh), when
//! `MAVIS_TEST_DYNAMODB_ENDPOINT` names it (e.g. http://127.0.0.1:8000). Each run creates its own table.
//! Run with `cargo test -p shared --features contract-tests --test record_store_dynamodb`.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use shared::adapters::dynamodb_store::DynamoRecordStore;
use shared::ports::{ItemKey, RecordStore, StoreError};

/// The configuration for an emulator: fixed region and dummy credentials, so that nothing from the developer's AWS
/// profile is picked up or sent.
fn emulator_config(endpoint: &str) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-2"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(endpoint)
}

#[cfg(feature = "contract-tests")]
mod contract {
    use aws_sdk_dynamodb::Client;
    use shared::adapters::dynamodb_store::{DynamoRecordStore, create_table};
    use shared::contract_tests::record_store;
    use shared::ports::{Condition, Item, ItemKey, RecordStore, StoreError, WriteOp};

    const ENDPOINT_VAR: &str = "MAVIS_TEST_DYNAMODB_ENDPOINT";

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn when_on_dynamodb_local_should_meet_the_record_store_contract() {
        let Ok(endpoint) = std::env::var(ENDPOINT_VAR) else {
            // scripts/test starts the emulators and sets this, so that a missing endpoint there is a failure.
            assert!(
                std::env::var("MAVIS_REQUIRE_EMULATORS").as_deref() != Ok("1"),
                "MAVIS_REQUIRE_EMULATORS=1 but {ENDPOINT_VAR} is not set"
            );
            eprintln!(
                "record_store_dynamodb: SKIPPED, {ENDPOINT_VAR} is not set (start scripts/start-dynamodb-local.sh)"
            );
            return;
        };
        let client = Client::new(&super::emulator_config(&endpoint).load().await);
        let table = format!("mavis-contract-{}", uuid::Uuid::new_v4().simple());
        create_table(&client, &table).await.expect("table is created");
        create_table(&client, &table).await.expect("creating an existing table is fine");
        let store = DynamoRecordStore::new(client.clone(), &table);
        record_store::run_all(&store).await;
        client.delete_table().table_name(&table).send().await.expect("table is deleted");
    }

    /// A small item costs one write unit a put; in a transaction DynamoDB charges two, DynamoDB Local reports one.
    /// The store adds up what each answer reports.
    #[tokio::test]
    async fn when_on_dynamodb_local_should_add_up_the_write_units_its_writes_consumed() {
        let Ok(endpoint) = std::env::var(ENDPOINT_VAR) else {
            assert!(std::env::var("MAVIS_REQUIRE_EMULATORS").as_deref() != Ok("1"), "{ENDPOINT_VAR} is not set");
            eprintln!("record_store_dynamodb: SKIPPED, {ENDPOINT_VAR} is not set");
            return;
        };
        let client = Client::new(&super::emulator_config(&endpoint).load().await);
        let table = format!("mavis-capacity-{}", uuid::Uuid::new_v4().simple());
        create_table(&client, &table).await.expect("table is created");
        let store = DynamoRecordStore::new(client.clone(), &table);
        let capacity = store.write_capacity();
        let item = |n: u32| Item::new(ItemKey::new("CAPACITY", format!("ITEM#{n}")), serde_json::json!({ "n": n }));

        store.put(item(1), Condition::None).await.expect("put");
        let after_put = capacity.units();
        let put = |item| WriteOp::Put { item, condition: Condition::NotExists };
        let both = vec![put(item(2)), put(item(3))];
        store.transact(both).await.expect("transact");
        let after_transaction = capacity.units();
        store.batch_put((4..7).map(item).collect()).await.expect("batch_put");
        let refused = store.put(item(1), Condition::NotExists).await;

        assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
        assert_eq!(after_put, 1.0, "a small put");
        let transaction = after_transaction - after_put;
        assert!([2.0, 4.0].contains(&transaction), "two items in a transaction, one or two units each: {transaction}");
        assert_eq!(capacity.units() - after_transaction, 3.0, "three items in a batch; the refused put reports none");
        client.delete_table().table_name(&table).send().await.expect("table is deleted");
    }
}

#[cfg(not(feature = "contract-tests"))]
#[test]
fn contract_suite_needs_the_contract_tests_feature() {
    eprintln!("record_store_dynamodb: contract suite SKIPPED; run with --features contract-tests");
}

#[tokio::test]
async fn when_dynamodb_is_unreachable_should_fail_as_transient() {
    let config = emulator_config("http://127.0.0.1:9")
        .retry_config(RetryConfig::disabled())
        .timeout_config(TimeoutConfig::builder().operation_timeout(Duration::from_secs(5)).build())
        .load()
        .await;
    let store = DynamoRecordStore::new(Client::new(&config), "no-table");
    let result = store.get(&ItemKey::new("p", "s")).await;
    assert!(matches!(result, Err(StoreError::Transient(_))), "expected Transient, got {result:?}");
}

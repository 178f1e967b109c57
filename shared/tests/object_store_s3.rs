//! The object store contract against S3 on an emulator. Runs when `MAVIS_TEST_AWS_ENDPOINT` is set (e.g.
//! `http://127.0.0.1:5000` after `scripts/start-moto.sh`); otherwise each test prints a skip line and passes.
//!
//! Set `MAVIS_TEST_S3_CHECKS_SIGNATURES=1` against an emulator that checks presigned signatures (LocalStack with
//! `S3_SKIP_SIGNATURE_VALIDATION=0`, or real S3); moto does not, so the tampered-signature and wrong-content-type
//! checks are skipped by default.

use std::io::Write;

/// Straight to stderr in one write: the harness captures `eprintln!` of passing tests, and parallel tests would
/// otherwise split the line.
fn skip_line(line: &str) {
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

use futures::{StreamExt, TryStreamExt};

use shared::adapters::aws::{s3_client, sdk_config_for};
use shared::adapters::s3_object_store::{S3ObjectStore, create_bucket};
use shared::contract_tests::object_store as contract;
use shared::ports::object_store::ObjectStore;

/// A fresh bucket on the emulator, or `None` (after saying so) when no emulator is configured.
async fn store(test: &str) -> Option<S3ObjectStore> {
    let Ok(endpoint) = std::env::var("MAVIS_TEST_AWS_ENDPOINT") else {
        skip_line(&format!("SKIPPED object_store_s3::{test}: MAVIS_TEST_AWS_ENDPOINT is not set"));
        return None;
    };
    let client = s3_client(&sdk_config_for(&endpoint).await);
    let bucket = format!("mavis-contract-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    create_bucket(&client, &bucket).await.expect("create bucket");
    create_bucket(&client, &bucket).await.expect("create_bucket is idempotent");
    let sdk = sdk_config_for(&endpoint).await;
    Some(S3ObjectStore::new(client, bucket).with_browser_uploads(&sdk))
}

macro_rules! contract_check {
    ($name:ident) => {
        #[tokio::test]
        async fn $name() {
            if let Some(store) = store(stringify!($name)).await {
                contract::$name(&store).await;
            }
        }
    };
}

contract_check!(round_trip);
contract_check!(large_object_reads_as_a_stream);
contract_check!(overwrite_changes_etag);
contract_check!(open_version_reads_only_that_version);
contract_check!(missing_key_is_not_found);
contract_check!(delete_removes_the_object);
contract_check!(list_by_prefix_in_key_order);
contract_check!(keys_with_spaces_and_plus_signs);

#[tokio::test]
async fn presigned_upload() {
    if let Some(store) = store("presigned_upload").await {
        let enforced = std::env::var("MAVIS_TEST_S3_CHECKS_SIGNATURES").is_ok_and(|v| v == "1");
        contract::run_presigned_upload(&store, enforced).await;
        contract::run_presigned_upload_with_length(&store, enforced).await;
    }
}

#[tokio::test]
async fn form_upload() {
    if let Some(store) = store("form_upload").await {
        let enforced = std::env::var("MAVIS_TEST_S3_CHECKS_SIGNATURES").is_ok_and(|v| v == "1");
        contract::run_form_upload(&store, enforced).await;
    }
}

#[tokio::test]
async fn when_listing_more_than_one_page_should_return_every_key_in_order() {
    let Some(store) = store("list_pagination").await else {
        return;
    };
    // ListObjectsV2 pages at 1,000 keys.
    let keys: Vec<String> = (0..1005).map(|i| format!("many/{i:05}.csv")).collect();
    futures::stream::iter(keys.iter().map(|k| store.put(k, "x".into(), "text/csv")))
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .expect("put many");
    let listed: Vec<String> = store.list("many/").await.expect("list").into_iter().map(|o| o.key).collect();
    assert_eq!(listed, keys);
}

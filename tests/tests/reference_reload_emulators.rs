//! Reference data that follows the store, on the AWS emulators (DynamoDB Local, moto S3).

use integration_tests::harness::{Harness, emulators_or_skip};
use integration_tests::reference_reload_scenarios;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_reference_data_changes_on_aws_emulators_should_be_followed_within_the_ttl() {
    let Some(endpoints) = emulators_or_skip("reference_reload_emulators") else {
        return;
    };
    reference_reload_scenarios::all(|today| {
        let endpoints = endpoints.clone();
        async move { Harness::emulators(today, &endpoints).await }
    })
    .await;
}

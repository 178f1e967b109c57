//! Imports under injected store faults, on the AWS emulators (DynamoDB Local, moto S3).

use integration_tests::fault_scenarios;
use integration_tests::harness::{Harness, emulators_or_skip};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_5_percent_of_store_calls_fail_on_aws_emulators_should_reach_the_fault_free_end_state() {
    let Some(endpoints) = emulators_or_skip("faults_emulators") else {
        return;
    };
    fault_scenarios::all(|today| {
        let endpoints = endpoints.clone();
        async move { Harness::emulators(today, &endpoints).await }
    })
    .await;
}

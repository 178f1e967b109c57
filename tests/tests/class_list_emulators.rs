//! The class-list fixtures through the real pipeline on the AWS emulators (DynamoDB Local, moto S3).

use integration_tests::class_list_scenarios;
use integration_tests::harness::{Harness, emulators_or_skip};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_class_lists_are_imported_on_aws_emulators_should_match_documented_outcomes() {
    let Some(endpoints) = emulators_or_skip("class_list_emulators") else {
        return;
    };
    class_list_scenarios::all(|today| {
        let endpoints = endpoints.clone();
        async move { Harness::emulators(today, &endpoints).await }
    })
    .await;
}

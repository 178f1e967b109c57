//! The review lists a page at a time, on the AWS emulators (DynamoDB Local, moto S3).

use integration_tests::harness::{Harness, emulators_or_skip};
use integration_tests::paging_scenarios;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_review_lists_are_long_on_aws_emulators_should_come_50_a_page() {
    let Some(endpoints) = emulators_or_skip("paging_emulators") else {
        return;
    };
    paging_scenarios::all(|today| {
        let endpoints = endpoints.clone();
        async move { Harness::emulators(today, &endpoints).await }
    })
    .await;
}

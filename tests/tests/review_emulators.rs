//! The review scenarios through the HTTP API with the store on DynamoDB Local (and moto S3): concurrent decisions
//! meet DynamoDB's own conditional transactions.

use integration_tests::harness::{Harness, emulators_or_skip};
use integration_tests::review_scenarios;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_fixtures_are_reviewed_through_the_api_on_aws_emulators_should_reach_documented_end_states() {
    let Some(endpoints) = emulators_or_skip("review_emulators") else {
        return;
    };
    review_scenarios::all(|today| {
        let endpoints = endpoints.clone();
        async move { Harness::emulators(today, &endpoints).await }
    })
    .await;
}

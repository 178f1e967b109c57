//! The vaccination-record fixtures through the real pipeline on the AWS emulators (DynamoDB Local, moto S3).

use integration_tests::harness::{Harness, emulators_or_skip};
use integration_tests::vaccination_scenarios;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_vaccination_fixtures_are_imported_on_aws_emulators_should_match_documented_outcomes() {
    let Some(endpoints) = emulators_or_skip("vaccination_emulators") else {
        return;
    };
    vaccination_scenarios::all(|today| {
        let endpoints = endpoints.clone();
        async move { Harness::emulators(today, &endpoints).await }
    })
    .await;
}

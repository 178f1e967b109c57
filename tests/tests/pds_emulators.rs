//! Child-record imports with the PDS step, against the PDS emulator, on the AWS emulators (DynamoDB Local, moto S3).

use integration_tests::harness::{Harness, emulators_or_skip};
use integration_tests::pds_scenarios;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_pds_search_is_on_on_aws_emulators_should_match_documented_outcomes() {
    let Some(endpoints) = emulators_or_skip("pds_emulators") else {
        return;
    };
    pds_scenarios::all(|today| {
        let endpoints = endpoints.clone();
        async move { Harness::emulators(today, &endpoints).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_the_pds_schedule_fires_on_aws_emulators_should_refresh_the_due_patients_oldest_first() {
    let Some(endpoints) = emulators_or_skip("pds_emulators") else {
        return;
    };
    integration_tests::pds_schedule_scenarios::all(|today| {
        let endpoints = endpoints.clone();
        async move { Harness::emulators(today, &endpoints).await }
    })
    .await;
}

//! A guessed NHS number discloses nothing, on the AWS emulators (DynamoDB Local, moto S3).

use integration_tests::guessed_nhs_number_scenarios;
use integration_tests::harness::{Harness, emulators_or_skip};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_row_guesses_another_teams_nhs_number_on_aws_emulators_should_neither_show_nor_change_the_child() {
    let Some(endpoints) = emulators_or_skip("guessed_nhs_number_emulators") else {
        return;
    };
    guessed_nhs_number_scenarios::all(|today| {
        let endpoints = endpoints.clone();
        async move { Harness::emulators(today, &endpoints).await }
    })
    .await;
}

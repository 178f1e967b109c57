//! One object version per import, on the AWS emulators (DynamoDB Local, moto S3).

use integration_tests::harness::{Harness, emulators_or_skip};
use integration_tests::object_version_scenarios;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_file_is_replaced_while_imported_on_aws_emulators_should_never_mix_two_files() {
    let Some(endpoints) = emulators_or_skip("object_version_emulators") else {
        return;
    };
    object_version_scenarios::all(|today| {
        let endpoints = endpoints.clone();
        async move { Harness::emulators(today, &endpoints).await }
    })
    .await;
}

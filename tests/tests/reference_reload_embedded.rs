//! Reference data that follows the store, on the embedded adapters (SQLite, folder).

use integration_tests::harness::Harness;
use integration_tests::reference_reload_scenarios;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_reference_data_changes_on_embedded_adapters_should_be_followed_within_the_ttl() {
    reference_reload_scenarios::all(Harness::embedded).await;
}

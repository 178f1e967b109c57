//! Imports under injected store faults, on the embedded adapters (SQLite, folder).

use integration_tests::fault_scenarios;
use integration_tests::harness::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_5_percent_of_store_calls_fail_on_embedded_adapters_should_reach_the_fault_free_end_state() {
    fault_scenarios::all(Harness::embedded).await;
}

//! Child-record imports with the PDS step, against the PDS emulator, on the embedded adapters (SQLite, folder).

use integration_tests::harness::Harness;
use integration_tests::pds_scenarios;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_pds_search_is_on_on_embedded_adapters_should_match_documented_outcomes() {
    pds_scenarios::all(Harness::embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_the_pds_schedule_fires_on_embedded_adapters_should_refresh_the_due_patients_oldest_first() {
    integration_tests::pds_schedule_scenarios::all(Harness::embedded).await;
}

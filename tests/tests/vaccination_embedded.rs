//! The vaccination-record fixtures through the real pipeline on the embedded adapters (SQLite, folder).

use integration_tests::harness::Harness;
use integration_tests::vaccination_scenarios;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_vaccination_fixtures_are_imported_on_embedded_adapters_should_match_documented_outcomes() {
    vaccination_scenarios::all(Harness::embedded).await;
}

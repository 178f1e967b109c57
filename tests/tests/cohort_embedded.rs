//! The child-records fixtures through the real pipeline on the embedded adapters (SQLite, folder).

use integration_tests::harness::Harness;
use integration_tests::scenarios;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_fixtures_are_imported_on_embedded_adapters_should_match_documented_outcomes() {
    scenarios::all(Harness::embedded).await;
}

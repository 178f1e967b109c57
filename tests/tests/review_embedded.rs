//! The review scenarios (import issues, school moves, notices) through the HTTP API on the embedded adapters.

use integration_tests::harness::Harness;
use integration_tests::review_scenarios;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_fixtures_are_reviewed_through_the_api_on_embedded_adapters_should_reach_documented_end_states() {
    review_scenarios::all(Harness::embedded).await;
}

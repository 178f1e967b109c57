//! The class-list fixtures through the real pipeline on the embedded adapters (SQLite, folder).

use integration_tests::class_list_scenarios;
use integration_tests::harness::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_class_lists_are_imported_on_embedded_adapters_should_match_documented_outcomes() {
    class_list_scenarios::all(Harness::embedded).await;
}

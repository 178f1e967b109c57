//! The review lists a page at a time, on the embedded adapters (SQLite, folder).

use integration_tests::harness::Harness;
use integration_tests::paging_scenarios;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_review_lists_are_long_on_embedded_adapters_should_come_50_a_page() {
    paging_scenarios::all(Harness::embedded).await;
}

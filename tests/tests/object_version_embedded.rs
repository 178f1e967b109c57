//! One object version per import, on the embedded adapters (SQLite, folder).

use integration_tests::harness::Harness;
use integration_tests::object_version_scenarios;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_file_is_replaced_while_imported_on_embedded_adapters_should_never_mix_two_files() {
    object_version_scenarios::all(Harness::embedded).await;
}

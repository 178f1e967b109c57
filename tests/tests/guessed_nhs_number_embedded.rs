//! A guessed NHS number discloses nothing, on the embedded adapters (SQLite, folder).

use integration_tests::guessed_nhs_number_scenarios;
use integration_tests::harness::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_row_guesses_another_teams_nhs_number_on_embedded_adapters_should_neither_show_nor_change_the_child() {
    guessed_nhs_number_scenarios::all(Harness::embedded).await;
}

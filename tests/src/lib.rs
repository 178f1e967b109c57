//! Test support for the whole-pipeline tests: a harness that wires the real pipeline to either the embedded
//! adapters or the AWS emulators, and the fixture scenarios of shared/spec/fixture-outcomes.md §2, written once and
//! run against both (tests/tests/cohort_*.rs).

pub mod api;
pub mod class_list_scenarios;
pub mod crash_scenarios;
pub mod crashing_store;
pub mod fault_scenarios;
pub mod faulty_queue;
pub mod faulty_stores;
pub mod generated_children;
pub mod guessed_nhs_number_scenarios;
pub mod harness;
pub mod hooked_objects;
pub mod imms_scenarios;
pub mod object_version_scenarios;
pub mod paging_scenarios;
pub mod pds_imms_scenarios;
pub mod pds_scenarios;
pub mod pds_schedule_scenarios;
pub mod prism;
pub mod reference_reload_scenarios;
pub mod refusing_queue;
pub mod replacing_objects;
pub mod review_scenarios;
pub mod scenarios;
pub mod support;
pub mod vaccination_scenarios;

/// A fixture file from the steering repo's shared/fixtures/mavis folder.
pub fn fixture(relative: &str) -> Vec<u8> {
    let path = format!("{}/../../shared/fixtures/mavis/{relative}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {path}: {e}"))
}

#![no_main]
//! `shared::contract_tests::parsers::child_records_file` on every input.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    shared::contract_tests::parsers::child_records_file(data);
});

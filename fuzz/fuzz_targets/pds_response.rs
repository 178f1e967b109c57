#![no_main]
//! `shared::contract_tests::parsers::pds_response` on every input.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    shared::contract_tests::parsers::pds_response(data);
});

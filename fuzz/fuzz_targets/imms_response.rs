#![no_main]
//! `shared::contract_tests::parsers::imms_response` on every input.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    shared::contract_tests::parsers::imms_response(data);
});

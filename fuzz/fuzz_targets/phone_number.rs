#![no_main]
//! `shared::contract_tests::parsers::phone_number` on every input that is text.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        shared::contract_tests::parsers::phone_number(text);
    }
});

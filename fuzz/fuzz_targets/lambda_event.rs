#![no_main]
//! `shared::contract_tests::parsers::lambda_event`: every input as an event for the import and pds functions, on one
//! embedded pipeline.

use std::sync::OnceLock;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    pipeline: shared::pipeline::Pipeline,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let pipeline = runtime.block_on(shared::contract_tests::parsers::embedded_pipeline(dir.path()));
        Fixture { runtime, pipeline, _dir: dir }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let f = fixture();
    f.runtime.block_on(shared::contract_tests::parsers::lambda_event(&f.pipeline, data));
});

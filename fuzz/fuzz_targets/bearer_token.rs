#![no_main]
//! `shared::contract_tests::parsers::bearer_token`: the input split at its first two 0xff bytes into a forged token's
//! header, payload and signature, and also taken whole as a token.

use std::sync::OnceLock;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    authenticator: shared::web::Authenticator,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let issuer = shared::web::LocalIssuer::load_or_create(dir.path()).expect("issuer");
        Fixture { runtime, authenticator: issuer.authenticator(), _dir: dir }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0xff);
    let (header, payload, signature) =
        (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let raw = String::from_utf8_lossy(data);
    let f = fixture();
    f.runtime.block_on(shared::contract_tests::parsers::bearer_token(&f.authenticator, header, payload, signature, &raw));
});

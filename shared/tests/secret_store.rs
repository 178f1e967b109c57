//! The secret-store contract on both adapters (the in-memory one, and Secrets Manager on the emulator when
//! `MAVIS_TEST_AWS_ENDPOINT` is set), and the NHS API credentials read from a secret: a rotation is used without a
//! restart, against the PDS emulator's real token endpoint.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use pds_emulator::{Config, test_keys};
use shared::adapters::aws::sdk_config_for;
use shared::adapters::memory_secret_store::MemorySecretStore;
use shared::adapters::secrets_manager_store::SecretsManagerStore;
use shared::contract_tests::secret_store as contract;
use shared::nhs_api::auth::SECRET_MAX_AGE;
use shared::nhs_api::{ApiPlatformAuth, AuthError, SecretCredentials};
use shared::ports::{SecretError, SecretStore};

/// TEST-ONLY key the emulator does not know: a retired key, as far as the token endpoint is concerned.
const RETIRED_KEY_PEM: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../emulators/pds/tests/fixtures/test-key-2.pem"));

fn credentials(pem: &str) -> String {
    serde_json::json!({ "api_key": test_keys::TEST_API_KEY, "private_key_pem": pem }).to_string()
}

/// Secrets Manager on the emulator, or `None` (said once) without one.
async fn secrets_manager(test: &str) -> Option<Client> {
    match std::env::var("MAVIS_TEST_AWS_ENDPOINT") {
        Ok(endpoint) => Some(Client::new(&sdk_config_for(&endpoint).await)),
        Err(_) => {
            assert!(std::env::var("MAVIS_REQUIRE_EMULATORS").is_err(), "MAVIS_REQUIRE_EMULATORS is set");
            eprintln!("SKIPPED secret_store::{test}: MAVIS_TEST_AWS_ENDPOINT is not set");
            None
        }
    }
}

async fn put_in_secrets_manager(client: &Client, id: &str, value: &str) {
    let created = client.create_secret().name(id).secret_string(value).send().await;
    if created.is_err() {
        client.put_secret_value().secret_id(id).secret_string(value).send().await.expect("put_secret_value");
    }
}

/// A store of each kind with a way to set a secret's current value, as a rotation does.
async fn stores(
    test: &str,
) -> Vec<(Arc<dyn SecretStore>, Box<dyn Fn(String, String) -> futures::future::BoxFuture<'static, ()>>)> {
    let memory = Arc::new(MemorySecretStore::new());
    let put_memory = memory.clone();
    let mut stores: Vec<(
        Arc<dyn SecretStore>,
        Box<dyn Fn(String, String) -> futures::future::BoxFuture<'static, ()>>,
    )> = vec![(
        memory,
        Box::new(move |id, value| {
            put_memory.put(&id, &value);
            Box::pin(async {})
        }),
    )];
    if let Some(client) = secrets_manager(test).await {
        let store = Arc::new(SecretsManagerStore::new(client.clone()));
        stores.push((
            store,
            Box::new(move |id, value| {
                let client = client.clone();
                Box::pin(async move { put_in_secrets_manager(&client, &id, &value).await })
            }),
        ));
    }
    stores
}

#[tokio::test]
async fn every_store_reads_the_current_value_and_sees_a_rotation() {
    for (store, put) in stores("every_store_reads_the_current_value_and_sees_a_rotation").await {
        contract::reads_the_current_value_and_sees_a_rotation(store.as_ref(), |id, value| put(id, value)).await;
    }
}

async fn auth_from(
    store: Arc<dyn SecretStore>,
    secret_id: &str,
    token_url: &str,
    max_age: Duration,
) -> Result<ApiPlatformAuth, AuthError> {
    let secret = SecretCredentials { store, secret_id: secret_id.to_owned(), max_age };
    ApiPlatformAuth::signed_from_secret(
        token_url.to_owned(),
        test_keys::TEST_KID.to_owned(),
        secret,
        reqwest::Client::new(),
    )
    .await
}

#[tokio::test]
async fn a_rotated_secret_should_be_used_at_the_next_token_without_a_restart() {
    let emulator = pds_emulator::spawn(Config::builtin().expect("config")).await.expect("emulator");
    for (store, put) in stores("a_rotated_secret_should_be_used_at_the_next_token_without_a_restart").await {
        let id = format!("mavis/nhs-api-{}", uuid::Uuid::new_v4().simple());
        // Deployed with a key the platform has since retired: refused, and read again at the refusal.
        put(id.clone(), credentials(RETIRED_KEY_PEM)).await;
        let auth = auth_from(store.clone(), &id, &emulator.token_url, SECRET_MAX_AGE).await.expect("the secret parses");
        assert!(matches!(auth.access_token().await, Err(AuthError::Rejected { .. })));
        // The operator rotates the secret: the next token request uses it, though the copy is younger than 5 minutes.
        put(id.clone(), credentials(test_keys::TEST_PRIVATE_KEY_PEM)).await;
        assert!(auth.access_token().await.expect("the rotated key is accepted").is_some());
    }
}

#[tokio::test]
async fn a_copy_younger_than_its_max_age_should_be_reused_and_an_older_one_read_again() {
    let emulator = pds_emulator::spawn(Config::builtin().expect("config")).await.expect("emulator");
    for (store, put) in stores("a_copy_younger_than_its_max_age_should_be_reused_and_an_older_one_read_again").await {
        for (max_age, should_reread) in [(SECRET_MAX_AGE, false), (Duration::ZERO, true)] {
            let id = format!("mavis/nhs-api-{}", uuid::Uuid::new_v4().simple());
            put(id.clone(), credentials(test_keys::TEST_PRIVATE_KEY_PEM)).await;
            let auth = auth_from(store.clone(), &id, &emulator.token_url, max_age).await.expect("the secret parses");
            assert!(auth.access_token().await.expect("first token").is_some());
            // A new value (here one the platform refuses, so that its use shows) and a new token request.
            put(id.clone(), credentials(RETIRED_KEY_PEM)).await;
            auth.forget_token().await;
            let second = auth.access_token().await;
            assert_eq!(
                matches!(second, Err(AuthError::Rejected { .. })),
                should_reread,
                "max age {max_age:?}: {second:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_missing_or_malformed_secret_should_fail_at_cold_start_without_showing_its_value() {
    for (store, put) in
        stores("a_missing_or_malformed_secret_should_fail_at_cold_start_without_showing_its_value").await
    {
        let id = format!("mavis/nhs-api-{}", uuid::Uuid::new_v4().simple());
        let missing =
            auth_from(store.clone(), &id, "http://127.0.0.1:9/oauth2/token", SECRET_MAX_AGE).await.unwrap_err();
        assert!(matches!(missing, AuthError::Secret(SecretError::NotFound { .. })), "{missing:?}");
        put(id.clone(), r#"{"api_key": "hunter2-api-key", "private_key_pem": 12345}"#.into()).await;
        let malformed =
            auth_from(store.clone(), &id, "http://127.0.0.1:9/oauth2/token", SECRET_MAX_AGE).await.unwrap_err();
        assert!(matches!(malformed, AuthError::MalformedSecret), "{malformed:?}");
        let shown = format!("{malformed} {malformed:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("12345"), "{shown}");
    }
}

//! The api function: the same axum Router as the local runner (pages and JSON API), under lambda_http.

use shared::cloud::{CloudAdapters, CloudConfig};
use shared::config::{ConfigError, optional_env, required_env};
use shared::web::auth::Authenticator;
use shared::web::{AppState, DEFAULT_MAX_UPLOAD_BYTES, OidcClient, OidcSettings, WebSettings, app};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let config = CloudConfig::from_env()?;
    let jwks_url = required_env("MAVIS_OIDC_JWKS_URL")?;
    let issuer = required_env("MAVIS_OIDC_ISSUER")?;
    let audience = required_env("MAVIS_OIDC_AUDIENCE")?;
    let auth = Authenticator::remote(&jwks_url, &issuer, &audience)?;
    // The pages sign in with the same provider (CIS2): this service's client registration there.
    let public_url = required_env("MAVIS_PUBLIC_URL")?;
    let oidc = OidcClient::new(OidcSettings {
        issuer,
        client_id: required_env("MAVIS_OIDC_CLIENT_ID")?,
        client_secret: optional_env("MAVIS_OIDC_CLIENT_SECRET"),
        redirect_url: format!("{}/auth/callback", public_url.trim_end_matches('/')),
    })?;
    let max_upload_bytes = match optional_env("MAVIS_MAX_UPLOAD_BYTES") {
        None => DEFAULT_MAX_UPLOAD_BYTES,
        Some(value) => value.trim().parse().map_err(|_| ConfigError::Invalid {
            name: "MAVIS_MAX_UPLOAD_BYTES".into(),
            reason: "must be a number of bytes".into(),
        })?,
    };
    let adapters = CloudAdapters::connect(&config).await;
    let reference = adapters.live_reference(&config).await?;
    let settings =
        WebSettings { today_override: config.today_override, public_url, max_upload_bytes, ..WebSettings::default() };
    let mut state = AppState::new(adapters.records, adapters.objects, reference.current(), auth, settings)
        .with_live_reference(reference)
        .with_sign_in(oidc);
    // Vaccinations recorded or edited through the API reach the fhir function at once, not only on its next sweep.
    if let Some(fhir_queue) = shared::cloud::fhir_queue_from_env().await {
        state = state.with_imms_queue(fhir_queue);
    }
    lambda_http::run(app(state)).await
}

//! The api function: the same axum Router as the local runner, under lambda_http.

use std::sync::Arc;

use shared::cloud::{CloudAdapters, CloudConfig};
use shared::config::required_env;
use shared::web::auth::Authenticator;
use shared::web::{AppState, WebSettings, app};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let config = CloudConfig::from_env()?;
    let jwks_url = required_env("MAVIS_OIDC_JWKS_URL")?;
    let issuer = required_env("MAVIS_OIDC_ISSUER")?;
    let audience = required_env("MAVIS_OIDC_AUDIENCE")?;
    let auth = Authenticator::remote(&jwks_url, &issuer, &audience)?;
    let adapters = CloudAdapters::connect(&config).await;
    let reference = shared::store::reference::load(adapters.records.as_ref()).await?;
    let settings = WebSettings { today_override: config.today_override, ..WebSettings::default() };
    let mut state = AppState::new(adapters.records, adapters.objects, Arc::new(reference), auth, settings);
    // Vaccinations recorded or edited through the API reach the fhir function at once, not only on its next sweep.
    if let Some(fhir_queue) = shared::cloud::fhir_queue_from_env().await {
        state = state.with_imms_queue(fhir_queue);
    }
    lambda_http::run(app(state)).await
}

//! The import function: S3 ObjectCreated notifications (delivered through SQS) → imports.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use shared::cloud::{CloudAdapters, CloudConfig, PdsConfig};
use shared::pipeline::{Pipeline, PipelineSettings, invocation};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let config = CloudConfig::from_env()?;
    let adapters = CloudAdapters::connect(&config).await;
    let reference = shared::store::reference::load(adapters.records.as_ref()).await?;
    // PDS is optional: without NHS_API_BASE_URL the cascading search step is skipped (said once, here).
    let pds = match PdsConfig::from_env()? {
        Some(pds) => {
            tracing::info!(
                pds_base_url = %pds.pds_base_url,
                requests_per_second = pds.requests_per_second,
                auth = if pds.auth.is_disabled() { "disabled" } else { "signed JWT" },
                "PDS step on"
            );
            Some(pds.settings())
        }
        None => {
            tracing::warn!("NHS_API_BASE_URL is not set: imports run without the PDS search step");
            None
        }
    };
    let pipeline = Pipeline {
        records: adapters.records,
        objects: adapters.objects,
        reference: Arc::new(reference),
        settings: PipelineSettings {
            max_rows: config.max_rows,
            today_override: config.today_override,
            pds,
            ..PipelineSettings::default()
        },
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let pipeline = pipeline.clone();
        async move {
            // A failed S3 invocation is retried by Lambda; SQS failures are reported per message instead.
            invocation::handle_invocation(&pipeline, event.payload).await.map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}

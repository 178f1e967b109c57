//! The import function: S3 ObjectCreated notifications (delivered through SQS) → imports.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use shared::cloud::{CloudAdapters, CloudConfig, event_source_from_env, pipeline_pds_settings_from_env};
use shared::pipeline::{Pipeline, PipelineSettings, invocation};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let config = CloudConfig::from_env()?;
    let adapters = CloudAdapters::connect(&config).await;
    let reference = adapters.live_reference(&config).await?;
    // PDS is optional: without NHS_API_BASE_URL the cascading search step is skipped (said once, here). With
    // MAVIS_PDS_QUEUE_URL the rows go to the pds function once staged.
    let pds = pipeline_pds_settings_from_env().await?;
    match &pds {
        Some(pds) if pds.queue.is_some() => tracing::info!("staged rows go to the pds queue"),
        Some(_) => tracing::warn!("MAVIS_PDS_QUEUE_URL is not set: the PDS search runs inside the import function"),
        None => tracing::warn!("NHS_API_BASE_URL is not set: imports run without the PDS search step"),
    }
    let pipeline = Pipeline {
        records: adapters.records,
        objects: adapters.objects,
        reference: reference.current(),
        settings: PipelineSettings {
            max_rows: config.max_rows,
            today_override: config.today_override,
            pds,
            ..PipelineSettings::default()
        },
    };
    let (source, settings) = event_source_from_env(invocation::consumer_settings()).await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (pipeline, reference, source) = (pipeline.clone(), reference.clone(), source.clone());
        async move {
            let pipeline = pipeline.with_current_reference(&reference).await;
            let source = source.as_deref().map(|q| q as &dyn shared::ports::Queue);
            // A failed S3 invocation is retried by Lambda; SQS failures are reported per message instead.
            invocation::handle_invocation(&pipeline, source, &settings, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}

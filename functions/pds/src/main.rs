//! The pds function: messages of the pds queue (pages of staged rows, commits, GET refreshes) → PDS, paced.

use anyhow::Context;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use shared::cloud::{CloudAdapters, CloudConfig, event_source_from_env, pipeline_pds_settings_from_env};
use shared::pipeline::{Pipeline, PipelineSettings, pds_queue};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init();
    let config = CloudConfig::from_env().context("configuration")?;
    let pds = pipeline_pds_settings_from_env()
        .await
        .context("PDS configuration")?
        .context("the pds function needs NHS_API_BASE_URL")?;
    anyhow::ensure!(pds.queue.is_some(), "the pds function needs MAVIS_PDS_QUEUE_URL (it sends commits and refreshes)");
    let adapters = CloudAdapters::connect(&config).await;
    let reference = adapters.live_reference(&config).await.context("reference data")?;
    let pipeline = Pipeline {
        records: adapters.records,
        objects: adapters.objects,
        reference: reference.current(),
        settings: PipelineSettings {
            max_rows: config.max_rows,
            today_override: config.today_override,
            pds: Some(pds),
            ..PipelineSettings::default()
        },
    };
    let (source, settings) = event_source_from_env(pds_queue::consumer_settings()).await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (pipeline, reference, source) = (pipeline.clone(), reference.clone(), source.clone());
        // Failures are reported per message (ReportBatchItemFailures); only an unreadable event fails the invocation.
        async move {
            let pipeline = pipeline.with_current_reference(&reference).await;
            let source = source.as_deref().map(|q| q as &dyn shared::ports::Queue);
            pds_queue::invocation::handle_invocation(&pipeline, source, &settings, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}

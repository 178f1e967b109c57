//! The import function: S3 ObjectCreated notifications (delivered through SQS) → imports.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use shared::cloud::{CloudAdapters, CloudConfig};
use shared::pipeline::{Pipeline, PipelineSettings, invocation};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let config = CloudConfig::from_env()?;
    let adapters = CloudAdapters::connect(&config).await;
    let reference = shared::store::reference::load(adapters.records.as_ref()).await?;
    let pipeline = Pipeline {
        records: adapters.records,
        objects: adapters.objects,
        reference: Arc::new(reference),
        settings: PipelineSettings {
            max_rows: config.max_rows,
            today_override: config.today_override,
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

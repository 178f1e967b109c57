//! `lambda-event-sources`: Lambda's SQS event source mappings and the EventBridge schedules of the SAM template, in
//! front of `cargo lambda watch`, for the real function binaries on LocalStack (which cannot run Lambda without
//! Docker). Reads the template for what to forward and the deployed stack's resources for where the queues are.

mod invoke;
mod queue_source;
mod schedule;
mod schedule_source;
mod template;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// The SAM template whose SQS and Schedule events to run.
    #[arg(long, default_value = "infra/template.yaml")]
    template: PathBuf,
    /// JSON object of the deployed stack: logical id → physical id (a queue's URL), as `scripts/localstack up`
    /// writes it.
    #[arg(long, default_value = ".emulators/localstack/resources.json")]
    resources: PathBuf,
    /// Where `cargo lambda watch` listens.
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    invoke_url: String,
    /// Where one function is served instead (`FUNCTION=URL`, repeatable): one `cargo lambda watch` per function
    /// package, each with that function's environment.
    #[arg(long = "function", value_name = "FUNCTION=URL")]
    functions: Vec<String>,
    /// Show a failed message again after this many seconds, instead of at the end of its visibility timeout.
    #[arg(long)]
    retry_after: Option<u64>,
    /// Forward queue messages only (no scheduled invocations).
    #[arg(long)]
    no_schedules: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.template).with_context(|| format!("{}", args.template.display()))?;
    let sources = template::event_sources(&text)?;
    let resources: HashMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(&args.resources)
            .with_context(|| format!("{} (run scripts/localstack up)", args.resources.display()))?,
    )
    .with_context(|| format!("{} is not a JSON object of strings", args.resources.display()))?;
    let sdk = aws_config::load_from_env().await;
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_else(|| "eu-west-2".into());
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut urls = HashMap::new();
    for entry in &args.functions {
        let (function, url) =
            entry.split_once('=').with_context(|| format!("--function {entry}: expected FUNCTION=URL"))?;
        urls.insert(function.to_owned(), url.to_owned());
    }
    let invoker = Arc::new(invoke::Invoker::new(&args.invoke_url, urls)?);
    let mut tasks = tokio::task::JoinSet::new();
    for source in sources.queues {
        let Some(queue_url) = resources.get(&source.queue).cloned() else {
            // A queue behind a false template condition (PdsEnabled) is not deployed.
            tracing::info!(queue = %source.queue, function = %source.function, "not in the stack: not forwarded");
            continue;
        };
        let poller = queue_source::QueuePoller {
            source,
            queue_url,
            sqs: sqs.clone(),
            invoker: invoker.clone(),
            region: region.clone(),
            retry_after: args.retry_after.map(Duration::from_secs),
        };
        tasks.spawn(poller.run());
    }
    if !args.no_schedules {
        for source in sources.schedules {
            let (invoker, region) = (invoker.clone(), region.clone());
            tasks.spawn(async move {
                schedule_source::run(source, invoker, region).await;
                Ok(())
            });
        }
    }
    while let Some(ended) = tasks.join_next().await {
        ended??;
    }
    Ok(())
}

//! `mavis seed`: writes the reference data of a seed file (teams, schools, users) into a deployed table, on AWS or
//! LocalStack, with the SDK's usual environment (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use shared::adapters::{aws, dynamodb_store::DynamoRecordStore};

#[derive(Args)]
pub struct SeedArgs {
    /// The stack's table (its RecordsTableName output).
    #[arg(long, env = "MAVIS_TABLE_NAME")]
    table: String,
    /// Reference data; the bundled demo seed by default.
    #[arg(long)]
    seed: Option<PathBuf>,
}

pub fn run(args: SeedArgs) -> ExitCode {
    let reference = match shared::reference::load_or_demo(args.seed.as_deref()) {
        Ok(reference) => reference,
        Err(e) => {
            eprintln!("mavis seed: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("mavis seed: no async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let sdk = aws::sdk_config().await;
        let records = DynamoRecordStore::new(aws_sdk_dynamodb::Client::new(&sdk), args.table.clone());
        match shared::store::reference::save(&records, &reference).await {
            Ok(()) => {
                println!(
                    "{}: {} teams, {} schools, {} users",
                    args.table,
                    reference.teams.len(),
                    reference.schools.len(),
                    reference.users.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("mavis seed: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

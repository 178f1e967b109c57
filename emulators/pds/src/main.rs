//! `pds-emulator`: runs the emulator until Ctrl-C (or SIGTERM). The first line on stdout is one JSON object with
//! `base_url`, so a test or the local runner can start it on `--port 0` and read where it landed.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pds_emulator::{AuthSettings, Config, DEFAULT_BASE_PATH, Dataset, EmulatorError, FaultConfig, KeySet, test_keys};

#[derive(Debug, Parser)]
#[command(name = "pds-emulator", about = "A local NHS PDS FHIR R4 API and API-platform token endpoint")]
struct Cli {
    #[arg(long, env = "PDS_EMULATOR_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// 0 picks a free port.
    #[arg(long, env = "PDS_EMULATOR_PORT", default_value_t = 0)]
    port: u16,
    /// FHIR Bundle of Patients; repeat to overlay files in order. Default: the built-in data/patients.json.
    #[arg(long, env = "PDS_EMULATOR_DATA", value_delimiter = ',')]
    data: Vec<PathBuf>,
    /// Serve PDS without requiring a bearer token (the sandbox's behaviour).
    #[arg(long)]
    no_auth: bool,
    /// Public key to verify client assertions: PEM (kid = RFC 7638 thumbprint), JWK or JWKS. Repeatable.
    /// Without any key (here or in --jwks) the TEST-ONLY key of tests/fixtures is used.
    #[arg(long = "public-key", env = "PDS_EMULATOR_PUBLIC_KEYS", value_delimiter = ',')]
    public_keys: Vec<PathBuf>,
    /// A JWKS given inline as JSON.
    #[arg(long, env = "PDS_EMULATOR_JWKS")]
    jwks: Option<String>,
    /// API key accepted as iss/sub; repeatable. None: any, as long as iss equals sub.
    #[arg(long = "api-key", env = "PDS_EMULATOR_API_KEYS", value_delimiter = ',')]
    api_keys: Vec<String>,
    /// `aud` to accept instead of this emulator's own token URL (e.g. when reached through a proxy).
    #[arg(long = "token-audience")]
    token_audiences: Vec<String>,
    #[arg(long, env = "PDS_EMULATOR_BASE_PATH", default_value = DEFAULT_BASE_PATH)]
    base_path: String,
    /// Faults active from the start, as the JSON POSTed to /_emulator/faults.
    #[arg(long)]
    faults: Option<String>,
}

fn config(cli: Cli) -> Result<Config, EmulatorError> {
    let dataset = if cli.data.is_empty() { Dataset::builtin()? } else { Dataset::from_files(&cli.data)? };
    let mut keys = KeySet::default();
    for path in &cli.public_keys {
        keys.extend(KeySet::from_file(path)?);
    }
    if let Some(jwks) = &cli.jwks {
        keys.extend(KeySet::parse(jwks, "--jwks")?);
    }
    if keys.is_empty() {
        eprintln!("pds-emulator: no --public-key given; accepting client assertions signed with the TEST-ONLY key");
        keys = test_keys::key_set()?;
    }
    let mut auth = AuthSettings::new(keys);
    auth.api_keys = cli.api_keys;
    auth.audiences = cli.token_audiences;
    let faults: FaultConfig = match &cli.faults {
        None => FaultConfig::default(),
        Some(json) => serde_json::from_str(json).map_err(|e| EmulatorError::Config(format!("--faults: {e}")))?,
    };
    faults.validate().map_err(|e| EmulatorError::Config(format!("--faults: {e}")))?;
    Ok(Config {
        host: cli.host,
        port: cli.port,
        base_path: cli.base_path,
        dataset,
        auth,
        auth_required: !cli.no_auth,
        faults,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    pds_emulator::server::init_cli_logging();
    let emulator = match config(Cli::parse()) {
        Ok(config) => pds_emulator::spawn(config).await,
        Err(error) => Err(error),
    };
    let emulator = match emulator {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("pds-emulator: {error}");
            return ExitCode::from(2);
        }
    };
    let line = serde_json::json!({
        "base_url": emulator.base_url,
        "pds_base_url": emulator.pds_base_url,
        "token_url": emulator.token_url,
    });
    if !pds_emulator::server::announce_and_wait(&line).await {
        return ExitCode::FAILURE;
    }
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

//! `imms-emulator`: runs the emulator until Ctrl-C (or SIGTERM). The first line on stdout is one JSON object with
//! `base_url`, `imms_base_url` and `token_url`, so a test or the local runner can start it on `--port 0` and read
//! where it landed.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use imms_emulator::{AuthSettings, Config, DEFAULT_BASE_PATH, EmulatorError, FaultConfig, KeySet, test_keys};

#[derive(Debug, Parser)]
#[command(name = "imms-emulator", about = "A local NHS Immunisations FHIR API and API-platform token endpoint")]
struct Cli {
    #[arg(long, env = "IMMS_EMULATOR_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// 0 picks a free port.
    #[arg(long, env = "IMMS_EMULATOR_PORT", default_value_t = 0)]
    port: u16,
    /// FHIR Bundle (entry[].resource) or JSON array of Immunization resources to preload; repeatable.
    #[arg(long, env = "IMMS_EMULATOR_DATA", value_delimiter = ',')]
    data: Vec<PathBuf>,
    /// Serve the API without requiring a bearer token (the sandbox's behaviour).
    #[arg(long)]
    no_auth: bool,
    /// Public key to verify client assertions: PEM (kid = RFC 7638 thumbprint), JWK or JWKS. Repeatable.
    /// Without any key (here or in --jwks) the TEST-ONLY key of the PDS emulator's tests/fixtures is used.
    #[arg(long = "public-key", env = "IMMS_EMULATOR_PUBLIC_KEYS", value_delimiter = ',')]
    public_keys: Vec<PathBuf>,
    /// A JWKS given inline as JSON.
    #[arg(long, env = "IMMS_EMULATOR_JWKS")]
    jwks: Option<String>,
    /// API key accepted as iss/sub; repeatable. None: any, as long as iss equals sub.
    #[arg(long = "api-key", env = "IMMS_EMULATOR_API_KEYS", value_delimiter = ',')]
    api_keys: Vec<String>,
    #[arg(long, env = "IMMS_EMULATOR_BASE_PATH", default_value = DEFAULT_BASE_PATH)]
    base_path: String,
    /// Faults active from the start, as the JSON POSTed to /_emulator/faults.
    #[arg(long)]
    faults: Option<String>,
}

fn config(cli: Cli) -> Result<Config, EmulatorError> {
    let mut records = Vec::new();
    for path in &cli.data {
        records.extend(imms_emulator::load_records(path)?);
    }
    let mut keys = KeySet::default();
    for path in &cli.public_keys {
        keys.extend(KeySet::from_file(path)?);
    }
    if let Some(jwks) = &cli.jwks {
        keys.extend(KeySet::parse(jwks, "--jwks")?);
    }
    if keys.is_empty() {
        eprintln!("imms-emulator: no --public-key given; accepting client assertions signed with the TEST-ONLY key");
        keys = test_keys::key_set()?;
    }
    // As the PDS emulator's CLI: without --api-key any iss is accepted, as long as it equals sub.
    let mut auth = AuthSettings::new(keys);
    auth.api_keys = cli.api_keys;
    let faults: FaultConfig = match &cli.faults {
        None => FaultConfig::default(),
        Some(json) => serde_json::from_str(json).map_err(|e| EmulatorError::Config(format!("--faults: {e}")))?,
    };
    let mut config = Config::new(records, auth);
    config.host = cli.host;
    config.port = cli.port;
    config.base_path = cli.base_path;
    config.auth_required = !cli.no_auth;
    config.faults = faults;
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    pds_emulator::server::init_cli_logging();
    let emulator = match config(Cli::parse()) {
        Ok(config) => imms_emulator::spawn(config).await,
        Err(error) => Err(error),
    };
    let emulator = match emulator {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("imms-emulator: {error}");
            return ExitCode::from(2);
        }
    };
    let line = serde_json::json!({
        "base_url": emulator.base_url,
        "imms_base_url": emulator.imms_base_url,
        "token_url": emulator.token_url,
    });
    if !pds_emulator::server::announce_and_wait(&line).await {
        return ExitCode::FAILURE;
    }
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

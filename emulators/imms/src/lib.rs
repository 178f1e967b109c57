//! A local stand-in for the NHS **Immunisations FHIR API** (IEDS): create, read, update, delete and search
//! Immunization resources with the real service's validation, versions (`E-Tag`), duplicate and reinstatement
//! rules, and search Bundles shaped like the Mavis fixtures (`nhs-apis.md` §4, §11). It serves the API platform's
//! **token endpoint** too, reusing the PDS emulator's auth, and the same test controls under `/_emulator/`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), imms_emulator::EmulatorError> {
//! let emulator = imms_emulator::spawn(imms_emulator::Config::builtin()?).await?;
//! // POST {emulator.imms_base_url}/Immunization with a bearer token from emulator.token_url
//! # Ok(()) }
//! ```
//! See the crate README for endpoints, the data-file format and the CLI.

mod admin;
pub mod compat;
pub mod log;
pub mod outcome;
pub mod records;
mod routes;
pub mod search;
pub mod store;
pub mod vaccine_types;
pub mod validate;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::net::TcpListener;

pub use pds_emulator::{AuthSettings, FaultConfig, KeyError, KeySet, test_keys};
pub use records::{DataError, load_records};

/// Where the Immunisations API lives under the platform's base URL.
pub const DEFAULT_BASE_PATH: &str = "/immunisation-fhir-api/FHIR/R4";

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// Everything the emulator needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// Path prefix of the API routes; `""` serves them at the root.
    pub base_path: String,
    /// Immunization resources stored from the start (e.g. GP-recorded history).
    pub records: Vec<Value>,
    /// Token-endpoint settings. The token endpoint always works; `auth_required` decides whether the API routes
    /// demand its tokens.
    pub auth: AuthSettings,
    /// Off = the sandbox's behaviour (no `Authorization` needed).
    pub auth_required: bool,
    /// Faults active from the start (usually none; tests set them at runtime).
    pub faults: FaultConfig,
}

impl Config {
    /// 127.0.0.1 on a free port, default base path, auth required, no faults.
    pub fn new(records: Vec<Value>, auth: AuthSettings) -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            base_path: DEFAULT_BASE_PATH.to_owned(),
            records,
            auth,
            auth_required: true,
            faults: FaultConfig::default(),
        }
    }

    /// No records, the TEST-ONLY key of [`test_keys`], auth required.
    pub fn builtin() -> Result<Self, EmulatorError> {
        Ok(Self::new(Vec::new(), test_keys::settings()?))
    }

    /// [`Config::builtin`] with the records of a Bundle or array file preloaded.
    pub fn from_file(path: &Path) -> Result<Self, EmulatorError> {
        let mut config = Self::builtin()?;
        config.records = load_records(path)?;
        Ok(config)
    }
}

/// A started emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningEmulator {
    /// `http://127.0.0.1:PORT`: the platform base URL; the API and the token endpoint hang off it.
    pub base_url: String,
    /// `base_url` + the base path (`…/immunisation-fhir-api/FHIR/R4`).
    pub imms_base_url: String,
    /// `base_url` + `/oauth2/token`: also the `aud` client assertions must carry.
    pub token_url: String,
    pub addr: SocketAddr,
    server: pds_emulator::server::Background,
}

impl RunningEmulator {
    /// Stops accepting connections and waits for the server task to finish.
    pub async fn shutdown(self) {
        self.server.stop().await;
    }
}

/// A store holding `records`; an entry that cannot be stored is an error naming it.
pub(crate) fn initial_store(records: &[Value]) -> Result<store::Store, DataError> {
    let mut store = store::Store::default();
    for (index, record) in records.iter().enumerate() {
        let facts = records::facts(record).map_err(|reason| DataError::Entry {
            origin: "Config.records".into(),
            index,
            reason,
        })?;
        store.preload(record.clone(), facts);
    }
    Ok(store)
}

/// Binds, then serves in a background task. Returns once the port is bound, so the URLs are usable at once.
pub async fn spawn(config: Config) -> Result<RunningEmulator, EmulatorError> {
    let base_path = pds_emulator::server::normalise_base_path(&config.base_path, DEFAULT_BASE_PATH)
        .map_err(EmulatorError::Config)?;
    config.faults.validate().map_err(|e| EmulatorError::Config(format!("faults: {e}")))?;
    let store = initial_store(&config.records)?;
    let requested = SocketAddr::new(config.host, config.port);
    let bind_error = |source| EmulatorError::Bind { addr: requested, source };
    let listener = TcpListener::bind(requested).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let origin = format!("http://{addr}");
    let state = Arc::new(routes::AppState {
        store: Mutex::new(store),
        initial: config.records,
        authority: pds_emulator::auth::Authority::new(config.auth),
        auth_required: config.auth_required,
        faults: Mutex::new(pds_emulator::faults::Faults::new(config.faults)),
        compat: Mutex::new(compat::Compat::default()),
        log: log::RequestLog::default(),
        base_path: base_path.clone(),
        origin: origin.clone(),
    });
    let app = routes::router(state);
    let server = pds_emulator::server::Background::serve(listener, app, "Immunisations");
    Ok(RunningEmulator {
        imms_base_url: format!("{origin}{base_path}"),
        token_url: format!("{origin}/oauth2/token"),
        base_url: origin,
        addr,
        server,
    })
}

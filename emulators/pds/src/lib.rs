//! A local stand-in for the NHS **PDS FHIR R4** API (`GET /Patient/{id}`, `GET /Patient?…`) and the API platform's
//! **token endpoint** (`POST /oauth2/token`, signed-JWT client credentials), served over real HTTP so clients are
//! tested through their real HTTP stack. Test controls live under `/_emulator/` (faults, request log, data).
//!
//! ```no_run
//! # async fn demo() -> Result<(), pds_emulator::EmulatorError> {
//! let emulator = pds_emulator::spawn(pds_emulator::Config::builtin()?).await?;
//! // point the client at emulator.base_url (the `nhs_api.base_url` equivalent)
//! # Ok(()) }
//! ```
//! See the crate README for endpoints, the data-file format and the CLI.

pub mod auth;
pub mod faults;
pub mod log;
pub mod nhs_number;
pub mod outcome;
mod routes;
pub mod search;
pub mod server;
pub mod store;
pub mod test_keys;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};

use tokio::net::TcpListener;

pub use auth::{AuthSettings, KeyError, KeySet};
pub use faults::FaultConfig;
pub use store::{DataError, Dataset};

/// Where PDS lives under the platform's base URL.
pub const DEFAULT_BASE_PATH: &str = "/personal-demographics/FHIR/R4";

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
    /// Path prefix of the PDS routes; `""` serves them at the root.
    pub base_path: String,
    pub dataset: Dataset,
    /// Token-endpoint settings. The token endpoint always works; `auth_required` decides whether PDS routes
    /// demand its tokens.
    pub auth: AuthSettings,
    /// Off = the sandbox's behaviour (no `Authorization` needed), which is how Mavis runs in development and test.
    pub auth_required: bool,
    /// Faults active from the start (usually none; tests set them at runtime).
    pub faults: FaultConfig,
}

impl Config {
    /// 127.0.0.1 on a free port, default base path, auth required, no faults.
    pub fn new(dataset: Dataset, auth: AuthSettings) -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            base_path: DEFAULT_BASE_PATH.to_owned(),
            dataset,
            auth,
            auth_required: true,
            faults: FaultConfig::default(),
        }
    }

    /// The shipped data (`data/patients.json`) with the TEST-ONLY key of [`test_keys`].
    pub fn builtin() -> Result<Self, EmulatorError> {
        Ok(Self::new(Dataset::builtin()?, test_keys::settings()?))
    }
}

/// A started emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningEmulator {
    /// `http://127.0.0.1:PORT`: the platform base URL (Mavis's `nhs_api.base_url`); PDS and the token endpoint
    /// hang off it.
    pub base_url: String,
    /// `base_url` + the PDS base path.
    pub pds_base_url: String,
    /// `base_url` + `/oauth2/token`: also the `aud` client assertions must carry.
    pub token_url: String,
    pub addr: SocketAddr,
    server: crate::server::Background,
}

impl RunningEmulator {
    /// Stops accepting connections and waits for the server task to finish.
    pub async fn shutdown(self) {
        self.server.stop().await;
    }
}

/// Binds, then serves in a background task. Returns once the port is bound, so `base_url` is usable at once.
pub async fn spawn(config: Config) -> Result<RunningEmulator, EmulatorError> {
    let base_path = server::normalise_base_path(&config.base_path, DEFAULT_BASE_PATH).map_err(EmulatorError::Config)?;
    let requested = SocketAddr::new(config.host, config.port);
    let bind_error = |source| EmulatorError::Bind { addr: requested, source };
    let listener = TcpListener::bind(requested).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let origin = format!("http://{addr}");
    let dataset = Arc::new(config.dataset);
    let state = Arc::new(routes::AppState {
        dataset: RwLock::new(dataset.clone()),
        initial: dataset,
        authority: auth::Authority::new(config.auth),
        auth_required: config.auth_required,
        faults: Mutex::new(faults::Faults::new(config.faults)),
        log: log::RequestLog::default(),
        base_path: base_path.clone(),
        origin: origin.clone(),
    });
    let app = routes::router(state);
    let server = crate::server::Background::serve(listener, app, "PDS");
    Ok(RunningEmulator {
        pds_base_url: format!("{origin}{base_path}"),
        token_url: format!("{origin}/oauth2/token"),
        base_url: origin,
        addr,
        server,
    })
}

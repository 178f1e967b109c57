//! The fhir function in the local runner: the Immunisations API (by default the Imms emulator in this process, with
//! its signed-JWT auth on and the TEST-ONLY key), a durable embedded fhir queue, the worker that consumes it, and the
//! sweep that re-enqueues forgotten changes and due history searches (every few seconds here, every minute on AWS).
//!
//! `--imms-data FILE` preloads the emulator with Immunization resources (GP-recorded history); `--imms-url URL`
//! uses a real platform (auth from the `NHS_API_*` variables, rate from `MAVIS_IMMS_RATE_PER_SECOND`); `--no-imms`
//! leaves records unsynced (their markers stay, so a later run with the API syncs them).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use shared::cloud::PdsConfig;
use shared::consumer::polling;
use shared::domain::ReferenceData;
use shared::imms_sync::config::{IMMS_PATH, history_since_from_env, rate_from_env};
use shared::imms_sync::invocation::{self, SyncMessages};
use shared::imms_sync::{ImmsSync, SyncSettings};
use shared::nhs_api::{ApiPlatformAuth, AuthConfig, ImmsClient};
use shared::ports::{Queue, RecordStore};

/// How often the runner sweeps, and how old a marker must be to be re-enqueued.
const SWEEP_EVERY: Duration = Duration::from_secs(10);
const SWEEP_AFTER_SECONDS: i64 = 30;
const MAX_RECEIVES: u32 = 8;
/// Requests a second against the local emulator.
const EMULATOR_RATE_PER_SECOND: u32 = 20;

/// The `serve` flags this module reads.
pub struct ImmsFlags<'a> {
    pub data: Option<&'a Path>,
    pub url: Option<&'a str>,
    pub off: bool,
}

/// What `serve` keeps: the queue the API tells at once, the emulator (dropping it stops it), a banner line.
pub struct Started {
    pub queue: Option<Arc<dyn Queue>>,
    #[allow(dead_code)] // held, not read: dropping it stops the emulator
    pub emulator: Option<imms_emulator::RunningEmulator>,
    pub banner: String,
}

pub async fn start(
    flags: ImmsFlags<'_>,
    records: Arc<dyn RecordStore>,
    reference: Arc<ReferenceData>,
    data_dir: &Path,
) -> anyhow::Result<Started> {
    if flags.off {
        return Ok(Started {
            queue: None,
            emulator: None,
            banner: "off (--no-imms): vaccinations wait unsynced".into(),
        });
    }
    let http = shared::cloud::http_client()?;
    let (client, emulator, rate, banner) = match flags.url {
        Some(url) => {
            let base = url.trim().trim_end_matches('/');
            let base = base.strip_suffix(IMMS_PATH).unwrap_or(base).to_owned();
            let auth = PdsConfig::for_base_url(&base).await.context("--imms-url")?.auth;
            let client = ImmsClient::new(format!("{base}{IMMS_PATH}"), auth, http);
            let banner = format!("{base}{IMMS_PATH}");
            (client, None, rate_from_env()?, banner)
        }
        None => {
            let (config, source) = match flags.data {
                Some(path) => (
                    imms_emulator::Config::from_file(path)
                        .with_context(|| format!("--imms-data {}", path.display()))?,
                    path.display().to_string(),
                ),
                None => (imms_emulator::Config::builtin()?, "no records".to_owned()),
            };
            let emulator = imms_emulator::spawn(config).await.context("cannot start the Imms emulator")?;
            let auth = ApiPlatformAuth::signed(
                AuthConfig {
                    token_url: emulator.token_url.clone(),
                    api_key: imms_emulator::test_keys::TEST_API_KEY.to_owned(),
                    private_key_pem: imms_emulator::test_keys::TEST_PRIVATE_KEY_PEM.to_owned(),
                    kid: imms_emulator::test_keys::TEST_KID.to_owned(),
                },
                http.clone(),
            )?;
            let client = ImmsClient::new(emulator.imms_base_url.clone(), auth, http);
            let banner = format!("emulator at {} ({source}, TEST-ONLY key)", emulator.imms_base_url);
            (client, Some(emulator), EMULATOR_RATE_PER_SECOND, banner)
        }
    };
    let queue: Arc<dyn Queue> = super::open_queue(&data_dir.join("fhir.sqlite"), MAX_RECEIVES).await?;
    let sync = ImmsSync {
        records,
        client,
        reference,
        settings: SyncSettings {
            requests_per_second: rate,
            history_since: history_since_from_env()?,
            sweep_after: chrono::Duration::seconds(SWEEP_AFTER_SECONDS),
            ..SyncSettings::default()
        },
    };
    let settings = invocation::consumer_settings().with_max_receives(Some(MAX_RECEIVES));
    tokio::spawn(polling::run_forever(Arc::new(SyncMessages(sync.clone())), queue.clone(), settings));
    tokio::spawn(sweep(sync, queue.clone()));
    Ok(Started { queue: Some(queue), emulator, banner })
}

/// The EventBridge schedule.
async fn sweep(sync: ImmsSync, queue: Arc<dyn Queue>) {
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        if let Err(e) = sync.sweep(queue.as_ref(), sync.settings.clock.now()).await {
            tracing::error!(error = %e, "fhir sweep failed");
        }
    }
}

/// `--imms-data` as a path, for the flag's type.
pub fn data_path(paths: &Option<PathBuf>) -> Option<&Path> {
    paths.as_deref()
}

//! `mavis serve`: every function in one process on the embedded adapters.
//!
//! - the API Router (the same one the api function serves on AWS) at http://127.0.0.1:PORT
//! - signed upload URLs served by the folder object store, each stored upload becoming an ObjectCreated event
//! - a drops folder (`DATA/drops/{ODS}/file.csv`) that behaves as a CHIS bulk drop
//! - the events go through a durable embedded queue (retries, dead letters) to the import pipeline
//! - the pds function: staged rows go to a second durable embedded queue, consumed here as Lambda would (paced PDS
//!   searches, then the commit, then the GET refresh of the import's patients)
//! - PDS: by default the PDS emulator, in this process on a free 127.0.0.1 port, with its demo patients and its
//!   signed-JWT auth switched on (the emulator's TEST-ONLY key); `--pds-data FILE` swaps the patients,
//!   `--pds-url URL` uses a real environment (auth from the `NHS_API_*` variables), `--no-pds` skips the step

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use shared::adapters::embedded_queue::EmbeddedQueue;
use shared::adapters::folder_object_store::{FolderObjectStore, ObjectStored, upload_router};
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::cloud::PdsConfig;
use shared::consumer::polling;
use shared::nhs_api::{ApiPlatformAuth, AuthConfig, PdsClient};
use shared::pipeline::pds_queue::{self, PdsMessages};
use shared::pipeline::{PdsSettings, Pipeline, PipelineSettings, invocation};
use shared::ports::{ObjectStore, Queue, RecordStore};
use shared::web::auth::LocalIssuer;
use shared::web::auth::local_provider::LocalProvider;
use shared::web::{AppState, OidcClient, OidcSettings, WebSettings};

mod drops;
mod fhir_worker;

#[derive(Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0: any free port; the address is printed).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Where data is kept between runs.
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Reference data; the bundled demo seed by default.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Fix "today" (academic years, year groups), e.g. to try a fixture at its own date.
    #[arg(long)]
    today: Option<chrono::NaiveDate>,
    /// Patients for the built-in PDS emulator instead of its demo patients: a FHIR Bundle of Patient resources
    /// (see the README). Repeat it to overlay files in order.
    #[arg(long = "pds-data", value_name = "FILE", conflicts_with_all = ["pds_url", "no_pds"])]
    pds_data: Vec<PathBuf>,
    /// Use this NHS API platform (e.g. https://int.api.service.nhs.uk, or its PDS URL) instead of the emulator;
    /// auth from NHS_API_KEY, NHS_API_PRIVATE_KEY_PEM, NHS_API_KID (or NHS_API_DISABLE_AUTHENTICATION=true).
    #[arg(long = "pds-url", value_name = "URL", conflicts_with = "no_pds")]
    pds_url: Option<String>,
    /// Import without the PDS search step.
    #[arg(long = "no-pds")]
    no_pds: bool,
    /// Immunization resources (a Bundle or array) preloaded into the built-in Imms emulator: GP-recorded history.
    #[arg(long = "imms-data", value_name = "FILE", conflicts_with_all = ["imms_url", "no_imms"])]
    imms_data: Option<PathBuf>,
    /// Use this NHS API platform's Immunisations API instead of the emulator (auth as for --pds-url).
    #[arg(long = "imms-url", value_name = "URL", conflicts_with = "no_imms")]
    imms_url: Option<String>,
    /// Do not sync vaccinations to the Immunisations API.
    #[arg(long = "no-imms")]
    no_imms: bool,
    /// Sign the pages in with this OpenID Connect provider (its issuer URL) instead of the runner's own, as AWS does
    /// with CIS2; the client secret, if any, comes from MAVIS_OIDC_CLIENT_SECRET.
    #[arg(long = "oidc-issuer", value_name = "URL")]
    oidc_issuer: Option<String>,
    /// The client id this runner is registered with at --oidc-issuer.
    #[arg(long = "oidc-client-id", value_name = "ID", default_value = "mavis")]
    oidc_client_id: String,
    /// The largest file the upload pages take, in bytes (default 100 MiB).
    #[arg(long = "max-upload-bytes", value_name = "BYTES")]
    max_upload_bytes: Option<u64>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            port: 3000,
            data: crate::default_data_dir(),
            seed: None,
            today: None,
            pds_data: Vec::new(),
            pds_url: None,
            no_pds: false,
            imms_data: None,
            imms_url: None,
            no_imms: false,
            oidc_issuer: None,
            oidc_client_id: "mavis".into(),
            max_upload_bytes: None,
        }
    }
}

pub fn run(args: ServeArgs) -> ExitCode {
    shared::telemetry::init();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mavis serve: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Deliveries of one message before it goes to the dead letters (as the template's redrive policies).
const MAX_RECEIVES: u32 = 10;

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Bound first, so that `--port 0` gets a free port that nothing else can take before the signed upload URLs
    // (which name it) are made.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await.with_context(|| {
        format!("cannot listen on 127.0.0.1:{}; is something else running there? Use --port", args.port)
    })?;
    let port = listener.local_addr().context("the bound address")?.port();
    let data = args.data.clone();
    let new_folder = !data.exists();
    std::fs::create_dir_all(data.join("drops")).with_context(|| format!("cannot create {}", data.display()))?;
    if new_folder {
        // A folder made here holds uploaded files, the records and the signing keys: the owner's alone. A folder
        // that was there already keeps its mode (it may be shared); the files in it are 0600 anyway.
        restrict_to_owner(&data, 0o700)?;
    }

    // Held until the process has ended, however it ends (the kernel releases it then), and not dropped with this
    // function: the runtime's blocking tasks may still be writing to the folder after it returns.
    std::mem::forget(lock_data_folder(&data)?);

    let reference = shared::reference::load_or_demo(args.seed.as_deref())?;
    let records: Arc<dyn RecordStore> = Arc::new(SqliteRecordStore::open(&data.join("records.sqlite"))?);
    shared::store::reference::save(records.as_ref(), &reference).await?;
    let base_url = format!("http://127.0.0.1:{port}");
    let folder = Arc::new(FolderObjectStore::new(data.clone(), base_url.clone(), signing_key(&data)?));
    let objects: Arc<dyn ObjectStore> = folder.clone();
    let queue: Arc<dyn Queue> = open_queue(&data.join("object-events.sqlite"), MAX_RECEIVES).await?;
    let reference = Arc::new(reference);

    // Kept alive for as long as the runner serves: dropping it stops the emulator.
    let (pds, _emulator, pds_banner) = pds(&args).await?;
    // ---- pds function (its own queue, consumed in this process) ----
    let pds_queue: Arc<dyn Queue> = open_queue(&data.join("pds-queue.sqlite"), MAX_RECEIVES).await?;
    let pds = pds.map(|settings| settings.with_queue(pds_queue.clone()));
    // ---- end of pds function ----
    let pipeline = Pipeline {
        records: records.clone(),
        objects: objects.clone(),
        reference: reference.clone(),
        settings: PipelineSettings {
            today_override: args.today,
            pds,
            // The data folder is locked: claims under another id were left by a runner that has stopped.
            claimant: shared::store::claims::Claimant::Sole(uuid::Uuid::new_v4()),
            ..PipelineSettings::default()
        },
    };

    let imms_flags = fhir_worker::ImmsFlags {
        data: fhir_worker::data_path(&args.imms_data),
        url: args.imms_url.as_deref(),
        off: args.no_imms,
    };
    let imms = fhir_worker::start(imms_flags, records.clone(), reference.clone(), &data).await?;
    let issuer = LocalIssuer::load_or_create(&data)?;
    let settings = WebSettings {
        today_override: args.today,
        public_url: base_url.clone(),
        max_upload_bytes: args.max_upload_bytes.unwrap_or(shared::web::DEFAULT_MAX_UPLOAD_BYTES),
        ..WebSettings::default()
    };
    // Sign-in: the runner's own OpenID Connect provider (listing the seed's users), or one named on the command line;
    // the pages take the same code path either way.
    let provider = Arc::new(LocalProvider::new(
        &base_url,
        &args.oidc_client_id,
        Arc::new(LocalIssuer::load_or_create(&data)?),
        reference.clone(),
    ));
    let oidc = OidcClient::new(OidcSettings {
        issuer: args.oidc_issuer.clone().unwrap_or_else(|| provider.issuer_url().to_string()),
        client_id: args.oidc_client_id.clone(),
        client_secret: std::env::var("MAVIS_OIDC_CLIENT_SECRET").ok().filter(|s| !s.is_empty()),
        redirect_url: provider.redirect_url().to_string(),
    })
    .context("--oidc-issuer")?;
    let sign_in_banner = match &args.oidc_issuer {
        Some(issuer) => format!("{issuer} (client {})", args.oidc_client_id),
        None => format!("{} (choose a seed user)", provider.issuer_url()),
    };
    // The pages and the API follow the stored reference data as the api function does (re-read every 5 minutes).
    let live = shared::reference::live::LiveReference::reloading(
        records.clone(),
        (*reference).clone(),
        settings.now(),
        shared::reference::live::DEFAULT_TTL,
    );
    let mut state = AppState::new(records, objects, reference, issuer.authenticator(), settings)
        .with_live_reference(Arc::new(live))
        .with_local_issuer(issuer)
        .with_sign_in(oidc);
    if let Some(fhir_queue) = imms.queue.clone() {
        state = state.with_imms_queue(fhir_queue);
    }
    let events = queue.clone();
    let on_stored: Arc<dyn Fn(ObjectStored) + Send + Sync> = Arc::new(move |stored: ObjectStored| {
        let queue = events.clone();
        tokio::spawn(async move {
            let body = drops::notification(&stored.key, &stored.etag, stored.size);
            if let Err(e) = queue.send_batch(vec![body]).await {
                tracing::error!(error = %e, "could not queue an upload event");
            }
        });
    });
    let app = shared::web::app(state).merge(upload_router(folder.clone(), on_stored)).merge(provider.router());

    let dropped: Arc<dyn ObjectStore> = folder.clone();
    tokio::spawn(drops::watch(data.join("drops"), dropped, queue.clone()));
    if pipeline.settings.pds.is_some() {
        let settings = pds_queue::consumer_settings().with_max_receives(Some(MAX_RECEIVES));
        tokio::spawn(polling::run_forever(Arc::new(PdsMessages(pipeline.clone())), pds_queue, settings));
        tokio::spawn(shared::pipeline::pds_queue::schedule::run_on_schedule(pipeline.clone()));
    }
    tokio::spawn(shared::pipeline::aged_out::run_on_schedule(pipeline.clone()));
    let settings = invocation::consumer_settings().with_max_receives(Some(MAX_RECEIVES));
    tokio::spawn(polling::run_forever(Arc::new(invocation::ObjectEvents(pipeline)), queue, settings));

    println!("Mavis is running at {base_url}");
    println!("  sign in:              {sign_in_banner}");
    println!("  a token for the API:  cargo run -- token --user nurse@example.com");
    println!("  CHIS drops folder:    {}/{{ODS code}}/", data.join("drops").display());
    println!("  PDS:                  {pds_banner}");
    println!("  Immunisations API:    {}", imms.banner);
    axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

/// PDS requests a second against the local emulator.
const EMULATOR_RATE_PER_SECOND: u32 = 20;

/// The pipeline's PDS settings, the emulator (when one was started) and a line for the start-up banner.
async fn pds(args: &ServeArgs) -> anyhow::Result<(Option<PdsSettings>, Option<pds_emulator::RunningEmulator>, String)> {
    if args.no_pds {
        return Ok((None, None, "off (--no-pds): imports skip the PDS search step".to_owned()));
    }
    if let Some(url) = &args.pds_url {
        let config = PdsConfig::for_base_url(url).await.context("--pds-url")?;
        let banner = format!(
            "{} ({}, {} requests/s)",
            config.pds_base_url,
            if config.auth.is_disabled() { "no auth" } else { "signed-JWT auth from NHS_API_*" },
            config.requests_per_second
        );
        return Ok((Some(config.settings()), None, banner));
    }

    let (dataset, source) = if args.pds_data.is_empty() {
        (pds_emulator::Dataset::builtin()?, "demo patients".to_owned())
    } else {
        let dataset = pds_emulator::Dataset::from_files(&args.pds_data).context("--pds-data")?;
        let files: Vec<String> = args.pds_data.iter().map(|p| p.display().to_string()).collect();
        let source = format!("{} patients from {}", dataset.len(), files.join(", "));
        (dataset, source)
    };
    // Auth on, with the emulator's TEST-ONLY key, so imports take the real signed-JWT path. Local use only.
    let config = pds_emulator::Config::new(dataset, pds_emulator::test_keys::settings()?);
    let emulator = pds_emulator::spawn(config).await.context("cannot start the PDS emulator")?;
    let http = shared::cloud::http_client()?;
    let auth = ApiPlatformAuth::signed(
        AuthConfig {
            token_url: emulator.token_url.clone(),
            api_key: pds_emulator::test_keys::TEST_API_KEY.to_owned(),
            private_key_pem: pds_emulator::test_keys::TEST_PRIVATE_KEY_PEM.to_owned(),
            kid: pds_emulator::test_keys::TEST_KID.to_owned(),
        },
        http.clone(),
    )?;
    let client = PdsClient::new(emulator.pds_base_url.clone(), auth, http);
    let mut settings = PdsSettings::for_client(Arc::new(client));
    settings.requests_per_second = EMULATOR_RATE_PER_SECOND;
    let banner = format!("emulator at {} ({source}, TEST-ONLY key)", emulator.pds_base_url);
    Ok((Some(settings), Some(emulator), banner))
}

/// The key that signs upload URLs, kept in the data folder so that URLs survive a restart.
fn signing_key(data: &Path) -> anyhow::Result<[u8; 32]> {
    let path = data.join("upload-signing.key");
    if let Ok(bytes) = std::fs::read(&path)
        && let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice())
    {
        return Ok(key);
    }
    let key: [u8; 32] = rand::random();
    std::fs::write(&path, key).with_context(|| format!("cannot write {}", path.display()))?;
    restrict_to_owner(&path, 0o600)?;
    Ok(key)
}

/// One runner per data folder, so that at start-up every delivery its queues hold belongs to a runner that has
/// stopped (see [`open_queue`]).
fn lock_data_folder(data: &Path) -> anyhow::Result<std::fs::File> {
    let path = data.join("serve.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another mavis serve is using {}; stop it, or give this one its own folder with --data",
            data.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
}

/// One of the runner's queues, with the deliveries of the runner that used it last made visible again: that
/// runner has stopped (the data folder is locked), so its work resumes now rather than after each message's
/// two-minute hold.
pub(crate) async fn open_queue(path: &Path, max_receive_count: u32) -> anyhow::Result<Arc<EmbeddedQueue>> {
    let queue = EmbeddedQueue::open(path, max_receive_count).await?;
    let resumed = queue.release_deliveries().await?;
    if resumed > 0 {
        let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or("queue");
        tracing::info!(queue = name, resumed, "resuming work left by the previous run");
    }
    Ok(Arc::new(queue))
}

/// `mode` on a file or folder of the runner's data (Unix; elsewhere a no-op).
fn restrict_to_owner(path: &Path, mode: u32) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot restrict {} to its owner", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}

//! What every emulator here does the same way: serve a router in the background until told to stop, and check the
//! base path its routes hang off. The Immunisations emulator uses this too.

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A router served in a background task. Dropping it stops the server; [`Background::stop`] also waits for it.
#[derive(Debug)]
pub struct Background {
    pub handle: JoinHandle<()>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Background {
    /// Serves `app` on the bound `listener`; `name` is only for the log line if the server fails.
    pub fn serve(listener: TcpListener, app: Router, name: &'static str) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!(%error, emulator = name, "emulator stopped");
            }
        });
        Self { handle, shutdown: Some(stop) }
    }

    /// Stops accepting connections and waits for the server task to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.handle).await;
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
    }
}

/// `""`/`"/"` → `""`; otherwise a leading slash, no trailing slash, and no characters axum treats as route syntax.
/// The error says what the path should look like (`example`).
pub fn normalise_base_path(path: &str, example: &str) -> Result<String, String> {
    let trimmed = path.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if !trimmed.starts_with('/') || trimmed.contains(['{', '}', '*', '?', '#']) || trimmed.contains("//") {
        return Err(format!("base path {path:?} must look like {example}"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::normalise_base_path;

    #[test]
    fn base_paths() {
        let example = "/pds/R4";
        assert_eq!(normalise_base_path("/", example).unwrap(), "");
        assert_eq!(normalise_base_path("/pds/R4/", example).unwrap(), "/pds/R4");
        assert!(normalise_base_path("pds", example).unwrap_err().contains("/pds/R4"));
        assert!(normalise_base_path("/{id}", example).is_err());
    }
}

/// The command-line emulators' shared start and stop: logs to stderr (RUST_LOG, default info), then
/// [`announce_and_wait`].
pub fn init_cli_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
}

/// Prints `line` (the emulator's URLs, one JSON line that test harnesses read) and waits for Ctrl-C or SIGTERM.
/// False when stdout is gone, so there is nobody to serve.
pub async fn announce_and_wait(line: &serde_json::Value) -> bool {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}").and_then(|()| stdout.flush()).is_err() {
        return false;
    }
    drop(stdout);
    wait_for_stop().await;
    true
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

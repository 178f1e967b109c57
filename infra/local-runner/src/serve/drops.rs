//! The local drops folder: a file that appears under `drops/{ODS}/` and stops growing becomes an ObjectCreated
//! event, as a CHIS bulk drop into the bucket would on AWS.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use shared::ports::{ObjectStore, Queue};

const POLL: Duration = Duration::from_millis(500);

/// An S3-shaped ObjectCreated notification for the local bucket.
pub fn notification(key: &str, etag: &str, size: u64) -> String {
    let encoded: String = key.split('/').map(percent_encode).collect::<Vec<_>>().join("/");
    serde_json::json!({
        "Records": [{
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Put",
            "s3": { "bucket": { "name": "local" }, "object": { "key": encoded, "eTag": etag, "size": size } }
        }]
    })
    .to_string()
}

fn percent_encode(part: &str) -> String {
    part.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(PartialEq, Clone, Copy)]
struct Seen {
    size: u64,
    modified: SystemTime,
    queued: bool,
}

pub async fn watch(folder: PathBuf, objects: Arc<dyn ObjectStore>, queue: Arc<dyn Queue>) {
    let mut seen: HashMap<PathBuf, Seen> = HashMap::new();
    loop {
        for (path, size, modified) in files(&folder) {
            let previous = seen.get(&path).copied();
            let stable = previous.is_some_and(|p| p.size == size && p.modified == modified);
            let queued = previous.is_some_and(|p| p.queued && p.size == size && p.modified == modified);
            let mut now_queued = queued;
            if stable && !queued {
                now_queued = queue_drop(&folder, &path, objects.as_ref(), queue.as_ref()).await;
            }
            seen.insert(path, Seen { size, modified, queued: now_queued });
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn queue_drop(folder: &Path, path: &Path, objects: &dyn ObjectStore, queue: &dyn Queue) -> bool {
    let Ok(relative) = path.strip_prefix(folder) else {
        return false;
    };
    let key = format!("drops/{}", relative.to_string_lossy().replace('\\', "/"));
    match objects.head(&key).await {
        Ok(info) => match queue.send_batch(vec![notification(&key, &info.etag, info.size)]).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "cannot queue a dropped file");
                false
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "cannot read a dropped file");
            false
        }
    }
}

/// Files two levels down (`{ODS}/{file}`), skipping hidden and temporary files.
fn files(folder: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let mut found = Vec::new();
    let Ok(teams) = std::fs::read_dir(folder) else {
        return found;
    };
    for team in teams.flatten().filter(|e| e.path().is_dir()) {
        let Ok(entries) = std::fs::read_dir(team.path()) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || name.ends_with(".tmp") || name.ends_with(".part") {
                continue;
            }
            if let Ok(meta) = entry.metadata()
                && meta.is_file()
            {
                found.push((entry.path(), meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
            }
        }
    }
    found
}

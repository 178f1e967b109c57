//! The log of requests received, for assertions such as "exactly 3 PDS requests, the first with
//! `address-postalcode=SW1A 1AA`". Admin (`/_emulator/…`) calls are not logged.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One request as received (query values percent-decoded, repeated keys kept in order) and the status answered.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// The raw query string, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_string: Option<String>,
    pub time: DateTime<Utc>,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

/// A long-running emulator (the local runner) must not grow without bound; tests clear the log long before this.
const MAX_ENTRIES: usize = 10_000;

/// A bounded log; generic so other emulators (the Immunisations one) can keep their own entry type.
#[derive(Debug)]
pub struct RequestLog<T = LoggedRequest> {
    entries: Mutex<VecDeque<T>>,
}

impl<T> Default for RequestLog<T> {
    fn default() -> Self {
        Self { entries: Mutex::new(VecDeque::new()) }
    }
}

impl<T: Clone> RequestLog<T> {
    /// Appends, dropping the oldest entry beyond `MAX_ENTRIES`.
    pub fn push(&self, entry: T) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() == MAX_ENTRIES {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// Entries that pass `keep`, oldest first.
    pub fn snapshot_where(&self, keep: impl Fn(&T) -> bool) -> Vec<T> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.iter().filter(|e| keep(e)).cloned().collect()
    }

    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
    }
}

impl RequestLog<LoggedRequest> {
    /// Entries whose path starts with `prefix` (all when `None`), oldest first.
    pub(crate) fn snapshot(&self, prefix: Option<&str>) -> Vec<LoggedRequest> {
        self.snapshot_where(|e| prefix.is_none_or(|p| e.path.starts_with(p)))
    }
}

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

#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: Mutex<VecDeque<LoggedRequest>>,
}

impl RequestLog {
    /// Appends, dropping the oldest entry beyond `MAX_ENTRIES`.
    pub(crate) fn push(&self, entry: LoggedRequest) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() == MAX_ENTRIES {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// Entries whose path starts with `prefix` (all when `None`), oldest first.
    pub(crate) fn snapshot(&self, prefix: Option<&str>) -> Vec<LoggedRequest> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.iter().filter(|e| prefix.is_none_or(|p| e.path.starts_with(p))).cloned().collect()
    }

    pub(crate) fn clear(&self) {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
    }
}

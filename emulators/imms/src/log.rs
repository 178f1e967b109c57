//! What the emulator received, for assertions such as "one PUT with `E-Tag: 1` and this body". Kept in the PDS
//! emulator's bounded [`pds_emulator::log::RequestLog`]; admin (`/_emulator/…`) calls are not logged.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// One request as received (query values percent-decoded, in order) and the status answered.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedCall {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_string: Option<String>,
    pub time: DateTime<Utc>,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Whether an `Authorization` header was sent (the token itself is not kept).
    pub authorization: bool,
    /// The JSON body; a body that is not JSON is kept as a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

pub type RequestLog = pds_emulator::log::RequestLog<LoggedCall>;

//! The PDS FHIR R4 client (nhs-apis.md §1, §2.3): GET a patient by NHS number and the application-restricted
//! search, with every PDS outcome Mavis acts on turned into a variant of [`SearchResult`] or [`PdsError`].
//!
//! Retries and throttling belong to the caller (the job runner, as in Mavis); this client only says whether a
//! failure is transient ([`PdsError::is_transient`]) and lets a retry reuse its `X-Request-ID` ([`RequestIds`]),
//! which PDS uses to de-duplicate.

use std::time::Duration;

use chrono::NaiveDate;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, HeaderMap, RETRY_AFTER};
use serde_json::Value;

use super::auth::{ApiPlatformAuth, AuthError};
use super::outcome::{first_diagnostics, issue_codes};
use super::patient::PdsPatient;

const FHIR_JSON: &str = "application/fhir+json";
/// Query values are encoded like JavaScript's `encodeURIComponent`: PDS wants wildcards sent as `%2A`.
pub(crate) const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// What went wrong with a PDS call. Messages carry codes and statuses only, never personal data.
#[derive(Debug, thiserror::Error)]
pub enum PdsError {
    /// 400 `INVALID_RESOURCE_ID` (or a number that is not 10 digits, refused before sending).
    #[error("PDS: invalid NHS number")]
    InvalidNhsNumber,
    /// 404 `INVALIDATED_RESOURCE`: the record was invalidated and not superseded.
    #[error("PDS: the NHS number has been invalidated")]
    Invalidated,
    /// 404 `RESOURCE_NOT_FOUND`.
    #[error("PDS: no patient with that NHS number")]
    NotFound,
    /// 400 `INVALID_SEARCH_DATA`, `MISSING_VALUE`, `INVALID_VALUE`, `ADDITIONAL_PROPERTIES`, `UNSUPPORTED_SERVICE`,
    /// or 403 `INVALID_VALUE` (more than one result asked for). `diagnostics` may echo query values: not in
    /// `Display`, so do not log it.
    #[error("PDS rejected the search ({code})")]
    InvalidSearch { code: String, diagnostics: Option<String> },
    /// 429. PDS's proxy does not set `Retry-After`, so callers must back off without it.
    #[error("PDS rate limit exceeded")]
    RateLimited { retry_after: Option<Duration> },
    /// 5xx, 408 or no answer at all (connection error, timeout): retry later with the same request id.
    #[error("PDS unavailable ({})", .status.map_or("no response".to_owned(), |s| format!("HTTP {s}")))]
    Unavailable { status: Option<u16>, retry_after: Option<Duration> },
    /// 401 or 403 `ACCESS_DENIED`: the token was refused or the app is not allowed.
    #[error("PDS refused access (HTTP {status})")]
    Unauthorized { status: u16 },
    /// No access token could be obtained.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Anything else: an unknown code, or a body that is not what PDS sends.
    #[error("unexpected PDS response: {0}")]
    Unexpected(String),
}

impl PdsError {
    /// Whether the same request may succeed later (Mavis retries these; everything else is final).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Unavailable { .. } => true,
            Self::Auth(auth) => auth.is_transient(),
            _ => false,
        }
    }
}

/// A search as Mavis sends it (§2.3). Blank values and `false` flags are left out of the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdsSearch {
    /// May end in `*` after at least two characters.
    pub family: String,
    /// The whole given-name string, sent as one `given` value.
    pub given: String,
    pub birthdate: NaiveDate,
    pub postcode: Option<String>,
    /// `_history=true`: also match previous names and addresses.
    pub history: bool,
    /// `_fuzzy-match=true`.
    pub fuzzy: bool,
    /// `_max-results`; application-restricted apps may only ask for 1.
    pub max_results: Option<u8>,
}

impl PdsSearch {
    /// The query pairs in the order Mavis sends them.
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = vec![
            ("family", self.family.trim().to_owned()),
            ("given", self.given.trim().to_owned()),
            ("birthdate", format!("eq{}", self.birthdate.format("%Y-%m-%d"))),
            ("address-postalcode", self.postcode.as_deref().unwrap_or_default().trim().to_owned()),
        ];
        if self.history {
            query.push(("_history", "true".into()));
        }
        if self.fuzzy {
            query.push(("_fuzzy-match", "true".into()));
        }
        if let Some(max) = self.max_results {
            query.push(("_max-results", max.to_string()));
        }
        query.retain(|(_, value)| !value.is_empty());
        query
    }
}

/// The three outcomes of an application-restricted search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchResult {
    NoMatch,
    OneMatch(PdsPatient),
    /// PDS's 200 `TOO_MANY_MATCHES` OperationOutcome (or, defensively, a Bundle with several entries).
    TooManyMatches,
}

/// `X-Request-ID` and `X-Correlation-ID` of one logical request. Keep and pass the same value when retrying,
/// so PDS can de-duplicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIds {
    pub request_id: uuid::Uuid,
    pub correlation_id: String,
}

impl RequestIds {
    /// A fresh request id; the correlation id is a fresh UUID too (callers with a trace id should set their own).
    pub fn new() -> Self {
        Self { request_id: uuid::Uuid::new_v4(), correlation_id: uuid::Uuid::new_v4().to_string() }
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

/// A PDS client. Cheap to clone; share one per process with the same [`ApiPlatformAuth`] as the other clients.
#[derive(Debug, Clone)]
pub struct PdsClient {
    base_url: String,
    auth: ApiPlatformAuth,
    http: reqwest::Client,
}

impl PdsClient {
    /// `base_url` is PDS's root, e.g. `https://api.service.nhs.uk/personal-demographics/FHIR/R4`.
    pub fn new(base_url: impl Into<String>, auth: ApiPlatformAuth, http: reqwest::Client) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        Self { base_url, auth, http }
    }

    /// GET `/Patient/{nhs_number}`. A superseded number answers with the record that replaced it: compare with
    /// [`PdsPatient::superseded_by`].
    pub async fn get_patient(&self, nhs_number: &str) -> Result<PdsPatient, PdsError> {
        self.get_patient_with_ids(nhs_number, &RequestIds::new()).await
    }

    /// [`Self::get_patient`] with the caller's request ids (for a retry).
    pub async fn get_patient_with_ids(&self, nhs_number: &str, ids: &RequestIds) -> Result<PdsPatient, PdsError> {
        let nhs_number = nhs_number.trim();
        // Also keeps anything but digits out of the URL path.
        if nhs_number.len() != 10 || !nhs_number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PdsError::InvalidNhsNumber);
        }
        let url = format!("{}/Patient/{nhs_number}", self.base_url);
        let body = self.send(url, ids, Endpoint::Get).await?;
        PdsPatient::from_fhir(&body).map_err(|e| PdsError::Unexpected(e.to_string()))
    }

    /// GET `/Patient?…` as an application-restricted app.
    pub async fn search(&self, search: &PdsSearch) -> Result<SearchResult, PdsError> {
        self.search_with_ids(search, &RequestIds::new()).await
    }

    /// [`Self::search`] with the caller's request ids (for a retry).
    pub async fn search_with_ids(&self, search: &PdsSearch, ids: &RequestIds) -> Result<SearchResult, PdsError> {
        let query: Vec<String> = search
            .query()
            .into_iter()
            .map(|(key, value)| format!("{key}={}", utf8_percent_encode(&value, QUERY_VALUE)))
            .collect();
        let url = format!("{}/Patient?{}", self.base_url, query.join("&"));
        let body = self.send(url, ids, Endpoint::Search).await?;
        search_result(&body)
    }

    /// Sends one GET and returns the JSON body of a 200, or the mapped error.
    async fn send(&self, url: String, ids: &RequestIds, endpoint: Endpoint) -> Result<Value, PdsError> {
        let mut request = self
            .http
            .get(url)
            .header(ACCEPT, FHIR_JSON)
            .header("X-Request-ID", ids.request_id.to_string())
            .header("X-Correlation-ID", &ids.correlation_id);
        if let Some(token) = self.auth.access_token().await? {
            request = request.bearer_auth(token.secret());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                // The URL holds the NHS number or search terms, so it is left out of the log.
                tracing::warn!(request_id = %ids.request_id, error = %error.without_url(), "PDS request failed");
                return Err(PdsError::Unavailable { status: None, retry_after: None });
            }
        };
        let status = response.status();
        tracing::debug!(request_id = %ids.request_id, status = status.as_u16(), "PDS response");
        let retry_after = retry_after(response.headers());
        let body: Option<Value> = response.json().await.ok();
        if status == StatusCode::OK {
            return body.ok_or_else(|| PdsError::Unexpected("HTTP 200 without a JSON body".into()));
        }
        if status == StatusCode::UNAUTHORIZED {
            self.auth.forget_token().await;
        }
        Err(map_error(status, body.as_ref(), retry_after, endpoint))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Get,
    Search,
}

/// Maps a non-200 answer by status first and then by PDS's error code (§1.5).
fn map_error(status: StatusCode, body: Option<&Value>, retry_after: Option<Duration>, endpoint: Endpoint) -> PdsError {
    let codes = body.map(issue_codes).unwrap_or_default();
    let has = |code: &str| codes.contains(&code);
    let code = status.as_u16();
    let unexpected =
        || PdsError::Unexpected(format!("HTTP {code} {}", codes.first().copied().unwrap_or("without a code")));
    match code {
        429 => PdsError::RateLimited { retry_after },
        408 | 500..=599 => PdsError::Unavailable { status: Some(code), retry_after },
        404 if has("INVALIDATED_RESOURCE") => PdsError::Invalidated,
        404 if has("RESOURCE_NOT_FOUND") => PdsError::NotFound,
        400 if has("INVALID_RESOURCE_ID") => PdsError::InvalidNhsNumber,
        400 | 403 if endpoint == Endpoint::Search => match codes.iter().find(|c| SEARCH_CODES.contains(c)) {
            Some(found) if code == 400 || *found == "INVALID_VALUE" => {
                PdsError::InvalidSearch { code: (*found).to_owned(), diagnostics: body.and_then(first_diagnostics) }
            }
            _ if code == 403 => PdsError::Unauthorized { status: code },
            _ => unexpected(),
        },
        401 | 403 => PdsError::Unauthorized { status: code },
        _ => unexpected(),
    }
}

/// Codes that mean "this search cannot be run as asked".
const SEARCH_CODES: [&str; 5] =
    ["INVALID_SEARCH_DATA", "MISSING_VALUE", "INVALID_VALUE", "ADDITIONAL_PROPERTIES", "UNSUPPORTED_SERVICE"];

/// Decodes a 200 search answer by `resourceType`: a Bundle, or the `TOO_MANY_MATCHES` OperationOutcome.
pub fn search_result(body: &Value) -> Result<SearchResult, PdsError> {
    match body.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => {
            let entries = body.get("entry").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            match entries {
                [] => Ok(SearchResult::NoMatch),
                [entry] => {
                    let resource = entry.get("resource").unwrap_or(&Value::Null);
                    PdsPatient::from_fhir(resource)
                        .map(SearchResult::OneMatch)
                        .map_err(|e| PdsError::Unexpected(format!("search entry: {e}")))
                }
                _ => Ok(SearchResult::TooManyMatches),
            }
        }
        Some("OperationOutcome") if issue_codes(body).contains(&"TOO_MANY_MATCHES") => Ok(SearchResult::TooManyMatches),
        Some("OperationOutcome") => Err(PdsError::Unexpected(format!(
            "HTTP 200 OperationOutcome {}",
            issue_codes(body).first().copied().unwrap_or("without a code")
        ))),
        _ => Err(PdsError::Unexpected("HTTP 200 search answer is neither a Bundle nor an OperationOutcome".into())),
    }
}

/// `Retry-After` in seconds (the only form PDS uses).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../../shared/fixtures/mavis/pds/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
    }

    fn search() -> PdsSearch {
        PdsSearch {
            family: "Clarke".into(),
            given: "Jennifer".into(),
            birthdate: NaiveDate::from_ymd_opt(2010, 1, 1).unwrap(),
            postcode: Some("SW1A 1AA".into()),
            history: true,
            fuzzy: false,
            max_results: None,
        }
    }

    #[test]
    fn query_drops_false_flags_and_blanks() {
        let query = search().query();
        let keys: Vec<_> = query.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["family", "given", "birthdate", "address-postalcode", "_history"]);
        assert_eq!(query[2].1, "eq2010-01-01");

        let bare = PdsSearch {
            given: " ".into(),
            postcode: None,
            history: false,
            fuzzy: true,
            max_results: Some(1),
            ..search()
        };
        let keys: Vec<_> = bare.query().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["family", "birthdate", "_fuzzy-match", "_max-results"]);
    }

    #[test]
    fn search_fixtures_decode() {
        assert!(
            matches!(search_result(&fixture("search-patients-response.json")), Ok(SearchResult::OneMatch(p)) if p.nhs_number == "9449306168")
        );
        assert_eq!(search_result(&fixture("search-patients-no-results-response.json")).unwrap(), SearchResult::NoMatch);
        assert_eq!(search_result(&fixture("too-many-matches.json")).unwrap(), SearchResult::TooManyMatches);
        assert_eq!(search_result(&json!({"resourceType": "Bundle", "total": 0})).unwrap(), SearchResult::NoMatch);
    }

    #[test]
    fn error_fixtures_map() {
        let map = |status: u16, name: &str, endpoint| {
            map_error(StatusCode::from_u16(status).unwrap(), Some(&fixture(name)), None, endpoint)
        };
        assert!(matches!(map(400, "invalid-nhs-number-response.json", Endpoint::Get), PdsError::InvalidNhsNumber));
        assert!(matches!(map(404, "invalid-patient-response.json", Endpoint::Get), PdsError::Invalidated));
        assert!(matches!(map(404, "not-found-patient-response.json", Endpoint::Get), PdsError::NotFound));
        assert!(
            matches!(map(400, "invalid-search-data.json", Endpoint::Search), PdsError::InvalidSearch { code, .. } if code == "INVALID_SEARCH_DATA")
        );
        assert!(matches!(
            map_error(StatusCode::BAD_GATEWAY, None, None, Endpoint::Get),
            PdsError::Unavailable { status: Some(502), .. }
        ));
        assert!(matches!(
            map_error(StatusCode::UNAUTHORIZED, None, None, Endpoint::Search),
            PdsError::Unauthorized { status: 401 }
        ));
        assert!(matches!(map_error(StatusCode::IM_A_TEAPOT, None, None, Endpoint::Get), PdsError::Unexpected(_)));
    }
}

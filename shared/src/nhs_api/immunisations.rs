//! The NHS Immunisations FHIR API client (nhs-apis.md §4, §10.6–§10.7): create, read, update, delete and search
//! Immunization resources, with the API's OperationOutcome answers turned into [`ImmsError`] variants.
//!
//! Retries and pacing belong to the caller (the fhir function); this client says whether a failure is transient
//! ([`ImmsError::is_transient`]) and lets a retry reuse its `X-Request-ID` ([`RequestIds`]).

use percent_encoding::utf8_percent_encode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, LOCATION};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::auth::{ApiPlatformAuth, AuthError};
use super::outcome::first_diagnostics;
use super::pds::{QUERY_VALUE, RequestIds};

const FHIR_JSON: &str = "application/fhir+json";
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// What went wrong with an Immunisations API call. `diagnostics` (the API's own text) may quote submitted values,
/// so it is kept out of `Display` and must not be logged.
#[derive(Debug, thiserror::Error)]
pub enum ImmsError {
    /// 429.
    #[error("Immunisations API rate limit exceeded")]
    RateLimited,
    /// 5xx, 408 or no answer: retry later with the same request id.
    #[error("Immunisations API unavailable ({})", .status.map_or("no response".to_owned(), |s| format!("HTTP {s}")))]
    Unavailable { status: Option<u16> },
    /// 422 `duplicate`: a live record already has this identifier.
    #[error("Immunisations API: a record with this identifier already exists")]
    Duplicate,
    /// 404: no such record, or it was deleted.
    #[error("Immunisations API: record not found")]
    NotFound,
    /// 400 on PUT because the sent `E-Tag` is not the stored version.
    #[error("Immunisations API: the record's version has changed")]
    VersionMismatch { diagnostics: Option<String> },
    /// Any other 400 (validation, bad parameters): final.
    #[error("Immunisations API rejected the request (HTTP {status})")]
    Rejected { status: u16, diagnostics: Option<String> },
    /// 401 or 403.
    #[error("Immunisations API refused access (HTTP {status})")]
    Unauthorized { status: u16 },
    /// A search Bundle holding an `error` or `fatal` OperationOutcome (nhs-apis.md §7.3).
    #[error("Immunisations API search answered with an error outcome")]
    OutcomeInBundle { diagnostics: Option<String> },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("unexpected Immunisations API response: {0}")]
    Unexpected(String),
}

impl ImmsError {
    /// Whether the same request may succeed later.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::RateLimited | Self::Unavailable { .. } => true,
            Self::Auth(auth) => auth.is_transient(),
            _ => false,
        }
    }

    /// The API's explanation, for the record's sync failure (never logged).
    pub fn diagnostics(&self) -> Option<&str> {
        match self {
            Self::VersionMismatch { diagnostics }
            | Self::Rejected { diagnostics, .. }
            | Self::OutcomeInBundle { diagnostics } => diagnostics.as_deref(),
            _ => None,
        }
    }
}

/// A record as the API holds it: its id and version (`E-Tag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub id: String,
    pub version: u64,
}

/// A search by patient: the Immunizations found, and the warnings the Bundle carried.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchBundle {
    pub immunizations: Vec<Value>,
    pub warnings: Vec<String>,
}

/// An Immunisations API client. Cheap to clone; share its [`ApiPlatformAuth`] with the PDS client.
#[derive(Debug, Clone)]
pub struct ImmsClient {
    base_url: String,
    auth: ApiPlatformAuth,
    http: reqwest::Client,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Option<Value>,
}

impl ImmsClient {
    /// `base_url` is the API's root, e.g. `https://api.service.nhs.uk/immunisation-fhir-api/FHIR/R4`.
    pub fn new(base_url: impl Into<String>, auth: ApiPlatformAuth, http: reqwest::Client) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        Self { base_url, auth, http }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// POST `/Immunization`: 201 with the id in `Location` and the version in `E-Tag` (1 when absent).
    pub async fn create(&self, immunization: &Value, ids: &RequestIds) -> Result<Stored, ImmsError> {
        let url = format!("{}/Immunization", self.base_url);
        let answer = self.send(Method::POST, url, Some(immunization), None, ids).await?;
        if answer.status != StatusCode::CREATED {
            return Err(map_error(&answer));
        }
        let location = answer.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let id = id_from_location(location)
            .ok_or_else(|| ImmsError::Unexpected("HTTP 201 without an Immunization id in Location".into()))?;
        Ok(Stored { id, version: etag(&answer.headers).unwrap_or(1) })
    }

    /// GET `/Immunization/{id}`: the resource and its version.
    pub async fn read(&self, id: &str, ids: &RequestIds) -> Result<(Value, u64), ImmsError> {
        let url = format!("{}/Immunization/{}", self.base_url, path_segment(id)?);
        let answer = self.send(Method::GET, url, None, None, ids).await?;
        if answer.status != StatusCode::OK {
            return Err(map_error(&answer));
        }
        let version = etag(&answer.headers).unwrap_or(1);
        let body = answer.body.ok_or_else(|| ImmsError::Unexpected("HTTP 200 without a JSON body".into()))?;
        Ok((body, version))
    }

    /// PUT `/Immunization/{id}` with the stored version; returns the new version from the answer's `E-Tag`
    /// (falling back to `version + 1` when the API leaves it out).
    pub async fn update(
        &self,
        id: &str,
        immunization: &Value,
        version: u64,
        ids: &RequestIds,
    ) -> Result<u64, ImmsError> {
        let url = format!("{}/Immunization/{}", self.base_url, path_segment(id)?);
        let answer = self.send(Method::PUT, url, Some(immunization), Some(version), ids).await?;
        if answer.status != StatusCode::OK {
            return Err(map_error(&answer));
        }
        Ok(etag(&answer.headers).unwrap_or(version + 1))
    }

    /// DELETE `/Immunization/{id}` (204). A record already deleted or unknown gives [`ImmsError::NotFound`].
    pub async fn delete(&self, id: &str, ids: &RequestIds) -> Result<(), ImmsError> {
        let url = format!("{}/Immunization/{}", self.base_url, path_segment(id)?);
        let answer = self.send(Method::DELETE, url, None, None, ids).await?;
        match answer.status {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
            _ => Err(map_error(&answer)),
        }
    }

    /// GET `/Immunization?identifier=system|value`: the live record with that supplier identifier, if any.
    pub async fn find_by_identifier(
        &self,
        system: &str,
        value: &str,
        ids: &RequestIds,
    ) -> Result<Option<Stored>, ImmsError> {
        let identifier = format!("{system}|{value}");
        let url = format!(
            "{}/Immunization?identifier={}&_elements=id,meta",
            self.base_url,
            utf8_percent_encode(&identifier, QUERY_VALUE)
        );
        let bundle = self.get_bundle(url, ids).await?;
        Ok(bundle.immunizations.first().and_then(|resource| {
            let id = resource.get("id")?.as_str()?.to_owned();
            let version = resource.pointer("/meta/versionId").and_then(version_value).unwrap_or(1);
            Some(Stored { id, version })
        }))
    }

    /// GET `/Immunization?patient.identifier=…&-immunization.target=…[&-date.from=…]` (nhs-apis.md §7.2).
    pub async fn search(
        &self,
        nhs_number: &str,
        targets: &[&str],
        date_from: Option<chrono::NaiveDate>,
        ids: &RequestIds,
    ) -> Result<SearchBundle, ImmsError> {
        let patient = format!("{NHS_NUMBER_SYSTEM}|{}", nhs_number.trim());
        let mut url = format!(
            "{}/Immunization?patient.identifier={}&-immunization.target={}",
            self.base_url,
            utf8_percent_encode(&patient, QUERY_VALUE),
            utf8_percent_encode(&targets.join(","), QUERY_VALUE)
        );
        if let Some(from) = date_from {
            url.push_str(&format!("&-date.from={}", from.format("%Y-%m-%d")));
        }
        self.get_bundle(url, ids).await
    }

    async fn get_bundle(&self, url: String, ids: &RequestIds) -> Result<SearchBundle, ImmsError> {
        let answer = self.send(Method::GET, url, None, None, ids).await?;
        if answer.status != StatusCode::OK {
            return Err(map_error(&answer));
        }
        let body = answer.body.ok_or_else(|| ImmsError::Unexpected("HTTP 200 without a JSON body".into()))?;
        search_bundle(&body)
    }

    async fn send(
        &self,
        method: Method,
        url: String,
        body: Option<&Value>,
        version: Option<u64>,
        ids: &RequestIds,
    ) -> Result<Answer, ImmsError> {
        let mut request = self
            .http
            .request(method, url)
            .header(ACCEPT, FHIR_JSON)
            .header("X-Request-ID", ids.request_id.to_string())
            .header("X-Correlation-ID", &ids.correlation_id);
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, FHIR_JSON).body(body.to_string());
        }
        if let Some(version) = version {
            request = request.header("E-Tag", version.to_string());
        }
        if let Some(token) = self.auth.access_token().await? {
            request = request.bearer_auth(token.secret());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                // Search URLs hold the NHS number, so the URL is left out of the log.
                tracing::warn!(request_id = %ids.request_id, error = %error.without_url(), "Imms API request failed");
                return Err(ImmsError::Unavailable { status: None });
            }
        };
        let status = response.status();
        tracing::debug!(request_id = %ids.request_id, status = status.as_u16(), "Imms API response");
        let headers = response.headers().clone();
        let body: Option<Value> = response.json().await.ok();
        if status == StatusCode::UNAUTHORIZED {
            self.auth.forget_token().await;
        }
        Ok(Answer { status, headers, body })
    }
}

/// Keeps anything but an id's characters out of the URL path.
fn path_segment(id: &str) -> Result<&str, ImmsError> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(id)
    } else {
        Err(ImmsError::Unexpected("an Immunization id must be letters, digits and hyphens".into()))
    }
}

/// The id in `…/Immunization/{id}` (both the `/FHIR/R4/` and the older form).
pub fn id_from_location(location: &str) -> Option<String> {
    let (_, rest) = location.rsplit_once("/Immunization/")?;
    let id = rest.split(['?', '/', '#']).next()?.trim();
    path_segment(id).ok().map(str::to_owned)
}

fn version_value(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().trim_matches('"').trim_start_matches("W/").trim_matches('"').parse().ok(),
        _ => None,
    }
}

/// `E-Tag` (the API's spelling) or `ETag`, as a positive integer.
fn etag(headers: &HeaderMap) -> Option<u64> {
    let value = headers.get("E-Tag").or_else(|| headers.get("ETag"))?.to_str().ok()?;
    version_value(&Value::String(value.to_owned())).filter(|v| *v > 0)
}

fn map_error(answer: &Answer) -> ImmsError {
    let code = answer.status.as_u16();
    let diagnostics = answer.body.as_ref().and_then(first_diagnostics);
    let issue_code = answer.body.as_ref().and_then(|b| b.pointer("/issue/0/code")).and_then(Value::as_str);
    match code {
        429 => ImmsError::RateLimited,
        408 | 500..=599 => ImmsError::Unavailable { status: Some(code) },
        422 => ImmsError::Duplicate,
        404 => ImmsError::NotFound,
        401 | 403 => ImmsError::Unauthorized { status: code },
        400 if is_version_mismatch(diagnostics.as_deref()) => ImmsError::VersionMismatch { diagnostics },
        400..=499 => ImmsError::Rejected { status: code, diagnostics },
        _ => ImmsError::Unexpected(format!("HTTP {code} {}", issue_code.unwrap_or("without an issue code"))),
    }
}

/// The two texts the API uses for a stale or future `E-Tag` (nhs-apis.md §4.3).
fn is_version_mismatch(diagnostics: Option<&str>) -> bool {
    diagnostics.is_some_and(|d| {
        let d = d.to_ascii_lowercase();
        d.contains("changed since the last retrieve") || d.contains("version is inconsistent")
    })
}

/// Decodes a search Bundle: Immunization entries, warnings kept, `error`/`fatal` outcomes fail the search.
pub fn search_bundle(body: &Value) -> Result<SearchBundle, ImmsError> {
    match body.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => {}
        Some("OperationOutcome") => return Err(ImmsError::OutcomeInBundle { diagnostics: first_diagnostics(body) }),
        _ => return Err(ImmsError::Unexpected("search answer is not a Bundle".into())),
    }
    let mut bundle = SearchBundle::default();
    for resource in body.get("entry").and_then(Value::as_array).into_iter().flatten().filter_map(|e| e.get("resource"))
    {
        match resource.get("resourceType").and_then(Value::as_str) {
            Some("Immunization") => bundle.immunizations.push(resource.clone()),
            Some("OperationOutcome") => {
                for issue in resource.get("issue").and_then(Value::as_array).into_iter().flatten() {
                    let text = issue.get("diagnostics").and_then(Value::as_str).unwrap_or_default().to_owned();
                    match issue.get("severity").and_then(Value::as_str) {
                        Some("error" | "fatal") => {
                            return Err(ImmsError::OutcomeInBundle { diagnostics: Some(text) });
                        }
                        Some("information" | "success") => {}
                        _ => bundle.warnings.push(text),
                    }
                }
            }
            _ => {}
        }
    }
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../../shared/fixtures/mavis/fhir/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
    }

    #[test]
    fn location_gives_the_id_in_both_forms() {
        let id = "ffff1111-eeee-2222-dddd-3333eeee4444";
        let new = format!("https://int.api.service.nhs.uk/immunisation-fhir-api/FHIR/R4/Immunization/{id}");
        let old = format!("https://int.api.service.nhs.uk/immunisation-fhir-api/Immunization/{id}");
        assert_eq!(id_from_location(&new).as_deref(), Some(id));
        assert_eq!(id_from_location(&old).as_deref(), Some(id));
        assert_eq!(id_from_location("https://x/Patient/1"), None);
        assert_eq!(id_from_location("https://x/Immunization/../etc"), None);
    }

    #[test]
    fn etag_parses_plain_and_quoted_versions() {
        let mut headers = HeaderMap::new();
        assert_eq!(etag(&headers), None);
        headers.insert("E-Tag", "3".parse().unwrap());
        assert_eq!(etag(&headers), Some(3));
        headers.insert("E-Tag", "W/\"7\"".parse().unwrap());
        assert_eq!(etag(&headers), Some(7));
        headers.insert("E-Tag", "0".parse().unwrap());
        assert_eq!(etag(&headers), None);
    }

    fn answer(status: u16, body: Value) -> Answer {
        Answer { status: StatusCode::from_u16(status).unwrap(), headers: HeaderMap::new(), body: Some(body) }
    }

    fn outcome(code: &str, diagnostics: &str) -> Value {
        json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code,
            "details": {"coding": [{"code": code.to_uppercase()}]}, "diagnostics": diagnostics}]})
    }

    #[test]
    fn errors_map_to_transient_or_final() {
        let map = |status, body| map_error(&answer(status, body));
        assert!(map(429, json!({})).is_transient());
        assert!(map(500, outcome("exception", "Unable to process request. Issue may be transient.")).is_transient());
        assert!(map(503, json!({})).is_transient());
        assert!(matches!(map(422, outcome("duplicate", "already exists")), ImmsError::Duplicate));
        assert!(matches!(map(404, outcome("not-found", "does not exist")), ImmsError::NotFound));
        let stale =
            map(400, outcome("invariant", "The requested immunization resource has changed since the last retrieve."));
        assert!(matches!(stale, ImmsError::VersionMismatch { .. }) && !stale.is_transient());
        let invalid = map(400, outcome("invariant", "Validation errors: status must be completed"));
        assert_eq!(invalid.diagnostics(), Some("Validation errors: status must be completed"));
        assert!(!invalid.is_transient());
        assert!(matches!(map(401, json!({})), ImmsError::Unauthorized { status: 401 }));
        assert!(!invalid.to_string().contains("status must be"), "diagnostics stay out of Display");
    }

    #[test]
    fn search_fixtures_decode() {
        let one = search_bundle(&fixture("search_response_1_result.json")).unwrap();
        assert_eq!(one.immunizations.len(), 1);
        assert!(search_bundle(&fixture("search_response_0_results.json")).unwrap().immunizations.is_empty());
        assert_eq!(search_bundle(&fixture("search_response_all_programmes.json")).unwrap().immunizations.len(), 6);
        let warning = search_bundle(&fixture("search_response_operation_outcome_warning.json")).unwrap();
        assert_eq!(warning.warnings, ["Your search contains details that you are not authorised to request"]);
        assert!(search_bundle(&fixture("search_response_operation_outcome_success.json")).unwrap().warnings.is_empty());
        for failing in ["search_response_operation_outcome_error.json", "search_response_operation_outcome_fatal.json"]
        {
            assert!(matches!(search_bundle(&fixture(failing)), Err(ImmsError::OutcomeInBundle { .. })), "{failing}");
        }
    }
}
